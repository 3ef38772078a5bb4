package meta

import (
	"encoding/binary"
	"fmt"
	"strconv"
	"time"

	"github.com/helixtrack/attachments/chunk"
)

// Buckets of fsm.db. Every key layout below sorts the way its scans need.
var (
	// bucketRefs: RefID -> refRecord (JSON). Deleted references stay.
	bucketRefs = []byte("refs")
	// bucketFiles: file hash (32 bytes) -> File (JSON).
	bucketFiles = []byte("files")
	// bucketChunks: chunk hash (32 bytes) -> Chunk (JSON).
	bucketChunks = []byte("chunks")
	// bucketEntity: entityKey(type, id, seq) -> RefID, live references
	// only. Seq grows with each created reference, so one entity's
	// references sort oldest first.
	bucketEntity = []byte("entity")
	// bucketOwner: ownerKey(owner, file hash) -> count of live references
	// (8 bytes big-endian), present only while the count is positive.
	bucketOwner = []byte("owner")
	// bucketZero: zeroKey(ZeroSince, chunk hash) -> empty, one entry per
	// chunk whose RefCount is zero, oldest first for CollectChunks.
	bucketZero = []byte("zero")
	// bucketState: the applied index and running totals (see totals).
	bucketState = []byte("state")
)

// allBuckets lists every bucket, in the order they are created.
var allBuckets = [][]byte{
	bucketRefs, bucketFiles, bucketChunks, bucketEntity, bucketOwner, bucketZero, bucketState,
}

// Keys of bucketState.
var (
	keySchema  = []byte("schema")
	keyApplied = []byte("applied")
	keyTotals  = []byte("totals")
)

// schemaVersion is stored in bucketState; a snapshot or file of another
// version is refused rather than misread.
const schemaVersion = 1

// appendLenPrefixed appends s behind its 16-bit length, so that a prefix
// of one field can never be confused with another field.
func appendLenPrefixed(b []byte, s string) []byte {
	b = binary.BigEndian.AppendUint16(b, uint16(len(s)))
	return append(b, s...)
}

// entityPrefix is the key prefix of every reference of one entity.
func entityPrefix(typ, id string) []byte {
	b := make([]byte, 0, 4+len(typ)+len(id)+8)
	return appendLenPrefixed(appendLenPrefixed(b, typ), id)
}

// entityKey is the index key of the reference created with sequence seq.
func entityKey(typ, id string, seq uint64) []byte {
	return binary.BigEndian.AppendUint64(entityPrefix(typ, id), seq)
}

// ownerKey is the index key of an owner's live references to one file.
func ownerKey(owner string, h chunk.Hash) []byte {
	b := make([]byte, 0, 2+len(owner)+len(h))
	return append(appendLenPrefixed(b, owner), h[:]...)
}

// zeroKey sorts chunks at zero by the time they reached it. The sign bit
// is flipped so that times before 1970 still sort first.
func zeroKey(since time.Time, h chunk.Hash) []byte {
	b := make([]byte, 0, 8+len(h))
	b = binary.BigEndian.AppendUint64(b, uint64(since.UnixNano())^(1<<63))
	return append(b, h[:]...)
}

// zeroKeyTime returns the time encoded at the start of a zeroKey.
func zeroKeyTime(k []byte) time.Time {
	return time.Unix(0, int64(binary.BigEndian.Uint64(k)^(1<<63))).UTC()
}

func u64(v uint64) []byte { return binary.BigEndian.AppendUint64(nil, v) }

// readU64 decodes an 8-byte big-endian value; a missing value reads as 0.
func readU64(b []byte) (uint64, error) {
	switch len(b) {
	case 0:
		return 0, nil
	case 8:
		return binary.BigEndian.Uint64(b), nil
	}
	return 0, fmt.Errorf("read counter: %d bytes, want 8", len(b))
}

// encodeCursor and parseCursor give ListEntity its opaque page cursor: the
// creation sequence of the last reference returned.
func encodeCursor(seq uint64) string { return "c" + strconv.FormatUint(seq, 36) }

// parseCursor accepts "" (the first page) or a value from encodeCursor.
// Errors wrap ErrInvalid.
func parseCursor(s string) (uint64, error) {
	if s == "" {
		return 0, nil
	}
	if s[0] != 'c' || len(s) > 16 {
		return 0, fmt.Errorf("parse cursor %q: %w", s, ErrInvalid)
	}
	seq, err := strconv.ParseUint(s[1:], 36, 64)
	if err != nil {
		return 0, fmt.Errorf("parse cursor %q: %w: %w", s, ErrInvalid, err)
	}
	return seq, nil
}
