package chunk

import (
	"fmt"
	"math"
	"os"
	"slices"
	"sync"
)

// groupCommit makes the writes of one pack durable in batches. Writers
// reserve disjoint ranges in order, write them concurrently, then wait in
// wait; one waiter at a time runs fdatasync, and each sync covers every
// write finished before it began, so one fsync serves all the writers
// queued behind it.
//
// A range is reported durable only once every range before it in the pack
// is durable too. Writes finish out of order, and a crash could otherwise
// leave an unwritten hole below an acknowledged record; recovery cuts the
// pack at the first bad record, which would then drop that record.
type groupCommit struct {
	mu   sync.Mutex // guards the fields below
	cond sync.Cond  // signalled when a write finishes or a sync ends

	// inflight holds the start offsets of reserved ranges whose write has
	// not finished, in ascending order (ranges are reserved in order).
	inflight []int64
	reserved int64 // end of the last reserved range
	synced   int64 // every byte below is on stable storage; <= reserved
	syncing  bool  // a waiter is running fdatasync now
	waiting  int   // writers inside wait

	// failedAt is the lowest offset no longer trusted after a write or
	// sync failed (math.MaxInt64 while none did). Ranges ending above it
	// fail with err; ranges below it can still become durable.
	failedAt int64
	err      error
}

// newGroupCommit returns the state of a pack whose first size bytes are
// already durable.
func newGroupCommit(size int64) *groupCommit {
	g := &groupCommit{reserved: size, synced: size, failedAt: math.MaxInt64}
	g.cond.L = &g.mu
	return g
}

// reserve records that [off, end) was handed to a writer. Offsets must
// increase from one call to the next.
func (g *groupCommit) reserve(off, end int64) {
	g.mu.Lock()
	defer g.mu.Unlock()
	g.inflight = append(g.inflight, off)
	g.reserved = end
}

// failLocked lowers failedAt to off. g.mu must be held.
func (g *groupCommit) failLocked(off int64, err error) {
	if off < g.failedAt {
		g.failedAt = off
		g.err = err
	}
}

// donePrefixLocked returns the end of the longest prefix of the pack whose
// writes have all returned. g.mu must be held.
func (g *groupCommit) donePrefixLocked() int64 {
	if len(g.inflight) > 0 {
		return g.inflight[0]
	}
	return g.reserved
}

// settled reports whether no writer is between reserve and the return of
// wait, so no record of the pack is still on its way. A writer between
// written and wait is not seen; only Compact, which writes that way and
// runs alone, relies on settled.
func (g *groupCommit) settled() bool {
	g.mu.Lock()
	defer g.mu.Unlock()
	return len(g.inflight) == 0 && g.waiting == 0
}

// written records that the write of the range starting at off returned,
// with werr if it failed.
func (g *groupCommit) written(off int64, werr error) {
	g.mu.Lock()
	defer g.mu.Unlock()
	g.writtenLocked(off, werr)
}

func (g *groupCommit) writtenLocked(off int64, werr error) {
	if i, ok := slices.BinarySearch(g.inflight, off); ok {
		g.inflight = slices.Delete(g.inflight, i, i+1)
	}
	if werr != nil {
		g.failLocked(off, fmt.Errorf("write at offset %d: %w", off, werr))
	}
	g.cond.Broadcast()
}

// finish is written followed by wait, for the writer of one range, with
// no gap between them in which settled could report the pack quiet.
func (g *groupCommit) finish(f *os.File, off, end int64, werr error) error {
	g.mu.Lock()
	defer g.mu.Unlock()
	g.writtenLocked(off, werr)
	return g.waitLocked(f, end)
}

// wait returns once every byte of the pack below end is durable, or with
// an error if a write or sync failed below end. The caller's own writes
// below end must have been reported to written.
//
// wait takes no context: by then the records are on their way to disk,
// and returning early would leave the caller unsure whether they are
// stored.
func (g *groupCommit) wait(f *os.File, end int64) error {
	g.mu.Lock()
	defer g.mu.Unlock()
	return g.waitLocked(f, end)
}

func (g *groupCommit) waitLocked(f *os.File, end int64) error {
	g.waiting++
	defer func() { g.waiting-- }()
	for {
		switch {
		case end > g.failedAt:
			return g.err
		case g.synced >= end:
			return nil
		case g.syncing || g.donePrefixLocked() < end:
			g.cond.Wait()
		default:
			g.syncLocked(f)
		}
	}
}

// syncLocked runs one fdatasync with g.mu released, then publishes what
// it covered: the prefix whose writes had returned before it started.
func (g *groupCommit) syncLocked(f *os.File) {
	target := min(g.donePrefixLocked(), g.failedAt)
	g.syncing = true
	g.mu.Unlock()
	err := syncData(f)
	g.mu.Lock()
	g.syncing = false
	if err != nil {
		// After a failed fsync the kernel may have dropped the dirty pages,
		// so nothing past the last good sync can be trusted.
		g.failLocked(g.synced, fmt.Errorf("sync: %w", err))
	} else {
		g.synced = max(g.synced, target)
	}
	g.cond.Broadcast()
}
