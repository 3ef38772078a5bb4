package chunk

import (
	"bytes"
	"crypto/sha256"
	"errors"
	"fmt"
	"io"
	"math/rand/v2"
	"strings"
	"testing"
	"time"
)

// smallParams keep tests fast while exercising every branch of the cutter.
var smallParams = Params{MinSize: 2 << 10, AvgSize: 8 << 10, MaxSize: 64 << 10}

// testSeed returns a fresh seed and logs it so a failing run can be replayed
// by pinning the value.
func testSeed(t testing.TB) uint64 {
	t.Helper()
	seed := uint64(time.Now().UnixNano())
	t.Logf("seed %d", seed)
	return seed
}

func randomBytes(seed uint64, n int) []byte {
	r := rand.New(rand.NewChaCha8(seedBytes(seed)))
	b := make([]byte, n)
	for i := 0; i+8 <= n; i += 8 {
		v := r.Uint64()
		for j := range 8 {
			b[i+j] = byte(v >> (8 * j))
		}
	}
	for i := n &^ 7; i < n; i++ {
		b[i] = byte(r.Uint32())
	}
	return b
}

func seedBytes(seed uint64) [32]byte {
	var s [32]byte
	for i := range 8 {
		s[i] = byte(seed >> (8 * i))
	}
	return s
}

// csvLike returns about n bytes of text shaped like a CSV export: lines of
// ids, names, amounts and dates, so the data has the low entropy and
// repeated structure of real attachments.
func csvLike(seed uint64, n int) []byte {
	r := rand.New(rand.NewPCG(seed, 1))
	names := []string{"alice", "bob", "carol", "dave", "erin", "frank", "grace"}
	var b bytes.Buffer
	b.WriteString("id,name,amount,currency,date,comment\n")
	for id := 0; b.Len() < n; id++ {
		fmt.Fprintf(&b, "%d,%s,%d.%02d,EUR,2024-%02d-%02d,%s\n", id,
			names[r.IntN(len(names))], r.IntN(100000), r.IntN(100),
			1+r.IntN(12), 1+r.IntN(28), strings.Repeat("x", r.IntN(20)))
	}
	return b.Bytes()[:n]
}

// jumpyReader returns short reads of random length, to exercise refills
// at every possible buffer position.
type jumpyReader struct {
	data []byte
	r    *rand.Rand
}

func (j *jumpyReader) Read(p []byte) (int, error) {
	if len(j.data) == 0 {
		return 0, io.EOF
	}
	n := min(len(p), len(j.data), 1+j.r.IntN(100<<10))
	copy(p, j.data[:n])
	j.data = j.data[n:]
	return n, nil
}

// chunkAll returns copies of every chunk of r.
func chunkAll(t testing.TB, r io.Reader, p Params) [][]byte {
	t.Helper()
	ck := NewChunker(r, p)
	var out [][]byte
	for {
		c, err := ck.Next()
		if errors.Is(err, io.EOF) {
			return out
		}
		if err != nil {
			t.Fatalf("next: %v", err)
		}
		out = append(out, bytes.Clone(c))
	}
}

func checkChunks(t testing.TB, input []byte, chunks [][]byte, p Params) {
	t.Helper()
	if got := bytes.Join(chunks, nil); !bytes.Equal(got, input) {
		t.Fatalf("chunks do not reassemble: got %d bytes, want %d", len(got), len(input))
	}
	for i, c := range chunks {
		last := i == len(chunks)-1
		if len(c) == 0 || len(c) > p.MaxSize || (!last && len(c) < p.MinSize) {
			t.Fatalf("chunk %d of %d has size %d, want within [%d, %d]",
				i, len(chunks), len(c), p.MinSize, p.MaxSize)
		}
	}
}

func TestChunkerReassembles(t *testing.T) {
	seed := testSeed(t)
	cases := []struct {
		name string
		size int
		p    Params
	}{
		{name: "empty", size: 0, p: smallParams},
		{name: "one byte", size: 1, p: smallParams},
		{name: "below min", size: smallParams.MinSize - 1, p: smallParams},
		{name: "exactly min", size: smallParams.MinSize, p: smallParams},
		{name: "exactly max", size: smallParams.MaxSize, p: smallParams},
		{name: "several max plus odd", size: 5*smallParams.MaxSize + 17, p: smallParams},
		{name: "default params 9MB", size: 9 << 20, p: DefaultParams},
		{name: "min equals avg", size: 1 << 20,
			p: Params{MinSize: 4096, AvgSize: 4096, MaxSize: 16384}},
		{name: "all equal", size: 100000,
			p: Params{MinSize: 1000, AvgSize: 1000, MaxSize: 1000}},
	}
	for i, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			input := randomBytes(seed+uint64(i), tc.size)
			r := &jumpyReader{data: input, r: rand.New(rand.NewPCG(seed, uint64(i)))}
			checkChunks(t, input, chunkAll(t, r, tc.p), tc.p)
		})
	}
}

func TestChunkerForcedCutsOnConstantInput(t *testing.T) {
	input := make([]byte, 10*smallParams.MaxSize)
	chunks := chunkAll(t, bytes.NewReader(input), smallParams)
	checkChunks(t, input, chunks, smallParams)
	for i, c := range chunks {
		if len(c) != smallParams.MaxSize {
			t.Fatalf("chunk %d: got size %d, want a forced cut at %d",
				i, len(c), smallParams.MaxSize)
		}
	}
}

func TestChunkerDeterministic(t *testing.T) {
	seed := testSeed(t)
	input := randomBytes(seed, 4<<20)
	whole := chunkAll(t, bytes.NewReader(input), smallParams)
	jumpy := chunkAll(t, &jumpyReader{data: input, r: rand.New(rand.NewPCG(seed, 7))},
		smallParams)
	if len(whole) != len(jumpy) {
		t.Fatalf("got %d chunks with short reads, want %d", len(jumpy), len(whole))
	}
	for i := range whole {
		if !bytes.Equal(whole[i], jumpy[i]) {
			t.Fatalf("chunk %d differs between read patterns", i)
		}
	}
}

// TestChunkerGearTableFixed guards the cut points of stored data: a changed
// table or cut rule would make new uploads share no chunks with old ones.
// gear[0] was computed apart from this code, by splitmix64 in Python; the
// sizes were recorded when the cut rule was written.
func TestChunkerGearTableFixed(t *testing.T) {
	if got, want := gear[0], uint64(0x1ac046dda8e86e2a); got != want {
		t.Errorf("gear[0]: got %#x, want %#x", got, want)
	}
	input := csvLike(42, 1<<20)
	var sizes []int
	for _, c := range chunkAll(t, bytes.NewReader(input), smallParams) {
		sizes = append(sizes, len(c))
	}
	got := fmt.Sprint(sizes[:8])
	if want := "[6190 9618 9204 10214 15214 13910 18046 12538]"; got != want {
		t.Errorf("first chunk sizes: got %s, want %s", got, want)
	}
}

func TestChunkerEditStability(t *testing.T) {
	seed := testSeed(t)
	r := rand.New(rand.NewPCG(seed, 2))
	orig := csvLike(seed, 10<<20)

	edits := []struct {
		name string
		edit func([]byte) []byte
	}{
		{name: "insert", edit: func(b []byte) []byte {
			at := len(b)/2 + r.IntN(1000)
			return append(append(bytes.Clone(b[:at]), "INSERTED,ROW\n"...), b[at:]...)
		}},
		{name: "delete", edit: func(b []byte) []byte {
			at := len(b)/2 + r.IntN(1000)
			return append(bytes.Clone(b[:at]), b[at+100:]...)
		}},
		{name: "overwrite", edit: func(b []byte) []byte {
			c := bytes.Clone(b)
			copy(c[len(c)/2+r.IntN(1000):], "CHANGED")
			return c
		}},
	}
	known := map[Hash]bool{}
	for _, c := range chunkAll(t, bytes.NewReader(orig), DefaultParams) {
		known[Sum(c)] = true
	}
	for _, tc := range edits {
		t.Run(tc.name, func(t *testing.T) {
			edited := tc.edit(orig)
			newBytes := 0
			for _, c := range chunkAll(t, bytes.NewReader(edited), DefaultParams) {
				if !known[Sum(c)] {
					newBytes += len(c)
				}
			}
			frac := float64(newBytes) / float64(len(edited))
			t.Logf("new bytes after %s: %d of %d (%.2f%%)", tc.name, newBytes,
				len(edited), 100*frac)
			if frac > 0.08 {
				t.Errorf("got %.2f%% new bytes, want under 8%%", 100*frac)
			}
		})
	}
}

func TestChunkerAverageSize(t *testing.T) {
	seed := testSeed(t)
	cases := []struct {
		name string
		p    Params
		size int
	}{
		{name: "small params random", p: smallParams, size: 8 << 20},
		{name: "default params random", p: DefaultParams, size: 48 << 20},
	}
	for i, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			input := randomBytes(seed+uint64(i), tc.size)
			chunks := chunkAll(t, bytes.NewReader(input), tc.p)
			mean := float64(tc.size) / float64(len(chunks))
			t.Logf("%d chunks, mean size %.0f, target %d", len(chunks), mean, tc.p.AvgSize)
			if lo, hi := 0.75*float64(tc.p.AvgSize), 1.4*float64(tc.p.AvgSize); mean < lo ||
				mean > hi {
				t.Errorf("mean chunk size %.0f outside [%.0f, %.0f]", mean, lo, hi)
			}
		})
	}
}

type failingReader struct {
	data []byte
	err  error
}

func (f *failingReader) Read(p []byte) (int, error) {
	if len(f.data) == 0 {
		return 0, f.err
	}
	n := copy(p, f.data)
	f.data = f.data[n:]
	return n, nil
}

func TestChunkerReadError(t *testing.T) {
	boom := errors.New("boom")
	ck := NewChunker(&failingReader{data: make([]byte, 100), err: boom}, smallParams)
	for range 2 {
		if _, err := ck.Next(); !errors.Is(err, boom) {
			t.Fatalf("next: got %v, want %v", err, boom)
		}
	}
}

func TestChunkerReset(t *testing.T) {
	seed := testSeed(t)
	a, b := randomBytes(seed, 300<<10), randomBytes(seed+1, 200<<10)
	ck := NewChunker(bytes.NewReader(a), smallParams)
	if _, err := ck.Next(); err != nil {
		t.Fatalf("next: %v", err)
	}
	ck.Reset(bytes.NewReader(b))
	var got [][]byte
	for {
		c, err := ck.Next()
		if errors.Is(err, io.EOF) {
			break
		}
		if err != nil {
			t.Fatalf("next: %v", err)
		}
		got = append(got, bytes.Clone(c))
	}
	checkChunks(t, b, got, smallParams)
}

func TestParamsValidate(t *testing.T) {
	cases := []struct {
		name string
		p    Params
		ok   bool
	}{
		{name: "default", p: DefaultParams, ok: true},
		{name: "small", p: smallParams, ok: true},
		{name: "zero", p: Params{}, ok: false},
		{name: "min above avg", p: Params{MinSize: 9000, AvgSize: 8192, MaxSize: 65536}},
		{name: "avg above max", p: Params{MinSize: 1, AvgSize: 8192, MaxSize: 4096}},
		{name: "avg too small", p: Params{MinSize: 1, AvgSize: 32, MaxSize: 4096}},
		{name: "max too large", p: Params{MinSize: 1, AvgSize: 64, MaxSize: MaxChunkSize + 1}},
		{name: "negative min", p: Params{MinSize: -1, AvgSize: 64, MaxSize: 128}},
	}
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			err := tc.p.Validate()
			if (err == nil) != tc.ok {
				t.Fatalf("validate %+v: got %v, want ok=%v", tc.p, err, tc.ok)
			}
			_, nextErr := NewChunker(bytes.NewReader([]byte("x")), tc.p).Next()
			if !tc.ok && (nextErr == nil || errors.Is(nextErr, io.EOF)) {
				t.Fatalf("next with invalid params: got %v, want the validation error", nextErr)
			}
		})
	}
}

func FuzzChunker(f *testing.F) {
	f.Add([]byte{}, uint16(16), uint16(64), uint16(256))
	f.Add(randomBytes(1, 5000), uint16(16), uint16(64), uint16(256))
	f.Add(make([]byte, 3000), uint16(1), uint16(64), uint16(64))
	f.Add(csvLike(3, 20000), uint16(100), uint16(500), uint16(2000))
	f.Fuzz(func(t *testing.T, data []byte, minSize, avgSize, maxSize uint16) {
		p := Params{MinSize: int(minSize), AvgSize: int(avgSize), MaxSize: int(maxSize)}
		if p.Validate() != nil {
			return
		}
		checkChunks(t, data, chunkAll(t, bytes.NewReader(data), p), p)
	})
}

func BenchmarkChunker(b *testing.B) {
	input := randomBytes(1, 64<<20)
	b.SetBytes(int64(len(input)))
	ck := NewChunker(nil, DefaultParams)
	for b.Loop() {
		ck.Reset(bytes.NewReader(input))
		for {
			if _, err := ck.Next(); err != nil {
				break
			}
		}
	}
}

func BenchmarkChunkAndHash(b *testing.B) {
	input := randomBytes(1, 64<<20)
	b.SetBytes(int64(len(input)))
	ck := NewChunker(nil, DefaultParams)
	for b.Loop() {
		ck.Reset(bytes.NewReader(input))
		for {
			c, err := ck.Next()
			if err != nil {
				break
			}
			sha256.Sum256(c)
		}
	}
}
