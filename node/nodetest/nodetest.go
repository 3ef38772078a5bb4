// Package nodetest helps tests run real nodes on the loopback interface:
// a free port, and a configuration with every listener on 127.0.0.1 and
// its own free ports, so any number of nodes share one machine. It is
// imported by tests only.
package nodetest

import (
	"net"
	"testing"

	"github.com/helixtrack/attachments/internal/config"
)

// FreePort returns a TCP port on 127.0.0.1 that was free a moment ago.
// Another process may take it before the caller binds it; tests accept
// that small window rather than threading listeners through the node.
func FreePort(t testing.TB) int {
	t.Helper()
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatalf("free port: %v", err)
	}
	defer ln.Close()
	return ln.Addr().(*net.TCPAddr).Port
}

// Config returns the embedded defaults with the API, Raft and gossip on
// free loopback ports (no fallback range), the data under dir and secret
// as the JWT secret (at least 32 bytes).
func Config(t testing.TB, dir, secret string) config.Config {
	t.Helper()
	cfg := config.Default()
	cfg.Service.Bind = "127.0.0.1"
	cfg.Service.Port = FreePort(t)
	cfg.Service.PortRange = [2]int{0, 0}
	cfg.Cluster.RaftPort = FreePort(t)
	cfg.Cluster.GossipPort = FreePort(t)
	cfg.Storage.Endpoints[0].AdapterConfig.Path = dir
	cfg.Security.JWTSecret = secret
	return cfg
}
