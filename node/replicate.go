package node

import (
	"context"
	"errors"
	"fmt"
	"sync"
	"sync/atomic"

	"github.com/helixtrack/attachments/api"
	"github.com/helixtrack/attachments/chunk"
	"github.com/helixtrack/attachments/placement"
)

// sharedBuf is a pooled chunk buffer read by several senders; the last to
// release it returns it to the pool. Writes are acknowledged once a quorum
// of copies is durable, while the slower copies keep sending from the
// same buffer.
type sharedBuf struct {
	b    []byte
	refs atomic.Int32
}

func newSharedBuf(b []byte) *sharedBuf {
	s := &sharedBuf{b: b}
	s.refs.Store(1)
	return s
}

func (s *sharedBuf) retain() { s.refs.Add(1) }

func (s *sharedBuf) release() {
	if s.refs.Add(-1) == 0 {
		putBuf(s.b)
	}
}

// writeTargets returns the nodes a new chunk goes to: its owners under the
// current layout that gossip believes alive, and, when fewer than a quorum
// of them are, the next alive nodes of the ring as stand-ins. The
// rebalancer later moves a stand-in's copy to the true owners.
func (n *Node) writeTargets(v *view, h chunk.Hash) []placement.NodeID {
	all := v.ring.Owners(h, v.ring.Nodes())
	var out []placement.NodeID
	for i, id := range all {
		if i >= v.replicas && len(out) >= v.quorum {
			break
		}
		if n.alive(id) {
			out = append(out, id)
		}
	}
	return out
}

// storeChunk writes one chunk to its targets in parallel and returns once
// a quorum of them holds it durably. Copies still in flight finish in the
// background, owned by the node; the buffer is released when the last one
// is done. It fails when the quorum can no longer be reached.
func (n *Node) storeChunk(ctx context.Context, h chunk.Hash, buf *sharedBuf) error {
	v := n.currentView()
	targets := n.writeTargets(v, h)
	if len(targets) == 1 && string(targets[0]) == n.id {
		_, err := n.chunks.Put(ctx, h, buf.b)
		return err
	}
	if len(targets) < v.quorum {
		return fmt.Errorf("store chunk %s: %d reachable nodes, quorum is %d: %w",
			h, len(targets), v.quorum, api.ErrUnavailable)
	}

	known := n.meta.HasChunkLocal(h)
	results := make(chan error, len(targets))
	for _, id := range targets {
		if !n.sendSlot(id) {
			results <- fmt.Errorf("node %s has %d copies in flight already", id, maxCopiesInFlight)
			continue
		}
		buf.retain()
		n.inflight.Add(1)
		go func() {
			defer n.inflight.Done()
			defer n.releaseSlot(id)
			defer buf.release()
			results <- n.sendCopy(v, id, h, buf.b, known)
		}()
	}
	return awaitQuorum(ctx, results, len(targets), v.quorum, h)
}

// maxCopiesInFlight bounds the chunk copies on their way to one node. A
// node that stopped answering (paused, partitioned) would otherwise
// collect one goroutine and one chunk buffer per chunk written until its
// requests time out; past the bound its copies are skipped and left to
// the rebalancer.
const maxCopiesInFlight = 32

// sendSlot reserves one of node id's in-flight copy slots.
func (n *Node) sendSlot(id placement.NodeID) bool {
	v, _ := n.copySlots.LoadOrStore(id, new(atomic.Int32))
	c := v.(*atomic.Int32)
	if c.Add(1) > maxCopiesInFlight {
		c.Add(-1)
		return false
	}
	return true
}

func (n *Node) releaseSlot(id placement.NodeID) {
	if v, ok := n.copySlots.Load(id); ok {
		v.(*atomic.Int32).Add(-1)
	}
}

// sendCopy makes sure node id holds h. When the metadata already knows the
// chunk, the owner most likely holds it: a touch (a few bytes) confirms it
// and protects it from the sweeper, and the bytes are sent only when the
// owner turns out to lack them. Either way the copy is durable on return.
func (n *Node) sendCopy(v *view, id placement.NodeID, h chunk.Hash, data []byte, known bool) error {
	if known && string(id) != n.id {
		if addr, ok := v.apiAddr(id); ok {
			bits, err := n.peers.haveBits(n.bg, addr, pathTouch, []chunk.Hash{h})
			if err == nil && bits[0] {
				return nil
			}
		}
	}
	return n.putCopy(v, id, h, data)
}

// awaitQuorum reads results until quorum successes, or until so many
// failed that quorum is out of reach.
func awaitQuorum(ctx context.Context, results <-chan error, total, quorum int, h chunk.Hash) error {
	var ok, failed int
	var errs []error
	for ok < quorum {
		select {
		case err := <-results:
			if err == nil {
				ok++
				continue
			}
			failed++
			errs = append(errs, err)
			if total-failed < quorum {
				return fmt.Errorf("store chunk %s: %d of %d copies failed: %w: %w",
					h, failed, total, errors.Join(errs...), api.ErrUnavailable)
			}
		case <-ctx.Done():
			return fmt.Errorf("store chunk %s: %w", h, ctx.Err())
		}
	}
	return nil
}

// putCopy stores one copy on node id, locally or through its API. It uses
// the node's background context, not the request's: a copy that outlives
// its request's quorum still completes.
func (n *Node) putCopy(v *view, id placement.NodeID, h chunk.Hash, data []byte) error {
	if string(id) == n.id {
		_, err := n.chunks.Put(n.bg, h, data)
		return err
	}
	addr, ok := v.apiAddr(id)
	if !ok {
		return fmt.Errorf("node %s has no address", id)
	}
	return n.peers.putChunk(n.bg, addr, h, data)
}

// touchAll refreshes the touch time of every chunk of a manifest on the
// nodes that own it, so that no sweeper deletes them for a grace period.
// It fails when some chunk is held by none of its reachable owners.
func (n *Node) touchAll(ctx context.Context, hs []chunk.Hash) error {
	v := n.currentView()
	byNode := map[placement.NodeID][]chunk.Hash{}
	for _, h := range hs {
		for _, id := range n.writeTargets(v, h) {
			byNode[id] = append(byNode[id], h)
		}
	}
	// Owners are asked in parallel, so one slow or paused owner costs one
	// timeout, not one per owner.
	held := make(map[chunk.Hash]bool, len(hs))
	var mu sync.Mutex
	var wg sync.WaitGroup
	for id, list := range byNode {
		wg.Add(1)
		go func() {
			defer wg.Done()
			bits, err := n.touchOn(ctx, v, id, list)
			if err != nil {
				n.log.Warn("touch chunks on peer failed", "peer", id, "err", err)
				return
			}
			mu.Lock()
			defer mu.Unlock()
			for i, ok := range bits {
				if ok {
					held[list[i]] = true
				}
			}
		}()
	}
	wg.Wait()
	for _, h := range hs {
		if !held[h] {
			return fmt.Errorf("touch %s: %w", h, errChunkGone)
		}
	}
	return nil
}

// touchOn touches hs on node id and reports which it holds.
func (n *Node) touchOn(ctx context.Context, v *view, id placement.NodeID, hs []chunk.Hash) ([]bool, error) {
	if string(id) == n.id {
		out := make([]bool, len(hs))
		for i, h := range hs {
			out[i] = n.chunks.Touch(h)
		}
		return out, nil
	}
	addr, ok := v.apiAddr(id)
	if !ok {
		return nil, fmt.Errorf("node %s has no address", id)
	}
	return n.peers.haveBits(ctx, addr, pathTouch, hs)
}
