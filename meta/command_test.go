package meta

import (
	"bytes"
	"errors"
	"strings"
	"testing"
	"time"

	"github.com/helixtrack/attachments/placement"
)

func TestCommandValidate(t *testing.T) {
	a := testChunk("a", 10)
	f1 := testFile(a)
	ref := testRef("r1", f1, "T-1", "alice")
	withRef := func(mut func(r *Reference)) Reference {
		r := ref
		mut(&r)
		return r
	}
	withNode := func(mut func(n *placement.Node)) placement.Node {
		n := testNode("n1")
		mut(&n)
		return n
	}
	withFile := func(mut func(f *File)) File {
		f := f1
		f.Chunks = append([]ChunkRef(nil), f1.Chunks...)
		mut(&f)
		return f
	}

	cases := []struct {
		name  string
		cmd   *command
		valid bool
	}{
		{name: "create", cmd: createCmd(ref, f1, t0), valid: true},
		{name: "create empty file", cmd: createCmd(testRef("e", testFile(), "T", ""),
			testFile(), t0), valid: true},
		{name: "create without time", cmd: createCmd(ref, f1, time.Time{})},
		{name: "create without file", cmd: &command{Kind: kindCreate, Now: t0, Ref: &ref}},
		{name: "create without id", cmd: createCmd(
			withRef(func(r *Reference) { r.ID = "" }), f1, t0)},
		{name: "create without entity", cmd: createCmd(
			withRef(func(r *Reference) { r.EntityID = "" }), f1, t0)},
		{name: "create marked deleted", cmd: createCmd(
			withRef(func(r *Reference) { r.Deleted = true }), f1, t0)},
		{name: "create long owner", cmd: createCmd(
			withRef(func(r *Reference) { r.Owner = strings.Repeat("o", maxIDLen+1) }), f1, t0)},
		{name: "create bad utf-8", cmd: createCmd(
			withRef(func(r *Reference) { r.Filename = "\xff" }), f1, t0)},
		{name: "create hash mismatch", cmd: createCmd(ref, testFile(testChunk("b", 1)), t0)},
		{name: "create size mismatch", cmd: createCmd(ref,
			withFile(func(f *File) { f.Size++ }), t0)},
		{name: "create zero-size chunk", cmd: createCmd(ref,
			withFile(func(f *File) { f.Chunks[0].Size = 0; f.Size = 0 }), t0)},
		{name: "create ref count set", cmd: createCmd(ref,
			withFile(func(f *File) { f.RefCount = 3 }), t0)},
		{name: "create one hash two sizes", cmd: func() *command {
			g := testFile(a, ChunkRef{Hash: a.Hash, Size: 11})
			return createCmd(testRef("r", g, "T", ""), g, t0)
		}()},
		{name: "create with id field", cmd: func() *command {
			c := createCmd(ref, f1, t0)
			c.ID = "x"
			return c
		}()},
		{name: "attach", cmd: attachCmd(ref, t0), valid: true},
		{name: "attach with file", cmd: &command{Kind: kindAttach, Now: t0, Ref: &ref, File: &f1}},
		{name: "delete", cmd: deleteCmd("r1", t0), valid: true},
		{name: "delete without id", cmd: deleteCmd("", t0)},
		{name: "delete with ref", cmd: &command{Kind: kindDelete, Now: t0, ID: "r", Ref: &ref}},
		{name: "collect", cmd: collectCmd(t0, 10), valid: true},
		{name: "collect zero limit", cmd: collectCmd(t0, 0)},
		{name: "collect huge limit", cmd: collectCmd(t0, maxCollectLimit+1)},
		{name: "collect without time", cmd: collectCmd(time.Time{}, 10)},
		{name: "barrier", cmd: &command{Kind: kindBarrier}, valid: true},
		{name: "join", cmd: joinCmd(testNode("n1"), true), valid: true},
		{name: "join without node", cmd: &command{Kind: kindJoinNode}},
		{name: "join without id", cmd: joinCmd(withNode(func(n *placement.Node) {
			n.ID = ""
		}), true)},
		{name: "join without api address", cmd: joinCmd(withNode(func(n *placement.Node) {
			n.APIAddr = ""
		}), true)},
		{name: "join without raft address", cmd: joinCmd(withNode(func(n *placement.Node) {
			n.RaftAddr = ""
		}), true)},
		{name: "join with state", cmd: joinCmd(withNode(func(n *placement.Node) {
			n.State = placement.Active
		}), true)},
		{name: "join negative weight", cmd: joinCmd(withNode(func(n *placement.Node) {
			n.Weight = -1
		}), true)},
		{name: "join long id", cmd: joinCmd(withNode(func(n *placement.Node) {
			n.ID = NodeID(strings.Repeat("n", maxNodeIDLen+1))
		}), true)},
		{name: "join with node id field", cmd: func() *command {
			c := joinCmd(testNode("n1"), true)
			c.NodeID = "n1"
			return c
		}()},
		{name: "set state", cmd: stateCmd("n1", placement.Draining), valid: true},
		{name: "set unknown state", cmd: stateCmd("n1", "lost")},
		{name: "set state without id", cmd: stateCmd("", placement.Out)},
		{name: "set state with weight", cmd: func() *command {
			c := stateCmd("n1", placement.Out)
			c.Weight = 3
			return c
		}()},
		{name: "set weight", cmd: weightCmd("n1", maxNodeWeight), valid: true},
		{name: "set weight default", cmd: weightCmd("n1", 0), valid: true},
		{name: "set weight too high", cmd: weightCmd("n1", maxNodeWeight+1)},
		{name: "set replicas", cmd: replicasCmd(3), valid: true},
		{name: "set replicas too many", cmd: replicasCmd(maxReplicas + 1)},
		{name: "set replicas with id", cmd: func() *command {
			c := replicasCmd(3)
			c.NodeID = "n1"
			return c
		}()},
		{name: "remove node", cmd: removeCmd("n1"), valid: true},
		{name: "remove node bad utf-8", cmd: removeCmd("\xff")},
		{name: "remove node with state", cmd: func() *command {
			c := removeCmd("n1")
			c.State = placement.Out
			return c
		}()},
		{name: "barrier with id", cmd: &command{Kind: kindBarrier, ID: "x"}},
		{name: "unknown kind", cmd: &command{Kind: "drop_table"}},
	}
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			err := tc.cmd.validate()
			if tc.valid && err != nil {
				t.Fatalf("got %v, want valid", err)
			}
			if !tc.valid && !errors.Is(err, ErrInvalid) {
				t.Fatalf("got %v, want ErrInvalid", err)
			}
		})
	}
}

func TestCommandRoundTrip(t *testing.T) {
	f1 := testFile(testChunk("a", 10), testChunk("b", 5))
	for _, c := range []*command{
		createCmd(testRef("r1", f1, "T", "o"), f1, t0),
		attachCmd(testRef("r2", f1, "T", "o"), t0),
		deleteCmd("r1", t0),
		collectCmd(t0, 3),
		{Kind: kindBarrier},
		joinCmd(testNode("n1"), true),
		stateCmd("n1", placement.Draining),
		weightCmd("n1", 250),
		replicasCmd(2),
		removeCmd("n1"),
	} {
		b, err := encodeCommand(c)
		if err != nil {
			t.Fatal(err)
		}
		got, err := decodeCommand(b)
		if err != nil {
			t.Fatalf("decode %s: %v", b, err)
		}
		again, _ := encodeCommand(got)
		if !bytes.Equal(b, again) {
			t.Fatalf("round trip changed the command:\n%s\n%s", b, again)
		}
	}
}

// decodeSeeds are the fuzz corpus seeds: every valid kind plus near
// misses.
func decodeSeeds(t testing.TB) [][]byte {
	f1 := testFile(testChunk("a", 10))
	var seeds [][]byte
	for _, c := range []*command{
		createCmd(testRef("r1", f1, "T", "o"), f1, t0),
		attachCmd(testRef("r2", f1, "T", "o"), t0),
		deleteCmd("r1", t0),
		collectCmd(t0, 3),
		{Kind: kindBarrier},
		joinCmd(testNode("n1"), true),
		stateCmd("n1", placement.Draining),
		weightCmd("n1", 250),
		replicasCmd(2),
		removeCmd("n1"),
	} {
		b, err := encodeCommand(c)
		if err != nil {
			t.Fatal(err)
		}
		seeds = append(seeds, b)
	}
	return append(seeds,
		[]byte(`{"kind":"barrier"} {}`),
		[]byte(`{"kind":"delete_reference","id":"x","now":"2025-01-01T00:00:00Z","x":1}`),
		[]byte(`{"kind":"collect_chunks","older_than":"not a time","limit":1}`),
		[]byte(`{"kind":"join_node","node":{"id":"n","api_addr":"a","raft_addr":"r",`+
			`"state":"active"}}`),
		[]byte(`{"kind":"set_node_state","node_id":"n","state":"sideways"}`),
		[]byte(`{"kind":"set_replicas","replicas":-1}`),
		[]byte(`[]`), []byte(``), []byte(`null`))
}

// FuzzDecodeCommand checks that any bytes either decode to a command that
// validates and survives a round trip, or fail with ErrInvalid.
func FuzzDecodeCommand(f *testing.F) {
	for _, s := range decodeSeeds(f) {
		f.Add(s)
	}
	f.Fuzz(func(t *testing.T, b []byte) {
		c, err := decodeCommand(b)
		if err != nil {
			if !errors.Is(err, ErrInvalid) {
				t.Fatalf("decode error does not wrap ErrInvalid: %v", err)
			}
			return
		}
		if err := c.validate(); err != nil {
			t.Fatalf("decoded command does not validate: %v", err)
		}
		again, err := encodeCommand(c)
		if err != nil {
			t.Fatalf("re-encode: %v", err)
		}
		if _, err := decodeCommand(again); err != nil {
			t.Fatalf("re-encoded command does not decode: %v\n%s", err, again)
		}
	})
}

func FuzzParseCursor(f *testing.F) {
	for _, s := range []string{"", encodeCursor(0), encodeCursor(1), encodeCursor(1 << 63),
		"c", "x1", "c-1", "czzzzzzzzzzzzzzz"} {
		f.Add(s)
	}
	f.Fuzz(func(t *testing.T, s string) {
		seq, err := parseCursor(s)
		if err != nil {
			if !errors.Is(err, ErrInvalid) {
				t.Fatalf("parse %q: error does not wrap ErrInvalid: %v", s, err)
			}
			return
		}
		if s == "" {
			return
		}
		if got, err := parseCursor(encodeCursor(seq)); err != nil || got != seq {
			t.Fatalf("cursor %q -> %d does not round trip: %d, %v", s, seq, got, err)
		}
	})
}

func FuzzDecodeResult(f *testing.F) {
	f.Add([]byte(`{}`))
	f.Add([]byte(`{"code":"not_found","message":"reference x"}`))
	f.Add([]byte(`{"code":"boom"}`))
	f.Add([]byte(`{"collected":["00"]}`))
	f.Add([]byte(`{"layout":{"version":2,"replicas":3,"nodes":[{"id":"a","state":"out"}]}}`))
	f.Fuzz(func(t *testing.T, b []byte) {
		r, err := decodeResult(b)
		if err != nil {
			if !errors.Is(err, ErrInvalid) {
				t.Fatalf("decode error does not wrap ErrInvalid: %v", err)
			}
			return
		}
		if err := r.err(); err != nil && r.Code == codeOK {
			t.Fatalf("ok result gives error %v", err)
		}
	})
}
