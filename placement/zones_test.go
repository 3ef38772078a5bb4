package placement

import "testing"

// TestZonesDistinct checks that copies spread over zones: with as many
// zones as copies every chunk gets one copy per zone, and with fewer zones
// every zone still holds a copy of every chunk.
func TestZonesDistinct(t *testing.T) {
	rng := testRand(t)
	hs := randomHashes(rng, 5_000)

	cases := []struct {
		name      string
		nodes     int
		zones     int
		n         int
		wantZones int
	}{
		{name: "6 nodes 3 zones n=3", nodes: 6, zones: 3, n: 3, wantZones: 3},
		{name: "6 nodes 2 zones n=3", nodes: 6, zones: 2, n: 3, wantZones: 2},
		{name: "9 nodes 3 zones n=2", nodes: 9, zones: 3, n: 2, wantZones: 2},
		{name: "4 nodes 4 zones n=4", nodes: 4, zones: 4, n: 4, wantZones: 4},
		{name: "5 nodes 1 zone n=3", nodes: 5, zones: 1, n: 3, wantZones: 1},
	}
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			l := zoned(equalNodes(tc.nodes), tc.zones)
			r := NewRing(l)
			if r.Zones() != tc.zones {
				t.Fatalf("Zones() = %d, want %d", r.Zones(), tc.zones)
			}
			for _, h := range hs {
				owners := r.Owners(h, tc.n)
				checkOwners(t, l, r, owners, tc.n)
				if got := zonesOf(t, l, owners); got != tc.wantZones {
					t.Fatalf("chunk %s owners %v span %d zones, want %d",
						h, owners, got, tc.wantZones)
				}
			}
		})
	}
}

// TestZonesUnequal checks the zone rule when one zone holds most nodes:
// the lone node of the small zone holds a copy of every chunk, since the
// first walk takes one node per zone before any second copy in a zone.
func TestZonesUnequal(t *testing.T) {
	rng := testRand(t)
	l := equalNodes(5)
	for i := range l.Nodes {
		l.Nodes[i].Zone = "big"
	}
	l.Nodes[3].Zone = "small"
	r := NewRing(l)

	for _, h := range randomHashes(rng, 2_000) {
		owners := r.Owners(h, 2)
		checkOwners(t, l, r, owners, 2)
		if zonesOf(t, l, owners) != 2 {
			t.Fatalf("chunk %s owners %v do not span both zones", h, owners)
		}
	}
}

// zonesOf returns the number of distinct zones among the active nodes ids.
func zonesOf(t *testing.T, l Layout, ids []NodeID) int {
	t.Helper()
	zones := map[string]bool{}
	for _, id := range ids {
		nd, ok := activeNode(l, id)
		if !ok {
			t.Fatalf("owner %s not an active node of the layout", id)
		}
		zones[nd.Zone] = true
	}
	return len(zones)
}
