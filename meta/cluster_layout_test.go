package meta

import (
	"errors"
	"reflect"
	"sync"
	"testing"

	"github.com/helixtrack/attachments/placement"
)

// layoutRecorder keeps what Config.OnLayout delivered to one node.
type layoutRecorder struct {
	mu       sync.Mutex
	last     placement.Layout
	versions []uint64
	// changed is closed and replaced on every call.
	changed chan struct{}
}

func newLayoutRecorder() *layoutRecorder {
	return &layoutRecorder{changed: make(chan struct{})}
}

func (r *layoutRecorder) record(l placement.Layout) {
	r.mu.Lock()
	defer r.mu.Unlock()
	r.last = cloneLayout(l)
	r.versions = append(r.versions, l.Version)
	close(r.changed)
	r.changed = make(chan struct{})
}

// waitVersion waits until a layout of at least version v was delivered
// and returns the last one and every version delivered so far.
func (r *layoutRecorder) waitVersion(t *testing.T, v uint64) (placement.Layout, []uint64) {
	t.Helper()
	ctx := testCtx(t)
	for {
		r.mu.Lock()
		last, versions, changed := r.last, append([]uint64(nil), r.versions...), r.changed
		r.mu.Unlock()
		if last.Version >= v {
			return last, versions
		}
		select {
		case <-changed:
		case <-ctx.Done():
			t.Fatalf("no layout of version %d delivered; last %d", v, last.Version)
		}
	}
}

// waitLocalLayout waits on s's layout watch until it has applied layout
// version v, and returns that layout.
func waitLocalLayout(t *testing.T, s *Store, v uint64) placement.Layout {
	t.Helper()
	ctx := testCtx(t)
	for {
		changed := s.WatchLayout()
		if l := s.LocalLayout(); l.Version >= v {
			return l
		}
		select {
		case <-changed:
		case <-ctx.Done():
			t.Fatalf("node %s: layout version %d never applied; at %d",
				s.cfg.NodeID, v, s.LocalLayout().Version)
		}
	}
}

// TestClusterLayoutOnEveryNode changes the layout through the leader and a
// forwarding follower. Every node, the one without hooks included, must
// apply the same layouts; OnLayout must deliver increasing versions
// ending with the leader's layout.
func TestClusterLayoutOnEveryNode(t *testing.T) {
	c := newCluster(t)
	ctx := testCtx(t)
	leader, follower, bare := c.nodes[0], c.nodes[1], c.nodes[2]

	steps := []func() (placement.Layout, error){
		func() (placement.Layout, error) { return leader.JoinNode(ctx, testNode("n1"), true) },
		func() (placement.Layout, error) { return follower.JoinNode(ctx, testNode("n2"), false) },
		func() (placement.Layout, error) { return leader.JoinNode(ctx, testNode("n3"), false) },
		func() (placement.Layout, error) {
			return follower.SetNodeState(ctx, "n2", placement.Active)
		},
		func() (placement.Layout, error) { return follower.SetNodeWeight(ctx, "n1", 200) },
		func() (placement.Layout, error) { return leader.SetReplicas(ctx, 2) },
		func() (placement.Layout, error) { return follower.RemoveNode(ctx, "n3") },
	}
	for i, step := range steps {
		l, err := step()
		if err != nil {
			t.Fatalf("step %d: %v", i, err)
		}
		if l.Version != uint64(i+1) {
			t.Fatalf("step %d: version %d, want %d", i, l.Version, i+1)
		}
		// A follower's local copy catches up without any read barrier.
		for _, s := range c.nodes {
			if got := waitLocalLayout(t, s, l.Version); !reflect.DeepEqual(got, l) {
				t.Fatalf("step %d: node %s applied %+v, want %+v", i, s.cfg.NodeID, got, l)
			}
		}
	}

	if _, err := bare.SetReplicas(ctx, 3); !errors.Is(err, ErrNotLeader) {
		t.Fatalf("layout change on a follower without hooks: got %v, want ErrNotLeader", err)
	}
	if _, err := follower.RemoveNode(ctx, "n2"); !errors.Is(err, ErrInvalid) {
		t.Fatalf("forwarded removal of an active node: got %v, want ErrInvalid", err)
	}
	want, err := follower.Layout(ctx)
	if err != nil || want.Version != uint64(len(steps)) || want.Replicas != 2 {
		t.Fatalf("linearizable layout on follower: %+v, %v", want, err)
	}
	if got := renderNodes(want); got != "n1=active/200@http://n1:8090 n2=active/0@http://n2:8090" {
		t.Fatalf("final nodes: %s", got)
	}
	if n, ok := bare.LeaderNode(); !ok || n.ID != "n1" || n.APIAddr != "http://n1:8090" {
		t.Fatalf("leader node seen from a follower: %+v, %v", n, ok)
	}
	requireLayoutsDelivered(t, c, want)
	requireReplicasEqual(t, c)
}

// requireLayoutsDelivered checks that every node's OnLayout ended with
// want, through strictly increasing versions.
func requireLayoutsDelivered(t *testing.T, c *cluster, want placement.Layout) {
	t.Helper()
	for i, rec := range c.layouts {
		got, versions := rec.waitVersion(t, want.Version)
		if !reflect.DeepEqual(got, want) {
			t.Fatalf("node %d: OnLayout delivered %+v, want %+v", i+1, got, want)
		}
		for j := 1; j < len(versions); j++ {
			if versions[j] <= versions[j-1] {
				t.Fatalf("node %d: OnLayout versions %v not increasing", i+1, versions)
			}
		}
	}
}
