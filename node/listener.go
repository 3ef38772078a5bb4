package node

import (
	"errors"
	"log/slog"
	"net"
	"syscall"
	"time"
)

// retryListener keeps accepting through errors that pass: running out of
// file descriptors (EMFILE, ENFILE) or a connection aborted before it was
// accepted. fasthttp treats every accept error but a timeout as the end of
// serving, so without this a burst of connections that exhausts the
// descriptor limit would stop the API for good while the rest of the node,
// and its gossip, look alive.
type retryListener struct {
	net.Listener
	log *slog.Logger
}

// maxAcceptBackoff caps the wait between attempts while descriptors are
// exhausted.
const maxAcceptBackoff = time.Second

// Accept implements net.Listener.
func (l *retryListener) Accept() (net.Conn, error) {
	var wait time.Duration
	var lastLog time.Time
	for {
		c, err := l.Listener.Accept()
		if err == nil || !transientAccept(err) {
			return c, err
		}
		wait = min(max(2*wait, 5*time.Millisecond), maxAcceptBackoff)
		if time.Since(lastLog) > 10*time.Second {
			l.log.Warn("accept failing, retrying", "err", err, "backoff", wait)
			lastLog = time.Now()
		}
		time.Sleep(wait)
	}
}

// transientAccept reports whether an accept error may clear by itself.
func transientAccept(err error) bool {
	return errors.Is(err, syscall.EMFILE) || errors.Is(err, syscall.ENFILE) ||
		errors.Is(err, syscall.ECONNABORTED) || errors.Is(err, syscall.ENOBUFS) ||
		errors.Is(err, syscall.ENOMEM)
}
