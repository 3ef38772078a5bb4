package api

import (
	"bufio"
	"fmt"
	"io"
	"net"
	"strings"
	"testing"
	"time"
)

// TestSlowHeadersAreCut: a client that trickles its headers loses the
// connection after ReadTimeout, so it cannot hold one open forever.
func TestSlowHeadersAreCut(t *testing.T) {
	ts := startServer(t, func(o *Options) {
		o.ReadTimeout = 300 * time.Millisecond
		o.BodyTimeout = 5 * time.Second
	})
	conn, err := net.Dial("tcp", ts.addr)
	if err != nil {
		t.Fatal(err)
	}
	defer conn.Close()
	fmt.Fprintf(conn, "GET /health HTTP/1.1\r\nHost: x\r\n") // never finished
	conn.SetReadDeadline(time.Now().Add(5 * time.Second))
	start := time.Now()
	_, err = io.ReadAll(conn)
	if err != nil {
		t.Fatalf("connection not closed by the server: %v", err)
	}
	if waited := time.Since(start); waited > 3*time.Second {
		t.Errorf("server held a half-sent request for %s", waited)
	}
}

// TestBodyTimeoutOutlastsReadTimeout: an upload that takes longer than
// ReadTimeout but less than BodyTimeout still succeeds.
func TestBodyTimeoutOutlastsReadTimeout(t *testing.T) {
	ts := startServer(t, func(o *Options) {
		o.ReadTimeout = 300 * time.Millisecond
		o.BodyTimeout = 10 * time.Second
	})
	tok := token(t, "alice", "write")
	body := "--b\r\nContent-Disposition: form-data; name=\"entity_type\"\r\n\r\nticket\r\n" +
		"--b\r\nContent-Disposition: form-data; name=\"entity_id\"\r\n\r\nT-1\r\n" +
		"--b\r\nContent-Disposition: form-data; name=\"file\"; filename=\"a.txt\"\r\n\r\n" +
		"slow bytes\r\n--b--\r\n"
	conn, err := net.Dial("tcp", ts.addr)
	if err != nil {
		t.Fatal(err)
	}
	defer conn.Close()
	fmt.Fprintf(conn, "POST /v1/files HTTP/1.1\r\nHost: x\r\nAuthorization: Bearer %s\r\n"+
		"Content-Type: multipart/form-data; boundary=b\r\nContent-Length: %d\r\n\r\n", tok, len(body))
	// Send the body in four pieces spread over about a second: three times
	// the header timeout.
	for i, piece := range splitN(body, 4) {
		if i > 0 {
			time.Sleep(300 * time.Millisecond)
		}
		io.WriteString(conn, piece)
	}
	conn.SetReadDeadline(time.Now().Add(5 * time.Second))
	status, err := bufio.NewReader(conn).ReadString('\n')
	if err != nil || !strings.Contains(status, " 201 ") {
		t.Fatalf("slow upload within the body timeout: %q, %v; want 201", status, err)
	}
}

func splitN(s string, n int) []string {
	var out []string
	step := (len(s) + n - 1) / n
	for len(s) > step {
		out = append(out, s[:step])
		s = s[step:]
	}
	return append(out, s)
}
