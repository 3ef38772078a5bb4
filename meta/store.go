package meta

import (
	"context"
	"errors"
	"fmt"
	"io"
	"log/slog"
	"os"
	"path/filepath"
	"sync"
	"sync/atomic"
	"time"

	"github.com/hashicorp/raft"
	raftboltdb "github.com/hashicorp/raft-boltdb/v2"

	"github.com/helixtrack/attachments/placement"
)

// Config configures a Store.
type Config struct {
	// Dir holds fsm.db, raft.db and snapshots/. It is created if missing.
	Dir string
	// NodeID is this member's stable Raft server id.
	NodeID NodeID
	// RaftBind is the host:port the Raft TCP transport listens on.
	RaftBind string
	// RaftAdvertise is the host:port peers dial; empty means RaftBind,
	// which must then not be an unspecified address such as 0.0.0.0.
	RaftAdvertise string
	// Bootstrap makes a node with no Raft state start a cluster whose only
	// voter is itself. Later members join through the leader's AddMember,
	// so a bootstrapped node never has to be undone. It is ignored when
	// state exists. A node started without it and without state waits,
	// with no configuration, until a leader adds it; WaitLeader returns
	// once that leader has contacted it.
	Bootstrap bool
	// Logger receives the store's and Raft's logs; nil discards them.
	Logger *slog.Logger
	// ApplyTimeout bounds how long a write waits to enter the Raft
	// pipeline (a context deadline bounds the whole call). Zero means 10s.
	ApplyTimeout time.Duration
	// SnapshotThreshold and SnapshotInterval set how many new entries,
	// checked how often, make Raft take a snapshot and compact its log.
	// Zero keeps Raft's defaults.
	SnapshotThreshold uint64
	SnapshotInterval  time.Duration
	// Forward sends an encoded command to the leader's ApplyEncoded and
	// returns its answer. Nil makes writes on a follower fail with
	// ErrNotLeader.
	Forward func(ctx context.Context, cmd []byte) ([]byte, error)
	// ReadIndex asks the leader for its ReadIndex. Nil makes reads on a
	// follower fail with ErrNotLeader.
	ReadIndex func(ctx context.Context) (uint64, error)
	// OnLayout, if set, is called with the applied layout whenever its
	// Version changes: once after Open if the stored layout is not empty,
	// then after each change this node applies. Calls come one at a time
	// from one goroutine, outside the FSM; while a call runs, newer
	// layouts wait, and only the newest is delivered next, so versions may
	// be skipped but never go back. The layout's Nodes slice is shared and
	// must not be modified. Close waits for a running call to return, so
	// OnLayout must not call Close.
	OnLayout func(placement.Layout)
}

// defaultApplyTimeout is used when Config.ApplyTimeout is zero.
const defaultApplyTimeout = 10 * time.Second

// closeGrace bounds how long Close waits for goroutines blocked on Raft
// futures. hashicorp/raft can drop a future that was queued at the moment
// it shut down, and such a future never answers.
const closeGrace = 5 * time.Second

// Store is one member's view of the replicated metadata: a Raft node and
// the FSM it drives. Writes go through the leader; reads are linearizable
// at any member. All methods are safe for concurrent use.
type Store struct {
	cfg    Config
	logger *slog.Logger

	fsm   *stateMachine
	raft  *raft.Raft
	logs  *raftboltdb.BoltStore
	trans raft.Transport
	obs   *raft.Observer

	// closed is closed by Close; waits select on it.
	closed chan struct{}
	// mu guards isClosed, so that no waiter is added once Close waits.
	mu       sync.Mutex
	isClosed bool
	// waiters counts goroutines blocked on Raft futures for a caller.
	waiters sync.WaitGroup
	// watcher counts the goroutines that turn Raft observations into
	// leaderCh broadcasts and that call cfg.OnLayout; Close stops and
	// waits for them.
	watcher sync.WaitGroup

	// leaderMu guards leaderCh, closed and replaced when the leader or
	// this node's role changes.
	leaderMu sync.Mutex
	leaderCh chan struct{}

	// barrierMu serialises the per-term barrier; barrierTerm is the term
	// in which this node, as leader, last committed one.
	barrierMu   sync.Mutex
	barrierTerm atomic.Uint64

	// memberMu serialises membership changes made through this store, so
	// that each one decides voter or non-voter from the configuration the
	// previous one left. Raft runs one change at a time anyway.
	memberMu sync.Mutex
}

// options are test hooks: an injected transport (the in-memory one) and
// changes to the Raft configuration (shorter timeouts).
type options struct {
	transport raft.Transport
	tune      func(*raft.Config)
}

// Open opens the store in cfg.Dir, starts Raft and, if cfg.Bootstrap is
// set and there is no Raft state yet, bootstraps a one-voter cluster.
// Open does not wait for a leader; see WaitLeader. The caller must Close
// the store.
func Open(cfg Config) (*Store, error) { return open(cfg, options{}) }

func open(cfg Config, opts options) (*Store, error) {
	if err := cfg.setDefaults(opts); err != nil {
		return nil, err
	}
	s := &Store{
		cfg:      cfg,
		logger:   cfg.Logger.With("component", "meta", "node_id", string(cfg.NodeID)),
		closed:   make(chan struct{}),
		leaderCh: make(chan struct{}),
	}
	if err := s.start(opts); err != nil {
		s.release()
		return nil, fmt.Errorf("open meta store %s: %w", cfg.Dir, err)
	}
	s.watchLayout()
	s.logger.Info("meta store started",
		"dir", cfg.Dir,
		"raft_addr", string(s.trans.LocalAddr()),
		"index", s.fsm.AppliedIndex())
	return s, nil
}

func (c *Config) setDefaults(opts options) error {
	switch {
	case c.Dir == "":
		return fmt.Errorf("open meta store: missing dir: %w", ErrInvalid)
	case c.NodeID == "":
		return fmt.Errorf("open meta store: missing node id: %w", ErrInvalid)
	case c.RaftBind == "" && opts.transport == nil:
		return fmt.Errorf("open meta store: missing raft bind address: %w", ErrInvalid)
	}
	if c.Logger == nil {
		c.Logger = slog.New(slog.DiscardHandler)
	}
	if c.ApplyTimeout <= 0 {
		c.ApplyTimeout = defaultApplyTimeout
	}
	return nil
}

// start opens every part in order; release undoes what was opened.
func (s *Store) start(opts options) error {
	if err := os.MkdirAll(s.cfg.Dir, 0o700); err != nil {
		return err
	}
	fsm, err := openStateMachine(filepath.Join(s.cfg.Dir, "fsm.db"), s.logger)
	if err != nil {
		return err
	}
	s.fsm = fsm

	s.logs, err = raftboltdb.New(raftboltdb.Options{
		Path:        filepath.Join(s.cfg.Dir, "raft.db"),
		BoltOptions: boltOptions(false),
	})
	if err != nil {
		return fmt.Errorf("open raft log: %w", err)
	}
	hlog := newHCLogAdapter(s.cfg.Logger.With(
		"component", "raft",
		"node_id", string(s.cfg.NodeID)))
	snaps, err := raft.NewFileSnapshotStoreWithLogger(s.cfg.Dir, 2, hlog)
	if err != nil {
		return fmt.Errorf("open snapshot store: %w", err)
	}
	if err := s.fsm.restoreIfBehind(snaps); err != nil {
		return err
	}

	if s.trans = opts.transport; s.trans == nil {
		if s.trans, err = newTCPTransport(s.cfg, hlog); err != nil {
			return err
		}
	}
	return s.startRaft(hlog, snaps, opts.tune)
}

// release closes the parts start opened, in reverse order.
func (s *Store) release() {
	if s.raft != nil {
		if s.obs != nil {
			s.raft.DeregisterObserver(s.obs)
		}
		if err := s.raft.Shutdown().Error(); err != nil {
			s.logger.Warn("raft shutdown failed", "err", err)
		}
	}
	if c, ok := s.trans.(io.Closer); ok {
		_ = c.Close()
	}
	if s.logs != nil {
		if err := s.logs.Close(); err != nil {
			s.logger.Warn("close raft log failed", "err", err)
		}
	}
	if s.fsm != nil {
		if err := s.fsm.Close(); err != nil {
			s.logger.Warn("close fsm failed", "err", err)
		}
	}
}

// Close shuts Raft down and closes the transport, the log and the FSM.
// Calls waiting on the store return ErrClosed. It is safe to call more
// than once; later calls return nil.
func (s *Store) Close() error {
	s.mu.Lock()
	if s.isClosed {
		s.mu.Unlock()
		return nil
	}
	s.isClosed = true
	close(s.closed)
	s.mu.Unlock()

	s.watcher.Wait()
	s.release()
	s.waitWaiters()
	s.logger.Info("meta store stopped")
	return nil
}

// waitWaiters waits for goroutines blocked on Raft futures, which Raft
// answers when it shuts down, up to closeGrace.
func (s *Store) waitWaiters() {
	done := make(chan struct{})
	go func() {
		s.waiters.Wait()
		close(done)
	}()
	t := time.NewTimer(closeGrace)
	defer t.Stop()
	select {
	case <-done:
	case <-t.C:
		s.logger.Warn("raft left futures unanswered at shutdown",
			"duration", closeGrace)
	}
}

// track registers a waiter goroutine, unless the store is closed.
func (s *Store) track() bool {
	s.mu.Lock()
	defer s.mu.Unlock()
	if s.isClosed {
		return false
	}
	s.waiters.Add(1)
	return true
}

// checkOpen returns ErrClosed once Close has begun.
func (s *Store) checkOpen() error {
	select {
	case <-s.closed:
		return ErrClosed
	default:
		return nil
	}
}

// IsLeader reports whether this node is the Raft leader right now.
func (s *Store) IsLeader() bool { return s.raft.State() == raft.Leader }

// Leader returns the id and Raft address of the leader this node knows,
// or empty strings.
func (s *Store) Leader() (NodeID, string) {
	addr, id := s.raft.LeaderWithID()
	return NodeID(id), string(addr)
}

// AppliedIndex returns the index of the last entry the local FSM applied.
func (s *Store) AppliedIndex() uint64 { return s.fsm.AppliedIndex() }

// Raft returns the Raft node, for status and statistics. Membership
// changes go through AddMember and RemoveMember, which keep the voter cap.
// Callers must not Apply to it directly, and
// must not call its Barrier: reads wait for the index of an FSM entry, and
// a raft barrier entry at the commit index would make them wait for the
// next write.
func (s *Store) Raft() *raft.Raft { return s.raft }

// Snapshot makes Raft take a snapshot now and compact its log. Having
// nothing new to snapshot is not an error.
func (s *Store) Snapshot() error {
	if err := s.checkOpen(); err != nil {
		return err
	}
	err := s.raft.Snapshot().Error()
	if err != nil && !errors.Is(err, raft.ErrNothingNewToSnapshot) {
		return fmt.Errorf("snapshot: %w", mapRaftError(err))
	}
	return nil
}

// Health returns nil when the store is open, its FSM is applying and a
// leader is known. It does not contact other nodes.
func (s *Store) Health(ctx context.Context) error {
	if err := s.checkOpen(); err != nil {
		return err
	}
	if err := ctx.Err(); err != nil {
		return fmt.Errorf("health: %w: %w", ErrTimeout, err)
	}
	if err := s.fsm.Failed(); err != nil {
		return fmt.Errorf("health: %w", err)
	}
	if id, _ := s.Leader(); id == "" {
		return fmt.Errorf("health: no leader known: %w", ErrNotLeader)
	}
	return nil
}
