package meta

import (
	"context"
	"errors"
	"fmt"
	"net"
	"time"

	"github.com/hashicorp/go-hclog"
	"github.com/hashicorp/raft"
)

// Transport settings: connections kept per peer, and the I/O deadline of
// one RPC (snapshots stream under their own longer deadline in raft).
const (
	tcpMaxPool = 3
	tcpTimeout = 10 * time.Second
)

// newTCPTransport listens on cfg.RaftBind and advertises cfg.RaftAdvertise.
func newTCPTransport(cfg Config, logger hclog.Logger) (raft.Transport, error) {
	var adv net.Addr
	if cfg.RaftAdvertise != "" {
		a, err := net.ResolveTCPAddr("tcp", cfg.RaftAdvertise)
		if err != nil {
			return nil, fmt.Errorf("resolve raft advertise address: %w", err)
		}
		adv = a
	}
	t, err := raft.NewTCPTransportWithLogger(cfg.RaftBind, adv, tcpMaxPool, tcpTimeout, logger)
	if err != nil {
		return nil, fmt.Errorf("start raft transport on %s: %w", cfg.RaftBind, err)
	}
	return t, nil
}

// startRaft builds the Raft node, watches its leadership and bootstraps
// it when asked and it has no state.
func (s *Store) startRaft(
	hlog hclog.Logger, snaps raft.SnapshotStore, tune func(*raft.Config),
) error {
	rc := raft.DefaultConfig()
	rc.LocalID = raft.ServerID(s.cfg.NodeID)
	rc.Logger = hlog
	// The FSM keeps its state in fsm.db and knows its applied index, so a
	// restart replays only the log tail instead of reloading a snapshot.
	rc.NoSnapshotRestoreOnStart = true
	// Let writes queue while the leader is busy, so that they reach the
	// FSM in batches (one bbolt commit each).
	rc.BatchApplyCh = true
	if s.cfg.SnapshotThreshold > 0 {
		rc.SnapshotThreshold = s.cfg.SnapshotThreshold
	}
	if s.cfg.SnapshotInterval > 0 {
		rc.SnapshotInterval = s.cfg.SnapshotInterval
	}
	if tune != nil {
		tune(rc)
	}

	hasState, err := raft.HasExistingState(s.logs, s.logs, snaps)
	if err != nil {
		return fmt.Errorf("inspect raft state: %w", err)
	}
	s.raft, err = raft.NewRaft(rc, s.fsm, s.logs, s.logs, snaps, s.trans)
	if err != nil {
		return fmt.Errorf("start raft: %w", err)
	}
	s.watchLeader()

	if !s.cfg.Bootstrap || hasState {
		return nil
	}
	return s.bootstrap()
}

// bootstrap makes this node the only voter of a new cluster.
func (s *Store) bootstrap() error {
	boot := raft.Configuration{Servers: []raft.Server{{
		Suffrage: raft.Voter,
		ID:       raft.ServerID(s.cfg.NodeID),
		Address:  s.trans.LocalAddr(),
	}}}
	if err := s.raft.BootstrapCluster(boot).Error(); err != nil {
		return fmt.Errorf("bootstrap raft: %w", err)
	}
	s.logger.Info("bootstrapped single-voter cluster")
	return nil
}

// watchLeader starts the goroutine that broadcasts leader and role
// changes to WaitLeader callers, and logs them.
func (s *Store) watchLeader() {
	ch := make(chan raft.Observation, 16)
	s.obs = raft.NewObserver(ch, false, func(o *raft.Observation) bool {
		switch o.Data.(type) {
		case raft.LeaderObservation, raft.RaftState:
			return true
		}
		return false
	})
	s.raft.RegisterObserver(s.obs)

	s.watcher.Add(1)
	go func() {
		defer s.watcher.Done()
		for {
			select {
			case o := <-ch:
				if lo, ok := o.Data.(raft.LeaderObservation); ok {
					s.logger.Info("raft leader changed",
						"leader_id", string(lo.LeaderID),
						"term", s.raft.CurrentTerm())
				}
				s.broadcastLeader()
			case <-s.closed:
				return
			}
		}
	}()
}

func (s *Store) broadcastLeader() {
	s.leaderMu.Lock()
	defer s.leaderMu.Unlock()
	close(s.leaderCh)
	s.leaderCh = make(chan struct{})
}

func (s *Store) leaderWatch() <-chan struct{} {
	s.leaderMu.Lock()
	defer s.leaderMu.Unlock()
	return s.leaderCh
}

// WaitLeader waits until a leader is known. On the leader it also waits
// until the leader has committed an entry of its own term, after which
// its commit index is current and reads are safe. The leader a follower
// knows may have just failed; until a new one is elected, writes and
// reads through it fail with ErrNotLeader or ErrTimeout. Errors:
// ErrTimeout when ctx ends first, ErrClosed.
func (s *Store) WaitLeader(ctx context.Context) error {
	for {
		changed := s.leaderWatch()
		if id, _ := s.Leader(); id != "" {
			if !s.IsLeader() {
				return nil
			}
			err := s.ensureTermBarrier(ctx)
			if !errors.Is(err, ErrNotLeader) {
				return err
			}
		}
		select {
		case <-changed:
		case <-ctx.Done():
			return fmt.Errorf("wait for leader: %w: %w", ErrTimeout, ctx.Err())
		case <-s.closed:
			return ErrClosed
		}
	}
}

// ensureTermBarrier commits a barrier command in the current term unless
// one already was. Raft's rule: a new leader does not know which entries
// of earlier terms are committed until it commits one of its own.
func (s *Store) ensureTermBarrier(ctx context.Context) error {
	term := s.raft.CurrentTerm()
	if s.barrierTerm.Load() == term {
		return nil
	}
	s.barrierMu.Lock()
	defer s.barrierMu.Unlock()
	if s.barrierTerm.Load() == term {
		return nil
	}

	b, err := encodeCommand(&command{Kind: kindBarrier})
	if err != nil {
		return err
	}
	if _, err := s.applyLocal(ctx, b); err != nil {
		return fmt.Errorf("commit term barrier: %w", err)
	}
	s.barrierTerm.Store(term)
	return nil
}

// ReadIndex is the leader's side of a linearizable read. It returns an
// index such that every write acknowledged before the call is at or
// below it: the commit index, taken after the leader has committed an
// entry in its term and confirmed by a heartbeat round that no newer
// leader exists. A reader waits with WaitApplied for that index before
// reading local state. Errors: ErrNotLeader on a follower or when
// leadership is lost, ErrTimeout, ErrClosed.
func (s *Store) ReadIndex(ctx context.Context) (uint64, error) {
	if err := s.checkOpen(); err != nil {
		return 0, err
	}
	if !s.IsLeader() {
		return 0, fmt.Errorf("read index: %w", ErrNotLeader)
	}
	if err := s.ensureTermBarrier(ctx); err != nil {
		return 0, fmt.Errorf("read index: %w", err)
	}
	idx := s.raft.CommitIndex()
	if err := s.await(ctx, s.raft.VerifyLeader()); err != nil {
		return 0, fmt.Errorf("read index: %w", mapRaftError(err))
	}
	return idx, nil
}

// WaitApplied waits until the local FSM has applied index idx. Errors:
// ErrTimeout when ctx ends first, ErrClosed, ErrStorage if the FSM
// stopped.
func (s *Store) WaitApplied(ctx context.Context, idx uint64) error {
	for {
		applied, changed := s.fsm.appliedWatch()
		if applied >= idx {
			return nil
		}
		if err := s.fsm.Failed(); err != nil {
			return fmt.Errorf("wait for index %d: %w", idx, err)
		}
		select {
		case <-changed:
		case <-ctx.Done():
			return fmt.Errorf("wait for index %d at %d: %w: %w",
				idx, applied, ErrTimeout, ctx.Err())
		case <-s.closed:
			return ErrClosed
		}
	}
}

// readBarrier makes the local FSM at least as new as any write
// acknowledged before the call: the leader uses its own ReadIndex, a
// follower asks the leader through cfg.ReadIndex.
func (s *Store) readBarrier(ctx context.Context) error {
	if err := s.checkOpen(); err != nil {
		return err
	}
	var idx uint64
	var err error
	leader := s.IsLeader()
	if leader {
		idx, err = s.ReadIndex(ctx)
	}
	if !leader || errors.Is(err, ErrNotLeader) {
		if s.cfg.ReadIndex == nil {
			return fmt.Errorf("read barrier: %w", ErrNotLeader)
		}
		idx, err = s.cfg.ReadIndex(ctx)
	}
	if err != nil {
		return fmt.Errorf("read barrier: %w", err)
	}
	return s.WaitApplied(ctx, idx)
}

// await waits for a Raft future, ctx or Close. The future is waited on in
// a goroutine that Close accounts for, because raft futures take no
// context.
func (s *Store) await(ctx context.Context, f raft.Future) error {
	if !s.track() {
		return ErrClosed
	}
	done := make(chan error, 1)
	go func() {
		defer s.waiters.Done()
		done <- f.Error()
	}()
	select {
	case err := <-done:
		return err
	case <-ctx.Done():
		return fmt.Errorf("%w: %w", ErrTimeout, ctx.Err())
	case <-s.closed:
		return ErrClosed
	}
}

// mapRaftError maps hashicorp/raft's errors onto this package's. Not
// leader and a leadership transfer mean the entry was never appended;
// lost leadership and a timeout leave the outcome unknown.
func mapRaftError(err error) error {
	var sentinel error
	switch {
	case errors.Is(err, ErrTimeout), errors.Is(err, ErrClosed):
		return err
	case errors.Is(err, raft.ErrNotLeader),
		errors.Is(err, raft.ErrLeadershipTransferInProgress):
		sentinel = ErrNotLeader
	case errors.Is(err, raft.ErrLeadershipLost),
		errors.Is(err, raft.ErrEnqueueTimeout),
		errors.Is(err, raft.ErrAbortedByRestore):
		sentinel = ErrTimeout
	case errors.Is(err, raft.ErrRaftShutdown):
		sentinel = ErrClosed
	default:
		return err
	}
	return fmt.Errorf("%w: %w", sentinel, err)
}
