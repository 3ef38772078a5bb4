package chunk

import "math/bits"

// gearSeed fixes the gear table. Changing it moves every cut point, so
// files stored before and after would share no chunks: never change it.
const gearSeed = 0x6a09e667f3bcc908

// gearWindow is how many trailing bytes decide a cut: the gear hash shifts
// left one bit per byte, so after 64 bytes older input has left the word.
const gearWindow = 64

// gear maps each byte value to a pseudo-random 64-bit word. It is computed
// at start-up from gearSeed by splitmix64, so the table is reproducible
// and needs no literal.
var gear = newGearTable(gearSeed)

func newGearTable(seed uint64) [256]uint64 {
	var t [256]uint64
	state := seed
	for i := range t {
		state += 0x9e3779b97f4a7c15
		z := state
		z = (z ^ z>>30) * 0xbf58476d1ce4e5b9
		z = (z ^ z>>27) * 0x94d049bb133111eb
		t[i] = z ^ z>>31
	}
	return t
}

// cutter finds chunk boundaries with normalized chunking: between MinSize
// and AvgSize a cut needs more zero bits (maskS), past AvgSize fewer
// (maskL). That squeezes the size distribution towards AvgSize, so fewer
// chunks hit MaxSize (a forced cut that does not follow the content) and
// fewer are tiny.
type cutter struct {
	min, avg, max int
	maskS, maskL  uint64 // high bits that must be zero for a cut
}

// normalization is how many bits the two masks differ from log2(AvgSize).
const normalization = 2

func newCutter(p Params) cutter {
	b := bits.Len(uint(p.AvgSize)) - 1
	// Round log2 to the nearest integer so a non-power-of-two average
	// still lands near its target.
	if b < 62 && p.AvgSize-(1<<b) > (1<<(b+1))-p.AvgSize {
		b++
	}
	return cutter{
		min:   p.MinSize,
		avg:   p.AvgSize,
		max:   p.MaxSize,
		maskS: ^uint64(0) << (64 - (b + normalization)),
		maskL: ^uint64(0) << (64 - (b - normalization)),
	}
}

// cutState carries a search for the end of one chunk across calls to cut,
// so bytes already hashed are not hashed again when more data arrives.
type cutState struct {
	pos int    // bytes from the chunk start already rolled into h
	h   uint64 // gear hash after pos bytes; meaningful once pos >= min
}

// cut looks for the end of the chunk at the start of data, continuing the
// search recorded in st. It returns the chunk length and true, or false
// when data ends before a cut can be decided and final is false (more of
// the stream is to come); st then records the progress. With final set,
// data is the rest of the stream and cut always decides.
//
// The first MinSize bytes cannot end a chunk, so the hash only starts
// gearWindow bytes before MinSize: the hash at any tested position then
// depends on the last gearWindow bytes alone, not on where the chunk began,
// which lets cut points resynchronise soon after an edit.
func (c *cutter) cut(data []byte, final bool, st *cutState) (int, bool) {
	if len(data) <= c.min {
		return len(data), final
	}
	if st.pos < c.min {
		st.h = 0
		for _, b := range data[max(c.min-gearWindow, 0):c.min] {
			st.h = st.h<<1 + gear[b]
		}
		st.pos = c.min
	}

	limit := min(len(data), c.max)
	for _, phase := range [2]struct {
		end  int
		mask uint64
	}{{end: min(c.avg, limit), mask: c.maskS}, {end: limit, mask: c.maskL}} {
		if st.pos >= phase.end {
			continue
		}
		i, h := scanGear(data[st.pos:phase.end], st.h, phase.mask)
		if i >= 0 {
			return st.pos + i, true
		}
		st.pos, st.h = phase.end, h
	}
	if limit == c.max || final {
		return limit, true
	}
	return 0, false
}

// scanGear rolls the gear hash h over s and returns the length of the
// prefix of s ending at the first position where h&mask is zero, or -1
// and the final hash.
//
// It takes four bytes per step. Byte by byte, h = h<<1 + gear[b] is a
// shift and an add in sequence, and that chain bounds the speed. Here the
// weighted sums of the step's gear values are formed off the chain, each
// position's hash is h<<k plus one of them, and h itself advances once per
// step. The hash values are exactly those of the byte-by-byte loop.
//
// The loop indexes s with a bound the compiler can prove (i < len(s)-3),
// so it carries no bounds checks; reslicing s instead measured 30% slower.
func scanGear(s []byte, h, mask uint64) (int, uint64) {
	i := 0
	for ; i < len(s)-3; i += 4 {
		g0, g1, g2, g3 := gear[s[i]], gear[s[i+1]], gear[s[i+2]], gear[s[i+3]]
		t1 := g0<<1 + g1
		t2 := t1<<1 + g2
		t3 := t2<<1 + g3
		switch {
		case (h<<1+g0)&mask == 0:
			return i + 1, 0
		case (h<<2+t1)&mask == 0:
			return i + 2, 0
		case (h<<3+t2)&mask == 0:
			return i + 3, 0
		}
		h = h<<4 + t3
		if h&mask == 0 {
			return i + 4, 0
		}
	}
	for ; i < len(s); i++ {
		h = h<<1 + gear[s[i]]
		if h&mask == 0 {
			return i + 1, 0
		}
	}
	return -1, h
}
