package api

import (
	"bufio"
	"bytes"
	"errors"
	"fmt"
	"io"
	"net"
	"net/http"
	"strings"
	"testing"
	"testing/iotest"
	"time"
)

func TestLimitReader(t *testing.T) {
	tests := []struct {
		name     string
		input    string
		limit    int64
		want     string
		exceeded bool
	}{
		{name: "under", input: "abc", limit: 5, want: "abc"},
		{name: "exactly at limit", input: "abcde", limit: 5, want: "abcde"},
		{name: "one over", input: "abcdef", limit: 5, want: "abcde", exceeded: true},
		{name: "zero limit, empty", input: "", limit: 0, want: ""},
		{name: "zero limit, one byte", input: "a", limit: 0, want: "", exceeded: true},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			// OneByteReader makes every boundary case happen on its own Read.
			for _, src := range []io.Reader{
				strings.NewReader(tt.input), iotest.OneByteReader(strings.NewReader(tt.input)),
			} {
				l := &limitReader{r: src, left: tt.limit}
				got, err := io.ReadAll(l)
				if string(got) != tt.want || l.exceeded != tt.exceeded {
					t.Errorf("read %q exceeded=%v, want %q exceeded=%v",
						got, l.exceeded, tt.want, tt.exceeded)
				}
				if tt.exceeded != errors.Is(err, ErrTooLarge) {
					t.Errorf("err = %v, want ErrTooLarge: %v", err, tt.exceeded)
				}
			}
		})
	}
}

func TestLimitReaderKeepsReadError(t *testing.T) {
	broken := errors.New("connection reset")
	l := &limitReader{r: iotest.ErrReader(broken), left: 10}
	if _, err := io.ReadAll(l); !errors.Is(err, broken) || !errors.Is(l.err, broken) {
		t.Fatalf("err = %v, kept %v, want %v", err, l.err, broken)
	}
	got := l.explain("read part", errors.New("multipart: wrapped"))
	if !errors.Is(got, errBadRequest) {
		t.Errorf("explain = %v, want a bad request", got)
	}
}

// TestUploadSizeLimit checks the limit on the file part while it streams,
// with a Content-Length small enough to pass the up-front check.
func TestUploadSizeLimit(t *testing.T) {
	const limit = 1000
	ts := startServer(t, func(o *Options) { o.MaxUploadBytes = limit })
	tok := token(t, "alice", "write")
	for _, size := range []int{limit - 1, limit, limit + 1, 3 * limit} {
		t.Run(fmt.Sprint(size), func(t *testing.T) {
			r := ts.upload(t, tok, []formPart{
				{name: "entity_type", value: "t"}, {name: "entity_id", value: "1"},
				{name: "file", fileName: "f", value: strings.Repeat("z", size)},
			})
			if size <= limit && r.status != 201 {
				t.Errorf("status = %d, want 201: %s", r.status, r.body)
			}
			if size > limit {
				wantError(t, r, 413, "too_large")
			}
		})
	}
}

// TestUploadTooLargeChunked sends a chunked body, with no Content-Length,
// far larger than the limit, and leaves it unfinished: the last chunk is
// never sent. A server that waited for the end of the body would never
// answer; this one must answer 413 while the client is still sending.
//
// It speaks HTTP over a raw connection because the server closes the
// connection after answering (the rest of the body is not worth reading),
// and net/http's client may then report its failed write instead of the
// answer that had already arrived.
func TestUploadTooLargeChunked(t *testing.T) {
	const limit = 256 << 10
	ts := startServer(t, func(o *Options) { o.MaxUploadBytes = limit })
	conn := dialDeadline(t, ts.addr)

	head := "POST /v1/files HTTP/1.1\r\nHost: x\r\nTransfer-Encoding: chunked\r\n" +
		"Authorization: Bearer " + token(t, "alice", "write") + "\r\n" +
		"Content-Type: multipart/form-data; boundary=b\r\n\r\n"
	prefix := "--b\r\nContent-Disposition: form-data; name=\"entity_type\"\r\n\r\nt\r\n" +
		"--b\r\nContent-Disposition: form-data; name=\"file\"; filename=\"big\"\r\n\r\n"
	sent := make(chan int64, 1)
	go func() {
		// Stops at the first failed write, or after 64 times the limit.
		var n int64
		frame := func(b string) error {
			_, err := fmt.Fprintf(conn, "%x\r\n%s\r\n", len(b), b)
			n += int64(len(b))
			return err
		}
		err := writeString(conn, head)
		if err == nil {
			err = frame(prefix)
		}
		for chunk := strings.Repeat("x", 32<<10); err == nil && n < 64*limit; {
			err = frame(chunk)
		}
		sent <- n
	}()

	resp, err := http.ReadResponse(bufio.NewReader(conn), nil)
	if err != nil {
		t.Fatalf("read response: %v (a server that waits for the body never answers)", err)
	}
	b, _ := io.ReadAll(resp.Body)
	resp.Body.Close()
	wantError(t, reply{status: resp.StatusCode, body: b}, 413, "too_large")
	conn.Close()
	n := <-sent

	// What the server read: up to the limit, the form allowance, what
	// fasthttp drains before it gives up on a connection (256 KiB), and
	// read buffers. Far less than the client sent.
	read, most := ts.received.Load(), int64(limit+formAllowance+256<<10+64<<10)
	t.Logf("client sent %d body bytes; server read %d", n, read)
	if read > most {
		t.Errorf("server read %d bytes, want at most %d", read, most)
	}
	if n := ts.be.refCount(); n != 0 {
		t.Errorf("%d references after a refused upload, want 0", n)
	}
}

// dialDeadline connects to addr; every read and write must be done within
// ten seconds. The connection is closed when the test ends.
func dialDeadline(t *testing.T, addr string) net.Conn {
	t.Helper()
	conn, err := net.Dial("tcp", addr)
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { conn.Close() })
	if err := conn.SetDeadline(time.Now().Add(10 * time.Second)); err != nil {
		t.Fatal(err)
	}
	return conn
}

func writeString(w io.Writer, s string) error {
	_, err := io.WriteString(w, s)
	return err
}

// TestUploadTooLargeDeclared sends only the headers and a first slice of a
// body whose Content-Length is past the limit. The answer must come from
// the headers alone.
func TestUploadTooLargeDeclared(t *testing.T) {
	const limit = 1 << 20
	ts := startServer(t, func(o *Options) { o.MaxUploadBytes = limit })
	conn := dialDeadline(t, ts.addr)

	head := fmt.Sprintf("POST /v1/files HTTP/1.1\r\nHost: x\r\n"+
		"Authorization: Bearer %s\r\nContent-Type: multipart/form-data; boundary=b\r\n"+
		"Content-Length: %d\r\n\r\n", token(t, "alice", "write"), 10*limit)
	// fasthttp reads up to 8 KiB of a body before it calls the handler.
	if _, err := io.WriteString(conn, head+strings.Repeat("x", 8<<10)); err != nil {
		t.Fatal(err)
	}
	resp, err := http.ReadResponse(bufio.NewReader(conn), nil)
	if err != nil {
		t.Fatalf("read response: %v", err)
	}
	defer resp.Body.Close()
	b, _ := io.ReadAll(resp.Body)
	wantError(t, reply{status: resp.StatusCode, body: b}, 413, "too_large")
}

// TestUploadStreams proves that the file part reaches the backend while
// the client is still sending: the client holds back the second half of
// the body until the backend has seen the first. A body of several MiB,
// larger than fasthttp's default MaxRequestBodySize, with a declared
// length, must stream too.
func TestUploadStreams(t *testing.T) {
	const size = 6 << 20
	ts := startServer(t, func(o *Options) { o.MaxUploadBytes = 8 << 20 })
	reached := make(chan struct{})
	ts.be.mu.Lock()
	ts.be.ingestHook = func(r io.Reader) io.Reader {
		return &signalReader{r: r, at: 1 << 20, reached: reached}
	}
	ts.be.mu.Unlock()

	ct, form := buildForm(t, []formPart{
		{name: "entity_type", value: "t"}, {name: "entity_id", value: "1"},
		{name: "file", fileName: "big", value: strings.Repeat("s", size)},
	})
	half := len(form) / 2
	pr, pw := io.Pipe()
	wrote := make(chan error, 1)
	go func() {
		_, err := pw.Write(form[:half])
		if err == nil {
			select {
			case <-reached:
			case <-time.After(10 * time.Second):
				err = errors.New("backend saw nothing of the first half")
			}
		}
		if err == nil {
			_, err = pw.Write(form[half:])
		}
		pw.CloseWithError(err)
		wrote <- err
	}()

	req, err := http.NewRequest("POST", ts.url+"/v1/files", pr)
	if err != nil {
		t.Fatal(err)
	}
	req.ContentLength = int64(len(form))
	req.Header.Set("Content-Type", ct)
	req.Header.Set("Authorization", "Bearer "+token(t, "alice", "write"))
	resp, err := ts.client.Do(req)
	if werr := <-wrote; werr != nil {
		t.Fatalf("client: %v", werr)
	}
	if err != nil {
		t.Fatalf("post: %v", err)
	}
	defer resp.Body.Close()
	b, _ := io.ReadAll(resp.Body)
	if resp.StatusCode != 201 || !bytes.Contains(b, []byte(fmt.Sprintf(`"size":%d`, size))) {
		t.Fatalf("status %d body %s, want 201 with size %d", resp.StatusCode, b, size)
	}
}

// signalReader closes reached once at bytes have been read through it.
type signalReader struct {
	r       io.Reader
	at      int64
	n       int64
	reached chan struct{}
}

func (s *signalReader) Read(p []byte) (int, error) {
	n, err := s.r.Read(p)
	before := s.n
	s.n += int64(n)
	if before < s.at && s.n >= s.at {
		close(s.reached)
	}
	return n, err
}

// TestUploadExpectContinue follows what curl does with a large body: send
// the headers with Expect: 100-continue, and the body only once told to.
func TestUploadExpectContinue(t *testing.T) {
	ts := startServer(t, nil)
	conn := dialDeadline(t, ts.addr)
	ct, form := buildForm(t, []formPart{
		{name: "entity_type", value: "t"}, {name: "entity_id", value: "1"},
		{name: "file", fileName: "f", value: "sent after 100"},
	})
	head := fmt.Sprintf("POST /v1/files HTTP/1.1\r\nHost: x\r\nExpect: 100-continue\r\n"+
		"Authorization: Bearer %s\r\nContent-Type: %s\r\nContent-Length: %d\r\n\r\n",
		token(t, "alice", "write"), ct, len(form))
	if err := writeString(conn, head); err != nil {
		t.Fatal(err)
	}
	br := bufio.NewReader(conn)
	line, err := br.ReadString('\n')
	if err != nil || !strings.HasPrefix(line, "HTTP/1.1 100") {
		t.Fatalf("interim answer %q, %v; want 100 Continue", line, err)
	}
	if _, err := br.ReadString('\n'); err != nil { // the blank line ending it
		t.Fatal(err)
	}
	if _, err := conn.Write(form); err != nil {
		t.Fatal(err)
	}
	resp, err := http.ReadResponse(br, nil)
	if err != nil {
		t.Fatalf("read response: %v", err)
	}
	defer resp.Body.Close()
	if resp.StatusCode != 201 {
		b, _ := io.ReadAll(resp.Body)
		t.Fatalf("status %d: %s", resp.StatusCode, b)
	}
}
