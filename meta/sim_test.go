package meta

import (
	"encoding/json"
	"testing"

	"github.com/hashicorp/raft"
)

// TestSimulationReplicasAgree applies one seeded command stream to three
// FSMs: one entry at a time, in random batches, and from a snapshot of
// the first taken midway. All must give the same results and end with
// byte-equal state that verifies.
func TestSimulationReplicasAgree(t *testing.T) {
	seed := testSeed(t)
	const total, snapAt = 600, 300
	g := newOpGen(seed)
	ops := make([]op, total)
	for i := range ops {
		ops[i] = g.next()
	}

	single, batched := newTestFSM(t), newTestFSM(t)
	resSingle := make([]any, total)
	for i, o := range ops {
		resSingle[i] = single.Apply(commandLog(t, uint64(i+1), o.cmd))
		if got := resSingle[i].(*result).Code; got != o.want {
			t.Fatalf("op %d (%s): code %q, model expects %q: %s",
				i, o.cmd.Kind, got, o.want, resSingle[i].(*result).Message)
		}
	}
	resBatched := applyInBatches(t, batched, ops, 0, total, seed)
	requireSameResults(t, "batched", resSingle, resBatched, 0)

	// The third replica starts from a snapshot of a replica at snapAt.
	mid := newTestFSM(t)
	applyInBatches(t, mid, ops, 0, snapAt, seed)
	store, id := persistToStore(t, mid, snapAt)
	restored := newTestFSM(t)
	restoreFrom(t, restored, store, id)
	resRestored := applyInBatches(t, restored, ops, snapAt, total, seed)
	requireSameResults(t, "restored", resSingle[snapAt:], resRestored, snapAt)

	for _, f := range []*stateMachine{single, batched, restored} {
		if err := f.verify(); err != nil {
			t.Fatal(err)
		}
	}
	requireSameState(t, "single vs batched", single, batched)
	requireSameState(t, "single vs restored", single, restored)
	g.requireLayoutModel(t, single.currentLayout())
	if st, _ := single.stats(); st.LiveReferences != uint64(len(g.liveIDs)) {
		t.Fatalf("live references %d, model %d", st.LiveReferences, len(g.liveIDs))
	}
}

// applyInBatches applies ops[from:to] in random batch sizes of 1..64.
func applyInBatches(t *testing.T, f *stateMachine, ops []op, from, to int, seed uint64) []any {
	t.Helper()
	g := newOpGen(seed + 1)
	var out []any
	for i := from; i < to; {
		n := min(1+g.rng.IntN(64), to-i)
		logs := make([]*raft.Log, n)
		for j := range logs {
			logs[j] = commandLog(t, uint64(i+j+1), ops[i+j].cmd)
		}
		out = append(out, f.ApplyBatch(logs)...)
		i += n
	}
	return out
}

func requireSameResults(t *testing.T, what string, want, got []any, offset int) {
	t.Helper()
	if len(want) != len(got) {
		t.Fatalf("%s: %d results, want %d", what, len(got), len(want))
	}
	for i := range want {
		a, _ := json.Marshal(want[i])
		b, _ := json.Marshal(got[i])
		if string(a) != string(b) {
			t.Fatalf("%s: op %d result %s, want %s", what, offset+i, b, a)
		}
	}
}
