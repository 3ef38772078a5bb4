package node_test

import (
	"bytes"
	"context"
	"errors"
	"io"
	"net/http"
	"os"
	"testing"

	"github.com/helixtrack/attachments/api"
	"github.com/helixtrack/attachments/chunk"
	"github.com/helixtrack/attachments/meta"
)

// corruptChunk flips one byte of h's data in its pack file on tn's disk,
// as a failing disk would.
func corruptChunk(t *testing.T, tn *testNode, h chunk.Hash) {
	t.Helper()
	path, off, ok := tn.n.Chunks().Locate(h)
	if !ok {
		t.Fatalf("node %s does not hold %s", tn.n.NodeID(), h)
	}
	f, err := os.OpenFile(path, os.O_RDWR, 0)
	if err != nil {
		t.Fatal(err)
	}
	defer f.Close()
	b := make([]byte, 1)
	if _, err := f.ReadAt(b, off+17); err != nil {
		t.Fatal(err)
	}
	b[0] ^= 0x5a
	if _, err := f.WriteAt(b, off+17); err != nil {
		t.Fatal(err)
	}
}

// localOK reports whether tn's own store returns h's bytes verified.
func localOK(tn *testNode, h chunk.Hash) bool {
	_, err := tn.n.Chunks().Get(context.Background(), h, nil)
	return err == nil
}

// readAll opens reference id through tn's backend and reads all of it.
func readAll(t *testing.T, tn *testNode, id string) ([]byte, error) {
	t.Helper()
	ctx := context.Background()
	item, err := tn.n.Reference(ctx, meta.RefID(id))
	if err != nil {
		t.Fatal(err)
	}
	rc, err := tn.n.Open(ctx, item.File, 0, item.File.Size)
	if err != nil {
		t.Fatal(err)
	}
	defer rc.Close()
	return io.ReadAll(rc)
}

// TestReadRepairsBadLocalCopy damages and removes local copies of a
// chunk that both nodes of a two-node cluster own. A read through the damaged node still
// returns the right bytes from a peer, counts the corruption, replaces the
// bad copy, and later reads are local again. A peer asked for a damaged
// copy refuses to send it. With no good copy anywhere, the read fails
// rather than return wrong bytes.
func TestReadRepairsBadLocalCopy(t *testing.T) {
	tc := startCluster(t, 2, nil)
	n0, n1 := tc.nodes[0], tc.nodes[1]
	tok := n0.token("alice", "read", "write")
	data := randomBytes(40, 50_000) // one chunk
	f := n0.upload(tok, "ticket", "T-1", "one", data)
	h, err := chunk.ParseHash(f.FileHash)
	if err != nil {
		t.Fatal(err)
	}
	waitFor(t, func() bool {
		return localOK(n0, h) && localOK(n1, h)
	}, "both owners hold the chunk")

	// A damaged local copy: read elsewhere, then repaired.
	corruptChunk(t, n1, h)
	if localOK(n1, h) {
		t.Fatal("the flipped byte went unnoticed by the chunk store")
	}
	if got := n1.download(tok, f.ID); !bytes.Equal(got, data) {
		t.Fatal("read through the node with a damaged copy returned wrong bytes")
	}
	if !localOK(n1, h) {
		t.Fatal("damaged local copy not repaired by the read")
	}
	if c, r := metricValue(t, n1, "attachments_chunk_corrupt_total"),
		metricValue(t, n1, "attachments_chunk_repairs_total"); c != 1 || r != 1 {
		t.Fatalf("after one repair: corrupt %v, repairs %v; want 1 and 1", c, r)
	}
	n1.download(tok, f.ID)
	if r := metricValue(t, n1, "attachments_chunk_repairs_total"); r != 1 {
		t.Fatalf("a read after the repair repaired again (repairs %v): not local", r)
	}

	// A missing local copy on an owner is filled in.
	if err := n0.n.Chunks().Delete(h); err != nil {
		t.Fatal(err)
	}
	if got := n0.download(tok, f.ID); !bytes.Equal(got, data) {
		t.Fatal("read through the node missing its copy returned wrong bytes")
	}
	if !localOK(n0, h) || metricValue(t, n0, "attachments_chunk_repairs_total") != 1 {
		t.Fatal("missing local copy not filled in by the read")
	}

	// A peer never sends a copy that fails verification.
	corruptChunk(t, n1, h)
	admin := n1.token("node/peer", "admin")
	code, _ := n1.internalCall("GET", "/internal/chunks/"+h.String(), admin, nil, nil)
	if code != http.StatusInternalServerError {
		t.Fatalf("peer get of a damaged copy: %d, want 500", code)
	}
	if c := metricValue(t, n1, "attachments_chunk_corrupt_total"); c != 2 {
		t.Fatalf("damaged copy asked for by a peer not counted: corrupt %v, want 2", c)
	}

	// No good copy left anywhere: the read fails as unavailable.
	if err := n0.n.Chunks().Delete(h); err != nil {
		t.Fatal(err)
	}
	got, err := readAll(t, n0, f.ID)
	if !errors.Is(err, api.ErrUnavailable) || len(got) != 0 {
		t.Fatalf("read with every copy bad: %d bytes, %v; want none and ErrUnavailable",
			len(got), err)
	}
}

// TestReadWithoutAnyCopy: a lone node that lost a chunk has no one to ask;
// reads fail as unavailable, and a range outside the file is refused.
func TestReadWithoutAnyCopy(t *testing.T) {
	tn := newNode(t)
	tok := tn.token("alice", "read", "write")
	data := randomBytes(41, 30_000)
	f := tn.upload(tok, "ticket", "T-1", "one", data)
	item, err := tn.n.Reference(context.Background(), meta.RefID(f.ID))
	if err != nil {
		t.Fatal(err)
	}
	if _, err := tn.n.Open(context.Background(), item.File, 10, item.File.Size); err == nil {
		t.Fatal("open of a range past the end succeeded")
	}

	// A manifest shorter than the size it claims ends early, never padded.
	short := item.File
	short.Size += 100
	rc, err := tn.n.Open(context.Background(), short, 0, short.Size)
	if err != nil {
		t.Fatal(err)
	}
	got, err := io.ReadAll(rc)
	rc.Close()
	if !errors.Is(err, io.ErrUnexpectedEOF) || !bytes.Equal(got, data) {
		t.Fatalf("read past the manifest: %d bytes, %v; want the data, then ErrUnexpectedEOF",
			len(got), err)
	}

	h, _ := chunk.ParseHash(f.FileHash)
	if err := tn.n.Chunks().Delete(h); err != nil {
		t.Fatal(err)
	}
	got, err = readAll(t, tn, f.ID)
	if !errors.Is(err, api.ErrUnavailable) || !errors.Is(err, chunk.ErrNotFound) || len(got) != 0 {
		t.Fatalf("read of a lost chunk: %d bytes, %v; want ErrUnavailable and ErrNotFound",
			len(got), err)
	}
}
