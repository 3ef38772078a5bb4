package meta

import (
	"errors"
	"path/filepath"
	"testing"
	"time"

	"github.com/hashicorp/raft"
)

func TestFSMCreateDedupDelete(t *testing.T) {
	f := newTestFSM(t)
	a, b, c := testChunk("a", 100), testChunk("b", 50), testChunk("c", 7)
	f1 := testFile(a, b, a) // a occurs twice
	f2 := testFile(b, c)

	res := applyAt(t, f, 1, createCmd(testRef("r1", f1, "T-1", "alice"), f1, t0))
	if res.err() != nil || res.Deduplicated || res.File.RefCount != 1 {
		t.Fatalf("first create: %+v", res)
	}
	res = applyAt(t, f, 2, createCmd(testRef("r2", f1, "T-1", "bob"), f1, t0))
	if res.err() != nil || !res.Deduplicated || res.File.RefCount != 2 {
		t.Fatalf("second create of same content: %+v", res)
	}
	applyAt(t, f, 3, createCmd(testRef("r3", f2, "T-2", "bob"), f2, t0))

	wantChunks := map[ChunkRef]uint64{a: 2, b: 2, c: 1}
	for cr, want := range wantChunks {
		got, err := f.chunk(cr.Hash)
		if err != nil || got.RefCount != want {
			t.Fatalf("chunk %d bytes: got %+v, %v; want ref count %d", cr.Size, got, err, want)
		}
	}
	st, _ := f.stats()
	want := Stats{AppliedIndex: 3, LiveReferences: 3, Files: 2, Chunks: 3,
		LogicalBytes: 2*250 + 57, StoredBytes: 157}
	if st != want {
		t.Fatalf("stats: got %+v, want %+v", st, want)
	}

	// Deleting both references to f1 removes it and lowers a and b.
	applyAt(t, f, 4, deleteCmd("r1", t0.Add(time.Minute)))
	res = applyAt(t, f, 5, deleteCmd("r2", t0.Add(2*time.Minute)))
	if res.err() != nil || !res.Ref.Deleted || !res.Ref.DeletedAt.Equal(t0.Add(2*time.Minute)) {
		t.Fatalf("delete r2: %+v", res)
	}
	if _, err := f.file(f1.Hash); !errors.Is(err, ErrNotFound) {
		t.Fatalf("file after last delete: err %v, want ErrNotFound", err)
	}
	ca, _ := f.chunk(a.Hash)
	cb, _ := f.chunk(b.Hash)
	if ca.RefCount != 0 || !ca.ZeroSince.Equal(t0.Add(2*time.Minute)) || cb.RefCount != 1 {
		t.Fatalf("chunks after delete: a %+v, b %+v", ca, cb)
	}
	if _, err := f.reference("r1"); !errors.Is(err, ErrNotFound) {
		t.Fatalf("deleted reference: err %v, want ErrNotFound", err)
	}
	if err := f.verify(); err != nil {
		t.Fatal(err)
	}
}

func TestFSMCollectOnlyAfterGrace(t *testing.T) {
	f := newTestFSM(t)
	a, b := testChunk("a", 10), testChunk("b", 20)
	f1, f2 := testFile(a), testFile(b)
	applyAt(t, f, 1, createCmd(testRef("r1", f1, "T", ""), f1, t0))
	applyAt(t, f, 2, createCmd(testRef("r2", f2, "T", ""), f2, t0))
	applyAt(t, f, 3, deleteCmd("r1", t0.Add(time.Hour)))
	applyAt(t, f, 4, deleteCmd("r2", t0.Add(2*time.Hour)))

	cases := []struct {
		name      string
		olderThan time.Time
		want      []ChunkRef
	}{
		{name: "before either reached zero", olderThan: t0.Add(time.Hour), want: nil},
		{name: "after the first", olderThan: t0.Add(time.Hour + 1), want: []ChunkRef{a}},
		{name: "after both", olderThan: t0.Add(3 * time.Hour), want: []ChunkRef{b}},
		{name: "nothing left", olderThan: t0.Add(9 * time.Hour), want: nil},
	}
	for i, tc := range cases {
		res := applyAt(t, f, uint64(5+i), collectCmd(tc.olderThan, 10))
		if res.err() != nil || len(res.Collected) != len(tc.want) {
			t.Fatalf("%s: got %+v, want %d chunks", tc.name, res, len(tc.want))
		}
		for j, cr := range tc.want {
			if res.Collected[j] != cr.Hash {
				t.Fatalf("%s: collected %s, want %s", tc.name, res.Collected[j], cr.Hash)
			}
			if _, err := f.chunk(cr.Hash); !errors.Is(err, ErrNotFound) {
				t.Fatalf("%s: collected chunk still there: %v", tc.name, err)
			}
		}
	}
	if st, _ := f.stats(); st.Chunks != 0 || st.StoredBytes != 0 {
		t.Fatalf("stats after collecting all: %+v", st)
	}
	if err := f.verify(); err != nil {
		t.Fatal(err)
	}
}

func TestFSMReviveChunkAtZero(t *testing.T) {
	f := newTestFSM(t)
	a := testChunk("a", 10)
	f1, f2 := testFile(a), testFile(a, a)
	applyAt(t, f, 1, createCmd(testRef("r1", f1, "T", ""), f1, t0))
	applyAt(t, f, 2, deleteCmd("r1", t0.Add(time.Minute)))
	applyAt(t, f, 3, createCmd(testRef("r2", f2, "T", ""), f2, t0.Add(2*time.Minute)))

	c, err := f.chunk(a.Hash)
	if err != nil || c.RefCount != 2 || !c.ZeroSince.IsZero() {
		t.Fatalf("revived chunk: %+v, %v", c, err)
	}
	if res := applyAt(t, f, 4, collectCmd(t0.Add(time.Hour), 10)); len(res.Collected) != 0 {
		t.Fatalf("collected a live chunk: %+v", res)
	}
	if err := f.verify(); err != nil {
		t.Fatal(err)
	}
}

// TestFSMRejectionsWriteNothing checks each rejection: the result carries
// the right sentinel and the state, applied index aside, is unchanged.
func TestFSMRejectionsWriteNothing(t *testing.T) {
	a := testChunk("a", 10)
	f1 := testFile(a)
	other := testFile(testChunk("z", 3))
	badSum := testFile(a)
	badSum.Size = 11
	conflict := testFile(ChunkRef{Hash: a.Hash, Size: 11})

	cases := []struct {
		name string
		cmd  *command
		want error
	}{
		{name: "id taken", cmd: createCmd(testRef("r1", other, "T", ""), other, t0),
			want: ErrExists},
		{name: "deleted id taken", cmd: createCmd(testRef("gone", other, "T", ""), other, t0),
			want: ErrExists},
		{name: "file hash differs", cmd: createCmd(testRef("n", f1, "T", ""), other, t0),
			want: ErrInvalid},
		{name: "manifest does not sum", cmd: createCmd(testRef("n", badSum, "T", ""), badSum, t0),
			want: ErrInvalid},
		{name: "chunk size conflicts",
			cmd: createCmd(testRef("n", conflict, "T", ""), conflict, t0), want: ErrInvalid},
		{name: "attach unknown file", cmd: attachCmd(testRef("n", other, "T", ""), t0),
			want: ErrNotFound},
		{name: "attach taken id", cmd: attachCmd(testRef("r1", f1, "T", ""), t0), want: ErrExists},
		{name: "delete unknown", cmd: deleteCmd("nope", t0), want: ErrNotFound},
		{name: "delete deleted", cmd: deleteCmd("gone", t0), want: ErrNotFound},
		{name: "undecodable", cmd: &command{Kind: "bogus"}, want: ErrInvalid},
	}
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			f := newTestFSM(t)
			applyAt(t, f, 1, createCmd(testRef("r1", f1, "T", ""), f1, t0))
			applyAt(t, f, 2, createCmd(testRef("gone", f1, "T", ""), f1, t0))
			applyAt(t, f, 3, deleteCmd("gone", t0))
			// A barrier moves the applied index exactly as the rejected
			// command will, so the dumps can be compared whole.
			ref := newTestFSM(t)
			for i, c := range []*command{
				createCmd(testRef("r1", f1, "T", ""), f1, t0),
				createCmd(testRef("gone", f1, "T", ""), f1, t0),
				deleteCmd("gone", t0), {Kind: kindBarrier},
			} {
				applyAt(t, ref, uint64(i+1), c)
			}

			res := applyAt(t, f, 4, tc.cmd)
			if err := res.err(); !errors.Is(err, tc.want) {
				t.Fatalf("got %v, want %v", err, tc.want)
			}
			requireSameState(t, "after rejection", ref, f)
		})
	}
}

func TestFSMSkipsReplayedEntries(t *testing.T) {
	path := filepath.Join(t.TempDir(), "fsm.db")
	f, err := openStateMachine(path, testLogger(t))
	if err != nil {
		t.Fatal(err)
	}
	f1 := testFile(testChunk("a", 10))
	applyAt(t, f, 1, createCmd(testRef("r1", f1, "T", ""), f1, t0))
	applyAt(t, f, 2, createCmd(testRef("r2", f1, "T", ""), f1, t0))
	if err := f.Close(); err != nil {
		t.Fatal(err)
	}

	f, err = openStateMachine(path, testLogger(t))
	if err != nil {
		t.Fatal(err)
	}
	defer f.Close()
	if got := f.AppliedIndex(); got != 2 {
		t.Fatalf("applied index after reopen: got %d, want 2", got)
	}
	// Raft replays entries 1..3; only 3 is new.
	logs := []*raft.Log{
		commandLog(t, 1, createCmd(testRef("r1", f1, "T", ""), f1, t0)),
		commandLog(t, 2, createCmd(testRef("r2", f1, "T", ""), f1, t0)),
		commandLog(t, 3, createCmd(testRef("r3", f1, "T", ""), f1, t0)),
	}
	out := f.ApplyBatch(logs)
	if out[0] != nil || out[1] != nil {
		t.Fatalf("replayed entries were applied again: %v %v", out[0], out[1])
	}
	if res := out[2].(*result); res.err() != nil || res.File.RefCount != 3 {
		t.Fatalf("new entry: %+v", res)
	}
	if err := f.verify(); err != nil {
		t.Fatal(err)
	}
}

func TestFSMListEntityPaging(t *testing.T) {
	f := newTestFSM(t)
	f1 := testFile(testChunk("a", 10))
	var idx uint64
	for i := range 7 {
		idx++
		applyAt(t, f, idx, createCmd(testRef(string(rune('a'+i)), f1, "T-1", ""), f1, t0))
	}
	// Another entity whose id extends T-1 must not leak into its listing.
	idx++
	applyAt(t, f, idx, createCmd(testRef("x", f1, "T-10", ""), f1, t0))
	idx++
	applyAt(t, f, idx, deleteCmd("c", t0))

	var got []RefID
	cursor := ""
	for pages := 0; ; pages++ {
		refs, next, err := f.listEntity("ticket", "T-1", cursor, 2)
		if err != nil {
			t.Fatal(err)
		}
		for _, r := range refs {
			got = append(got, r.ID)
		}
		if next == "" {
			break
		}
		if pages > 10 {
			t.Fatal("paging does not end")
		}
		cursor = next
	}
	want := []RefID{"a", "b", "d", "e", "f", "g"}
	if len(got) != len(want) {
		t.Fatalf("listed %v, want %v", got, want)
	}
	for i := range want {
		if got[i] != want[i] {
			t.Fatalf("listed %v, want %v", got, want)
		}
	}
	if _, _, err := f.listEntity("ticket", "T-1", "zzz", 2); !errors.Is(err, ErrInvalid) {
		t.Fatalf("bad cursor: err %v, want ErrInvalid", err)
	}
}

func TestFSMStorageFailureStops(t *testing.T) {
	f := newTestFSM(t)
	f1 := testFile(testChunk("a", 10))
	applyAt(t, f, 1, createCmd(testRef("r1", f1, "T", ""), f1, t0))

	// Close the database under the FSM: the next write cannot commit.
	if err := f.db.Close(); err != nil {
		t.Fatal(err)
	}
	res := applyAt(t, f, 2, createCmd(testRef("r2", f1, "T", ""), f1, t0))
	if !errors.Is(res.err(), ErrStorage) {
		t.Fatalf("apply on closed db: got %v, want ErrStorage", res.err())
	}
	if f.AppliedIndex() != 1 {
		t.Fatalf("applied index moved past a failed entry: %d", f.AppliedIndex())
	}
	if _, err := f.Snapshot(); !errors.Is(err, ErrStorage) {
		t.Fatalf("snapshot of a stopped fsm: got %v, want ErrStorage", err)
	}
	if err := f.Failed(); !errors.Is(err, ErrStorage) {
		t.Fatalf("Failed: %v", err)
	}
}
