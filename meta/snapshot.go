package meta

import (
	"bytes"
	"crypto/sha256"
	"encoding/binary"
	"errors"
	"fmt"
	"io"
	"os"
	"path/filepath"
	"sync"

	"github.com/hashicorp/raft"
	bolt "go.etcd.io/bbolt"
)

// A snapshot stream is:
//
//	snapshotMagic   8 bytes, the format name and version
//	size            8 bytes big-endian, the length of the bbolt file
//	bbolt file      size bytes, as one read transaction saw it
//	checksum        32 bytes, SHA-256 of the bbolt file
//
// bbolt trusts its pages: a corrupt file can crash the process when it
// is read (a fault, not a panic), so Restore checks the checksum before
// bbolt opens anything.
var snapshotMagic = []byte("HTMETA1\n")

const snapshotHeaderLen = 8 + 8

// maxSnapshotSize refuses sizes no real FSM reaches, so a corrupt header
// cannot make Restore write without end.
const maxSnapshotSize = 1 << 40

// snapshot is a point-in-time view of the FSM: an open bbolt read
// transaction. Persist copies it while Apply goes on writing newer
// transactions; bbolt keeps the pages this view needs until Release.
type snapshot struct {
	tx      *bolt.Tx
	release sync.Once
}

// Snapshot starts a read transaction. It returns quickly; the copy
// happens in Persist. A stopped FSM refuses, so that no snapshot claims an
// index whose entries were not applied.
func (f *stateMachine) Snapshot() (raft.FSMSnapshot, error) {
	if err := f.Failed(); err != nil {
		return nil, fmt.Errorf("snapshot fsm: %w", err)
	}
	f.dbMu.RLock()
	defer f.dbMu.RUnlock()
	tx, err := f.db.Begin(false)
	if err != nil {
		return nil, fmt.Errorf("snapshot fsm: %w", err)
	}
	return &snapshot{tx: tx}, nil
}

// Persist writes the snapshot to sink and closes it, or cancels it on
// error.
func (s *snapshot) Persist(sink raft.SnapshotSink) error {
	err := s.writeTo(sink)
	if err != nil {
		_ = sink.Cancel()
		return fmt.Errorf("persist snapshot: %w", err)
	}
	if err := sink.Close(); err != nil {
		return fmt.Errorf("persist snapshot: %w", err)
	}
	return nil
}

func (s *snapshot) writeTo(w io.Writer) error {
	head := binary.BigEndian.AppendUint64(bytes.Clone(snapshotMagic), uint64(s.tx.Size()))
	if _, err := w.Write(head); err != nil {
		return err
	}
	sum := sha256.New()
	if _, err := s.tx.WriteTo(io.MultiWriter(w, sum)); err != nil {
		return err
	}
	_, err := w.Write(sum.Sum(nil))
	return err
}

// Release ends the read transaction.
func (s *snapshot) Release() {
	s.release.Do(func() { _ = s.tx.Rollback() })
}

// Restore replaces the FSM's state with a snapshot written by Persist.
// The stream goes to a temporary file that is synced and checked before
// the live database is touched, so a bad snapshot leaves the old state in
// place. Raft calls Restore with no Apply running; reads wait while the
// file is swapped.
func (f *stateMachine) Restore(rc io.ReadCloser) error {
	defer rc.Close()

	tmp := f.path + ".restore"
	if err := writeSnapshotFile(tmp, rc); err != nil {
		_ = os.Remove(tmp)
		return fmt.Errorf("restore fsm: %w", err)
	}
	if err := checkSnapshotFile(tmp); err != nil {
		_ = os.Remove(tmp)
		return fmt.Errorf("restore fsm: %w", err)
	}
	if err := f.swapDB(tmp); err != nil {
		return fmt.Errorf("restore fsm: %w", err)
	}
	f.logger.Info("restored metadata snapshot", "index", f.AppliedIndex())
	return nil
}

// writeSnapshotFile checks the framing of r and copies the bbolt file
// inside it to path, synced. Errors about the stream wrap ErrInvalid.
func writeSnapshotFile(path string, r io.Reader) error {
	head := make([]byte, snapshotHeaderLen)
	if _, err := io.ReadFull(r, head); err != nil {
		return fmt.Errorf("read snapshot header: %w: %w", ErrInvalid, err)
	}
	if !bytes.Equal(head[:len(snapshotMagic)], snapshotMagic) {
		return fmt.Errorf("read snapshot header %q: %w", head[:len(snapshotMagic)], ErrInvalid)
	}
	size := binary.BigEndian.Uint64(head[len(snapshotMagic):])
	if size > maxSnapshotSize {
		return fmt.Errorf("read snapshot header: size %d: %w", size, ErrInvalid)
	}

	out, err := os.OpenFile(path, os.O_CREATE|os.O_TRUNC|os.O_WRONLY, 0o600)
	if err != nil {
		return err
	}
	defer out.Close()
	sum := sha256.New()
	if _, err := io.CopyN(io.MultiWriter(out, sum), r, int64(size)); err != nil {
		return fmt.Errorf("copy snapshot: %w: %w", ErrInvalid, err)
	}
	want := make([]byte, sha256.Size)
	if _, err := io.ReadFull(r, want); err != nil {
		return fmt.Errorf("read snapshot checksum: %w: %w", ErrInvalid, err)
	}
	if !bytes.Equal(want, sum.Sum(nil)) {
		return fmt.Errorf("snapshot checksum mismatch: %w", ErrInvalid)
	}
	if err := out.Sync(); err != nil {
		return fmt.Errorf("sync snapshot: %w", err)
	}
	return out.Close()
}

// checkSnapshotFile opens path read-only and checks that it is a bbolt
// file with the FSM's buckets and schema. The checksum has already ruled
// out corruption; a panic from bbolt still becomes an error wrapping
// ErrInvalid rather than taking the node down.
func checkSnapshotFile(path string) (err error) {
	defer func() {
		if p := recover(); p != nil {
			err = fmt.Errorf("check snapshot: corrupt database: %v: %w", p, ErrInvalid)
		}
	}()

	db, err := bolt.Open(path, 0o600, boltOptions(true))
	if err != nil {
		return fmt.Errorf("check snapshot: %w: %w", ErrInvalid, err)
	}
	defer db.Close()

	err = db.View(func(tx *bolt.Tx) error {
		b, err := openBuckets(tx)
		if err != nil {
			return err
		}
		if v, err := readU64(b.state.Get(keySchema)); err != nil || v != schemaVersion {
			return fmt.Errorf("schema version %d, want %d", v, schemaVersion)
		}
		if _, _, err := b.readState(); err != nil {
			return err
		}
		_, err = b.getLayout()
		return err
	})
	if err != nil {
		return fmt.Errorf("check snapshot: %w: %w", ErrInvalid, err)
	}
	return nil
}

// swapDB closes the live database, renames tmp over it and reopens it.
// Readers are held off meanwhile. If reopening fails the FSM stops.
func (f *stateMachine) swapDB(tmp string) error {
	f.dbMu.Lock()
	defer f.dbMu.Unlock()

	if err := f.db.Close(); err != nil {
		return fmt.Errorf("close live database: %w", err)
	}
	renameErr := os.Rename(tmp, f.path)
	if renameErr == nil {
		renameErr = syncDir(filepath.Dir(f.path))
	}
	if err := f.openDB(); err != nil {
		f.fail(err)
		return errors.Join(renameErr, err)
	}
	return renameErr
}

// syncDir makes a rename in dir durable.
func syncDir(dir string) error {
	d, err := os.Open(dir)
	if err != nil {
		return fmt.Errorf("sync dir %s: %w", dir, err)
	}
	defer d.Close()
	if err := d.Sync(); err != nil {
		return fmt.Errorf("sync dir %s: %w", dir, err)
	}
	return nil
}

// restoreIfBehind restores the newest snapshot in snaps when it is newer
// than the FSM's file, for instance when fsm.db was lost. Raft itself is
// told not to restore on start (the FSM keeps its state on disk), so
// without this a lost fsm.db would leave the entries the snapshot covers
// unapplied.
func (f *stateMachine) restoreIfBehind(snaps raft.SnapshotStore) error {
	list, err := snaps.List()
	if err != nil {
		return fmt.Errorf("list snapshots: %w", err)
	}
	if len(list) == 0 || list[0].Index <= f.AppliedIndex() {
		return nil
	}
	f.logger.Warn("fsm behind newest snapshot; restoring it",
		"index", f.AppliedIndex(),
		"snapshot_index", list[0].Index)
	_, rc, err := snaps.Open(list[0].ID)
	if err != nil {
		return fmt.Errorf("open snapshot %s: %w", list[0].ID, err)
	}
	return f.Restore(rc)
}
