package meta

import (
	"bytes"
	"fmt"
	"time"

	"github.com/helixtrack/attachments/chunk"
	"github.com/helixtrack/attachments/placement"
)

// applyTx applies commands inside one bbolt write transaction. Each
// command method checks everything it can reject before its first write,
// so a rejected command writes nothing. A returned error is a storage
// failure or a broken invariant, never a rejection: the whole transaction
// is then rolled back.
type applyTx struct {
	b       buckets
	t       totals
	applied uint64

	// layout is the layout as changed so far in this transaction, nil
	// until a layout command reads it; layoutDirty is set once a command
	// changed it, so the transaction writes it and the FSM publishes it.
	layout      *placement.Layout
	layoutDirty bool
}

// apply decodes and applies one command entry.
func (a *applyTx) apply(data []byte) (*result, error) {
	c, err := decodeCommand(data)
	if err != nil {
		return rejectionFor(err), nil
	}
	switch c.Kind {
	case kindCreate:
		return a.create(c)
	case kindAttach:
		return a.attach(c)
	case kindDelete:
		return a.delete(c)
	case kindCollect:
		return a.collect(c)
	case kindJoinNode, kindSetNodeState, kindSetNodeWeight, kindSetReplicas, kindRemoveNode:
		return a.applyLayout(c)
	}
	return &result{}, nil // kindBarrier: only the applied index moves
}

// create adds a reference and, unless the content is known, its file and
// one count per manifest occurrence on each chunk.
func (a *applyTx) create(c *command) (*result, error) {
	if res, err := a.checkNewRef(c.Ref); res != nil || err != nil {
		return res, err
	}
	f, exists, err := a.b.getFile(c.File.Hash)
	if err != nil {
		return nil, err
	}
	if exists {
		if f.Size != c.File.Size {
			return reject(codeInvalid, "create reference %s: file %s has size %d, not %d",
				c.Ref.ID, f.Hash, f.Size, c.File.Size), nil
		}
		return a.addRef(c, &f, true)
	}

	if res, err := a.checkChunkSizes(c.Ref.ID, c.File.Chunks); res != nil || err != nil {
		return res, err
	}
	f = File{
		Hash:    c.File.Hash,
		Size:    c.File.Size,
		MIME:    c.File.MIME,
		Chunks:  c.File.Chunks,
		Created: c.Now,
	}
	if err := a.raiseChunks(f.Chunks); err != nil {
		return nil, err
	}
	a.t.Files++
	return a.addRef(c, &f, false)
}

// attach adds a reference to a file that already exists.
func (a *applyTx) attach(c *command) (*result, error) {
	if res, err := a.checkNewRef(c.Ref); res != nil || err != nil {
		return res, err
	}
	f, exists, err := a.b.getFile(c.Ref.FileHash)
	if err != nil {
		return nil, err
	}
	if !exists {
		return reject(codeNotFound, "attach reference %s: file %s",
			c.Ref.ID, c.Ref.FileHash), nil
	}
	return a.addRef(c, &f, true)
}

// checkNewRef rejects a reference id that is taken, live or deleted.
func (a *applyTx) checkNewRef(r *Reference) (*result, error) {
	if a.b.refs.Get([]byte(r.ID)) != nil {
		return reject(codeExists, "create reference %s", r.ID), nil
	}
	return nil, nil
}

// checkChunkSizes rejects a manifest that gives a known chunk another
// size: a chunk's hash fixes its bytes, so the proposer is wrong.
func (a *applyTx) checkChunkSizes(id RefID, refs []ChunkRef) (*result, error) {
	for _, cr := range refs {
		ch, ok, err := a.b.getChunk(cr.Hash)
		if err != nil {
			return nil, err
		}
		if ok && ch.Size != cr.Size {
			return reject(codeInvalid, "create reference %s: chunk %s has size %d, not %d",
				id, cr.Hash, ch.Size, cr.Size), nil
		}
	}
	return nil, nil
}

// addRef stores the reference of c against f (whose RefCount it raises),
// indexes it and updates the totals.
func (a *applyTx) addRef(c *command, f *File, dedup bool) (*result, error) {
	f.RefCount++
	if err := a.b.putFile(f); err != nil {
		return nil, err
	}

	a.t.Seq++
	rec := refRecord{Reference: *c.Ref, Seq: a.t.Seq}
	if rec.Created.IsZero() {
		rec.Created = c.Now
	}
	if err := a.b.putRef(&rec); err != nil {
		return nil, err
	}
	k := entityKey(rec.EntityType, rec.EntityID, rec.Seq)
	if err := a.b.entity.Put(k, []byte(rec.ID)); err != nil {
		return nil, fmt.Errorf("index reference %s: %w", rec.ID, err)
	}
	if err := a.b.addOwner(rec.Owner, f.Hash, 1); err != nil {
		return nil, err
	}

	a.t.LiveRefs++
	a.t.LogicalBytes += uint64(f.Size)
	return &result{Deduplicated: dedup, File: f, Ref: &rec.Reference}, nil
}

// raiseChunks adds one count per manifest occurrence, creating records
// for new chunks and reviving chunks at zero.
func (a *applyTx) raiseChunks(refs []ChunkRef) error {
	for _, cr := range refs {
		ch, ok, err := a.b.getChunk(cr.Hash)
		if err != nil {
			return err
		}
		switch {
		case !ok:
			ch = Chunk{Hash: cr.Hash, Size: cr.Size}
			a.t.Chunks++
			a.t.StoredBytes += uint64(cr.Size)
		case ch.RefCount == 0:
			if err := a.b.zero.Delete(zeroKey(ch.ZeroSince, ch.Hash)); err != nil {
				return fmt.Errorf("revive chunk %s: %w", ch.Hash, err)
			}
			ch.ZeroSince = time.Time{}
		}
		ch.RefCount++
		if err := a.b.putChunk(&ch); err != nil {
			return err
		}
	}
	return nil
}

// delete soft-deletes a live reference and lowers its file, removing the
// file at zero and lowering its chunks in turn.
func (a *applyTx) delete(c *command) (*result, error) {
	rec, ok, err := a.b.getRef(c.ID)
	if err != nil {
		return nil, err
	}
	if !ok || rec.Deleted {
		return reject(codeNotFound, "delete reference %s", c.ID), nil
	}
	f, ok, err := a.b.getFile(rec.FileHash)
	if err != nil {
		return nil, err
	}
	if !ok || f.RefCount == 0 {
		return nil, fmt.Errorf("delete reference %s: file %s of a live reference is missing: %w",
			c.ID, rec.FileHash, ErrStorage)
	}

	rec.Deleted, rec.DeletedAt = true, c.Now
	if err := a.b.putRef(&rec); err != nil {
		return nil, err
	}
	k := entityKey(rec.EntityType, rec.EntityID, rec.Seq)
	if err := a.b.entity.Delete(k); err != nil {
		return nil, fmt.Errorf("unindex reference %s: %w", rec.ID, err)
	}
	if err := a.b.addOwner(rec.Owner, f.Hash, -1); err != nil {
		return nil, err
	}
	a.t.LiveRefs--
	a.t.LogicalBytes -= uint64(f.Size)

	if err := a.lowerFile(&f, c.Now); err != nil {
		return nil, err
	}
	return &result{Ref: &rec.Reference}, nil
}

// lowerFile drops one count from f; at zero it removes f and lowers each
// chunk once per occurrence.
func (a *applyTx) lowerFile(f *File, now time.Time) error {
	f.RefCount--
	if f.RefCount > 0 {
		return a.b.putFile(f)
	}
	if err := a.b.files.Delete(f.Hash[:]); err != nil {
		return fmt.Errorf("remove file %s: %w", f.Hash, err)
	}
	a.t.Files--
	for _, cr := range f.Chunks {
		if err := a.lowerChunk(cr.Hash, now); err != nil {
			return err
		}
	}
	return nil
}

// lowerChunk drops one count from chunk h, recording when it hit zero.
func (a *applyTx) lowerChunk(h chunk.Hash, now time.Time) error {
	ch, ok, err := a.b.getChunk(h)
	if err != nil {
		return err
	}
	if !ok || ch.RefCount == 0 {
		return fmt.Errorf("lower chunk %s: no count to remove: %w", h, ErrStorage)
	}
	ch.RefCount--
	if ch.RefCount == 0 {
		ch.ZeroSince = now
		if err := a.b.zero.Put(zeroKey(now, h), nil); err != nil {
			return fmt.Errorf("mark chunk %s unused: %w", h, err)
		}
	}
	return a.b.putChunk(&ch)
}

// collect removes up to c.Limit chunk records that have been at zero
// since before c.OlderThan, oldest first.
func (a *applyTx) collect(c *command) (*result, error) {
	var keys [][]byte
	cur := a.b.zero.Cursor()
	for k, _ := cur.First(); k != nil && len(keys) < c.Limit; k, _ = cur.Next() {
		if len(k) != 8+len(chunk.Hash{}) {
			return nil, fmt.Errorf("collect chunks: bad index key %x: %w", k, ErrStorage)
		}
		if !zeroKeyTime(k).Before(c.OlderThan) {
			break
		}
		keys = append(keys, bytes.Clone(k))
	}

	res := &result{Collected: make([]chunk.Hash, 0, len(keys))}
	for _, k := range keys {
		h := chunk.Hash(k[8:])
		if err := a.removeChunk(h); err != nil {
			return nil, err
		}
		if err := a.b.zero.Delete(k); err != nil {
			return nil, fmt.Errorf("collect chunk %s: %w", h, err)
		}
		res.Collected = append(res.Collected, h)
	}
	return res, nil
}

// removeChunk deletes the record of a chunk at zero.
func (a *applyTx) removeChunk(h chunk.Hash) error {
	ch, ok, err := a.b.getChunk(h)
	if err != nil {
		return err
	}
	if !ok || ch.RefCount != 0 {
		return fmt.Errorf("collect chunk %s: indexed as unused but not at zero: %w",
			h, ErrStorage)
	}
	if err := a.b.chunks.Delete(h[:]); err != nil {
		return fmt.Errorf("collect chunk %s: %w", h, err)
	}
	a.t.Chunks--
	a.t.StoredBytes -= uint64(ch.Size)
	return nil
}
