package meta

import (
	"errors"
	"fmt"
	"reflect"
	"strings"
	"testing"

	"github.com/hashicorp/raft"
	bolt "go.etcd.io/bbolt"

	"github.com/helixtrack/attachments/placement"
)

func testNode(id string) placement.Node {
	return placement.Node{
		ID:       NodeID(id),
		APIAddr:  "http://" + id + ":8090",
		RaftAddr: id + ":8091",
		Zone:     "z-" + id,
	}
}

func joinCmd(n placement.Node, autoActive bool) *command {
	return &command{Kind: kindJoinNode, Now: t0, Node: &n, AutoActive: autoActive}
}

func stateCmd(id string, st placement.State) *command {
	return &command{Kind: kindSetNodeState, Now: t0, NodeID: NodeID(id), State: st}
}

func weightCmd(id string, w int) *command {
	return &command{Kind: kindSetNodeWeight, Now: t0, NodeID: NodeID(id), Weight: w}
}

func replicasCmd(n int) *command {
	return &command{Kind: kindSetReplicas, Now: t0, Replicas: n}
}

func removeCmd(id string) *command {
	return &command{Kind: kindRemoveNode, Now: t0, NodeID: NodeID(id)}
}

// renderNodes writes a layout's nodes as "id=state/weight@api", in order.
func renderNodes(l placement.Layout) string {
	parts := make([]string, len(l.Nodes))
	for i, n := range l.Nodes {
		parts[i] = fmt.Sprintf("%s=%s/%d@%s", n.ID, n.State, n.Weight, n.APIAddr)
	}
	return strings.Join(parts, " ")
}

// TestFSMLayoutTransitions applies a sequence of layout commands to one
// FSM. Each step checks the outcome, the version, the nodes, that the
// published layout follows, that watchers wake only on a change, and that
// a rejection or a no-op writes nothing.
func TestFSMLayoutTransitions(t *testing.T) {
	moved := testNode("a")
	moved.APIAddr = "http://a2:8090"
	moved.Weight = 500 // ignored: a known node keeps its weight
	heavy := testNode("b")
	heavy.Weight = 300

	steps := []struct {
		name    string
		cmd     *command
		want    error
		version uint64
		nodes   string
	}{
		{name: "join auto-active", cmd: joinCmd(testNode("a"), true), version: 1,
			nodes: "a=active/0@http://a:8090"},
		{name: "join waits out", cmd: joinCmd(heavy, false), version: 2,
			nodes: "a=active/0@http://a:8090 b=out/300@http://b:8090"},
		{name: "join again unchanged", cmd: joinCmd(testNode("a"), false), version: 2,
			nodes: "a=active/0@http://a:8090 b=out/300@http://b:8090"},
		{name: "join again moved", cmd: joinCmd(moved, false), version: 3,
			nodes: "a=active/0@http://a2:8090 b=out/300@http://b:8090"},
		{name: "join sorts by id", cmd: joinCmd(testNode("0"), true), version: 4,
			nodes: "0=active/0@http://0:8090 a=active/0@http://a2:8090 b=out/300@http://b:8090"},
		{name: "remove active", cmd: removeCmd("0"), want: ErrInvalid, version: 4},
		{name: "out", cmd: stateCmd("0", placement.Out), version: 5},
		{name: "remove out", cmd: removeCmd("0"), version: 6,
			nodes: "a=active/0@http://a2:8090 b=out/300@http://b:8090"},
		{name: "remove unknown", cmd: removeCmd("0"), want: ErrNotFound, version: 6},
		{name: "operator activates", cmd: stateCmd("b", placement.Active), version: 7,
			nodes: "a=active/0@http://a2:8090 b=active/300@http://b:8090"},
		{name: "state unchanged", cmd: stateCmd("b", placement.Active), version: 7},
		{name: "drain", cmd: stateCmd("a", placement.Draining), version: 8},
		{name: "draining to out", cmd: stateCmd("a", placement.Out), version: 9},
		{name: "out to active", cmd: stateCmd("a", placement.Active), version: 10},
		{name: "active to out", cmd: stateCmd("a", placement.Out), version: 11},
		{name: "out to draining", cmd: stateCmd("a", placement.Draining), version: 12,
			nodes: "a=draining/0@http://a2:8090 b=active/300@http://b:8090"},
		{name: "remove draining", cmd: removeCmd("a"), want: ErrInvalid, version: 12},
		{name: "state of unknown", cmd: stateCmd("zz", placement.Out), want: ErrNotFound,
			version: 12},
		{name: "weight", cmd: weightCmd("b", 50), version: 13,
			nodes: "a=draining/0@http://a2:8090 b=active/50@http://b:8090"},
		{name: "weight unchanged", cmd: weightCmd("b", 50), version: 13},
		{name: "weight back to default", cmd: weightCmd("b", 0), version: 14},
		{name: "weight of unknown", cmd: weightCmd("zz", 5), want: ErrNotFound, version: 14},
		{name: "replicas", cmd: replicasCmd(2), version: 15},
		{name: "replicas unchanged", cmd: replicasCmd(2), version: 15},
		{name: "replicas zero", cmd: &command{Kind: kindSetReplicas, Now: t0},
			want: ErrInvalid, version: 15},
		{name: "bad state", cmd: stateCmd("b", "gone"), want: ErrInvalid, version: 15},
	}

	f := newTestFSM(t)
	for i, st := range steps {
		before, watch := f.layoutWatch()
		dump := dumpState(t, f)
		res := applyAt(t, f, uint64(i+1), st.cmd)
		if err := res.err(); !errors.Is(err, st.want) || (st.want == nil && err != nil) {
			t.Fatalf("step %q: got %v, want %v", st.name, err, st.want)
		}
		got := f.currentLayout()
		if got.Version != st.version {
			t.Fatalf("step %q: version %d, want %d", st.name, got.Version, st.version)
		}
		if st.nodes != "" && renderNodes(got) != st.nodes {
			t.Fatalf("step %q: nodes\n  %s\nwant\n  %s", st.name, renderNodes(got), st.nodes)
		}
		if st.want == nil && !reflect.DeepEqual(*res.Layout, got) {
			t.Fatalf("step %q: result %+v, published %+v", st.name, *res.Layout, got)
		}
		requireLayoutStep(t, st.name, f, before, watch, dump)
	}

	if l := f.currentLayout(); l.Replicas != 2 || len(l.Nodes) != 2 {
		t.Fatalf("final layout: %+v", l)
	}
	if err := f.verify(); err != nil {
		t.Fatal(err)
	}
}

// requireLayoutStep checks that a step changed the stored records and woke
// watchers exactly when it changed the layout's version.
func requireLayoutStep(
	t *testing.T, name string, f *stateMachine, before placement.Layout,
	watch <-chan struct{}, dump []byte,
) {
	t.Helper()
	changed := f.currentLayout().Version != before.Version
	woken := false
	select {
	case <-watch:
		woken = true
	default:
	}
	if woken != changed {
		t.Fatalf("step %q: watcher woken %v, layout changed %v", name, woken, changed)
	}
	if same := sameRecords(dumpState(t, f), dump); same == changed {
		t.Fatalf("step %q: records unchanged %v, layout changed %v", name, same, changed)
	}
}

// TestFSMLayoutBatchAndFailure applies layout commands in one batch with
// a rejection between them, then shows that a batch whose transaction
// fails publishes nothing.
func TestFSMLayoutBatchAndFailure(t *testing.T) {
	f := newTestFSM(t)
	out := f.ApplyBatch([]*raft.Log{
		commandLog(t, 1, joinCmd(testNode("a"), false)),
		commandLog(t, 2, removeCmd("zz")),
		commandLog(t, 3, stateCmd("a", placement.Active)),
		commandLog(t, 4, replicasCmd(1)),
	})
	versions := []uint64{1, 0, 2, 3}
	for i, o := range out {
		res := o.(*result)
		switch {
		case versions[i] == 0 && !errors.Is(res.err(), ErrNotFound):
			t.Fatalf("entry %d: got %v, want ErrNotFound", i+1, res.err())
		case versions[i] != 0 && (res.err() != nil || res.Layout.Version != versions[i]):
			t.Fatalf("entry %d: %+v, want version %d", i+1, res, versions[i])
		}
	}
	// Each result is a copy: a later command in the batch did not change
	// the layout an earlier one returned.
	if got := out[0].(*result).Layout.Nodes[0].State; got != placement.Out {
		t.Fatalf("first result changed by a later command: state %s", got)
	}
	want := f.currentLayout()
	if want.Version != 3 || renderNodes(want) != "a=active/0@http://a:8090" {
		t.Fatalf("layout after batch: %+v", want)
	}

	if err := f.db.Close(); err != nil {
		t.Fatal(err)
	}
	res := applyAt(t, f, 5, joinCmd(testNode("b"), true))
	if !errors.Is(res.err(), ErrStorage) {
		t.Fatalf("join on closed db: got %v, want ErrStorage", res.err())
	}
	if got := f.currentLayout(); !reflect.DeepEqual(got, want) {
		t.Fatalf("failed batch published a layout: %+v", got)
	}
}

// TestSnapshotRestoresLayout restores a snapshot that holds a layout into
// an FSM with another one: the published layout must follow, and
// watchers wake.
func TestSnapshotRestoresLayout(t *testing.T) {
	src := newTestFSM(t)
	applyAt(t, src, 1, joinCmd(testNode("a"), true))
	applyAt(t, src, 2, joinCmd(testNode("b"), false))
	applyAt(t, src, 3, replicasCmd(2))
	store, id := persistToStore(t, src, 3)

	dst := newTestFSM(t)
	applyAt(t, dst, 1, joinCmd(testNode("stale"), true))
	_, watch := dst.layoutWatch()
	restoreFrom(t, dst, store, id)

	select {
	case <-watch:
	default:
		t.Fatal("restore did not wake layout watchers")
	}
	if got, want := dst.currentLayout(), src.currentLayout(); !reflect.DeepEqual(got, want) {
		t.Fatalf("layout after restore: %+v, want %+v", got, want)
	}
	requireSameState(t, "after restore", src, dst)
}

// TestVerifyChecksLayout writes a layout no command could produce
// straight into the FSM's file; Verify must report each fault.
func TestVerifyChecksLayout(t *testing.T) {
	f := newTestFSM(t)
	applyAt(t, f, 1, joinCmd(testNode("a"), true))
	if err := f.verify(); err != nil {
		t.Fatalf("verify of a valid layout: %v", err)
	}

	bad := placement.Layout{Version: 9, Replicas: -1, Nodes: []placement.Node{
		{ID: "b", State: placement.Active},
		{ID: "a", State: "lost", Weight: maxNodeWeight + 1},
	}}
	err := f.db.Update(func(tx *bolt.Tx) error {
		b, err := openBuckets(tx)
		if err != nil {
			return err
		}
		return b.putLayout(&bad)
	})
	if err != nil {
		t.Fatal(err)
	}
	err = f.verify()
	if !errors.Is(err, ErrInconsistent) {
		t.Fatalf("verify of a tampered layout: got %v, want ErrInconsistent", err)
	}
	for _, want := range []string{"replicas -1", "node a after b", "unknown node state",
		"weight 10001"} {
		if !strings.Contains(err.Error(), want) {
			t.Fatalf("verify error lacks %q: %v", want, err)
		}
	}
}
