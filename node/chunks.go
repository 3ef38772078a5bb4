package node

import (
	"context"
	"errors"
	"fmt"

	"github.com/helixtrack/attachments/api"
	"github.com/helixtrack/attachments/chunk"
	"github.com/helixtrack/attachments/meta"
	"github.com/helixtrack/attachments/placement"
)

// readChunk returns the verified bytes of one chunk of a manifest, read
// into buf: from the local store when it holds a good copy, else from the
// chunk's owners, else from any other member (a layout change may not have
// moved it yet). A copy that fails verification is never returned; a bad
// local copy is replaced by the good one found elsewhere.
func (n *Node) readChunk(ctx context.Context, c meta.ChunkRef, buf []byte) ([]byte, error) {
	data, err := n.chunks.Get(ctx, c.Hash, buf)
	if err == nil && len(data) == int(c.Size) {
		return data, nil
	}
	localBad := err != nil && !errors.Is(err, chunk.ErrNotFound)
	if localBad {
		n.metrics.corrupt.Inc()
		n.log.Warn("local chunk copy failed verification", "chunk", c.Hash, "err", err)
	}

	data, from, rerr := n.readRemote(ctx, c, buf)
	if rerr != nil {
		n.log.Error("chunk unreadable on every node", "chunk", c.Hash, "err", rerr)
		return nil, fmt.Errorf("read chunk %s: %w: %w", c.Hash, rerr, api.ErrUnavailable)
	}
	if localBad || n.ownsChunk(c.Hash) {
		n.repairLocal(c.Hash, data, from)
	}
	return data, nil
}

// readRemote tries the chunk's owners, then every other alive member.
func (n *Node) readRemote(ctx context.Context, c meta.ChunkRef, buf []byte) (
	[]byte, placement.NodeID, error,
) {
	v := n.currentView()
	tried := map[placement.NodeID]bool{placement.NodeID(n.id): true}
	candidates := v.ring.Owners(c.Hash, v.replicas)
	for _, m := range v.layout.Nodes {
		candidates = append(candidates, m.ID)
	}
	var errs []error
	for _, id := range candidates {
		if tried[id] || !n.alive(id) {
			continue
		}
		tried[id] = true
		addr, ok := v.apiAddr(id)
		if !ok {
			continue
		}
		data, err := n.peers.getChunk(ctx, addr, c.Hash, buf)
		if err == nil && len(data) == int(c.Size) {
			return data, id, nil
		}
		if err == nil {
			err = fmt.Errorf("size %d, manifest says %d", len(data), c.Size)
		}
		errs = append(errs, fmt.Errorf("%s: %w", id, err))
	}
	if len(errs) == 0 {
		return nil, "", fmt.Errorf("no other node to read from: %w", chunk.ErrNotFound)
	}
	return nil, "", errors.Join(errs...)
}

// ownsChunk reports whether this node is an owner of h under the current
// layout.
func (n *Node) ownsChunk(h chunk.Hash) bool {
	v := n.currentView()
	for _, id := range v.ring.Owners(h, v.replicas) {
		if string(id) == n.id {
			return true
		}
	}
	return false
}

// repairLocal replaces a missing or bad local copy with verified bytes
// read from another node. The store checks the SHA-256 before it keeps
// them.
func (n *Node) repairLocal(h chunk.Hash, data []byte, from placement.NodeID) {
	if n.chunks.Has(h) {
		if err := n.chunks.Delete(h); err != nil {
			n.log.Warn("repair: drop bad copy failed", "chunk", h, "err", err)
			return
		}
	}
	if _, err := n.chunks.Put(n.bg, h, data); err != nil {
		n.log.Warn("repair: store good copy failed", "chunk", h, "err", err)
		return
	}
	n.metrics.repaired.Inc()
	n.log.Warn("chunk copy repaired", "chunk", h, "from", from)
}
