package node_test

import (
	"bytes"
	"context"
	"encoding/json"
	"fmt"
	"io"
	"log/slog"
	"math/rand/v2"
	"mime/multipart"
	"net/http"
	"os"
	"strings"
	"testing"
	"time"

	"github.com/helixtrack/attachments/api"
	"github.com/helixtrack/attachments/internal/config"
	"github.com/helixtrack/attachments/node"
	"github.com/helixtrack/attachments/node/nodetest"
)

// testNode is a real node on loopback with its own data directory.
type testNode struct {
	t      *testing.T
	n      *node.Node
	cfg    config.Config
	url    string
	secret []byte
}

// freePort returns a TCP port that was free a moment ago.
func freePort(t *testing.T) int { return nodetest.FreePort(t) }

// testConfig is the embedded default with everything on loopback, random
// ports, a short garbage-collection grace and the data under dir.
func testConfig(t *testing.T, dir string) config.Config {
	t.Helper()
	cfg := nodetest.Config(t, dir, "test-secret-test-secret-test-secret")
	cfg.Cluster.RebalanceInterval = config.Duration(time.Hour) // tests call Rebalance
	cfg.Storage.GCGrace = config.Duration(200 * time.Millisecond)
	cfg.Storage.GCInterval = config.Duration(time.Hour) // tests call CollectGarbage
	cfg.Security.MaxFileSizeMB = 64
	return cfg
}

func startNode(t *testing.T, cfg config.Config) *testNode {
	t.Helper()
	logger := slog.New(slog.NewTextHandler(io.Discard, nil))
	if testing.Verbose() {
		logger = slog.New(slog.NewTextHandler(os.Stderr, &slog.HandlerOptions{Level: slog.LevelInfo}))
	}
	n, err := node.New(cfg, logger)
	if err != nil {
		t.Fatal(err)
	}
	ctx, cancel := context.WithTimeout(context.Background(), 30*time.Second)
	defer cancel()
	if err := n.Start(ctx); err != nil {
		t.Fatal(err)
	}
	tn := &testNode{t: t, n: n, cfg: cfg, url: n.Addr(), secret: []byte(cfg.Security.JWTSecret)}
	t.Cleanup(func() { n.Close() })
	return tn
}

func newNode(t *testing.T) *testNode {
	t.Helper()
	return startNode(t, testConfig(t, t.TempDir()))
}

func (tn *testNode) token(user string, perms ...string) string {
	tn.t.Helper()
	tok, err := api.MintToken(tn.secret, user, perms, time.Hour)
	if err != nil {
		tn.t.Fatal(err)
	}
	return tok
}

// fileJSON is the v1 answer for one reference.
type fileJSON struct {
	ID           string `json:"id"`
	FileHash     string `json:"file_hash"`
	Size         int64  `json:"size"`
	MIME         string `json:"mime_type"`
	Filename     string `json:"filename"`
	Description  string `json:"description"`
	EntityType   string `json:"entity_type"`
	EntityID     string `json:"entity_id"`
	Deduplicated bool   `json:"deduplicated"`
	CreatedAt    string `json:"created_at"`
}

// multipartBody builds an upload form; fields are written in order, and
// the file part goes first when fileFirst is set.
func multipartBody(t *testing.T, fields [][2]string, name string, data []byte,
	fileFirst bool) (io.Reader, string) {
	t.Helper()
	var buf bytes.Buffer
	w := multipart.NewWriter(&buf)
	writeFile := func() {
		if data == nil {
			return
		}
		fw, err := w.CreateFormFile("file", name)
		if err != nil {
			t.Fatal(err)
		}
		fw.Write(data)
	}
	if fileFirst {
		writeFile()
	}
	for _, f := range fields {
		w.WriteField(f[0], f[1])
	}
	if !fileFirst {
		writeFile()
	}
	w.Close()
	return &buf, w.FormDataContentType()
}

func (tn *testNode) do(method, path, token string, body io.Reader, hdr map[string]string) *http.Response {
	tn.t.Helper()
	req, err := http.NewRequest(method, tn.url+path, body)
	if err != nil {
		tn.t.Fatal(err)
	}
	if token != "" {
		req.Header.Set("Authorization", "Bearer "+token)
	}
	for k, v := range hdr {
		req.Header.Set(k, v)
	}
	resp, err := http.DefaultClient.Do(req)
	if err != nil {
		tn.t.Fatal(err)
	}
	return resp
}

// upload posts data for an entity and decodes the 201 answer.
func (tn *testNode) upload(token, etype, eid, name string, data []byte) fileJSON {
	tn.t.Helper()
	body, ctype := multipartBody(tn.t, [][2]string{{"entity_type", etype}, {"entity_id", eid}},
		name, data, false)
	resp := tn.do("POST", "/v1/files", token, body, map[string]string{"Content-Type": ctype})
	defer resp.Body.Close()
	if resp.StatusCode != http.StatusCreated {
		b, _ := io.ReadAll(resp.Body)
		tn.t.Fatalf("upload %s: status %d: %s", name, resp.StatusCode, b)
	}
	var f fileJSON
	if err := json.NewDecoder(resp.Body).Decode(&f); err != nil {
		tn.t.Fatal(err)
	}
	return f
}

func (tn *testNode) download(token, id string) []byte {
	tn.t.Helper()
	resp := tn.do("GET", "/v1/files/"+id+"/download", token, nil, nil)
	defer resp.Body.Close()
	b, err := io.ReadAll(resp.Body)
	if err != nil {
		tn.t.Fatal(err)
	}
	if resp.StatusCode != http.StatusOK {
		tn.t.Fatalf("download %s: status %d: %s", id, resp.StatusCode, b)
	}
	return b
}

// status performs a request and returns its status and decoded error code.
func (tn *testNode) status(method, path, token string, body io.Reader, hdr map[string]string) (int, string) {
	tn.t.Helper()
	resp := tn.do(method, path, token, body, hdr)
	defer resp.Body.Close()
	var e struct {
		Error struct{ Code, Message string } `json:"error"`
	}
	b, _ := io.ReadAll(resp.Body)
	json.Unmarshal(b, &e)
	return resp.StatusCode, e.Error.Code
}

// randomBytes returns n pseudo-random bytes from seed.
func randomBytes(seed uint64, n int) []byte {
	r := rand.New(rand.NewPCG(seed, seed^0x9e3779b97f4a7c15))
	b := make([]byte, n)
	for i := 0; i+8 <= n; i += 8 {
		v := r.Uint64()
		for j := 0; j < 8; j++ {
			b[i+j] = byte(v >> (8 * j))
		}
	}
	return b
}

// textBytes returns n bytes of CSV-like text, so MIME detection says text.
func textBytes(seed uint64, n int) []byte {
	r := rand.New(rand.NewPCG(seed, 7))
	var b strings.Builder
	for b.Len() < n {
		fmt.Fprintf(&b, "%d,%d,row-%x,%s\n", r.IntN(1e6), r.IntN(1e9), r.Uint32(), "lorem ipsum dolor")
	}
	return []byte(b.String()[:n])
}
