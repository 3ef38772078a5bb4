package node_test

import (
	"context"
	"errors"
	"net/http"
	"testing"

	"github.com/helixtrack/attachments/api"
	"github.com/helixtrack/attachments/placement"
)

// nodeState returns node id's layout state as node i's status reports it.
func (tc *testCluster) nodeState(i int, id string) (placement.State, bool) {
	tc.t.Helper()
	ns, ok := placementNode(tc.status(i), id)
	return ns.State, ok
}

// TestNodeActions drives the operator actions through the admin API: an
// unknown node is 404 and an unknown action a conflict; a drained node
// that holds nothing goes out, "add" brings it back, and once out again
// the leader removes it from the layout and the Raft group.
func TestNodeActions(t *testing.T) {
	tc := startCluster(t, 2, nil)
	leader, other := tc.nodes[0], tc.nodes[1]
	admin := leader.token("ops", "admin")
	id := other.n.NodeID()
	act := func(tn *testNode, target, action string) int {
		t.Helper()
		code, _ := tn.status("POST", "/v1/admin/nodes/"+target+"/"+action, admin, nil, nil)
		return code
	}
	drainOut := func() {
		t.Helper()
		if code := act(leader, id, "drain"); code != http.StatusNoContent {
			t.Fatalf("drain: %d", code)
		}
		waitFor(t, func() bool {
			other.n.Rebalance(context.Background())
			st, _ := tc.nodeState(0, id)
			return st == placement.Out
		}, "the drained node is out")
	}

	for _, action := range []string{"drain", "add", "remove"} {
		if code := act(other, "ghost", action); code != http.StatusNotFound {
			t.Errorf("%s an unknown node: %d, want 404", action, code)
		}
	}
	err := leader.n.NodeAction(context.Background(), id, "explode")
	if !errors.Is(err, api.ErrConflict) {
		t.Errorf("unknown action: %v, want ErrConflict", err)
	}

	drainOut()
	if code := act(other, id, "add"); code != http.StatusNoContent {
		t.Fatalf("add back: %d", code)
	}
	if st, _ := tc.nodeState(1, id); st != placement.Active {
		t.Fatalf("state after add: %s, want active", st)
	}

	drainOut()
	if code := act(leader, id, "remove"); code != http.StatusNoContent {
		t.Fatalf("remove through the leader: %d", code)
	}
	if _, ok := tc.nodeState(0, id); ok {
		t.Fatal("removed node still in the layout")
	}
	members, err := leader.n.Meta().Members(context.Background())
	if err != nil || len(members) != 1 || string(members[0].ID) != leader.n.NodeID() {
		t.Fatalf("raft members after remove: %+v, %v", members, err)
	}
	if code := act(leader, id, "remove"); code != http.StatusNotFound {
		t.Errorf("remove again: %d, want 404", code)
	}
}
