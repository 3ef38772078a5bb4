package api

import (
	"context"
	"errors"
	"fmt"
	"strings"
	"testing"
	"time"

	"github.com/valyala/fasthttp"

	"github.com/helixtrack/attachments/meta"
)

func TestHealth(t *testing.T) {
	ts := startServer(t, nil)
	ts.be.mu.Lock()
	ts.be.checks = []Check{
		{Name: "metadata", Latency: 1500 * time.Microsecond},
		{Name: "chunks", Latency: 2 * time.Millisecond},
	}
	ts.be.mu.Unlock()

	r := ts.do(t, "GET", "/health", "", nil, nil)
	var h healthJSON
	decode(t, r, &h)
	want := healthJSON{Status: "healthy", Version: "test-version", NodeID: "node-test",
		UptimeS: h.UptimeS, Checks: map[string]checkJSON{
			"metadata": {Status: "healthy", LatencyMS: 1.5},
			"chunks":   {Status: "healthy", LatencyMS: 2},
		}}
	if r.status != 200 || fmt.Sprint(h) != fmt.Sprint(want) || h.UptimeS < 0 {
		t.Errorf("health %d %+v, want 200 %+v", r.status, h, want)
	}

	ts.be.mu.Lock()
	ts.be.checks[1].Err = errors.New("2 of 3 disks failed")
	ts.be.mu.Unlock()
	r = ts.do(t, "GET", "/health", "", nil, nil)
	decode(t, r, &h)
	failed := checkJSON{Status: "unhealthy", LatencyMS: 2, Error: "2 of 3 disks failed"}
	if r.status != 503 || h.Status != "unhealthy" || h.Checks["chunks"] != failed ||
		h.Checks["metadata"].Status != "healthy" {
		t.Errorf("health %d %+v, want 503 with chunks %+v", r.status, h, failed)
	}
}

func TestMetrics(t *testing.T) {
	ts := startServer(t, nil)
	f := uploaded(t, ts, "m.txt", "metered content")
	read := token(t, "r", "read")
	ts.do(t, "GET", "/v1/files/"+string(f.ID)+"/download", read, nil, nil)
	ts.do(t, "GET", "/v1/files/missing", read, nil, nil)

	r := ts.do(t, "GET", "/metrics", "", nil, nil)
	if r.status != 200 {
		t.Fatalf("metrics: %d", r.status)
	}
	text := string(r.body)
	for _, want := range []string{
		"attachments_uploads_total 1",
		"attachments_downloads_total 1",
		"attachments_upload_bytes_total 15",
		"attachments_download_bytes_total 15",
		`attachments_errors_total{code="not_found"} 1`,
		`attachments_request_duration_seconds_count{method="POST",route="/v1/files",` +
			`status="201"} 1`,
		`attachments_request_duration_seconds_count{method="GET",route="/v1/files/{id}",` +
			`status="404"} 1`,
	} {
		if !strings.Contains(text, want+"\n") {
			t.Errorf("metrics lack %q", want)
		}
	}
}

func TestSharedRegistry(t *testing.T) {
	// Two servers on one registry count into the same series.
	a := startServer(t, nil)
	b := startServer(t, func(o *Options) { o.Registry = a.reg })
	b.do(t, "GET", "/nowhere", "", nil, nil)
	r := a.do(t, "GET", "/metrics", "", nil, nil)
	if !strings.Contains(string(r.body), `attachments_errors_total{code="not_found"} 1`) {
		t.Errorf("shared registry lacks the other server's error:\n%s", r.body)
	}
}

func TestRouting(t *testing.T) {
	ts := startServer(t, nil)
	tok := token(t, "a", "admin")
	tests := []struct {
		name, method, path string
		status             int
		code, allow        string
	}{
		{name: "unknown path", method: "GET", path: "/v2/files", status: 404, code: "not_found"},
		{name: "trailing slash", method: "GET", path: "/v1/files/", status: 404,
			code: "not_found"},
		{name: "root", method: "GET", path: "/", status: 404, code: "not_found"},
		{name: "internal without handler", method: "GET", path: "/internal/chunks/x",
			status: 404, code: "not_found"},
		{name: "put on files", method: "PUT", path: "/v1/files", status: 405,
			code: "method_not_allowed", allow: "POST"},
		{name: "post on a file", method: "POST", path: "/v1/files/abc", status: 405,
			code: "method_not_allowed", allow: "GET, DELETE"},
		{name: "delete health", method: "DELETE", path: "/health", status: 405,
			code: "method_not_allowed", allow: "GET"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			r := ts.do(t, tt.method, tt.path, tok, nil, nil)
			wantError(t, r, tt.status, tt.code)
			if got := r.header.Get("Allow"); got != tt.allow {
				t.Errorf("Allow = %q, want %q", got, tt.allow)
			}
		})
	}
}

func TestInternalHandler(t *testing.T) {
	ts := startServer(t, func(o *Options) {
		o.Internal = func(ctx *fasthttp.RequestCtx) {
			ctx.SetStatusCode(202)
			ctx.SetBodyString("internal " + string(ctx.Path()))
		}
	})
	r := ts.do(t, "PUT", "/internal/chunks/abc", token(t, "node/a", "admin"), nil, nil)
	if r.status != 202 || string(r.body) != "internal /internal/chunks/abc" {
		t.Errorf("internal: %d %q", r.status, r.body)
	}
	// Node-to-node routes need an admin token: none, or a lesser one, is
	// refused before the internal handler runs.
	wantError(t, ts.do(t, "PUT", "/internal/chunks/abc", "", nil, nil), 401, "unauthorized")
	wantError(t, ts.do(t, "PUT", "/internal/chunks/abc", token(t, "u", "read", "write"), nil, nil),
		403, "forbidden")
	// Only the /internal/ prefix goes there.
	wantError(t, ts.do(t, "GET", "/internalx", "", nil, nil), 404, "not_found")
}

func TestRequestIDs(t *testing.T) {
	ts := startServer(t, nil)
	seen := map[string]bool{}
	for range 20 {
		id := ts.do(t, "GET", "/health", "", nil, nil).header.Get("X-Request-Id")
		if len(id) != 16 || seen[id] {
			t.Fatalf("request id %q: want 16 hex characters, unique", id)
		}
		seen[id] = true
	}
}

// panicBackend panics in Reference, standing in for a bug in the node.
type panicBackend struct{ *memBackend }

func (panicBackend) Reference(context.Context, meta.RefID) (Item, error) {
	panic("bug in the node")
}

func TestHandlerPanic(t *testing.T) {
	ts := startServer(t, func(o *Options) { o.Backend = panicBackend{newMemBackend()} })
	read := token(t, "r", "read")
	wantError(t, ts.do(t, "GET", "/v1/files/abc", read, nil, nil), 500, "internal")
	// The server goes on serving.
	if r := ts.do(t, "GET", "/health", "", nil, nil); r.status != 200 {
		t.Errorf("health after a panic: %d", r.status)
	}
}
