// Package node runs one member of an attachments cluster: it wires the
// chunk store, the replicated metadata and the HTTP API together, and owns
// the background workers (garbage collection, compaction).
//
// The write path (Ingest, then Commit) streams a body through the chunker,
// hashes the whole file and each chunk, stores every chunk durably, and only
// then commits the manifest and the reference in one metadata command. The
// read path resolves a reference to its manifest and streams the chunks,
// each verified before its bytes leave the node.
//
// Garbage collection keeps invariant 2 of the design (no chunk is deleted
// while a committed manifest references it) without a lock shared between
// writers and the collector:
//
//   - every chunk an upload uses is written or touched in the chunk store,
//     and touched again just before the commit;
//   - the collector deletes a chunk's bytes only when the metadata holds no
//     record of it and the chunk store has not seen it touched for the grace
//     period, and the store checks the touch time and deletes atomically.
//
// A commit therefore either follows a touch that the collector will honour
// for a whole grace period, or finds its chunk gone and fails cleanly.
package node
