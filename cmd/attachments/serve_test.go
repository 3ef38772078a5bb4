package main

import (
	"context"
	"net"
	"net/http"
	"os"
	"path/filepath"
	"regexp"
	"strconv"
	"strings"
	"syscall"
	"testing"
	"time"

	"github.com/helixtrack/attachments/node/nodetest"
)

// serveDeadline bounds every wait on a serving node: start-up includes a
// Raft election, which takes a second or two on a loaded machine.
const serveDeadline = 60 * time.Second

// freePort returns a TCP port on 127.0.0.1 that was free a moment ago.
func freePort(t *testing.T) int { return nodetest.FreePort(t) }

// running is a serve command started in the background.
type running struct {
	dataDir string
	logs    *syncBuffer
	cancel  context.CancelFunc
	done    chan int // receives the exit status once
	addr    string
}

// startServe runs serve on loopback ports with its data under a temp dir
// and waits until it logs that it is serving.
func startServe(t *testing.T) *running {
	t.Helper()
	cfgPath := writeConfig(t, `{
		"service": {"bind": "127.0.0.1", "port_range": [0, 0], "log_level": "debug"},
		"security": {"jwt_secret": "serve-test-secret-serve-test-secret"},
		"cluster": {"raft_port": `+strconv.Itoa(freePort(t))+`}}`)
	r := &running{
		dataDir: filepath.Join(t.TempDir(), "data"),
		logs:    &syncBuffer{},
		done:    make(chan int, 1),
	}
	ctx, cancel := context.WithCancel(context.Background())
	r.cancel = cancel
	args := []string{"serve", "--config", cfgPath, "--data", r.dataDir,
		"--port", strconv.Itoa(freePort(t))}
	go func() { r.done <- run(ctx, args, nil, &syncBuffer{}, r.logs) }()
	t.Cleanup(func() {
		cancel()
		r.wait(t)
	})

	r.addr = r.awaitLog(t, regexp.MustCompile(`msg=serving addr=(\S+)`))
	return r
}

// awaitLog polls the logs until re matches and returns its first group.
func (r *running) awaitLog(t *testing.T, re *regexp.Regexp) string {
	t.Helper()
	deadline := time.NewTimer(serveDeadline)
	defer deadline.Stop()
	tick := time.NewTicker(10 * time.Millisecond)
	defer tick.Stop()
	for {
		if m := re.FindStringSubmatch(r.logs.String()); m != nil {
			return m[1]
		}
		select {
		case code := <-r.done:
			r.done <- code
			t.Fatalf("serve exited with %d before logging %s:\n%s", code, re, r.logs)
		case <-deadline.C:
			t.Fatalf("serve did not log %s within %v:\n%s", re, serveDeadline, r.logs)
		case <-tick.C:
		}
	}
}

// wait returns the exit status of serve, failing the test if it does not
// end within the deadline. It may be called more than once.
func (r *running) wait(t *testing.T) int {
	t.Helper()
	select {
	case code := <-r.done:
		r.done <- code
		return code
	case <-time.After(serveDeadline):
		t.Fatalf("serve did not stop within %v:\n%s", serveDeadline, r.logs)
		return -1
	}
}

// checkServing asks the node's health endpoint and checks that --data
// took effect.
func (r *running) checkServing(t *testing.T) {
	t.Helper()
	client := &http.Client{Timeout: serveDeadline}
	resp, err := client.Get(r.addr + "/health")
	if err != nil {
		t.Fatalf("GET /health: %v", err)
	}
	resp.Body.Close()
	if resp.StatusCode != http.StatusOK {
		t.Errorf("GET /health: status %d, want 200", resp.StatusCode)
	}
	if _, err := os.Stat(filepath.Join(r.dataDir, "node_id")); err != nil {
		t.Errorf("--data %s holds no node_id: %v", r.dataDir, err)
	}
}

func TestServeStopsWhenCancelled(t *testing.T) {
	r := startServe(t)
	r.checkServing(t)

	r.cancel()
	if code := r.wait(t); code != exitOK {
		t.Fatalf("exit status: got %d, want 0:\n%s", code, r.logs)
	}
	if !strings.Contains(r.logs.String(), "msg=stopped") {
		t.Errorf("logs do not end with msg=stopped:\n%s", r.logs)
	}
	if _, err := http.Get(r.addr + "/health"); err == nil {
		t.Errorf("GET /health after stop: got an answer, want a refused connection")
	}
}

func TestServeStopsOnSIGTERM(t *testing.T) {
	r := startServe(t)
	r.checkServing(t)

	// serve watches SIGTERM from before it logs "serving" until it exits,
	// so the signal cannot reach the test binary's default handler.
	if err := syscall.Kill(os.Getpid(), syscall.SIGTERM); err != nil {
		t.Fatal(err)
	}
	if code := r.wait(t); code != exitOK {
		t.Fatalf("exit status: got %d, want 0:\n%s", code, r.logs)
	}
	logs := r.logs.String()
	if !strings.Contains(logs, "msg=\"shutting down\"") || !strings.Contains(logs, "msg=stopped") {
		t.Errorf("logs do not show a graceful stop:\n%s", logs)
	}
}

func TestServePortInUse(t *testing.T) {
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	defer ln.Close()
	port := strconv.Itoa(ln.Addr().(*net.TCPAddr).Port)
	cfgPath := writeConfig(t, `{"service": {"bind": "127.0.0.1", "port_range": [0, 0]},
		"cluster": {"raft_port": `+strconv.Itoa(freePort(t))+`}}`)

	r := invoke(t, "serve", "--config", cfgPath, "--data", t.TempDir(), "--port", port)
	if r.code != exitRuntime {
		t.Fatalf("exit status: got %d, want %d\nstderr: %s", r.code, exitRuntime, r.stderr)
	}
	// Logs written before the failure come first; the error is the last line.
	lines := strings.Split(strings.TrimSuffix(r.stderr, "\n"), "\n")
	last := lines[len(lines)-1]
	const prefix = "attachments serve: serve: start:"
	if !strings.HasPrefix(last, prefix) || !strings.Contains(last, port) {
		t.Errorf("last stderr line: got %q, want the start error naming port %s", last, port)
	}
}
