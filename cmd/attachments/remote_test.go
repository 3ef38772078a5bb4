package main

import (
	"bytes"
	"context"
	"io"
	"log/slog"
	"math/rand/v2"
	"os"
	"strconv"
	"strings"
	"testing"
	"time"

	"github.com/helixtrack/attachments/api"
	"github.com/helixtrack/attachments/internal/config"
	"github.com/helixtrack/attachments/node"
	"github.com/helixtrack/attachments/node/nodetest"
)

// remoteSecret signs the tokens of every node the client tests start.
const remoteSecret = "remote-test-secret-remote-test-secret"

// nodeConfig is the embedded default with everything on loopback, free
// ports and its data under dir.
func nodeConfig(t *testing.T, dir string) config.Config {
	return nodetest.Config(t, dir, remoteSecret)
}

// startNode starts a real node with cfg and closes it when the test ends.
func startNode(t *testing.T, cfg config.Config) *node.Node {
	t.Helper()
	logger := slog.New(slog.NewTextHandler(io.Discard, nil))
	if testing.Verbose() {
		logger = slog.New(slog.NewTextHandler(os.Stderr,
			&slog.HandlerOptions{Level: slog.LevelInfo}))
	}
	n, err := node.New(cfg, logger)
	if err != nil {
		t.Fatal(err)
	}
	ctx, cancel := context.WithTimeout(context.Background(), serveDeadline)
	defer cancel()
	if err := n.Start(ctx); err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { n.Close() })
	return n
}

// startCluster starts size nodes, the first bootstrapping and the others
// joining through it. tweak, if not nil, edits every configuration.
func startCluster(t *testing.T, size int, tweak func(*config.Config)) []*node.Node {
	t.Helper()
	var nodes []*node.Node
	for i := range size {
		cfg := nodeConfig(t, t.TempDir())
		if i > 0 {
			cfg.Cluster.Join = []string{nodes[0].Addr()}
		}
		if tweak != nil {
			tweak(&cfg)
		}
		nodes = append(nodes, startNode(t, cfg))
	}
	return nodes
}

// mintToken returns a token the test nodes accept.
func mintToken(t *testing.T, user string, perms ...string) string {
	t.Helper()
	tok, err := api.MintToken([]byte(remoteSecret), user, perms, time.Hour)
	if err != nil {
		t.Fatal(err)
	}
	return tok
}

// invokeIn runs args in-process with stdin as standard input.
func invokeIn(t *testing.T, stdin io.Reader, args ...string) result {
	t.Helper()
	var out, errOut bytes.Buffer
	code := run(context.Background(), args, stdin, &out, &errOut)
	return result{code: code, stdout: out.String(), stderr: errOut.String()}
}

// remote holds the --url and --token of one node, for invoking commands
// against it.
type remote struct {
	t     *testing.T
	url   string
	token string
}

// run invokes a client command against the node with empty stdin.
func (r remote) run(args ...string) result {
	r.t.Helper()
	return r.runIn(strings.NewReader(""), args...)
}

// runIn invokes a client command against the node with stdin.
func (r remote) runIn(stdin io.Reader, args ...string) result {
	r.t.Helper()
	args = append(args, "--url", r.url, "--token", r.token)
	return invokeIn(r.t, stdin, args...)
}

// testSeed returns the seed of a randomised test, from ATTACHMENTS_SEED
// when set, and logs it so a failure can be replayed.
func testSeed(t *testing.T) uint64 {
	t.Helper()
	seed := uint64(time.Now().UnixNano())
	if s := os.Getenv("ATTACHMENTS_SEED"); s != "" {
		var err error
		if seed, err = strconv.ParseUint(s, 10, 64); err != nil {
			t.Fatalf("ATTACHMENTS_SEED: %v", err)
		}
	}
	t.Logf("seed %d (replay with ATTACHMENTS_SEED=%d)", seed, seed)
	return seed
}

// randomBytes returns n bytes drawn from r.
func randomBytes(r *rand.Rand, n int) []byte {
	b := make([]byte, n)
	for i := range b {
		b[i] = byte(r.Uint32())
	}
	return b
}

// lines splits output into its lines, without the final newline.
func lines(s string) []string {
	s = strings.TrimSuffix(s, "\n")
	if s == "" {
		return nil
	}
	return strings.Split(s, "\n")
}

func TestRemoteUsageErrors(t *testing.T) {
	// No node is started: each of these must fail before any request.
	t.Setenv(envURL, "")
	t.Setenv(envToken, "")
	tok := []string{"--token", "x"}
	cases := []struct {
		name string
		args []string
		want string
	}{
		{name: "put without entity", args: []string{"put", "f"},
			want: `required flag(s) "entity" not set`},
		{name: "put without files", args: []string{"put", "--entity", "a/b"},
			want: "requires at least 1 arg(s)"},
		{name: "entity without id", args: []string{"put", "f", "--entity", "ticket"},
			want: `--entity: want TYPE/ID, e.g. ticket/T-42, got "ticket"`},
		{name: "entity with empty type", args: []string{"put", "f", "--entity", "/T-1"},
			want: `--entity: want TYPE/ID`},
		{name: "stdin without filename", args: []string{"put", "-", "--entity", "a/b"},
			want: "--filename: required to name the upload read from '-'"},
		{name: "stdin twice",
			args: []string{"put", "-", "-", "--entity", "a/b", "--filename", "x"},
			want: "'-' given 2 times"},
		{name: "filename for several files",
			args: []string{"put", "f", "g", "--entity", "a/b", "--filename", "x"},
			want: "--filename: names one upload, but 2 FILEs were given"},
		{name: "get without id", args: []string{"get"}, want: "accepts 1 arg(s), received 0"},
		{name: "stat with two ids", args: []string{"stat", "a", "b"},
			want: "accepts 1 arg(s), received 2"},
		{name: "rm without id", args: []string{"rm"}, want: "requires at least 1 arg(s)"},
		{name: "ls without entity", args: []string{"ls"}, want: "accepts 1 arg(s)"},
		{name: "ls of a bare type", args: append([]string{"ls", "ticket"}, tok...),
			want: `--entity: want TYPE/ID`},
		{name: "negative page size",
			args: append([]string{"ls", "a/b", "--page-size", "-1"}, tok...),
			want: "--page-size: must not be negative, got -1"},
		{name: "no token", args: []string{"stat", "id"},
			want: "no token: pass --token or set ATTACHMENTS_TOKEN"},
		{name: "url without scheme",
			args: append([]string{"stat", "id", "--url", "127.0.0.1:8090"}, tok...),
			want: `--url: want http://host:port or https://host:port, got "127.0.0.1:8090"`},
		{name: "node without id", args: []string{"node", "drain"}, want: "accepts 1 arg(s)"},
		{name: "unknown node action", args: []string{"node", "evict", "n1"},
			want: `unknown command "evict"`},
		{name: "node without subcommand", args: []string{"node"},
			want: "missing subcommand: want one of add, drain, remove"},
		{name: "unknown config subcommand", args: []string{"config", "show"},
			want: `unknown command "show": want one of print`},
		{name: "cluster status with an argument", args: []string{"cluster", "status", "x"},
			want: `unknown command "x"`},
	}
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			r := invoke(t, tc.args...)
			wantExit(t, r, exitUsage, tc.want, "--help')")
			if r.stdout != "" {
				t.Errorf("stdout: got %q, want nothing", r.stdout)
			}
		})
	}
}

func TestUnreachableNodeIsARuntimeError(t *testing.T) {
	url := "http://127.0.0.1:" + strconv.Itoa(freePort(t))
	r := invoke(t, "stat", "id", "--url", url, "--token", "x")
	wantExit(t, r, exitRuntime, "attachments stat: stat id:", "connection refused")
}
