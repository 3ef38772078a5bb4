package meta

import (
	"errors"
	"fmt"
	"log/slog"
	"sync"
	"sync/atomic"
	"time"

	"github.com/hashicorp/raft"
	bolt "go.etcd.io/bbolt"

	"github.com/helixtrack/attachments/placement"
)

// stateMachine is the replicated state machine: it applies committed Raft log
// entries to a bbolt file. It implements raft.BatchingFSM.
//
// Apply, ApplyBatch, Snapshot and Restore are called by Raft from one
// goroutine. Reads through the Store run concurrently with them; a
// snapshot's Persist runs concurrently with Apply on its own read
// transaction. Apply never fails for a rejected command (the rejection is
// in the result); if the bbolt file cannot be written, the FSM stops
// applying and answers every later entry with ErrStorage, so that no entry
// is ever skipped: reopening replays the log from the last durable index.
type stateMachine struct {
	path   string
	logger *slog.Logger

	// dbMu guards the db pointer, which Restore replaces. Readers hold it
	// shared for the length of their transaction.
	dbMu sync.RWMutex
	db   *bolt.DB

	// mu guards applied, appliedCh, failed and layoutCh.
	mu sync.Mutex
	// applied is the index of the last entry the FSM has applied, equal
	// to the value stored in bucketState.
	applied uint64
	// appliedCh is closed, and replaced, whenever applied changes.
	appliedCh chan struct{}
	// failed is the storage error that stopped the FSM, or nil.
	failed error
	// layoutCh is closed, and replaced, whenever a layout is published.
	layoutCh chan struct{}

	// layout is the applied layout, for readers that must not wait: it is
	// published after the transaction that changed it commits and before
	// applied moves past that transaction, so a reader that waited for an
	// index sees the layout of that index or a newer one. Its Nodes slice
	// is never modified after publication.
	layout atomic.Pointer[placement.Layout]
}

var _ raft.BatchingFSM = (*stateMachine)(nil)

// initialMmapSize is the address space bbolt maps up front. A write that
// outgrows the mapping must wait until every read transaction ends,
// including a snapshot being persisted; mapping generously up front makes
// that rare. It reserves address space, not memory.
const initialMmapSize = 256 << 20

// boltOptions are the options of every bbolt file the FSM opens. The
// timeout turns a second process on the same directory into an error
// instead of a hang.
func boltOptions(readOnly bool) *bolt.Options {
	return &bolt.Options{
		Timeout:         time.Second,
		ReadOnly:        readOnly,
		InitialMmapSize: initialMmapSize,
	}
}

// openStateMachine opens or creates the FSM database at path. The caller
// owns it and must Close it after Raft has shut down.
func openStateMachine(path string, logger *slog.Logger) (*stateMachine, error) {
	f := &stateMachine{
		path:      path,
		logger:    logger,
		appliedCh: make(chan struct{}),
		layoutCh:  make(chan struct{}),
	}
	if err := f.openDB(); err != nil {
		return nil, err
	}
	return f, nil
}

// openDB opens the file at f.path, creating its buckets if needed, and
// loads the applied index and the layout.
func (f *stateMachine) openDB() error {
	db, err := bolt.Open(f.path, 0o600, boltOptions(false))
	if err != nil {
		return fmt.Errorf("open fsm %s: %w", f.path, err)
	}
	var applied uint64
	var layout placement.Layout
	err = db.Update(func(tx *bolt.Tx) error {
		if err := initBuckets(tx); err != nil {
			return err
		}
		b, err := openBuckets(tx)
		if err != nil {
			return err
		}
		if applied, _, err = b.readState(); err != nil {
			return err
		}
		layout, err = b.getLayout()
		return err
	})
	if err != nil {
		_ = db.Close()
		return fmt.Errorf("open fsm %s: %w", f.path, err)
	}

	f.db = db
	f.publishLayout(layout)
	f.setApplied(applied)
	return nil
}

// initBuckets creates missing buckets and checks the schema version.
func initBuckets(tx *bolt.Tx) error {
	for _, name := range allBuckets {
		if _, err := tx.CreateBucketIfNotExists(name); err != nil {
			return fmt.Errorf("create bucket %s: %w", name, err)
		}
	}
	st := tx.Bucket(bucketState)
	v, err := readU64(st.Get(keySchema))
	if err != nil {
		return fmt.Errorf("read schema version: %w", err)
	}
	switch v {
	case 0:
		return st.Put(keySchema, u64(schemaVersion))
	case schemaVersion:
		return nil
	}
	return fmt.Errorf("schema version %d, want %d", v, schemaVersion)
}

// Close closes the database. It waits for open read transactions.
func (f *stateMachine) Close() error {
	f.dbMu.Lock()
	defer f.dbMu.Unlock()
	if err := f.db.Close(); err != nil {
		return fmt.Errorf("close fsm %s: %w", f.path, err)
	}
	return nil
}

// Apply applies one log entry; see ApplyBatch.
func (f *stateMachine) Apply(l *raft.Log) any { return f.ApplyBatch([]*raft.Log{l})[0] }

// ApplyBatch applies committed entries in one bbolt transaction, so a
// batch costs one fsync (group commit). Entries at or below the stored
// applied index were applied before a restart and are skipped. Each
// command's response is a *result; other entries answer nil.
func (f *stateMachine) ApplyBatch(logs []*raft.Log) []any {
	out := make([]any, len(logs))
	if err := f.Failed(); err != nil {
		return fillStorageFailure(out, err)
	}
	if len(logs) == 0 || logs[len(logs)-1].Index <= f.AppliedIndex() {
		return out // a replayed batch: nothing to write, nothing to sync
	}

	f.dbMu.RLock()
	var a applyTx
	err := f.db.Update(func(tx *bolt.Tx) error {
		return f.applyLogs(tx, &a, logs, out)
	})
	f.dbMu.RUnlock()

	if err != nil {
		f.fail(err)
		return fillStorageFailure(out, err)
	}
	if a.layoutDirty {
		f.publishLayout(*a.layout)
	}
	f.setApplied(a.applied)
	return out
}

// applyLogs is the body of ApplyBatch's transaction.
func (f *stateMachine) applyLogs(tx *bolt.Tx, a *applyTx, logs []*raft.Log, out []any) error {
	b, err := openBuckets(tx)
	if err != nil {
		return err
	}
	applied, t, err := b.readState()
	if err != nil {
		return err
	}
	*a = applyTx{b: b, t: t, applied: applied}

	for i, l := range logs {
		if l.Index <= a.applied {
			continue
		}
		a.applied = l.Index
		if l.Type != raft.LogCommand {
			continue
		}
		res, err := a.apply(l.Data)
		if err != nil {
			return fmt.Errorf("apply entry %d: %w", l.Index, err)
		}
		out[i] = res
	}

	if a.layoutDirty {
		if err := b.putLayout(a.layout); err != nil {
			return fmt.Errorf("store layout: %w", err)
		}
	}
	if err := b.state.Put(keyTotals, a.t.encode()); err != nil {
		return fmt.Errorf("store totals: %w", err)
	}
	return b.state.Put(keyApplied, u64(a.applied))
}

// fillStorageFailure answers every entry with a storage rejection.
func fillStorageFailure(out []any, err error) []any {
	for i := range out {
		out[i] = reject(codeStorage, "%v", err)
	}
	return out
}

// fail records the storage error that stops the FSM.
func (f *stateMachine) fail(err error) {
	f.mu.Lock()
	first := f.failed == nil
	if first {
		f.failed = err
		// Wake WaitApplied callers: the index they wait for will not come.
		close(f.appliedCh)
		f.appliedCh = make(chan struct{})
	}
	f.mu.Unlock()
	if first {
		f.logger.Error("metadata apply failed; fsm stopped until restart",
			"err", err)
	}
}

// Failed returns the storage error that stopped the FSM, or nil. The
// returned error wraps ErrStorage.
func (f *stateMachine) Failed() error {
	f.mu.Lock()
	defer f.mu.Unlock()
	if f.failed == nil {
		return nil
	}
	if errors.Is(f.failed, ErrStorage) {
		return f.failed
	}
	return fmt.Errorf("%w: %w", ErrStorage, f.failed)
}

func (f *stateMachine) setApplied(idx uint64) {
	f.mu.Lock()
	defer f.mu.Unlock()
	if idx == f.applied {
		return
	}
	f.applied = idx
	close(f.appliedCh)
	f.appliedCh = make(chan struct{})
}

// publishLayout makes l the layout readers see and wakes layout watchers.
// The caller hands l over: its Nodes slice must not be modified after.
func (f *stateMachine) publishLayout(l placement.Layout) {
	f.layout.Store(&l)
	f.mu.Lock()
	defer f.mu.Unlock()
	close(f.layoutCh)
	f.layoutCh = make(chan struct{})
}

// currentLayout returns the published layout. The Nodes slice is shared
// and must not be modified.
func (f *stateMachine) currentLayout() placement.Layout {
	if l := f.layout.Load(); l != nil {
		return *l
	}
	return placement.Layout{}
}

// layoutWatch returns the published layout and a channel closed when the
// next one is published.
func (f *stateMachine) layoutWatch() (placement.Layout, <-chan struct{}) {
	f.mu.Lock()
	ch := f.layoutCh
	f.mu.Unlock()
	return f.currentLayout(), ch
}

// AppliedIndex returns the index of the last applied entry.
func (f *stateMachine) AppliedIndex() uint64 {
	f.mu.Lock()
	defer f.mu.Unlock()
	return f.applied
}

// appliedWatch returns the applied index and a channel closed when it
// next changes.
func (f *stateMachine) appliedWatch() (uint64, <-chan struct{}) {
	f.mu.Lock()
	defer f.mu.Unlock()
	return f.applied, f.appliedCh
}

// view runs fn in a read transaction on the current database.
func (f *stateMachine) view(fn func(b buckets) error) error {
	f.dbMu.RLock()
	defer f.dbMu.RUnlock()
	return f.db.View(func(tx *bolt.Tx) error {
		b, err := openBuckets(tx)
		if err != nil {
			return err
		}
		return fn(b)
	})
}
