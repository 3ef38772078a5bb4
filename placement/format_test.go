package placement

import (
	"cmp"
	"fmt"
	"slices"
	"testing"

	"github.com/cespare/xxhash/v2"
	"github.com/helixtrack/attachments/chunk"
)

// TestRingPositionsFormula recomputes every position from the formula in
// Ring's doc comment: a change to it would re-place every chunk of every
// running cluster, so it must not change by accident.
func TestRingPositionsFormula(t *testing.T) {
	l := equalNodes(4)
	l.Nodes[1].Weight = 50
	l.Nodes[2].Weight = 1
	l.Nodes[3].State = Draining
	r := NewRing(l)

	var want []uint64
	for _, nd := range l.Active() {
		count := max(1, cmp.Or(nd.Weight, DefaultWeight)*VirtualNodes/DefaultWeight)
		for i := range count {
			want = append(want, xxhash.Sum64String(fmt.Sprintf("%s#%d", nd.ID, i)))
		}
	}
	slices.Sort(want)
	if !slices.Equal(r.points, want) {
		t.Fatalf("ring has %d points, formula gives %d; first %v vs %v",
			len(r.points), len(want), r.points[:3], want[:3])
	}
	if len(want) != VirtualNodes+VirtualNodes/2+1 {
		t.Fatalf("formula gives %d points, want %d", len(want), VirtualNodes+VirtualNodes/2+1)
	}
}

// TestRingGolden pins the owners of a few chunks on a fixed layout. The
// lists were recorded from this implementation; they fail if the position
// of chunks, the positions of nodes or the walk change, any of which would
// strand data placed by an earlier build.
func TestRingGolden(t *testing.T) {
	l := zoned(equalNodes(6), 3)
	r := NewRing(l)
	cases := []struct {
		content string
		want    []NodeID
	}{
		{content: "a", want: []NodeID{"node-3", "node-1", "node-5", "node-6"}},
		{content: "helix", want: []NodeID{"node-2", "node-6", "node-4", "node-1"}},
		{content: "", want: []NodeID{"node-6", "node-2", "node-1", "node-3"}},
	}
	for _, tc := range cases {
		t.Run(fmt.Sprintf("sha256(%q)", tc.content), func(t *testing.T) {
			got := r.Owners(chunk.Sum([]byte(tc.content)), 4)
			if !slices.Equal(got, tc.want) {
				t.Fatalf("owners %#v, want %#v", got, tc.want)
			}
		})
	}
}
