package chunk

import (
	"context"
	"errors"
	"math/rand/v2"
	"os"
	"path/filepath"
	"sync"
	"testing"
)

func packFiles(t *testing.T, s *Store) int {
	t.Helper()
	ids, err := listPacks(filepath.Join(s.dir, packDirName))
	if err != nil {
		t.Fatal(err)
	}
	return len(ids)
}

// fillStore puts n chunks of random sizes up to maxSize and returns them.
func fillStore(t *testing.T, s *Store, r *rand.Rand, n, maxSize int) map[Hash][]byte {
	t.Helper()
	chunks := map[Hash][]byte{}
	for range n {
		data, h := testChunk(r, 1+r.IntN(maxSize))
		mustPut(t, s, h, data)
		chunks[h] = data
	}
	return chunks
}

func TestStoreCompactReclaimsSpace(t *testing.T) {
	r := rand.New(rand.NewPCG(testSeed(t), 0))
	opts := StoreOptions{PackSize: 64 << 10}
	s := openStore(t, t.TempDir(), opts)
	live := fillStore(t, s, r, 120, 8000)

	deleted := map[Hash]bool{}
	for h := range live {
		if len(deleted) < 90 {
			if err := s.Delete(h); err != nil {
				t.Fatalf("delete: %v", err)
			}
			deleted[h] = true
			delete(live, h)
		}
	}
	before := s.Stats()
	if err := s.Compact(context.Background()); err != nil {
		t.Fatalf("compact: %v", err)
	}
	after := s.Stats()
	t.Logf("before %+v", before)
	t.Logf("after  %+v", after)

	if after.DiskBytes >= before.DiskBytes/2 || after.Packs >= before.Packs {
		t.Fatalf("compaction reclaimed too little: %+v -> %+v", before, after)
	}
	if after.Chunks != before.Chunks || after.StoredBytes != before.StoredBytes {
		t.Fatalf("compaction changed the live set: %+v -> %+v", before, after)
	}
	if got := packFiles(t, s); got != after.Packs {
		t.Fatalf("%d pack files on disk, stats say %d", got, after.Packs)
	}
	for h, data := range live {
		mustGet(t, s, h, data)
	}

	s = reopen(t, s, opts)
	if st := s.Stats(); st.Chunks != after.Chunks || st.StoredBytes != after.StoredBytes {
		t.Fatalf("stats after reopen: %+v, want %+v", st, after)
	}
	for h, data := range live {
		mustGet(t, s, h, data)
	}
	for h := range deleted {
		if s.Has(h) {
			t.Fatalf("deleted chunk %s back after compaction and reopen", h)
		}
	}
}

func TestStoreCompactLeavesLivePacks(t *testing.T) {
	r := rand.New(rand.NewPCG(testSeed(t), 0))
	s := openStore(t, t.TempDir(), StoreOptions{PackSize: 64 << 10})
	fillStore(t, s, r, 60, 8000)
	before := s.Stats()
	if err := s.Compact(context.Background()); err != nil {
		t.Fatalf("compact: %v", err)
	}
	if after := s.Stats(); after != before {
		t.Fatalf("compaction of packs without dead bytes changed %+v to %+v", before, after)
	}
}

// TestStoreCompactConcurrent runs readers, writers and deleters against a
// store while it compacts; every read of a chunk that was never deleted
// must succeed with the right bytes.
func TestStoreCompactConcurrent(t *testing.T) {
	seed := testSeed(t)
	r := rand.New(rand.NewPCG(seed, 0))
	s := openStore(t, t.TempDir(), StoreOptions{PackSize: 32 << 10})
	stable := fillStore(t, s, r, 80, 4000)
	doomed := fillStore(t, s, r, 160, 4000)

	stop := make(chan struct{})
	var wg sync.WaitGroup
	for w := range 4 {
		wg.Go(func() { readLoop(t, s, stable, stop) })
		wg.Go(func() { churn(t, s, rand.New(rand.NewPCG(seed, uint64(w+1))), stop) })
	}
	for h := range doomed {
		if err := s.Delete(h); err != nil {
			t.Errorf("delete: %v", err)
		}
	}
	for range 3 {
		if err := s.Compact(context.Background()); err != nil {
			t.Errorf("compact: %v", err)
		}
	}
	close(stop)
	wg.Wait()

	for h, data := range stable {
		mustGet(t, s, h, data)
	}
	if st := s.Stats(); st.DiskBytes > 2*st.StoredBytes+64<<10 {
		t.Errorf("little space reclaimed: %+v", st)
	}
}

func readLoop(t *testing.T, s *Store, chunks map[Hash][]byte, stop <-chan struct{}) {
	buf := make([]byte, 0, 4096)
	for {
		for h, data := range chunks {
			select {
			case <-stop:
				return
			default:
			}
			got, err := s.Get(context.Background(), h, buf)
			if err != nil || string(got) != string(data) {
				t.Errorf("get %s during compaction: %v", h, err)
				return
			}
		}
	}
}

// churn puts chunks and deletes them again until stop closes.
func churn(t *testing.T, s *Store, r *rand.Rand, stop <-chan struct{}) {
	for {
		select {
		case <-stop:
			return
		default:
		}
		data, h := testChunk(r, 1+r.IntN(4000))
		if _, err := s.Put(context.Background(), h, data); err != nil {
			t.Errorf("put during compaction: %v", err)
			return
		}
		if err := s.Delete(h); err != nil {
			t.Errorf("delete during compaction: %v", err)
			return
		}
	}
}

func TestStoreCompactDropsCorruptChunk(t *testing.T) {
	r := rand.New(rand.NewPCG(testSeed(t), 0))
	s := openStore(t, t.TempDir(), StoreOptions{PackSize: 64 << 10})
	chunks := fillStore(t, s, r, 30, 8000)
	var bad Hash
	var victims []Hash
	for h := range chunks {
		if path, _, _ := s.Locate(h); filepath.Base(path) == packName(1) {
			victims = append(victims, h)
		}
	}
	bad, victims = victims[0], victims[1:]
	for _, h := range victims[:len(victims)*3/4] {
		if err := s.Delete(h); err != nil {
			t.Fatal(err)
		}
		delete(chunks, h)
	}
	path, off, _ := s.Locate(bad)
	flipByte(t, path, off)

	if err := s.Compact(context.Background()); err != nil {
		t.Fatalf("compact: %v", err)
	}
	if s.Has(bad) {
		t.Fatal("corrupt chunk survived compaction")
	}
	if _, err := os.Stat(path); !errors.Is(err, os.ErrNotExist) {
		t.Fatalf("compacted pack still on disk: %v", err)
	}
	delete(chunks, bad)
	for h, data := range chunks {
		mustGet(t, s, h, data)
	}
}
