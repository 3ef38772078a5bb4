package chunk

import (
	"errors"
	"fmt"
	"io"
)

// MaxChunkSize is the largest chunk the chunker may produce and the store
// accepts. It bounds the memory of one read or write.
const MaxChunkSize = 64 << 20

// minAvgSize is the smallest AvgSize accepted: the looser mask keeps
// log2(AvgSize)-2 bits, and below 64 the cut rule degenerates.
const minAvgSize = 64

// Params bounds the chunk sizes a Chunker produces, in bytes.
type Params struct {
	MinSize int // no cut before this many bytes
	AvgSize int // the target mean; cuts are likelier past it
	MaxSize int // a cut is forced here
}

// DefaultParams suits attachments: chunks of about 256 KiB keep the
// per-chunk metadata small, while an edit still rewrites only a few of them.
var DefaultParams = Params{MinSize: 64 << 10, AvgSize: 256 << 10, MaxSize: 2 << 20}

// Validate reports whether p can be used: 0 < MinSize <= AvgSize <= MaxSize
// <= MaxChunkSize and AvgSize >= 64.
func (p Params) Validate() error {
	switch {
	case p.MinSize <= 0:
		return fmt.Errorf("chunk params: min size %d is not positive", p.MinSize)
	case p.AvgSize < minAvgSize:
		return fmt.Errorf("chunk params: average size %d is below %d", p.AvgSize, minAvgSize)
	case p.MinSize > p.AvgSize || p.AvgSize > p.MaxSize:
		return fmt.Errorf("chunk params: want min %d <= avg %d <= max %d",
			p.MinSize, p.AvgSize, p.MaxSize)
	case p.MaxSize > MaxChunkSize:
		return fmt.Errorf("chunk params: max size %d: %w", p.MaxSize, ErrTooLarge)
	}
	return nil
}

// maxEmptyReads is how many reads returning nothing in a row make the
// chunker give up with io.ErrNoProgress rather than spin.
const maxEmptyReads = 100

// Chunker cuts a byte stream into content-defined chunks. It holds at most
// 2*MaxSize bytes of the stream. A Chunker is not safe for concurrent use.
type Chunker struct {
	r   io.Reader
	p   Params
	c   cutter
	buf []byte // allocated on first use, 2*MaxSize long
	// buf[start:end] is read but not yet returned.
	start, end int
	st         cutState // progress of the search for the chunk at start
	err        error    // first error from r (io.EOF at the end); sticky
}

// NewChunker returns a Chunker reading r with sizes bounded by p. Invalid
// params are reported by the first call to Next.
func NewChunker(r io.Reader, p Params) *Chunker {
	ck := &Chunker{p: p}
	ck.Reset(r)
	return ck
}

// Reset makes ck chunk r from its beginning, keeping the buffer, so one
// Chunker can serve many streams without reallocating.
func (ck *Chunker) Reset(r io.Reader) {
	ck.r = r
	ck.start, ck.end = 0, 0
	ck.st = cutState{}
	ck.err = ck.p.Validate()
	if ck.err == nil {
		ck.c = newCutter(ck.p)
	}
}

// Next returns the next chunk. The slice is only valid until the next call
// to Next or Reset, and the caller must not modify it. After the last chunk
// Next returns nil, io.EOF. A read error from the stream other than io.EOF
// is returned as is, immediately, and again on later calls; the chunks
// already returned are then a prefix of the stream.
func (ck *Chunker) Next() ([]byte, error) {
	for {
		eof := errors.Is(ck.err, io.EOF)
		if ck.err != nil && !eof {
			return nil, ck.err
		}
		if eof && ck.start == ck.end {
			return nil, io.EOF
		}
		if n, ok := ck.c.cut(ck.buf[ck.start:ck.end], eof, &ck.st); ok {
			chunk := ck.buf[ck.start : ck.start+n : ck.start+n]
			ck.start += n
			ck.st = cutState{}
			return chunk, nil
		}
		ck.fill()
	}
}

// fill reads until buf is full or the stream ends. When buf is already
// full, it first moves the chunk in progress, buf[start:end], to the front.
// That chunk is shorter than MaxSize, so at least MaxSize bytes are read
// per move, and as the move happens only at the end of the buffer, it
// copies on average half a chunk per 2*MaxSize bytes chunked.
func (ck *Chunker) fill() {
	if ck.buf == nil {
		ck.buf = make([]byte, 2*ck.p.MaxSize)
	}
	if ck.end == len(ck.buf) {
		ck.end = copy(ck.buf, ck.buf[ck.start:ck.end])
		ck.start = 0
	}

	empty := 0
	for ck.end < len(ck.buf) {
		n, err := ck.r.Read(ck.buf[ck.end:])
		ck.end += n
		if err != nil {
			ck.err = err
			return
		}
		if n > 0 {
			empty = 0
			continue
		}
		if empty++; empty >= maxEmptyReads {
			ck.err = io.ErrNoProgress
			return
		}
	}
}
