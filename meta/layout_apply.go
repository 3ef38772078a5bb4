package meta

import (
	"cmp"
	"encoding/json"
	"fmt"
	"slices"

	"github.com/helixtrack/attachments/placement"
)

// keyLayout is the bucketState key of the current placement.Layout
// (JSON). A missing key is the empty layout of Version 0, which is how
// every cluster starts; adding the key needed no new schema version.
var keyLayout = []byte("layout")

// getLayout reads the stored layout. Nodes are kept sorted by id, so two
// replicas that applied the same commands hold the same bytes.
func (b buckets) getLayout() (placement.Layout, error) {
	var l placement.Layout
	raw := b.state.Get(keyLayout)
	if raw == nil {
		return l, nil
	}
	if err := json.Unmarshal(raw, &l); err != nil {
		return l, fmt.Errorf("decode layout: %w", err)
	}
	if len(l.Nodes) == 0 {
		l.Nodes = nil
	}
	return l, nil
}

func (b buckets) putLayout(l *placement.Layout) error {
	return putJSON(b.state, keyLayout, l)
}

// cloneLayout returns a copy of l that shares no slice with it.
func cloneLayout(l placement.Layout) placement.Layout {
	l.Nodes = slices.Clone(l.Nodes)
	return l
}

// findNode returns the position of id in nodes (sorted by id) and whether
// it is there; when it is not, the position is where it would go.
func findNode(nodes []placement.Node, id NodeID) (int, bool) {
	return slices.BinarySearchFunc(nodes, id, func(n placement.Node, id NodeID) int {
		return cmp.Compare(n.ID, id)
	})
}

// loadLayout returns the layout this transaction works on, reading it on
// first use. Layout commands check everything they can reject before they
// change it, because a later rejection cannot undo an earlier change in
// memory.
func (a *applyTx) loadLayout() (*placement.Layout, error) {
	if a.layout == nil {
		l, err := a.b.getLayout()
		if err != nil {
			return nil, err
		}
		a.layout = &l
	}
	return a.layout, nil
}

// layoutChanged records a change: the version moves on, and the layout is
// written and published when the transaction commits.
func (a *applyTx) layoutChanged() {
	a.layout.Version++
	a.layoutDirty = true
}

// layoutResult returns the layout as the result of a command.
func (a *applyTx) layoutResult() *result {
	l := cloneLayout(*a.layout)
	return &result{Layout: &l}
}

// applyLayout dispatches one layout command.
func (a *applyTx) applyLayout(c *command) (*result, error) {
	l, err := a.loadLayout()
	if err != nil {
		return nil, err
	}
	switch c.Kind {
	case kindJoinNode:
		return a.joinNode(l, c.Node, c.AutoActive), nil
	case kindSetNodeState:
		return a.setNode(l, c, func(n *placement.Node) bool {
			old := n.State
			n.State = c.State
			return old != c.State
		}), nil
	case kindSetNodeWeight:
		return a.setNode(l, c, func(n *placement.Node) bool {
			old := n.Weight
			n.Weight = c.Weight
			return old != c.Weight
		}), nil
	case kindSetReplicas:
		if l.Replicas != c.Replicas {
			l.Replicas = c.Replicas
			a.layoutChanged()
		}
		return a.layoutResult(), nil
	case kindRemoveNode:
		return a.removeNode(l, c.NodeID), nil
	}
	return nil, fmt.Errorf("apply layout command: unhandled kind %s: %w", c.Kind, ErrStorage)
}

// joinNode adds n, or updates the addresses and zone of the node with
// its id, keeping that node's state and weight. A new node is Active when
// autoActive is set and Out otherwise.
func (a *applyTx) joinNode(l *placement.Layout, n *placement.Node, autoActive bool) *result {
	i, found := findNode(l.Nodes, n.ID)
	if found {
		cur := &l.Nodes[i]
		if cur.APIAddr == n.APIAddr && cur.RaftAddr == n.RaftAddr && cur.Zone == n.Zone {
			return a.layoutResult()
		}
		cur.APIAddr, cur.RaftAddr, cur.Zone = n.APIAddr, n.RaftAddr, n.Zone
		a.layoutChanged()
		return a.layoutResult()
	}

	if len(l.Nodes) >= maxLayoutNodes {
		return reject(codeInvalid, "join node %s: layout already holds %d nodes",
			n.ID, len(l.Nodes))
	}
	added := *n
	added.State = placement.Out
	if autoActive {
		added.State = placement.Active
	}
	l.Nodes = slices.Insert(l.Nodes, i, added)
	a.layoutChanged()
	return a.layoutResult()
}

// setNode applies change to the node c.NodeID; change reports whether it
// changed anything.
func (a *applyTx) setNode(
	l *placement.Layout, c *command, change func(*placement.Node) bool,
) *result {
	i, found := findNode(l.Nodes, c.NodeID)
	if !found {
		return reject(codeNotFound, "%s: node %s", c.Kind, c.NodeID)
	}
	if change(&l.Nodes[i]) {
		a.layoutChanged()
	}
	return a.layoutResult()
}

// removeNode deletes a node from the layout. Only an Out node may go: an
// active or draining node may still hold the only copies of chunks, and
// removing it would drop them from every owner list.
func (a *applyTx) removeNode(l *placement.Layout, id NodeID) *result {
	i, found := findNode(l.Nodes, id)
	if !found {
		return reject(codeNotFound, "remove node %s", id)
	}
	if st := l.Nodes[i].State; st != placement.Out {
		return reject(codeInvalid,
			"remove node %s: node is %s; drain it and set it out first", id, st)
	}
	l.Nodes = slices.Delete(l.Nodes, i, i+1)
	if len(l.Nodes) == 0 {
		l.Nodes = nil
	}
	a.layoutChanged()
	return a.layoutResult()
}
