package node

import (
	"context"
	"errors"
	"fmt"
	"log/slog"
	"net"
	"os"
	"path/filepath"
	"strconv"
	"sync"
	"sync/atomic"
	"time"

	"github.com/prometheus/client_golang/prometheus"

	"github.com/helixtrack/attachments/api"
	"github.com/helixtrack/attachments/chunk"
	"github.com/helixtrack/attachments/internal/config"
	"github.com/helixtrack/attachments/meta"
)

// Version is the release this binary reports in /health.
var Version = "0.1.0-dev"

// raftPortOffset: when the config does not name a Raft port, Raft listens
// this far above the API port, so nodes that picked neighbouring API ports
// from the range also get distinct Raft ports.
const raftPortOffset = 1000

// Connection timeouts of the API. Headers and bodiless requests must
// arrive within headerTimeout, so a client that trickles them cannot hold
// a connection; a body (an upload, a chunk from a peer) and a response (a
// download) get transferTimeout, long enough for a large file on a slow
// link; an idle keep-alive connection is closed after idleTimeout.
const (
	headerTimeout   = 30 * time.Second
	transferTimeout = time.Hour
	idleTimeout     = 2 * time.Minute
)

// Node is one running member. Create it with New, then Start; Close stops
// it. Its methods implement api.Backend and are safe for concurrent use.
type Node struct {
	cfg         config.Config
	base        *slog.Logger // the caller's logger; the meta store adds its own attributes
	root        *slog.Logger // base with node_id; each component adds its name
	log         *slog.Logger
	dataDir     string
	chunkParams chunk.Params
	allowed     map[string]bool // nil: every MIME type is allowed
	grace       time.Duration
	started     time.Time

	id         string
	raftAddr   string // host:port other nodes reach our Raft transport at
	gossipAddr string // host:port of our membership gossip
	peers      *peers
	view       atomic.Pointer[view]
	members    *membership
	rebalance  chan struct{} // kicks the rebalancer; buffered, one pending kick
	chunks     *chunk.Store
	meta       *meta.Store
	server     *api.Server
	ln         net.Listener
	addr       string
	registry   *prometheus.Registry
	metrics    *nodeMetrics

	bg          context.Context // ends when Close begins; owns background work
	stopWorkers context.CancelFunc
	workers     sync.WaitGroup
	inflight    sync.WaitGroup // chunk copies still sending after their quorum
	copySlots   sync.Map       // placement.NodeID -> *atomic.Int32: copies in flight to it
	pass        atomic.Pointer[lastPass]
	ready       atomic.Bool // Start finished: /health reports healthy from then on
	closing     atomic.Bool // Close began: the API stopping is expected
	failed      chan error  // the API stopped serving on its own; buffered, one value
	serveErr    chan error
}

// New checks cfg and prepares a node; it opens nothing yet.
func New(cfg config.Config, logger *slog.Logger) (*Node, error) {
	if err := cfg.Validate(); err != nil {
		return nil, err
	}
	for i, ep := range cfg.Storage.Endpoints {
		if ep.Type != config.Local {
			// The parser accepts tier endpoints so configurations can be
			// written ahead; this release cannot replicate to them, and
			// silently ignoring a backup would be worse than refusing.
			return nil, fmt.Errorf("config: storage.endpoints[%d]: %s endpoints (%s tiers) "+
				"are not supported by this release", i, ep.Type, ep.Role)
		}
	}
	n := &Node{
		cfg:         cfg,
		base:        logger,
		root:        logger,
		log:         logger.With("component", "node"),
		dataDir:     cfg.PrimaryPath(),
		chunkParams: chunk.DefaultParams,
		grace:       cfg.Storage.GCGrace.Duration(),
	}
	if len(cfg.Security.AllowedMIMETypes) > 0 {
		n.allowed = make(map[string]bool)
		for _, m := range cfg.Security.AllowedMIMETypes {
			n.allowed[m] = true
		}
	}
	return n, nil
}

// Start opens the stores, binds the API port (the configured one, else the
// next free one in the configured range), joins or bootstraps the metadata
// cluster and serves in the background. On error everything it opened is
// closed again.
func (n *Node) Start(ctx context.Context) (err error) {
	n.started = time.Now()
	defer func() {
		if err != nil {
			n.Close()
		}
	}()
	if err := os.MkdirAll(n.dataDir, 0o750); err != nil {
		return fmt.Errorf("start: data dir: %w", err)
	}
	if n.id, err = loadNodeID(n.dataDir, n.cfg.Cluster.NodeID); err != nil {
		return err
	}
	n.root = n.root.With("node_id", n.id)
	n.log = n.root.With("component", "node")
	n.peers = newPeers([]byte(n.cfg.Security.JWTSecret), n.id)
	n.rebalance = make(chan struct{}, 1)
	n.bg, n.stopWorkers = context.WithCancel(context.Background())
	if err := n.listen(); err != nil {
		return err
	}
	if err := n.openStores(); err != nil {
		return err
	}
	n.startServer()
	if err := n.enterCluster(ctx); err != nil {
		return err
	}
	if err := n.startMembership(); err != nil {
		return err
	}
	n.startWorkers()
	n.ready.Store(true)
	if n.cfg.Security.JWTSecret == config.DevelopmentJWTSecret {
		n.log.Warn("serving with the public development JWT secret: anyone can mint " +
			"tokens for this node; set security.jwt_secret")
	}
	n.log.Info("node started", "addr", n.addr, "data", n.dataDir, "version", Version,
		"raft", n.raftAddr, "gossip", n.gossipAddr)
	return nil
}

// enterCluster joins the metadata group or bootstraps it, waits for a
// leader and makes sure the layout lists this node. A new node with join
// addresses asks a member to admit it before waiting; a restarted node
// asks the members it knew in the background, which only matters when its
// addresses changed, and otherwise waits for Raft to find the leader.
func (n *Node) enterCluster(ctx context.Context) error {
	join := n.cfg.Cluster.Join
	known := n.knownPeers()
	switch {
	case len(join) > 0 && len(known) == 0:
		if err := n.joinCluster(ctx, join); err != nil {
			return fmt.Errorf("start: %w", err)
		}
	case len(known) > 0:
		bg, cancel := context.WithTimeout(n.bg, time.Minute)
		n.workers.Add(1)
		go func() {
			defer n.workers.Done()
			defer cancel()
			n.joinCluster(bg, append(join, known...))
		}()
	}
	if err := n.meta.WaitLeader(ctx); err != nil {
		return fmt.Errorf("start: wait for metadata leader: %w", err)
	}
	if err := n.registerSelf(ctx); err != nil {
		return fmt.Errorf("start: register in layout: %w", err)
	}
	return nil
}

// listen binds the API port.
func (n *Node) listen() error {
	svc := n.cfg.Service
	ln, err := listenInRange(svc.Bind, svc.Port, svc.PortRange)
	if err != nil {
		return fmt.Errorf("start: %w", err)
	}
	port := ln.Addr().(*net.TCPAddr).Port
	if svc.Port != 0 && port != svc.Port {
		n.log.Warn("configured port busy, using another", "want", svc.Port, "port", port)
	}
	n.ln = ln
	n.addr = "http://" + net.JoinHostPort(n.advertiseHost(), strconv.Itoa(port))
	return nil
}

func (n *Node) advertiseHost() string {
	if n.cfg.Service.Advertise != "" {
		return n.cfg.Service.Advertise
	}
	return "127.0.0.1"
}

// openStores opens the chunk store and the metadata store.
func (n *Node) openStores() error {
	var err error
	n.chunks, err = chunk.Open(filepath.Join(n.dataDir, "chunks"), chunk.StoreOptions{
		PackSize: int64(n.cfg.Storage.PackSizeMB) << 20,
		Logger:   n.root.With("component", "chunkstore"),
	})
	if err != nil {
		return fmt.Errorf("start: open chunk store: %w", err)
	}
	apiPort := n.ln.Addr().(*net.TCPAddr).Port
	raftPort, err := derivedPort(n.cfg.Cluster.RaftPort, apiPort, raftPortOffset)
	if err != nil {
		return fmt.Errorf("start: raft port: %w", err)
	}
	gossipPort, err := derivedPort(n.cfg.Cluster.GossipPort, apiPort, gossipPortOffset)
	if err != nil {
		return fmt.Errorf("start: gossip port: %w", err)
	}
	n.raftAddr = net.JoinHostPort(n.advertiseHost(), strconv.Itoa(raftPort))
	n.gossipAddr = net.JoinHostPort(n.advertiseHost(), strconv.Itoa(gossipPort))
	n.meta, err = meta.Open(meta.Config{
		Dir:           filepath.Join(n.dataDir, "meta"),
		NodeID:        meta.NodeID(n.id),
		RaftBind:      net.JoinHostPort(n.cfg.Service.Bind, strconv.Itoa(raftPort)),
		RaftAdvertise: n.raftAddr,
		Bootstrap:     len(n.cfg.Cluster.Join) == 0,
		Logger:        n.base,
		Forward:       n.forward,
		ReadIndex:     n.readIndex,
		OnLayout:      n.onLayout,
	})
	if err != nil {
		return fmt.Errorf("start: open metadata: %w", err)
	}
	n.setView(n.meta.LocalLayout())
	return nil
}

// startServer serves the API on the bound listener.
func (n *Node) startServer() {
	n.registry = prometheus.NewRegistry()
	n.metrics = newNodeMetrics(n)
	n.server = api.NewServer(api.Options{
		Backend:        n,
		JWTSecret:      []byte(n.cfg.Security.JWTSecret),
		MaxUploadBytes: int64(n.cfg.Security.MaxFileSizeMB) << 20,
		Registry:       n.registry,
		Logger:         n.root,
		Version:        Version,
		Internal:       n.serveInternal,
		ReadTimeout:    headerTimeout,
		BodyTimeout:    transferTimeout,
		WriteTimeout:   transferTimeout,
		IdleTimeout:    idleTimeout,
	})
	n.serveErr = make(chan error, 1)
	n.failed = make(chan error, 1)
	go func() {
		err := n.server.Serve(&retryListener{Listener: n.ln, log: n.log})
		if !n.closing.Load() {
			n.log.Error("api stopped serving", "err", err)
			n.failed <- fmt.Errorf("api stopped serving: %w", err)
		}
		n.serveErr <- err
	}()
}

// Failed delivers an error if the API stops serving while the node is not
// being closed; the process should then exit and be restarted.
func (n *Node) Failed() <-chan error { return n.failed }

// Addr returns the base URL of the API, e.g. "http://127.0.0.1:8090".
func (n *Node) Addr() string { return n.addr }

// NodeID implements api.Backend.
func (n *Node) NodeID() string { return n.id }

// Meta returns the node's metadata store, for tests and operator tools.
func (n *Node) Meta() *meta.Store { return n.meta }

// Chunks returns the node's local chunk store, for tests and operator tools.
func (n *Node) Chunks() *chunk.Store { return n.chunks }

// Close stops serving, stops the workers and closes the stores. It is safe
// to call on a node that did not start completely.
func (n *Node) Close() error {
	n.closing.Store(true)
	var errs []error
	if n.server != nil {
		ctx, cancel := context.WithTimeout(context.Background(), 10*time.Second)
		errs = append(errs, n.server.Shutdown(ctx))
		cancel()
		<-n.serveErr
		n.server = nil
	} else if n.ln != nil {
		errs = append(errs, n.ln.Close())
	}
	n.ln = nil
	if n.stopWorkers != nil {
		n.stopWorkers()
	}
	n.workers.Wait()
	n.inflight.Wait()
	if n.members != nil {
		errs = append(errs, n.members.close())
		n.members = nil
	}
	if n.peers != nil {
		n.peers.close()
	}
	if n.meta != nil {
		errs = append(errs, n.meta.Close())
		n.meta = nil
	}
	if n.chunks != nil {
		errs = append(errs, n.chunks.Close())
		n.chunks = nil
	}
	return errors.Join(errs...)
}

func (n *Node) mimeAllowed(m string) bool {
	if n.allowed == nil {
		return true
	}
	base, _, _ := cutParams(m)
	return n.allowed[m] || n.allowed[base]
}
