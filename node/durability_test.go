package node_test

import (
	"bytes"
	"context"
	"fmt"
	"io"
	"math/rand/v2"
	"net"
	"net/http"
	"os"
	"runtime"
	"strconv"
	"sync"
	"sync/atomic"
	"testing"
	"time"
)

// collectAfterGrace runs a garbage collection as if the grace period had
// passed since every write so far.
func collectAfterGrace(t *testing.T, tn *testNode) {
	t.Helper()
	tn.n.CollectGarbage(context.Background(), time.Now().Add(time.Hour))
}

// verifyMeta recomputes the refcounts from the references and compares.
func verifyMeta(t *testing.T, tn *testNode) {
	t.Helper()
	if err := tn.n.Meta().Verify(context.Background()); err != nil {
		t.Fatalf("metadata invariants: %v", err)
	}
}

func TestTooLargeWhileStreaming(t *testing.T) {
	cfg := testConfig(t, t.TempDir())
	cfg.Security.MaxFileSizeMB = 1
	tn := startNode(t, cfg)
	tok := tn.token("alice", "write")

	// A chunked body (no Content-Length) of 64 MiB: the limit must trip
	// while it streams, long before the body ends.
	pr, pw := io.Pipe()
	go func() {
		src := patternReader{rand.New(rand.NewPCG(3, 3))}
		pw.CloseWithError(rawUpload(pw, src, 64<<20))
	}()
	req, _ := http.NewRequest("POST", tn.url+"/v1/files", pr)
	req.Header.Set("Authorization", "Bearer "+tok)
	req.Header.Set("Content-Type", "multipart/form-data; boundary="+fixedBoundary)
	resp, err := http.DefaultClient.Do(req)
	pr.CloseWithError(io.ErrClosedPipe)
	if err != nil {
		t.Fatalf("upload: %v", err)
	}
	resp.Body.Close()
	if resp.StatusCode != http.StatusRequestEntityTooLarge {
		t.Errorf("status %d, want 413", resp.StatusCode)
	}
	assertNoReferences(t, tn)
	collectAfterGrace(t, tn)
	if st := tn.n.Chunks().Stats(); st.Chunks != 0 {
		t.Errorf("%d chunks of the refused upload remain after collection", st.Chunks)
	}
}

const fixedBoundary = "helixtrack-test-boundary-0123456789"

// rawUpload writes a multipart body with a fixed boundary: the entity
// fields, then a file part of size bytes taken from src.
func rawUpload(w io.Writer, src io.Reader, size int64) error {
	head := fmt.Sprintf("--%[1]s\r\nContent-Disposition: form-data; name=\"entity_type\"\r\n\r\nticket\r\n"+
		"--%[1]s\r\nContent-Disposition: form-data; name=\"entity_id\"\r\n\r\nT-1\r\n"+
		"--%[1]s\r\nContent-Disposition: form-data; name=\"file\"; filename=\"f.bin\"\r\n"+
		"Content-Type: application/octet-stream\r\n\r\n", fixedBoundary)
	if _, err := io.WriteString(w, head); err != nil {
		return err
	}
	if _, err := io.CopyN(w, src, size); err != nil {
		return err
	}
	_, err := io.WriteString(w, "\r\n--"+fixedBoundary+"--\r\n")
	return err
}

// patternReader yields an endless pseudo-random stream without holding it.
type patternReader struct{ r *rand.Rand }

func (p patternReader) Read(b []byte) (int, error) {
	for i := range b {
		b[i] = byte(p.r.Uint32())
	}
	return len(b), nil
}

func TestCutOffUploadLeavesNothing(t *testing.T) {
	tn := newNode(t)
	tok := tn.token("alice", "write")
	addr := tn.url[len("http://"):]

	conn, err := net.Dial("tcp", addr)
	if err != nil {
		t.Fatal(err)
	}
	fmt.Fprintf(conn, "POST /v1/files HTTP/1.1\r\nHost: %s\r\nAuthorization: Bearer %s\r\n"+
		"Content-Type: multipart/form-data; boundary=%s\r\nContent-Length: %d\r\n\r\n",
		addr, tok, fixedBoundary, 50<<20)
	// Send 3 MiB of a promised 50 MiB, then hang up.
	src := patternReader{rand.New(rand.NewPCG(1, 2))}
	rawUpload(&limitWriter{w: conn, left: 3 << 20}, src, 10<<20)
	conn.Close()

	// The node notices the cut when its read fails; poll until no upload is
	// in flight by checking that a later request is served.
	deadline := time.Now().Add(10 * time.Second)
	for time.Now().Before(deadline) {
		if code, _ := tn.status("GET", "/health", "", nil, nil); code == 200 {
			break
		}
	}
	assertNoReferences(t, tn)
	waitFor(t, func() bool {
		collectAfterGrace(t, tn)
		return tn.n.Chunks().Stats().Chunks == 0
	}, "chunks of the cut-off upload are collected")
}

// limitWriter passes through left bytes, then fails.
type limitWriter struct {
	w    io.Writer
	left int
}

func (l *limitWriter) Write(p []byte) (int, error) {
	if l.left <= 0 {
		return 0, io.ErrShortWrite
	}
	if len(p) > l.left {
		p = p[:l.left]
	}
	n, err := l.w.Write(p)
	l.left -= n
	if err == nil && l.left == 0 {
		err = io.ErrShortWrite
	}
	return n, err
}

// waitFor polls cond until it holds or 10 seconds pass.
func waitFor(t *testing.T, cond func() bool, what string) {
	t.Helper()
	deadline := time.Now().Add(10 * time.Second)
	for !cond() {
		if time.Now().After(deadline) {
			t.Fatalf("timed out waiting until %s", what)
		}
		runtime.Gosched()
	}
}

func TestRandomMixKeepsRefcounts(t *testing.T) {
	seed := uint64(time.Now().UnixNano())
	if s := os.Getenv("ATTACHMENTS_SEED"); s != "" {
		seed, _ = strconv.ParseUint(s, 10, 64)
	}
	t.Logf("seed %d (replay with ATTACHMENTS_SEED=%d)", seed, seed)
	r := rand.New(rand.NewPCG(seed, seed))

	tn := newNode(t)
	tok := tn.token("alice", "read", "write", "delete")
	contents := make([][]byte, 6)
	for i := range contents {
		contents[i] = randomBytes(seed+uint64(i), 64<<10+r.IntN(600<<10))
	}
	var live []fileJSON
	for op := 0; op < 60; op++ {
		if len(live) > 0 && r.IntN(3) == 0 {
			i := r.IntN(len(live))
			if code, _ := tn.status("DELETE", "/v1/files/"+live[i].ID, tok, nil, nil); code != 204 {
				t.Fatalf("seed %d: delete: %d", seed, code)
			}
			live = append(live[:i], live[i+1:]...)
			continue
		}
		c := r.IntN(len(contents))
		live = append(live, tn.upload(tok, "ticket", fmt.Sprint("T-", r.IntN(4)), "f", contents[c]))
	}
	verifyMeta(t, tn)
	collectAfterGrace(t, tn)
	verifyMeta(t, tn)
	for _, f := range live {
		got := tn.download(tok, f.ID)
		if fmt.Sprintf("%x", sha256Sum(got)) != f.FileHash {
			t.Fatalf("seed %d: reference %s downloads wrong bytes", seed, f.ID)
		}
	}
}

func TestRestartAndSnapshotLoseNothing(t *testing.T) {
	dir := t.TempDir()
	cfg := testConfig(t, dir)
	tn := startNode(t, cfg)
	tok := tn.token("alice", "read", "write", "delete")
	want := map[string][]byte{}
	for i := range 5 {
		data := randomBytes(uint64(100+i), 200_000*(i+1))
		want[tn.upload(tok, "ticket", "T-1", "f", data).ID] = data
	}
	if err := tn.n.Meta().Snapshot(); err != nil {
		t.Fatal(err)
	}
	for i := range 3 {
		data := randomBytes(uint64(200+i), 300_000)
		want[tn.upload(tok, "ticket", "T-2", "g", data).ID] = data
	}
	if err := tn.n.Close(); err != nil {
		t.Fatal(err)
	}

	cfg.Service.Port = freePort(t)
	tn2 := startNode(t, cfg)
	tn2.secret = tn.secret
	for id, data := range want {
		if got := tn2.download(tok, id); !bytes.Equal(got, data) {
			t.Errorf("reference %s lost or changed across restart", id)
		}
	}
	verifyMeta(t, tn2)
}

func TestConcurrentUploadsAndDeletesOfSameBytes(t *testing.T) {
	tn := newNode(t)
	tok := tn.token("alice", "read", "write", "delete")
	data := randomBytes(77, 700_000)
	var wg sync.WaitGroup
	var kept atomic.Value
	for w := range 4 {
		wg.Add(1)
		go func() {
			defer wg.Done()
			for i := range 6 {
				f := tn.upload(tok, "ticket", fmt.Sprint("W", w), "same", data)
				if w == 0 && i == 5 {
					kept.Store(f.ID)
					continue
				}
				tn.status("DELETE", "/v1/files/"+f.ID, tok, nil, nil)
				tn.n.CollectGarbage(context.Background(), time.Now())
			}
		}()
	}
	wg.Wait()
	verifyMeta(t, tn)
	if got := tn.download(tok, kept.Load().(string)); !bytes.Equal(got, data) {
		t.Fatal("the kept reference lost its bytes")
	}
}

func TestHealthAndMetrics(t *testing.T) {
	tn := newNode(t)
	tok := tn.token("alice", "read", "write")
	tn.upload(tok, "ticket", "T-1", "a", textBytes(1, 10_000))
	tn.upload(tok, "ticket", "T-2", "a", textBytes(1, 10_000))

	resp := tn.do("GET", "/health", "", nil, nil)
	body, _ := io.ReadAll(resp.Body)
	resp.Body.Close()
	if resp.StatusCode != 200 || !bytes.Contains(body, []byte(`"metadata"`)) ||
		!bytes.Contains(body, []byte(`"storage_primary"`)) || !bytes.Contains(body, []byte(tn.n.NodeID())) {
		t.Errorf("health: %d %s", resp.StatusCode, body)
	}

	resp = tn.do("GET", "/metrics", "", nil, nil)
	body, _ = io.ReadAll(resp.Body)
	resp.Body.Close()
	for _, want := range []string{"attachments_uploads_total 2", "attachments_ref_count 2",
		"attachments_logical_bytes 20000", "attachments_stored_bytes 10000",
		"attachments_storage_bytes", "attachments_downloads_total",
		"attachments_request_duration_seconds", "attachments_errors_total"} {
		if !bytes.Contains(body, []byte(want)) {
			t.Errorf("metrics lack %q", want)
		}
	}
}
