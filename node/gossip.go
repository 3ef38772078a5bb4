package node

import (
	"bytes"
	"context"
	"fmt"
	"io"
	"log/slog"
	"net"
	"strconv"
	"sync"
	"time"

	"github.com/hashicorp/memberlist"

	"github.com/helixtrack/attachments/placement"
)

// membership tracks which members are reachable, by gossip
// (hashicorp/memberlist). Gossip only tells who is alive: it moves no data
// and changes no layout; the leader turns a long absence into a layout
// change through the metadata log.
type membership struct {
	ml  *memberlist.Memberlist
	log *slog.Logger

	mu sync.Mutex // guards down
	// down maps a member gossip declared dead or gone to when that
	// happened; a member that comes back is removed.
	down map[placement.NodeID]time.Time
}

// Gossip timings, tighter than memberlist's LAN defaults: clusters here are
// small, and a dead node should be noticed within a few seconds so that
// reads skip it and /console shows it.
const (
	gossipProbeInterval = 500 * time.Millisecond
	gossipProbeTimeout  = 300 * time.Millisecond
	gossipSuspicionMult = 3
)

// startMembership starts gossip on the node's gossip port and joins the
// members the layout lists.
func (n *Node) startMembership() error {
	host, portStr, _ := net.SplitHostPort(n.gossipAddr)
	port, _ := strconv.Atoi(portStr)
	m := &membership{log: n.root.With("component", "gossip"), down: map[placement.NodeID]time.Time{}}
	// memberlist takes IP addresses only; the config allows host names.
	bindIP, err := resolveIP(n.cfg.Service.Bind)
	if err != nil {
		return fmt.Errorf("start: gossip bind: %w", err)
	}
	advertiseIP, err := resolveIP(host)
	if err != nil {
		return fmt.Errorf("start: gossip advertise: %w", err)
	}

	c := memberlist.DefaultLANConfig()
	c.Name = n.id
	c.BindAddr = bindIP
	c.BindPort = port
	c.AdvertiseAddr = advertiseIP
	c.AdvertisePort = port
	c.ProbeInterval = gossipProbeInterval
	c.ProbeTimeout = gossipProbeTimeout
	c.SuspicionMult = gossipSuspicionMult
	c.Events = m
	c.LogOutput = debugWriter{m.log}
	ml, err := memberlist.Create(c)
	if err != nil {
		return fmt.Errorf("start: gossip on %s: %w", n.gossipAddr, err)
	}
	m.ml = ml
	n.members = m
	n.gossipJoin()
	return nil
}

// resolveIP returns host if it is an IP address, else the first address
// it resolves to, IPv4 preferred.
func resolveIP(host string) (string, error) {
	if net.ParseIP(host) != nil {
		return host, nil
	}
	ips, err := net.LookupIP(host)
	if err != nil {
		return "", fmt.Errorf("resolve %q: %w", host, err)
	}
	for _, ip := range ips {
		if ip.To4() != nil {
			return ip.String(), nil
		}
	}
	if len(ips) == 0 {
		return "", fmt.Errorf("resolve %q: no addresses", host)
	}
	return ips[0].String(), nil
}

// gossipJoin contacts the gossip address of every layout member that
// gossip does not know as alive.
func (n *Node) gossipJoin() {
	alive := map[string]bool{}
	for _, m := range n.members.ml.Members() {
		alive[m.Name] = true
	}
	var addrs []string
	for _, m := range n.currentView().layout.Nodes {
		if !alive[string(m.ID)] && m.GossipAddr != "" && m.State != placement.Out {
			addrs = append(addrs, m.GossipAddr)
		}
	}
	if len(addrs) == 0 {
		return
	}
	if _, err := n.members.ml.Join(addrs); err != nil {
		n.members.log.Debug("gossip join incomplete", "err", err)
	}
}

// maintainMembership keeps gossip joined to the layout's members and, on the
// leader, marks out members unreachable past the down-out interval.
func (n *Node) maintainMembership(ctx context.Context) {
	n.gossipJoin()
	if n.meta.IsLeader() {
		n.markOutDown(ctx)
	}
}

// markOutDown sets members that stayed down past the interval to Out, so
// the ring stops placing chunks on them and their copies are rebuilt.
func (n *Node) markOutDown(ctx context.Context) {
	limit := n.cfg.Cluster.DownOutInterval.Duration()
	for _, m := range n.currentView().layout.Nodes {
		since, down := n.members.downSince(m.ID)
		if !down || m.State == placement.Out || time.Since(since) < limit {
			continue
		}
		if _, err := n.meta.SetNodeState(ctx, m.ID, placement.Out); err != nil {
			n.log.Warn("mark down node out failed", "peer", m.ID, "err", err)
			continue
		}
		n.log.Info("node marked out after staying down", "peer", m.ID, "down_for", time.Since(since))
	}
}

// alive reports whether id is believed reachable: not declared dead by
// gossip. A member gossip never heard of counts as alive until proven
// otherwise, so a node that just joined is used at once.
func (n *Node) alive(id placement.NodeID) bool {
	if string(id) == n.id || n.members == nil {
		return true
	}
	_, down := n.members.downSince(id)
	return !down
}

func (m *membership) downSince(id placement.NodeID) (time.Time, bool) {
	m.mu.Lock()
	defer m.mu.Unlock()
	t, ok := m.down[id]
	return t, ok
}

// NotifyJoin implements memberlist.EventDelegate.
func (m *membership) NotifyJoin(nd *memberlist.Node) {
	m.mu.Lock()
	_, wasDown := m.down[placement.NodeID(nd.Name)]
	delete(m.down, placement.NodeID(nd.Name))
	m.mu.Unlock()
	if wasDown {
		m.log.Info("member back", "peer", nd.Name)
	}
}

// NotifyLeave implements memberlist.EventDelegate: a member failed or left.
func (m *membership) NotifyLeave(nd *memberlist.Node) {
	m.mu.Lock()
	m.down[placement.NodeID(nd.Name)] = time.Now()
	m.mu.Unlock()
	m.log.Warn("member unreachable", "peer", nd.Name)
}

// NotifyUpdate implements memberlist.EventDelegate.
func (m *membership) NotifyUpdate(*memberlist.Node) {}

// close leaves the gossip group, so peers learn at once that this node is
// going, and stops gossip.
func (m *membership) close() error {
	if err := m.ml.Leave(time.Second); err != nil {
		m.log.Debug("gossip leave incomplete", "err", err)
	}
	return m.ml.Shutdown()
}

// debugWriter forwards memberlist's log lines to slog at debug level.
type debugWriter struct{ log *slog.Logger }

func (w debugWriter) Write(p []byte) (int, error) {
	w.log.Debug("memberlist", "line", string(bytes.TrimSpace(p)))
	return len(p), nil
}

var _ io.Writer = debugWriter{}
