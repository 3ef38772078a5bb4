package meta

import (
	"bytes"
	"crypto/sha256"
	"encoding/binary"
	"errors"
	"io"
	"os"
	"path/filepath"
	"strings"
	"testing"

	"github.com/hashicorp/raft"
	bolt "go.etcd.io/bbolt"
)

// faultySink is a snapshot sink whose writes fail after limit bytes, or
// whose Close fails: a full disk under the snapshot store.
type faultySink struct {
	limit     int
	written   int
	failClose bool
	cancelled bool
	closed    bool
}

var errSinkFull = errors.New("sink full")

func (s *faultySink) Write(p []byte) (int, error) {
	if s.written+len(p) > s.limit {
		return 0, errSinkFull
	}
	s.written += len(p)
	return len(p), nil
}

func (s *faultySink) Close() error {
	s.closed = true
	if s.failClose {
		return errSinkFull
	}
	return nil
}

func (s *faultySink) Cancel() error { s.cancelled = true; return nil }
func (s *faultySink) ID() string    { return "faulty" }

var _ raft.SnapshotSink = (*faultySink)(nil)

// TestPersistFailures: a write that fails at any point of the stream
// (header, database, checksum) cancels the sink, so raft never keeps a
// partial snapshot; a failing Close is reported.
func TestPersistFailures(t *testing.T) {
	f := populatedFSM(t)
	full := len(snapshotBytes(t, f))
	for _, limit := range []int{0, snapshotHeaderLen + 10, full - 1} {
		snap, err := f.Snapshot()
		if err != nil {
			t.Fatal(err)
		}
		sink := &faultySink{limit: limit}
		err = snap.Persist(sink)
		snap.Release()
		// bbolt flattens the error it copies the pages with; the text stays.
		if err == nil || !strings.Contains(err.Error(), errSinkFull.Error()) ||
			!sink.cancelled || sink.closed {
			t.Fatalf("limit %d: err %v, cancelled %v, closed %v; want the write error and a cancel",
				limit, err, sink.cancelled, sink.closed)
		}
	}

	snap, err := f.Snapshot()
	if err != nil {
		t.Fatal(err)
	}
	defer snap.Release()
	sink := &faultySink{limit: full, failClose: true}
	if err := snap.Persist(sink); !errors.Is(err, errSinkFull) || sink.cancelled {
		t.Fatalf("failing close: err %v, cancelled %v", err, sink.cancelled)
	}
}

// framedSnapshot wraps a bbolt file in the snapshot framing, with a
// correct checksum, so that only its contents can be refused.
func framedSnapshot(raw []byte) []byte {
	out := binary.BigEndian.AppendUint64(bytes.Clone(snapshotMagic), uint64(len(raw)))
	out = append(out, raw...)
	sum := sha256.Sum256(raw)
	return append(out, sum[:]...)
}

// fsmFileWith returns the bytes of an FSM database changed by edit.
func fsmFileWith(t *testing.T, edit func(b buckets) error) []byte {
	t.Helper()
	path := filepath.Join(t.TempDir(), "fsm.db")
	f, err := openStateMachine(path, testLogger(t))
	if err != nil {
		t.Fatal(err)
	}
	err = f.db.Update(func(tx *bolt.Tx) error {
		b, err := openBuckets(tx)
		if err != nil {
			return err
		}
		return edit(b)
	})
	if cerr := f.Close(); err == nil {
		err = cerr
	}
	if err != nil {
		t.Fatal(err)
	}
	raw, err := os.ReadFile(path)
	if err != nil {
		t.Fatal(err)
	}
	return raw
}

// TestRestoreRefusesOtherSchemas: a well-framed snapshot of an FSM file
// from another schema version, or with unreadable state or layout, is
// refused with ErrInvalid and leaves the live state as it was.
func TestRestoreRefusesOtherSchemas(t *testing.T) {
	cases := map[string]func(b buckets) error{
		"newer schema": func(b buckets) error {
			return b.state.Put(keySchema, u64(schemaVersion+1))
		},
		"bad applied index": func(b buckets) error {
			return b.state.Put(keyApplied, []byte{1, 2})
		},
		"bad totals": func(b buckets) error {
			return b.state.Put(keyTotals, []byte{1, 2, 3})
		},
	}
	for name, edit := range cases {
		t.Run(name, func(t *testing.T) {
			raw := framedSnapshot(fsmFileWith(t, edit))
			f := populatedFSM(t)
			before := dumpState(t, f)
			err := f.Restore(io.NopCloser(bytes.NewReader(raw)))
			if !errors.Is(err, ErrInvalid) {
				t.Fatalf("got %v, want ErrInvalid", err)
			}
			if after := dumpState(t, f); !bytes.Equal(before, after) {
				t.Fatalf("refused restore changed state: %s", firstDiff(before, after))
			}
		})
	}
}
