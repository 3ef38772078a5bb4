package meta

import (
	"context"
	"errors"
	"os"
	"path/filepath"
	"reflect"
	"testing"
	"time"

	"github.com/hashicorp/raft"

	"github.com/helixtrack/attachments/placement"
)

// fastRaft shortens Raft's timeouts so tests elect leaders in a fraction
// of a second.
func fastRaft(c *raft.Config) {
	c.HeartbeatTimeout = 100 * time.Millisecond
	c.ElectionTimeout = 100 * time.Millisecond
	c.LeaderLeaseTimeout = 50 * time.Millisecond
	c.CommitTimeout = 5 * time.Millisecond
}

// clusterRaft is fastRaft for several voters: loose enough that a busy
// machine (2 cores running -race) does not lose leadership to a missed
// heartbeat mid-test, tight enough to elect in well under a second.
func clusterRaft(c *raft.Config) {
	c.HeartbeatTimeout = 400 * time.Millisecond
	c.ElectionTimeout = 400 * time.Millisecond
	c.LeaderLeaseTimeout = 200 * time.Millisecond
	c.CommitTimeout = 5 * time.Millisecond
}

func testCtx(t testing.TB) context.Context {
	t.Helper()
	ctx, cancel := context.WithTimeout(context.Background(), 30*time.Second)
	t.Cleanup(cancel)
	return ctx
}

// openSingle opens a bootstrapped one-node store over real TCP on
// loopback and waits until it leads.
func openSingle(t testing.TB, dir, bind string, tune func(*raft.Config)) *Store {
	t.Helper()
	s, err := open(Config{
		Dir:       dir,
		NodeID:    "n1",
		RaftBind:  bind,
		Bootstrap: true,
		Logger:    testLogger(t),
	}, options{tune: tune})
	if err != nil {
		t.Fatalf("open store: %v", err)
	}
	if err := s.WaitLeader(testCtx(t)); err != nil {
		_ = s.Close()
		t.Fatalf("wait leader: %v", err)
	}
	return s
}

func mustCreate(t testing.TB, s *Store, ref Reference, f File) CreateResult {
	t.Helper()
	res, err := s.CreateReference(testCtx(t), ref, f)
	if err != nil {
		t.Fatalf("create %s: %v", ref.ID, err)
	}
	return res
}

func TestStoreSingleNode(t *testing.T) {
	s := openSingle(t, t.TempDir(), "127.0.0.1:0", fastRaft)
	defer s.Close()
	a, b := testChunk("a", 100), testChunk("b", 60)
	f1 := testFile(a, b)

	createAndAttach(t, s, f1)
	listInPages(t, s)
	deleteAll(t, s, f1)
	collectAfterGrace(t, s, a)
	if err := s.Verify(testCtx(t)); err != nil {
		t.Fatal(err)
	}
	if err := s.Health(testCtx(t)); err != nil {
		t.Fatalf("health: %v", err)
	}
}

// createAndAttach makes r1 (new content), r2 (same content, deduplicated)
// and r3 (attached by hash), and checks the rejections on the way.
func createAndAttach(t *testing.T, s *Store, f1 File) {
	ctx := testCtx(t)
	res := mustCreate(t, s, testRef("r1", f1, "T-1", "alice"), f1)
	if res.Deduplicated || res.File.RefCount != 1 || res.Ref.Created.IsZero() {
		t.Fatalf("first create: %+v", res)
	}
	if res = mustCreate(t, s, testRef("r2", f1, "T-1", "bob"), f1); !res.Deduplicated {
		t.Fatalf("second upload of the same content not deduplicated: %+v", res)
	}
	_, err := s.CreateReference(ctx, testRef("r2", f1, "T-1", "bob"), f1)
	if !errors.Is(err, ErrExists) {
		t.Fatalf("reused id: got %v, want ErrExists", err)
	}
	bad := f1
	bad.Size++
	_, err = s.CreateReference(ctx, testRef("r9", bad, "T", ""), bad)
	if !errors.Is(err, ErrInvalid) {
		t.Fatalf("bad manifest: got %v, want ErrInvalid", err)
	}

	got, err := s.AttachReference(ctx, testRef("r3", f1, "T-1", "carol"))
	if err != nil || got.RefCount != 3 {
		t.Fatalf("attach: %+v, %v", got, err)
	}
	unknown := testFile(testChunk("nope", 1))
	_, err = s.AttachReference(ctx, testRef("r4", unknown, "T", ""))
	if !errors.Is(err, ErrNotFound) {
		t.Fatalf("attach unknown: got %v, want ErrNotFound", err)
	}
	requireOwns(t, s, "carol", f1, true)
	requireOwns(t, s, "mallory", f1, false)
}

// listInPages pages through r1..r3 two at a time.
func listInPages(t *testing.T, s *Store) {
	ctx := testCtx(t)
	page, next, err := s.ListEntity(ctx, "ticket", "T-1", "", 2)
	if err != nil || len(page) != 2 || next == "" || page[0].ID != "r1" {
		t.Fatalf("first page: %v %q %v", page, next, err)
	}
	page, next, err = s.ListEntity(ctx, "ticket", "T-1", next, 2)
	if err != nil || len(page) != 1 || next != "" || page[0].ID != "r3" {
		t.Fatalf("last page: %v %q %v", page, next, err)
	}
}

// deleteAll deletes r1..r3: the file goes, its chunks stay at zero.
func deleteAll(t *testing.T, s *Store, f1 File) {
	ctx := testCtx(t)
	for _, id := range []RefID{"r1", "r2", "r3"} {
		if _, err := s.DeleteReference(ctx, id); err != nil {
			t.Fatalf("delete %s: %v", id, err)
		}
	}
	if _, err := s.Reference(ctx, "r1"); !errors.Is(err, ErrNotFound) {
		t.Fatalf("deleted reference: got %v, want ErrNotFound", err)
	}
	if _, err := s.DeleteReference(ctx, "r1"); !errors.Is(err, ErrNotFound) {
		t.Fatalf("second delete: got %v, want ErrNotFound", err)
	}
	if _, err := s.File(ctx, f1.Hash); !errors.Is(err, ErrNotFound) {
		t.Fatalf("file without references: got %v, want ErrNotFound", err)
	}
	requireOwns(t, s, "carol", f1, false)
}

// collectAfterGrace checks that chunk a and its sibling are collected
// only once olderThan passes the time they reached zero.
func collectAfterGrace(t *testing.T, s *Store, a ChunkRef) {
	ctx := testCtx(t)
	c, err := s.Chunk(ctx, a.Hash)
	if err != nil || c.RefCount != 0 || c.ZeroSince.IsZero() {
		t.Fatalf("chunk after last delete: %+v, %v", c, err)
	}
	hashes, err := s.CollectChunks(ctx, c.ZeroSince, 10)
	if err != nil || len(hashes) != 0 {
		t.Fatalf("collect within grace: %v, %v", hashes, err)
	}
	hashes, err = s.CollectChunks(ctx, c.ZeroSince.Add(time.Hour), 10)
	if err != nil || len(hashes) != 2 {
		t.Fatalf("collect after grace: %v, %v", hashes, err)
	}
	if ok, err := s.ChunkExists(ctx, a.Hash); ok || err != nil {
		t.Fatalf("collected chunk exists: %v, %v", ok, err)
	}
	st, err := s.Stats(ctx)
	if err != nil || st != (Stats{AppliedIndex: st.AppliedIndex}) {
		t.Fatalf("stats at the end: %+v, %v", st, err)
	}
}

func requireOwns(t testing.TB, s *Store, owner string, f File, want bool) {
	t.Helper()
	got, err := s.OwnsFile(testCtx(t), owner, f.Hash)
	if err != nil || got != want {
		t.Fatalf("OwnsFile(%s): %v, %v; want %v", owner, got, err, want)
	}
}

// TestStoreRestart closes and reopens a store: once with only the log,
// once after a snapshot that compacted it, and once with fsm.db lost, so
// that the snapshot and the log tail must rebuild it.
func TestStoreRestart(t *testing.T) {
	dir := t.TempDir()
	compact := func(c *raft.Config) {
		fastRaft(c)
		c.TrailingLogs = 2 // a snapshot removes nearly the whole log
	}
	s := openSingle(t, dir, "127.0.0.1:0", compact)
	bind := string(s.trans.LocalAddr())
	f1 := testFile(testChunk("a", 10))
	f2 := testFile(testChunk("b", 20), testChunk("a", 10))
	mustCreate(t, s, testRef("r1", f1, "T", "o"), f1)
	mustCreate(t, s, testRef("r2", f2, "T", "o"), f2)
	layoutOK(t)(s.JoinNode(testCtx(t), testNode("n1"), true))

	reopen := func(what string) {
		t.Helper()
		want := dumpState(t, s.fsm)
		wantLayout := s.LocalLayout()
		applied := s.AppliedIndex()
		if err := s.Close(); err != nil {
			t.Fatal(err)
		}
		if what == "fsm lost" {
			if err := os.Remove(filepath.Join(dir, "fsm.db")); err != nil {
				t.Fatal(err)
			}
		}
		s = openSingle(t, dir, bind, compact)
		if s.AppliedIndex() < applied {
			t.Fatalf("%s: applied index %d after reopen, was %d", what, s.AppliedIndex(), applied)
		}
		// A new term adds a barrier entry; compare the records only.
		if got := dumpState(t, s.fsm); !sameRecords(got, want) {
			t.Fatalf("%s: state changed across restart: %s", what, firstDiff(got, want))
		}
		if err := s.Verify(testCtx(t)); err != nil {
			t.Fatalf("%s: %v", what, err)
		}
		if got := s.LocalLayout(); !reflect.DeepEqual(got, wantLayout) {
			t.Fatalf("%s: layout %+v after reopen, was %+v", what, got, wantLayout)
		}
	}

	reopen("log only")
	layoutOK(t)(s.SetReplicas(testCtx(t), 2))
	if _, err := s.DeleteReference(testCtx(t), "r1"); err != nil {
		t.Fatal(err)
	}
	if err := s.Snapshot(); err != nil {
		t.Fatalf("snapshot: %v", err)
	}
	mustCreate(t, s, testRef("r3", f1, "T", "o"), f1)
	reopen("after snapshot")
	if err := s.Snapshot(); err != nil {
		t.Fatalf("snapshot: %v", err)
	}
	mustCreate(t, s, testRef("r4", f2, "T", "p"), f2)
	// Only the log tail holds this change when fsm.db is lost.
	layoutOK(t)(s.SetNodeWeight(testCtx(t), "n1", 300))
	reopen("fsm lost")
	defer s.Close()

	refs, _, err := s.ListEntity(testCtx(t), "ticket", "T", "", 10)
	if err != nil || len(refs) != 3 {
		t.Fatalf("references after restarts: %v, %v", refs, err)
	}
	if l := s.LocalLayout(); l.Version != 3 || l.Replicas != 2 || l.Nodes[0].Weight != 300 {
		t.Fatalf("layout after restarts: %+v", l)
	}
}

// layoutOK returns a function that passes on the layout of a successful
// layout change and fails the test on an error.
func layoutOK(t testing.TB) func(placement.Layout, error) placement.Layout {
	return func(l placement.Layout, err error) placement.Layout {
		t.Helper()
		if err != nil {
			t.Fatalf("layout change: %v", err)
		}
		return l
	}
}

// TestStoreOnLayoutAtOpen checks that OnLayout hears of each change and,
// after a restart, of the stored layout without any new command.
func TestStoreOnLayoutAtOpen(t *testing.T) {
	dir := t.TempDir()
	openWith := func(rec *layoutRecorder, bind string) *Store {
		t.Helper()
		s, err := open(Config{
			Dir: dir, NodeID: "n1", RaftBind: bind, Bootstrap: true,
			Logger: testLogger(t), OnLayout: rec.record,
		}, options{tune: fastRaft})
		if err != nil {
			t.Fatal(err)
		}
		return s
	}

	rec := newLayoutRecorder()
	s := openWith(rec, "127.0.0.1:0")
	if err := s.WaitLeader(testCtx(t)); err != nil {
		t.Fatal(err)
	}
	want := layoutOK(t)(s.JoinNode(testCtx(t), testNode("n1"), false))
	want = layoutOK(t)(s.SetNodeState(testCtx(t), "n1", placement.Active))
	if got, versions := rec.waitVersion(t, 2); !reflect.DeepEqual(got, want) || versions[0] == 0 {
		t.Fatalf("OnLayout delivered %+v (versions %v), want %+v", got, versions, want)
	}
	bind := string(s.trans.LocalAddr())
	if err := s.Close(); err != nil {
		t.Fatal(err)
	}

	rec = newLayoutRecorder()
	s = openWith(rec, bind)
	defer s.Close()
	if got, _ := rec.waitVersion(t, 2); !reflect.DeepEqual(got, want) {
		t.Fatalf("OnLayout at open delivered %+v, want %+v", got, want)
	}
}

// sameRecords compares two dumps, ignoring the applied index.
func sameRecords(a, b []byte) bool {
	strip := func(d []byte) string {
		var out []byte
		for _, line := range splitLines(d) {
			if len(line) > 0 && !isAppliedLine(line) {
				out = append(out, line...)
				out = append(out, '\n')
			}
		}
		return string(out)
	}
	return strip(a) == strip(b)
}

func splitLines(d []byte) [][]byte {
	var lines [][]byte
	start := 0
	for i, c := range d {
		if c == '\n' {
			lines = append(lines, d[start:i])
			start = i + 1
		}
	}
	return append(lines, d[start:])
}

// isAppliedLine matches the dump line of the applied index.
func isAppliedLine(line []byte) bool {
	const prefix = "state 6170706c696564 " // hex of "applied"
	return len(line) >= len(prefix) && string(line[:len(prefix)]) == prefix
}

func TestStoreClosed(t *testing.T) {
	s := openSingle(t, t.TempDir(), "127.0.0.1:0", fastRaft)
	if err := s.Close(); err != nil {
		t.Fatal(err)
	}
	if err := s.Close(); err != nil {
		t.Fatalf("second close: %v", err)
	}
	f1 := testFile(testChunk("a", 10))
	_, err := s.CreateReference(testCtx(t), testRef("r", f1, "T", ""), f1)
	if !errors.Is(err, ErrClosed) {
		t.Fatalf("create after close: got %v, want ErrClosed", err)
	}
	if _, err := s.Reference(testCtx(t), "r"); !errors.Is(err, ErrClosed) {
		t.Fatalf("read after close: got %v, want ErrClosed", err)
	}
}

func TestStoreContextDeadline(t *testing.T) {
	s := openSingle(t, t.TempDir(), "127.0.0.1:0", fastRaft)
	defer s.Close()
	ctx, cancel := context.WithCancel(context.Background())
	cancel()
	f1 := testFile(testChunk("a", 10))
	_, err := s.CreateReference(ctx, testRef("r", f1, "T", ""), f1)
	if !errors.Is(err, ErrTimeout) {
		t.Fatalf("create with cancelled context: got %v, want ErrTimeout", err)
	}
	if err := s.WaitApplied(ctx, s.AppliedIndex()+1000); !errors.Is(err, ErrTimeout) {
		t.Fatalf("wait for a far index: got %v, want ErrTimeout", err)
	}
}
