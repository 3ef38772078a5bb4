package meta

import (
	"context"
	"errors"
	"testing"
	"time"

	"github.com/helixtrack/attachments/chunk"
	"github.com/helixtrack/attachments/placement"
)

// TestStoreClosedRefusesEveryCall checks that, once closed, every read,
// write, membership and maintenance call fails with ErrClosed instead of
// touching the closed Raft node or FSM file.
func TestStoreClosedRefusesEveryCall(t *testing.T) {
	s := openSingle(t, t.TempDir(), "127.0.0.1:0", fastRaft)
	f := testFile(testChunk("a", 10))
	mustCreate(t, s, testRef("r1", f, "T", "o"), f)
	cmd, err := encodeCommand(&command{Kind: kindDelete, Now: t0, ID: "r1"})
	if err != nil {
		t.Fatal(err)
	}
	if err := s.Close(); err != nil {
		t.Fatal(err)
	}

	ctx := testCtx(t)
	h := f.Hash
	calls := map[string]func() error{
		"File":  func() error { _, err := s.File(ctx, h); return err },
		"Chunk": func() error { _, err := s.Chunk(ctx, h); return err },
		"ChunkExists": func() error {
			ok, err := s.ChunkExists(ctx, h)
			if ok {
				return errors.New("reported a chunk as existing")
			}
			return err
		},
		"OwnsFile": func() error { _, err := s.OwnsFile(ctx, "o", h); return err },
		"ListEntity": func() error {
			_, _, err := s.ListEntity(ctx, "ticket", "T", "", 5)
			return err
		},
		"Stats":  func() error { _, err := s.Stats(ctx); return err },
		"Verify": func() error { return s.Verify(ctx) },
		"KnownChunks": func() error {
			_, err := s.KnownChunks(ctx, []chunk.Hash{h})
			return err
		},
		"ReferenceFile": func() error { _, _, err := s.ReferenceFile(ctx, "r1"); return err },
		"ListEntityFiles": func() error {
			_, _, _, err := s.ListEntityFiles(ctx, "ticket", "T", "", 5)
			return err
		},
		"LocalChunks": func() error {
			return s.LocalChunks(func(chunk.Hash, Chunk) bool { return true })
		},
		"Layout":       func() error { _, err := s.Layout(ctx); return err },
		"ReadIndex":    func() error { _, err := s.ReadIndex(ctx); return err },
		"ApplyEncoded": func() error { _, err := s.ApplyEncoded(ctx, cmd); return err },
		"Members":      func() error { _, err := s.Members(ctx); return err },
		"Snapshot":     s.Snapshot,
		"Health":       func() error { return s.Health(ctx) },
		"WaitLeader":   func() error { return s.WaitLeader(ctx) },
		"WaitApplied":  func() error { return s.WaitApplied(ctx, s.AppliedIndex()+1) },
		"AttachReference": func() error {
			_, err := s.AttachReference(ctx, testRef("r2", f, "T", "o"))
			return err
		},
		"DeleteReference": func() error { _, err := s.DeleteReference(ctx, "r1"); return err },
		"CollectChunks": func() error {
			_, err := s.CollectChunks(ctx, t0.Add(time.Hour), 10)
			return err
		},
		"JoinNode": func() error {
			_, err := s.JoinNode(ctx, testNode("n2"), true)
			return err
		},
		"SetNodeState": func() error {
			_, err := s.SetNodeState(ctx, "n1", placement.Out)
			return err
		},
	}
	for name, call := range calls {
		if err := call(); !errors.Is(err, ErrClosed) {
			t.Errorf("%s after close: got %v, want ErrClosed", name, err)
		}
	}
}

// TestStoreAwaitUnblocksOnClose starts a read that cannot finish (it
// waits for an index far ahead) and closes the store under it: the read
// returns ErrClosed and Close does not hang on it.
func TestStoreAwaitUnblocksOnClose(t *testing.T) {
	s := openSingle(t, t.TempDir(), "127.0.0.1:0", fastRaft)
	done := make(chan error, 1)
	go func() {
		done <- s.WaitApplied(context.Background(), s.AppliedIndex()+1_000_000)
	}()
	if err := s.Close(); err != nil {
		t.Fatal(err)
	}
	select {
	case err := <-done:
		if !errors.Is(err, ErrClosed) {
			t.Fatalf("blocked wait after close: got %v, want ErrClosed", err)
		}
	case <-testCtx(t).Done():
		t.Fatal("WaitApplied still blocked after Close")
	}
}
