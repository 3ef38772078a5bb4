package placement

import (
	"fmt"
	"math"
	"slices"
	"testing"
)

// spread returns the largest relative distance of any node's share from
// ideal, and that node. A node missing from shares has share 0.
func spread(l Layout, shares map[NodeID]float64, ideal func(Node) float64) (float64, NodeID) {
	worst, who := 0.0, NodeID("")
	for _, nd := range l.Active() {
		if d := math.Abs(shares[nd.ID]/ideal(nd) - 1); d >= worst {
			worst, who = d, nd.ID
		}
	}
	return worst, who
}

// TestRingBalance checks that equal-weight nodes get equal shares. The
// ring for a given set of ids is fixed, so its balance is checked exactly
// (arc lengths); 10k seeded random hashes then check that lookups realise
// those shares, within five standard errors of sampling.
func TestRingBalance(t *testing.T) {
	rng := testRand(t)
	hs := randomHashes(rng, 10_000)

	for _, nodes := range []int{4, 10} {
		for _, n := range []int{1, 3} {
			t.Run(fmt.Sprintf("nodes=%d n=%d", nodes, n), func(t *testing.T) {
				l := equalNodes(nodes)
				r := NewRing(l)
				ideal := func(Node) float64 { return float64(n) / float64(nodes) }

				exact := exactShares(r, n)
				worst, who := spread(l, exact, ideal)
				t.Logf("exact spread %.1f%% (node %s)", 100*worst, who)
				if worst > 0.25 {
					t.Errorf("node %s share %.4f is %.1f%% from ideal %.4f, want within 25%%",
						who, exact[who], 100*worst, ideal(Node{}))
				}

				sampled := sampledShares(r, hs, n)
				sworst, swho := spread(l, sampled, ideal)
				t.Logf("sampled spread %.1f%% (node %s) over %d hashes", 100*sworst, swho, len(hs))
				checkSampled(t, exact, sampled, len(hs))
			})
		}
	}
}

// checkSampled fails t if any sampled share is more than five standard
// errors from its exact value: a sign that Owners does not place chunks
// where the ring says.
func checkSampled(t *testing.T, exact, sampled map[NodeID]float64, k int) {
	t.Helper()
	for id, p := range exact {
		se := math.Sqrt(p * (1 - p) / float64(k))
		if d := math.Abs(sampled[id] - p); d > 5*se+1e-9 {
			t.Errorf("node %s sampled share %.4f, exact %.4f: off by %.1f standard errors",
				id, sampled[id], p, d/se)
		}
	}
	for id := range sampled {
		if _, ok := exact[id]; !ok {
			t.Errorf("node %s owns sampled chunks but no part of the ring", id)
		}
	}
}

// TestRingBalanceRandomIDs checks balance for node ids drawn from the
// seed. Each share is a sum of 128 arcs, with a relative spread of about
// 1/sqrt(128) = 9%, so any one id set may pass 25%; the bound here is 45%,
// five of those spreads, which a correct ring essentially never exceeds.
func TestRingBalanceRandomIDs(t *testing.T) {
	rng := testRand(t)
	for trial := range 20 {
		l := Layout{}
		for range 10 {
			l.Nodes = append(l.Nodes, testNode(fmt.Sprintf("%x", rng.Uint64()), ""))
		}
		r := NewRing(l)
		ideal := func(Node) float64 { return 0.1 }
		if worst, who := spread(l, exactShares(r, 1), ideal); worst > 0.45 {
			t.Errorf("trial %d: node %s is %.1f%% from its ideal share, want within 45%%",
				trial, who, 100*worst)
		}
	}
}

// TestRingWeights checks that shares follow weights: with n=1, one node of
// weight 200 among weight-100 nodes gets twice their average share.
func TestRingWeights(t *testing.T) {
	rng := testRand(t)
	hs := randomHashes(rng, 10_000)

	l := equalNodes(5)
	l.Nodes[2].Weight = 2 * DefaultWeight
	r := NewRing(l)
	exact := exactShares(r, 1)
	checkSampled(t, exact, sampledShares(r, hs, 1), len(hs))

	heavy, light := exact[l.Nodes[2].ID], 0.0
	for i, nd := range l.Nodes {
		if i != 2 {
			light += exact[nd.ID] / 4
		}
	}
	ratio := heavy / light
	t.Logf("weight-200 share %.4f, weight-100 average %.4f, ratio %.2f", heavy, light, ratio)
	if ratio < 1.7 || ratio > 2.3 {
		t.Fatalf("weight 200 gets %.2f times the share of weight 100, want about 2", ratio)
	}

	// Positions per weight: the ring holds exactly the vnodes the weights ask.
	if want := 4*VirtualNodes + 2*VirtualNodes; len(r.points) != want {
		t.Fatalf("ring has %d points, want %d", len(r.points), want)
	}
}

// TestRingDeterministic checks that node order in the layout does not
// change any owner list.
func TestRingDeterministic(t *testing.T) {
	rng := testRand(t)
	hs := randomHashes(rng, 2_000)

	l := equalNodes(8)
	for i := range l.Nodes {
		l.Nodes[i].Zone = fmt.Sprintf("z%d", i%3)
		l.Nodes[i].Weight = 50 + 25*(i%4)
	}
	want := NewRing(l)

	for trial := range 5 {
		shuffled := Layout{Nodes: slices.Clone(l.Nodes)}
		rng.Shuffle(len(shuffled.Nodes), func(i, j int) {
			shuffled.Nodes[i], shuffled.Nodes[j] = shuffled.Nodes[j], shuffled.Nodes[i]
		})
		got := NewRing(shuffled)
		for _, h := range hs {
			a, b := want.Owners(h, 3), got.Owners(h, 3)
			if !slices.Equal(a, b) {
				t.Fatalf("trial %d: chunk %s owners %v after shuffle, %v before", trial, h, b, a)
			}
		}
	}
}

// TestRingInactiveNeverOwn checks that draining and out nodes get no
// chunk, whatever n asks.
func TestRingInactiveNeverOwn(t *testing.T) {
	rng := testRand(t)
	l := equalNodes(6)
	l.Nodes[1].State = Draining
	l.Nodes[4].State = Out
	r := NewRing(l)
	if r.Nodes() != 4 {
		t.Fatalf("ring has %d nodes, want the 4 active ones", r.Nodes())
	}

	for _, h := range randomHashes(rng, 2_000) {
		for _, n := range []int{1, 3, 6} {
			checkOwners(t, l, r, r.Owners(h, n), n)
		}
	}
}

// TestRingOwnersCount checks sizes and distinctness for every n from -1
// to beyond the node count, with and without zones.
func TestRingOwnersCount(t *testing.T) {
	rng := testRand(t)
	hs := randomHashes(rng, 500)

	for _, zones := range []int{1, 2, 7} {
		l := equalNodes(7)
		for i := range l.Nodes {
			l.Nodes[i].Zone = fmt.Sprintf("z%d", i%zones)
		}
		r := NewRing(l)
		for n := -1; n <= 9; n++ {
			for _, h := range hs {
				checkOwners(t, l, r, r.Owners(h, n), n)
			}
		}
	}
}

func TestRingEmpty(t *testing.T) {
	l := equalNodes(3)
	for i := range l.Nodes {
		l.Nodes[i].State = Out
	}
	var nilRing *Ring
	for name, r := range map[string]*Ring{
		"no nodes":     NewRing(Layout{}),
		"none active":  NewRing(l),
		"nil ring ptr": nilRing,
	} {
		t.Run(name, func(t *testing.T) {
			if got := r.Owners(hashAt(42), 3); got != nil {
				t.Fatalf("Owners = %v, want nil", got)
			}
			dst := []NodeID{"keep"}
			if got := r.AppendOwners(dst, hashAt(42), 3); !slices.Equal(got, dst) {
				t.Fatalf("AppendOwners = %v, want dst unchanged", got)
			}
			if r.Nodes() != 0 || r.Zones() != 0 {
				t.Fatalf("Nodes() = %d, Zones() = %d, want 0, 0", r.Nodes(), r.Zones())
			}
		})
	}
}

// TestRingPrimaryIsNextPoint checks the documented walk start: the primary
// is the node of the first point at or after the chunk's position,
// wrapping past the top of the ring to the first point.
func TestRingPrimaryIsNextPoint(t *testing.T) {
	r := NewRing(equalNodes(3))
	last := len(r.points) - 1
	cases := []struct {
		name string
		pos  uint64
		want int
	}{
		{name: "exactly on a point", pos: r.points[5], want: 5},
		{name: "just after a point", pos: r.points[5] + 1, want: 6},
		{name: "zero", pos: 0, want: 0},
		{name: "past the last point wraps", pos: r.points[last] + 1, want: 0},
	}
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			want := r.nodes[r.owner[tc.want]].id
			if got := r.Owners(hashAt(tc.pos), 1); len(got) != 1 || got[0] != want {
				t.Fatalf("Owners(pos %d) = %v, want [%s]", tc.pos, got, want)
			}
		})
	}
}

// TestRingAppendOwnersNoAlloc checks the documented promise that a lookup
// into a slice with room allocates nothing.
func TestRingAppendOwnersNoAlloc(t *testing.T) {
	r := NewRing(zoned(equalNodes(10), 3))
	h := hashAt(1 << 63)
	dst := make([]NodeID, 0, 3)
	allocs := testing.AllocsPerRun(100, func() {
		dst = r.AppendOwners(dst[:0], h, 3)
	})
	if allocs != 0 {
		t.Fatalf("AppendOwners allocates %.1f times per call, want 0", allocs)
	}
}
