package main

import (
	"cmp"
	"context"
	"fmt"
	"io"
	"log/slog"
	"os"
	"os/signal"
	"syscall"

	"github.com/spf13/cobra"

	"github.com/helixtrack/attachments/internal/config"
	"github.com/helixtrack/attachments/node"
)

// serveOptions are the flags of serve.
type serveOptions struct {
	configPath string
	dataDir    string
	port       int
	join       []string
	replicas   int
	zone       string
	nodeID     string
}

func newServeCommand() *cobra.Command {
	var o serveOptions
	cmd := &cobra.Command{
		Use:   "serve",
		Short: "Run a node until SIGINT or SIGTERM",
		Long: "serve runs one node: it binds the API port, joins or bootstraps the\n" +
			"metadata cluster and serves until SIGINT or SIGTERM, then stops\n" +
			"gracefully. A second signal during shutdown ends the process at once.",
		Args: cobra.NoArgs,
	}
	f := cmd.Flags()
	f.StringVar(&o.configPath, "config", "",
		"JSON configuration `file` (default: embedded defaults)")
	f.StringVar(&o.dataDir, "data", "", "data `dir`ectory, overriding the primary endpoint's path")
	f.IntVar(&o.port, "port", 0, "API `port`, overriding service.port")
	f.StringSliceVar(&o.join, "join", nil,
		"API `addr`esses of members to join through (comma separated), overriding cluster.join")
	f.IntVar(&o.replicas, "replicas", 0,
		"replication factor a new cluster records (`n`), overriding cluster.replicas")
	f.StringVar(&o.zone, "zone", "", "failure `zone` of this node, overriding cluster.zone")
	f.StringVar(&o.nodeID, "node-id", "", "node `id`, overriding cluster.node_id")

	cmd.RunE = runE(func(cmd *cobra.Command) error {
		cfg, err := o.build(cmd)
		if err != nil {
			return err
		}
		return serve(cmd.Context(), cfg, cmd.ErrOrStderr())
	})
	return cmd
}

// build loads the configuration and applies the flags that override it.
// A flag value that can never be right is a usage error; a configuration
// that is wrong after the overrides is a runtime error.
func (o serveOptions) build(cmd *cobra.Command) (config.Config, error) {
	flags := cmd.Flags()
	if flags.Changed("port") && (o.port < 1 || o.port > 65535) {
		return config.Config{}, usageErrorf("--port: must be 1-65535, got %d", o.port)
	}
	if flags.Changed("data") && o.dataDir == "" {
		return config.Config{}, usageErrorf("--data: must name a directory")
	}

	cfg, err := loadConfig(o.configPath)
	if err != nil {
		return config.Config{}, err
	}
	if flags.Changed("port") {
		cfg.Service.Port = o.port
	}
	if flags.Changed("join") {
		cfg.Cluster.Join = o.join
	}
	if flags.Changed("replicas") {
		cfg.Cluster.Replicas = o.replicas
	}
	if flags.Changed("zone") {
		cfg.Cluster.Zone = o.zone
	}
	if flags.Changed("node-id") {
		cfg.Cluster.NodeID = o.nodeID
	}
	if flags.Changed("data") && !cfg.SetPrimaryPath(o.dataDir) {
		// Unreachable after a successful Load, which demands a primary.
		return config.Config{}, fmt.Errorf("--data: configuration has no local primary endpoint")
	}
	if err := cfg.Validate(); err != nil {
		return config.Config{}, err
	}
	return cfg, nil
}

// serve runs a node with cfg until ctx ends or the process receives
// SIGINT or SIGTERM, then closes it. Logs go to logOut as slog text.
func serve(ctx context.Context, cfg config.Config, logOut io.Writer) error {
	logger := slog.New(slog.NewTextHandler(logOut, &slog.HandlerOptions{
		Level: cfg.Service.Level(),
	}))
	n, err := node.New(cfg, logger)
	if err != nil {
		return fmt.Errorf("serve: %w", err)
	}

	// Signals are watched before Start, so one that arrives while the node
	// is still starting stops it instead of killing the process mid-write.
	ctx, stop := signal.NotifyContext(ctx, os.Interrupt, syscall.SIGTERM)
	defer stop()
	if err := n.Start(ctx); err != nil {
		// Start closes what it opened before it fails.
		return fmt.Errorf("serve: start: %w", err)
	}
	logger.Info("serving",
		"addr", n.Addr(),
		"data", cfg.PrimaryPath(),
		"environment", cfg.Service.Environment)

	var failed error
	select {
	case <-ctx.Done():
	case failed = <-n.Failed():
		// The API stopped serving by itself: exit non-zero so a supervisor
		// restarts the node rather than leaving a member that gossips as
		// alive but answers nobody.
	}
	// From here on a second signal gets the default action and ends the
	// process, for an operator whose graceful stop hangs.
	stop()
	logger.Info("shutting down", "reason", cmp.Or(failed, context.Cause(ctx)))
	if err := n.Close(); err != nil {
		return fmt.Errorf("serve: close: %w", err)
	}
	if failed != nil {
		return fmt.Errorf("serve: %w", failed)
	}
	logger.Info("stopped")
	return nil
}
