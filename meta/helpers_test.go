package meta

import (
	"bytes"
	"flag"
	"fmt"
	"math/rand/v2"
	"os"
	"path/filepath"
	"sort"
	"strconv"
	"testing"
	"time"

	"github.com/hashicorp/raft"
	bolt "go.etcd.io/bbolt"

	"github.com/helixtrack/attachments/chunk"
)

// seedFlag replays a randomised test; META_SEED does the same from the
// environment.
var seedFlag = flag.Uint64("meta.seed", 0, "seed for randomised meta tests (0: random)")

// testSeed returns the seed of a randomised test and logs how to replay it.
func testSeed(t testing.TB) uint64 {
	t.Helper()
	seed := *seedFlag
	if s := os.Getenv("META_SEED"); seed == 0 && s != "" {
		v, err := strconv.ParseUint(s, 10, 64)
		if err != nil {
			t.Fatalf("parse META_SEED %q: %v", s, err)
		}
		seed = v
	}
	if seed == 0 {
		seed = rand.Uint64()
	}
	t.Logf("seed %d (replay with -meta.seed=%d or META_SEED=%d)", seed, seed, seed)
	return seed
}

var t0 = time.Date(2025, 3, 1, 12, 0, 0, 0, time.UTC)

// newTestFSM opens a state machine on a temp dir and closes it at cleanup.
func newTestFSM(t testing.TB) *stateMachine {
	t.Helper()
	f, err := openStateMachine(filepath.Join(t.TempDir(), "fsm.db"), testLogger(t))
	if err != nil {
		t.Fatalf("open fsm: %v", err)
	}
	t.Cleanup(func() { _ = f.Close() })
	return f
}

// commandLog encodes c as the log entry at idx.
func commandLog(t testing.TB, idx uint64, c *command) *raft.Log {
	t.Helper()
	b, err := encodeCommand(c)
	if err != nil {
		t.Fatalf("encode: %v", err)
	}
	return &raft.Log{Index: idx, Term: 1, Type: raft.LogCommand, Data: b}
}

// applyAt applies c as entry idx and returns the FSM's result.
func applyAt(t testing.TB, f *stateMachine, idx uint64, c *command) *result {
	t.Helper()
	res, ok := f.Apply(commandLog(t, idx, c)).(*result)
	if !ok {
		t.Fatalf("apply %d: response is not a result", idx)
	}
	return res
}

// testChunk is a chunk whose hash is derived from name.
func testChunk(name string, size uint32) ChunkRef {
	return ChunkRef{Hash: chunk.Sum([]byte("chunk:" + name)), Size: size}
}

// testFile builds a file from a manifest; its hash is derived from the
// chunk hashes, which stands in for hashing the content.
func testFile(refs ...ChunkRef) File {
	var all []byte
	var size int64
	for _, r := range refs {
		all = append(all, r.Hash[:]...)
		size += int64(r.Size)
	}
	return File{Hash: chunk.Sum(all), Size: size, MIME: "application/octet-stream", Chunks: refs}
}

func testRef(id string, f File, entity, owner string) Reference {
	return Reference{
		ID: RefID(id), FileHash: f.Hash, EntityType: "ticket", EntityID: entity,
		Filename: id + ".bin", Owner: owner,
	}
}

func createCmd(ref Reference, f File, now time.Time) *command {
	return &command{Kind: kindCreate, Now: now, Ref: &ref, File: &f}
}

func attachCmd(ref Reference, now time.Time) *command {
	return &command{Kind: kindAttach, Now: now, Ref: &ref}
}

func deleteCmd(id string, now time.Time) *command {
	return &command{Kind: kindDelete, Now: now, ID: RefID(id)}
}

func collectCmd(olderThan time.Time, limit int) *command {
	return &command{Kind: kindCollect, Now: olderThan, OlderThan: olderThan, Limit: limit}
}

// dumpState renders every bucket of the FSM in key order: the canonical
// form two replicas must agree on byte for byte.
func dumpState(t testing.TB, f *stateMachine) []byte {
	t.Helper()
	var buf bytes.Buffer
	f.dbMu.RLock()
	defer f.dbMu.RUnlock()
	err := f.db.View(func(tx *bolt.Tx) error {
		var names []string
		err := tx.ForEach(func(name []byte, _ *bolt.Bucket) error {
			names = append(names, string(name))
			return nil
		})
		if err != nil {
			return err
		}
		sort.Strings(names)
		for _, n := range names {
			err := tx.Bucket([]byte(n)).ForEach(func(k, v []byte) error {
				_, err := fmt.Fprintf(&buf, "%s %x %s\n", n, k, v)
				return err
			})
			if err != nil {
				return err
			}
		}
		return nil
	})
	if err != nil {
		t.Fatalf("dump state: %v", err)
	}
	return buf.Bytes()
}

// firstDiff returns the first line where two dumps differ.
func firstDiff(a, b []byte) string {
	la, lb := bytes.Split(a, []byte("\n")), bytes.Split(b, []byte("\n"))
	for i := 0; i < len(la) && i < len(lb); i++ {
		if !bytes.Equal(la[i], lb[i]) {
			return fmt.Sprintf("line %d:\n  %s\n  %s", i, la[i], lb[i])
		}
	}
	return fmt.Sprintf("lengths %d and %d lines", len(la), len(lb))
}

// requireSameState fails unless two FSMs hold byte-equal state.
func requireSameState(t testing.TB, what string, a, b *stateMachine) {
	t.Helper()
	da, db := dumpState(t, a), dumpState(t, b)
	if !bytes.Equal(da, db) {
		t.Fatalf("%s: states differ at %s", what, firstDiff(da, db))
	}
}
