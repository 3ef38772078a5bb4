package node_test

import (
	"bytes"
	"context"
	"errors"
	"net/http"
	"sort"
	"testing"
	"time"

	"github.com/helixtrack/attachments/api"
	"github.com/helixtrack/attachments/chunk"
	"github.com/helixtrack/attachments/meta"
	"github.com/helixtrack/attachments/node"
)

// requireFullStatus checks a healthy cluster's status as node i sees it:
// every member listed once, in id order, alive, a voter, with its own
// figures fetched from it, and exactly one leader.
func requireFullStatus(t *testing.T, tc *testCluster, i int, chunksEach int64) node.ClusterStatus {
	t.Helper()
	st := tc.status(i)
	if len(st.Nodes) != len(tc.nodes) || st.Replicas != 3 {
		t.Fatalf("status: %d nodes, replicas %d", len(st.Nodes), st.Replicas)
	}
	if v := tc.nodes[i].n.Meta().LocalLayout().Version; st.LayoutVersion != v {
		t.Errorf("status layout version %d, node holds %d", st.LayoutVersion, v)
	}
	byID := func(a, b int) bool { return st.Nodes[a].ID < st.Nodes[b].ID }
	if !sort.SliceIsSorted(st.Nodes, byID) {
		t.Errorf("status nodes not in id order")
	}
	leaders := 0
	for _, ns := range st.Nodes {
		if ns.Leader {
			leaders++
			if string(ns.ID) != st.Leader {
				t.Errorf("node %s flagged leader, status names %s", ns.ID, st.Leader)
			}
		}
		if !ns.Alive || !ns.Voter || ns.Error != "" || ns.Stats == nil {
			t.Fatalf("member %s: alive %v voter %v error %q stats %v",
				ns.ID, ns.Alive, ns.Voter, ns.Error, ns.Stats)
		}
		if ns.Stats.Chunks != chunksEach || ns.Stats.FreeBytes <= 0 {
			t.Errorf("member %s stats %+v, want %d chunks", ns.ID, *ns.Stats, chunksEach)
		}
	}
	if leaders != 1 {
		t.Errorf("%d members flagged leader", leaders)
	}
	return st
}

// TestFollowerRetriesAcrossLeaderLoss stops the metadata leader. Writes
// and linearizable reads through a follower keep working: the follower
// retries its forward and read index until a new leader answers. The
// status then shows the stopped member without figures. With a quorum
// gone too, writes and status fail as unavailable instead of hanging.
func TestFollowerRetriesAcrossLeaderLoss(t *testing.T) {
	tc := startCluster(t, 3, nil)
	tok := tc.nodes[0].token("alice", "read", "write")
	first := randomBytes(50, 40_000)
	f0 := tc.nodes[1].upload(tok, "ticket", "T-1", "before", first)
	h, _ := chunk.ParseHash(f0.FileHash)
	waitFor(t, func() bool { return len(tc.copies([]chunk.Hash{h}, 0, 1, 2)) == 3 },
		"three copies of the first upload")
	st := requireFullStatus(t, tc, 1, 1)

	// A follower refuses the leader's side of a read, naming why, so that
	// the asking node knows to retry elsewhere.
	for _, tn := range tc.nodes {
		if tn.n.NodeID() == st.Leader {
			continue
		}
		admin := tn.token("node/peer", "admin")
		code, _ := tn.internalCall("GET", "/internal/meta/readindex", admin, nil, nil)
		name := tn.metaErrorName("GET", "/internal/meta/readindex", admin, "")
		if code != http.StatusServiceUnavailable || name != "not_leader" {
			t.Errorf("read index on follower %s: %d %q, want 503 not_leader",
				tn.n.NodeID(), code, name)
		}
	}

	leader := -1
	for i, tn := range tc.nodes {
		if tn.n.NodeID() == st.Leader {
			leader = i
		}
	}
	if leader < 0 {
		t.Fatalf("leader %q is none of the nodes", st.Leader)
	}
	var alive []int
	for i := range tc.nodes {
		if i != leader {
			alive = append(alive, i)
		}
	}
	a, b := tc.nodes[alive[0]], tc.nodes[alive[1]]
	tc.nodes[leader].n.Close()

	second := randomBytes(51, 40_000)
	f1 := a.upload(tok, "ticket", "T-1", "after", second)
	if got := b.download(tok, f1.ID); !bytes.Equal(got, second) {
		t.Fatal("write through a follower after leader loss reads back wrong")
	}
	if got := b.download(tok, f0.ID); !bytes.Equal(got, first) {
		t.Fatal("write from before the leader loss reads back wrong")
	}

	st = tc.status(alive[0])
	if st.Leader == "" || st.Leader == tc.nodes[leader].n.NodeID() {
		t.Errorf("leader after loss: %q", st.Leader)
	}
	for _, ns := range st.Nodes {
		stopped := string(ns.ID) == tc.nodes[leader].n.NodeID()
		if stopped && (ns.Stats != nil || ns.Error == "" || ns.Leader) {
			t.Errorf("stopped member: stats %v error %q leader %v", ns.Stats, ns.Error, ns.Leader)
		}
		if !stopped && ns.Stats == nil {
			t.Errorf("live member %s without figures: %s", ns.ID, ns.Error)
		}
	}

	// One node of three left: no quorum.
	b.n.Close()
	ctx, cancel := context.WithTimeout(context.Background(), 1500*time.Millisecond)
	defer cancel()
	_, err := a.n.Meta().DeleteReference(ctx, meta.RefID(f0.ID))
	if !errors.Is(err, meta.ErrTimeout) && !errors.Is(err, meta.ErrNotLeader) {
		t.Fatalf("write without quorum: %v, want ErrTimeout or ErrNotLeader", err)
	}
	ctx, cancel = context.WithTimeout(context.Background(), 1500*time.Millisecond)
	defer cancel()
	if _, err := a.n.ClusterStatus(ctx); !errors.Is(err, api.ErrUnavailable) {
		t.Fatalf("status without quorum: %v, want ErrUnavailable", err)
	}
}
