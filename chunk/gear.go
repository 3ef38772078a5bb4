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
		i, h := scanLanes(data[st.pos:phase.end], st.h, phase.mask)
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

// laneLen is how many bytes each of the four lanes of scanLanes rolls per
// block. Longer lanes spread the gearWindow bytes each lane re-reads to
// start its hash over more input; shorter ones waste less work on the
// block holding a cut. At 4 KiB the first costs 1.2% and the second a few
// KiB per chunk.
const laneLen = 4 << 10

// scanLanes returns what scanGear returns, faster on inputs of more than
// 4*laneLen bytes: it rolls about 1.25 times as many bytes per second.
//
// A gear hash depends only on the last gearWindow bytes, so the hash at any
// position can be started afresh gearWindow bytes before it. scanLanes
// cuts s into blocks of four lanes; the first lane continues h, the others
// start from the gearWindow bytes before them, and rollLanes rolls all four
// in step. Each lane's chain of shifts and adds then hides the latency of
// the others, where scanGear has to spend extra instructions to break its
// one chain. When some lane meets the mask, any earlier cut lies between
// the first lane's position and that lane's, so scanGear finds the first
// cut from there; the cut points are exactly those of the byte-by-byte
// rule.
func scanLanes(s []byte, h, mask uint64) (int, uint64) {
	i := 0
	for ; len(s)-i >= 4*laneLen; i += 4 * laneLen {
		p := (*[4 * laneLen]byte)(s[i:])
		hs := [4]uint64{h}
		for k := laneLen - gearWindow; k < laneLen; k++ {
			hs[1] = hs[1]<<1 + gear[p[k]]
			hs[2] = hs[2]<<1 + gear[p[k+laneLen]]
			hs[3] = hs[3]<<1 + gear[p[k+2*laneLen]]
		}
		k := rollLanes(p, &hs, mask)
		if k == laneLen {
			h = hs[3]
			continue
		}
		// Each lane rolled k+1 bytes; none met the mask before the last.
		if hs[0]&mask == 0 {
			return i + k + 1, 0
		}
		// A later lane met it at p[j*laneLen+k], so the scan of the rest
		// of the block from lane 0's position finds a cut by there.
		n, _ := scanGear(p[k+1:], hs[0], mask)
		return i + k + 1 + n, 0
	}
	n, h := scanGear(s[i:], h, mask)
	if n < 0 {
		return -1, h
	}
	return i + n, 0
}

// rollLanes rolls hs[j] over p[j*laneLen:(j+1)*laneLen] for each of the
// four lanes j, one byte of each per step, four steps per iteration. It
// returns laneLen, or the first step after which some hash met mask; hs
// then holds the hashes after that step.
//
// p is an array pointer and k steps by a constant, so the compiler proves
// every index in bounds and the loop carries no checks.
func rollLanes(p *[4 * laneLen]byte, hs *[4]uint64, mask uint64) int {
	h0, h1, h2, h3 := hs[0], hs[1], hs[2], hs[3]
	k := 0
	for ; k < laneLen; k += 4 {
		h0 = h0<<1 + gear[p[k]]
		h1 = h1<<1 + gear[p[k+laneLen]]
		h2 = h2<<1 + gear[p[k+2*laneLen]]
		h3 = h3<<1 + gear[p[k+3*laneLen]]
		if h0&mask == 0 || h1&mask == 0 || h2&mask == 0 || h3&mask == 0 {
			break
		}
		h0 = h0<<1 + gear[p[k+1]]
		h1 = h1<<1 + gear[p[k+1+laneLen]]
		h2 = h2<<1 + gear[p[k+1+2*laneLen]]
		h3 = h3<<1 + gear[p[k+1+3*laneLen]]
		if h0&mask == 0 || h1&mask == 0 || h2&mask == 0 || h3&mask == 0 {
			k += 1
			break
		}
		h0 = h0<<1 + gear[p[k+2]]
		h1 = h1<<1 + gear[p[k+2+laneLen]]
		h2 = h2<<1 + gear[p[k+2+2*laneLen]]
		h3 = h3<<1 + gear[p[k+2+3*laneLen]]
		if h0&mask == 0 || h1&mask == 0 || h2&mask == 0 || h3&mask == 0 {
			k += 2
			break
		}
		h0 = h0<<1 + gear[p[k+3]]
		h1 = h1<<1 + gear[p[k+3+laneLen]]
		h2 = h2<<1 + gear[p[k+3+2*laneLen]]
		h3 = h3<<1 + gear[p[k+3+3*laneLen]]
		if h0&mask == 0 || h1&mask == 0 || h2&mask == 0 || h3&mask == 0 {
			k += 3
			break
		}
	}
	hs[0], hs[1], hs[2], hs[3] = h0, h1, h2, h3
	return k
}
