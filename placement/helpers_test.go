package placement

import (
	"encoding/binary"
	"fmt"
	"math/rand/v2"
	"os"
	"strconv"
	"testing"
	"time"

	"github.com/helixtrack/attachments/chunk"
)

// seedEnv names the environment variable that replays a randomised test.
const seedEnv = "PLACEMENT_SEED"

// testRand returns a generator seeded from PLACEMENT_SEED when set and
// from the clock otherwise, and logs the seed so a failure can be
// replayed with PLACEMENT_SEED=<seed> go test -run <name> ./placement.
func testRand(t testing.TB) *rand.Rand {
	t.Helper()
	seed := uint64(time.Now().UnixNano())
	if s := os.Getenv(seedEnv); s != "" {
		v, err := strconv.ParseUint(s, 10, 64)
		if err != nil {
			t.Fatalf("parse %s=%q: %v", seedEnv, s, err)
		}
		seed = v
	}
	t.Logf("seed %d (replay with %s=%d)", seed, seedEnv, seed)
	return rand.New(rand.NewPCG(seed, seed^0x9e3779b97f4a7c15))
}

// randomHashes returns k uniformly random chunk hashes.
func randomHashes(rng *rand.Rand, k int) []chunk.Hash {
	hs := make([]chunk.Hash, k)
	for i := range hs {
		for w := 0; w < len(hs[i]); w += 8 {
			binary.LittleEndian.PutUint64(hs[i][w:], rng.Uint64())
		}
	}
	return hs
}

// hashAt returns a hash whose ring position is pos.
func hashAt(pos uint64) chunk.Hash {
	var h chunk.Hash
	binary.BigEndian.PutUint64(h[:8], pos)
	return h
}

// equalNodes returns a layout of count active nodes named node-1 to
// node-count, all of DefaultWeight and zone "".
func equalNodes(count int) Layout {
	l := Layout{Version: 1}
	for i := 1; i <= count; i++ {
		l.Nodes = append(l.Nodes, testNode(fmt.Sprintf("node-%d", i), ""))
	}
	return l
}

// testNode returns a valid active node with the given id and zone.
func testNode(id, zone string) Node {
	return Node{
		ID:       NodeID(id),
		APIAddr:  "http://127.0.0.1:8090/" + id,
		RaftAddr: "127.0.0.1:8091",
		Zone:     zone,
		State:    Active,
	}
}

// exactShares returns, for each node, the fraction of the ring's positions
// whose owners (for n copies) include it. Every position between two
// consecutive points starts its walk at the same point, so one Owners call
// per point, weighted by the arc before it, gives the exact expectation of
// a node's share of uniformly random chunks.
func exactShares(r *Ring, n int) map[NodeID]float64 {
	shares := make(map[NodeID]float64, r.Nodes())
	if len(r.points) == 1 {
		shares[r.nodes[0].id] = 1
		return shares
	}
	for i, p := range r.points {
		// Modular subtraction: for i == 0 this is the arc across zero.
		arc := p - r.points[(i+len(r.points)-1)%len(r.points)]
		for _, id := range r.Owners(hashAt(p), n) {
			shares[id] += float64(arc) / (1 << 64)
		}
	}
	return shares
}

// sampledShares returns, for each node, the fraction of hs whose owners
// (for n copies) include it.
func sampledShares(r *Ring, hs []chunk.Hash, n int) map[NodeID]float64 {
	shares := make(map[NodeID]float64, r.Nodes())
	var owners []NodeID
	for _, h := range hs {
		owners = r.AppendOwners(owners[:0], h, n)
		for _, id := range owners {
			shares[id] += 1 / float64(len(hs))
		}
	}
	return shares
}

// checkOwners fails t unless owners are min(n, r.Nodes()) distinct ids of
// nodes that are active in l.
func checkOwners(t *testing.T, l Layout, r *Ring, owners []NodeID, n int) {
	t.Helper()
	if want := min(max(n, 0), r.Nodes()); len(owners) != want {
		t.Fatalf("got %d owners %v for n=%d on %d nodes, want %d",
			len(owners), owners, n, r.Nodes(), want)
	}
	seen := make(map[NodeID]bool, len(owners))
	for _, id := range owners {
		if seen[id] {
			t.Fatalf("owners %v repeat node %q", owners, id)
		}
		seen[id] = true
		if _, ok := activeNode(l, id); !ok {
			t.Fatalf("owner %q is not an active node of the layout %+v", id, l.Nodes)
		}
	}
}

// activeNode returns the first active node of l with the given id. Unlike
// Layout.Node it skips inactive nodes sharing the id, which only layouts
// that fail Validate (as in the fuzz test) have.
func activeNode(l Layout, id NodeID) (Node, bool) {
	for _, nd := range l.Active() {
		if nd.ID == id {
			return nd, true
		}
	}
	return Node{}, false
}
