package config

import (
	"bytes"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"reflect"
	"strconv"
	"strings"
)

// MaxFileBytes bounds the size of a configuration document. Real files are
// a few KiB; the bound keeps a wrong path (a log file, /dev/zero) from
// filling memory.
const MaxFileBytes = 1 << 20

var durationType = reflect.TypeFor[Duration]()

// decodeOverlay checks data strictly against the shape of Config, then
// decodes it over c. Keys absent from data keep the values in c; arrays
// present in data replace those in c whole.
func decodeOverlay(data []byte, c *Config) error {
	endpoints, mimeTypes := c.Storage.Endpoints, c.Security.AllowedMIMETypes

	// encoding/json decodes an array element by element into the existing
	// backing array, which would merge a file's endpoints into the default
	// ones. Starting from nil slices makes a listed array replace the old.
	c.Storage.Endpoints, c.Security.AllowedMIMETypes = nil, nil
	if err := decode(data, c); err != nil {
		return err
	}

	if c.Storage.Endpoints == nil {
		c.Storage.Endpoints = endpoints
	}
	if c.Security.AllowedMIMETypes == nil {
		c.Security.AllowedMIMETypes = mimeTypes
	}
	return nil
}

// decode checks data with a checker, which names the key path of the first
// problem, and then decodes it into c with encoding/json.
func decode(data []byte, c *Config) error {
	if err := check(data); err != nil {
		return err
	}

	dec := json.NewDecoder(bytes.NewReader(data))
	dec.DisallowUnknownFields()
	if err := dec.Decode(c); err != nil {
		// check accepts a subset of what Decode accepts, so this is a bug
		// in check; still report it rather than start on a half-read file.
		return &FieldError{Reason: "decode: " + err.Error(), Err: ErrSyntax}
	}
	return nil
}

// checker walks a JSON token stream beside the Go type it is meant to
// decode into, so it can name the full key path of a problem. It is
// stricter than encoding/json: keys match case-sensitively and may not
// repeat within an object.
type checker struct {
	data []byte
	dec  *json.Decoder
}

// check reports the first problem in data as a *FieldError, or nil when
// data is exactly one JSON object whose keys and value types fit Config.
func check(data []byte) error {
	k := &checker{data: data, dec: json.NewDecoder(bytes.NewReader(data))}
	k.dec.UseNumber()

	if len(bytes.TrimSpace(data)) == 0 {
		return &FieldError{Reason: "empty document, want a json object", Err: ErrSyntax}
	}
	if err := k.value(reflect.TypeFor[Config](), ""); err != nil {
		return err
	}
	if _, err := k.dec.Token(); !errors.Is(err, io.EOF) {
		return k.syntaxError(err, "unexpected data after the top-level object")
	}
	return nil
}

// value checks one JSON value that is to decode into a t at path. A JSON
// null is accepted anywhere: encoding/json leaves the target unchanged, so
// null keeps the default.
func (k *checker) value(t reflect.Type, path string) error {
	tok, err := k.dec.Token()
	if err != nil {
		return k.syntaxError(err, "")
	}
	if tok == nil {
		return nil
	}

	if t == durationType {
		return scalarDuration(tok, path)
	}
	switch t.Kind() {
	case reflect.Struct:
		return k.object(t, tok, path)
	case reflect.Slice, reflect.Array:
		return k.array(t, tok, path)
	case reflect.String:
		return scalarString(tok, path)
	case reflect.Int:
		return scalarInt(tok, path)
	case reflect.Bool:
		return scalarBool(tok, path)
	}
	panic(fmt.Sprintf("config: checker: unsupported field type %v at %s", t, path))
}

// object checks a JSON object decoding into struct type t; open is its
// first token, already read.
func (k *checker) object(t reflect.Type, open json.Token, path string) error {
	if open != json.Delim('{') {
		return typeError(path, "an object", open)
	}
	fields := jsonFields(t)
	seen := make(map[string]bool, len(fields))
	for k.dec.More() {
		tok, err := k.dec.Token()
		if err != nil {
			return k.syntaxError(err, "")
		}
		key := tok.(string) // inside an object, Token yields keys as strings
		at := joinKey(path, key)
		ft, ok := fields[key]
		if !ok {
			return &FieldError{Path: at, Reason: unknownKeyReason(key, fields), Err: ErrUnknownKey}
		}
		if seen[key] {
			return &FieldError{Path: at, Reason: "key appears twice", Err: ErrUnknownKey}
		}
		seen[key] = true
		if err := k.value(ft, at); err != nil {
			return err
		}
	}
	return k.closing()
}

// array checks a JSON array decoding into slice or array type t; open is
// its first token, already read. A Go array needs exactly its length.
func (k *checker) array(t reflect.Type, open json.Token, path string) error {
	if open != json.Delim('[') {
		return typeError(path, "an array", open)
	}
	n := 0
	for ; k.dec.More(); n++ {
		if t.Kind() == reflect.Array && n == t.Len() {
			return &FieldError{Path: path,
				Reason: fmt.Sprintf("want %d elements, got more", t.Len()), Err: ErrType}
		}
		if err := k.value(t.Elem(), fmt.Sprintf("%s[%d]", path, n)); err != nil {
			return err
		}
	}
	if t.Kind() == reflect.Array && n != t.Len() {
		return &FieldError{Path: path,
			Reason: fmt.Sprintf("want %d elements, got %d", t.Len(), n), Err: ErrType}
	}
	return k.closing()
}

// closing consumes the '}' or ']' that ends the current object or array.
// After More reports false the decoder has nothing else to yield.
func (k *checker) closing() error {
	if _, err := k.dec.Token(); err != nil {
		return k.syntaxError(err, "")
	}
	return nil
}

// syntaxError turns a decoder error into a *FieldError that gives the line
// and column of the fault. reason replaces the decoder's own text when set.
func (k *checker) syntaxError(err error, reason string) error {
	if reason == "" {
		reason = "unexpected end of document"
		if err != nil && !errors.Is(err, io.EOF) && !errors.Is(err, io.ErrUnexpectedEOF) {
			reason = strings.TrimPrefix(err.Error(), "json: ")
		}
	}
	offset := k.dec.InputOffset()
	if se, ok := errors.AsType[*json.SyntaxError](err); ok {
		offset = se.Offset
	}
	line, col := position(k.data, offset)
	return &FieldError{
		Reason: fmt.Sprintf("line %d, column %d: %s", line, col, reason),
		Err:    ErrSyntax,
	}
}

// position converts a byte offset into a 1-based line and column.
func position(data []byte, offset int64) (line, col int) {
	offset = min(max(offset, 0), int64(len(data)))
	before := data[:offset]
	line = bytes.Count(before, []byte("\n")) + 1
	col = int(offset) - (bytes.LastIndexByte(before, '\n') + 1) + 1
	return line, col
}

func scalarString(tok json.Token, path string) error {
	if _, ok := tok.(string); !ok {
		return typeError(path, "a string", tok)
	}
	return nil
}

func scalarBool(tok json.Token, path string) error {
	if _, ok := tok.(bool); !ok {
		return typeError(path, "true or false", tok)
	}
	return nil
}

// scalarInt accepts a JSON number that is an integer in the range of int,
// written without a fraction or exponent.
func scalarInt(tok json.Token, path string) error {
	num, ok := tok.(json.Number)
	if !ok {
		return typeError(path, "an integer", tok)
	}
	if _, err := strconv.ParseInt(num.String(), 10, strconv.IntSize); err != nil {
		return &FieldError{Path: path,
			Reason: fmt.Sprintf("want an integer, got %s", num), Err: ErrType}
	}
	return nil
}

func scalarDuration(tok json.Token, path string) error {
	s, ok := tok.(string)
	if !ok {
		return typeError(path, `a duration string such as "90s"`, tok)
	}
	if _, err := parseDuration(s); err != nil {
		return &FieldError{Path: path, Reason: err.Error(), Err: ErrType}
	}
	return nil
}

// typeError reports a value of the wrong JSON type.
func typeError(path, want string, got json.Token) error {
	return &FieldError{
		Path:   path,
		Reason: fmt.Sprintf("want %s, got %s", want, describe(got)),
		Err:    ErrType,
	}
}

// describe names the JSON type of a token, quoting short scalars so the
// operator can find the value in the file.
func describe(tok json.Token) string {
	switch v := tok.(type) {
	case json.Delim:
		if v == '{' {
			return "an object"
		}
		return "an array"
	case string:
		if len(v) > 40 {
			return "a string"
		}
		return "the string " + strconv.Quote(v)
	case json.Number:
		return "the number " + v.String()
	case bool:
		return strconv.FormatBool(v)
	}
	return fmt.Sprintf("%v", tok)
}

// jsonFields maps the JSON key of each field of struct type t to its type.
func jsonFields(t reflect.Type) map[string]reflect.Type {
	fields := make(map[string]reflect.Type, t.NumField())
	for f := range t.Fields() {
		name, _, _ := strings.Cut(f.Tag.Get("json"), ",")
		if name == "" || name == "-" {
			panic(fmt.Sprintf("config: field %s.%s has no json key", t.Name(), f.Name))
		}
		fields[name] = f.Type
	}
	return fields
}

// joinKey appends key to a dotted path.
func joinKey(path, key string) string {
	if path == "" {
		return key
	}
	return path + "." + key
}
