package chunk

import (
	"context"
	"errors"
	"fmt"
	"time"
)

// Compact rewrites the packs whose dead bytes exceed CompactThreshold of
// their size: it copies their live records to the end of the current pack
// in batches, makes each batch durable with one sync, points the index at
// the copies, and deletes the old pack file once no read is using it. The
// pack receiving appends, and packs with writes still in flight, are left
// alone. Get, Put and Delete may run during a compaction; Compacts run one
// at a time.
//
// Tombstones are not copied. If the pack holding a deleted chunk's record
// outlives the pack holding its tombstone, the chunk reappears at the next
// Open. That is harmless: such a chunk is unreferenced, and the node's
// sweeper deletes chunks the metadata does not know.
//
// A live record whose data fails its CRC while being copied is dropped
// from the index with an error log, so that a fresh Put can store it
// again. Compact returns early with ctx's error when ctx ends, and with
// ErrClosed when the store closes; the work done so far stands.
func (s *Store) Compact(ctx context.Context) error {
	s.compactMu.Lock()
	defer s.compactMu.Unlock()
	victims, err := s.compactionVictims()
	if err != nil {
		return fmt.Errorf("compact: %w", err)
	}
	defer s.ops.Done()

	for _, p := range victims {
		start := time.Now()
		moved, err := s.compactPack(ctx, p)
		if err != nil {
			return fmt.Errorf("compact pack %d: %w", p.id, err)
		}
		s.log.Info("pack compacted",
			"pack", p.id,
			"pack_bytes", p.size,
			"moved_chunks", moved,
			"duration", time.Since(start))
	}
	return nil
}

// compactionVictims lists the packs to rewrite and registers the
// compaction as an operation Close waits for.
func (s *Store) compactionVictims() ([]*pack, error) {
	s.mu.RLock()
	defer s.mu.RUnlock()
	if s.closed {
		return nil, ErrClosed
	}
	var out []*pack
	for _, p := range s.packs {
		if p == s.cur || !p.gc.settled() {
			continue
		}
		if p.live == 0 || float64(p.dead) > s.opts.CompactThreshold*float64(p.size) {
			out = append(out, p)
		}
	}
	s.ops.Add(1)
	return out, nil
}

// compactBatchBytes bounds the record bytes copied between two syncs: one
// fsync per batch rather than per record, with bounded memory.
const compactBatchBytes = 8 << 20

// compactPack moves the live records out of p, then removes p. It returns
// how many records it looked at.
func (s *Store) compactPack(ctx context.Context, p *pack) (int, error) {
	live := s.liveIn(p)
	for rest := live; len(rest) > 0; {
		if err := ctx.Err(); err != nil {
			return 0, err
		}
		n, size := 0, int64(0)
		for n < len(rest) && (n == 0 || size+recordLen(rest[n].size) <= compactBatchBytes) {
			size += recordLen(rest[n].size)
			n++
		}
		if err := s.moveBatch(rest[:n], p); err != nil {
			return 0, err
		}
		rest = rest[n:]
	}

	s.mu.Lock()
	if p.live != 0 {
		s.mu.Unlock()
		return 0, fmt.Errorf("%d chunks still point into the pack", p.live)
	}
	s.dropPackLocked(p)
	s.mu.Unlock()
	return len(live), p.remove()
}

// liveEntry is a chunk to move, with its size as of the listing.
type liveEntry struct {
	h    Hash
	e    *entry
	size int
}

// liveIn lists the ready entries in p. No new entry can enter p: it is not
// the current pack and never will be again.
func (s *Store) liveIn(p *pack) []liveEntry {
	s.mu.RLock()
	defer s.mu.RUnlock()
	out := make([]liveEntry, 0, p.live)
	for h, e := range s.index {
		if e.pack == p && e.pending == nil {
			out = append(out, liveEntry{h: h, e: e, size: e.size})
		}
	}
	return out
}

// copied is a record written to a new place, not yet known durable.
type copied struct {
	liveEntry
	to  *pack
	off int64
	n   int64
}

// moveBatch copies the records of batch out of old, waits for one sync
// covering the copies, and then points the index at them.
func (s *Store) moveBatch(batch []liveEntry, old *pack) error {
	var done []copied
	var err error
	for _, m := range batch {
		var c *copied
		if c, err = s.copyOut(m, old); err != nil {
			break
		}
		if c != nil {
			done = append(done, *c)
		}
	}

	failed := map[*pack]bool{}
	for _, c := range done {
		if failed[c.to] {
			continue
		}
		if werr := c.to.gc.wait(c.to.f, lastEnd(done, c.to)); werr != nil {
			failed[c.to] = true
			s.retire(c.to, werr)
			err = errors.Join(err, fmt.Errorf("write pack %d: %w", c.to.id, werr))
		}
	}
	s.repoint(done, old, failed)
	return err
}

func lastEnd(done []copied, p *pack) int64 {
	var end int64
	for _, c := range done {
		if c.to == p {
			end = max(end, c.off+c.n)
		}
	}
	return end
}

// copyOut reads m's record and appends it to the current pack without
// waiting for a sync. It returns nil when there is nothing to copy: m was
// deleted meanwhile, or its record was corrupt and has been dropped.
//
// The copy is reserved only while m is still indexed, so if m is deleted
// later its tombstone lands after the copy and a restart still sees m
// deleted.
func (s *Store) copyOut(m liveEntry, old *pack) (*copied, error) {
	rec := make([]byte, recordLen(m.size))
	if err := s.readRecord(m.h, m.e, old, rec); err != nil {
		return nil, s.dropCorrupt(m.h, m.e, err)
	}

	s.mu.Lock()
	if s.closed {
		s.mu.Unlock()
		return nil, ErrClosed
	}
	if s.index[m.h] != m.e {
		s.mu.Unlock()
		return nil, nil
	}
	to, off, err := s.reserveLocked(int64(len(rec)))
	s.mu.Unlock()
	if err != nil {
		return nil, err
	}

	_, err = to.f.WriteAt(rec, off)
	to.gc.written(off, err)
	if err != nil {
		s.retire(to, err)
		s.mu.Lock()
		to.dead += int64(len(rec))
		s.mu.Unlock()
		return nil, fmt.Errorf("write pack %d: %w", to.id, err)
	}
	return &copied{liveEntry: m, to: to, off: off, n: int64(len(rec))}, nil
}

// repoint moves index entries to their durable copies. A copy whose pack
// failed to sync, or whose chunk was deleted meanwhile, is dead bytes.
func (s *Store) repoint(done []copied, old *pack, failed map[*pack]bool) {
	s.mu.Lock()
	defer s.mu.Unlock()
	for _, c := range done {
		if failed[c.to] || s.index[c.h] != c.e {
			c.to.dead += c.n
			continue
		}
		old.live--
		old.dead += c.n
		c.e.pack, c.e.off = c.to, c.off
		c.to.live++
	}
}

// readRecord reads e's whole record from old into rec and checks that it
// is the record the index describes. Errors wrap ErrCorrupt unless the
// read itself failed.
func (s *Store) readRecord(h Hash, e *entry, old *pack, rec []byte) error {
	s.mu.RLock()
	off, size, crc := e.off, e.size, e.crc
	s.mu.RUnlock()
	if err := readFull(old, rec, off); err != nil {
		return err
	}
	hdr, err := decodeHeader(rec)
	switch {
	case err != nil:
		return err
	case hdr.kind != kindChunk || hdr.hash != h || int(hdr.length) != size:
		return fmt.Errorf("header names another record: %w", ErrCorrupt)
	case crc32c(rec[RecordHeaderSize:]) != crc:
		return fmt.Errorf("data crc mismatch: %w", ErrCorrupt)
	}
	return nil
}

// dropCorrupt handles a record that could not be copied. A corrupt one is
// removed from the index (its bytes are worthless and its pack is going
// away); any other error stops the compaction.
func (s *Store) dropCorrupt(h Hash, e *entry, err error) error {
	if !errors.Is(err, ErrCorrupt) {
		return err
	}
	s.log.Error("dropping corrupt chunk found by compaction", "chunk", h, "err", err)
	s.mu.Lock()
	defer s.mu.Unlock()
	if s.index[h] == e {
		s.unindexLocked(h, e)
	}
	return nil
}
