package chunk

import (
	"context"
	"encoding/binary"
	"math/rand/v2"
	"runtime"
	"sync/atomic"
	"testing"
)

// BenchmarkPut4KiBParallel measures durable Puts of distinct 4 KiB chunks
// from 32 goroutines (SetParallelism scales by GOMAXPROCS), each
// waiting for its fsync; group commit lets them share syncs.
func BenchmarkPut4KiBParallel(b *testing.B) {
	s := openStore(b, b.TempDir(), StoreOptions{})
	var next atomic.Uint64
	b.SetBytes(4096)
	b.SetParallelism(max(1, 32/runtime.GOMAXPROCS(0)))
	b.RunParallel(func(pb *testing.PB) {
		data := make([]byte, 4096)
		for pb.Next() {
			binary.LittleEndian.PutUint64(data, next.Add(1))
			if _, err := s.Put(context.Background(), Sum(data), data); err != nil {
				b.Error(err)
				return
			}
		}
	})
}

func BenchmarkGet256KiB(b *testing.B) {
	r := rand.New(rand.NewPCG(1, 2))
	s := openStore(b, b.TempDir(), StoreOptions{})
	var hs []Hash
	for range 64 {
		data, h := testChunk(r, 256<<10)
		mustPut(b, s, h, data)
		hs = append(hs, h)
	}
	buf := make([]byte, 0, 256<<10)
	b.SetBytes(256 << 10)
	i := 0
	for b.Loop() {
		if _, err := s.Get(context.Background(), hs[i%len(hs)], buf); err != nil {
			b.Fatal(err)
		}
		i++
	}
}
