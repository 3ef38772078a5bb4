package chunk

import (
	"context"
	"errors"
	"fmt"
	"io"
)

// location is a copy of an entry's fields, taken under Store.mu, with its
// pack acquired so the file stays open while it is read.
type location struct {
	pack *pack
	off  int64
	size int
	crc  uint32
}

// acquire finds h and pins its pack for reading. The caller must call
// s.release(loc) after reading.
func (s *Store) acquire(h Hash) (location, error) {
	s.mu.RLock()
	defer s.mu.RUnlock()
	if s.closed {
		return location{}, ErrClosed
	}
	e := s.readyLocked(h)
	if e == nil {
		return location{}, ErrNotFound
	}
	e.pack.acquire()
	s.ops.Add(1)
	return location{pack: e.pack, off: e.off, size: e.size, crc: e.crc}, nil
}

func (s *Store) release(loc location) {
	if err := loc.pack.release(); err != nil {
		s.log.Warn("remove compacted pack failed", "pack", loc.pack.id, "err", err)
	}
	s.ops.Done()
}

// Get returns the bytes of chunk h, read into buf's backing array when
// cap(buf) is large enough and into a new slice otherwise. Before
// returning it checks the data's CRC32C; on a mismatch it returns
// ErrCorrupt and no bytes. It returns ErrNotFound if the store lacks h.
// Get never returns bytes of another chunk, and a compaction running at
// the same time does not make it fail.
func (s *Store) Get(ctx context.Context, h Hash, buf []byte) ([]byte, error) {
	if err := ctx.Err(); err != nil {
		return nil, fmt.Errorf("get chunk %s: %w", h, err)
	}
	loc, err := s.acquire(h)
	if err != nil {
		return nil, fmt.Errorf("get chunk %s: %w", h, err)
	}
	defer s.release(loc)

	data := buf[:0]
	if cap(data) < loc.size {
		data = make([]byte, loc.size)
	}
	data = data[:loc.size]
	if err := readFull(loc.pack, data, loc.off+RecordHeaderSize); err != nil {
		return nil, fmt.Errorf("get chunk %s: %w", h, err)
	}
	if got := crc32c(data); got != loc.crc {
		return nil, fmt.Errorf("get chunk %s: crc %#x, want %#x: %w", h, got, loc.crc, ErrCorrupt)
	}
	return data, nil
}

// Verify reads chunk h with its record header and checks the header and
// the SHA-256 of the data, as a scrubber does. It returns nil if the chunk
// is intact, ErrCorrupt if not, and ErrNotFound if the store lacks h.
func (s *Store) Verify(ctx context.Context, h Hash) error {
	if err := ctx.Err(); err != nil {
		return fmt.Errorf("verify chunk %s: %w", h, err)
	}
	loc, err := s.acquire(h)
	if err != nil {
		return fmt.Errorf("verify chunk %s: %w", h, err)
	}
	defer s.release(loc)

	rec := make([]byte, recordLen(loc.size))
	if err := readFull(loc.pack, rec, loc.off); err != nil {
		return fmt.Errorf("verify chunk %s: %w", h, err)
	}
	hdr, err := decodeHeader(rec)
	switch {
	case err != nil:
		return fmt.Errorf("verify chunk %s: %w", h, err)
	case hdr.kind != kindChunk || hdr.hash != h || int(hdr.length) != loc.size:
		return fmt.Errorf("verify chunk %s: header names kind %d, chunk %s, %d bytes: %w",
			h, hdr.kind, hdr.hash, hdr.length, ErrCorrupt)
	case Sum(rec[RecordHeaderSize:]) != h:
		return fmt.Errorf("verify chunk %s: sha-256 mismatch: %w", h, ErrCorrupt)
	}
	return nil
}

// readFull reads len(b) bytes at off. A file too short for a record the
// index knows means the pack was damaged, so that wraps ErrCorrupt.
func readFull(p *pack, b []byte, off int64) error {
	_, err := p.f.ReadAt(b, off)
	if errors.Is(err, io.EOF) {
		return fmt.Errorf("read pack %d at %d: short file: %w", p.id, off, ErrCorrupt)
	}
	if err != nil {
		return fmt.Errorf("read pack %d at %d: %w", p.id, off, err)
	}
	return nil
}
