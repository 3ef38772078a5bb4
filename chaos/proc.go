package chaos

import (
	"bytes"
	"context"
	"errors"
	"fmt"
	"net/http"
	"os"
	"os/exec"
	"path/filepath"
	"strconv"
	"strings"
	"sync"
	"syscall"
	"time"
)

// Errors of a node process.
var (
	// ErrRunning: Start was called on a node whose process is running.
	ErrRunning = errors.New("node process is running")
	// ErrNotRunning: a signal was asked for while no process runs.
	ErrNotRunning = errors.New("node process is not running")
	// ErrExited: the process ended while the harness waited for it to
	// become healthy.
	ErrExited = errors.New("node process exited")
)

// healthPoll is how often Start asks a starting node for /health.
const healthPoll = 50 * time.Millisecond

// Node is one attachments process and the files it lives in: Dir holds
// config.json, the data directory and node.log. Start, Kill, Stop,
// Restart, Pause and Resume may be called from any goroutine; the methods
// serialise on an internal mutex.
type Node struct {
	// Index is the node's position in its cluster, from 1.
	Index int
	// Config is what the node was started with; its ports and data
	// directory stay the same across restarts.
	Config NodeConfig
	// Dir holds the node's configuration, data and log.
	Dir string
	// URL is the node's API base URL, e.g. "http://127.0.0.1:40123".
	URL string

	bin string

	mu     sync.Mutex    // guards the fields below
	cmd    *exec.Cmd     // the running process; nil when none runs
	exited chan struct{} // closed when cmd has been waited for
	starts int           // processes started so far, for the log markers
}

// NewNode prepares a node that runs bin with c, keeping its files in dir.
// It writes the configuration file but starts nothing.
func NewNode(bin, dir string, index int, c NodeConfig) (*Node, error) {
	if c.DataDir == "" {
		c.DataDir = filepath.Join(dir, "data")
	}
	n := &Node{
		Index:  index,
		Config: c,
		Dir:    dir,
		URL:    "http://127.0.0.1:" + strconv.Itoa(c.Ports.API),
		bin:    bin,
	}
	if err := WriteConfig(n.ConfigPath(), c); err != nil {
		return nil, err
	}
	return n, nil
}

// ConfigPath is the node's configuration file.
func (n *Node) ConfigPath() string { return filepath.Join(n.Dir, "config.json") }

// LogPath is the file the node's stdout and stderr are appended to, by
// every process the node has run.
func (n *Node) LogPath() string { return filepath.Join(n.Dir, "node.log") }

// String names the node in messages: "node 2 (node-2, http://...)".
func (n *Node) String() string {
	return fmt.Sprintf("node %d (%s, %s)", n.Index, n.Config.ID, n.URL)
}

// PID returns the running process's id, or 0 when none runs.
func (n *Node) PID() int {
	n.mu.Lock()
	defer n.mu.Unlock()
	if n.cmd == nil {
		return 0
	}
	return n.cmd.Process.Pid
}

// Running reports whether a process runs (paused counts as running).
func (n *Node) Running() bool { return n.PID() != 0 }

// Start launches the process and waits until /health answers 200. It
// fails with ErrRunning when a process already runs, with ErrExited (and
// the log's tail) when the process dies first, and with ctx's error when
// ctx ends first; on failure no process is left running.
func (n *Node) Start(ctx context.Context) error {
	exited, err := n.launch()
	if err != nil {
		return err
	}
	if err := n.waitHealthy(ctx, exited); err != nil {
		n.Kill()
		return fmt.Errorf("start %s: %w\n%s", n, err, n.LogTail(30))
	}
	return nil
}

// Restart starts the node again after Kill or Stop, on the same ports and
// data directory. It is Start under the name a test reads best.
func (n *Node) Restart(ctx context.Context) error { return n.Start(ctx) }

// launch starts the process and the goroutine that waits for it.
func (n *Node) launch() (<-chan struct{}, error) {
	n.mu.Lock()
	defer n.mu.Unlock()
	if n.cmd != nil {
		return nil, fmt.Errorf("start %s: %w", n, ErrRunning)
	}
	logf, err := os.OpenFile(n.LogPath(), os.O_CREATE|os.O_WRONLY|os.O_APPEND, 0o600)
	if err != nil {
		return nil, fmt.Errorf("start %s: %w", n, err)
	}
	n.starts++
	fmt.Fprintf(logf, "--- chaos: start %d of %s at %s ---\n",
		n.starts, n.Config.ID, time.Now().Format(time.RFC3339Nano))

	cmd := exec.Command(n.bin, "serve", "--config", n.ConfigPath())
	cmd.Stdout, cmd.Stderr = logf, logf
	// A process group of its own keeps a terminal's Ctrl-C from reaching
	// the nodes, so the harness alone decides when they stop.
	cmd.SysProcAttr = &syscall.SysProcAttr{Setpgid: true}
	err = cmd.Start()
	logf.Close() // the child holds its own descriptor
	if err != nil {
		return nil, fmt.Errorf("start %s: %w", n, err)
	}

	exited := make(chan struct{})
	n.cmd, n.exited = cmd, exited
	go func() {
		cmd.Wait()
		n.mu.Lock()
		if n.cmd == cmd {
			n.cmd = nil
		}
		n.mu.Unlock()
		close(exited)
	}()
	return exited, nil
}

// waitHealthy polls /health until it answers 200, the process exits or
// ctx ends.
func (n *Node) waitHealthy(ctx context.Context, exited <-chan struct{}) error {
	hc := &http.Client{Timeout: 2 * time.Second}
	t := time.NewTicker(healthPoll)
	defer t.Stop()
	for {
		if n.healthy(ctx, hc) {
			return nil
		}
		select {
		case <-exited:
			return ErrExited
		case <-ctx.Done():
			return fmt.Errorf("wait for /health: %w", ctx.Err())
		case <-t.C:
		}
	}
}

// healthy reports whether GET /health answers 200 now.
func (n *Node) healthy(ctx context.Context, hc *http.Client) bool {
	req, err := http.NewRequestWithContext(ctx, http.MethodGet, n.URL+"/health", nil)
	if err != nil {
		return false
	}
	resp, err := hc.Do(req)
	if err != nil {
		return false
	}
	resp.Body.Close()
	return resp.StatusCode == http.StatusOK
}

// Kill sends SIGKILL and waits until the process is gone. A paused
// process dies too. It fails with ErrNotRunning when no process runs.
func (n *Node) Kill() error {
	exited, err := n.signal(syscall.SIGKILL)
	if err != nil {
		return fmt.Errorf("kill %s: %w", n, err)
	}
	<-exited
	return nil
}

// Stop sends SIGTERM (and SIGCONT, in case the node is paused) and waits
// for the process to end. When ctx ends first it kills the process and
// returns ctx's error: a node that cannot stop gracefully is a finding,
// not something to wait for forever.
func (n *Node) Stop(ctx context.Context) error {
	exited, err := n.signal(syscall.SIGTERM)
	if err != nil {
		return fmt.Errorf("stop %s: %w", n, err)
	}
	n.signal(syscall.SIGCONT)
	select {
	case <-exited:
		return nil
	case <-ctx.Done():
		n.Kill()
		return fmt.Errorf("stop %s: %w", n, ctx.Err())
	}
}

// Pause sends SIGSTOP: the process keeps its sockets but runs no code, so
// peers see a node that accepts connections and never answers.
func (n *Node) Pause() error {
	if _, err := n.signal(syscall.SIGSTOP); err != nil {
		return fmt.Errorf("pause %s: %w", n, err)
	}
	return nil
}

// Resume sends SIGCONT to a paused process.
func (n *Node) Resume() error {
	if _, err := n.signal(syscall.SIGCONT); err != nil {
		return fmt.Errorf("resume %s: %w", n, err)
	}
	return nil
}

// signal sends sig to the running process and returns the channel closed
// when it has exited.
func (n *Node) signal(sig syscall.Signal) (<-chan struct{}, error) {
	n.mu.Lock()
	defer n.mu.Unlock()
	if n.cmd == nil {
		return nil, ErrNotRunning
	}
	if err := n.cmd.Process.Signal(sig); err != nil {
		// The process ended and its waiter has not yet cleared cmd.
		if errors.Is(err, os.ErrProcessDone) {
			return nil, ErrNotRunning
		}
		return nil, err
	}
	return n.exited, nil
}

// LogTail returns about the last lines lines of the node's log, for
// failure messages. A missing log reads as a note saying so.
func (n *Node) LogTail(lines int) string {
	data, err := os.ReadFile(n.LogPath())
	if err != nil {
		return fmt.Sprintf("(no log: %v)", err)
	}
	data = bytes.TrimRight(data, "\n")
	cut := len(data)
	for i := 0; i < lines && cut > 0; i++ {
		cut = bytes.LastIndexByte(data[:cut], '\n')
	}
	return fmt.Sprintf("--- last lines of %s ---\n%s", n.LogPath(), data[cut+1:])
}

// LogGrep returns up to max lines of the node's log that contain substr,
// the first ones, for failure messages.
func (n *Node) LogGrep(substr string, max int) string {
	data, err := os.ReadFile(n.LogPath())
	if err != nil {
		return fmt.Sprintf("(no log: %v)", err)
	}
	var out []string
	for line := range strings.Lines(string(data)) {
		if len(out) == max {
			break
		}
		if strings.Contains(line, substr) {
			out = append(out, strings.TrimRight(line, "\n"))
		}
	}
	return strings.Join(out, "\n")
}
