package node_test

import (
	"bytes"
	"encoding/binary"
	"encoding/json"
	"hash/crc32"
	"io"
	"net/http"
	"strconv"
	"strings"
	"testing"
	"time"

	"github.com/helixtrack/attachments/api"
	"github.com/helixtrack/attachments/chunk"
	"github.com/helixtrack/attachments/node"
)

var castagnoli = crc32.MakeTable(crc32.Castagnoli)

// crcHeader is the transit checksum header a chunk PUT must carry.
func crcHeader(data []byte) map[string]string {
	sum := crc32.Checksum(data, castagnoli)
	return map[string]string{"X-Chunk-Crc32c": strconv.FormatUint(uint64(sum), 10)}
}

// internalCall sends one node-to-node request and returns its status and
// body.
func (tn *testNode) internalCall(method, path, token string, body []byte,
	hdr map[string]string) (int, []byte) {
	tn.t.Helper()
	resp := tn.do(method, path, token, bytes.NewReader(body), hdr)
	defer resp.Body.Close()
	b, err := io.ReadAll(resp.Body)
	if err != nil {
		tn.t.Fatal(err)
	}
	return resp.StatusCode, b
}

// metaErrorName sends one node-to-node request and returns the name of
// the metadata error its answer carries, which a follower turns back into
// the meta sentinel.
func (tn *testNode) metaErrorName(method, path, token, body string) string {
	tn.t.Helper()
	resp := tn.do(method, path, token, strings.NewReader(body), nil)
	resp.Body.Close()
	return resp.Header.Get("X-Meta-Error")
}

// storedChunk uploads data small enough to be one chunk, whose hash is
// then the file's hash.
func storedChunk(t *testing.T, tn *testNode, data []byte) chunk.Hash {
	t.Helper()
	f := tn.upload(tn.token("alice", "read", "write"), "ticket", "T-1", "one-chunk", data)
	h, err := chunk.ParseHash(f.FileHash)
	if err != nil {
		t.Fatal(err)
	}
	return h
}

// TestInternalRoutes runs the node-to-node routes of one node through
// real HTTP with tokens minted from the cluster's secret.
func TestInternalRoutes(t *testing.T) {
	tn := newNode(t)
	t.Run("admin only", func(t *testing.T) { internalNeedsAdmin(t, tn) })
	t.Run("chunks", func(t *testing.T) { internalChunkRoutes(t, tn) })
	t.Run("have and touch", func(t *testing.T) { internalHaveAndTouch(t, tn) })
	t.Run("meta and cluster", func(t *testing.T) { internalMetaRoutes(t, tn) })
}

// internalNeedsAdmin: node-to-node routes answer only callers holding
// the admin permission that every node mints from the shared secret.
func internalNeedsAdmin(t *testing.T, tn *testNode) {
	h := storedChunk(t, tn, randomBytes(1, 10_000))
	path := "/internal/chunks/" + h.String()
	if code, _ := tn.internalCall("GET", path, "", nil, nil); code != http.StatusUnauthorized {
		t.Errorf("no token: %d, want 401", code)
	}
	user := tn.token("alice", "read", "write")
	if code, _ := tn.internalCall("GET", path, user, nil, nil); code != http.StatusForbidden {
		t.Errorf("user token: %d, want 403", code)
	}
	foreign, err := api.MintToken([]byte("another-secret-another-secret-xx"), "node/x",
		[]string{string(api.PermAdmin)}, time.Hour)
	if err != nil {
		t.Fatal(err)
	}
	if code, _ := tn.internalCall("GET", path, foreign, nil, nil); code != http.StatusUnauthorized {
		t.Errorf("admin token of another cluster: %d, want 401", code)
	}
	admin := tn.token("node/x", "admin")
	if code, _ := tn.internalCall("GET", path, admin, nil, nil); code != http.StatusOK {
		t.Errorf("admin token: %d, want 200", code)
	}
}

// internalChunkRoutes exercises the chunk routes a peer uses: HEAD, GET
// with its transit checksum, PUT with its checks, and the refusals of a
// bad hash, a bad method and an unknown route.
func internalChunkRoutes(t *testing.T, tn *testNode) {
	admin := tn.token("node/peer", "admin")
	data := randomBytes(2, 20_000)
	h := storedChunk(t, tn, data)
	missing := chunk.Sum([]byte("never stored"))

	code, body := tn.internalCall("GET", "/internal/chunks/"+h.String(), admin, nil, nil)
	if code != http.StatusOK || !bytes.Equal(body, data) {
		t.Fatalf("get stored chunk: %d, %d bytes", code, len(body))
	}
	resp := tn.do("GET", "/internal/chunks/"+h.String(), admin, nil, nil)
	resp.Body.Close()
	got, want := resp.Header.Get("X-Chunk-Crc32c"), crcHeader(data)["X-Chunk-Crc32c"]
	if got != want {
		t.Fatalf("transit checksum %q, want %q", got, want)
	}

	for _, tc := range []struct {
		method, path string
		want         int
	}{
		{"HEAD", "/internal/chunks/" + h.String(), http.StatusOK},
		{"HEAD", "/internal/chunks/" + missing.String(), http.StatusNotFound},
		{"GET", "/internal/chunks/" + missing.String(), http.StatusNotFound},
		{"GET", "/internal/chunks/not-a-hash", http.StatusBadRequest},
		{"DELETE", "/internal/chunks/" + h.String(), http.StatusMethodNotAllowed},
		{"GET", "/internal/no/such/route", http.StatusNotFound},
		{"GET", "/internal/have", http.StatusNotFound},
		{"POST", "/internal/meta/readindex", http.StatusNotFound},
	} {
		if code, _ := tn.internalCall(tc.method, tc.path, admin, nil, nil); code != tc.want {
			t.Errorf("%s %s: %d, want %d", tc.method, tc.path, code, tc.want)
		}
	}
	if !tn.n.Chunks().Has(h) {
		t.Fatal("a refused DELETE removed the chunk")
	}

	// PUT: the transit checksum and the name are both checked.
	fresh := randomBytes(3, 30_000)
	fh := chunk.Sum(fresh)
	put := "/internal/chunks/" + fh.String()
	code, _ = tn.internalCall("PUT", put, admin, fresh, crcHeader(fresh[1:]))
	if code != http.StatusBadRequest {
		t.Errorf("put with a wrong transit checksum: %d, want 400", code)
	}
	wrongName := "/internal/chunks/" + missing.String()
	if code, _ = tn.internalCall("PUT", wrongName, admin, fresh, crcHeader(fresh)); code != 400 {
		t.Errorf("put under another chunk's name: %d, want 400", code)
	}
	if tn.n.Chunks().Has(fh) || tn.n.Chunks().Has(missing) {
		t.Fatal("a refused put stored bytes")
	}
	if code, _ = tn.internalCall("PUT", put, admin, fresh, crcHeader(fresh)); code != 201 {
		t.Fatalf("put a new chunk: %d, want 201", code)
	}
	if code, _ = tn.internalCall("PUT", put, admin, fresh, crcHeader(fresh)); code != 200 {
		t.Errorf("put a chunk already held: %d, want 200", code)
	}
	if stored, err := tn.n.Chunks().Get(t.Context(), fh, nil); err != nil ||
		!bytes.Equal(stored, fresh) {
		t.Fatalf("chunk stored by a peer put: %v", err)
	}
}

// internalHaveAndTouch: one answer byte per listed hash, and a list that
// is not whole hashes is refused.
func internalHaveAndTouch(t *testing.T, tn *testNode) {
	admin := tn.token("node/peer", "admin")
	h := storedChunk(t, tn, randomBytes(4, 10_000))
	missing := chunk.Sum([]byte("absent"))
	list := append(append(append([]byte{}, h[:]...), missing[:]...), h[:]...)

	for _, path := range []string{"/internal/have", "/internal/touch"} {
		code, body := tn.internalCall("POST", path, admin, list, nil)
		if code != http.StatusOK || !bytes.Equal(body, []byte{1, 0, 1}) {
			t.Errorf("%s: %d %v, want 200 [1 0 1]", path, code, body)
		}
		if code, _ = tn.internalCall("POST", path, admin, list[:40], nil); code != 400 {
			t.Errorf("%s with a partial hash: %d, want 400", path, code)
		}
		code, body = tn.internalCall("POST", path, admin, nil, nil)
		if code != http.StatusOK || len(body) != 0 {
			t.Errorf("%s with no hashes: %d %v", path, code, body)
		}
	}
}

// internalMetaRoutes: the leader's side of forwarding and read index,
// the cluster routes' refusals, and the node's own figures.
func internalMetaRoutes(t *testing.T, tn *testNode) {
	admin := tn.token("node/peer", "admin")

	code, body := tn.internalCall("GET", "/internal/meta/readindex", admin, nil, nil)
	if code != http.StatusOK || len(body) != 8 || binary.BigEndian.Uint64(body) == 0 {
		t.Fatalf("read index: %d %v", code, body)
	}
	if idx := binary.BigEndian.Uint64(body); idx > tn.n.Meta().AppliedIndex() {
		t.Errorf("read index %d ahead of the leader's applied index %d",
			idx, tn.n.Meta().AppliedIndex())
	}

	code, body = tn.internalCall("POST", "/internal/meta/apply", admin, []byte("garbage"), nil)
	if code != http.StatusConflict || !bytes.Contains(body, []byte("invalid command")) {
		t.Errorf("apply garbage: %d %s, want 409 invalid command", code, body)
	}
	name := tn.metaErrorName("POST", "/internal/meta/apply", admin, "garbage")
	if name != "invalid" {
		t.Errorf("apply garbage names meta error %q, want invalid", name)
	}

	for _, bad := range []string{"{", `{"id":"n9"}`, `{"node":{"id":"n9"}}`,
		`{"node":{"raft_addr":"127.0.0.1:1"}}`} {
		code, _ := tn.internalCall("POST", "/internal/cluster/join", admin, []byte(bad), nil)
		if code != http.StatusBadRequest {
			t.Errorf("join with %s: %d, want 400", bad, code)
		}
	}

	code, body = tn.internalCall("POST", "/internal/cluster/remove", admin, []byte("ghost"), nil)
	if code != http.StatusConflict || !bytes.Contains(body, []byte("not found")) {
		t.Errorf("remove an unknown node: %d %s, want 409 not found", code, body)
	}
	name = tn.metaErrorName("POST", "/internal/cluster/remove", admin, "ghost")
	if name != "not_found" {
		t.Errorf("remove an unknown node names meta error %q, want not_found", name)
	}

	held := tn.n.Chunks().Stats()
	code, body = tn.internalCall("GET", "/internal/node/stats", admin, nil, nil)
	var st node.NodeStats
	if code != http.StatusOK || json.Unmarshal(body, &st) != nil {
		t.Fatalf("node stats: %d %s", code, body)
	}
	if st.Chunks != held.Chunks || st.StoredBytes != held.StoredBytes || st.FreeBytes <= 0 {
		t.Errorf("stats %+v, the store holds %+v", st, held)
	}
	storedChunk(t, tn, randomBytes(5, 10_000))
	_, body = tn.internalCall("GET", "/internal/node/stats", admin, nil, nil)
	if err := json.Unmarshal(body, &st); err != nil || st.Chunks != held.Chunks+1 ||
		st.StoredBytes != held.StoredBytes+10_000 {
		t.Errorf("stats after one more chunk: %+v, %v; was %+v", st, err, held)
	}
}
