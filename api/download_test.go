package api

import (
	"mime"
	"strings"
	"testing"
	"unicode"
	"unicode/utf8"
)

// uploaded puts content on ts as alice and returns its JSON.
func uploaded(t *testing.T, ts *testServer, filename, content string) fileJSON {
	t.Helper()
	r := ts.upload(t, token(t, "alice", "write"), []formPart{
		{name: "entity_type", value: "ticket"}, {name: "entity_id", value: "T-1"},
		{name: "file", fileName: "upload.bin", value: content},
		{name: "filename", value: filename},
	})
	if r.status != 201 {
		t.Fatalf("upload: status %d: %s", r.status, r.body)
	}
	var f fileJSON
	decode(t, r, &f)
	return f
}

func TestDownload(t *testing.T) {
	ts := startServer(t, nil)
	const content = "0123456789abcdefghij"
	f := uploaded(t, ts, "report.txt", content)
	etag := `"` + f.FileHash + `"`
	path := "/v1/files/" + string(f.ID) + "/download"
	read := token(t, "bob", "read")

	tests := []struct {
		name         string
		header       map[string]string
		status       int
		body         string
		contentRange string
	}{
		{name: "whole", status: 200, body: content},
		{name: "closed range", header: map[string]string{"Range": "bytes=2-5"},
			status: 206, body: "2345", contentRange: "bytes 2-5/20"},
		{name: "open range", header: map[string]string{"Range": "bytes=15-"},
			status: 206, body: "fghij", contentRange: "bytes 15-19/20"},
		{name: "suffix range", header: map[string]string{"Range": "bytes=-3"},
			status: 206, body: "hij", contentRange: "bytes 17-19/20"},
		{name: "end past size is cut", header: map[string]string{"Range": "bytes=18-100"},
			status: 206, body: "ij", contentRange: "bytes 18-19/20"},
		{name: "multi-range ignored", header: map[string]string{"Range": "bytes=0-1,4-5"},
			status: 200, body: content},
		{name: "malformed range ignored", header: map[string]string{"Range": "bytes=5-2"},
			status: 200, body: content},
		{name: "if-range matches", header: map[string]string{"Range": "bytes=0-0",
			"If-Range": etag}, status: 206, body: "0", contentRange: "bytes 0-0/20"},
		{name: "if-range stale", header: map[string]string{"Range": "bytes=0-0",
			"If-Range": `"other"`}, status: 200, body: content},
		{name: "if-none-match other", header: map[string]string{"If-None-Match": `"x"`},
			status: 200, body: content},
		{name: "if-none-match etag", header: map[string]string{"If-None-Match": etag},
			status: 304},
		{name: "if-none-match weak in list", header: map[string]string{
			"If-None-Match": `"a", W/` + etag}, status: 304},
		{name: "if-none-match star", header: map[string]string{"If-None-Match": "*"},
			status: 304},
		{name: "not modified beats range", header: map[string]string{
			"If-None-Match": etag, "Range": "bytes=0-1"}, status: 304},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			r := ts.do(t, "GET", path, read, nil, tt.header)
			if r.status != tt.status || string(r.body) != tt.body {
				t.Fatalf("got %d %q, want %d %q", r.status, r.body, tt.status, tt.body)
			}
			if got := r.header.Get("Content-Range"); got != tt.contentRange {
				t.Errorf("Content-Range = %q, want %q", got, tt.contentRange)
			}
			wantHeaders := map[string]string{
				"ETag": etag, "Accept-Ranges": "bytes", "X-Content-Type-Options": "nosniff",
			}
			if tt.status != 304 {
				wantHeaders["Content-Type"] = "text/plain; charset=utf-8"
				wantHeaders["Content-Disposition"] = `attachment; filename="report.txt"`
			}
			for k, v := range wantHeaders {
				if got := r.header.Get(k); got != v {
					t.Errorf("%s = %q, want %q", k, got, v)
				}
			}
		})
	}
	if opened, closed := ts.be.readers(); opened == 0 || opened != closed {
		t.Errorf("backend readers: %d opened, %d closed", opened, closed)
	}
}

func TestDownloadHead(t *testing.T) {
	ts := startServer(t, nil)
	f := uploaded(t, ts, "a.txt", "twelve bytes")
	r := ts.do(t, "HEAD", "/v1/files/"+string(f.ID)+"/download", token(t, "b", "read"),
		nil, map[string]string{"Range": "bytes=2-"})
	if r.status != 206 || len(r.body) != 0 || r.header.Get("Content-Length") != "10" {
		t.Errorf("HEAD: %d, %d body bytes, Content-Length %q; want 206, 0, 10",
			r.status, len(r.body), r.header.Get("Content-Length"))
	}
	if opened, _ := ts.be.readers(); opened != 0 {
		t.Errorf("HEAD opened %d readers, want 0", opened)
	}
}

func TestDownloadErrors(t *testing.T) {
	ts := startServer(t, nil)
	f := uploaded(t, ts, "a.txt", "some content")
	read := token(t, "b", "read")
	path := "/v1/files/" + string(f.ID) + "/download"

	r := ts.do(t, "GET", path, read, nil, map[string]string{"Range": "bytes=12-"})
	wantError(t, r, 416, "range_not_satisfiable")
	if got := r.header.Get("Content-Range"); got != "bytes */12" {
		t.Errorf("416 Content-Range = %q, want bytes */12", got)
	}

	wantError(t, ts.do(t, "GET", "/v1/files/nope/download", read, nil, nil), 404, "not_found")
	wantError(t, ts.do(t, "GET", "/v1/files/bad%20id/download", read, nil, nil),
		404, "not_found")

	ts.be.failOn("Open", errTest)
	wantError(t, ts.do(t, "GET", path, read, nil, nil), 500, "internal")
}

// dispositionCases are the table of TestContentDisposition and the seeds
// of FuzzContentDisposition.
var dispositionCases = []struct {
	name, in, want string
}{
	{name: "plain", in: "report.pdf", want: `attachment; filename="report.pdf"`},
	{name: "empty", in: "", want: `attachment; filename="download"`},
	{name: "quotes and separators", in: `a"b/c\d.txt`,
		want: `attachment; filename="abcd.txt"`},
	{name: "control characters", in: "a\r\nb\x00c\x7f.txt",
		want: `attachment; filename="abc.txt"`},
	{name: "non-ascii", in: "résumé.pdf",
		want: `attachment; filename="r_sum_.pdf"; filename*=UTF-8''r%C3%A9sum%C3%A9.pdf`},
	{name: "percent", in: "100%.txt",
		want: `attachment; filename="100_.txt"; filename*=UTF-8''100%25.txt`},
	{name: "bidi override", in: "evil\u202etxt.exe",
		want: `attachment; filename="eviltxt.exe"`},
	{name: "invalid utf-8", in: "a\xffb",
		want: `attachment; filename="a_b"`},
	{name: "only junk", in: "/\"\\\x01", want: `attachment; filename="download"`},
	{name: "spaces and semicolon", in: "my file; v2.txt",
		want: `attachment; filename="my file; v2.txt"`},
	{name: "cjk", in: "報告.txt",
		want: `attachment; filename="__.txt"; filename*=UTF-8''%E5%A0%B1%E5%91%8A.txt`},
}

func TestContentDisposition(t *testing.T) {
	tests := dispositionCases
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			if got := contentDisposition(tt.in); got != tt.want {
				t.Errorf("contentDisposition(%q)\n got  %s\n want %s", tt.in, got, tt.want)
			}
		})
	}
}

// FuzzContentDisposition requires every output to be printable ASCII that
// parses back to a non-empty filename free of separators and controls.
func FuzzContentDisposition(f *testing.F) {
	for _, tt := range dispositionCases {
		f.Add(tt.in)
	}
	f.Fuzz(func(t *testing.T, name string) {
		v := contentDisposition(name)
		for _, c := range []byte(v) {
			if c < 0x20 || c > 0x7e {
				t.Fatalf("byte %#x in %q", c, v)
			}
		}
		typ, params, err := mime.ParseMediaType(v)
		if err != nil || typ != "attachment" {
			t.Fatalf("%q does not parse: %v", v, err)
		}
		got := params["filename"]
		if got == "" || strings.ContainsAny(got, `/\"`) || !utf8.ValidString(got) {
			t.Fatalf("filename %q from %q", got, v)
		}
		for _, c := range got {
			if unicode.IsControl(c) {
				t.Fatalf("control %U in filename %q", c, got)
			}
		}
	})
}

func TestDownloadEmptyFile(t *testing.T) {
	ts := startServer(t, nil)
	f := uploaded(t, ts, "empty", "")
	path := "/v1/files/" + string(f.ID) + "/download"
	read := token(t, "b", "read")

	r := ts.do(t, "GET", path, read, nil, nil)
	if r.status != 200 || len(r.body) != 0 || r.header.Get("Content-Length") != "0" {
		t.Errorf("empty file: %d %q Content-Length %q, want 200, no body, 0",
			r.status, r.body, r.header.Get("Content-Length"))
	}
	wantError(t, ts.do(t, "GET", path, read, nil, map[string]string{"Range": "bytes=0-"}),
		416, "range_not_satisfiable")
	if opened, closed := ts.be.readers(); opened != closed {
		t.Errorf("backend readers: %d opened, %d closed", opened, closed)
	}
}
