package meta

import (
	"context"
	"errors"
	"fmt"
	"sync"
	"testing"
)

// TestStoreRandomMix drives a store with a seeded mix of creates (files
// sharing chunks), attaches, deletes and collections, checks every
// outcome against the generator's model, then runs concurrent writers so
// that entries reach the FSM in batches. Verify must pass at the end.
func TestStoreRandomMix(t *testing.T) {
	seed := testSeed(t)
	s := openSingle(t, t.TempDir(), "127.0.0.1:0", fastRaft)
	defer s.Close()
	ctx := testCtx(t)

	g := newOpGen(seed)
	for i := range 300 {
		o := g.next()
		err := applyThroughStore(ctx, s, o.cmd)
		want := codeErrors[o.want]
		if (want == nil && err != nil) || (want != nil && !errors.Is(err, want)) {
			t.Fatalf("op %d (%s): got %v, model expects %v", i, o.cmd.Kind, err, want)
		}
	}
	runConcurrentWriters(t, s, g)

	st, err := s.Stats(ctx)
	if err != nil {
		t.Fatal(err)
	}
	if want := uint64(len(g.liveIDs)) + 4*25; st.LiveReferences != want {
		t.Fatalf("live references %d, model %d", st.LiveReferences, want)
	}
	for _, id := range g.liveIDs {
		if _, err := s.Reference(ctx, id); err != nil {
			t.Fatalf("live reference %s: %v", id, err)
		}
	}
	if err := s.Verify(ctx); err != nil {
		t.Fatal(err)
	}
	l, err := s.Layout(ctx)
	if err != nil {
		t.Fatal(err)
	}
	g.requireLayoutModel(t, l)
}

// applyThroughStore runs a generated command through the public API.
func applyThroughStore(ctx context.Context, s *Store, c *command) error {
	var err error
	switch c.Kind {
	case kindCreate:
		_, err = s.CreateReference(ctx, *c.Ref, *c.File)
	case kindAttach:
		_, err = s.AttachReference(ctx, *c.Ref)
	case kindDelete:
		_, err = s.DeleteReference(ctx, c.ID)
	case kindCollect:
		_, err = s.CollectChunks(ctx, c.OlderThan, c.Limit)
	case kindJoinNode:
		_, err = s.JoinNode(ctx, *c.Node, c.AutoActive)
	case kindSetNodeState:
		_, err = s.SetNodeState(ctx, c.NodeID, c.State)
	case kindSetNodeWeight:
		_, err = s.SetNodeWeight(ctx, c.NodeID, c.Weight)
	case kindSetReplicas:
		_, err = s.SetReplicas(ctx, c.Replicas)
	case kindRemoveNode:
		_, err = s.RemoveNode(ctx, c.NodeID)
	default:
		err = fmt.Errorf("unexpected kind %s", c.Kind)
	}
	return err
}

// runConcurrentWriters has 4 goroutines each create 25 references to
// pool files; they must all succeed.
func runConcurrentWriters(t *testing.T, s *Store, g *opGen) {
	t.Helper()
	ctx := testCtx(t)
	files := make([]File, 25)
	for i := range files {
		files[i] = g.file()
	}
	var wg sync.WaitGroup
	errs := make(chan error, 4)
	for w := range 4 {
		wg.Add(1)
		go func() {
			defer wg.Done()
			for i, f := range files {
				ref := testRef(fmt.Sprintf("w%d-%d", w, i), f, "W", "")
				if _, err := s.CreateReference(ctx, ref, f); err != nil {
					errs <- err
					return
				}
			}
		}()
	}
	wg.Wait()
	close(errs)
	for err := range errs {
		t.Fatal(err)
	}
}
