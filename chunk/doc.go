// Package chunk owns the bytes of attachments on one node: cutting a byte
// stream into content-defined chunks, naming chunks by their SHA-256, and
// keeping them durably in a local store.
//
// # Chunking
//
// A Chunker cuts a stream where a rolling gear hash of the last 64 bytes
// matches a mask, so a cut depends only on nearby content: an edit moves
// the cuts around it and leaves the rest in place, and an edited file
// shares most chunks with its earlier version. Chunk sizes stay within
// [Params.MinSize, Params.MaxSize], except that the last chunk of a stream
// may be shorter.
//
// # Local store
//
// A Store keeps chunks in append-only pack files under one directory. Each
// record carries its own header (magic, kind, hash, length, CRC32C of the
// data, CRC32C of the header), so the in-memory index is rebuilt at Open by
// reading the headers back, and a write torn by a crash is found and cut
// off. A Put returns only after the record is on stable storage; concurrent
// Puts share fsyncs. Reads check the CRC32C before returning bytes;
// Verify checks the SHA-256 for scrubbing.
//
// Invariants:
//   - A chunk in the index is durable, and its record's data hashes to its
//     name (verified at Put).
//   - Records in a pack are acknowledged only when every record before them
//     in that pack is durable too, so a crash leaves at most an
//     unacknowledged tail to cut off.
//   - Within the packs, read in order of pack number and offset, the last
//     record for a hash decides its state (chunk or tombstone).
//
// What this package leaves to others: which chunks a node should hold
// (package placement), which chunks are referenced (package meta), and
// repairing a corrupt or missing chunk from another node (package node).
package chunk
