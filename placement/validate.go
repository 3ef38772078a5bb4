package placement

import "fmt"

// MaxWeight is the largest weight Validate accepts: a hundred times
// DefaultWeight. It bounds the ring's size (a node of MaxWeight gets
// 100*VirtualNodes positions) so that one mistyped weight cannot make
// every node build a ring of millions of points.
const MaxWeight = 100 * DefaultWeight

// Validate reports whether l can be committed: every node passes
// Node.Validate, no two nodes share an id, and Replicas is not negative.
// An empty layout, or one without active nodes, is valid: its ring places
// nothing. The error names the first problem found and wraps one of the
// package's sentinels.
func (l Layout) Validate() error {
	if l.Replicas < 0 {
		return fmt.Errorf("validate layout: replicas %d: %w", l.Replicas, ErrNegativeReplicas)
	}

	seen := make(map[NodeID]struct{}, len(l.Nodes))
	for i, nd := range l.Nodes {
		if err := nd.Validate(); err != nil {
			return fmt.Errorf("validate layout: node %d: %w", i, err)
		}
		if _, dup := seen[nd.ID]; dup {
			return fmt.Errorf("validate layout: node %d %q: %w", i, nd.ID, ErrDuplicateNodeID)
		}
		seen[nd.ID] = struct{}{}
	}
	return nil
}

// Validate reports whether nd can stand in a layout on its own: a
// non-empty id and API address, a known state, and a weight from 0
// (meaning DefaultWeight) to MaxWeight. Uniqueness of the id is the
// layout's check. The error wraps one of the package's sentinels.
func (nd Node) Validate() error {
	switch {
	case nd.ID == "":
		return fmt.Errorf("validate node: %w", ErrEmptyNodeID)
	case nd.APIAddr == "":
		return fmt.Errorf("validate node %q: %w", nd.ID, ErrNoAPIAddr)
	case nd.Weight < 0 || nd.Weight > MaxWeight:
		return fmt.Errorf("validate node %q: weight %d not in [0, %d]: %w",
			nd.ID, nd.Weight, MaxWeight, ErrBadWeight)
	}

	switch nd.State {
	case Active, Draining, Out:
		return nil
	default:
		return fmt.Errorf("validate node %q: state %q: %w", nd.ID, nd.State, ErrUnknownState)
	}
}

// Node returns the node with the given id and true, or the zero Node and
// false when the layout has none. With duplicate ids (a layout that fails
// Validate) it returns the first.
func (l Layout) Node(id NodeID) (Node, bool) {
	for _, nd := range l.Nodes {
		if nd.ID == id {
			return nd, true
		}
	}
	return Node{}, false
}

// Active returns the nodes whose state is Active, in layout order, in a
// new slice the caller owns. Only these nodes own chunks.
func (l Layout) Active() []Node {
	var out []Node
	for _, nd := range l.Nodes {
		if nd.State == Active {
			out = append(out, nd)
		}
	}
	return out
}

// EffectiveReplicas is the number of copies the layout places of each
// replicated chunk: Replicas (DefaultReplicas when Replicas is zero or, in
// a layout that fails Validate, negative), capped at the number of active
// nodes, since no node holds two copies. It is 0 when no node is active.
func (l Layout) EffectiveReplicas() int {
	want := l.Replicas
	if want <= 0 {
		want = DefaultReplicas
	}

	active := 0
	for _, nd := range l.Nodes {
		if nd.State == Active {
			active++
		}
	}
	return min(want, active)
}
