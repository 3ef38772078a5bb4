package meta

import (
	"errors"
	"testing"

	"github.com/helixtrack/attachments/placement"
)

// TestFollowerRefusesLeaderWork checks what a follower does with the
// leader's side of forwarding and with reads and writes when it has no
// hooks: it refuses with ErrNotLeader (safe to retry elsewhere) and
// applies nothing. Bytes that are not a command are refused as invalid
// before leadership matters.
func TestFollowerRefusesLeaderWork(t *testing.T) {
	c := newCluster(t)
	ctx := testCtx(t)
	leader, follower, bare := c.nodes[0], c.nodes[1], c.nodes[2]
	f := testFile(testChunk("a", 10))
	mustCreate(t, leader, testRef("r1", f, "T", "o"), f)

	cmd, err := encodeCommand(&command{Kind: kindDelete, Now: t0, ID: "r1"})
	if err != nil {
		t.Fatal(err)
	}
	if _, err := follower.ApplyEncoded(ctx, cmd); !errors.Is(err, ErrNotLeader) {
		t.Fatalf("ApplyEncoded on a follower: got %v, want ErrNotLeader", err)
	}
	for _, s := range []*Store{leader, follower} {
		if _, err := s.ApplyEncoded(ctx, []byte("{not a command")); !errors.Is(err, ErrInvalid) {
			t.Fatalf("ApplyEncoded of garbage on %s: got %v, want ErrInvalid", s.cfg.NodeID, err)
		}
	}
	if _, err := follower.ReadIndex(ctx); !errors.Is(err, ErrNotLeader) {
		t.Fatalf("ReadIndex on a follower: got %v, want ErrNotLeader", err)
	}
	if _, err := leader.Reference(ctx, "r1"); err != nil {
		t.Fatalf("a refused forward deleted the reference: %v", err)
	}

	// Without hooks, every kind of read and write is refused.
	if _, err := bare.Layout(ctx); !errors.Is(err, ErrNotLeader) {
		t.Fatalf("Layout on a follower without hooks: got %v, want ErrNotLeader", err)
	}
	if _, err := bare.File(ctx, f.Hash); !errors.Is(err, ErrNotLeader) {
		t.Fatalf("File on a follower without hooks: got %v, want ErrNotLeader", err)
	}
	if _, err := bare.SetReplicas(ctx, 2); !errors.Is(err, ErrNotLeader) {
		t.Fatalf("SetReplicas on a follower without hooks: got %v, want ErrNotLeader", err)
	}
	if _, err := bare.CollectChunks(ctx, t0, 5); !errors.Is(err, ErrNotLeader) {
		t.Fatalf("CollectChunks on a follower without hooks: got %v, want ErrNotLeader", err)
	}
}

// TestLeaderNodeFollowsLayout: LeaderNode finds the leader's layout entry
// only once the leader has joined the layout, on the leader and on a
// follower alike.
func TestLeaderNodeFollowsLayout(t *testing.T) {
	c := newCluster(t)
	ctx := testCtx(t)
	leader, follower := c.nodes[0], c.nodes[1]
	if _, ok := follower.LeaderNode(); ok {
		t.Fatal("LeaderNode found an entry in an empty layout")
	}

	l := layoutOK(t)(follower.JoinNode(ctx, testNode("n2"), true))
	waitLocalLayout(t, follower, l.Version)
	if _, ok := follower.LeaderNode(); ok {
		t.Fatal("LeaderNode found the leader before it joined the layout")
	}

	want := testNode("n1")
	l = layoutOK(t)(leader.JoinNode(ctx, want, false))
	waitLocalLayout(t, follower, l.Version)
	for _, s := range []*Store{leader, follower} {
		got, ok := s.LeaderNode()
		if !ok || got.ID != "n1" || got.APIAddr != want.APIAddr || got.State != placement.Out {
			t.Fatalf("LeaderNode on %s: %+v, %v", s.cfg.NodeID, got, ok)
		}
	}
}
