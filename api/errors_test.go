package api

import (
	"bufio"
	"errors"
	"fmt"
	"io"
	"net"
	"net/http"
	"os"
	"testing"

	"github.com/valyala/fasthttp"

	"github.com/helixtrack/attachments/meta"
)

func TestClassify(t *testing.T) {
	tests := []struct {
		name   string
		err    error
		status int
		code   string
	}{
		{name: "not found", err: fmt.Errorf("ref x: %w", meta.ErrNotFound),
			status: 404, code: "not_found"},
		{name: "too large", err: fmt.Errorf("ingest: %w", ErrTooLarge),
			status: 413, code: "too_large"},
		{name: "media type", err: fmt.Errorf("ingest: %w", ErrMediaType),
			status: 415, code: "unsupported_media_type"},
		{name: "unavailable", err: fmt.Errorf("commit: %w", ErrUnavailable),
			status: 503, code: "unavailable"},
		{name: "range", err: fmt.Errorf("range: %w", ErrRangeNotSatisfiable),
			status: 416, code: "range_not_satisfiable"},
		{name: "bad request", err: badRequest("limit must be positive"),
			status: 400, code: "bad_request"},
		{name: "unauthorized", err: unauthorized("no token"),
			status: 401, code: "unauthorized"},
		{name: "forbidden", err: fmt.Errorf("route: %w", errForbidden),
			status: 403, code: "forbidden"},
		{name: "no route", err: errNoRoute, status: 404, code: "not_found"},
		{name: "method", err: errMethod, status: 405, code: "method_not_allowed"},
		{name: "unknown", err: errors.New("boom"), status: 500, code: "internal"},
		{name: "joined picks the first row", status: 404, code: "not_found",
			err: errors.Join(ErrUnavailable, meta.ErrNotFound)},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			k := classify(tt.err)
			if k.status != tt.status || k.code != tt.code {
				t.Errorf("classify(%v) = %d %s, want %d %s", tt.err, k.status, k.code,
					tt.status, tt.code)
			}
		})
	}
}

func TestPublicMessage(t *testing.T) {
	tests := []struct {
		name string
		err  error
		want string
	}{
		{name: "detail is shown", err: badRequest("limit must be positive"),
			want: "limit must be positive"},
		{name: "wrapped detail is shown", err: fmt.Errorf("list: %w", badRequest("bad cursor")),
			want: "bad cursor"},
		{name: "backend text is hidden", err: fmt.Errorf("node n2 at 10.0.0.2: %w",
			meta.ErrNotFound), want: "not found"},
		{name: "internal text is hidden", err: errTest, want: "internal error"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			if got := publicMessage(tt.err, classify(tt.err)); got != tt.want {
				t.Errorf("publicMessage(%v) = %q, want %q", tt.err, got, tt.want)
			}
		})
	}
}

func TestErrorTableIsConsistent(t *testing.T) {
	seen := map[error]bool{}
	for _, k := range errorTable {
		if k.err == nil || seen[k.err] || k.code == "" || k.message == "" ||
			k.status < 400 || k.status == internalKind.status {
			t.Errorf("bad row %+v", k)
		}
		seen[k.err] = true
	}
}

func TestFramingError(t *testing.T) {
	tests := []struct {
		name   string
		err    error
		status int
	}{
		{name: "small buffer", err: &fasthttp.ErrSmallBuffer{}, status: 431},
		{name: "timeout", err: &net.OpError{Op: "read", Err: os.ErrDeadlineExceeded},
			status: 408},
		{name: "garbage", err: errors.New("cannot parse request line"), status: 400},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			if got := classify(framingError(tt.err)).status; got != tt.status {
				t.Errorf("status = %d, want %d", got, tt.status)
			}
		})
	}
}

func TestMalformedRequest(t *testing.T) {
	ts := startServer(t, nil)
	conn := dialDeadline(t, ts.addr)
	if err := writeString(conn, "GET /health HTTP/1.1\r\nHost: x\r\n"+
		"Content-Length: ten\r\n\r\n"); err != nil {
		t.Fatal(err)
	}
	resp, err := http.ReadResponse(bufio.NewReader(conn), nil)
	if err != nil {
		t.Fatalf("read response: %v", err)
	}
	defer resp.Body.Close()
	b, _ := io.ReadAll(resp.Body)
	wantError(t, reply{status: resp.StatusCode, body: b}, 400, "bad_request")
	if resp.Header.Get("X-Request-Id") == "" {
		t.Error("no X-Request-Id on a framing error")
	}
}
