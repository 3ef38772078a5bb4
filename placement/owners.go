package placement

import (
	"encoding/binary"
	"slices"

	"github.com/helixtrack/attachments/chunk"
)

// position is where chunk h sits on the ring: its first eight bytes read
// big-endian. SHA-256 output is uniform, so these bits need no further
// mixing; see Ring for why this is fixed.
func position(h chunk.Hash) uint64 { return binary.BigEndian.Uint64(h[:8]) }

// Owners returns the nodes that hold chunk h when the layout places n
// copies: min(n, r.Nodes()) distinct node ids in a new slice the caller
// owns, or nil when n <= 0 or the ring is empty. The first id is the
// primary. See AppendOwners for the order and the zone rule.
func (r *Ring) Owners(h chunk.Hash, n int) []NodeID {
	if n <= 0 || r.Nodes() == 0 {
		return nil
	}
	return r.AppendOwners(make([]NodeID, 0, min(n, len(r.nodes))), h, n)
}

// AppendOwners appends the owners of chunk h for n copies to dst and
// returns the extended slice; with enough capacity in dst it does not
// allocate for rings of up to 256 nodes and 256 zones. It appends nothing
// when n <= 0 or the ring is empty.
//
// The owners are found by walking clockwise from h's position over the
// nodes' positions. The first walk takes each node whose zone no earlier
// pick has, so copies land in as many distinct zones as exist; if that
// gives fewer than n, a second walk from the same start takes the nodes
// not yet picked, in walk order, until n are found. The result is
// therefore min(n, r.Nodes()) distinct ids, the first of which (the node
// of the first position at or after h) is the primary.
//
// Layout changes move little. Removing or draining a node changes the
// owners of only the chunks it owned: for any other chunk both walks meet
// the same picks in the same order. Adding a node changes a chunk's owners
// only by bringing in the new node, which takes about its weight's share
// of the copies; no copy moves between two nodes that were already there.
// Moved counts such movement.
func (r *Ring) AppendOwners(dst []NodeID, h chunk.Hash, n int) []NodeID {
	if n <= 0 || r.Nodes() == 0 {
		return dst
	}
	want := len(dst) + min(n, len(r.nodes))
	start, _ := slices.BinarySearch(r.points, position(h))

	var nodeWords, zoneWords [4]uint64
	picked := newBitset(nodeWords[:], len(r.nodes))
	dst = r.walkZones(dst, start, want, picked, newBitset(zoneWords[:], r.zones))
	if len(dst) < want {
		dst = r.walkNodes(dst, start, want, picked)
	}
	return dst
}

// walkZones is AppendOwners' first walk: from point start, clockwise,
// append each node whose zone is not yet in usedZones, marking the node in
// picked and its zone in usedZones, until dst has want ids or every zone
// is used (no later point can then qualify).
func (r *Ring) walkZones(dst []NodeID, start, want int, picked, usedZones bitset) []NodeID {
	zonesLeft := r.zones
	for step := range len(r.points) {
		i := start + step
		if i >= len(r.points) {
			i -= len(r.points)
		}

		node := r.owner[i]
		zone := r.nodes[node].zone
		if usedZones.has(int(zone)) {
			continue
		}
		usedZones.set(int(zone))
		picked.set(int(node))
		dst = append(dst, r.nodes[node].id)

		zonesLeft--
		if len(dst) == want || zonesLeft == 0 {
			break
		}
	}
	return dst
}

// walkNodes is AppendOwners' second walk: from point start, clockwise,
// append each node not in picked, marking it, until dst has want ids. The
// caller ensures want does not exceed the distinct nodes available.
func (r *Ring) walkNodes(dst []NodeID, start, want int, picked bitset) []NodeID {
	for step := range len(r.points) {
		i := start + step
		if i >= len(r.points) {
			i -= len(r.points)
		}

		node := int(r.owner[i])
		if picked.has(node) {
			continue
		}
		picked.set(node)
		dst = append(dst, r.nodes[node].id)
		if len(dst) == want {
			break
		}
	}
	return dst
}

// bitset is a set of small non-negative integers, one bit each.
type bitset []uint64

// newBitset returns an empty set able to hold 0 to size-1, in buf when it
// is large enough (buf must be zeroed) and in a new slice otherwise.
func newBitset(buf []uint64, size int) bitset {
	words := (size + 63) / 64
	if words <= len(buf) {
		return buf[:words]
	}
	return make(bitset, words)
}

func (b bitset) has(i int) bool { return b[i/64]&(1<<(i%64)) != 0 }

func (b bitset) set(i int) { b[i/64] |= 1 << (i % 64) }
