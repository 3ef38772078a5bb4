package meta

import (
	"context"
	"errors"
	"net"
	"os"
	"path/filepath"
	"strconv"
	"strings"
	"testing"
	"time"

	bolt "go.etcd.io/bbolt"
)

// TestOpenRejectsIncompleteConfig: a config missing its directory, node
// id or Raft address fails with ErrInvalid before anything is created.
func TestOpenRejectsIncompleteConfig(t *testing.T) {
	dir := filepath.Join(t.TempDir(), "store")
	cases := map[string]Config{
		"no dir":       {NodeID: "n1", RaftBind: "127.0.0.1:0"},
		"no node id":   {Dir: dir, RaftBind: "127.0.0.1:0"},
		"no raft bind": {Dir: dir, NodeID: "n1"},
	}
	for name, cfg := range cases {
		s, err := Open(cfg)
		if !errors.Is(err, ErrInvalid) {
			if s != nil {
				_ = s.Close()
			}
			t.Errorf("%s: got %v, want ErrInvalid", name, err)
		}
	}
	if _, err := os.Stat(dir); !errors.Is(err, os.ErrNotExist) {
		t.Fatalf("a refused config created the directory: %v", err)
	}
}

// TestOpenAdvertisesAddress opens through the public Open, with no
// logger, a separate advertise address and snapshot settings: the
// configuration names the advertised address, and Raft snapshots on its
// own once the threshold of new entries is passed.
func TestOpenAdvertisesAddress(t *testing.T) {
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	port := strconv.Itoa(ln.Addr().(*net.TCPAddr).Port)
	ln.Close()
	adv := net.JoinHostPort("127.0.0.2", port)

	dir := t.TempDir()
	s, err := Open(Config{
		Dir:               dir,
		NodeID:            "n1",
		RaftBind:          net.JoinHostPort("127.0.0.1", port),
		RaftAdvertise:     adv,
		Bootstrap:         true,
		SnapshotThreshold: 4,
		SnapshotInterval:  50 * time.Millisecond,
	})
	if err != nil {
		t.Fatal(err)
	}
	defer s.Close()
	if err := s.WaitLeader(testCtx(t)); err != nil {
		t.Fatal(err)
	}
	ms, err := s.Members(testCtx(t))
	if err != nil || len(ms) != 1 || ms[0].Address != adv || !ms[0].Voter || !ms[0].Leader {
		t.Fatalf("members: %+v, %v; want n1 leading at %s", ms, err, adv)
	}

	f := testFile(testChunk("a", 1))
	for i := range 8 {
		mustCreate(t, s, testRef("r"+strconv.Itoa(i), f, "T", ""), f)
	}
	tick := time.NewTicker(20 * time.Millisecond)
	defer tick.Stop()
	ctx := testCtx(t)
	for {
		if snaps, _ := os.ReadDir(filepath.Join(dir, "snapshots")); len(snaps) > 0 {
			break
		}
		select {
		case <-tick.C:
		case <-ctx.Done():
			t.Fatal("no snapshot taken past the configured threshold")
		}
	}
}

// TestOpenFailureReleasesFiles makes Open fail after it opened fsm.db and
// raft.db (the Raft port is taken, then the advertise address does not
// resolve). Each failure must close what it opened: both files can be
// locked again at once, and the directory opens as a store.
func TestOpenFailureReleasesFiles(t *testing.T) {
	dir := t.TempDir()
	busy, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	defer busy.Close()

	_, err = Open(Config{Dir: dir, NodeID: "n1", RaftBind: busy.Addr().String(), Bootstrap: true})
	if err == nil {
		t.Fatal("open on a port in use succeeded")
	}
	_, err = Open(Config{Dir: dir, NodeID: "n1", RaftBind: "127.0.0.1:0",
		RaftAdvertise: "no-port-here", Bootstrap: true})
	if err == nil {
		t.Fatal("open with an advertise address without a port succeeded")
	}

	// bbolt takes an exclusive flock; a handle left open holds it.
	for _, name := range []string{"fsm.db", "raft.db"} {
		db, err := bolt.Open(filepath.Join(dir, name), 0o600,
			&bolt.Options{Timeout: 100 * time.Millisecond})
		if err != nil {
			t.Fatalf("%s still locked after a failed Open: %v", name, err)
		}
		if err := db.Close(); err != nil {
			t.Fatal(err)
		}
	}
	s := openSingle(t, dir, "127.0.0.1:0", fastRaft)
	defer s.Close()
}

// TestOpenRefusesForeignFSMFile: an fsm.db that is not a bbolt file, or
// one written by another schema version, stops Open instead of being
// misread or overwritten.
func TestOpenRefusesForeignFSMFile(t *testing.T) {
	garbage := t.TempDir()
	err := os.WriteFile(filepath.Join(garbage, "fsm.db"), []byte("not a database"), 0o600)
	if err != nil {
		t.Fatal(err)
	}
	if _, err := Open(Config{Dir: garbage, NodeID: "n1", RaftBind: "127.0.0.1:0"}); err == nil {
		t.Fatal("open over a garbage fsm.db succeeded")
	}

	future := t.TempDir()
	f, err := openStateMachine(filepath.Join(future, "fsm.db"), testLogger(t))
	if err != nil {
		t.Fatal(err)
	}
	if err := f.db.Update(func(tx *bolt.Tx) error {
		return tx.Bucket(bucketState).Put(keySchema, u64(schemaVersion+1))
	}); err != nil {
		t.Fatal(err)
	}
	if err := f.Close(); err != nil {
		t.Fatal(err)
	}
	_, err = Open(Config{Dir: future, NodeID: "n1", RaftBind: "127.0.0.1:0"})
	if err == nil || !strings.Contains(err.Error(), "schema version 2") {
		t.Fatalf("open of a newer schema: got %v, want a schema version error", err)
	}
}

// TestHealthReportsWhy: a cancelled context and a store that knows no
// leader each make Health fail with the matching sentinel.
func TestHealthReportsWhy(t *testing.T) {
	s := openSingle(t, t.TempDir(), "127.0.0.1:0", fastRaft)
	defer s.Close()
	ctx, cancel := context.WithCancel(context.Background())
	cancel()
	if err := s.Health(ctx); !errors.Is(err, ErrTimeout) {
		t.Fatalf("health with a cancelled context: got %v, want ErrTimeout", err)
	}

	// Not bootstrapped and never added: no leader.
	lone, err := open(Config{Dir: t.TempDir(), NodeID: "n9", RaftBind: "127.0.0.1:0",
		Logger: testLogger(t)}, options{tune: fastRaft})
	if err != nil {
		t.Fatal(err)
	}
	defer lone.Close()
	if err := lone.Health(testCtx(t)); !errors.Is(err, ErrNotLeader) {
		t.Fatalf("health without a leader: got %v, want ErrNotLeader", err)
	}
	if _, ok := lone.LeaderNode(); ok {
		t.Fatal("LeaderNode reported a leader on a store that knows none")
	}
}
