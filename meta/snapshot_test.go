package meta

import (
	"bytes"
	"crypto/sha256"
	"encoding/binary"
	"errors"
	"io"
	"math/rand/v2"
	"os"
	"testing"

	"github.com/hashicorp/raft"
	bolt "go.etcd.io/bbolt"
)

// persistToStore writes a snapshot of f into a real file snapshot store
// and returns the store and the snapshot id.
func persistToStore(t testing.TB, f *stateMachine, index uint64) (*raft.FileSnapshotStore, string) {
	t.Helper()
	store, err := raft.NewFileSnapshotStore(t.TempDir(), 1, io.Discard)
	if err != nil {
		t.Fatal(err)
	}
	_, trans := raft.NewInmemTransport("")
	sink, err := store.Create(raft.SnapshotVersionMax, index, 1, raft.Configuration{}, 1, trans)
	if err != nil {
		t.Fatal(err)
	}
	snap, err := f.Snapshot()
	if err != nil {
		t.Fatal(err)
	}
	defer snap.Release()
	if err := snap.Persist(sink); err != nil {
		t.Fatal(err)
	}
	return store, sink.ID()
}

// restoreFrom restores snapshot id of store into f.
func restoreFrom(t testing.TB, f *stateMachine, store *raft.FileSnapshotStore, id string) {
	t.Helper()
	_, rc, err := store.Open(id)
	if err != nil {
		t.Fatal(err)
	}
	if err := f.Restore(rc); err != nil {
		t.Fatalf("restore: %v", err)
	}
}

// snapshotBytes returns the raw stream Persist writes for f.
func snapshotBytes(t testing.TB, f *stateMachine) []byte {
	t.Helper()
	snap, err := f.Snapshot()
	if err != nil {
		t.Fatal(err)
	}
	defer snap.Release()
	var buf bytes.Buffer
	if err := snap.(*snapshot).writeTo(&buf); err != nil {
		t.Fatal(err)
	}
	return buf.Bytes()
}

func populatedFSM(t testing.TB) *stateMachine {
	t.Helper()
	f := newTestFSM(t)
	f1 := testFile(testChunk("a", 10), testChunk("b", 20))
	applyAt(t, f, 1, createCmd(testRef("r1", f1, "T", "o"), f1, t0))
	applyAt(t, f, 2, createCmd(testRef("r2", f1, "T", "o"), f1, t0))
	applyAt(t, f, 3, deleteCmd("r1", t0))
	return f
}

func TestSnapshotRestoreRoundTrip(t *testing.T) {
	src := populatedFSM(t)
	store, id := persistToStore(t, src, 3)

	dst := newTestFSM(t)
	g := testFile(testChunk("other", 5))
	applyAt(t, dst, 1, createCmd(testRef("stale", g, "T", ""), g, t0))
	restoreFrom(t, dst, store, id)

	requireSameState(t, "after restore", src, dst)
	if dst.AppliedIndex() != 3 {
		t.Fatalf("applied index after restore: %d, want 3", dst.AppliedIndex())
	}
	if _, err := dst.reference("stale"); !errors.Is(err, ErrNotFound) {
		t.Fatalf("state from before the restore survived: %v", err)
	}
	if err := dst.verify(); err != nil {
		t.Fatal(err)
	}
}

// TestSnapshotPersistDuringApply checks that a snapshot shows the state
// of the moment it was taken while writes continue.
func TestSnapshotPersistDuringApply(t *testing.T) {
	src := populatedFSM(t)
	want := dumpState(t, src)
	snap, err := src.Snapshot()
	if err != nil {
		t.Fatal(err)
	}

	// Like raft's snapshot goroutine, this one persists and releases on
	// its own: a write that must grow bbolt's mapping waits for it.
	done := make(chan []byte, 1)
	go func() {
		defer snap.Release()
		var buf bytes.Buffer
		if err := snap.(*snapshot).writeTo(&buf); err != nil {
			t.Error(err)
		}
		done <- buf.Bytes()
	}()
	f2 := testFile(testChunk("c", 9))
	for i := range 20 {
		id := string(rune('A' + i))
		applyAt(t, src, uint64(4+i), createCmd(testRef(id, f2, "T", ""), f2, t0))
	}
	raw := <-done

	dst := newTestFSM(t)
	if err := dst.Restore(io.NopCloser(bytes.NewReader(raw))); err != nil {
		t.Fatal(err)
	}
	if got := dumpState(t, dst); !bytes.Equal(got, want) {
		t.Fatalf("snapshot does not show the state it was taken at: %s", firstDiff(got, want))
	}
}

// garbageSnapshots are streams Restore must refuse.
func garbageSnapshots(t testing.TB) map[string][]byte {
	t.Helper()
	valid := snapshotBytes(t, populatedFSM(t))
	body := len(snapshotMagic) + 8
	flipped := bytes.Clone(valid)
	flipped[body+4096+100] ^= 0xff // inside a data page
	badSum := bytes.Clone(valid)
	badSum[len(badSum)-1] ^= 0xff
	huge := bytes.Clone(valid)
	huge[len(snapshotMagic)] = 0xff // size field
	rng := rand.New(rand.NewPCG(1, 2))
	random := make([]byte, 64<<10)
	for i := range random {
		random[i] = byte(rng.Uint32())
	}
	foreign := foreignBolt(t)
	framed := binary.BigEndian.AppendUint64(bytes.Clone(snapshotMagic), uint64(len(foreign)))
	framed = append(framed, foreign...)
	sum := sha256.Sum256(foreign)
	framed = append(framed, sum[:]...)
	return map[string][]byte{
		"empty":             nil,
		"short header":      snapshotMagic[:3],
		"wrong magic":       append([]byte("NOTMETA\n"), valid[len(snapshotMagic):]...),
		"header only":       valid[:body],
		"random after head": append(bytes.Clone(valid[:body]), random...),
		"truncated db":      valid[:body+5000],
		"missing checksum":  valid[:len(valid)-sha256.Size],
		"flipped page byte": flipped,
		"bad checksum":      badSum,
		"huge size":         huge,
		"foreign bolt file": framed,
	}
}

// foreignBolt is a valid bbolt file without the FSM's buckets.
func foreignBolt(t testing.TB) []byte {
	t.Helper()
	path := t.TempDir() + "/other.db"
	db, err := bolt.Open(path, 0o600, nil)
	if err != nil {
		t.Fatal(err)
	}
	err = db.Update(func(tx *bolt.Tx) error {
		b, err := tx.CreateBucket([]byte("stuff"))
		if err != nil {
			return err
		}
		return b.Put([]byte("k"), []byte("v"))
	})
	if err != nil {
		t.Fatal(err)
	}
	_ = db.Close()
	raw, err := os.ReadFile(path)
	if err != nil {
		t.Fatal(err)
	}
	return raw
}

func TestRestoreRejectsGarbage(t *testing.T) {
	for name, raw := range garbageSnapshots(t) {
		t.Run(name, func(t *testing.T) {
			f := populatedFSM(t)
			before := dumpState(t, f)
			err := f.Restore(io.NopCloser(bytes.NewReader(raw)))
			if !errors.Is(err, ErrInvalid) {
				t.Fatalf("got %v, want ErrInvalid", err)
			}
			if after := dumpState(t, f); !bytes.Equal(before, after) {
				t.Fatalf("failed restore changed state: %s", firstDiff(before, after))
			}
			// The FSM still applies.
			g := testFile(testChunk("z", 1))
			res := applyAt(t, f, 4, createCmd(testRef("n", g, "T", ""), g, t0))
			if res.err() != nil {
				t.Fatalf("apply after failed restore: %v", res.err())
			}
		})
	}
}

// FuzzRestore feeds Restore arbitrary streams: each must restore a
// state that verifies or fail with ErrInvalid, never panic.
func FuzzRestore(f *testing.F) {
	for _, raw := range garbageSnapshots(f) {
		f.Add(raw)
	}
	f.Add(snapshotBytes(f, populatedFSM(f)))
	f.Fuzz(func(t *testing.T, raw []byte) {
		fsm := newTestFSM(t)
		err := fsm.Restore(io.NopCloser(bytes.NewReader(raw)))
		if err != nil {
			if !errors.Is(err, ErrInvalid) {
				t.Fatalf("restore error does not wrap ErrInvalid: %v", err)
			}
			return
		}
		if fsm.Failed() != nil {
			t.Fatalf("restore succeeded but fsm stopped: %v", fsm.Failed())
		}
	})
}
