// Package chaos runs real attachments processes on the loopback interface
// and injects process-level faults into them: SIGKILL (a crash with no
// chance to flush or say goodbye), SIGTERM (a graceful stop), and
// SIGSTOP/SIGCONT (a node that hangs, then wakes up with stale timers and
// half-open connections). It is the base of the chaos tool; today its
// tests drive it.
//
// # What it runs
//
// Build compiles cmd/attachments once (CGO_ENABLED=0, so the node binary
// never carries the race detector even when the tests do). A Node is one
// process of that binary started with `serve --config`, where the harness
// writes the configuration: API, Raft and gossip ports on 127.0.0.1 found
// free by binding port 0, a port range of [0, 0] so a node never drifts to
// another port, a JWT secret shared by the whole cluster, and a data
// directory of its own. The process's stdout and stderr go to a log file
// in the node's directory, kept across restarts, so a failing test can
// print what each node said. A node counts as started once GET /health
// answers 200, which needs a metadata leader and a writable disk.
//
// A Cluster is several nodes: node 1 bootstraps a new metadata group and
// the others join through node 1. Restart starts a node again on the same
// ports and data directory, so it comes back as the same member. Leader
// asks GET /v1/admin/cluster which node leads the metadata group.
//
// # What it proves
//
// The tests in this package upload through the public v1 API with a
// Workload (seeded files: fresh, repeated and slightly edited, from a few
// bytes to several chunks; retried only on 503), record every upload
// answered 201 in a Ledger, inject a fault, and end with the
// design's first invariant: an acknowledged write is readable,
// byte-identical, from every node that is up, while no more nodes are
// lost than the redundancy tolerates. They run for tens of seconds each,
// so `go test -short` skips them.
//
// # Cleanup
//
// Close kills every process of a cluster and waits for it; tests register
// it with t.Cleanup, so no node outlives its test even when it fails.
package chaos
