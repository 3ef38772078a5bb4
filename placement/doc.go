// Package placement decides which nodes hold a chunk: the cluster layout
// (nodes, zones, weights, states) and the consistent-hash ring computed
// from it. It is pure computation: no I/O, no clocks, so every node given
// the same layout computes the same owners.
//
// A Layout is validated (Layout.Validate) before it is committed through
// the metadata log; committing, gossip and data movement belong to the
// meta and node packages. NewRing turns a layout into a Ring, and
// Ring.Owners names the nodes that hold a chunk, primary first.
//
// The invariants this package keeps, and its tests check:
//   - Only active nodes own chunks; draining and out nodes never do.
//   - A chunk's owners are distinct nodes, as many as asked for or as
//     there are active nodes, whichever is fewer.
//   - Copies go to distinct zones before any zone holds two.
//   - Owners depend on the set of active nodes (ids, zones, weights), not
//     on their order in the layout.
//   - A node's share of chunks follows its weight.
//   - A layout change moves few copies: removing or draining a node moves
//     only the copies it held, and adding a node moves copies only onto it.
//
// Ring positions use xxhash of node ids; chunks are placed by the leading
// bytes of their SHA-256. xxhash is used for placement only and never to
// decide that two contents are equal.
package placement
