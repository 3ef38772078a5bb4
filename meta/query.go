package meta

import (
	"bytes"
	"encoding/binary"
	"fmt"

	"github.com/helixtrack/attachments/chunk"
)

// maxListLimit caps one ListEntity page.
const maxListLimit = 1000

// Stats are the FSM's running totals, as of AppliedIndex.
type Stats struct {
	// AppliedIndex is the Raft index the totals include.
	AppliedIndex uint64 `json:"applied_index"`
	// LiveReferences counts references that are not deleted.
	LiveReferences uint64 `json:"live_references"`
	// Files counts distinct contents with at least one live reference.
	Files uint64 `json:"files"`
	// Chunks counts chunk records, including those at zero that
	// CollectChunks has not removed yet.
	Chunks uint64 `json:"chunks"`
	// LogicalBytes sums the file size over live references: what users
	// see as stored.
	LogicalBytes uint64 `json:"logical_bytes"`
	// StoredBytes sums the sizes of chunk records: what deduplication
	// leaves to store, before replication or erasure coding.
	StoredBytes uint64 `json:"stored_bytes"`
}

// reference returns a live reference.
func (f *stateMachine) reference(id RefID) (Reference, error) {
	var rec refRecord
	err := f.view(func(b buckets) error {
		var ok bool
		var err error
		rec, ok, err = b.getRef(id)
		if err == nil && (!ok || rec.Deleted) {
			err = fmt.Errorf("reference %s: %w", id, ErrNotFound)
		}
		return err
	})
	return rec.Reference, err
}

func (f *stateMachine) file(h chunk.Hash) (File, error) {
	var file File
	err := f.view(func(b buckets) error {
		var ok bool
		var err error
		file, ok, err = b.getFile(h)
		if err == nil && !ok {
			err = fmt.Errorf("file %s: %w", h, ErrNotFound)
		}
		return err
	})
	return file, err
}

func (f *stateMachine) chunk(h chunk.Hash) (Chunk, error) {
	var c Chunk
	err := f.view(func(b buckets) error {
		var ok bool
		var err error
		c, ok, err = b.getChunk(h)
		if err == nil && !ok {
			err = fmt.Errorf("chunk %s: %w", h, ErrNotFound)
		}
		return err
	})
	return c, err
}

func (f *stateMachine) ownsFile(owner string, h chunk.Hash) (bool, error) {
	var n uint64
	err := f.view(func(b buckets) error {
		var err error
		n, err = b.ownerCount(owner, h)
		return err
	})
	return n > 0, err
}

// listEntity returns up to limit live references of one entity created
// after the cursor, oldest first, and the cursor of the next page.
func (f *stateMachine) listEntity(typ, id, cursor string, limit int) ([]Reference, string, error) {
	after, err := parseCursor(cursor)
	if err != nil {
		return nil, "", err
	}
	if limit < 1 {
		return nil, "", fmt.Errorf("list entity: limit %d: %w", limit, ErrInvalid)
	}
	limit = min(limit, maxListLimit)

	var refs []Reference
	var next string
	err = f.view(func(b buckets) error {
		prefix := entityPrefix(typ, id)
		c := b.entity.Cursor()
		k, v := c.Seek(entityKey(typ, id, after+1))
		for ; k != nil && bytes.HasPrefix(k, prefix); k, v = c.Next() {
			if len(refs) == limit {
				last := binary.BigEndian.Uint64(k[len(k)-8:]) - 1
				next = encodeCursor(last)
				return nil
			}
			rec, ok, err := b.getRef(RefID(v))
			if err != nil {
				return err
			}
			if !ok {
				return fmt.Errorf("list entity: indexed reference %s missing: %w",
					v, ErrStorage)
			}
			refs = append(refs, rec.Reference)
		}
		return nil
	})
	return refs, next, err
}

func (f *stateMachine) stats() (Stats, error) {
	var s Stats
	err := f.view(func(b buckets) error {
		applied, t, err := b.readState()
		s = Stats{
			AppliedIndex:   applied,
			LiveReferences: t.LiveRefs,
			Files:          t.Files,
			Chunks:         t.Chunks,
			LogicalBytes:   t.LogicalBytes,
			StoredBytes:    t.StoredBytes,
		}
		return err
	})
	return s, err
}

// localChunks calls fn for every chunk record in hash order until fn
// returns false. It reads pages of records in short transactions and calls
// fn outside them, so fn may take its time and may call the store; records
// changed meanwhile may be seen old or new.
func (f *stateMachine) localChunks(fn func(h chunk.Hash, c Chunk) bool) error {
	const page = 512
	var from []byte
	for {
		var batch []Chunk
		err := f.view(func(b buckets) error {
			cur := b.chunks.Cursor()
			k, _ := cur.Seek(from)
			if from != nil && bytes.Equal(k, from) {
				k, _ = cur.Next()
			}
			for ; k != nil && len(batch) < page; k, _ = cur.Next() {
				c, _, err := b.getChunk(chunk.Hash(k))
				if err != nil {
					return err
				}
				batch = append(batch, c)
			}
			return nil
		})
		if err != nil {
			return err
		}
		for _, c := range batch {
			if !fn(c.Hash, c) {
				return nil
			}
		}
		if len(batch) < page {
			return nil
		}
		from = bytes.Clone(batch[len(batch)-1].Hash[:])
	}
}

// knownChunks reports, for each hash, whether a chunk record exists, in
// one read transaction.
func (f *stateMachine) knownChunks(hs []chunk.Hash) ([]bool, error) {
	known := make([]bool, len(hs))
	err := f.view(func(b buckets) error {
		for i, h := range hs {
			_, ok, err := b.getChunk(h)
			if err != nil {
				return err
			}
			known[i] = ok
		}
		return nil
	})
	return known, err
}

// files returns the file of each hash, in one read transaction; a hash
// without a file fails the whole call with ErrNotFound.
func (f *stateMachine) files(hs []chunk.Hash) ([]File, error) {
	out := make([]File, len(hs))
	err := f.view(func(b buckets) error {
		for i, h := range hs {
			file, ok, err := b.getFile(h)
			if err != nil {
				return err
			}
			if !ok {
				return fmt.Errorf("file %s: %w", h, ErrNotFound)
			}
			out[i] = file
		}
		return nil
	})
	return out, err
}
