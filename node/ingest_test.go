package node_test

import (
	"bytes"
	"context"
	"net/http"
	"testing"
)

// TestAllowedMIMETypes: with an allow list, content whose detected type
// (parameters such as charset ignored) is listed is stored, and other
// content is refused with 415 and leaves no reference.
func TestAllowedMIMETypes(t *testing.T) {
	cfg := testConfig(t, t.TempDir())
	cfg.Security.AllowedMIMETypes = []string{"text/plain"}
	tn := startNode(t, cfg)
	tok := tn.token("alice", "read", "write")

	notes := bytes.Repeat([]byte("Meeting notes. The build is green again.\n"), 120)
	f := tn.upload(tok, "ticket", "T-1", "notes.txt", notes)
	if f.MIME != "text/plain; charset=utf-8" {
		t.Fatalf("text upload stored as %q", f.MIME)
	}

	body, ctype := multipartBody(t, [][2]string{{"entity_type", "ticket"}, {"entity_id", "T-2"}},
		"blob.bin", randomBytes(9, 5_000), false)
	hdr := map[string]string{"Content-Type": ctype}
	code, ecode := tn.status("POST", "/v1/files", tok, body, hdr)
	if code != http.StatusUnsupportedMediaType {
		t.Fatalf("binary upload under a text-only list: %d %s, want 415", code, ecode)
	}
	st, err := tn.n.Meta().Stats(context.Background())
	if err != nil || st.LiveReferences != 1 || st.Files != 1 {
		t.Fatalf("after one refusal: %+v, %v; want only the text upload", st, err)
	}
}
