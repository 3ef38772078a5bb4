package meta

import (
	"fmt"
	"os"
	"runtime"
	"strings"
	"testing"
	"time"
)

// TestMain fails the run if goroutines of this package or of raft are
// still alive after every test has closed its stores: each must have an
// owner that stopped it.
func TestMain(m *testing.M) {
	code := m.Run()
	if code == 0 {
		if leaked := waitForLeaks(5 * time.Second); leaked != "" {
			fmt.Fprintf(os.Stderr, "goroutines leaked after tests:\n%s\n", leaked)
			code = 1
		}
	}
	os.Exit(code)
}

// waitForLeaks polls until no leaked goroutine remains or the deadline
// passes, and returns the stacks of those left.
func waitForLeaks(limit time.Duration) string {
	deadline := time.Now().Add(limit)
	tick := time.NewTicker(10 * time.Millisecond)
	defer tick.Stop()
	for {
		leaked := leakedStacks()
		if leaked == "" || time.Now().After(deadline) {
			return leaked
		}
		<-tick.C
	}
}

func leakedStacks() string {
	buf := make([]byte, 1<<20)
	buf = buf[:runtime.Stack(buf, true)]
	var out []string
	for _, g := range strings.Split(string(buf), "\n\n") {
		if strings.Contains(g, "TestMain") || strings.Contains(g, "waitForLeaks") {
			continue
		}
		if strings.Contains(g, "hashicorp/raft") ||
			strings.Contains(g, "helixtrack/attachments/meta.") {
			out = append(out, g)
		}
	}
	return strings.Join(out, "\n\n")
}
