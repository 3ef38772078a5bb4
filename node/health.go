package node

import (
	"context"
	"errors"
	"fmt"
	"os"
	"path/filepath"
	"time"

	"github.com/helixtrack/attachments/api"
)

// healthTimeout bounds each check, so /health answers even when a disk or
// the metadata quorum hangs.
const healthTimeout = 2 * time.Second

// Health implements api.Backend: the metadata check asks the replicated
// store for a linearizable read; the storage check writes, fsyncs and
// removes a probe file beside the chunk packs.
func (n *Node) Health(ctx context.Context) []api.Check {
	ctx, cancel := context.WithTimeout(ctx, healthTimeout)
	defer cancel()
	return []api.Check{
		timed("startup", n.startupDone),
		timed("metadata", func() error { return n.meta.Health(ctx) }),
		timed("storage_primary", n.probeDisk),
	}
}

// errStarting: the node serves its API (peers need it while it joins) but
// has not finished joining, registering and starting gossip.
var errStarting = errors.New("node is starting")

func (n *Node) startupDone() error {
	if !n.ready.Load() {
		return errStarting
	}
	return nil
}

func timed(name string, check func() error) api.Check {
	start := time.Now()
	err := check()
	return api.Check{Name: name, Latency: time.Since(start), Err: err}
}

func (n *Node) probeDisk() error {
	path := filepath.Join(n.dataDir, ".health-probe")
	if err := writeFileSync(path, []byte("ok")); err != nil {
		return fmt.Errorf("storage probe: %w", err)
	}
	if err := os.Remove(path); err != nil {
		return fmt.Errorf("storage probe: %w", err)
	}
	return nil
}
