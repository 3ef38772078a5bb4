package meta

import (
	"encoding/binary"
	"encoding/json"
	"fmt"

	bolt "go.etcd.io/bbolt"

	"github.com/helixtrack/attachments/chunk"
)

// refRecord is a reference as stored: the public record plus the creation
// sequence that orders it in its entity's index.
type refRecord struct {
	Reference
	Seq uint64 `json:"seq"`
}

// totals are the running counters of bucketState. Seq is the sequence of
// the last created reference; the others are what Stats reports.
type totals struct {
	Seq          uint64
	LiveRefs     uint64
	Files        uint64
	Chunks       uint64
	LogicalBytes uint64
	StoredBytes  uint64
}

const totalsLen = 6 * 8

func (t totals) encode() []byte {
	b := make([]byte, 0, totalsLen)
	for _, v := range []uint64{
		t.Seq, t.LiveRefs, t.Files, t.Chunks, t.LogicalBytes, t.StoredBytes,
	} {
		b = binary.BigEndian.AppendUint64(b, v)
	}
	return b
}

func decodeTotals(b []byte) (totals, error) {
	var t totals
	if len(b) == 0 {
		return t, nil
	}
	if len(b) != totalsLen {
		return t, fmt.Errorf("decode totals: %d bytes, want %d", len(b), totalsLen)
	}
	for i, p := range []*uint64{
		&t.Seq, &t.LiveRefs, &t.Files, &t.Chunks, &t.LogicalBytes, &t.StoredBytes,
	} {
		*p = binary.BigEndian.Uint64(b[i*8:])
	}
	return t, nil
}

// buckets holds the buckets of one transaction.
type buckets struct {
	refs, files, chunks, entity, owner, zero, state *bolt.Bucket
}

// openBuckets finds every bucket in tx; a missing one means the file is
// not an FSM database.
func openBuckets(tx *bolt.Tx) (buckets, error) {
	var b buckets
	for i, p := range []**bolt.Bucket{
		&b.refs, &b.files, &b.chunks, &b.entity, &b.owner, &b.zero, &b.state,
	} {
		*p = tx.Bucket(allBuckets[i])
		if *p == nil {
			return b, fmt.Errorf("open bucket %s: missing", allBuckets[i])
		}
	}
	return b, nil
}

// readState returns the applied index and totals stored in tx.
func (b buckets) readState() (uint64, totals, error) {
	applied, err := readU64(b.state.Get(keyApplied))
	if err != nil {
		return 0, totals{}, fmt.Errorf("read applied index: %w", err)
	}
	t, err := decodeTotals(b.state.Get(keyTotals))
	return applied, t, err
}

// getJSON decodes the value under k into v and reports whether it exists.
func getJSON(bk *bolt.Bucket, k []byte, v any) (bool, error) {
	raw := bk.Get(k)
	if raw == nil {
		return false, nil
	}
	if err := json.Unmarshal(raw, v); err != nil {
		return true, fmt.Errorf("decode record %x: %w", k, err)
	}
	return true, nil
}

func putJSON(bk *bolt.Bucket, k []byte, v any) error {
	raw, err := json.Marshal(v)
	if err != nil {
		return fmt.Errorf("encode record %x: %w", k, err)
	}
	if err := bk.Put(k, raw); err != nil {
		return fmt.Errorf("put record %x: %w", k, err)
	}
	return nil
}

func (b buckets) getRef(id RefID) (refRecord, bool, error) {
	var r refRecord
	ok, err := getJSON(b.refs, []byte(id), &r)
	return r, ok, err
}

func (b buckets) putRef(r *refRecord) error { return putJSON(b.refs, []byte(r.ID), r) }

func (b buckets) getFile(h chunk.Hash) (File, bool, error) {
	var f File
	ok, err := getJSON(b.files, h[:], &f)
	return f, ok, err
}

func (b buckets) putFile(f *File) error { return putJSON(b.files, f.Hash[:], f) }

func (b buckets) getChunk(h chunk.Hash) (Chunk, bool, error) {
	var c Chunk
	ok, err := getJSON(b.chunks, h[:], &c)
	return c, ok, err
}

func (b buckets) putChunk(c *Chunk) error { return putJSON(b.chunks, c.Hash[:], c) }

// ownerCount returns how many live references owner holds to file h.
func (b buckets) ownerCount(owner string, h chunk.Hash) (uint64, error) {
	n, err := readU64(b.owner.Get(ownerKey(owner, h)))
	if err != nil {
		return 0, fmt.Errorf("read owner count of %s: %w", h, err)
	}
	return n, nil
}

// addOwner adds delta to the owner count, removing the key at zero.
func (b buckets) addOwner(owner string, h chunk.Hash, delta int64) error {
	n, err := b.ownerCount(owner, h)
	if err != nil {
		return err
	}
	if delta < 0 && n < uint64(-delta) {
		return fmt.Errorf("owner count of %s below zero: %w", h, ErrStorage)
	}
	n = uint64(int64(n) + delta)
	k := ownerKey(owner, h)
	if n == 0 {
		return b.owner.Delete(k)
	}
	return b.owner.Put(k, u64(n))
}
