package node

import (
	"errors"
	"io"
	"log/slog"
	"net"
	"syscall"
	"testing"
)

// scriptedListener fails Accept with the listed errors, then accepts from
// a real loopback listener. It stands in for the kernel running out of
// file descriptors, which a test cannot arrange without starving the
// whole test process.
type scriptedListener struct {
	net.Listener
	errs []error
}

func (l *scriptedListener) Accept() (net.Conn, error) {
	if len(l.errs) > 0 {
		err := l.errs[0]
		l.errs = l.errs[1:]
		return nil, &net.OpError{Op: "accept", Net: "tcp", Err: err}
	}
	return l.Listener.Accept()
}

func TestRetryListenerOutlastsDescriptorExhaustion(t *testing.T) {
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	defer ln.Close()
	scripted := &scriptedListener{Listener: ln,
		errs: []error{syscall.EMFILE, syscall.ENFILE, syscall.ECONNABORTED}}
	rl := &retryListener{Listener: scripted, log: slog.New(slog.NewTextHandler(io.Discard, nil))}

	go func() {
		if c, err := net.Dial("tcp", ln.Addr().String()); err == nil {
			c.Close()
		}
	}()
	c, err := rl.Accept()
	if err != nil {
		t.Fatalf("accept after transient errors: %v", err)
	}
	c.Close()

	// A closed listener is not transient: Accept returns its error.
	ln.Close()
	if _, err := rl.Accept(); err == nil || !errors.Is(err, net.ErrClosed) {
		t.Errorf("accept on a closed listener: %v, want net.ErrClosed", err)
	}
}
