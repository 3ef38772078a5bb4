package node_test

import (
	"context"
	"io"
	"log/slog"
	"net"
	"os"
	"path/filepath"
	"strconv"
	"strings"
	"testing"
	"time"

	"github.com/helixtrack/attachments/internal/config"
	"github.com/helixtrack/attachments/node"
)

// startErr starts a node on cfg and returns Start's error; a node that
// starts is closed again.
func startErr(t *testing.T, cfg config.Config) error {
	t.Helper()
	n, err := node.New(cfg, slog.New(slog.NewTextHandler(io.Discard, nil)))
	if err != nil {
		t.Fatalf("new: %v", err)
	}
	ctx, cancel := context.WithTimeout(context.Background(), 30*time.Second)
	defer cancel()
	err = n.Start(ctx)
	if err == nil {
		n.Close()
	}
	return err
}

// busyPort holds a loopback port open for the rest of the test.
func busyPort(t *testing.T) int {
	t.Helper()
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { ln.Close() })
	return ln.Addr().(*net.TCPAddr).Port
}

// TestNewRefusesConfig: an invalid configuration, and one naming a
// storage tier this release cannot serve, are refused before anything
// opens.
func TestNewRefusesConfig(t *testing.T) {
	logger := slog.New(slog.NewTextHandler(io.Discard, nil))
	bad := testConfig(t, t.TempDir())
	bad.Security.JWTSecret = "short"
	if _, err := node.New(bad, logger); err == nil {
		t.Error("new with a 5-byte JWT secret succeeded")
	}

	tier := testConfig(t, t.TempDir())
	tier.Storage.Endpoints = append(tier.Storage.Endpoints, config.Endpoint{
		ID: "backup", Type: config.S3, Role: config.Backup,
		AdapterConfig: config.AdapterConfig{Bucket: "backup-bucket", Region: "eu-west-1",
			AccessKey: "key", SecretKey: "secret"},
	})
	_, err := node.New(tier, logger)
	if err == nil || !strings.Contains(err.Error(), "not supported") {
		t.Errorf("new with an S3 tier: %v, want a refusal naming it unsupported", err)
	}
}

// TestStartFailuresCleanUp makes Start fail at each step that opens
// something; each failure is reported and leaves nothing held, so the
// same data directory starts cleanly afterwards. That start also falls
// back to the port range, because the configured API port is taken, and
// advertises the configured host (a second loopback address, which the
// default 127.0.0.1 would not reach). Its data then belongs to that node
// id, and a start under another id is refused.
func TestStartFailuresCleanUp(t *testing.T) {
	dir := t.TempDir()
	cases := map[string]func(c *config.Config){
		"data dir under a file": func(c *config.Config) {
			file := filepath.Join(t.TempDir(), "file")
			if err := os.WriteFile(file, nil, 0o600); err != nil {
				t.Fatal(err)
			}
			c.Storage.Endpoints[0].AdapterConfig.Path = filepath.Join(file, "data")
		},
		"api port and range taken": func(c *config.Config) {
			p := busyPort(t)
			c.Service.Port, c.Service.PortRange = p, [2]int{p, p}
		},
		"raft port taken": func(c *config.Config) { c.Cluster.RaftPort = busyPort(t) },
		"gossip port taken": func(c *config.Config) {
			c.Cluster.GossipPort = busyPort(t)
		},
	}
	for name, breakIt := range cases {
		cfg := testConfig(t, dir)
		cfg.Cluster.NodeID = "alpha"
		breakIt(&cfg)
		if err := startErr(t, cfg); err == nil {
			t.Errorf("%s: start succeeded", name)
		}
	}

	const host = "127.0.0.2"
	taken, err := net.Listen("tcp", host+":0")
	if err != nil {
		t.Fatal(err)
	}
	defer taken.Close()
	cfg := testConfig(t, dir)
	spare := freePort(t)
	cfg.Service.Bind, cfg.Service.Advertise = host, host
	cfg.Service.Port = taken.Addr().(*net.TCPAddr).Port
	cfg.Service.PortRange = [2]int{spare, spare}
	cfg.Cluster.NodeID = "alpha"
	tn := startNode(t, cfg)
	if want := "http://" + host + ":" + strconv.Itoa(spare); tn.n.Addr() != want {
		t.Fatalf("addr %q, want %q", tn.n.Addr(), want)
	}
	if code, _ := tn.status("GET", "/health", "", nil, nil); code != 200 {
		t.Fatalf("health after failed starts, on the fallback port: %d", code)
	}
	if tn.n.NodeID() != "alpha" {
		t.Fatalf("node id %q, want the configured alpha", tn.n.NodeID())
	}
	tn.n.Close()

	cfg.Cluster.NodeID = "beta"
	err = startErr(t, cfg)
	if err == nil || !strings.Contains(err.Error(), `"alpha"`) {
		t.Fatalf("start as beta on alpha's data: %v, want a refusal naming alpha", err)
	}
}
