package meta

import (
	"encoding/binary"
	"fmt"
	"strings"

	"github.com/helixtrack/attachments/chunk"
)

// maxListedMismatches bounds the mismatches Verify spells out.
const maxListedMismatches = 20

// recount is what the state should hold, rebuilt from the references.
type recount struct {
	t          totals
	fileRefs   map[chunk.Hash]uint64
	chunkRefs  map[chunk.Hash]uint64
	owners     map[string]uint64 // ownerKey -> live references
	entityKeys map[string]RefID  // entityKey -> id
	problems   []string
	nProblems  int
}

func (r *recount) addf(format string, args ...any) {
	r.nProblems++
	if len(r.problems) < maxListedMismatches {
		r.problems = append(r.problems, fmt.Sprintf(format, args...))
	}
}

// verify recomputes every count, total and index entry from the
// references in one read transaction and compares them with what is
// stored. It holds one map entry per file, chunk and live reference.
func (f *stateMachine) verify() error {
	r := &recount{
		fileRefs:   map[chunk.Hash]uint64{},
		chunkRefs:  map[chunk.Hash]uint64{},
		owners:     map[string]uint64{},
		entityKeys: map[string]RefID{},
	}
	err := f.view(func(b buckets) error {
		steps := []func(buckets) error{
			r.countRefs, r.checkFiles, r.checkChunks, r.checkEntity, r.checkOwners,
			r.checkZero, r.checkTotals, r.checkLayout,
		}
		for _, step := range steps {
			if err := step(b); err != nil {
				return err
			}
		}
		return nil
	})
	if err != nil {
		return fmt.Errorf("verify: %w", err)
	}
	if r.nProblems > 0 {
		more := ""
		if r.nProblems > len(r.problems) {
			more = fmt.Sprintf("; and %d more", r.nProblems-len(r.problems))
		}
		return fmt.Errorf("verify: %d mismatches: %s%s: %w",
			r.nProblems, strings.Join(r.problems, "; "), more, ErrInconsistent)
	}
	return nil
}

// countRefs walks the references and derives what files, indexes and
// totals should say.
func (r *recount) countRefs(b buckets) error {
	return b.refs.ForEach(func(k, _ []byte) error {
		rec, _, err := b.getRef(RefID(k))
		if err != nil {
			return err
		}
		r.t.Seq = max(r.t.Seq, rec.Seq)
		if rec.Deleted {
			return nil
		}
		file, ok, err := b.getFile(rec.FileHash)
		if err != nil {
			return err
		}
		if !ok {
			r.addf("reference %s: file %s missing", rec.ID, rec.FileHash)
		}
		r.t.LiveRefs++
		r.t.LogicalBytes += uint64(file.Size)
		r.fileRefs[rec.FileHash]++
		r.owners[string(ownerKey(rec.Owner, rec.FileHash))]++
		r.entityKeys[string(entityKey(rec.EntityType, rec.EntityID, rec.Seq))] = rec.ID
		return nil
	})
}

// checkFiles compares file counts and derives chunk counts.
func (r *recount) checkFiles(b buckets) error {
	err := b.files.ForEach(func(k, _ []byte) error {
		file, _, err := b.getFile(chunk.Hash(k))
		if err != nil {
			return err
		}
		r.t.Files++
		if want := r.fileRefs[file.Hash]; file.RefCount != want {
			r.addf("file %s: ref count %d, recount %d", file.Hash, file.RefCount, want)
		}
		var sum int64
		for _, c := range file.Chunks {
			r.chunkRefs[c.Hash]++
			sum += int64(c.Size)
		}
		if sum != file.Size {
			r.addf("file %s: manifest sums to %d, size %d", file.Hash, sum, file.Size)
		}
		return nil
	})
	if err != nil {
		return err
	}
	for h := range r.fileRefs {
		if b.files.Get(h[:]) == nil {
			r.addf("file %s: referenced but missing", h)
		}
	}
	return nil
}

// checkChunks compares chunk counts and their zero marks.
func (r *recount) checkChunks(b buckets) error {
	err := b.chunks.ForEach(func(k, _ []byte) error {
		c, _, err := b.getChunk(chunk.Hash(k))
		if err != nil {
			return err
		}
		r.t.Chunks++
		r.t.StoredBytes += uint64(c.Size)
		if want := r.chunkRefs[c.Hash]; c.RefCount != want {
			r.addf("chunk %s: ref count %d, recount %d", c.Hash, c.RefCount, want)
		}
		atZero := c.RefCount == 0
		if atZero != !c.ZeroSince.IsZero() {
			r.addf("chunk %s: ref count %d with zero_since %v", c.Hash, c.RefCount, c.ZeroSince)
		}
		if atZero && b.zero.Get(zeroKey(c.ZeroSince, c.Hash)) == nil {
			r.addf("chunk %s: at zero but not indexed for collection", c.Hash)
		}
		return nil
	})
	if err != nil {
		return err
	}
	for h := range r.chunkRefs {
		if b.chunks.Get(h[:]) == nil {
			r.addf("chunk %s: in a manifest but missing", h)
		}
	}
	return nil
}

// checkEntity compares the entity index with the live references.
func (r *recount) checkEntity(b buckets) error {
	n := 0
	err := b.entity.ForEach(func(k, v []byte) error {
		n++
		if id, ok := r.entityKeys[string(k)]; !ok || id != RefID(v) {
			r.addf("entity index %x: names %s, want %q", k, v, id)
		}
		return nil
	})
	if n != len(r.entityKeys) {
		r.addf("entity index: %d entries, %d live references", n, len(r.entityKeys))
	}
	return err
}

// checkOwners compares the owner index with the live references.
func (r *recount) checkOwners(b buckets) error {
	n := 0
	err := b.owner.ForEach(func(k, v []byte) error {
		n++
		got, err := readU64(v)
		if err != nil {
			return err
		}
		if want := r.owners[string(k)]; got != want {
			r.addf("owner index %x: count %d, recount %d", k, got, want)
		}
		return nil
	})
	if n != len(r.owners) {
		r.addf("owner index: %d entries, recount %d", n, len(r.owners))
	}
	return err
}

// checkZero finds collection entries whose chunk is not at zero.
func (r *recount) checkZero(b buckets) error {
	return b.zero.ForEach(func(k, _ []byte) error {
		if len(k) != 8+len(chunk.Hash{}) {
			r.addf("zero index: bad key %x", k)
			return nil
		}
		h := chunk.Hash(k[8:])
		c, ok, err := b.getChunk(h)
		if err != nil {
			return err
		}
		since := int64(binary.BigEndian.Uint64(k) ^ (1 << 63))
		if !ok || c.RefCount != 0 || c.ZeroSince.UnixNano() != since {
			r.addf("zero index: chunk %s is not at zero since %v", h, zeroKeyTime(k))
		}
		return nil
	})
}

// checkTotals compares the stored totals with the recount.
func (r *recount) checkTotals(b buckets) error {
	_, got, err := b.readState()
	if err != nil {
		return err
	}
	want := r.t
	if got.Seq < want.Seq {
		r.addf("totals: sequence %d behind reference sequence %d", got.Seq, want.Seq)
	}
	want.Seq = got.Seq
	if got != want {
		r.addf("totals: stored %+v, recount %+v", got, want)
	}
	return nil
}

// checkLayout checks the stored layout: nodes sorted by id without
// repeats, each with a known state and a weight in range, and a valid
// replication factor.
func (r *recount) checkLayout(b buckets) error {
	l, err := b.getLayout()
	if err != nil {
		return err
	}
	if l.Replicas < 0 || l.Replicas > maxReplicas {
		r.addf("layout: replicas %d", l.Replicas)
	}
	for i, n := range l.Nodes {
		if i > 0 && l.Nodes[i-1].ID >= n.ID {
			r.addf("layout: node %s after %s", n.ID, l.Nodes[i-1].ID)
		}
		if err := validateState(n.State); err != nil {
			r.addf("layout: node %s: %v", n.ID, err)
		}
		if err := validateWeight(n.Weight); err != nil {
			r.addf("layout: node %s: %v", n.ID, err)
		}
	}
	return nil
}
