package placement

import (
	"slices"

	"github.com/helixtrack/attachments/chunk"
)

// Moved counts the copies a change from ring from to ring to would
// transfer for the chunks hs at n copies each: for every hash, the owners
// under to that were not among its owners under from. A change of which
// owner is primary moves no bytes and so counts nothing. Either ring may
// be nil or empty. The result is at most len(hs)*min(n, to.Nodes()).
//
// It is meant for tests and for estimating the cost of a planned layout
// change over a sample of chunks.
func Moved(from, to *Ring, hs []chunk.Hash, n int) int {
	moved := 0
	var before, after []NodeID
	for _, h := range hs {
		before = from.AppendOwners(before[:0], h, n)
		after = to.AppendOwners(after[:0], h, n)
		for _, id := range after {
			if !slices.Contains(before, id) {
				moved++
			}
		}
	}
	return moved
}
