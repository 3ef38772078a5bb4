package meta

import (
	"fmt"

	"github.com/helixtrack/attachments/placement"
)

// Layout commands change the placement layout held in the FSM. Each one
// that changes something raises the layout's Version by exactly one; one
// that would change nothing (a state or weight already set, a join that
// repeats the recorded addresses) is applied without a new version, so
// that a retried or repeated command does not make every node rebuild its
// ring.
const (
	kindJoinNode      commandKind = "join_node"
	kindSetNodeState  commandKind = "set_node_state"
	kindSetNodeWeight commandKind = "set_node_weight"
	kindSetReplicas   commandKind = "set_replicas"
	kindRemoveNode    commandKind = "remove_node"
)

// Limits on layout commands.
const (
	// maxNodeIDLen bounds a node id: ids appear in every log line and
	// metric about a node, so they stay short.
	maxNodeIDLen = 255
	// maxAddrLen bounds an address (a URL or host:port) and a zone name.
	maxAddrLen = 512
	// maxNodeWeight is a hundred times placement.DefaultWeight, the bound
	// the ring applies: a node's virtual node count grows with its weight,
	// so an unbounded weight would make every node's ring unbounded.
	maxNodeWeight = 100 * placement.DefaultWeight
	// maxReplicas bounds the replication factor. Copies beyond a handful
	// add write cost without durability anyone needs.
	maxReplicas = 16
	// maxLayoutNodes bounds the layout, which the FSM rewrites whole on
	// every change and every node holds in memory.
	maxLayoutNodes = 1000
)

// validateLayout checks a layout command without the state: ids and
// addresses present and bounded, a known state, weights and replica
// counts in range.
func (c *command) validateLayout() error {
	switch c.Kind {
	case kindJoinNode:
		return c.validateJoin()
	case kindSetNodeState:
		if err := c.expectOnly(fieldNodeID | fieldState); err != nil {
			return err
		}
		if err := validateState(c.State); err != nil {
			return err
		}
	case kindSetNodeWeight:
		if err := c.expectOnly(fieldNodeID | fieldWeight); err != nil {
			return err
		}
		if err := validateWeight(c.Weight); err != nil {
			return err
		}
	case kindSetReplicas:
		if err := c.expectOnly(fieldReplicas); err != nil {
			return err
		}
		if c.Replicas < 1 || c.Replicas > maxReplicas {
			return fmt.Errorf("replicas %d outside 1..%d", c.Replicas, maxReplicas)
		}
		return nil
	case kindRemoveNode:
		if err := c.expectOnly(fieldNodeID); err != nil {
			return err
		}
	}
	return validateText("node id", string(c.NodeID), maxNodeIDLen, true)
}

// validateJoin checks the node of a join: the id and both addresses are
// required, and the state is left to the FSM (it follows AutoActive).
func (c *command) validateJoin() error {
	if err := c.expectOnly(fieldNode | fieldAutoActive); err != nil {
		return err
	}
	n := c.Node
	if n == nil {
		return fmt.Errorf("missing node")
	}
	if n.State != "" {
		return fmt.Errorf("node %s: state %q set by proposer", n.ID, n.State)
	}
	fields := []struct {
		name, value string
		max         int
		required    bool
	}{
		{name: "node id", value: string(n.ID), max: maxNodeIDLen, required: true},
		{name: "api address", value: n.APIAddr, max: maxAddrLen, required: true},
		{name: "raft address", value: n.RaftAddr, max: maxAddrLen, required: true},
		{name: "zone", value: n.Zone, max: maxAddrLen},
	}
	for _, f := range fields {
		if err := validateText(f.name, f.value, f.max, f.required); err != nil {
			return err
		}
	}
	return validateWeight(n.Weight)
}

// validateState accepts the three states of placement.
func validateState(st placement.State) error {
	switch st {
	case placement.Active, placement.Draining, placement.Out:
		return nil
	}
	return fmt.Errorf("unknown node state %q", st)
}

// validateWeight accepts 0 (placement.DefaultWeight) to maxNodeWeight.
func validateWeight(w int) error {
	if w < 0 || w > maxNodeWeight {
		return fmt.Errorf("weight %d outside 0..%d", w, maxNodeWeight)
	}
	return nil
}
