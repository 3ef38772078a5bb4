package node

import (
	"context"
	"time"

	"github.com/helixtrack/attachments/chunk"
)

// collectBatch bounds one CollectChunks command, so one Raft entry stays
// small however much garbage piled up.
const collectBatch = 1000

// startWorkers starts the background workers; Close stops them and waits.
// Garbage collection runs every gc_interval; the rebalance pass every
// rebalance_interval and whenever the layout changes; membership upkeep
// (gossip joins, marking long-dead members out) every second.
func (n *Node) startWorkers() {
	n.every(n.cfg.Storage.GCInterval.Duration(), nil, func(ctx context.Context) {
		n.CollectGarbage(ctx, time.Now())
	})
	n.every(n.cfg.Cluster.RebalanceInterval.Duration(), n.rebalance, n.Rebalance)
	n.every(time.Second, nil, n.maintainMembership)
}

// every runs fn in a worker goroutine each period, and also whenever kick
// delivers (nil: never), until the node closes.
func (n *Node) every(period time.Duration, kick <-chan struct{}, fn func(context.Context)) {
	n.workers.Add(1)
	go func() {
		defer n.workers.Done()
		t := time.NewTicker(period)
		defer t.Stop()
		for {
			select {
			case <-n.bg.Done():
				return
			case <-t.C:
			case <-kick:
			}
			fn(n.bg)
		}
	}()
}

// CollectGarbage runs one pass of garbage collection: the leader removes
// chunk records no manifest has referenced for the grace period, every node
// deletes the chunks on its disk that the metadata no longer knows and that
// nobody touched for the grace period, and the chunk store compacts packs
// that became mostly dead. Tests call it directly; the node runs it every
// gc_interval with the wall clock as now; a later now makes everything
// older than the grace period look collectable, which is how tests run a
// collection without waiting.
func (n *Node) CollectGarbage(ctx context.Context, now time.Time) {
	if n.meta.IsLeader() {
		n.collectRecords(ctx, now)
	}
	n.sweep(ctx, now)
	if err := n.chunks.Compact(ctx); err != nil && ctx.Err() == nil {
		n.log.Warn("compaction failed", "err", err)
	}
}

// collectRecords removes unreferenced chunk records in batches.
func (n *Node) collectRecords(ctx context.Context, now time.Time) {
	olderThan := now.Add(-n.grace)
	for ctx.Err() == nil {
		removed, err := n.meta.CollectChunks(ctx, olderThan, collectBatch)
		if err != nil {
			n.log.Warn("collect chunk records failed", "err", err)
			return
		}
		n.metrics.collected.Add(float64(len(removed)))
		if len(removed) < collectBatch {
			return
		}
	}
}

// sweep deletes local chunks that are idle past the grace period and
// unknown to the metadata. The order of its steps is what keeps a racing
// upload safe: idle candidates are picked first, the metadata is read after
// (a linearizable read), and the store deletes only if the chunk is still
// idle at that moment, atomically with respect to Touch.
func (n *Node) sweep(ctx context.Context, now time.Time) {
	cutoff := now.Add(-n.grace)
	var idle []chunk.Hash
	n.chunks.Walk(func(h chunk.Hash, _ int, touched time.Time) bool {
		if touched.Before(cutoff) {
			idle = append(idle, h)
		}
		return true
	})
	if len(idle) == 0 {
		return
	}
	known, err := n.meta.KnownChunks(ctx, idle)
	if err != nil {
		n.log.Warn("sweep: read metadata failed", "err", err)
		return
	}
	for i, h := range idle {
		if known[i] {
			continue
		}
		size, _ := n.chunks.Size(h)
		deleted, err := n.chunks.DeleteIfIdle(h, cutoff)
		if err != nil {
			n.log.Warn("sweep: delete chunk failed", "chunk", h, "err", err)
			continue
		}
		if deleted {
			n.metrics.swept.Inc()
			n.metrics.sweptB.Add(float64(size))
		}
	}
}
