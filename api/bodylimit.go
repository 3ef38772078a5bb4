package api

import (
	"errors"
	"fmt"
	"io"
)

// limitReader passes at most left bytes of r through and fails with
// ErrTooLarge as soon as one more arrives. Unlike io.LimitReader it
// reports the overflow instead of a quiet io.EOF, which would let a
// truncated upload look complete.
//
// It also remembers the first read error of r, because mime/multipart and
// the backend may wrap or replace it: after a failure, exceeded and err
// say whether the client was at fault, and how.
type limitReader struct {
	r    io.Reader
	left int64
	// exceeded is set once more than the limit was offered.
	exceeded bool
	// err is the first error r returned other than io.EOF.
	err error
}

// Read implements io.Reader.
func (l *limitReader) Read(p []byte) (int, error) {
	if l.exceeded {
		return 0, ErrTooLarge
	}
	// Ask for one byte past the limit, to tell "ends exactly at the limit"
	// from "goes on".
	if int64(len(p)) > l.left+1 {
		p = p[:l.left+1]
	}
	n, err := l.r.Read(p)
	if int64(n) > l.left {
		l.exceeded = true
		n = int(l.left)
		l.left = 0
		return n, ErrTooLarge
	}
	l.left -= int64(n)
	if err != nil && !errors.Is(err, io.EOF) && l.err == nil {
		l.err = err
	}
	return n, err
}

// explain turns a failure met while reading the body through l into the
// error the client gets: 413 if the body passed the limit, 400 otherwise,
// since a body that cannot be read or parsed is the client's doing.
func (l *limitReader) explain(op string, err error) error {
	if l.exceeded {
		return fmt.Errorf("%s: %w", op, ErrTooLarge)
	}
	if err == nil {
		err = l.err
	}
	return badRequest("%s: %v", op, err)
}
