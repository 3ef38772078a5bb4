package chunk

import (
	"context"
	"fmt"
	"sync"
	"time"
)

// Put stores data under h and returns once it is on stable storage.
//
// If the store already holds h, Put only refreshes its touch time and
// returns written=false, without reading data. Otherwise it checks that
// Sum(data) == h (ErrHashMismatch if not), appends a record, waits for an
// fsync covering it, and returns written=true. Concurrent Puts of the same
// hash write it once; the others wait for that write and report false.
//
// ctx is checked before any work and while waiting for another Put of the
// same hash; once this call's own write has started, Put waits for its
// outcome even if ctx ends, so a returned error always means the chunk is
// not stored. Put does not keep data after it returns.
func (s *Store) Put(ctx context.Context, h Hash, data []byte) (written bool, err error) {
	if err := ctx.Err(); err != nil {
		return false, fmt.Errorf("put chunk %s: %w", h, err)
	}
	if len(data) > MaxChunkSize {
		return false, fmt.Errorf("put chunk %s: %d bytes: %w", h, len(data), ErrTooLarge)
	}
	if s.Touch(h) {
		return false, nil
	}
	if Sum(data) != h {
		return false, fmt.Errorf("put chunk %s: %w", h, ErrHashMismatch)
	}
	for {
		e, wait, err := s.reservePut(h, len(data))
		switch {
		case err != nil:
			return false, fmt.Errorf("put chunk %s: %w", h, err)
		case wait != nil:
			select {
			case <-wait:
				continue
			case <-ctx.Done():
				return false, fmt.Errorf("put chunk %s: %w", h, ctx.Err())
			}
		case e == nil:
			return false, nil
		}
		if err := s.finishPut(h, e, data); err != nil {
			return false, fmt.Errorf("put chunk %s: %w", h, err)
		}
		return true, nil
	}
}

// reservePut decides what Put does under the write lock. It returns the
// pending entry to write, or a channel to wait on while another Put of h
// is writing, or neither when h is stored (and touched).
func (s *Store) reservePut(h Hash, n int) (*entry, <-chan struct{}, error) {
	now := s.opts.Now().UnixNano()
	s.mu.Lock()
	defer s.mu.Unlock()
	if s.closed {
		return nil, nil, ErrClosed
	}
	if e := s.index[h]; e != nil {
		if e.pending != nil {
			return nil, e.pending, nil
		}
		e.touched.Store(now)
		return nil, nil, nil
	}

	p, off, err := s.reserveLocked(recordLen(n))
	if err != nil {
		return nil, nil, err
	}
	e := &entry{pack: p, off: off, size: n, pending: make(chan struct{})}
	e.touched.Store(now)
	s.index[h] = e
	s.ops.Add(1)
	return e, nil, nil
}

// finishPut writes the record of the pending entry e and makes e visible,
// or removes it if the write failed. Either way it wakes the Puts waiting
// on e.
func (s *Store) finishPut(h Hash, e *entry, data []byte) error {
	defer s.ops.Done()
	hdr := chunkHeader(h, data)
	err := s.writeRecord(e.pack, e.off, &hdr, data)

	s.mu.Lock()
	defer s.mu.Unlock()
	close(e.pending)
	e.pending = nil
	if err != nil {
		delete(s.index, h)
		e.pack.dead += recordLen(e.size)
		return err
	}
	e.crc = hdr.dataCRC
	s.indexLocked(h, e)
	return nil
}

// Delete removes chunk h: it appends a tombstone, returns once that is
// durable, and counts the chunk's record as dead bytes for Compact. It
// returns ErrNotFound if the store lacks h. Once Delete has begun, Get
// and Has no longer see h, even if the tombstone then fails to be written;
// after such a failure h may reappear at the next Open.
func (s *Store) Delete(h Hash) error {
	deleted, err := s.deleteIf(h, func(*entry) bool { return true })
	if err == nil && !deleted {
		err = ErrNotFound
	}
	if err != nil {
		return fmt.Errorf("delete chunk %s: %w", h, err)
	}
	return nil
}

// DeleteIfIdle deletes h, as Delete does, only if its touch time is before
// cutoff. The check and the removal from the index are atomic with respect
// to Put and Touch, so a chunk touched at or after cutoff is never
// deleted. It reports whether it deleted h; an absent h is not an error.
func (s *Store) DeleteIfIdle(h Hash, cutoff time.Time) (bool, error) {
	limit := cutoff.UnixNano()
	deleted, err := s.deleteIf(h, func(e *entry) bool { return e.touched.Load() < limit })
	if err != nil {
		return false, fmt.Errorf("delete idle chunk %s: %w", h, err)
	}
	return deleted, nil
}

// deleteIf removes h from the index if it is present and ok(entry), and
// appends its tombstone. A chunk still being written by Put counts as
// absent.
func (s *Store) deleteIf(h Hash, ok func(*entry) bool) (bool, error) {
	s.mu.Lock()
	if s.closed {
		s.mu.Unlock()
		return false, ErrClosed
	}
	e := s.readyLocked(h)
	if e == nil || !ok(e) {
		s.mu.Unlock()
		return false, nil
	}
	p, off, err := s.reserveLocked(RecordHeaderSize)
	if err != nil {
		s.mu.Unlock()
		return false, err
	}
	s.unindexLocked(h, e)
	p.dead += RecordHeaderSize
	s.ops.Add(1)
	s.mu.Unlock()

	defer s.ops.Done()
	hdr := tombstoneHeader(h)
	if err := s.writeRecord(p, off, &hdr, nil); err != nil {
		return false, err
	}
	return true, nil
}

// reserveLocked hands out n bytes at the end of the current pack, moving
// to a new pack when the current one is full or failed. Ranges are handed
// out in order, which is what makes the order of records on disk the order
// of index changes. s.mu must be held for writing.
func (s *Store) reserveLocked(n int64) (*pack, int64, error) {
	p := s.cur
	if p == nil || p.retired || (p.size > 0 && p.size+n > s.opts.PackSize) {
		np, err := createPack(s.packDir, s.nextID)
		if err != nil {
			return nil, 0, err
		}
		s.nextID++
		s.packs = append(s.packs, np)
		s.cur = np
		s.log.Debug("pack created", "pack", np.id)
		p = np
	}
	off := p.size
	p.size += n
	p.gc.reserve(off, p.size)
	return p, off, nil
}

// recordBufs recycles the buffers records are assembled in, so that a
// record goes to the file in one write.
var recordBufs = sync.Pool{New: func() any { return new([]byte) }}

// writeRecord encodes a record, writes it into its reserved range of p
// and waits until it is durable. The record is assembled in a pooled
// buffer so it reaches the file in one write; the buffer goes back to the
// pool before the wait for the sync.
func (s *Store) writeRecord(p *pack, off int64, hdr *recordHeader, data []byte) error {
	bp := recordBufs.Get().(*[]byte)
	n := int(recordLen(len(data)))
	if cap(*bp) < n {
		*bp = make([]byte, n)
	}
	rec := (*bp)[:n]
	hdr.encode(rec)
	copy(rec[RecordHeaderSize:], data)
	_, err := p.f.WriteAt(rec, off)
	recordBufs.Put(bp)
	return s.finishWrite(p, off, int64(n), err)
}

// finishWrite reports the write of [off, off+n) in p, with werr if it
// failed, and waits until the range is durable. On failure it retires p,
// so later records go to a new pack.
func (s *Store) finishWrite(p *pack, off, n int64, werr error) error {
	if err := p.gc.finish(p.f, off, off+n, werr); err != nil {
		s.retire(p, err)
		return fmt.Errorf("write pack %d: %w", p.id, err)
	}
	return nil
}

// retire stops appends to p after a failed write or sync, logging once.
func (s *Store) retire(p *pack, err error) {
	s.mu.Lock()
	defer s.mu.Unlock()
	if p.retired {
		return
	}
	p.retired = true
	s.log.Error("pack write failed, moving to a new pack", "pack", p.id, "err", err)
}
