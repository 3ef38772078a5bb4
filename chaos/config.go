package chaos

import (
	"crypto/rand"
	"encoding/hex"
	"encoding/json"
	"fmt"
	"net"
	"os"
	"path/filepath"
	"strconv"
	"time"
)

// Ports are the three ports one node listens on. Gossip uses its port for
// both TCP and UDP.
type Ports struct {
	API    int
	Raft   int
	Gossip int
}

// FreePorts returns three distinct ports that were free on 127.0.0.1 a
// moment ago: each was bound with port 0, so the kernel picked it, and
// released again. Another process may take one in between; a node that
// then fails to bind reports it in its log and Start fails. The gossip
// port is also checked for UDP.
func FreePorts() (Ports, error) {
	var held []net.Listener
	defer func() {
		for _, ln := range held {
			ln.Close()
		}
	}()
	var got [3]int
	for i := range got {
		ln, err := net.Listen("tcp", "127.0.0.1:0")
		if err != nil {
			return Ports{}, fmt.Errorf("free ports: %w", err)
		}
		held = append(held, ln)
		got[i] = ln.Addr().(*net.TCPAddr).Port
	}
	pc, err := net.ListenPacket("udp", "127.0.0.1:"+strconv.Itoa(got[2]))
	if err != nil {
		return Ports{}, fmt.Errorf("free ports: udp %d: %w", got[2], err)
	}
	pc.Close()
	return Ports{API: got[0], Raft: got[1], Gossip: got[2]}, nil
}

// NewSecret returns a random JWT secret of 32 bytes, hex encoded, for the
// nodes of one cluster to share.
func NewSecret() (string, error) {
	var b [32]byte
	if _, err := rand.Read(b[:]); err != nil {
		return "", fmt.Errorf("new secret: %w", err)
	}
	return hex.EncodeToString(b[:]), nil
}

// NodeConfig is what the harness decides about one node. WriteConfig turns
// it into a configuration file for `attachments serve --config`; every key
// it leaves out keeps the embedded default.
type NodeConfig struct {
	// ID is the node id, stable across restarts.
	ID string
	// DataDir is the node's primary storage directory.
	DataDir string
	// Ports are the node's listening ports on 127.0.0.1.
	Ports Ports
	// Secret is the cluster's shared JWT secret (at least 32 bytes).
	Secret string
	// Join lists API addresses to join through; empty bootstraps.
	Join []string
	// Replicas is the replication factor the bootstrapping node records;
	// 0 keeps the default.
	Replicas int
	// RebalanceInterval is the period of the repair pass; 0 keeps the
	// default. Tests shorten it so a restarted node is filled in quickly.
	RebalanceInterval time.Duration
	// LogLevel is debug, info, warn or error; empty keeps the default.
	LogLevel string
}

// WriteConfig writes c as JSON to path.
func WriteConfig(path string, c NodeConfig) error {
	data, err := json.MarshalIndent(c.document(), "", "  ")
	if err != nil {
		return fmt.Errorf("write config %s: %w", path, err)
	}
	if err := os.MkdirAll(filepath.Dir(path), 0o750); err != nil {
		return fmt.Errorf("write config %s: %w", path, err)
	}
	if err := os.WriteFile(path, append(data, '\n'), 0o600); err != nil {
		return fmt.Errorf("write config %s: %w", path, err)
	}
	return nil
}

// document is the configuration file's shape, holding only the keys the
// harness sets.
func (c NodeConfig) document() map[string]any {
	service := map[string]any{
		"port":       c.Ports.API,
		"port_range": [2]int{0, 0},
		"bind":       "127.0.0.1",
		"advertise":  "127.0.0.1",
	}
	if c.LogLevel != "" {
		service["log_level"] = c.LogLevel
	}
	cluster := map[string]any{
		"node_id":     c.ID,
		"raft_port":   c.Ports.Raft,
		"gossip_port": c.Ports.Gossip,
		"join":        append([]string{}, c.Join...),
	}
	if c.Replicas > 0 {
		cluster["replicas"] = c.Replicas
	}
	if c.RebalanceInterval > 0 {
		cluster["rebalance_interval"] = c.RebalanceInterval.String()
	}
	return map[string]any{
		"service": service,
		"storage": map[string]any{
			"endpoints": []map[string]any{{
				"id":             "local-primary",
				"type":           "local",
				"role":           "primary",
				"adapter_config": map[string]any{"path": c.DataDir},
			}},
		},
		"security": map[string]any{"jwt_secret": c.Secret},
		"cluster":  cluster,
	}
}
