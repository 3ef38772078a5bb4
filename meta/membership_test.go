package meta

import (
	"context"
	"errors"
	"strings"
	"testing"
	"time"
)

// renderMembers writes members as "voters | non-voters", ids in order,
// with the leader marked by a star.
func renderMembers(ms []Member) string {
	var voters, others []string
	for _, m := range ms {
		id := string(m.ID)
		if m.Leader {
			id += "*"
		}
		if m.Voter {
			voters = append(voters, id)
		} else {
			others = append(others, id)
		}
	}
	return strings.Join(voters, " ") + " | " + strings.Join(others, " ")
}

// requireMembers brings s up to the leader's read index, so that it has
// seen every committed configuration change, and compares its members.
func requireMembers(t *testing.T, leader, s *Store, want string) {
	t.Helper()
	ctx := testCtx(t)
	idx, err := leader.ReadIndex(ctx)
	if err != nil {
		t.Fatal(err)
	}
	if err := s.WaitApplied(ctx, idx); err != nil {
		t.Fatal(err)
	}
	ms, err := s.Members(ctx)
	if err != nil {
		t.Fatal(err)
	}
	if got := renderMembers(ms); got != want {
		t.Fatalf("members on %s: %q, want %q", s.cfg.NodeID, got, want)
	}
}

// TestMembershipVoterCap starts one bootstrapped node and six that wait to
// be added. The first five members are voters, the others non-voters; a
// late node serves data written before it joined; removing a voter
// promotes the lowest non-voter; the leader can remove itself.
func TestMembershipVoterCap(t *testing.T) {
	c := startCluster(t, 7, func(int) bool { return true })
	ctx := testCtx(t)
	first, late := c.nodes[0], c.nodes[6]
	f1 := testFile(testChunk("a", 10))
	mustCreate(t, first, testRef("before", f1, "T", ""), f1)

	// Nobody has added the late node, so it knows no leader.
	short, cancel := context.WithTimeout(ctx, 300*time.Millisecond)
	err := late.WaitLeader(short)
	cancel()
	if !errors.Is(err, ErrTimeout) {
		t.Fatalf("wait leader before being added: got %v, want ErrTimeout", err)
	}

	for _, s := range c.nodes[1:] {
		if err := first.AddMember(ctx, s.cfg.NodeID, string(s.trans.LocalAddr())); err != nil {
			t.Fatalf("add member %s: %v", s.cfg.NodeID, err)
		}
	}
	requireMembers(t, first, first, "n1* n2 n3 n4 n5 | n6 n7")
	requireMembershipRejections(t, c)

	if err := late.WaitLeader(ctx); err != nil {
		t.Fatalf("wait leader after being added: %v", err)
	}
	if got, err := late.Reference(ctx, "before"); err != nil || got.FileHash != f1.Hash {
		t.Fatalf("read on the late node of a write from before it joined: %+v, %v", got, err)
	}
	requireMembers(t, first, late, "n1* n2 n3 n4 n5 | n6 n7")

	// Removing a voter promotes the lowest non-voter.
	if err := first.RemoveMember(ctx, "n2"); err != nil {
		t.Fatal(err)
	}
	c.stop(1)
	requireMembers(t, first, late, "n1* n3 n4 n5 n6 | n7")
	if err := first.RemoveMember(ctx, "n2"); err != nil {
		t.Fatalf("removing a member that is gone: %v", err)
	}

	// The leader removes itself: n7 is promoted first, then the others
	// elect a leader among them.
	if err := first.RemoveMember(ctx, "n1"); err != nil {
		t.Fatalf("leader removes itself: %v", err)
	}
	waitLeaderOtherThan(t, late, "n1")
	next := c.leader()
	if next == nil {
		t.Fatal("no leader after the old one left")
	}
	want := strings.Replace("n3 n4 n5 n6 n7 | ", string(next.cfg.NodeID),
		string(next.cfg.NodeID)+"*", 1)
	requireMembers(t, next, late, want)
	if _, err := late.CreateReference(ctx, testRef("after", f1, "T", ""), f1); err != nil {
		t.Fatalf("write through the new leader: %v", err)
	}
}

// requireMembershipRejections checks what AddMember and RemoveMember
// refuse or leave alone.
func requireMembershipRejections(t *testing.T, c *cluster) {
	t.Helper()
	ctx := testCtx(t)
	first, follower, late := c.nodes[0], c.nodes[1], c.nodes[6]
	if err := first.AddMember(ctx, "n7", string(late.trans.LocalAddr())); err != nil {
		t.Fatalf("adding a member again: %v", err)
	}
	if err := first.AddMember(ctx, "n8", ""); !errors.Is(err, ErrInvalid) {
		t.Fatalf("add without address: got %v, want ErrInvalid", err)
	}
	if err := first.RemoveMember(ctx, ""); !errors.Is(err, ErrInvalid) {
		t.Fatalf("remove without id: got %v, want ErrInvalid", err)
	}
	if err := follower.AddMember(ctx, "n8", "node8"); !errors.Is(err, ErrNotLeader) {
		t.Fatalf("add on a follower: got %v, want ErrNotLeader", err)
	}
	if err := follower.RemoveMember(ctx, "n3"); !errors.Is(err, ErrNotLeader) {
		t.Fatalf("remove on a follower: got %v, want ErrNotLeader", err)
	}
	requireMembers(t, first, first, "n1* n2 n3 n4 n5 | n6 n7")
}
