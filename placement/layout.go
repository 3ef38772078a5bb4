package placement

// NodeID names one member of the cluster. It is stable across restarts.
type NodeID string

// State is where a node stands in the layout.
type State string

// The states of a node in the layout.
const (
	// Active nodes own chunks: the ring places new and existing chunks on
	// them.
	Active State = "active"
	// Draining nodes own nothing any more; their chunks are being moved to
	// the active nodes that own them now. They still serve reads.
	Draining State = "draining"
	// Out nodes own nothing and are not expected to hold anything: a node
	// that finished draining, or one the leader gave up on after it stayed
	// unreachable past the down-out interval.
	Out State = "out"
)

// DefaultWeight is the weight of a node whose weight is not set: the
// number of virtual nodes per unit of relative capacity is derived from it.
const DefaultWeight = 100

// DefaultReplicas is the replication factor when the layout does not set
// one; a cluster with fewer active nodes places that many copies instead.
const DefaultReplicas = 3

// Node is one member as the layout records it.
type Node struct {
	ID NodeID `json:"id"`
	// APIAddr is the base URL of the node's HTTP API, which also carries
	// node-to-node traffic, e.g. "http://10.0.0.5:8090".
	APIAddr string `json:"api_addr"`
	// RaftAddr is the host:port of the node's Raft transport.
	RaftAddr string `json:"raft_addr"`
	// GossipAddr is the host:port of the node's membership gossip.
	GossipAddr string `json:"gossip_addr"`
	// Zone is the failure domain (rack, room, site); copies of a chunk go to
	// distinct zones before they share one. Empty is a zone of its own name.
	Zone string `json:"zone"`
	// Weight is the node's relative capacity; 0 means DefaultWeight.
	Weight int `json:"weight"`
	// State is active, draining or out.
	State State `json:"state"`
}

// Layout is the cluster's placement configuration, committed through the
// metadata log so that every node computes the same owners for a chunk.
// Version increases by one with every committed change.
type Layout struct {
	Version uint64 `json:"version"`
	// Replicas is the replication factor; 0 means DefaultReplicas.
	Replicas int    `json:"replicas"`
	Nodes    []Node `json:"nodes"`
}
