package chunk

import (
	"bytes"
	"context"
	"errors"
	"math/rand/v2"
	"os"
	"slices"
	"strconv"
	"testing"
	"time"
)

// simSeed returns the seed for TestStoreRandomOps: CHUNK_SIM_SEED replays
// a logged run, otherwise the seed is fresh.
func simSeed(t *testing.T) uint64 {
	if v := os.Getenv("CHUNK_SIM_SEED"); v != "" {
		seed, err := strconv.ParseUint(v, 10, 64)
		if err != nil {
			t.Fatalf("CHUNK_SIM_SEED: %v", err)
		}
		t.Logf("seed %d (from CHUNK_SIM_SEED)", seed)
		return seed
	}
	return testSeed(t)
}

// simModel is what the store should hold: the live chunks, plus for each
// deleted chunk the step of its deletion, so a chunk coming back after a
// restart can be told apart from a bug (see Compact on tombstones).
type simModel struct {
	live        map[Hash][]byte
	deleted     map[Hash]int
	data        map[Hash][]byte // every chunk ever put
	lastCompact int             // step of the last compaction, -1 before any
}

// TestStoreRandomOps applies a seeded random sequence of puts, deletes,
// gets, compactions and restarts to a store and checks it against a map
// after every step. Replay a failure with CHUNK_SIM_SEED=<seed>.
func TestStoreRandomOps(t *testing.T) {
	seed := simSeed(t)
	r := rand.New(rand.NewPCG(seed, 0))
	opts := StoreOptions{PackSize: 16 << 10, CompactThreshold: 0.3}
	s := openStore(t, t.TempDir(), opts)
	m := &simModel{live: map[Hash][]byte{}, deleted: map[Hash]int{}, data: map[Hash][]byte{},
		lastCompact: -1}
	ctx := context.Background()

	for step := range 300 {
		switch op := r.IntN(100); {
		case op < 40:
			simPut(t, s, m, r, step)
		case op < 65:
			simDelete(t, s, m, r, step)
		case op < 85:
			if h, ok := pick(r, m.live); ok {
				mustGet(t, s, h, m.live[h])
			}
		case op < 93:
			if err := s.Compact(ctx); err != nil {
				t.Fatalf("step %d: compact: %v", step, err)
			}
			m.lastCompact = step
		default:
			s = reopen(t, s, opts)
			simAdoptResurrected(t, s, m, step)
		}
		simCheck(t, s, m, step)
	}
}

func simPut(t *testing.T, s *Store, m *simModel, r *rand.Rand, step int) {
	var data []byte
	var h Hash
	if old, ok := pick(r, m.data); ok && r.IntN(3) == 0 {
		h, data = old, m.data[old]
	} else {
		data, h = testChunk(r, r.IntN(3000))
	}
	written := mustPut(t, s, h, data)
	_, was := m.live[h]
	if written == was {
		t.Fatalf("step %d: put %s: written=%v, chunk was live=%v", step, h, written, was)
	}
	m.live[h], m.data[h] = data, data
	delete(m.deleted, h)
}

func simDelete(t *testing.T, s *Store, m *simModel, r *rand.Rand, step int) {
	h, ok := pick(r, m.data)
	if !ok {
		return
	}
	err := s.Delete(h)
	if _, live := m.live[h]; !live {
		if !errors.Is(err, ErrNotFound) {
			t.Fatalf("step %d: delete absent %s: got %v, want ErrNotFound", step, h, err)
		}
		return
	}
	if err != nil {
		t.Fatalf("step %d: delete: %v", step, err)
	}
	delete(m.live, h)
	m.deleted[h] = step
}

// simAdoptResurrected accepts deleted chunks that a restart brought back,
// but only those whose tombstone a compaction may have dropped.
func simAdoptResurrected(t *testing.T, s *Store, m *simModel, step int) {
	s.Walk(func(h Hash, _ int, _ time.Time) bool {
		if _, ok := m.live[h]; ok {
			return true
		}
		at, ok := m.deleted[h]
		if !ok || at > m.lastCompact {
			t.Fatalf("step %d: chunk %s appeared after restart (deleted at %d, ok=%v)",
				step, h, at, ok)
		}
		t.Logf("step %d: chunk deleted at step %d came back after compaction", step, at)
		m.live[h] = m.data[h]
		delete(m.deleted, h)
		return true
	})
}

func simCheck(t *testing.T, s *Store, m *simModel, step int) {
	t.Helper()
	var stored int64
	for h, data := range m.live {
		if size, ok := s.Size(h); !ok || size != len(data) {
			t.Fatalf("step %d: chunk %s: size %d, present %v; want %d", step, h, size, ok,
				len(data))
		}
		stored += int64(len(data))
	}
	for h := range m.deleted {
		if s.Has(h) {
			t.Fatalf("step %d: deleted chunk %s present", step, h)
		}
	}
	st := s.Stats()
	if st.Chunks != int64(len(m.live)) || st.StoredBytes != stored {
		t.Fatalf("step %d: stats %+v, want %d chunks of %d bytes", step, st, len(m.live), stored)
	}
	if st.DeadBytes < 0 || st.DeadBytes > st.DiskBytes-stored {
		t.Fatalf("step %d: dead bytes %d outside [0, %d]", step, st.DeadBytes,
			st.DiskBytes-stored)
	}
}

// pick returns a random key of m in a way that depends only on r and the
// keys, not on map iteration order, so runs replay from their seed.
func pick[V any](r *rand.Rand, m map[Hash]V) (Hash, bool) {
	if len(m) == 0 {
		return Hash{}, false
	}
	keys := make([]Hash, 0, len(m))
	for h := range m {
		keys = append(keys, h)
	}
	slices.SortFunc(keys, func(a, b Hash) int { return bytes.Compare(a[:], b[:]) })
	return keys[r.IntN(len(keys))], true
}
