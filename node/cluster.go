package node

import (
	"context"
	"errors"
	"fmt"
	"net"
	"strings"
	"time"

	"github.com/helixtrack/attachments/meta"
	"github.com/helixtrack/attachments/placement"
)

// gossipPortOffset: when the config names no gossip port, gossip listens
// this far above the API port.
const gossipPortOffset = 2000

// view is the placement a node acts on: one committed layout and the ring
// computed from it. It is replaced whole when a new layout is applied, so
// a request sees one consistent layout from start to end.
type view struct {
	layout   placement.Layout
	ring     *placement.Ring
	replicas int // copies per chunk under this layout
	quorum   int // copies that must be durable before a write is acknowledged
}

func newView(l placement.Layout) *view {
	r := l.EffectiveReplicas()
	return &view{layout: l, ring: placement.NewRing(l), replicas: r, quorum: r/2 + 1}
}

// apiAddr returns the API address of node id under this layout.
func (v *view) apiAddr(id placement.NodeID) (string, bool) {
	n, ok := v.layout.Node(id)
	return n.APIAddr, ok && n.APIAddr != ""
}

// currentView returns the placement in force; never nil after Start.
func (n *Node) currentView() *view { return n.view.Load() }

// onLayout is the metadata store's callback for every applied layout.
func (n *Node) onLayout(l placement.Layout) { n.setView(l) }

// setView installs l unless a layout at least as new is in force: the
// callback and a caller refreshing after its own change may race, and the
// view must never go back.
func (n *Node) setView(l placement.Layout) {
	nv := newView(l)
	for {
		old := n.view.Load()
		if old != nil && old.layout.Version >= l.Version {
			return
		}
		if n.view.CompareAndSwap(old, nv) {
			break
		}
	}
	n.log.Info("layout applied", "version", l.Version, "nodes", len(l.Nodes),
		"replicas", l.EffectiveReplicas())
	if _, ok := l.Node(placement.NodeID(n.id)); !ok && l.Version > 0 && n.ready.Load() {
		n.log.Warn("this node was removed from the cluster layout; stop it, " +
			"or clear its data directory to join again as a new node")
	}
	n.kickRebalance()
}

// self describes this node as the layout records it.
func (n *Node) self() placement.Node {
	return placement.Node{
		ID:         placement.NodeID(n.id),
		APIAddr:    n.addr,
		RaftAddr:   n.raftAddr,
		GossipAddr: n.gossipAddr,
		Zone:       n.cfg.Cluster.Zone,
		Weight:     n.cfg.Cluster.Weight,
	}
}

// derivedPort returns configured, or base+offset when configured is 0.
func derivedPort(configured, base, offset int) (int, error) {
	if configured != 0 {
		return configured, nil
	}
	if base+offset > 65535 {
		return 0, fmt.Errorf("port %d + %d is not a port; set it in the config", base, offset)
	}
	return base + offset, nil
}

// leaderAPI returns the API address of the current metadata leader.
func (n *Node) leaderAPI() (string, error) {
	id, _ := n.meta.Leader()
	if id == "" {
		return "", errNoLeader
	}
	if addr, ok := n.currentView().apiAddr(id); ok {
		return addr, nil
	}
	return "", fmt.Errorf("leader %s has no API address in the layout: %w", id, errNoLeader)
}

// forwardRetry is how long a follower keeps trying to reach a leader for
// one command or read index, across an election.
const forwardRetry = 10 * time.Second

// forward sends an encoded command to the leader (the meta store's Forward
// hook). While no leader is known, or the one known refuses because it
// stepped down, it retries: such a command was never appended, so sending
// it again cannot apply it twice.
//
// A failure after the command was sent (the leader died mid-request) is
// not retried: the command may have been applied, and the caller learns
// that the outcome is unknown (meta.ErrTimeout, a 503 to clients).
func (n *Node) forward(ctx context.Context, cmd []byte) ([]byte, error) {
	var res []byte
	err := n.retryLeader(ctx, func(addr string) error {
		var err error
		res, err = n.peers.apply(ctx, addr, cmd)
		return err
	})
	if err != nil && isTransportErr(err) && !retryableLeaderErr(err) {
		err = fmt.Errorf("%w: forward to leader: %w", meta.ErrTimeout, err)
	}
	return res, err
}

// isTransportErr reports whether err came from the connection rather than
// from an answer of the peer.
func isTransportErr(err error) bool {
	var se *peerStatusError
	return err != nil && !errors.As(err, &se)
}

// readIndex asks the leader for its read index (the meta store's ReadIndex
// hook).
//
// Asking for a read index changes nothing, so any transport failure is
// retried, like a refusal from a node that is no longer the leader.
func (n *Node) readIndex(ctx context.Context) (uint64, error) {
	var idx uint64
	err := n.retryLeader(ctx, func(addr string) error {
		var err error
		idx, err = n.peers.readIndex(ctx, addr)
		if isTransportErr(err) && ctx.Err() == nil {
			err = fmt.Errorf("%w: %w", errNoLeader, err)
		}
		return err
	})
	return idx, err
}

// retryLeader calls fn with the leader's address until it succeeds, fails
// with an error other than "not the leader" or "connection refused", or
// forwardRetry passes.
func (n *Node) retryLeader(ctx context.Context, fn func(addr string) error) error {
	deadline := time.Now().Add(forwardRetry)
	for wait := 20 * time.Millisecond; ; wait = min(2*wait, 500*time.Millisecond) {
		addr, err := n.leaderAPI()
		if err == nil {
			err = fn(addr)
		}
		if err == nil || !retryableLeaderErr(err) || time.Now().After(deadline) {
			if errors.Is(err, errNoLeader) {
				err = fmt.Errorf("%w: %w", meta.ErrNotLeader, err)
			}
			return err
		}
		select {
		case <-ctx.Done():
			return fmt.Errorf("%w: %w", meta.ErrTimeout, ctx.Err())
		case <-time.After(wait):
		}
	}
}

// retryableLeaderErr: the command or query certainly did not take effect,
// and another leader may take it.
func retryableLeaderErr(err error) bool {
	if errors.Is(err, errNoLeader) || errors.Is(err, meta.ErrNotLeader) {
		return true
	}
	var op *net.OpError
	return errors.As(err, &op) && op.Op == "dial"
}

// joinCluster asks the members in addrs, in turn, to admit this node,
// until one does or ctx ends.
func (n *Node) joinCluster(ctx context.Context, addrs []string) error {
	for wait := 100 * time.Millisecond; ; wait = min(2*wait, 2*time.Second) {
		var errs []error
		for _, a := range addrs {
			err := n.peers.join(ctx, normalizeAddr(a), n.joinRequest())
			if err == nil {
				n.log.Info("joined cluster", "through", a)
				return nil
			}
			errs = append(errs, err)
		}
		n.log.Warn("join failed, retrying", "err", errors.Join(errs...))
		select {
		case <-ctx.Done():
			return fmt.Errorf("join: %w", errors.Join(append(errs, ctx.Err())...))
		case <-time.After(wait):
		}
	}
}

// normalizeAddr turns "host:port" into "http://host:port".
func normalizeAddr(a string) string {
	a = strings.TrimRight(strings.TrimSpace(a), "/")
	if !strings.Contains(a, "://") {
		a = "http://" + a
	}
	return a
}

// joinRequest asks for this node to be admitted. The node that founds a
// cluster is active whatever auto_add says: a cluster needs one owner.
func (n *Node) joinRequest() joinRequest {
	founder := len(n.cfg.Cluster.Join) == 0 && len(n.knownPeers()) == 0
	return joinRequest{Node: n.self(), AutoAdd: n.cfg.Cluster.AutoAdd || founder}
}

// admit adds a node to the Raft group and to the layout, active or
// waiting as the request says. A follower passes the request on to the
// leader.
func (n *Node) admit(ctx context.Context, req joinRequest) error {
	if !n.meta.IsLeader() {
		return n.retryLeader(ctx, func(addr string) error {
			return n.peers.join(ctx, addr, req)
		})
	}
	id := req.Node.ID
	if err := n.meta.AddMember(ctx, id, req.Node.RaftAddr); err != nil {
		return fmt.Errorf("admit %s: %w", id, err)
	}
	if _, err := n.meta.JoinNode(ctx, req.Node, req.AutoAdd); err != nil {
		return fmt.Errorf("admit %s: layout: %w", id, err)
	}
	return nil
}

// registerSelf makes sure the layout holds this node with its current
// addresses, which may have changed since the last start, and that a new
// cluster records its replication factor.
func (n *Node) registerSelf(ctx context.Context) error {
	if err := n.admit(ctx, n.joinRequest()); err != nil {
		return err
	}
	l, err := n.meta.Layout(ctx)
	if err != nil {
		return err
	}
	n.setView(l)
	if r := n.cfg.Cluster.Replicas; r != 0 && l.Replicas == 0 && n.meta.IsLeader() {
		l, err := n.meta.SetReplicas(ctx, r)
		if err != nil {
			return fmt.Errorf("set replicas: %w", err)
		}
		n.setView(l)
	}
	return nil
}

// knownPeers returns the API addresses of the other nodes in the local
// layout, for a restarted node to rejoin through.
func (n *Node) knownPeers() []string {
	var out []string
	for _, m := range n.meta.LocalLayout().Nodes {
		if string(m.ID) != n.id && m.APIAddr != "" {
			out = append(out, m.APIAddr)
		}
	}
	return out
}
