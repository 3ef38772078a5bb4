package meta

import (
	"bytes"
	"errors"
	"fmt"
	"reflect"
	"testing"

	"github.com/helixtrack/attachments/chunk"
)

// manyChunkFile builds a file of n distinct one-byte chunks, more than
// one page of LocalChunks when n > 512.
func manyChunkFile(prefix string, n int) File {
	refs := make([]ChunkRef, n)
	for i := range refs {
		refs[i] = testChunk(fmt.Sprintf("%s-%d", prefix, i), 1)
	}
	return testFile(refs...)
}

// TestStoreLocalChunksPages lists more chunks than one page holds: every
// record comes exactly once, in hash order, and fn returning false stops
// the walk at once.
func TestStoreLocalChunksPages(t *testing.T) {
	s := openSingle(t, t.TempDir(), "127.0.0.1:0", fastRaft)
	defer s.Close()
	big := manyChunkFile("big", 1100)
	mustCreate(t, s, testRef("r1", big, "T", "o"), big)

	var seen []chunk.Hash
	err := s.LocalChunks(func(h chunk.Hash, c Chunk) bool {
		if c.Hash != h || c.RefCount != 1 || c.Size != 1 {
			t.Errorf("record of %s: %+v", h, c)
		}
		seen = append(seen, h)
		return true
	})
	if err != nil {
		t.Fatal(err)
	}
	if len(seen) != len(big.Chunks) {
		t.Fatalf("listed %d chunks, stored %d", len(seen), len(big.Chunks))
	}
	for i := 1; i < len(seen); i++ {
		if bytes.Compare(seen[i-1][:], seen[i][:]) >= 0 {
			t.Fatalf("chunk %d (%s) does not sort after %s", i, seen[i], seen[i-1])
		}
	}

	calls := 0
	err = s.LocalChunks(func(chunk.Hash, Chunk) bool {
		calls++
		return calls < 600 // stop inside the second page
	})
	if err != nil || calls != 600 {
		t.Fatalf("stopped walk: %d calls, %v; want 600 calls", calls, err)
	}
}

// TestStoreKnownChunks answers per hash, counting records at zero as
// known until they are collected.
func TestStoreKnownChunks(t *testing.T) {
	s := openSingle(t, t.TempDir(), "127.0.0.1:0", fastRaft)
	defer s.Close()
	ctx := testCtx(t)
	a, b := testChunk("a", 5), testChunk("b", 7)
	f := testFile(a, b)
	mustCreate(t, s, testRef("r1", f, "T", "o"), f)
	unknown := testChunk("never", 3).Hash

	got, err := s.KnownChunks(ctx, []chunk.Hash{unknown, a.Hash, b.Hash})
	if err != nil || !reflect.DeepEqual(got, []bool{false, true, true}) {
		t.Fatalf("known chunks: %v, %v", got, err)
	}
	if ok, err := s.ChunkExists(ctx, a.Hash); !ok || err != nil {
		t.Fatalf("ChunkExists of a stored chunk: %v, %v", ok, err)
	}

	// Deleted: the chunks stay known at zero until collected.
	if _, err := s.DeleteReference(ctx, "r1"); err != nil {
		t.Fatal(err)
	}
	if got, err = s.KnownChunks(ctx, []chunk.Hash{a.Hash}); err != nil || !got[0] {
		t.Fatalf("chunk at zero: known %v, %v", got, err)
	}
	c, err := s.Chunk(ctx, a.Hash)
	if err != nil {
		t.Fatal(err)
	}
	if _, err := s.CollectChunks(ctx, c.ZeroSince.Add(1), 10); err != nil {
		t.Fatal(err)
	}
	got, err = s.KnownChunks(ctx, []chunk.Hash{a.Hash, b.Hash})
	if err != nil || !reflect.DeepEqual(got, []bool{false, false}) {
		t.Fatalf("collected chunks: known %v, %v", got, err)
	}
	if got, err = s.KnownChunks(ctx, nil); err != nil || len(got) != 0 {
		t.Fatalf("no hashes: %v, %v", got, err)
	}
}

// TestStoreReferenceFile reads a reference and its file together, and
// refuses deleted and unknown ids.
func TestStoreReferenceFile(t *testing.T) {
	s := openSingle(t, t.TempDir(), "127.0.0.1:0", fastRaft)
	defer s.Close()
	ctx := testCtx(t)
	f := testFile(testChunk("a", 10), testChunk("b", 20))
	mustCreate(t, s, testRef("r1", f, "T", "o"), f)
	mustCreate(t, s, testRef("r2", f, "T", "p"), f)

	ref, file, err := s.ReferenceFile(ctx, "r1")
	if err != nil {
		t.Fatal(err)
	}
	if ref.ID != "r1" || ref.Owner != "o" || file.Hash != f.Hash || file.RefCount != 2 ||
		!reflect.DeepEqual(file.Chunks, f.Chunks) {
		t.Fatalf("reference file: %+v %+v", ref, file)
	}
	if _, err := s.DeleteReference(ctx, "r1"); err != nil {
		t.Fatal(err)
	}
	for _, id := range []RefID{"r1", "nope"} {
		if _, _, err := s.ReferenceFile(ctx, id); !errors.Is(err, ErrNotFound) {
			t.Fatalf("reference file of %s: got %v, want ErrNotFound", id, err)
		}
	}
	if _, file, err = s.ReferenceFile(ctx, "r2"); err != nil || file.RefCount != 1 {
		t.Fatalf("surviving reference: %+v, %v", file, err)
	}
}

// TestStoreListEntityFiles pages through an entity whose references hold
// two different files, each page carrying the file of each reference.
func TestStoreListEntityFiles(t *testing.T) {
	s := openSingle(t, t.TempDir(), "127.0.0.1:0", fastRaft)
	defer s.Close()
	ctx := testCtx(t)
	f1 := testFile(testChunk("a", 10))
	f2 := testFile(testChunk("b", 20), testChunk("c", 30))
	want := map[RefID]File{}
	for i := range 5 {
		f := []File{f1, f2}[i%2]
		id := fmt.Sprintf("r%d", i)
		mustCreate(t, s, testRef(id, f, "E-1", "o"), f)
		want[RefID(id)] = f
	}
	mustCreate(t, s, testRef("other", f1, "E-2", "o"), f1)

	var order []RefID
	cursor := ""
	for page := 0; ; page++ {
		refs, files, next, err := s.ListEntityFiles(ctx, "ticket", "E-1", cursor, 2)
		if err != nil {
			t.Fatalf("page %d: %v", page, err)
		}
		if len(refs) != len(files) {
			t.Fatalf("page %d: %d references, %d files", page, len(refs), len(files))
		}
		for i, r := range refs {
			if w := want[r.ID]; files[i].Hash != w.Hash || files[i].Size != w.Size {
				t.Fatalf("reference %s listed with file %s, want %s", r.ID, files[i].Hash, w.Hash)
			}
			order = append(order, r.ID)
		}
		if next == "" {
			break
		}
		cursor = next
	}
	if fmt.Sprint(order) != "[r0 r1 r2 r3 r4]" {
		t.Fatalf("listed %v, want r0..r4 oldest first", order)
	}

	_, _, _, err := s.ListEntityFiles(ctx, "ticket", "E-1", "bogus", 2)
	if !errors.Is(err, ErrInvalid) {
		t.Fatalf("bad cursor: got %v, want ErrInvalid", err)
	}
	if _, _, err := s.ListEntity(ctx, "ticket", "E-1", "", 0); !errors.Is(err, ErrInvalid) {
		t.Fatalf("limit 0: got %v, want ErrInvalid", err)
	}
	refs, files, next, err := s.ListEntityFiles(ctx, "ticket", "none", "", 10)
	if err != nil || len(refs) != 0 || len(files) != 0 || next != "" {
		t.Fatalf("empty entity: %v %v %q %v", refs, files, next, err)
	}
}
