package meta

import (
	"context"
	"errors"
	"fmt"
	"sync"
	"testing"

	"github.com/hashicorp/raft"
)

// cluster is stores in one process on raft's in-memory transport.
// Followers reach the leader through the Forward and ReadIndex hooks, as
// nodes will over HTTP. Each node records the layouts OnLayout gives it.
type cluster struct {
	t       *testing.T
	mu      sync.Mutex
	nodes   []*Store // nil once closed
	layouts []*layoutRecorder
}

// leader returns the open store that leads, if any.
func (c *cluster) leader() *Store {
	c.mu.Lock()
	defer c.mu.Unlock()
	for _, s := range c.nodes {
		if s != nil && s.IsLeader() {
			return s
		}
	}
	return nil
}

func (c *cluster) forward(ctx context.Context, cmd []byte) ([]byte, error) {
	if l := c.leader(); l != nil {
		return l.ApplyEncoded(ctx, cmd)
	}
	return nil, ErrNotLeader
}

func (c *cluster) readIndex(ctx context.Context) (uint64, error) {
	if l := c.leader(); l != nil {
		return l.ReadIndex(ctx)
	}
	return 0, ErrNotLeader
}

// newCluster starts three nodes and adds n2 and n3 as voters. The last
// node gets no hooks, to show what a follower does without them.
func newCluster(t *testing.T) *cluster {
	c := startCluster(t, 3, func(i int) bool { return i < 2 })
	first := c.nodes[0]
	for _, s := range c.nodes[1:] {
		err := first.AddMember(testCtx(t), s.cfg.NodeID, string(s.trans.LocalAddr()))
		if err != nil {
			t.Fatalf("add member %s: %v", s.cfg.NodeID, err)
		}
	}
	return c
}

// startCluster opens n nodes, n1 bootstrapped and the others waiting to
// be added, on fully connected in-memory transports, and waits until n1
// leads. hooks says which nodes get the Forward and ReadIndex hooks.
func startCluster(t *testing.T, n int, hooks func(i int) bool) *cluster {
	c := &cluster{t: t}
	var trans []*raft.InmemTransport
	for i := range n {
		_, tr := raft.NewInmemTransport(raft.ServerAddress(fmt.Sprintf("node%d", i+1)))
		for _, other := range trans {
			tr.Connect(other.LocalAddr(), other)
			other.Connect(tr.LocalAddr(), tr)
		}
		trans = append(trans, tr)
	}
	t.Cleanup(func() {
		for i := range c.nodes {
			c.stop(i)
		}
	})
	for i, tr := range trans {
		rec := newLayoutRecorder()
		cfg := Config{
			Dir:       t.TempDir(),
			NodeID:    NodeID(fmt.Sprintf("n%d", i+1)),
			Bootstrap: i == 0,
			Logger:    testLogger(t).With("test_node", i+1),
			OnLayout:  rec.record,
		}
		if hooks(i) {
			cfg.Forward, cfg.ReadIndex = c.forward, c.readIndex
		}
		s, err := open(cfg, options{transport: tr, tune: clusterRaft})
		if err != nil {
			t.Fatalf("open node %d: %v", i+1, err)
		}
		c.mu.Lock()
		c.nodes = append(c.nodes, s)
		c.layouts = append(c.layouts, rec)
		c.mu.Unlock()
	}

	if err := c.nodes[0].WaitLeader(testCtx(t)); err != nil {
		t.Fatal(err)
	}
	return c
}

func (c *cluster) stop(i int) {
	c.mu.Lock()
	s := c.nodes[i]
	c.nodes[i] = nil
	c.mu.Unlock()
	if s != nil {
		_ = s.Close()
	}
}

func TestClusterReadsOnFollowersSeeLeaderWrites(t *testing.T) {
	c := newCluster(t)
	ctx := testCtx(t)
	leader, follower, bare := c.nodes[0], c.nodes[1], c.nodes[2]
	f1 := testFile(testChunk("a", 10), testChunk("b", 20))

	for i := range 20 {
		ref := testRef(fmt.Sprintf("r%02d", i), f1, "T-1", "o")
		if _, err := leader.CreateReference(ctx, ref, f1); err != nil {
			t.Fatal(err)
		}
		// Read-after-write on the follower, with no wait of our own.
		got, err := follower.Reference(ctx, ref.ID)
		if err != nil || got.FileHash != f1.Hash {
			t.Fatalf("follower read of %s: %+v, %v", ref.ID, got, err)
		}
	}

	// A write on the follower is forwarded to the leader.
	res, err := follower.CreateReference(ctx, testRef("fwd", f1, "T-1", "o"), f1)
	if err != nil || !res.Deduplicated {
		t.Fatalf("forwarded create: %+v, %v", res, err)
	}
	if _, err := leader.Reference(ctx, "fwd"); err != nil {
		t.Fatalf("leader read of forwarded write: %v", err)
	}
	_, err = follower.CreateReference(ctx, testRef("fwd", f1, "T-1", "o"), f1)
	if !errors.Is(err, ErrExists) {
		t.Fatalf("forwarded rejection: got %v, want ErrExists", err)
	}

	// Without hooks a follower refuses rather than serve stale data.
	if _, err := bare.Reference(ctx, "r00"); !errors.Is(err, ErrNotLeader) {
		t.Fatalf("read on follower without hook: got %v, want ErrNotLeader", err)
	}
	if _, err := bare.DeleteReference(ctx, "r00"); !errors.Is(err, ErrNotLeader) {
		t.Fatalf("write on follower without hook: got %v, want ErrNotLeader", err)
	}
	requireReplicasEqual(t, c)
}

// TestClusterLeaderFailover stops the leader; the others elect a new one
// and lose no acknowledged write.
func TestClusterLeaderFailover(t *testing.T) {
	c := newCluster(t)
	ctx := testCtx(t)
	f1 := testFile(testChunk("a", 10))
	for i := range 10 {
		ref := testRef(fmt.Sprintf("r%d", i), f1, "T", "")
		if _, err := c.nodes[1].CreateReference(ctx, ref, f1); err != nil {
			t.Fatal(err)
		}
	}
	c.stop(0)

	survivor := c.nodes[1]
	waitLeaderOtherThan(t, survivor, "n1")
	if err := survivor.WaitLeader(ctx); err != nil {
		t.Fatal(err)
	}
	if _, err := survivor.CreateReference(ctx, testRef("after", f1, "T", ""), f1); err != nil {
		t.Fatalf("write after failover: %v", err)
	}
	refs, _, err := survivor.ListEntity(ctx, "ticket", "T", "", 100)
	if err != nil || len(refs) != 11 {
		t.Fatalf("references after failover: %d, %v", len(refs), err)
	}
	requireReplicasEqual(t, c)
}

// requireReplicasEqual brings every open node to the leader's read index
// and compares their states byte for byte.
func requireReplicasEqual(t *testing.T, c *cluster) {
	t.Helper()
	ctx := testCtx(t)
	leader := c.leader()
	if leader == nil {
		t.Fatal("no leader")
	}
	idx, err := leader.ReadIndex(ctx)
	if err != nil {
		t.Fatal(err)
	}
	for _, s := range c.nodes {
		if s == nil {
			continue
		}
		if err := s.WaitApplied(ctx, idx); err != nil {
			t.Fatal(err)
		}
		if err := s.fsm.verify(); err != nil {
			t.Fatalf("node %s: %v", s.cfg.NodeID, err)
		}
		requireSameState(t, "node "+string(s.cfg.NodeID), leader.fsm, s.fsm)
	}
}

// waitLeaderOtherThan waits, on s's leader change notifications, until s
// knows a leader other than old.
func waitLeaderOtherThan(t *testing.T, s *Store, old NodeID) {
	t.Helper()
	ctx := testCtx(t)
	for {
		changed := s.leaderWatch()
		if id, _ := s.Leader(); id != "" && id != old {
			return
		}
		select {
		case <-changed:
		case <-ctx.Done():
			t.Fatalf("no leader other than %s: %v", old, ctx.Err())
		}
	}
}
