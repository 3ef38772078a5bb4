package meta

import (
	"errors"
	"testing"
)

// TestStoreReportsStoppedFSM closes the FSM's database under a running
// store, so the next write cannot commit. The FSM stops, and the store
// says so everywhere: the write fails with ErrStorage, Health reports
// it, and a wait for a later index gives up with ErrStorage instead of
// hanging.
func TestStoreReportsStoppedFSM(t *testing.T) {
	s := openSingle(t, t.TempDir(), "127.0.0.1:0", fastRaft)
	defer s.Close()
	ctx := testCtx(t)
	f := testFile(testChunk("a", 10))
	mustCreate(t, s, testRef("r1", f, "T", "o"), f)
	if err := s.Health(ctx); err != nil {
		t.Fatalf("health before the fault: %v", err)
	}

	if err := s.fsm.db.Close(); err != nil {
		t.Fatal(err)
	}
	applied := s.AppliedIndex()
	_, err := s.CreateReference(ctx, testRef("r2", f, "T", "o"), f)
	if !errors.Is(err, ErrStorage) {
		t.Fatalf("write on a stopped fsm: got %v, want ErrStorage", err)
	}
	if err := s.Health(ctx); !errors.Is(err, ErrStorage) {
		t.Fatalf("health of a stopped fsm: got %v, want ErrStorage", err)
	}
	if err := s.WaitApplied(ctx, applied+1); !errors.Is(err, ErrStorage) {
		t.Fatalf("wait past a stopped fsm: got %v, want ErrStorage", err)
	}
	if s.AppliedIndex() != applied {
		t.Fatalf("applied index moved from %d to %d past a failed entry", applied, s.AppliedIndex())
	}
}
