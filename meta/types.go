package meta

import (
	"time"

	"github.com/helixtrack/attachments/chunk"
	"github.com/helixtrack/attachments/placement"
)

// RefID identifies one reference. The gateway that accepts an upload draws
// it at random (128 bits, hex) and puts it in the command, so every replica
// stores the same id.
type RefID string

// NodeID names one member of the cluster. It is the placement package's
// type, so layouts and Raft membership name nodes the same way.
type NodeID = placement.NodeID

// ChunkRef is one entry of a file's manifest: a chunk and its length.
type ChunkRef struct {
	Hash chunk.Hash `json:"hash"`
	Size uint32     `json:"size"`
}

// File is one distinct content: the SHA-256 of all its bytes, its size, the
// MIME type detected from its first bytes, and the ordered chunks that
// concatenate to it.
//
// Invariant: RefCount equals the number of live (not deleted) references
// whose FileHash is Hash. A file whose RefCount reaches zero is removed,
// and each chunk of its manifest loses one count per occurrence.
type File struct {
	Hash     chunk.Hash `json:"hash"`
	Size     int64      `json:"size"`
	MIME     string     `json:"mime"`
	Chunks   []ChunkRef `json:"chunks"`
	RefCount uint64     `json:"ref_count"`
	Created  time.Time  `json:"created"`
}

// Chunk is the metadata of one stored chunk.
//
// Invariant: RefCount equals the number of occurrences of Hash across the
// manifests of all files that exist. ZeroSince is the command time at which
// RefCount last fell to zero; it is the zero time while RefCount > 0.
type Chunk struct {
	Hash      chunk.Hash `json:"hash"`
	Size      uint32     `json:"size"`
	RefCount  uint64     `json:"ref_count"`
	ZeroSince time.Time  `json:"zero_since,omitzero"`
}

// Reference is one use of a file by an entity: a ticket, a comment, a
// document, or (later) an S3 bucket and key. Deleting a reference is a soft
// delete: the record stays with Deleted set, and it no longer counts toward
// its file's RefCount.
type Reference struct {
	ID          RefID      `json:"id"`
	FileHash    chunk.Hash `json:"file_hash"`
	EntityType  string     `json:"entity_type"`
	EntityID    string     `json:"entity_id"`
	Filename    string     `json:"filename"`
	Description string     `json:"description"`
	Owner       string     `json:"owner"`
	Created     time.Time  `json:"created"`
	Deleted     bool       `json:"deleted"`
	DeletedAt   time.Time  `json:"deleted_at,omitzero"`
}
