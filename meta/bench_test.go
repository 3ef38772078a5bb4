package meta

import (
	"fmt"
	"testing"

	"github.com/hashicorp/raft"
)

// BenchmarkApplyCreate measures FSM apply throughput for CreateReference
// commands of new 4-chunk files (one chunk shared by all), applied one
// entry per transaction and in batches of 64, which is what Raft hands a
// busy FSM. Each batch is one bbolt commit with its fsync. Commands are
// encoded before the timer starts: that is the proposer's cost.
func BenchmarkApplyCreate(b *testing.B) {
	for _, batch := range []int{1, 64} {
		b.Run(fmt.Sprintf("batch=%d", batch), func(b *testing.B) {
			f := newTestFSM(b)
			logs := createLogs(b, b.N)
			b.ReportAllocs()
			b.ResetTimer()
			for i := 0; i < len(logs); i += batch {
				for _, r := range f.ApplyBatch(logs[i:min(i+batch, len(logs))]) {
					if err := r.(*result).err(); err != nil {
						b.Fatal(err)
					}
				}
			}
			b.StopTimer()
			b.ReportMetric(float64(b.N)/b.Elapsed().Seconds(), "creates/s")
		})
	}
}

// createLogs encodes n create commands as log entries 1..n.
func createLogs(b *testing.B, n int) []*raft.Log {
	shared := testChunk("shared", 4096)
	logs := make([]*raft.Log, n)
	for i := range logs {
		file := testFile(shared,
			testChunk(fmt.Sprint(i, "a"), 65536),
			testChunk(fmt.Sprint(i, "b"), 65536),
			testChunk(fmt.Sprint(i, "c"), 1000))
		ref := testRef(fmt.Sprintf("ref-%d", i), file, fmt.Sprint("T-", i%100), "u")
		logs[i] = commandLog(b, uint64(i+1), createCmd(ref, file, t0))
	}
	return logs
}
