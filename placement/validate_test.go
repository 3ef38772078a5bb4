package placement

import (
	"errors"
	"slices"
	"testing"
)

func TestLayoutValidate(t *testing.T) {
	valid := func(id string) Node { return testNode(id, "z1") }
	with := func(nd Node, edit func(*Node)) Node { edit(&nd); return nd }

	cases := []struct {
		name    string
		layout  Layout
		wantErr error
	}{
		{name: "empty layout", layout: Layout{}},
		{
			name: "all states and weights",
			layout: Layout{Replicas: 2, Nodes: []Node{
				valid("a"),
				with(valid("b"), func(n *Node) { n.State = Draining; n.Weight = MaxWeight }),
				with(valid("c"), func(n *Node) { n.State = Out; n.Weight = 0 }),
			}},
		},
		{
			name:    "negative replicas",
			layout:  Layout{Replicas: -1, Nodes: []Node{valid("a")}},
			wantErr: ErrNegativeReplicas,
		},
		{
			name:    "empty id",
			layout:  Layout{Nodes: []Node{valid("a"), valid("")}},
			wantErr: ErrEmptyNodeID,
		},
		{
			name:    "duplicate id",
			layout:  Layout{Nodes: []Node{valid("a"), valid("b"), valid("a")}},
			wantErr: ErrDuplicateNodeID,
		},
		{
			name: "duplicate id across states",
			layout: Layout{Nodes: []Node{
				valid("a"), with(valid("a"), func(n *Node) { n.State = Out }),
			}},
			wantErr: ErrDuplicateNodeID,
		},
		{
			name:    "empty state",
			layout:  Layout{Nodes: []Node{with(valid("a"), func(n *Node) { n.State = "" })}},
			wantErr: ErrUnknownState,
		},
		{
			name: "unknown state",
			layout: Layout{Nodes: []Node{
				with(valid("a"), func(n *Node) { n.State = "Active" }),
			}},
			wantErr: ErrUnknownState,
		},
		{
			name:    "negative weight",
			layout:  Layout{Nodes: []Node{with(valid("a"), func(n *Node) { n.Weight = -1 })}},
			wantErr: ErrBadWeight,
		},
		{
			name: "weight above max",
			layout: Layout{Nodes: []Node{
				with(valid("a"), func(n *Node) { n.Weight = MaxWeight + 1 }),
			}},
			wantErr: ErrBadWeight,
		},
		{
			name:    "no api address",
			layout:  Layout{Nodes: []Node{with(valid("a"), func(n *Node) { n.APIAddr = "" })}},
			wantErr: ErrNoAPIAddr,
		},
	}

	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			err := tc.layout.Validate()
			if tc.wantErr == nil && err != nil {
				t.Fatalf("Validate() = %v, want nil", err)
			}
			if tc.wantErr != nil && !errors.Is(err, tc.wantErr) {
				t.Fatalf("Validate() = %v, want an error wrapping %v", err, tc.wantErr)
			}
		})
	}
}

func TestLayoutQueries(t *testing.T) {
	l := Layout{Nodes: []Node{
		testNode("c", "z1"),
		{ID: "d", APIAddr: "http://d", State: Draining},
		testNode("a", "z2"),
		{ID: "o", APIAddr: "http://o", State: Out},
	}}

	t.Run("node found", func(t *testing.T) {
		nd, ok := l.Node("d")
		if !ok || nd.ID != "d" || nd.State != Draining {
			t.Fatalf("Node(d) = %+v, %v, want the draining node d", nd, ok)
		}
	})
	t.Run("node missing", func(t *testing.T) {
		if nd, ok := l.Node("zz"); ok || nd != (Node{}) {
			t.Fatalf("Node(zz) = %+v, %v, want zero node and false", nd, ok)
		}
	})
	t.Run("active in layout order", func(t *testing.T) {
		var got []NodeID
		for _, nd := range l.Active() {
			got = append(got, nd.ID)
		}
		if want := []NodeID{"c", "a"}; !slices.Equal(got, want) {
			t.Fatalf("Active() ids = %v, want %v", got, want)
		}
	})
}

func TestLayoutEffectiveReplicas(t *testing.T) {
	cases := []struct {
		name     string
		replicas int
		active   int
		inactive int
		want     int
	}{
		{name: "default with many nodes", replicas: 0, active: 5, want: DefaultReplicas},
		{name: "default capped by active", replicas: 0, active: 2, inactive: 3, want: 2},
		{name: "explicit", replicas: 2, active: 5, want: 2},
		{name: "explicit above active", replicas: 5, active: 4, inactive: 1, want: 4},
		{name: "no active nodes", replicas: 3, inactive: 2, want: 0},
		{name: "negative means default", replicas: -2, active: 5, want: DefaultReplicas},
	}
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			l := equalNodes(tc.active + tc.inactive)
			l.Replicas = tc.replicas
			for i := tc.active; i < len(l.Nodes); i++ {
				l.Nodes[i].State = Draining
			}
			if got := l.EffectiveReplicas(); got != tc.want {
				t.Fatalf("EffectiveReplicas() = %d, want %d", got, tc.want)
			}
		})
	}
}
