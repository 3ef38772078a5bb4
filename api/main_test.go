package api

import (
	"fmt"
	"os"
	"runtime"
	"strings"
	"testing"
	"time"
)

// TestMain fails the run if goroutines of the server (fasthttp's or this
// package's) or of the test clients outlive the tests: every server is
// shut down and every client connection closed by its test's cleanup.
func TestMain(m *testing.M) {
	code := m.Run()
	if code == 0 {
		if err := waitGoroutines(5 * time.Second); err != nil {
			fmt.Fprintln(os.Stderr, err)
			code = 1
		}
	}
	os.Exit(code)
}

// waitGoroutines polls until no leaked goroutine is left or wait passes.
// Connections closed a moment ago may still be winding down, hence the
// polling.
func waitGoroutines(wait time.Duration) error {
	tick := time.NewTicker(10 * time.Millisecond)
	defer tick.Stop()
	deadline := time.After(wait)
	for {
		leaked := leakedGoroutines()
		if len(leaked) == 0 {
			return nil
		}
		select {
		case <-tick.C:
		case <-deadline:
			return fmt.Errorf("leaked goroutines:\n\n%s", strings.Join(leaked, "\n\n"))
		}
	}
}

// leakedGoroutines returns the stacks of goroutines that belong to a
// server or a client and should have ended.
func leakedGoroutines() []string {
	buf := make([]byte, 4<<20)
	buf = buf[:runtime.Stack(buf, true)]
	var leaked []string
	for _, g := range strings.Split(string(buf), "\n\n") {
		if strings.Contains(g, "waitGoroutines") || strings.Contains(g, "testing.(*M)") ||
			isProcessWide(g) {
			continue
		}
		if strings.Contains(g, "valyala/fasthttp") ||
			strings.Contains(g, "attachments/api.") ||
			strings.Contains(g, "net/http.(*persistConn)") {
			leaked = append(leaked, g)
		}
	}
	return leaked
}

// isProcessWide reports whether g is a fasthttp goroutine this package
// cannot stop or wait for: the date updater, started once per process and
// never stopped, and the worker pool's cleaner, which notices Shutdown only
// when it wakes, up to MaxIdleWorkerDuration (10 s) later, and then exits.
func isProcessWide(g string) bool {
	return strings.Contains(g, "fasthttp.updateServerDate") ||
		strings.Contains(g, "fasthttp.(*workerPool).Start.func2")
}
