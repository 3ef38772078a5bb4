package node_test

import (
	"bufio"
	"bytes"
	"context"
	"crypto/sha256"
	"encoding/hex"
	"encoding/json"
	"fmt"
	"io"
	"net"
	"net/http"
	"strings"
	"testing"
	"time"
)

func TestUploadDownloadRoundTrip(t *testing.T) {
	tn := newNode(t)
	tok := tn.token("alice", "read", "write", "delete")
	data := randomBytes(1, 3<<20+12345)

	f := tn.upload(tok, "ticket", "T-1", "blob.bin", data)
	sum := sha256.Sum256(data)
	if f.FileHash != hex.EncodeToString(sum[:]) {
		t.Errorf("file_hash = %s, want sha256 %x", f.FileHash, sum)
	}
	if f.Size != int64(len(data)) || f.Deduplicated || f.EntityID != "T-1" || f.Filename != "blob.bin" {
		t.Errorf("upload answer = %+v", f)
	}
	if got := tn.download(tok, f.ID); !bytes.Equal(got, data) {
		t.Fatalf("downloaded %d bytes, differ from the %d uploaded", len(got), len(data))
	}

	resp := tn.do("GET", "/v1/files/"+f.ID, tok, nil, nil)
	var meta fileJSON
	json.NewDecoder(resp.Body).Decode(&meta)
	resp.Body.Close()
	if resp.StatusCode != 200 || meta != f {
		t.Errorf("GET metadata = %d %+v, want 200 %+v", resp.StatusCode, meta, f)
	}
}

func TestDedupAddsNoStoredBytes(t *testing.T) {
	tn := newNode(t)
	tok := tn.token("alice", "read", "write")
	data := textBytes(2, 5<<20)

	a := tn.upload(tok, "ticket", "T-1", "a.csv", data)
	before := tn.n.Chunks().Stats()
	b := tn.upload(tok, "document", "D-9", "b.csv", data)
	after := tn.n.Chunks().Stats()

	if a.Deduplicated || !b.Deduplicated {
		t.Errorf("deduplicated flags = %v, %v; want false, true", a.Deduplicated, b.Deduplicated)
	}
	if a.ID == b.ID || a.FileHash != b.FileHash {
		t.Errorf("ids %s %s, hashes %s %s", a.ID, b.ID, a.FileHash, b.FileHash)
	}
	if after.StoredBytes != before.StoredBytes || after.DiskBytes != before.DiskBytes {
		t.Errorf("second upload grew the store: stored %d -> %d, disk %d -> %d",
			before.StoredBytes, after.StoredBytes, before.DiskBytes, after.DiskBytes)
	}
	if before.StoredBytes != int64(len(data)) {
		t.Errorf("stored bytes = %d, want %d", before.StoredBytes, len(data))
	}
	if !strings.HasPrefix(a.MIME, "text/") {
		t.Errorf("mime = %q, want text/*", a.MIME)
	}
}

func TestEditedFileSharesChunks(t *testing.T) {
	tn := newNode(t)
	tok := tn.token("alice", "write")
	data := textBytes(3, 10<<20)
	tn.upload(tok, "document", "D-1", "v1.csv", data)
	before := tn.n.Chunks().Stats().StoredBytes

	edited := append([]byte(nil), data...)
	copy(edited[5<<20:], "AN EDIT IN THE MIDDLE OF THE FILE")
	tn.upload(tok, "document", "D-1", "v2.csv", edited)
	grown := tn.n.Chunks().Stats().StoredBytes - before

	t.Logf("a 10 MiB file with one edit stored %d new bytes (%.1f%%)", grown,
		100*float64(grown)/float64(len(data)))
	if grown <= 0 || grown > int64(len(data))/10 {
		t.Errorf("edited version added %d bytes, want more than 0 and under 10%% of %d", grown, len(data))
	}
}

func TestUploadFieldOrderAndFilename(t *testing.T) {
	tn := newNode(t)
	tok := tn.token("alice", "read", "write")
	data := []byte("hello, attachments\n")
	fields := [][2]string{{"entity_type", "comment"}, {"entity_id", "C-7"},
		{"description", "greeting"}, {"filename", "override.txt"}}

	for _, fileFirst := range []bool{true, false} {
		t.Run(fmt.Sprintf("fileFirst=%v", fileFirst), func(t *testing.T) {
			body, ctype := multipartBody(t, fields, "part.txt", data, fileFirst)
			resp := tn.do("POST", "/v1/files", tok, body, map[string]string{"Content-Type": ctype})
			defer resp.Body.Close()
			var f fileJSON
			json.NewDecoder(resp.Body).Decode(&f)
			if resp.StatusCode != 201 || f.Filename != "override.txt" || f.Description != "greeting" {
				t.Errorf("status %d, answer %+v", resp.StatusCode, f)
			}
		})
	}
}

func TestListEntityPages(t *testing.T) {
	tn := newNode(t)
	tok := tn.token("alice", "read", "write")
	var want []string
	for i := range 7 {
		f := tn.upload(tok, "ticket", "T-42", fmt.Sprintf("f%d.txt", i), []byte(fmt.Sprintf("file %d\n", i)))
		want = append(want, f.ID)
	}
	tn.upload(tok, "ticket", "T-43", "other.txt", []byte("other\n"))

	var got []string
	cursor := ""
	for pages := 0; ; pages++ {
		if pages > 5 {
			t.Fatal("listing does not end")
		}
		resp := tn.do("GET", "/v1/entities/ticket/T-42/files?limit=3&cursor="+cursor, tok, nil, nil)
		var page struct {
			Files      []fileJSON `json:"files"`
			NextCursor string     `json:"next_cursor"`
		}
		json.NewDecoder(resp.Body).Decode(&page)
		resp.Body.Close()
		if resp.StatusCode != 200 || len(page.Files) > 3 {
			t.Fatalf("status %d, %d files", resp.StatusCode, len(page.Files))
		}
		for _, f := range page.Files {
			got = append(got, f.ID)
		}
		if page.NextCursor == "" {
			break
		}
		cursor = page.NextCursor
	}
	if strings.Join(got, ",") != strings.Join(want, ",") {
		t.Errorf("listed %v, want oldest first %v", got, want)
	}
	for _, bad := range []string{"zzz", "c", "c-1"} {
		code, ecode := tn.status("GET", "/v1/entities/ticket/T-42/files?cursor="+bad, tok, nil, nil)
		if code != 400 || ecode != "bad_request" {
			t.Errorf("cursor %q: %d %q, want 400 bad_request", bad, code, ecode)
		}
	}
}

func TestDeleteThenCollect(t *testing.T) {
	tn := newNode(t)
	tok := tn.token("alice", "read", "write", "delete")
	data := randomBytes(4, 2<<20)
	a := tn.upload(tok, "ticket", "T-1", "a.bin", data)
	b := tn.upload(tok, "ticket", "T-2", "b.bin", data)

	if code, _ := tn.status("DELETE", "/v1/files/"+a.ID, tok, nil, nil); code != 204 {
		t.Fatalf("delete: %d", code)
	}
	if code, ecode := tn.status("GET", "/v1/files/"+a.ID, tok, nil, nil); code != 404 || ecode != "not_found" {
		t.Errorf("get deleted: %d %q, want 404 not_found", code, ecode)
	}
	if code, _ := tn.status("DELETE", "/v1/files/"+a.ID, tok, nil, nil); code != 404 {
		t.Errorf("second delete: %d, want 404", code)
	}
	// The other reference keeps the bytes alive through a collection.
	collectAfterGrace(t, tn)
	if got := tn.download(tok, b.ID); !bytes.Equal(got, data) {
		t.Fatal("surviving reference lost its bytes")
	}

	tn.status("DELETE", "/v1/files/"+b.ID, tok, nil, nil)
	collectAfterGrace(t, tn)
	if st := tn.n.Chunks().Stats(); st.Chunks != 0 || st.StoredBytes != 0 {
		t.Errorf("after deleting every reference: %d chunks, %d bytes remain", st.Chunks, st.StoredBytes)
	}
	verifyMeta(t, tn)
}

func TestUploadByHash(t *testing.T) {
	tn := newNode(t)
	alice := tn.token("alice", "read", "write")
	bob := tn.token("bob", "read", "write")
	admin := tn.token("root", "admin")
	data := textBytes(5, 100_000)
	f := tn.upload(alice, "ticket", "T-1", "x.csv", data)

	byHash := func(tok, sum string) (int, fileJSON) {
		body, ctype := multipartBody(t, [][2]string{{"entity_type", "ticket"}, {"entity_id", "T-2"},
			{"sha256", sum}, {"filename", "again.csv"}}, "", nil, false)
		resp := tn.do("POST", "/v1/files", tok, body, map[string]string{"Content-Type": ctype})
		defer resp.Body.Close()
		var out fileJSON
		json.NewDecoder(resp.Body).Decode(&out)
		return resp.StatusCode, out
	}
	if code, out := byHash(alice, f.FileHash); code != 201 || !out.Deduplicated || out.Size != f.Size {
		t.Errorf("owner by hash: %d %+v", code, out)
	}
	if code, _ := byHash(bob, f.FileHash); code != 404 {
		t.Errorf("stranger by hash: %d, want 404 (as for unknown bytes)", code)
	}
	if code, _ := byHash(bob, strings.Repeat("ab", 32)); code != 404 {
		t.Errorf("unknown hash: %d, want 404", code)
	}
	if code, _ := byHash(admin, f.FileHash); code != 201 {
		t.Errorf("admin by hash: %d, want 201", code)
	}
}

func TestDownloadConditionalAndRange(t *testing.T) {
	tn := newNode(t)
	tok := tn.token("alice", "read", "write")
	data := randomBytes(6, 1<<20+77)
	f := tn.upload(tok, "ticket", "T-1", "r.bin", data)
	path := "/v1/files/" + f.ID + "/download"

	resp := tn.do("GET", path, tok, nil, map[string]string{"If-None-Match": `"` + f.FileHash + `"`})
	resp.Body.Close()
	if resp.StatusCode != http.StatusNotModified {
		t.Errorf("If-None-Match: %d, want 304", resp.StatusCode)
	}

	cases := []struct {
		rng        string
		status     int
		start, end int // inclusive, for 206
	}{
		{rng: "bytes=0-9", status: 206, start: 0, end: 9},
		{rng: "bytes=500000-", status: 206, start: 500000, end: len(data) - 1},
		{rng: "bytes=-100", status: 206, start: len(data) - 100, end: len(data) - 1},
		{rng: "bytes=262140-262150", status: 206, start: 262140, end: 262150},
		{rng: fmt.Sprintf("bytes=%d-", len(data)), status: 416},
	}
	for _, c := range cases {
		t.Run(c.rng, func(t *testing.T) {
			resp := tn.do("GET", path, tok, nil, map[string]string{"Range": c.rng})
			defer resp.Body.Close()
			b, _ := io.ReadAll(resp.Body)
			if resp.StatusCode != c.status {
				t.Fatalf("status %d, want %d", resp.StatusCode, c.status)
			}
			if c.status == 206 && !bytes.Equal(b, data[c.start:c.end+1]) {
				t.Errorf("got %d bytes, want [%d, %d]", len(b), c.start, c.end)
			}
		})
	}
}

func TestBadRequests(t *testing.T) {
	tn := newNode(t)
	writer := tn.token("alice", "write")
	reader := tn.token("alice", "read")
	body := func() (io.Reader, string) {
		return multipartBody(t, [][2]string{{"entity_type", "ticket"}, {"entity_id", "T-1"}},
			"a.txt", []byte("abc\n"), false)
	}

	b, ct := body()
	hdr := map[string]string{"Content-Type": ct}
	if code, ecode := tn.status("POST", "/v1/files", "", b, hdr); code != 401 || ecode != "unauthorized" {
		t.Errorf("no token: %d %q", code, ecode)
	}
	b, ct = body()
	hdr = map[string]string{"Content-Type": ct}
	if code, _ := tn.status("POST", "/v1/files", "not.a.jwt", b, hdr); code != 401 {
		t.Errorf("bad token: %d", code)
	}
	b, ct = body()
	hdr = map[string]string{"Content-Type": ct}
	if code, ecode := tn.status("POST", "/v1/files", reader, b, hdr); code != 403 || ecode != "forbidden" {
		t.Errorf("read-only token uploading: %d %q", code, ecode)
	}
	noEntity, ct2 := multipartBody(t, nil, "a.txt", []byte("abc\n"), false)
	hdr = map[string]string{"Content-Type": ct2}
	if code, _ := tn.status("POST", "/v1/files", writer, noEntity, hdr); code != 400 {
		t.Errorf("missing entity: %d, want 400", code)
	}
	if code, _ := tn.status("POST", "/v1/files", writer, strings.NewReader("--x\r\nbroken"),
		map[string]string{"Content-Type": "multipart/form-data; boundary=x"}); code != 400 {
		t.Errorf("malformed multipart: %d, want 400", code)
	}
	if code, _ := tn.status("GET", "/v1/files/nope", reader, nil, nil); code != 404 {
		t.Errorf("unknown id: %d, want 404", code)
	}
	if code, _ := tn.status("DELETE", "/v1/files/nope", tn.token("a", "delete"), nil, nil); code != 404 {
		t.Errorf("delete unknown: %d, want 404", code)
	}
	// Nothing of the refused uploads is visible.
	assertNoReferences(t, tn)
}

// assertNoReferences checks that the metadata holds no live reference.
func assertNoReferences(t *testing.T, tn *testNode) {
	t.Helper()
	st, err := tn.n.Meta().Stats(context.Background())
	if err != nil {
		t.Fatal(err)
	}
	if st.LiveReferences != 0 || st.Files != 0 {
		t.Errorf("metadata holds %d references and %d files, want none", st.LiveReferences, st.Files)
	}
}

// TestBadFieldRefusedBeforeTheFile: a malformed field that comes before the
// file part is refused before any of the file is stored. The client sends
// only the start of a body that promises 64 MiB, over a raw connection, and
// reads the answer: a server that read on into the file would never answer.
func TestBadFieldRefusedBeforeTheFile(t *testing.T) {
	tn := newNode(t)
	tok := tn.token("alice", "write")
	addr := strings.TrimPrefix(tn.url, "http://")
	conn, err := net.Dial("tcp", addr)
	if err != nil {
		t.Fatal(err)
	}
	defer conn.Close()
	head := fmt.Sprintf("--%[1]s\r\nContent-Disposition: form-data; name=\"entity_type\"\r\n\r\n"+
		"ticket\r\n--%[1]s\r\nContent-Disposition: form-data; name=\"entity_id\"\r\n\r\n"+
		"../x\r\n--%[1]s\r\nContent-Disposition: form-data; name=\"file\"; filename=\"f\"\r\n\r\n",
		fixedBoundary)
	fmt.Fprintf(conn, "POST /v1/files HTTP/1.1\r\nHost: %s\r\nAuthorization: Bearer %s\r\n"+
		"Content-Type: multipart/form-data; boundary=%s\r\nContent-Length: %d\r\n\r\n%s",
		addr, tok, fixedBoundary, 64<<20, head)
	conn.Write(randomBytes(12, 256<<10))

	conn.SetReadDeadline(time.Now().Add(10 * time.Second))
	status, err := bufio.NewReader(conn).ReadString('\n')
	if err != nil || !strings.Contains(status, " 400 ") {
		t.Fatalf("bad entity_id before the file: %q, %v; want 400", status, err)
	}
	if st := tn.n.Chunks().Stats(); st.Chunks != 0 {
		t.Errorf("%d chunks stored for an upload refused at its second field", st.Chunks)
	}
}
