package placement

import (
	"fmt"
	"slices"
	"testing"

	"github.com/helixtrack/attachments/chunk"
)

// fuzzNodeBytes is how many fuzz bytes describe one node: id, zone,
// weight, state.
const fuzzNodeBytes = 4

// fuzzStates are the states a fuzz byte picks from, including one no
// valid layout holds.
var fuzzStates = []State{Active, Draining, Out, "unknown"}

// fuzzLayout decodes up to 40 nodes from data. Ids and zones come from
// small alphabets so duplicates and shared zones are common; weights run
// from -1016 to 1016 so zero, negative and heavy nodes all occur. The
// layout need not be valid: NewRing must cope with anything.
func fuzzLayout(data []byte) Layout {
	var l Layout
	for len(data) >= fuzzNodeBytes && len(l.Nodes) < 40 {
		zone := ""
		if z := data[1] % 5; z > 0 {
			zone = fmt.Sprintf("z%d", z)
		}
		l.Nodes = append(l.Nodes, Node{
			ID:      NodeID(fmt.Sprintf("n%d", data[0]%48)),
			APIAddr: "http://x",
			Zone:    zone,
			Weight:  int(int8(data[2])) * 8,
			State:   fuzzStates[data[3]%byte(len(fuzzStates))],
		})
		data = data[fuzzNodeBytes:]
	}
	return l
}

// fuzzSeed encodes nodes the way fuzzLayout decodes them: node i gets id
// n<i>, zone z<zones[i]> (0 for none), weight w/8 and state s.
func fuzzSeed(zones, weights []int, states []byte) []byte {
	var b []byte
	for i := range zones {
		b = append(b, byte(i), byte(zones[i]), byte(int8(weights[i]/8)), states[i])
	}
	return b
}

func FuzzOwners(f *testing.F) {
	f.Add(fuzzSeed([]int{1, 2, 3, 1, 2, 3}, []int{0, 0, 0, 0, 0, 0}, make([]byte, 6)),
		[]byte{1, 2, 3}, 3)
	f.Add(fuzzSeed([]int{1, 2, 1, 2, 1, 2}, []int{0, 0, 0, 0, 0, 0}, make([]byte, 6)),
		[]byte{0xff}, 3)
	f.Add(fuzzSeed([]int{0, 0, 0, 0}, []int{0, 200, 0, 0}, []byte{0, 0, 1, 2}),
		[]byte{}, 4)
	f.Add(fuzzSeed([]int{0, 0, 0}, []int{0, 0, 0}, []byte{2, 2, 2}), []byte{7}, 1)
	f.Add([]byte{5, 1, 10, 0, 5, 2, 20, 0, 6, 1, 0x80, 0, 7}, []byte{9, 9}, 9)
	f.Add([]byte{}, []byte{}, 0)
	f.Add([]byte{1, 1, 1, 0}, []byte{1}, -3)

	f.Fuzz(func(t *testing.T, layout, hash []byte, n int) {
		l := fuzzLayout(layout)
		var h chunk.Hash
		copy(h[:], hash)
		r := NewRing(l)

		if want := distinctActive(l); r.Nodes() != len(want) {
			t.Fatalf("ring has %d nodes, layout has %d distinct active ids", r.Nodes(), len(want))
		}
		owners := r.Owners(h, n)
		checkOwners(t, l, r, owners, n)
		if len(owners) > 0 && zonesOf(t, l, owners) != min(len(owners), r.Zones()) {
			t.Fatalf("owners %v span %d zones of %d, want %d",
				owners, zonesOf(t, l, owners), r.Zones(), min(len(owners), r.Zones()))
		}

		prefix := []NodeID{"p"}
		if got := r.AppendOwners(prefix, h, n); got[0] != "p" || !slices.Equal(got[1:], owners) {
			t.Fatalf("AppendOwners with prefix = %v, want [p %v]", got, owners)
		}

		// Order independence holds for layouts whose active ids are unique.
		if len(distinctActive(l)) == len(l.Active()) {
			rev := Layout{Nodes: slices.Clone(l.Nodes)}
			slices.Reverse(rev.Nodes)
			if got := NewRing(rev).Owners(h, n); !slices.Equal(got, owners) {
				t.Fatalf("reversed layout gives owners %v, want %v", got, owners)
			}
		}
	})
}

// distinctActive returns the distinct ids of l's active nodes.
func distinctActive(l Layout) map[NodeID]bool {
	ids := map[NodeID]bool{}
	for _, nd := range l.Active() {
		ids[nd.ID] = true
	}
	return ids
}
