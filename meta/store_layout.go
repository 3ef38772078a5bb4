package meta

import (
	"context"
	"fmt"

	"github.com/helixtrack/attachments/placement"
)

// The layout says which nodes exist, where to reach them, and which of
// them own chunks. Every change below is a Raft command, so all nodes
// apply the same layouts in the same order; each returns the layout as the
// FSM left it. Besides the errors each names, a change fails with the
// errors of every write: ErrNotLeader, ErrTimeout, ErrClosed, ErrStorage.
//
// A node that joins is Out unless autoActive is set: it is known (its
// addresses are recorded, so peers can reach it and Raft can add it) but
// owns nothing until an operator sets it Active. Moving data onto a node
// is costly and a typo in an address is easy, so by default a person
// decides when a new node starts taking chunks; a fresh test or demo
// cluster passes autoActive to skip that step.

// JoinNode records node n. A new node gets n's weight and zone and is
// Active when autoActive is set, Out otherwise. A known node keeps its
// state and weight; only its APIAddr, RaftAddr and Zone are updated, so a
// restarted node that joins again changes nothing unless it moved. n.State
// must be empty. Errors: ErrInvalid (missing id or address, a state set,
// a weight outside 0..10000, or a layout already of 1000 nodes).
func (s *Store) JoinNode(ctx context.Context, n placement.Node, autoActive bool) (
	placement.Layout, error,
) {
	c := &command{Kind: kindJoinNode, Node: &n, AutoActive: autoActive}
	return s.proposeLayout(ctx, c, "join node "+string(n.ID))
}

// SetNodeState moves node id to state st. Any transition between Active,
// Draining and Out is allowed; setting the state it has changes nothing.
// Errors: ErrNotFound for an unknown id, ErrInvalid for an unknown state.
func (s *Store) SetNodeState(ctx context.Context, id NodeID, st placement.State) (
	placement.Layout, error,
) {
	c := &command{Kind: kindSetNodeState, NodeID: id, State: st}
	return s.proposeLayout(ctx, c, "set state of node "+string(id))
}

// SetNodeWeight sets the relative capacity of node id; 0 means
// placement.DefaultWeight. Errors: ErrNotFound for an unknown id,
// ErrInvalid for a weight outside 0..10000.
func (s *Store) SetNodeWeight(ctx context.Context, id NodeID, weight int) (
	placement.Layout, error,
) {
	c := &command{Kind: kindSetNodeWeight, NodeID: id, Weight: weight}
	return s.proposeLayout(ctx, c, "set weight of node "+string(id))
}

// SetReplicas sets the replication factor. Errors: ErrInvalid for n
// outside 1..16.
func (s *Store) SetReplicas(ctx context.Context, n int) (placement.Layout, error) {
	c := &command{Kind: kindSetReplicas, Replicas: n}
	return s.proposeLayout(ctx, c, fmt.Sprintf("set replicas to %d", n))
}

// RemoveNode deletes node id from the layout. Only a node in state Out
// may be removed, so that no chunk loses an owner it still depends on.
// It does not touch Raft membership; see RemoveMember. Errors:
// ErrNotFound for an unknown id, ErrInvalid for a node not Out.
func (s *Store) RemoveNode(ctx context.Context, id NodeID) (placement.Layout, error) {
	c := &command{Kind: kindRemoveNode, NodeID: id}
	return s.proposeLayout(ctx, c, "remove node "+string(id))
}

// proposeLayout proposes a layout command and returns the layout in its
// result.
func (s *Store) proposeLayout(ctx context.Context, c *command, op string) (
	placement.Layout, error,
) {
	res, err := s.propose(ctx, c)
	if err != nil {
		return placement.Layout{}, fmt.Errorf("%s: %w", op, err)
	}
	if res.Layout == nil {
		return placement.Layout{}, fmt.Errorf("%s: incomplete result: %w", op, ErrInvalid)
	}
	return *res.Layout, nil
}

// Layout returns the current layout, linearizably: it includes every
// layout change acknowledged before the call. The caller owns the result.
// Errors: those of every read (see store_read.go).
func (s *Store) Layout(ctx context.Context) (placement.Layout, error) {
	if err := s.readBarrier(ctx); err != nil {
		return placement.Layout{}, fmt.Errorf("get layout: %w", err)
	}
	return cloneLayout(s.fsm.currentLayout()), nil
}

// LocalLayout returns the layout this node has applied, without asking
// the leader: one atomic load, for the data path to call per request. It
// may lag the cluster by what this node has yet to apply. The Nodes slice
// is shared by every caller and must not be modified; copy it first.
func (s *Store) LocalLayout() placement.Layout { return s.fsm.currentLayout() }

// WatchLayout returns a channel that is closed when this node next
// publishes an applied layout (after a change, or after a snapshot is
// restored). Call it again for the next change; read the layout with
// LocalLayout. A wakeup may carry no change.
func (s *Store) WatchLayout() <-chan struct{} {
	_, ch := s.fsm.layoutWatch()
	return ch
}

// LeaderNode returns the layout entry of the Raft leader this node knows,
// so that a caller can reach the leader's API. It reports false when no
// leader is known or the leader has not joined the layout.
func (s *Store) LeaderNode() (placement.Node, bool) {
	id, _ := s.Leader()
	if id == "" {
		return placement.Node{}, false
	}
	nodes := s.LocalLayout().Nodes
	if i, ok := findNode(nodes, id); ok {
		return nodes[i], true
	}
	return placement.Node{}, false
}

// watchLayout starts the goroutine that calls cfg.OnLayout, if set. It
// runs outside the FSM, so a slow callback delays later callbacks but
// never Apply; versions it has not caught up with are skipped, and it
// is called with the newest.
func (s *Store) watchLayout() {
	if s.cfg.OnLayout == nil {
		return
	}
	s.watcher.Add(1)
	go func() {
		defer s.watcher.Done()
		var last uint64
		for {
			l, changed := s.fsm.layoutWatch()
			if l.Version != last {
				last = l.Version
				s.cfg.OnLayout(l)
			}
			select {
			case <-changed:
			case <-s.closed:
				return
			}
		}
	}()
}
