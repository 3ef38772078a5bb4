package placement

import (
	"cmp"
	"slices"
	"strconv"

	"github.com/cespare/xxhash/v2"
)

// VirtualNodes is the number of ring positions a node of DefaultWeight
// gets; a node of weight w gets w*VirtualNodes/DefaultWeight of them, at
// least one. More positions spread each node's share more evenly (the
// spread of a node's share shrinks roughly as one over the square root of
// its positions) at the cost of a larger ring. Changing this constant, or
// how positions are computed, re-places nearly every chunk in the cluster:
// it is part of the on-disk contract, like the hash function.
const VirtualNodes = 128

// Ring maps chunk hashes to the active nodes of one layout by consistent
// hashing. It is immutable after NewRing and safe for concurrent use.
//
// Each active node has positions on a circle of 2^64 points: position i of
// node id is the xxhash (XXH64, seed 0) of the string id + "#" + i in
// decimal, for i from 0 to its number of virtual nodes minus one. A chunk
// sits at the big-endian uint64 of the first eight bytes of its SHA-256;
// those bytes are already uniform, so hashing them again would only cost
// time. Owners walks clockwise from the chunk's position.
//
// Invariants, which Owners relies on:
//   - points is sorted ascending and owner[i] is the node at points[i];
//     equal points (an xxhash collision) are ordered by node index, so the
//     order is total and the walk does not depend on input order.
//   - nodes holds each active node once, sorted by id; a node's index is
//     its rank in that order, and every node has at least one point.
//   - every nodes[i].zone is below zones, and zone indices are ranks of
//     the sorted distinct zone names.
type Ring struct {
	version uint64
	points  []uint64
	owner   []int32
	nodes   []ringNode
	zones   int
}

// ringNode is one active node as the ring sees it.
type ringNode struct {
	id NodeID
	// zone is the rank of the node's zone name among the ring's zones.
	zone int32
}

// NewRing builds the ring of l's active nodes; draining and out nodes get
// no positions and so never own a chunk. The result depends only on the
// set of active nodes with their ids, zones and weights, not on their
// order in l.Nodes, so every node that applied the same layout computes
// the same owners. A layout without active nodes gives an empty ring, on
// which Owners returns nil.
//
// NewRing does not validate l and never fails: a weight of zero or below
// counts as DefaultWeight and one above MaxWeight as MaxWeight. Among
// active nodes sharing an id (a layout that fails Validate) the first in
// l.Nodes is used, so only for such layouts does order matter.
func NewRing(l Layout) *Ring {
	active, weights := sortedActive(l.Nodes)
	r := &Ring{version: l.Version, nodes: make([]ringNode, len(active))}
	r.zones = r.assignZones(active)
	r.place(weights)
	return r
}

// sortedActive returns the active nodes of all, sorted by id, duplicates
// dropped, and the weight of each.
func sortedActive(all []Node) ([]Node, []int) {
	var active []Node
	for _, nd := range all {
		if nd.State == Active {
			active = append(active, nd)
		}
	}

	// Stable, so that of nodes sharing an id the first in all survives.
	slices.SortStableFunc(active, func(a, b Node) int { return cmp.Compare(a.ID, b.ID) })
	active = slices.CompactFunc(active, func(a, b Node) bool { return a.ID == b.ID })

	weights := make([]int, len(active))
	for i, nd := range active {
		weights[i] = nd.Weight
	}
	return active, weights
}

// assignZones fills r.nodes from active (sorted by id) and returns the
// number of distinct zones.
func (r *Ring) assignZones(active []Node) int {
	names := make([]string, len(active))
	for i, nd := range active {
		names[i] = nd.Zone
	}
	slices.Sort(names)
	names = slices.Compact(names)

	for i, nd := range active {
		z, _ := slices.BinarySearch(names, nd.Zone)
		r.nodes[i] = ringNode{id: nd.ID, zone: int32(z)}
	}
	return len(names)
}

// vnodeCount is the number of positions of a node of weight w.
func vnodeCount(w int) int {
	if w <= 0 {
		w = DefaultWeight
	}
	w = min(w, MaxWeight)
	return max(1, w*VirtualNodes/DefaultWeight)
}

// place computes every node's positions and sorts them into r.points and
// r.owner. weights[i] is the weight of r.nodes[i].
func (r *Ring) place(weights []int) {
	type point struct {
		pos  uint64
		node int32
	}

	total := 0
	for _, w := range weights {
		total += vnodeCount(w)
	}
	pts := make([]point, 0, total)
	var key []byte
	for i, nd := range r.nodes {
		for v := range vnodeCount(weights[i]) {
			key = append(append(key[:0], nd.id...), '#')
			key = strconv.AppendInt(key, int64(v), 10)
			pts = append(pts, point{pos: xxhash.Sum64(key), node: int32(i)})
		}
	}

	// Plain comparisons: sorting is most of NewRing's time, and the pair
	// of cmp.Compare calls made it a quarter slower.
	slices.SortFunc(pts, func(a, b point) int {
		switch {
		case a.pos < b.pos:
			return -1
		case a.pos > b.pos:
			return 1
		}
		return int(a.node) - int(b.node)
	})
	r.points = make([]uint64, len(pts))
	r.owner = make([]int32, len(pts))
	for i, p := range pts {
		r.points[i], r.owner[i] = p.pos, p.node
	}
}

// Nodes returns the number of distinct active nodes on the ring: the most
// owners any chunk can have. A nil ring has none.
func (r *Ring) Nodes() int {
	if r == nil {
		return 0
	}
	return len(r.nodes)
}

// Zones returns the number of distinct zones among the ring's nodes.
func (r *Ring) Zones() int {
	if r == nil {
		return 0
	}
	return r.zones
}

// Version returns the version of the layout the ring was built from.
func (r *Ring) Version() uint64 {
	if r == nil {
		return 0
	}
	return r.version
}
