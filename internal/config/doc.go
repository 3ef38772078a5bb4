// Package config owns the JSON configuration of an attachments node: its
// shape, its embedded defaults, strict decoding and validation.
//
// A configuration is built in two layers. The defaults (defaults.json,
// embedded in the binary so `attachments config print` can show them) come
// first; a file given by the operator is overlaid on them, key by key. A
// key absent from the file keeps its default; a JSON null also keeps it.
// Arrays replace the default array as a whole: a file that lists
// storage.endpoints lists all of them.
//
// Decoding is strict. Keys match exactly (encoding/json alone would accept
// "PORT" for "port"), a key may appear once per object, an unknown key is
// an error naming its full dotted path (storage.endpoints[0].adapter_config.bukket),
// and so is a value of the wrong JSON type or an unparsable duration. After
// decoding, Validate checks ranges, enumerations and the rules that bind
// settings together, and reports every problem it finds, each under the
// key path it concerns.
//
// This package does not act on the configuration: it opens no port,
// creates no directory and derives no node ID. The node package does that,
// from a Config that has passed Validate.
//
// Invariants of a Config returned by Default, Parse or Load:
//   - Validate returns nil;
//   - exactly one endpoint is local with role primary, and PrimaryPath
//     returns its path;
//   - slices are owned by the caller and share no memory with the
//     defaults or with any other Config returned earlier.
package config
