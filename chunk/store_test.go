package chunk

import (
	"bytes"
	"context"
	"errors"
	"log/slog"
	"math/rand/v2"
	"os"
	"strings"
	"sync"
	"sync/atomic"
	"testing"
	"time"
)

// fakeClock is a clock that moves only when the test says so.
type fakeClock struct{ ns atomic.Int64 }

func newFakeClock() *fakeClock {
	c := &fakeClock{}
	c.ns.Store(time.Date(2025, 1, 1, 0, 0, 0, 0, time.UTC).UnixNano())
	return c
}

func (c *fakeClock) Now() time.Time          { return time.Unix(0, c.ns.Load()) }
func (c *fakeClock) Advance(d time.Duration) { c.ns.Add(int64(d)) }

// logBuffer collects log output for assertions; safe for concurrent use.
type logBuffer struct {
	mu  sync.Mutex
	buf bytes.Buffer
}

func (l *logBuffer) Write(p []byte) (int, error) {
	l.mu.Lock()
	defer l.mu.Unlock()
	return l.buf.Write(p)
}

func (l *logBuffer) String() string {
	l.mu.Lock()
	defer l.mu.Unlock()
	return l.buf.String()
}

func openStore(t testing.TB, dir string, opts StoreOptions) *Store {
	t.Helper()
	s, err := Open(dir, opts)
	if err != nil {
		t.Fatalf("open: %v", err)
	}
	t.Cleanup(func() { s.Close() })
	return s
}

func reopen(t testing.TB, s *Store, opts StoreOptions) *Store {
	t.Helper()
	if err := s.Close(); err != nil {
		t.Fatalf("close: %v", err)
	}
	return openStore(t, s.dir, opts)
}

// testChunk returns n random bytes and their hash.
func testChunk(r *rand.Rand, n int) ([]byte, Hash) {
	b := make([]byte, n)
	for i := range b {
		b[i] = byte(r.Uint32())
	}
	return b, Sum(b)
}

func mustPut(t testing.TB, s *Store, h Hash, data []byte) bool {
	t.Helper()
	written, err := s.Put(context.Background(), h, data)
	if err != nil {
		t.Fatalf("put %s: %v", h, err)
	}
	return written
}

func mustGet(t testing.TB, s *Store, h Hash, want []byte) {
	t.Helper()
	got, err := s.Get(context.Background(), h, nil)
	if err != nil {
		t.Fatalf("get %s: %v", h, err)
	}
	if !bytes.Equal(got, want) {
		t.Fatalf("get %s: got %d bytes that differ from the %d put", h, len(got), len(want))
	}
}

func TestStorePutGet(t *testing.T) {
	seed := testSeed(t)
	r := rand.New(rand.NewPCG(seed, 0))
	s := openStore(t, t.TempDir(), StoreOptions{})
	for _, n := range []int{0, 1, 4096, 256 << 10, 2 << 20} {
		data, h := testChunk(r, n)
		if !mustPut(t, s, h, data) {
			t.Fatalf("put %d bytes: got written=false for a new chunk", n)
		}
		mustGet(t, s, h, data)
		if size, ok := s.Size(h); !ok || size != n || !s.Has(h) {
			t.Fatalf("size: got %d, %v; want %d, true", size, ok, n)
		}
		if err := s.Verify(context.Background(), h); err != nil {
			t.Fatalf("verify: %v", err)
		}
	}

	_, absent := testChunk(r, 10)
	if _, err := s.Get(context.Background(), absent, nil); !errors.Is(err, ErrNotFound) {
		t.Fatalf("get absent: got %v, want ErrNotFound", err)
	}
	if s.Has(absent) || s.Touch(absent) {
		t.Fatal("absent chunk reported present")
	}
}

func TestStoreGetReusesBuffer(t *testing.T) {
	r := rand.New(rand.NewPCG(testSeed(t), 0))
	s := openStore(t, t.TempDir(), StoreOptions{})
	data, h := testChunk(r, 5000)
	mustPut(t, s, h, data)
	buf := make([]byte, 3, 8192)
	got, err := s.Get(context.Background(), h, buf)
	if err != nil {
		t.Fatalf("get: %v", err)
	}
	if &got[0] != &buf[:1][0] || !bytes.Equal(got, data) {
		t.Fatal("get did not read into the buffer it was given")
	}
}

func TestStorePutHashMismatch(t *testing.T) {
	s := openStore(t, t.TempDir(), StoreOptions{})
	_, err := s.Put(context.Background(), Sum([]byte("a")), []byte("b"))
	if !errors.Is(err, ErrHashMismatch) {
		t.Fatalf("got %v, want ErrHashMismatch", err)
	}
	if st := s.Stats(); st.DiskBytes != 0 || st.Chunks != 0 {
		t.Fatalf("stats after a rejected put: %+v, want nothing stored", st)
	}
}

func TestStorePutDedup(t *testing.T) {
	r := rand.New(rand.NewPCG(testSeed(t), 0))
	clock := newFakeClock()
	s := openStore(t, t.TempDir(), StoreOptions{Now: clock.Now})
	data, h := testChunk(r, 10000)
	mustPut(t, s, h, data)
	before := s.Stats()

	clock.Advance(time.Hour)
	if mustPut(t, s, h, data) {
		t.Fatal("second put: got written=true, want false")
	}
	if after := s.Stats(); after != before {
		t.Fatalf("stats after a duplicate put: got %+v, want %+v", after, before)
	}
	s.Walk(func(_ Hash, _ int, touched time.Time) bool {
		if !touched.Equal(clock.Now()) {
			t.Fatalf("touch time: got %v, want %v", touched, clock.Now())
		}
		return true
	})
}

func TestStoreReopen(t *testing.T) {
	r := rand.New(rand.NewPCG(testSeed(t), 0))
	opts := StoreOptions{PackSize: 64 << 10}
	s := openStore(t, t.TempDir(), opts)
	chunks := map[Hash][]byte{}
	for range 40 {
		data, h := testChunk(r, 1+r.IntN(20000))
		mustPut(t, s, h, data)
		chunks[h] = data
	}
	before := s.Stats()
	if before.Packs < 5 {
		t.Fatalf("got %d packs, want several with a 64 KiB pack size", before.Packs)
	}

	s = reopen(t, s, opts)
	if after := s.Stats(); after != before {
		t.Fatalf("stats after reopen: got %+v, want %+v", after, before)
	}
	for h, data := range chunks {
		mustGet(t, s, h, data)
	}
	data, h := testChunk(r, 100)
	mustPut(t, s, h, data)
	mustGet(t, s, h, data)
}

func TestStoreOverhead(t *testing.T) {
	r := rand.New(rand.NewPCG(testSeed(t), 0))
	s := openStore(t, t.TempDir(), StoreOptions{PackSize: 4 << 20})
	for range 200 {
		data, h := testChunk(r, 32<<10)
		mustPut(t, s, h, data)
	}
	st := s.Stats()
	over := float64(st.DiskBytes)/float64(st.StoredBytes) - 1
	t.Logf("disk %d bytes for %d stored: %.3f%% overhead", st.DiskBytes, st.StoredBytes, 100*over)
	if over > 0.01 {
		t.Errorf("overhead %.3f%%, want under 1%% for 32 KiB chunks", 100*over)
	}
}

// flipByte inverts one byte of a file.
func flipByte(t *testing.T, path string, off int64) {
	t.Helper()
	f, err := os.OpenFile(path, os.O_RDWR, 0)
	if err != nil {
		t.Fatal(err)
	}
	defer f.Close()
	b := make([]byte, 1)
	if _, err := f.ReadAt(b, off); err != nil {
		t.Fatal(err)
	}
	b[0] ^= 0xff
	if _, err := f.WriteAt(b, off); err != nil {
		t.Fatal(err)
	}
}

func TestStoreDetectsCorruption(t *testing.T) {
	r := rand.New(rand.NewPCG(testSeed(t), 0))
	cases := []struct {
		name      string
		at        func(dataOff int64, size int) int64
		getFails  bool // Get checks the data CRC only
		verifyErr bool
	}{
		{name: "first data byte", at: func(o int64, _ int) int64 { return o },
			getFails: true, verifyErr: true},
		{name: "last data byte", at: func(o int64, n int) int64 { return o + int64(n) - 1 },
			getFails: true, verifyErr: true},
		{name: "hash in header", at: func(o int64, _ int) int64 { return o - 30 },
			getFails: false, verifyErr: true},
	}
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			s := openStore(t, t.TempDir(), StoreOptions{})
			data, h := testChunk(r, 3000)
			other, oh := testChunk(r, 3000)
			mustPut(t, s, h, data)
			mustPut(t, s, oh, other)
			path, off, ok := s.Locate(h)
			if !ok {
				t.Fatal("locate: chunk not found")
			}
			flipByte(t, path, tc.at(off, len(data)))

			got, err := s.Get(context.Background(), h, nil)
			if tc.getFails && (!errors.Is(err, ErrCorrupt) || got != nil) {
				t.Fatalf("get: got %d bytes, %v; want no bytes and ErrCorrupt", len(got), err)
			}
			if !tc.getFails && (err != nil || !bytes.Equal(got, data)) {
				t.Fatalf("get: got %v; want the intact data", err)
			}
			if err := s.Verify(context.Background(), h); !errors.Is(err, ErrCorrupt) {
				t.Fatalf("verify: got %v, want ErrCorrupt", err)
			}
			mustGet(t, s, oh, other)
		})
	}
}

func TestStoreTruncatesTornTail(t *testing.T) {
	r := rand.New(rand.NewPCG(testSeed(t), 0))
	cases := []struct {
		name   string
		damage func(t *testing.T, path string, lastOff, size int64)
	}{
		{name: "cut in data", damage: func(t *testing.T, path string, lastOff, size int64) {
			truncate(t, path, size-100)
		}},
		{name: "cut in header", damage: func(t *testing.T, path string, lastOff, size int64) {
			truncate(t, path, lastOff+20)
		}},
		{name: "data never written", damage: func(t *testing.T, path string, lastOff, size int64) {
			writeAt(t, path, lastOff+RecordHeaderSize, make([]byte, size-lastOff-RecordHeaderSize))
		}},
		{name: "garbage after", damage: func(t *testing.T, path string, lastOff, size int64) {
			writeAt(t, path, size, []byte("this is not a record header, just noise......."))
		}},
	}
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			logs := &logBuffer{}
			opts := StoreOptions{Logger: slog.New(slog.NewTextHandler(logs, nil))}
			s := openStore(t, t.TempDir(), opts)
			keep, kh := testChunk(r, 5000)
			torn, th := testChunk(r, 5000)
			mustPut(t, s, kh, keep)
			mustPut(t, s, th, torn)
			path, off, _ := s.Locate(th)
			size := s.Stats().DiskBytes
			if err := s.Close(); err != nil {
				t.Fatal(err)
			}
			tc.damage(t, path, off-RecordHeaderSize, size)

			s = openStore(t, s.dir, opts)
			mustGet(t, s, kh, keep)
			if s.Has(th) && tc.name != "garbage after" {
				t.Fatal("torn chunk is still indexed")
			}
			if !strings.Contains(logs.String(), "level=WARN") {
				t.Fatalf("no warning logged; log:\n%s", logs)
			}
			fi, err := os.Stat(path)
			if err != nil || fi.Size() != s.Stats().DiskBytes {
				t.Fatalf("pack file size %d (%v), want it cut to %d", fi.Size(), err,
					s.Stats().DiskBytes)
			}

			// The pack accepts appends after the cut and reopens cleanly.
			mustPut(t, s, th, torn)
			s = reopen(t, s, opts)
			mustGet(t, s, kh, keep)
			mustGet(t, s, th, torn)
		})
	}
}

func truncate(t *testing.T, path string, size int64) {
	t.Helper()
	if err := os.Truncate(path, size); err != nil {
		t.Fatal(err)
	}
}

func writeAt(t *testing.T, path string, off int64, b []byte) {
	t.Helper()
	f, err := os.OpenFile(path, os.O_RDWR, 0)
	if err != nil {
		t.Fatal(err)
	}
	defer f.Close()
	if _, err := f.WriteAt(b, off); err != nil {
		t.Fatal(err)
	}
}

func TestStoreDelete(t *testing.T) {
	r := rand.New(rand.NewPCG(testSeed(t), 0))
	s := openStore(t, t.TempDir(), StoreOptions{})
	gone, gh := testChunk(r, 4000)
	kept, kh := testChunk(r, 4000)
	mustPut(t, s, gh, gone)
	mustPut(t, s, kh, kept)

	if err := s.Delete(gh); err != nil {
		t.Fatalf("delete: %v", err)
	}
	if err := s.Delete(gh); !errors.Is(err, ErrNotFound) {
		t.Fatalf("second delete: got %v, want ErrNotFound", err)
	}
	st := s.Stats()
	if want := recordLen(len(gone)) + RecordHeaderSize; st.DeadBytes != want || st.Chunks != 1 {
		t.Fatalf("stats after delete: %+v, want 1 chunk and %d dead bytes", st, want)
	}

	s = reopen(t, s, StoreOptions{})
	if s.Has(gh) {
		t.Fatal("deleted chunk is back after reopen")
	}
	if after := s.Stats(); after != st {
		t.Fatalf("stats after reopen: got %+v, want %+v", after, st)
	}
	mustGet(t, s, kh, kept)

	// A chunk put again after its delete survives a restart.
	if !mustPut(t, s, gh, gone) {
		t.Fatal("put after delete: got written=false")
	}
	s = reopen(t, s, StoreOptions{})
	mustGet(t, s, gh, gone)
}

func TestStoreDeleteIfIdle(t *testing.T) {
	r := rand.New(rand.NewPCG(testSeed(t), 0))
	clock := newFakeClock()
	s := openStore(t, t.TempDir(), StoreOptions{Now: clock.Now})
	idle, ih := testChunk(r, 100)
	busy, bh := testChunk(r, 100)
	mustPut(t, s, ih, idle)
	mustPut(t, s, bh, busy)
	clock.Advance(time.Hour)
	cutoff := clock.Now()
	if !s.Touch(bh) {
		t.Fatal("touch: chunk not found")
	}

	for _, tc := range []struct {
		h    Hash
		want bool
	}{{h: ih, want: true}, {h: bh, want: false}, {h: ih, want: false}} {
		got, err := s.DeleteIfIdle(tc.h, cutoff)
		if err != nil || got != tc.want {
			t.Fatalf("delete if idle %s: got %v, %v; want %v", tc.h, got, err, tc.want)
		}
	}
	if s.Has(ih) || !s.Has(bh) {
		t.Fatal("wrong chunk deleted")
	}
}

func TestStoreWalk(t *testing.T) {
	r := rand.New(rand.NewPCG(testSeed(t), 0))
	s := openStore(t, t.TempDir(), StoreOptions{})
	want := map[Hash]int{}
	for range 20 {
		data, h := testChunk(r, r.IntN(3000))
		mustPut(t, s, h, data)
		want[h] = len(data)
	}
	got := map[Hash]int{}
	s.Walk(func(h Hash, size int, _ time.Time) bool {
		got[h] = size
		s.Touch(h) // calling back into the store must not deadlock
		return true
	})
	if len(got) != len(want) {
		t.Fatalf("walk saw %d chunks, want %d", len(got), len(want))
	}
	for h, n := range want {
		if got[h] != n {
			t.Fatalf("walk: chunk %s size %d, want %d", h, got[h], n)
		}
	}
	calls := 0
	s.Walk(func(Hash, int, time.Time) bool { calls++; return calls < 3 })
	if calls != 3 {
		t.Fatalf("walk kept going after false: %d calls, want 3", calls)
	}
}

func TestStoreClosed(t *testing.T) {
	r := rand.New(rand.NewPCG(testSeed(t), 0))
	s := openStore(t, t.TempDir(), StoreOptions{})
	data, h := testChunk(r, 100)
	mustPut(t, s, h, data)
	if err := s.Close(); err != nil {
		t.Fatalf("close: %v", err)
	}
	if err := s.Close(); err != nil {
		t.Fatalf("second close: %v", err)
	}
	ctx := context.Background()
	if _, err := s.Put(ctx, Sum([]byte("x")), []byte("x")); !errors.Is(err, ErrClosed) {
		t.Fatalf("put: got %v, want ErrClosed", err)
	}
	if _, err := s.Get(ctx, h, nil); !errors.Is(err, ErrClosed) {
		t.Fatalf("get: got %v, want ErrClosed", err)
	}
	if err := s.Delete(h); !errors.Is(err, ErrClosed) {
		t.Fatalf("delete: got %v, want ErrClosed", err)
	}
	if err := s.Compact(ctx); !errors.Is(err, ErrClosed) {
		t.Fatalf("compact: got %v, want ErrClosed", err)
	}
}

func TestStoreLocksDir(t *testing.T) {
	dir := t.TempDir()
	openStore(t, dir, StoreOptions{})
	if s, err := Open(dir, StoreOptions{}); err == nil {
		s.Close()
		t.Fatal("second open of the same dir succeeded")
	}
}

// TestStoreWriteFailure makes the pack file unwritable under the store and
// checks that the failed Put stores nothing and the next goes to a new pack.
func TestStoreWriteFailure(t *testing.T) {
	r := rand.New(rand.NewPCG(testSeed(t), 0))
	s := openStore(t, t.TempDir(), StoreOptions{})
	first, fh := testChunk(r, 100)
	mustPut(t, s, fh, first)

	s.mu.Lock()
	broken := s.cur
	s.mu.Unlock()
	ro, err := os.Open(broken.path)
	if err != nil {
		t.Fatal(err)
	}
	broken.f.Close()
	broken.f = ro // reads still work, writes fail

	lost, lh := testChunk(r, 100)
	if _, err := s.Put(context.Background(), lh, lost); err == nil {
		t.Fatal("put into a read-only pack succeeded")
	}
	if s.Has(lh) {
		t.Fatal("failed put left the chunk indexed")
	}
	mustGet(t, s, fh, first)
	mustPut(t, s, lh, lost)
	if st := s.Stats(); st.Packs != 2 {
		t.Fatalf("got %d packs, want a second after the failure", st.Packs)
	}
	s = reopen(t, s, StoreOptions{})
	mustGet(t, s, fh, first)
	mustGet(t, s, lh, lost)
}

func TestStoreConcurrentPuts(t *testing.T) {
	seed := testSeed(t)
	s := openStore(t, t.TempDir(), StoreOptions{PackSize: 256 << 10})
	const workers, perWorker, distinct = 32, 40, 200
	chunks := make([][]byte, distinct)
	r := rand.New(rand.NewPCG(seed, 0))
	for i := range chunks {
		chunks[i], _ = testChunk(r, 1+r.IntN(8000))
	}

	var writes [distinct]atomic.Int32
	var wg sync.WaitGroup
	for w := range workers {
		wg.Go(func() {
			r := rand.New(rand.NewPCG(seed, uint64(w+1)))
			for range perWorker {
				i := r.IntN(distinct)
				written, err := s.Put(context.Background(), Sum(chunks[i]), chunks[i])
				if err != nil {
					t.Errorf("put: %v", err)
					return
				}
				if written {
					writes[i].Add(1)
				}
				if _, err := s.Get(context.Background(), Sum(chunks[i]), nil); err != nil {
					t.Errorf("get after put: %v", err)
					return
				}
			}
		})
	}
	wg.Wait()

	var stored, disk int64
	for i := range chunks {
		switch n := writes[i].Load(); {
		case n > 1:
			t.Fatalf("chunk %d written %d times", i, n)
		case n == 1:
			stored += int64(len(chunks[i]))
			disk += recordLen(len(chunks[i]))
			mustGet(t, s, Sum(chunks[i]), chunks[i])
		}
	}
	st := s.Stats()
	if st.StoredBytes != stored || st.DiskBytes != disk || st.DeadBytes != 0 {
		t.Fatalf("stats %+v, want stored %d, disk %d, no dead bytes", st, stored, disk)
	}
}

// TestStoreCloseDuringWrites closes the store under concurrent Puts: each
// Put either succeeds, and its chunk survives the reopen, or fails with
// ErrClosed.
func TestStoreCloseDuringWrites(t *testing.T) {
	seed := testSeed(t)
	s := openStore(t, t.TempDir(), StoreOptions{PackSize: 64 << 10})
	var mu sync.Mutex
	stored := map[Hash][]byte{}
	var wg sync.WaitGroup
	for w := range 8 {
		wg.Go(func() {
			r := rand.New(rand.NewPCG(seed, uint64(w)))
			for {
				data, h := testChunk(r, 1+r.IntN(3000))
				_, err := s.Put(context.Background(), h, data)
				if errors.Is(err, ErrClosed) {
					return
				}
				if err != nil {
					t.Errorf("put: %v", err)
					return
				}
				mu.Lock()
				stored[h] = data
				mu.Unlock()
			}
		})
	}
	waitFor(t, "some puts", func() bool { return s.Stats().Chunks >= 50 })
	if err := s.Close(); err != nil {
		t.Fatalf("close: %v", err)
	}
	wg.Wait()

	s = openStore(t, s.dir, StoreOptions{})
	for h, data := range stored {
		mustGet(t, s, h, data)
	}
}
