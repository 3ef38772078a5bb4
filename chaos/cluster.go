package chaos

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"net/http"
	"path/filepath"
	"strconv"
	"time"

	"github.com/helixtrack/attachments/api"
	"github.com/helixtrack/attachments/api/client"
)

// ErrNoLeader: no running node names a leader that is one of the
// cluster's nodes.
var ErrNoLeader = errors.New("no metadata leader")

// tokenTTL is how long the cluster's tokens stay valid: longer than any
// test, short enough that a leaked one soon expires.
const tokenTTL = 2 * time.Hour

// statusTimeout bounds one GET /v1/admin/cluster; a paused or dying node
// must not stall the caller.
const statusTimeout = 5 * time.Second

// Options describe a cluster to run.
type Options struct {
	// Bin is the attachments binary, from Build.
	Bin string
	// Dir holds one directory per node, node-1, node-2 and so on.
	Dir string
	// Replicas is the replication factor; 0 keeps the node's default,
	// min(3, nodes).
	Replicas int
	// RebalanceInterval is the period of every node's repair pass; 0
	// keeps the default.
	RebalanceInterval time.Duration
	// LogLevel of the nodes; empty keeps the default, info.
	LogLevel string
}

// Cluster is a set of node processes sharing one JWT secret. Node 1
// bootstraps the metadata group; the others join through it. Its methods
// may be called from any goroutine once Start has returned.
type Cluster struct {
	// Nodes are the cluster's nodes; Nodes[0] is node 1.
	Nodes []*Node
	// Secret is the shared JWT secret.
	Secret string

	opts  Options
	rw    string // read, write and delete token for clients
	admin string // admin token for the status endpoint
}

// NewCluster prepares a cluster with a fresh secret; it starts nothing.
func NewCluster(opts Options) (*Cluster, error) {
	secret, err := NewSecret()
	if err != nil {
		return nil, err
	}
	c := &Cluster{Secret: secret, opts: opts}
	if c.rw, err = c.Token("chaos", "read", "write", "delete"); err != nil {
		return nil, err
	}
	if c.admin, err = c.Token("chaos-admin", "admin"); err != nil {
		return nil, err
	}
	return c, nil
}

// Token mints a bearer token for sub with perms, signed with the
// cluster's secret and valid for two hours.
func (c *Cluster) Token(sub string, perms ...string) (string, error) {
	return api.MintToken([]byte(c.Secret), sub, perms, tokenTTL)
}

// Start starts n nodes, one after the other, each healthy before the
// next starts: node 1 bootstraps, the others join through node 1. It then
// waits until every node sees every member alive: /health turns 200 once
// a node's metadata works, which may be before its gossip has joined, and
// a fault injected earlier would test a cluster still forming. On failure
// the nodes already started keep running; Close stops them.
func (c *Cluster) Start(ctx context.Context, n int) error {
	for i := range n {
		if _, err := c.Add(ctx, i > 0); err != nil {
			return err
		}
	}
	return c.WaitAlive(ctx)
}

// aliveInterval is how often WaitAlive asks for the status.
const aliveInterval = 50 * time.Millisecond

// WaitAlive polls until every running node reports every node of the
// cluster as a live member, or ctx ends.
func (c *Cluster) WaitAlive(ctx context.Context) error {
	t := time.NewTicker(aliveInterval)
	defer t.Stop()
	for {
		err := c.allAlive(ctx)
		if err == nil {
			return nil
		}
		select {
		case <-ctx.Done():
			return fmt.Errorf("wait for members alive: %w: %w", ctx.Err(), err)
		case <-t.C:
		}
	}
}

// allAlive returns nil when every running node lists every node alive.
func (c *Cluster) allAlive(ctx context.Context) error {
	for _, n := range c.Nodes {
		if !n.Running() {
			continue
		}
		st, err := c.Status(ctx, n)
		if err != nil {
			return err
		}
		alive := 0
		for _, m := range st.Nodes {
			if m.Alive {
				alive++
			}
		}
		if alive != len(c.Nodes) {
			return fmt.Errorf("%s sees %d of %d members alive", n, alive, len(c.Nodes))
		}
	}
	return nil
}

// Add starts one more node; join makes it join through node 1, otherwise
// it bootstraps a cluster of its own.
func (c *Cluster) Add(ctx context.Context, join bool) (*Node, error) {
	index := len(c.Nodes) + 1
	ports, err := FreePorts()
	if err != nil {
		return nil, err
	}
	cfg := NodeConfig{
		ID:                "node-" + strconv.Itoa(index),
		Ports:             ports,
		Secret:            c.Secret,
		Replicas:          c.opts.Replicas,
		RebalanceInterval: c.opts.RebalanceInterval,
		LogLevel:          c.opts.LogLevel,
	}
	if join {
		cfg.Join = []string{c.Nodes[0].URL}
	}
	dir := filepath.Join(c.opts.Dir, cfg.ID)
	n, err := NewNode(c.opts.Bin, dir, index, cfg)
	if err != nil {
		return nil, err
	}
	c.Nodes = append(c.Nodes, n)
	return n, n.Start(ctx)
}

// Close kills every running node and waits for it. It is safe to call
// more than once.
func (c *Cluster) Close() {
	for _, n := range c.Nodes {
		n.Kill()
	}
}

// Client returns an API client for node n with a read, write and delete
// token. Every request gives up after a minute, so a hung node fails a
// test instead of stalling it.
func (c *Cluster) Client(n *Node) *client.Client {
	return client.New(n.URL, c.rw, &http.Client{Timeout: time.Minute})
}

// Others returns the cluster's nodes except those listed.
func (c *Cluster) Others(except ...*Node) []*Node {
	var out []*Node
	for _, n := range c.Nodes {
		skip := false
		for _, e := range except {
			skip = skip || n == e
		}
		if !skip {
			out = append(out, n)
		}
	}
	return out
}

// LogTails returns the last lines lines of every node's log, for a
// failing test to print.
func (c *Cluster) LogTails(lines int) string {
	var out string
	for _, n := range c.Nodes {
		out += n.LogTail(lines) + "\n"
	}
	return out
}

// Status is the part of GET /v1/admin/cluster the harness reads.
type Status struct {
	Leader          string         `json:"leader"`
	Nodes           []MemberStatus `json:"nodes"`
	UnderReplicated int            `json:"under_replicated"`
	PendingMoves    int            `json:"pending_moves"`
}

// MemberStatus is one member in a Status.
type MemberStatus struct {
	ID      string `json:"id"`
	APIAddr string `json:"api_addr"`
	State   string `json:"state"`
	Alive   bool   `json:"alive"`
	Leader  bool   `json:"leader"`
	Error   string `json:"error"`
}

// Status asks node n for the cluster status.
func (c *Cluster) Status(ctx context.Context, n *Node) (Status, error) {
	ctx, cancel := context.WithTimeout(ctx, statusTimeout)
	defer cancel()
	req, err := http.NewRequestWithContext(ctx, http.MethodGet, n.URL+"/v1/admin/cluster", nil)
	if err != nil {
		return Status{}, fmt.Errorf("status of %s: %w", n, err)
	}
	req.Header.Set("Authorization", "Bearer "+c.admin)
	resp, err := http.DefaultClient.Do(req)
	if err != nil {
		return Status{}, fmt.Errorf("status of %s: %w", n, err)
	}
	defer resp.Body.Close()
	body, err := io.ReadAll(io.LimitReader(resp.Body, 1<<20))
	if err != nil {
		return Status{}, fmt.Errorf("status of %s: %w", n, err)
	}
	if resp.StatusCode != http.StatusOK {
		return Status{}, fmt.Errorf("status of %s: %s: %s", n, resp.Status, body)
	}
	var st Status
	if err := json.Unmarshal(body, &st); err != nil {
		return Status{}, fmt.Errorf("status of %s: decode: %w", n, err)
	}
	return st, nil
}

// Leader asks the running nodes, in order, who leads the metadata group
// and returns the first answer that names one of the cluster's nodes, or
// an error wrapping ErrNoLeader.
func (c *Cluster) Leader(ctx context.Context) (*Node, error) {
	var errs []error
	for _, n := range c.Nodes {
		if !n.Running() {
			continue
		}
		st, err := c.Status(ctx, n)
		if err != nil {
			errs = append(errs, err)
			continue
		}
		for _, m := range c.Nodes {
			if st.Leader != "" && m.Config.ID == st.Leader {
				return m, nil
			}
		}
		errs = append(errs, fmt.Errorf("%s names leader %q", n, st.Leader))
	}
	return nil, fmt.Errorf("leader: %w: %w", ErrNoLeader, errors.Join(errs...))
}
