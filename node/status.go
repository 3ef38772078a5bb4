package node

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"net/http"
	"sort"
	"sync"
	"syscall"
	"time"

	"github.com/helixtrack/attachments/api"
	"github.com/helixtrack/attachments/meta"
	"github.com/helixtrack/attachments/placement"
)

// NodeStats are one node's own figures, served to the cluster status.
type NodeStats struct {
	Chunks      int64 `json:"chunks"`
	StoredBytes int64 `json:"stored_bytes"`
	DiskBytes   int64 `json:"disk_bytes"`
	FreeBytes   int64 `json:"free_bytes"`
	// UnderReplicated and PendingMoves come from the last rebalance pass.
	UnderReplicated int       `json:"under_replicated"`
	PendingMoves    int       `json:"pending_moves"`
	LastPass        time.Time `json:"last_pass,omitzero"`
}

// localStatus gathers this node's figures.
func (n *Node) localStatus() NodeStats {
	st := n.chunks.Stats()
	out := NodeStats{Chunks: st.Chunks, StoredBytes: st.StoredBytes, DiskBytes: st.DiskBytes}
	var fs syscall.Statfs_t
	if syscall.Statfs(n.dataDir, &fs) == nil {
		out.FreeBytes = int64(fs.Bavail) * int64(fs.Bsize)
	}
	if p := n.pass.Load(); p != nil {
		out.UnderReplicated = p.stats.underReplicated
		out.PendingMoves = p.stats.pending
		out.LastPass = p.at
	}
	return out
}

// NodeStatus is one member in the cluster status.
type NodeStatus struct {
	placement.Node
	Alive  bool       `json:"alive"`
	Leader bool       `json:"leader"`
	Voter  bool       `json:"voter"`
	Stats  *NodeStats `json:"stats,omitempty"`
	Error  string     `json:"error,omitempty"`
}

// ClusterStatus is the answer of GET /v1/admin/cluster.
type ClusterStatus struct {
	Leader          string       `json:"leader"`
	LayoutVersion   uint64       `json:"layout_version"`
	Replicas        int          `json:"replicas"`
	Nodes           []NodeStatus `json:"nodes"`
	UnderReplicated int          `json:"under_replicated"`
	PendingMoves    int          `json:"pending_moves"`
}

// statusTimeout bounds the wait for each member's figures, so a dead
// member shows as an error instead of stalling the whole answer.
const statusTimeout = 2 * time.Second

// ClusterStatus implements api.Admin.
func (n *Node) ClusterStatus(ctx context.Context) (any, error) {
	l, err := n.meta.Layout(ctx)
	if err != nil {
		return nil, fmt.Errorf("cluster status: %w", mapMetaErr(err))
	}
	voters := map[placement.NodeID]bool{}
	if members, err := n.meta.Members(ctx); err == nil {
		for _, m := range members {
			voters[m.ID] = m.Voter
		}
	}
	leader, _ := n.meta.Leader()
	out := ClusterStatus{Leader: string(leader), LayoutVersion: l.Version,
		Replicas: l.EffectiveReplicas(), Nodes: make([]NodeStatus, len(l.Nodes))}

	var wg sync.WaitGroup
	for i, m := range l.Nodes {
		out.Nodes[i] = NodeStatus{Node: m, Alive: n.alive(m.ID), Leader: m.ID == leader, Voter: voters[m.ID]}
		wg.Add(1)
		go func() {
			defer wg.Done()
			n.fillStats(ctx, &out.Nodes[i])
		}()
	}
	wg.Wait()
	for _, ns := range out.Nodes {
		if ns.Stats != nil {
			out.UnderReplicated += ns.Stats.UnderReplicated
			out.PendingMoves += ns.Stats.PendingMoves
		}
	}
	sort.Slice(out.Nodes, func(i, j int) bool { return out.Nodes[i].ID < out.Nodes[j].ID })
	return out, nil
}

// fillStats asks one member for its figures.
func (n *Node) fillStats(ctx context.Context, ns *NodeStatus) {
	if string(ns.ID) == n.id {
		st := n.localStatus()
		ns.Stats = &st
		return
	}
	if !ns.Alive {
		ns.Error = "unreachable"
		return
	}
	ctx, cancel := context.WithTimeout(ctx, statusTimeout)
	defer cancel()
	resp, err := n.peers.do(ctx, http.MethodGet, ns.APIAddr, pathNodeStats, nil, nil)
	if err != nil {
		ns.Error = err.Error()
		return
	}
	defer resp.Body.Close()
	var st NodeStats
	if err := json.NewDecoder(io.LimitReader(resp.Body, 1<<20)).Decode(&st); err != nil {
		ns.Error = err.Error()
		return
	}
	ns.Stats = &st
}

// NodeAction implements api.Admin. Layout changes go through the metadata
// log from any node; removal also changes the Raft group, which only the
// leader can do, so a follower passes it on.
func (n *Node) NodeAction(ctx context.Context, id, action string) error {
	nid := placement.NodeID(id)
	var err error
	switch action {
	case "add":
		_, err = n.meta.SetNodeState(ctx, nid, placement.Active)
	case "drain":
		err = n.drainNode(ctx, nid)
	case "remove":
		err = n.removeNode(ctx, nid)
	default:
		return fmt.Errorf("node action %q: %w", action, api.ErrConflict)
	}
	if errors.Is(err, meta.ErrInvalid) {
		return api.PublicError(api.ErrConflict, "node %s %s: %v", id, action, err)
	}
	return mapMetaErr(err)
}

// drainNode starts moving everything off node id. It is refused when id
// is the last active node: nothing could take its chunks, and every
// upload would fail until an operator added a node back.
func (n *Node) drainNode(ctx context.Context, id placement.NodeID) error {
	l, err := n.meta.Layout(ctx)
	if err != nil {
		return err
	}
	m, ok := l.Node(id)
	if !ok {
		return fmt.Errorf("node %s: %w", id, meta.ErrNotFound)
	}
	if active := l.Active(); m.State == placement.Active && len(active) == 1 {
		return api.PublicError(api.ErrConflict,
			"node %s is the only active node; add another before draining it", id)
	}
	_, err = n.meta.SetNodeState(ctx, id, placement.Draining)
	return err
}

// removeNode forgets a node that is out: the layout drops it, and Raft
// drops it from the group (promoting a non-voter if a voter left). It is
// refused while the node is active or draining, and while a reachable
// node still holds chunks that are not where the layout wants them.
func (n *Node) removeNode(ctx context.Context, id placement.NodeID) error {
	l, err := n.meta.Layout(ctx)
	if err != nil {
		return err
	}
	m, ok := l.Node(id)
	if !ok {
		return fmt.Errorf("node %s: %w", id, meta.ErrNotFound)
	}
	if m.State != placement.Out {
		return api.PublicError(api.ErrConflict,
			"node %s is %s; drain it first and wait until it is out", id, m.State)
	}
	ns := NodeStatus{Node: m, Alive: n.alive(id)}
	n.fillStats(ctx, &ns)
	if ns.Stats != nil && ns.Stats.PendingMoves > 0 {
		return api.PublicError(api.ErrConflict,
			"node %s still holds %d chunks not yet copied to their owners", id, ns.Stats.PendingMoves)
	}
	if !n.meta.IsLeader() {
		return n.retryLeader(ctx, func(addr string) error {
			return n.peers.removeMember(ctx, addr, id)
		})
	}
	return n.forgetNode(ctx, id)
}

// forgetNode removes id from the layout and then from the Raft group;
// leader only. The layout goes first because a leader removing itself
// stops leading once its removal from Raft commits, and could not commit
// the layout change after that.
func (n *Node) forgetNode(ctx context.Context, id placement.NodeID) error {
	if _, err := n.meta.RemoveNode(ctx, id); err != nil {
		return fmt.Errorf("remove %s from layout: %w", id, err)
	}
	if err := n.meta.RemoveMember(ctx, id); err != nil {
		return fmt.Errorf("remove %s from raft: %w", id, err)
	}
	n.log.Info("node removed", "peer", id)
	return nil
}
