package placement

import (
	"fmt"
	"math/rand/v2"
	"testing"
)

// BenchmarkOwners measures one lookup of 3 owners on a ring of 10 equal
// nodes, with and without zones, allocating the result each time.
func BenchmarkOwners(b *testing.B) {
	for _, zones := range []int{1, 3} {
		b.Run(fmt.Sprintf("nodes=10 n=3 zones=%d", zones), func(b *testing.B) {
			r := NewRing(zoned(equalNodes(10), zones))
			hs := randomHashes(rand.New(rand.NewPCG(1, 2)), 1024)
			b.ReportAllocs()
			i := 0
			for b.Loop() {
				if len(r.Owners(hs[i%len(hs)], 3)) != 3 {
					b.Fatal("want 3 owners")
				}
				i++
			}
		})
	}
}

// BenchmarkAppendOwners is BenchmarkOwners reusing one destination slice,
// the allocation-free form for hot paths.
func BenchmarkAppendOwners(b *testing.B) {
	r := NewRing(equalNodes(10))
	hs := randomHashes(rand.New(rand.NewPCG(1, 2)), 1024)
	dst := make([]NodeID, 0, 3)
	b.ReportAllocs()
	i := 0
	for b.Loop() {
		dst = r.AppendOwners(dst[:0], hs[i%len(hs)], 3)
		i++
	}
	if len(dst) != 3 {
		b.Fatalf("got %d owners, want 3", len(dst))
	}
}

// BenchmarkNewRing measures building the ring of a 10-node layout
// (1,280 positions) and of a 100-node one.
func BenchmarkNewRing(b *testing.B) {
	for _, nodes := range []int{10, 100} {
		b.Run(fmt.Sprintf("nodes=%d", nodes), func(b *testing.B) {
			l := zoned(equalNodes(nodes), 3)
			b.ReportAllocs()
			for b.Loop() {
				if NewRing(l).Nodes() != nodes {
					b.Fatal("wrong node count")
				}
			}
		})
	}
}
