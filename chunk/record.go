package chunk

import (
	"encoding/binary"
	"fmt"
	"hash/crc32"
)

// A pack file is a sequence of records, each a fixed-size header followed
// by its data. All integers are little-endian:
//
//	offset size field
//	     0    4 magic, recordMagic
//	     4    1 kind: 1 chunk, 2 tombstone
//	     5    3 reserved, zero
//	     8    4 data length in bytes (0 for a tombstone)
//	    12   32 SHA-256 of the chunk the record is about
//	    44    4 CRC32C (Castagnoli) of the data
//	    48    4 CRC32C of bytes 0 to 48 of this header
//
// The header CRC lets a reader trust the length before it skips over the
// data, so the index is rebuilt from headers alone. The data CRC is the
// fast check on every read; the SHA-256 in the header is the strong one
// used by Verify.
const (
	// RecordHeaderSize is the on-disk overhead of one record, in bytes.
	RecordHeaderSize = 52

	recordMagic uint32 = 0x4b505448 // "HTPK" read as little-endian bytes

	headerCRCOffset = 48
)

// recordKind says what a record does to the index.
type recordKind uint8

const (
	kindChunk     recordKind = 1 // the data is the chunk named by the hash
	kindTombstone recordKind = 2 // the named chunk is deleted; no data
)

// castagnoli is the CRC32C table; hash/crc32 uses the SSE4.2 instruction
// for it on amd64 and the CRC instructions on arm64.
var castagnoli = crc32.MakeTable(crc32.Castagnoli)

func crc32c(b []byte) uint32 { return crc32.Checksum(b, castagnoli) }

// recordHeader is the decoded form of a record header.
type recordHeader struct {
	kind    recordKind
	length  uint32 // bytes of data after the header
	hash    Hash
	dataCRC uint32
}

// recordLen is the total on-disk size of a record with n bytes of data.
func recordLen(n int) int64 { return RecordHeaderSize + int64(n) }

func chunkHeader(h Hash, data []byte) recordHeader {
	return recordHeader{kind: kindChunk, length: uint32(len(data)), hash: h, dataCRC: crc32c(data)}
}

func tombstoneHeader(h Hash) recordHeader {
	return recordHeader{kind: kindTombstone, hash: h, dataCRC: crc32c(nil)}
}

// encode writes the header into b, which must hold RecordHeaderSize bytes.
func (rh *recordHeader) encode(b []byte) {
	b = b[:RecordHeaderSize]
	binary.LittleEndian.PutUint32(b[0:4], recordMagic)
	b[4] = byte(rh.kind)
	b[5], b[6], b[7] = 0, 0, 0
	binary.LittleEndian.PutUint32(b[8:12], rh.length)
	copy(b[12:44], rh.hash[:])
	binary.LittleEndian.PutUint32(b[44:48], rh.dataCRC)
	binary.LittleEndian.PutUint32(b[48:52], crc32c(b[:headerCRCOffset]))
}

// decodeHeader parses the header at the start of b. Any error wraps
// ErrCorrupt: the bytes are not a header this version wrote, whether from
// a torn write, a flipped bit or garbage.
func decodeHeader(b []byte) (recordHeader, error) {
	var rh recordHeader
	if len(b) < RecordHeaderSize {
		return rh, fmt.Errorf("decode record header: %d bytes, want %d: %w",
			len(b), RecordHeaderSize, ErrCorrupt)
	}
	b = b[:RecordHeaderSize]
	if m := binary.LittleEndian.Uint32(b[0:4]); m != recordMagic {
		return rh, fmt.Errorf("decode record header: bad magic %#x: %w", m, ErrCorrupt)
	}
	want := binary.LittleEndian.Uint32(b[48:52])
	if got := crc32c(b[:headerCRCOffset]); got != want {
		return rh, fmt.Errorf("decode record header: header crc %#x, want %#x: %w",
			got, want, ErrCorrupt)
	}

	rh.kind = recordKind(b[4])
	rh.length = binary.LittleEndian.Uint32(b[8:12])
	copy(rh.hash[:], b[12:44])
	rh.dataCRC = binary.LittleEndian.Uint32(b[44:48])
	if err := rh.check(b[5:8]); err != nil {
		return recordHeader{}, fmt.Errorf("decode record header: %w: %w", err, ErrCorrupt)
	}
	return rh, nil
}

// check rejects field values this version never writes. A header with a
// valid CRC but such values comes from a newer format or from a bug, and
// guessing its meaning could lose data.
func (rh *recordHeader) check(reserved []byte) error {
	switch {
	case reserved[0]|reserved[1]|reserved[2] != 0:
		return fmt.Errorf("reserved bytes %x are not zero", reserved)
	case rh.kind != kindChunk && rh.kind != kindTombstone:
		return fmt.Errorf("unknown kind %d", rh.kind)
	case rh.kind == kindTombstone && rh.length != 0:
		return fmt.Errorf("tombstone with %d data bytes", rh.length)
	case rh.length > MaxChunkSize:
		return fmt.Errorf("length %d above %d", rh.length, MaxChunkSize)
	}
	return nil
}
