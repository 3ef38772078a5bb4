package api

import (
	"bytes"
	"crypto/sha256"
	"encoding/hex"
	"fmt"
	"strings"
	"testing"
	"time"
)

func TestUploadFieldOrder(t *testing.T) {
	content := "hello, attachments\n"
	sum := sha256.Sum256([]byte(content))
	fields := []formPart{
		{name: "entity_type", value: "ticket"},
		{name: "entity_id", value: "T-1"},
		{name: "description", value: "a note"},
	}
	file := formPart{name: "file", fileName: "note.txt", value: content}

	tests := []struct {
		name  string
		parts []formPart
	}{
		{name: "file first", parts: append([]formPart{file}, fields...)},
		{name: "file last", parts: append(append([]formPart{}, fields...), file)},
		{name: "file between", parts: []formPart{fields[0], file, fields[1], fields[2]}},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			ts := startServer(t, nil)
			r := ts.upload(t, token(t, "alice", "write"), tt.parts)
			if r.status != 201 {
				t.Fatalf("status = %d, want 201: %s", r.status, r.body)
			}
			var got fileJSON
			decode(t, r, &got)
			want := fileJSON{
				ID: got.ID, FileHash: hex.EncodeToString(sum[:]), Size: int64(len(content)),
				MIMEType: "text/plain; charset=utf-8", Filename: "note.txt",
				Description: "a note", EntityType: "ticket", EntityID: "T-1",
				CreatedAt: epoch.Add(time.Second).Format(time.RFC3339),
			}
			if got != want || got.ID == "" {
				t.Errorf("got  %+v\nwant %+v", got, want)
			}
			ref := ts.be.ref(got.ID)
			if ref == nil || ref.Owner != "alice" {
				t.Errorf("stored reference = %+v, want owner alice", ref)
			}
		})
	}
}

func TestUploadFilenameAndDedup(t *testing.T) {
	ts := startServer(t, nil)
	tok := token(t, "alice", "write")
	parts := []formPart{
		{name: "file", fileName: `C:\Users\a\report.pdf`, value: "%PDF-1.4 body"},
		{name: "entity_type", value: "doc"},
		{name: "entity_id", value: "D-9"},
	}

	var first fileJSON
	decode(t, ts.upload(t, tok, parts), &first)
	if first.Filename != "report.pdf" || first.Deduplicated {
		t.Errorf("first upload = %+v, want filename report.pdf, not deduplicated", first)
	}

	parts = append(parts, formPart{name: "filename", value: "renamed.pdf"})
	r := ts.upload(t, tok, parts)
	var second fileJSON
	decode(t, r, &second)
	if r.status != 201 || second.Filename != "renamed.pdf" || !second.Deduplicated ||
		second.FileHash != first.FileHash || second.ID == first.ID {
		t.Errorf("second upload (%d) = %+v, want renamed, deduplicated, same hash",
			r.status, second)
	}
}

func TestUploadByHash(t *testing.T) {
	ts := startServer(t, nil)
	alice, bob := token(t, "alice", "write"), token(t, "bob", "write")
	admin := token(t, "root", "admin")
	r := ts.upload(t, alice, []formPart{
		{name: "entity_type", value: "ticket"}, {name: "entity_id", value: "1"},
		{name: "file", fileName: "a.bin", value: "shared bytes"},
	})
	var orig fileJSON
	decode(t, r, &orig)
	byHash := func(sha string) []formPart {
		return []formPart{
			{name: "sha256", value: sha}, {name: "entity_type", value: "ticket"},
			{name: "entity_id", value: "2"}, {name: "filename", value: "copy.bin"},
		}
	}

	tests := []struct {
		name   string
		tok    string
		sha    string
		status int
	}{
		{name: "owner attaches", tok: alice, sha: orig.FileHash, status: 201},
		{name: "stranger is told not found", tok: bob, sha: orig.FileHash, status: 404},
		{name: "admin attaches anything", tok: admin, sha: orig.FileHash, status: 201},
		{name: "unknown content", tok: admin, sha: strings.Repeat("0", 64), status: 404},
		{name: "malformed hash", tok: alice, sha: "abc", status: 400},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			r := ts.upload(t, tt.tok, byHash(tt.sha))
			if r.status != tt.status {
				t.Fatalf("status = %d, want %d: %s", r.status, tt.status, r.body)
			}
			if tt.status != 201 {
				return
			}
			var got fileJSON
			decode(t, r, &got)
			if got.FileHash != orig.FileHash || !got.Deduplicated || got.Filename != "copy.bin" ||
				got.Size != orig.Size {
				t.Errorf("got %+v, want a deduplicated copy of %+v", got, orig)
			}
		})
	}
}

// uploadBadCases are forms the server must refuse with 400. They are the
// table of TestUploadBadRequest and seeds of FuzzUpload.
func uploadBadCases() []struct {
	name  string
	parts []formPart
} {
	file := formPart{name: "file", fileName: "f.txt", value: "x"}
	et := formPart{name: "entity_type", value: "ticket"}
	eid := formPart{name: "entity_id", value: "T-1"}
	sha := formPart{name: "sha256", value: strings.Repeat("ab", 32)}
	return []struct {
		name  string
		parts []formPart
	}{
		{name: "no entity type", parts: []formPart{file, eid}},
		{name: "no entity id", parts: []formPart{et, file}},
		{name: "no file nor hash", parts: []formPart{et, eid}},
		{name: "entity type charset", parts: []formPart{
			{name: "entity_type", value: "tick et"}, eid, file}},
		{name: "entity id charset", parts: []formPart{et, {name: "entity_id", value: "a/b"}, file}},
		{name: "entity type too long", parts: []formPart{
			{name: "entity_type", value: strings.Repeat("a", 65)}, eid, file}},
		{name: "entity id too long", parts: []formPart{
			et, {name: "entity_id", value: strings.Repeat("a", 257)}, file}},
		{name: "filename too long", parts: []formPart{
			et, eid, file, {name: "filename", value: strings.Repeat("n", 256)}}},
		{name: "filename with separator", parts: []formPart{
			et, eid, file, {name: "filename", value: "../x"}}},
		{name: "filename with control", parts: []formPart{
			et, eid, file, {name: "filename", value: "a\x00b"}}},
		{name: "description too long", parts: []formPart{
			et, eid, file, {name: "description", value: strings.Repeat("d", 4097)}}},
		{name: "file and hash", parts: []formPart{et, eid, file, sha}},
		{name: "hash and file", parts: []formPart{et, eid, sha, file}},
		{name: "two files", parts: []formPart{et, eid, file, file}},
		{name: "duplicate field", parts: []formPart{et, et, eid, file}},
		{name: "unknown field", parts: []formPart{et, eid, file, {name: "owner", value: "eve"}}},
	}
}

func TestUploadBadRequest(t *testing.T) {
	tests := uploadBadCases()
	ts := startServer(t, nil)
	tok := token(t, "alice", "write")
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			wantError(t, ts.upload(t, tok, tt.parts), 400, "bad_request")
		})
	}
	if n := ts.be.refCount(); n != 0 {
		t.Errorf("%d references created by bad requests, want 0", n)
	}
}

func TestUploadFraming(t *testing.T) {
	ts := startServer(t, nil)
	tok := token(t, "alice", "write")
	_, form := buildForm(t, []formPart{{name: "entity_type", value: "x"}})
	tests := []struct {
		name        string
		contentType string
		body        string
	}{
		{name: "not multipart", contentType: "application/json", body: "{}"},
		{name: "no boundary", contentType: "multipart/form-data", body: string(form)},
		{name: "wrong boundary", contentType: "multipart/form-data; boundary=nope",
			body: string(form)},
		{name: "truncated", contentType: "multipart/form-data; boundary=b",
			body: "--b\r\nContent-Disposition: form-data; name=\"file\"; " +
				"filename=\"a\"\r\n\r\nabc"},
		{name: "empty body", contentType: "multipart/form-data; boundary=b", body: ""},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			r := ts.do(t, "POST", "/v1/files", tok, strings.NewReader(tt.body),
				map[string]string{"Content-Type": tt.contentType})
			wantError(t, r, 400, "bad_request")
		})
	}
}

func TestUploadBackendErrors(t *testing.T) {
	tests := []struct {
		name   string
		method string
		err    error
		status int
		code   string
	}{
		{name: "refused type", method: "Ingest", err: fmt.Errorf("x: %w", ErrMediaType),
			status: 415, code: "unsupported_media_type"},
		{name: "no quorum", method: "Commit", err: fmt.Errorf("x: %w", ErrUnavailable),
			status: 503, code: "unavailable"},
		{name: "disk failure", method: "Ingest", err: errTest, status: 500, code: "internal"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			ts := startServer(t, nil)
			ts.be.failOn(tt.method, tt.err)
			r := ts.upload(t, token(t, "a", "write"), []formPart{
				{name: "entity_type", value: "t"}, {name: "entity_id", value: "1"},
				{name: "file", fileName: "f", value: "data"},
			})
			wantError(t, r, tt.status, tt.code)
			if bytes.Contains(r.body, []byte("/var/lib")) {
				t.Errorf("internal detail leaked: %s", r.body)
			}
		})
	}
}

// FuzzUpload posts arbitrary bodies as multipart/form-data through the
// real handler on a loopback server. Whatever the body, the answer must be
// a success or the client's fault (2xx or 4xx), never a 5xx or a panic,
// and a success must have stored its reference.
func FuzzUpload(f *testing.F) {
	file := formPart{name: "file", fileName: "f.txt", value: "fuzz content"}
	et := formPart{name: "entity_type", value: "ticket"}
	eid := formPart{name: "entity_id", value: "T-1"}
	seeds := [][]formPart{
		{file, et, eid},
		{et, eid, file},
		{et, eid, formPart{name: "sha256", value: strings.Repeat("ab", 32)}},
		{et, eid, file, formPart{name: "description", value: "d"},
			formPart{name: "filename", value: "résumé.txt"}},
		{},
	}
	for _, tt := range uploadBadCases() {
		seeds = append(seeds, tt.parts)
	}
	for _, parts := range seeds {
		_, body := buildForm(f, parts)
		f.Add(body)
	}
	f.Add([]byte("--" + fixedBoundary +
		"\r\nContent-Disposition: form-data; name=\"file\"\r\n\r\nab"))
	f.Add([]byte{})

	ts := startServer(f, func(o *Options) { o.MaxUploadBytes = 4096 })
	tok := token(f, "fuzzer", "write")
	f.Fuzz(func(t *testing.T, body []byte) {
		r := ts.do(t, "POST", "/v1/files", tok, bytes.NewReader(body), map[string]string{
			"Content-Type": "multipart/form-data; boundary=" + fixedBoundary})
		switch {
		case r.status >= 500 || r.status < 200 || (r.status >= 300 && r.status < 400):
			t.Fatalf("status %d for body %q: %s", r.status, body, r.body)
		case r.status == 201:
			var got fileJSON
			decode(t, r, &got)
			if ref := ts.be.ref(got.ID); ref == nil || ref.Owner != "fuzzer" {
				t.Fatalf("201 without a stored reference: %s", r.body)
			}
		}
	})
}
