package chaos_test

import (
	"bytes"
	"context"
	"errors"
	"os"
	"path/filepath"
	"strings"
	"testing"

	"github.com/helixtrack/attachments/api/client"
	"github.com/helixtrack/attachments/chaos"
)

// TestNodeStopRestart stops a single node gracefully and starts it again
// on the same data directory: the upload made before is still there, the
// log shows both runs and the clean stop, and the harness refuses
// signals to a stopped node and a second start of a running one.
func TestNodeStopRestart(t *testing.T) {
	c := startCluster(t, 1)
	n := c.Nodes[0]
	ctx, cancel := context.WithTimeout(context.Background(), startTimeout)
	defer cancel()
	body := bytes.Repeat([]byte("stop and restart "), 5000)
	f, err := c.Client(n).Put(ctx, client.Upload{EntityType: "chaos", EntityID: "stop",
		Filename: "a.txt", Body: bytes.NewReader(body)})
	if err != nil {
		t.Fatal(err)
	}

	if err := n.Start(ctx); !errors.Is(err, chaos.ErrRunning) {
		t.Errorf("Start of a running node: got %v, want ErrRunning", err)
	}
	if err := n.Stop(ctx); err != nil {
		t.Fatal(err)
	}
	if err := n.Pause(); !errors.Is(err, chaos.ErrNotRunning) {
		t.Errorf("Pause of a stopped node: got %v, want ErrNotRunning", err)
	}
	if err := n.Restart(ctx); err != nil {
		t.Fatal(err)
	}

	var got bytes.Buffer
	if _, err := c.Client(n).Get(ctx, f.ID, &got); err != nil {
		t.Fatal(err)
	}
	if !bytes.Equal(got.Bytes(), body) {
		t.Errorf("after restart: got %d bytes, want the %d uploaded", got.Len(), len(body))
	}
	log, err := os.ReadFile(n.LogPath())
	if err != nil {
		t.Fatal(err)
	}
	for _, want := range []string{"chaos: start 1 of node-1", "msg=stopped",
		"chaos: start 2 of node-1"} {
		if !strings.Contains(string(log), want) {
			t.Errorf("node log lacks %q", want)
		}
	}
}

// TestNodeStartFails checks that a node whose process exits at once
// (here: its data directory is a file) fails Start with ErrExited and
// the log's tail, instead of waiting for the deadline.
func TestNodeStartFails(t *testing.T) {
	if testing.Short() {
		t.Skip("chaos: runs a real node process; skipped under -short")
	}
	dir := t.TempDir()
	blocker := filepath.Join(dir, "not-a-dir")
	if err := os.WriteFile(blocker, []byte("x"), 0o600); err != nil {
		t.Fatal(err)
	}
	ports, err := chaos.FreePorts()
	if err != nil {
		t.Fatal(err)
	}
	secret, err := chaos.NewSecret()
	if err != nil {
		t.Fatal(err)
	}
	n, err := chaos.NewNode(binary, dir, 1, chaos.NodeConfig{ID: "node-1",
		DataDir: filepath.Join(blocker, "data"), Ports: ports, Secret: secret})
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { n.Kill() })
	ctx, cancel := context.WithTimeout(context.Background(), startTimeout)
	defer cancel()
	err = n.Start(ctx)
	if !errors.Is(err, chaos.ErrExited) {
		t.Fatalf("Start: got %v, want ErrExited", err)
	}
	if !strings.Contains(err.Error(), "last lines of") {
		t.Errorf("Start error lacks the log tail: %v", err)
	}
	if n.Running() {
		t.Errorf("a process still runs after Start failed")
	}
}

// TestLogTail checks the tail of a log file with and without a trailing
// newline, shorter and longer than the tail.
func TestLogTail(t *testing.T) {
	cases := []struct {
		name  string
		log   string
		lines int
		want  string
	}{
		{name: "longer than the tail", log: "a\nb\nc\nd\n", lines: 2, want: "c\nd"},
		{name: "no trailing newline", log: "a\nb\nc", lines: 2, want: "b\nc"},
		{name: "shorter than the tail", log: "a\nb\n", lines: 5, want: "a\nb"},
		{name: "one line", log: "only", lines: 1, want: "only"},
	}
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			dir := t.TempDir()
			n := &chaos.Node{Dir: dir}
			if err := os.WriteFile(n.LogPath(), []byte(tc.log), 0o600); err != nil {
				t.Fatal(err)
			}
			got := n.LogTail(tc.lines)
			_, body, _ := strings.Cut(got, "---\n")
			if body != tc.want {
				t.Errorf("LogTail(%d) of %q: got %q, want %q", tc.lines, tc.log, body, tc.want)
			}
		})
	}
}

// TestGeneratorReplays checks that a seed and stream give the same files
// again, that streams differ, and that the mix has duplicates, edits and
// files of several chunks.
func TestGeneratorReplays(t *testing.T) {
	const seed, files = 42, 60
	a, b, other := chaos.NewGenerator(seed, 1), chaos.NewGenerator(seed, 1),
		chaos.NewGenerator(seed, 2)
	seen := map[string]bool{}
	dups, big := 0, 0
	for i := range files {
		x, y, z := a.Next(), b.Next(), other.Next()
		if !bytes.Equal(x, y) {
			t.Fatalf("file %d differs between two generators of one seed and stream", i)
		}
		if bytes.Equal(x, z) && len(x) > 0 {
			t.Fatalf("file %d is the same in streams 1 and 2", i)
		}
		if seen[string(x)] {
			dups++
		}
		seen[string(x)] = true
		if len(x) > 512<<10 {
			big++
		}
	}
	if dups == 0 || big == 0 || len(seen) < files/2 {
		t.Errorf("mix of %d files: %d repeats, %d over 512 KiB, %d distinct; want some of each",
			files, dups, big, len(seen))
	}
}
