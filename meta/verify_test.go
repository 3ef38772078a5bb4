package meta

import (
	"errors"
	"strings"
	"testing"
	"time"

	bolt "go.etcd.io/bbolt"
)

// verifyFixture is an FSM holding r1 (live, file f1 of chunks a and b,
// owner "o") and a chunk c at zero since t0 (its only reference, r2, was
// deleted).
type verifyFixture struct {
	f       *stateMachine
	f1      File
	a, b, c ChunkRef
}

func newVerifyFixture(t *testing.T) verifyFixture {
	t.Helper()
	x := verifyFixture{f: newTestFSM(t), a: testChunk("a", 10), b: testChunk("b", 20),
		c: testChunk("c", 30)}
	x.f1 = testFile(x.a, x.b)
	f2 := testFile(x.c)
	for i, cmd := range []*command{
		createCmd(testRef("r1", x.f1, "T-1", "o"), x.f1, t0),
		createCmd(testRef("r2", f2, "T-1", "o"), f2, t0),
		deleteCmd("r2", t0),
	} {
		if err := applyAt(t, x.f, uint64(i+1), cmd).err(); err != nil {
			t.Fatal(err)
		}
	}
	if err := x.f.verify(); err != nil {
		t.Fatalf("verify of the untouched fixture: %v", err)
	}
	return x
}

// tamper changes the FSM's file behind its back, as a bug or a bad disk
// would.
func (x verifyFixture) tamper(t *testing.T, fn func(b buckets) error) {
	t.Helper()
	err := x.f.db.Update(func(tx *bolt.Tx) error {
		b, err := openBuckets(tx)
		if err != nil {
			return err
		}
		return fn(b)
	})
	if err != nil {
		t.Fatalf("tamper: %v", err)
	}
}

// editChunk rewrites one chunk record.
func editChunk(b buckets, c ChunkRef, edit func(*Chunk)) error {
	rec, _, err := b.getChunk(c.Hash)
	if err != nil {
		return err
	}
	edit(&rec)
	return b.putChunk(&rec)
}

// TestVerifyReportsTampering damages one record or index entry at a time;
// Verify must fail with ErrInconsistent and name the damage.
func TestVerifyReportsTampering(t *testing.T) {
	cases := []struct {
		name   string
		damage func(x verifyFixture) func(b buckets) error
		want   string
	}{
		{"file ref count", func(x verifyFixture) func(b buckets) error {
			return func(b buckets) error {
				f, _, _ := b.getFile(x.f1.Hash)
				f.RefCount = 5
				return b.putFile(&f)
			}
		}, "ref count 5, recount 1"},
		{"file size", func(x verifyFixture) func(b buckets) error {
			return func(b buckets) error {
				f, _, _ := b.getFile(x.f1.Hash)
				f.Size++
				return b.putFile(&f)
			}
		}, "manifest sums to 30, size 31"},
		{"file missing", func(x verifyFixture) func(b buckets) error {
			return func(b buckets) error { return b.files.Delete(x.f1.Hash[:]) }
		}, "referenced but missing"},
		{"chunk ref count", func(x verifyFixture) func(b buckets) error {
			return func(b buckets) error {
				return editChunk(b, x.a, func(c *Chunk) { c.RefCount = 3 })
			}
		}, "ref count 3, recount 1"},
		{"live chunk with zero time", func(x verifyFixture) func(b buckets) error {
			return func(b buckets) error {
				return editChunk(b, x.a, func(c *Chunk) { c.ZeroSince = t0 })
			}
		}, "with zero_since"},
		{"chunk at zero not indexed", func(x verifyFixture) func(b buckets) error {
			return func(b buckets) error { return b.zero.Delete(zeroKey(t0, x.c.Hash)) }
		}, "not indexed for collection"},
		{"chunk missing", func(x verifyFixture) func(b buckets) error {
			return func(b buckets) error { return b.chunks.Delete(x.b.Hash[:]) }
		}, "in a manifest but missing"},
		{"stray entity entry", func(verifyFixture) func(b buckets) error {
			return func(b buckets) error {
				return b.entity.Put(entityKey("ticket", "T-9", 99), []byte("r1"))
			}
		}, "entity index: 2 entries, 1 live references"},
		{"owner count", func(x verifyFixture) func(b buckets) error {
			return func(b buckets) error {
				return b.owner.Put(ownerKey("o", x.f1.Hash), u64(7))
			}
		}, "count 7, recount 1"},
		{"stray owner entry", func(x verifyFixture) func(b buckets) error {
			return func(b buckets) error {
				return b.owner.Put(ownerKey("mallory", x.f1.Hash), u64(1))
			}
		}, "owner index: 2 entries, recount 1"},
		{"zero key of bad length", func(verifyFixture) func(b buckets) error {
			return func(b buckets) error { return b.zero.Put([]byte("short"), nil) }
		}, "zero index: bad key"},
		{"live chunk indexed at zero", func(x verifyFixture) func(b buckets) error {
			return func(b buckets) error { return b.zero.Put(zeroKey(t0, x.a.Hash), nil) }
		}, "is not at zero since"},
		{"totals", func(verifyFixture) func(b buckets) error {
			return func(b buckets) error {
				_, tot, err := b.readState()
				tot.LiveRefs += 4
				if err == nil {
					err = b.state.Put(keyTotals, tot.encode())
				}
				return err
			}
		}, "totals: stored"},
		{"sequence behind", func(verifyFixture) func(b buckets) error {
			return func(b buckets) error {
				_, tot, err := b.readState()
				tot.Seq = 0
				if err == nil {
					err = b.state.Put(keyTotals, tot.encode())
				}
				return err
			}
		}, "sequence 0 behind reference sequence 2"},
	}
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			x := newVerifyFixture(t)
			x.tamper(t, tc.damage(x))
			err := x.f.verify()
			if !errors.Is(err, ErrInconsistent) {
				t.Fatalf("got %v, want ErrInconsistent", err)
			}
			if !strings.Contains(err.Error(), tc.want) {
				t.Fatalf("error does not say %q: %v", tc.want, err)
			}
		})
	}
}

// TestVerifyCapsListedMismatches: past maxListedMismatches, Verify
// counts the rest instead of listing them.
func TestVerifyCapsListedMismatches(t *testing.T) {
	f := newTestFSM(t)
	big := manyChunkFile("v", 30)
	if err := applyAt(t, f, 1, createCmd(testRef("r1", big, "T", "o"), big, t0)).err(); err != nil {
		t.Fatal(err)
	}
	x := verifyFixture{f: f}
	x.tamper(t, func(b buckets) error {
		for _, c := range big.Chunks {
			if err := editChunk(b, c, func(c *Chunk) { c.RefCount = 2 }); err != nil {
				return err
			}
		}
		return nil
	})
	err := f.verify()
	if !errors.Is(err, ErrInconsistent) {
		t.Fatalf("got %v, want ErrInconsistent", err)
	}
	msg := err.Error()
	if !strings.Contains(msg, "30 mismatches") || !strings.Contains(msg, "; and 10 more") ||
		strings.Count(msg, "recount 1") != maxListedMismatches {
		t.Fatalf("error should list %d of 30 mismatches and count the rest: %v",
			maxListedMismatches, err)
	}
}

// TestVerifyUnreadableRecord: a record that does not decode is a storage
// fault, not a count mismatch, and Verify says so.
func TestVerifyUnreadableRecord(t *testing.T) {
	cases := map[string]func(x verifyFixture) func(b buckets) error{
		"reference": func(verifyFixture) func(b buckets) error {
			return func(b buckets) error { return b.refs.Put([]byte("r1"), []byte("{broken")) }
		},
		"owner count": func(x verifyFixture) func(b buckets) error {
			return func(b buckets) error {
				return b.owner.Put(ownerKey("o", x.f1.Hash), []byte{1, 2, 3})
			}
		},
		"totals": func(verifyFixture) func(b buckets) error {
			return func(b buckets) error { return b.state.Put(keyTotals, []byte{9}) }
		},
	}
	for name, damage := range cases {
		t.Run(name, func(t *testing.T) {
			x := newVerifyFixture(t)
			x.tamper(t, damage(x))
			err := x.f.verify()
			if err == nil || errors.Is(err, ErrInconsistent) {
				t.Fatalf("got %v, want a read error", err)
			}
		})
	}
}

// TestCollectRefusesDamagedZeroIndex: CollectChunks trusts the zero
// index only as far as the chunk record agrees; an entry naming a live
// chunk stops the FSM with ErrStorage instead of deleting a chunk that a
// manifest still uses.
func TestCollectRefusesDamagedZeroIndex(t *testing.T) {
	x := newVerifyFixture(t)
	x.tamper(t, func(b buckets) error {
		return b.zero.Put(zeroKey(t0.Add(-time.Hour), x.a.Hash), nil)
	})
	res := applyAt(t, x.f, 4, collectCmd(t0.Add(time.Hour), 10))
	if !errors.Is(res.err(), ErrStorage) {
		t.Fatalf("collect over a damaged index: got %v, want ErrStorage", res.err())
	}
	if _, err := x.f.chunk(x.a.Hash); err != nil {
		t.Fatalf("live chunk lost to a damaged index: %v", err)
	}
}
