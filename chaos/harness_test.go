package chaos_test

import (
	"context"
	"errors"
	"testing"
	"time"

	"github.com/helixtrack/attachments/chaos"
)

// Bounds of the tests' waits. They are generous for two shared cores; a
// healthy run stays well inside them.
const (
	startTimeout    = 60 * time.Second // one node or cluster to become healthy
	uploadTimeout   = 60 * time.Second // a phase of uploads to reach its count
	convergeTimeout = 60 * time.Second // repairs to finish after a restart
	verifyTimeout   = 90 * time.Second // one node to serve every upload
	uploaders       = 4
	verifyWorkers   = 4
)

// startCluster runs size nodes with three copies of every chunk and a
// one-second repair pass. Cleanup prints every node's log tail when the
// test failed, then kills the nodes.
func startCluster(t *testing.T, size int) *chaos.Cluster {
	t.Helper()
	if testing.Short() {
		t.Skip("chaos: runs real node processes for tens of seconds; skipped under -short")
	}
	c, err := chaos.NewCluster(chaos.Options{
		Bin:               binary,
		Dir:               t.TempDir(),
		Replicas:          3,
		RebalanceInterval: time.Second,
	})
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() {
		if t.Failed() {
			t.Log("node logs:\n" + c.LogTails(40))
			for _, n := range c.Nodes {
				t.Logf("requests %s failed (up to 20):\n%s", n, n.LogGrep(`msg="request failed"`, 20))
			}
		}
		c.Close()
	})
	ctx, cancel := context.WithTimeout(context.Background(), startTimeout)
	defer cancel()
	if err := c.Start(ctx, size); err != nil {
		t.Fatal(err)
	}
	return c
}

// faults logs the fault schedule with the time since the test began.
type faults struct {
	t     *testing.T
	start time.Time
}

func newFaults(t *testing.T) *faults { return &faults{t: t, start: time.Now()} }

func (f *faults) log(format string, args ...any) {
	f.t.Helper()
	f.t.Logf("t+%s: "+format, append([]any{time.Since(f.start).Round(time.Millisecond)}, args...)...)
}

// workload uploads through nodes into ledger.
func workload(c *chaos.Cluster, seed uint64, ledger *chaos.Ledger,
	nodes ...*chaos.Node) *chaos.Workload {
	w := &chaos.Workload{Seed: seed, Ledger: ledger}
	for _, n := range nodes {
		w.Targets = append(w.Targets, chaos.Target{Name: n.String(), Client: c.Client(n)})
	}
	return w
}

// background is a workload running until stopped.
type background struct {
	cancel context.CancelFunc
	done   chan chaos.RunStats
}

func startWorkload(w *chaos.Workload) *background {
	ctx, cancel := context.WithCancel(context.Background())
	b := &background{cancel: cancel, done: make(chan chaos.RunStats, 1)}
	go func() { b.done <- w.Run(ctx, uploaders) }()
	return b
}

// stop ends the workload, waits for its uploaders and fails the test for
// every upload that failed for a reason other than the stop itself.
func (b *background) stop(t *testing.T) chaos.RunStats {
	t.Helper()
	b.cancel()
	st := <-b.done
	t.Logf("workload: %d acknowledged, %d answers 503 retried, %d failed, slowest %s",
		st.Acked, st.Retries, len(st.Failures), st.Slowest.Round(time.Millisecond))
	for _, err := range st.Failures {
		t.Errorf("upload failed: %v", err)
	}
	return st
}

// waitAcked polls until ledger holds at least n uploads.
func waitAcked(t *testing.T, ledger *chaos.Ledger, n int) {
	t.Helper()
	waitUntil(t, uploadTimeout, func() error {
		if got := ledger.Len(); got < n {
			return errors.New("fewer acknowledged uploads than wanted")
		}
		return nil
	}, "acknowledged uploads reach the count")
}

// waitUntil polls cond every 50ms until it returns nil; past timeout it
// fails the test with cond's last error.
func waitUntil(t *testing.T, timeout time.Duration, cond func() error, what string) {
	t.Helper()
	deadline := time.Now().Add(timeout)
	tick := time.NewTicker(50 * time.Millisecond)
	defer tick.Stop()
	for {
		err := cond()
		if err == nil {
			return
		}
		if time.Now().After(deadline) {
			t.Fatalf("waiting %s for %s: %v", timeout, what, err)
		}
		<-tick.C
	}
}

// verify checks every acknowledged upload through each of nodes.
func verify(t *testing.T, c *chaos.Cluster, ledger *chaos.Ledger, nodes ...*chaos.Node) {
	t.Helper()
	for _, n := range nodes {
		ctx, cancel := context.WithTimeout(context.Background(), verifyTimeout)
		start := time.Now()
		err := ledger.Verify(ctx, c.Client(n), verifyWorkers)
		cancel()
		if err != nil {
			t.Errorf("through %s: %v", n, err)
			continue
		}
		t.Logf("all %d acknowledged uploads read back identical through %s in %s",
			ledger.Len(), n, time.Since(start).Round(time.Millisecond))
	}
}

// waitConverged waits until node n reports every member alive and
// active, and no chunk with missing copies or waiting to move.
func waitConverged(t *testing.T, c *chaos.Cluster, n *chaos.Node) {
	t.Helper()
	waitStatus(t, c, n, "the cluster to repair every chunk", func(st chaos.Status) error {
		return converged(st, len(c.Nodes))
	})
}

// waitUnderReplicated waits until node n reports chunks with copies
// missing, as it must while an owner of every chunk is down.
func waitUnderReplicated(t *testing.T, c *chaos.Cluster, n *chaos.Node) {
	t.Helper()
	waitStatus(t, c, n, "the status to report the missing copies", func(st chaos.Status) error {
		if st.UnderReplicated == 0 {
			return errors.New("status reports no under-replicated chunk")
		}
		return nil
	})
}

// waitStatus polls node n's cluster status until check accepts it.
func waitStatus(t *testing.T, c *chaos.Cluster, n *chaos.Node, what string,
	check func(chaos.Status) error) {
	t.Helper()
	waitUntil(t, convergeTimeout, func() error {
		ctx, cancel := context.WithTimeout(context.Background(), 5*time.Second)
		defer cancel()
		st, err := c.Status(ctx, n)
		if err != nil {
			return err
		}
		return check(st)
	}, what)
}

// converged reports nil when st shows size members alive and active and
// no chunk missing a copy or waiting to move.
func converged(st chaos.Status, size int) error {
	if len(st.Nodes) != size {
		return errors.New("layout does not list every node")
	}
	for _, m := range st.Nodes {
		if !m.Alive || m.State != "active" || m.Error != "" {
			return errors.New("member " + m.ID + " is not alive and active: " + m.Error)
		}
	}
	if st.UnderReplicated != 0 || st.PendingMoves != 0 {
		return errors.New("chunks still under-replicated or waiting to move")
	}
	return nil
}

// leader returns the current leader, failing the test if none is known.
func leader(t *testing.T, c *chaos.Cluster) *chaos.Node {
	t.Helper()
	var l *chaos.Node
	waitUntil(t, startTimeout, func() error {
		ctx, cancel := context.WithTimeout(context.Background(), 5*time.Second)
		defer cancel()
		var err error
		l, err = c.Leader(ctx)
		return err
	}, "a metadata leader")
	return l
}
