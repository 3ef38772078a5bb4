package api

import (
	"bytes"
	"context"
	"encoding/json"
	"errors"
	"io"
	"mime/multipart"
	"net"
	"net/http"
	"net/textproto"
	"sync/atomic"
	"testing"
	"time"

	"github.com/prometheus/client_golang/prometheus"
)

// testSecret signs the tokens of every handler test.
var testSecret = []byte("test-secret-0123456789abcdef")

// testServer is a Server on a loopback listener with a memBackend.
type testServer struct {
	url    string
	addr   string
	be     *memBackend
	reg    *prometheus.Registry
	client *http.Client
	// received counts the bytes the server read from all its connections.
	received *atomic.Int64
}

// startServer runs a Server until the test ends. edit, if not nil, may
// change the options before the server is built.
func startServer(t testing.TB, edit func(*Options)) *testServer {
	t.Helper()
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatalf("listen: %v", err)
	}
	ts := &testServer{
		url:      "http://" + ln.Addr().String(),
		addr:     ln.Addr().String(),
		be:       newMemBackend(),
		reg:      prometheus.NewRegistry(),
		client:   &http.Client{Transport: &http.Transport{}, Timeout: 20 * time.Second},
		received: new(atomic.Int64),
	}
	o := Options{
		Backend:        ts.be,
		JWTSecret:      testSecret,
		MaxUploadBytes: 1 << 20,
		Registry:       ts.reg,
		Version:        "test-version",
	}
	if edit != nil {
		edit(&o)
	}
	srv := NewServer(o)

	served := make(chan error, 1)
	go func() { served <- srv.Serve(countingListener{Listener: ln, n: ts.received}) }()
	t.Cleanup(func() {
		ts.client.CloseIdleConnections()
		ctx, cancel := context.WithTimeout(context.Background(), 10*time.Second)
		defer cancel()
		if err := srv.Shutdown(ctx); err != nil {
			t.Errorf("shutdown: %v", err)
		}
		if err := <-served; err != nil {
			t.Errorf("serve returned %v, want nil after shutdown", err)
		}
	})
	return ts
}

// token mints a token for sub with perms, valid for an hour.
func token(t testing.TB, sub string, perms ...string) string {
	t.Helper()
	tok, err := MintToken(testSecret, sub, perms, time.Hour)
	if err != nil {
		t.Fatalf("mint token: %v", err)
	}
	return tok
}

// reply is a response with its body read.
type reply struct {
	status int
	header http.Header
	body   []byte
}

// do sends one request and reads the whole answer. tok "" sends no
// Authorization; header adds request headers.
func (ts *testServer) do(t *testing.T, method, path, tok string, body io.Reader,
	header map[string]string) reply {
	t.Helper()
	req, err := http.NewRequest(method, ts.url+path, body)
	if err != nil {
		t.Fatalf("new request: %v", err)
	}
	if tok != "" {
		req.Header.Set("Authorization", "Bearer "+tok)
	}
	for k, v := range header {
		req.Header.Set(k, v)
	}
	resp, err := ts.client.Do(req)
	if err != nil {
		t.Fatalf("%s %s: %v", method, path, err)
	}
	defer resp.Body.Close()
	b, err := io.ReadAll(resp.Body)
	if err != nil {
		t.Fatalf("%s %s: read body: %v", method, path, err)
	}
	if resp.Header.Get("X-Request-Id") == "" {
		t.Errorf("%s %s: no X-Request-Id", method, path)
	}
	return reply{status: resp.StatusCode, header: resp.Header, body: b}
}

// formPart is one part of a multipart body. A part with a fileName is
// sent as a file.
type formPart struct {
	name, fileName, value string
}

// fixedBoundary separates the parts of every form the tests build, so
// that fuzz seeds and replays are reproducible.
const fixedBoundary = "test-boundary-7d1f0c"

// buildForm encodes parts, in order, as multipart/form-data.
func buildForm(t testing.TB, parts []formPart) (contentType string, body []byte) {
	t.Helper()
	var buf bytes.Buffer
	w := multipart.NewWriter(&buf)
	if err := w.SetBoundary(fixedBoundary); err != nil {
		t.Fatalf("set boundary: %v", err)
	}
	for _, p := range parts {
		h := textproto.MIMEHeader{}
		cd := `form-data; name="` + p.name + `"`
		if p.fileName != "" {
			cd += `; filename="` + p.fileName + `"`
		}
		h.Set("Content-Disposition", cd)
		pw, err := w.CreatePart(h)
		if err != nil {
			t.Fatalf("create part: %v", err)
		}
		if _, err := io.WriteString(pw, p.value); err != nil {
			t.Fatalf("write part: %v", err)
		}
	}
	if err := w.Close(); err != nil {
		t.Fatalf("close form: %v", err)
	}
	return w.FormDataContentType(), buf.Bytes()
}

// upload posts parts to /v1/files with tok.
func (ts *testServer) upload(t *testing.T, tok string, parts []formPart) reply {
	t.Helper()
	ct, body := buildForm(t, parts)
	return ts.do(t, "POST", "/v1/files", tok, bytes.NewReader(body),
		map[string]string{"Content-Type": ct})
}

// decode unmarshals a reply's JSON body into v.
func decode(t *testing.T, r reply, v any) {
	t.Helper()
	if err := json.Unmarshal(r.body, v); err != nil {
		t.Fatalf("decode %q: %v", r.body, err)
	}
}

// wantError checks that r is an error answer with status and code.
func wantError(t *testing.T, r reply, status int, code string) {
	t.Helper()
	if r.status != status {
		t.Errorf("status = %d, want %d (body %s)", r.status, status, r.body)
	}
	var e errorBody
	if err := json.Unmarshal(r.body, &e); err != nil {
		t.Fatalf("error body %q is not JSON: %v", r.body, err)
	}
	if e.Error.Code != code || e.Error.Message == "" {
		t.Errorf("error = %+v, want code %q and a message", e.Error, code)
	}
}

// errTest is an error no row of errorTable matches.
var errTest = errors.New("disk on fire at /var/lib/secret")

// countingListener counts the bytes read from the connections it accepts.
type countingListener struct {
	net.Listener
	n *atomic.Int64
}

func (l countingListener) Accept() (net.Conn, error) {
	c, err := l.Listener.Accept()
	if err != nil {
		return nil, err
	}
	return countingConn{Conn: c, n: l.n}, nil
}

type countingConn struct {
	net.Conn
	n *atomic.Int64
}

func (c countingConn) Read(p []byte) (int, error) {
	n, err := c.Conn.Read(p)
	c.n.Add(int64(n))
	return n, err
}
