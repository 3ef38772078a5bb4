package chunk

import (
	"fmt"
	"math/rand/v2"
	"testing"
)

// refScan is the cut rule at its plainest: roll one byte, test the mask.
// The fast scanners must return exactly what it returns.
func refScan(s []byte, h, mask uint64) (int, uint64) {
	for i, b := range s {
		h = h<<1 + gear[b]
		if h&mask == 0 {
			return i + 1, 0
		}
	}
	return -1, h
}

// refCuts returns the chunk lengths of data under p, computed byte by byte
// from the rule stated in cutter and cut, with no state carried between
// reads and no unrolling.
func refCuts(data []byte, p Params) []int {
	c := newCutter(p)
	var sizes []int
	for start := 0; start < len(data); {
		rest := data[start:]
		n := min(len(rest), p.MaxSize)
		if len(rest) > p.MinSize {
			var h uint64
			for _, b := range rest[max(p.MinSize-gearWindow, 0):p.MinSize] {
				h = h<<1 + gear[b]
			}
			for i := p.MinSize; i < n; i++ {
				h = h<<1 + gear[rest[i]]
				mask := c.maskL
				if i < p.AvgSize {
					mask = c.maskS
				}
				if h&mask == 0 {
					n = i + 1
					break
				}
			}
		}
		sizes = append(sizes, n)
		start += n
	}
	return sizes
}

// TestScanMatchesReference runs scanLanes and scanGear against refScan on
// random spans of random and text input, with masks from 2 to 20 bits: the
// narrow masks cut within a lane or two, so every lane and both exits of
// rollLanes are taken many times.
func TestScanMatchesReference(t *testing.T) {
	seed := testSeed(t)
	r := rand.New(rand.NewPCG(seed, 3))
	inputs := map[string][]byte{
		"random": randomBytes(seed, 4<<20),
		"text":   csvLike(seed, 4<<20),
	}
	for name, data := range inputs {
		for trial := range 400 {
			bits := 2 + r.IntN(19)
			mask := ^uint64(0) << (64 - bits)
			off := r.IntN(len(data))
			end := off + min(len(data)-off, r.IntN(8*(4*laneLen+gearWindow)))
			h := r.Uint64()
			wantN, wantH := refScan(data[off:end], h, mask)
			for fname, scan := range map[string]func([]byte, uint64, uint64) (int, uint64){
				"scanLanes": scanLanes, "scanGear": scanGear,
			} {
				if n, gotH := scan(data[off:end], h, mask); n != wantN || gotH != wantH {
					t.Fatalf("%s %s trial %d (bits %d, span [%d,%d), h %#x): got %d, %#x;"+
						" want %d, %#x", fname, name, trial, bits, off, end, h, n, gotH,
						wantN, wantH)
				}
			}
		}
	}
}

// TestChunkerMatchesReference compares whole chunkings, read in short
// pieces, with refCuts, for parameters that send the scan through lanes
// (regions longer than four lanes) and through the tails.
func TestChunkerMatchesReference(t *testing.T) {
	seed := testSeed(t)
	cases := []struct {
		name string
		p    Params
	}{
		{name: "default", p: DefaultParams},
		{name: "small", p: smallParams},
		{name: "wide", p: Params{MinSize: 100, AvgSize: 32 << 10, MaxSize: 1 << 20}},
		{name: "odd", p: Params{MinSize: 50000, AvgSize: 100000, MaxSize: 300007}},
	}
	inputs := []struct {
		name string
		data []byte
	}{
		{name: "random", data: randomBytes(seed, 6<<20)},
		{name: "text", data: csvLike(seed, 6<<20)},
	}
	for i, tc := range cases {
		for _, in := range inputs {
			t.Run(tc.name+"/"+in.name, func(t *testing.T) {
				r := &jumpyReader{data: in.data, r: rand.New(rand.NewPCG(seed, uint64(i)))}
				var got []int
				for _, c := range chunkAll(t, r, tc.p) {
					got = append(got, len(c))
				}
				want := refCuts(in.data, tc.p)
				if fmt.Sprint(got) != fmt.Sprint(want) {
					t.Fatalf("got %d chunks, want %d; first difference at chunk %d",
						len(got), len(want), firstDiff(got, want))
				}
			})
		}
	}
}

func firstDiff(a, b []int) int {
	for i := range min(len(a), len(b)) {
		if a[i] != b[i] {
			return i
		}
	}
	return min(len(a), len(b))
}

// TestRefCutsPinned ties the reference to the sizes pinned in
// TestChunkerGearTableFixed, so the reference cannot drift along with the
// code it checks.
func TestRefCutsPinned(t *testing.T) {
	got := fmt.Sprint(refCuts(csvLike(42, 1<<20), smallParams)[:8])
	if want := "[6190 9618 9204 10214 15214 13910 18046 12538]"; got != want {
		t.Errorf("reference chunk sizes: got %s, want %s", got, want)
	}
}
