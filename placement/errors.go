package placement

import "errors"

// Errors returned by Layout.Validate and Node.Validate, each wrapped with
// the layout operation and, for a node, its index and id. Callers match
// them with errors.Is. Any of them means the layout must not be committed:
// a ring built from it would not mean what its author intended.
var (
	// ErrEmptyNodeID means a node has no id.
	ErrEmptyNodeID = errors.New("empty node id")

	// ErrDuplicateNodeID means two nodes share one id.
	ErrDuplicateNodeID = errors.New("duplicate node id")

	// ErrUnknownState means a node's state is not active, draining or out.
	ErrUnknownState = errors.New("unknown node state")

	// ErrBadWeight means a node's weight is negative or above MaxWeight.
	ErrBadWeight = errors.New("node weight out of range")

	// ErrNoAPIAddr means a node has no API address, so no peer could reach
	// it for chunk traffic.
	ErrNoAPIAddr = errors.New("empty node api address")

	// ErrNegativeReplicas means the layout asks for fewer than zero copies.
	ErrNegativeReplicas = errors.New("negative replica count")
)
