package chunk

import (
	"errors"
	"os"
	"path/filepath"
	"testing"
	"time"
)

func tempFile(t *testing.T) *os.File {
	t.Helper()
	f, err := os.Create(filepath.Join(t.TempDir(), "pack"))
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { f.Close() })
	return f
}

// waitFor polls cond until it holds, failing the test after a deadline.
func waitFor(t *testing.T, what string, cond func() bool) {
	t.Helper()
	deadline := time.Now().Add(10 * time.Second)
	for !cond() {
		if time.Now().After(deadline) {
			t.Fatalf("timed out waiting for %s", what)
		}
		time.Sleep(time.Millisecond)
	}
}

func (g *groupCommit) waiters() int {
	g.mu.Lock()
	defer g.mu.Unlock()
	return g.waiting
}

// TestGroupCommitWaitsForEarlierWrites checks that a write is not reported
// durable while a write before it in the pack is still in flight.
func TestGroupCommitWaitsForEarlierWrites(t *testing.T) {
	f := tempFile(t)
	g := newGroupCommit(0)
	g.reserve(0, 10)
	g.reserve(10, 20)

	laterDone := make(chan error, 1)
	go func() { laterDone <- g.finish(f, 10, 20, nil) }()
	waitFor(t, "the later writer to block", func() bool {
		select {
		case err := <-laterDone:
			t.Fatalf("later write reported durable (%v) before the earlier one finished", err)
		default:
		}
		return g.waiters() == 1
	})

	if err := g.finish(f, 0, 10, nil); err != nil {
		t.Fatalf("earlier finish: %v", err)
	}
	if err := <-laterDone; err != nil {
		t.Fatalf("later finish: %v", err)
	}
	if !g.settled() || g.synced != 20 {
		t.Fatalf("got settled=%v synced=%d, want settled at 20", g.settled(), g.synced)
	}
}

// TestGroupCommitFailedWrite checks that a failed write fails the writes
// after it and spares those before it.
func TestGroupCommitFailedWrite(t *testing.T) {
	f := tempFile(t)
	g := newGroupCommit(0)
	g.reserve(0, 10)
	g.reserve(10, 20)
	g.reserve(20, 30)
	boom := errors.New("disk on fire")

	if err := g.finish(f, 10, 20, boom); !errors.Is(err, boom) {
		t.Fatalf("failed write: got %v, want %v", err, boom)
	}
	if err := g.finish(f, 20, 30, nil); !errors.Is(err, boom) {
		t.Fatalf("write after the failure: got %v, want %v", err, boom)
	}
	if err := g.finish(f, 0, 10, nil); err != nil {
		t.Fatalf("write before the failure: got %v, want success", err)
	}
}
