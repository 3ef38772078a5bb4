package placement

import (
	"cmp"
	"fmt"
	"math"
	"slices"
	"testing"

	"github.com/helixtrack/attachments/chunk"
)

// zoned returns l with node i in zone z<i%zones>; zones <= 1 leaves every
// node in zone "".
func zoned(l Layout, zones int) Layout {
	if zones <= 1 {
		return l
	}
	for i := range l.Nodes {
		l.Nodes[i].Zone = fmt.Sprintf("z%d", i%zones)
	}
	return l
}

// TestMovementAddNode adds a 4th node to 3 and checks that about a quarter
// of the (chunk, owner) pairs change, and that every new pair is on the new
// node: no copy moves between two of the old nodes.
func TestMovementAddNode(t *testing.T) {
	rng := testRand(t)
	hs := randomHashes(rng, 10_000)

	for _, n := range []int{1, 3} {
		t.Run(fmt.Sprintf("n=%d", n), func(t *testing.T) {
			before := equalNodes(3)
			after := equalNodes(4)
			oldRing, newRing := NewRing(before), NewRing(after)
			added := after.Nodes[3].ID

			pairs := len(hs) * min(n, 3)
			frac := float64(Moved(oldRing, newRing, hs, n)) / float64(pairs)
			t.Logf("moved %.2f%% of %d (chunk, owner) pairs, ideal 25%%", 100*frac, pairs)
			if math.Abs(frac-0.25) > 0.04 {
				t.Errorf("moved fraction %.4f, want 0.25 +- 0.04", frac)
			}
			checkOnlyGained(t, oldRing, newRing, hs, n, added)
		})
	}
}

// TestMovementAddNodeZoned checks that with zones, too, a new node only
// ever takes copies for itself.
func TestMovementAddNodeZoned(t *testing.T) {
	rng := testRand(t)
	hs := randomHashes(rng, 5_000)

	for _, zones := range []int{2, 3} {
		for _, n := range []int{2, 3} {
			t.Run(fmt.Sprintf("zones=%d n=%d", zones, n), func(t *testing.T) {
				before := zoned(equalNodes(6), zones)
				after := zoned(equalNodes(7), zones)
				checkOnlyGained(t, NewRing(before), NewRing(after), hs, n, after.Nodes[6].ID)
			})
		}
	}
}

// checkOnlyGained fails t if any chunk's owners under to include a node
// other than gained that were not its owners under from.
func checkOnlyGained(t *testing.T, from, to *Ring, hs []chunk.Hash, n int, gained NodeID) {
	t.Helper()
	for _, h := range hs {
		a, b := from.Owners(h, n), to.Owners(h, n)
		for _, id := range b {
			if id != gained && !slices.Contains(a, id) {
				t.Fatalf("chunk %s moved to old node %s: owners %v -> %v", h, id, a, b)
			}
		}
	}
}

// TestMovementRemoveNode removes or drains one node of five and checks
// that chunks it did not own keep their owners in the same order, and that
// the copies moved are the ones it held.
func TestMovementRemoveNode(t *testing.T) {
	rng := testRand(t)
	hs := randomHashes(rng, 5_000)

	for _, how := range []State{Draining, Out, ""} {
		for _, zones := range []int{1, 3} {
			name := fmt.Sprintf("%s zones=%d", cmp.Or(string(how), "deleted"), zones)
			t.Run(name, func(t *testing.T) {
				before := zoned(equalNodes(5), zones)
				after := zoned(equalNodes(5), zones)
				victim := after.Nodes[2].ID
				if how == "" {
					after.Nodes = slices.Delete(after.Nodes, 2, 3)
				} else {
					after.Nodes[2].State = how
				}
				checkRemoval(t, NewRing(before), NewRing(after), hs, 3, victim)
			})
		}
	}
}

// checkRemoval fails t unless every chunk that victim did not own keeps
// the same owners in the same order, and every chunk victim owned loses
// exactly victim and gains exactly one node.
func checkRemoval(t *testing.T, from, to *Ring, hs []chunk.Hash, n int, victim NodeID) {
	t.Helper()
	held := 0
	for _, h := range hs {
		a, b := from.Owners(h, n), to.Owners(h, n)
		if !slices.Contains(a, victim) {
			if !slices.Equal(a, b) {
				t.Fatalf("chunk %s not on %s changed owners %v -> %v", h, victim, a, b)
			}
			continue
		}
		held++
		if slices.Contains(b, victim) {
			t.Fatalf("chunk %s still owned by removed node %s: %v", h, victim, b)
		}
	}
	if moved := Moved(from, to, hs, n); moved != held {
		t.Fatalf("Moved = %d, want %d (one copy per chunk the node held)", moved, held)
	}
}

func TestMovedCounts(t *testing.T) {
	rng := testRand(t)
	hs := randomHashes(rng, 1_000)
	r3 := NewRing(equalNodes(3))

	cases := []struct {
		name     string
		from, to *Ring
		n        int
		want     int
	}{
		{name: "same ring", from: r3, to: r3, n: 3, want: 0},
		{name: "from empty", from: NewRing(Layout{}), to: r3, n: 2, want: 2 * len(hs)},
		{name: "from nil", from: nil, to: r3, n: 3, want: 3 * len(hs)},
		{name: "to empty", from: r3, to: nil, n: 3, want: 0},
		{name: "n zero", from: nil, to: r3, n: 0, want: 0},
	}
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			if got := Moved(tc.from, tc.to, hs, tc.n); got != tc.want {
				t.Fatalf("Moved = %d, want %d", got, tc.want)
			}
		})
	}
}
