package node

import (
	"context"
	"time"

	"github.com/helixtrack/attachments/chunk"
	"github.com/helixtrack/attachments/placement"
)

// rebalanceBatch is how many chunks one pass examines per round of "which
// of these do you hold" questions to the other owners.
const rebalanceBatch = 512

// kickRebalance asks for a rebalance pass soon; kicks coalesce.
func (n *Node) kickRebalance() {
	select {
	case n.rebalance <- struct{}{}:
	default:
	}
}

// passStats are the outcome of one rebalance pass.
type passStats struct {
	examined, copied, dropped, pending, underReplicated int
}

// lastPass holds the figures of the latest finished pass, for status.
type lastPass struct {
	stats passStats
	at    time.Time
}

// Rebalance runs one pass over the chunks this node holds that the
// metadata references. For each, it asks the chunk's owners under the
// current layout whether they hold it, sends a copy to every reachable
// owner that does not, and deletes the local copy when this node is not an
// owner and every owner now holds it. The same pass fills in copies lost
// with a dead node, moves chunks to a node that joined, and empties a
// draining node. A draining node that holds nothing referenced any more
// marks itself out. Tests call it directly; the node runs it in the
// background.
func (n *Node) Rebalance(ctx context.Context) {
	// Act on the newest committed layout, not on whatever the layout
	// callback delivered last: an operator's change must take effect in
	// the next pass.
	if l, err := n.meta.Layout(ctx); err == nil {
		n.setView(l)
	}
	v := n.currentView()
	if v.ring.Nodes() == 0 {
		return
	}
	var st passStats
	var batch []chunk.Hash
	flush := func() {
		n.rebalanceBatch(ctx, v, batch, &st)
		batch = batch[:0]
	}
	n.chunks.Walk(func(h chunk.Hash, _ int, _ time.Time) bool {
		batch = append(batch, h)
		if len(batch) == rebalanceBatch {
			flush()
		}
		return ctx.Err() == nil
	})
	if len(batch) > 0 {
		flush()
	}
	if ctx.Err() != nil {
		return
	}
	n.metrics.pending.Set(float64(st.pending))
	n.metrics.underRepl.Set(float64(st.underReplicated))
	n.pass.Store(&lastPass{stats: st, at: time.Now()})
	n.finishDrain(ctx, v, st)
}

// rebalanceBatch handles one batch of local chunks.
func (n *Node) rebalanceBatch(ctx context.Context, v *view, hs []chunk.Hash, st *passStats) {
	known, err := n.meta.KnownChunks(ctx, hs)
	if err != nil {
		n.log.Warn("rebalance: read metadata failed", "err", err)
		return
	}
	var refd []chunk.Hash
	for i, h := range hs {
		if known[i] { // unreferenced chunks are the sweeper's
			refd = append(refd, h)
		}
	}
	holders := n.askOwners(ctx, v, refd)
	for _, h := range refd {
		st.examined++
		n.placeOne(ctx, v, h, holders[h], st)
	}
}

// askOwners asks every reachable owner of the listed chunks which of them
// it holds, one request per owner. The result maps each chunk to the set
// of owners known to hold it; this node counts when it is an owner.
func (n *Node) askOwners(ctx context.Context, v *view, hs []chunk.Hash,
) map[chunk.Hash]map[placement.NodeID]bool {
	out := make(map[chunk.Hash]map[placement.NodeID]bool, len(hs))
	byNode := map[placement.NodeID][]chunk.Hash{}
	for _, h := range hs {
		out[h] = map[placement.NodeID]bool{}
		for _, id := range v.ring.Owners(h, v.replicas) {
			switch {
			case string(id) == n.id:
				out[h][id] = true
			case n.alive(id):
				byNode[id] = append(byNode[id], h)
			}
		}
	}
	for id, list := range byNode {
		addr, ok := v.apiAddr(id)
		if !ok {
			continue
		}
		bits, err := n.peers.haveBits(ctx, addr, pathHave, list)
		if err != nil {
			n.log.Warn("rebalance: ask owner failed", "peer", id, "err", err)
			continue
		}
		for i, held := range bits {
			if held {
				out[list[i]][id] = true
			}
		}
	}
	return out
}

// placeOne sends h to its owners that lack it and drops the local copy
// when this node is not an owner and all owners hold it.
func (n *Node) placeOne(ctx context.Context, v *view, h chunk.Hash,
	holders map[placement.NodeID]bool, st *passStats) {
	owners := v.ring.Owners(h, v.replicas)
	isOwner := false
	firstAlive := placement.NodeID("")
	for _, id := range owners {
		isOwner = isOwner || string(id) == n.id
		if firstAlive == "" && n.alive(id) {
			firstAlive = id
		}
	}
	if firstAlive == placement.NodeID(n.id) && len(holders) < len(owners) {
		st.underReplicated++
	}

	var missing []placement.NodeID
	for _, id := range owners {
		if !holders[id] && n.alive(id) {
			missing = append(missing, id)
		}
	}
	if len(missing) > 0 {
		n.copyTo(ctx, v, h, missing, holders, st)
	}
	done := len(holders) == len(owners)
	if !isOwner && done {
		if err := n.chunks.Delete(h); err != nil {
			n.log.Warn("rebalance: drop moved copy failed", "chunk", h, "err", err)
		} else {
			st.dropped++
			n.metrics.dropped.Inc()
			return
		}
	}
	// Still pending: an owner lacks the chunk, or this node keeps a copy
	// it does not own because not every owner could confirm theirs.
	if !done || !isOwner {
		st.pending++
	}
}

// copyTo sends the verified local copy of h to each node in to, recording
// in holders those that now hold it.
func (n *Node) copyTo(ctx context.Context, v *view, h chunk.Hash, to []placement.NodeID,
	holders map[placement.NodeID]bool, st *passStats) {
	size, ok := n.chunks.Size(h)
	if !ok {
		return
	}
	buf := getBuf(size)
	defer putBuf(buf)
	data, err := n.chunks.Get(ctx, h, buf[:0])
	if err != nil {
		n.log.Warn("rebalance: local copy unreadable", "chunk", h, "err", err)
		return
	}
	for _, id := range to {
		addr, ok := v.apiAddr(id)
		if !ok {
			continue
		}
		if err := n.peers.putChunk(ctx, addr, h, data); err != nil {
			n.log.Warn("rebalance: copy to owner failed", "chunk", h, "peer", id, "err", err)
			continue
		}
		holders[id] = true
		st.copied++
		n.metrics.moved.Inc()
		n.metrics.movedB.Add(float64(len(data)))
	}
}

// finishDrain marks this node out once it is draining and its last pass
// left nothing referenced here that is not where the layout wants it.
func (n *Node) finishDrain(ctx context.Context, v *view, st passStats) {
	me, ok := v.layout.Node(placement.NodeID(n.id))
	if !ok || me.State != placement.Draining || st.pending > 0 {
		return
	}
	if _, err := n.meta.SetNodeState(ctx, me.ID, placement.Out); err != nil {
		n.log.Warn("drain: mark self out failed", "err", err)
		return
	}
	n.log.Info("drain finished, node is out")
}
