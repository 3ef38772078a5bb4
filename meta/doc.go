// Package meta holds the cluster's metadata and replicates it with Raft:
// references, files (whole contents and their chunk manifests) and chunk
// records with their reference counts, plus the indexes that answer
// "which references does this entity have" and "does this owner hold this
// content" without a full scan.
//
// The state lives in a bbolt file (fsm.db) owned by the FSM, so it is not
// bounded by memory. Every change is a command in the Raft log; the FSM
// applies committed commands in order, in one bbolt transaction per batch,
// and stores the index of the last applied entry in the same transaction.
// On restart the on-disk state is kept and Raft replays only the entries
// after that index.
//
// The FSM also holds the cluster's placement layout (placement.Layout:
// nodes, their addresses, zones, weights and states, and the replication
// factor) under one key. Layout commands (JoinNode, SetNodeState,
// SetNodeWeight, SetReplicas, RemoveNode) raise its Version by one per
// change. Each node keeps the applied layout in memory for the data path
// (LocalLayout, one atomic load) and is told of changes through
// Config.OnLayout or WatchLayout, so that it can rebuild its ring.
//
// Raft membership is separate from the layout: AddMember and RemoveMember,
// run on the leader, keep at most MaxVoters voters and make later members
// non-voters, promoting one when a voter leaves.
//
// What this package leaves to others: it never touches chunk bytes. The
// node writes chunks before it proposes a manifest, and it deletes the
// bytes of a chunk only after CollectChunks has removed the chunk's record.
// It computes no placement (package placement does), and it does not decide
// when a node joins, drains or goes out: the node and operators do, and the
// commands here only record their decisions.
//
// Invariants (Store.Verify checks them from scratch):
//
//   - A file's RefCount is the number of live references to it. A file with
//     no live reference does not exist.
//   - A chunk's RefCount is the number of occurrences of its hash across the
//     manifests of all existing files. A chunk at zero has ZeroSince set and
//     stays until CollectChunks removes it after the grace period.
//   - The running totals (live references, files, chunks, logical and stored
//     bytes) equal what a recount of the records gives.
//   - Apply is deterministic: time and identifiers arrive inside commands,
//     so every replica that applies the same log holds the same state.
//   - The layout's nodes are sorted by id, unique, and each has a known
//     state and a weight in range; its Version counts the changes applied.
//
// Reads are linearizable: before a read the store learns the leader's
// commit index (a read index, confirmed by a heartbeat round) and waits
// until its own FSM has applied that far.
package meta
