package api

import (
	"context"
	"fmt"
	"io"
	"strconv"
	"strings"
	"unicode"
	"unicode/utf8"

	"github.com/valyala/fasthttp"

	"github.com/helixtrack/attachments/meta"
)

// download answers GET /v1/files/{id}/download with the content, whole or
// one byte range of it, streamed from the backend.
func (s *Server) download(r *request) error {
	id, err := refIDParam(r)
	if err != nil {
		return err
	}
	it, err := s.be.Reference(r.c, id)
	if err != nil {
		return fmt.Errorf("download reference %s: %w", id, err)
	}

	// The content is named by its hash, so the hash is a strong validator
	// that never changes for this reference.
	etag := `"` + it.File.Hash.String() + `"`
	h := &r.ctx.Response.Header
	h.Set("ETag", etag)
	h.Set("Accept-Ranges", "bytes")
	h.Set("X-Content-Type-Options", "nosniff")
	if inm := r.ctx.Request.Header.Peek("If-None-Match"); inm != nil &&
		etagMatches(string(inm), etag) {
		r.ctx.SetStatusCode(fasthttp.StatusNotModified)
		return nil
	}

	rng, partial, err := downloadRange(r.ctx, it.File.Size, etag)
	if err != nil {
		h.Set("Content-Range", "bytes */"+strconv.FormatInt(it.File.Size, 10))
		return err
	}
	mimeType := it.File.MIME
	if mimeType == "" {
		mimeType = "application/octet-stream"
	}
	h.SetContentType(mimeType)
	h.Set("Content-Disposition", contentDisposition(it.Ref.Filename))
	return s.sendContent(r, it.File, rng, partial)
}

// downloadRange reads the Range header. If-Range, when present, must name
// this content's ETag, or the range is ignored and the whole is sent: the
// client's partial copy is of something else. (No Last-Modified is sent,
// so an If-Range date never matches.)
func downloadRange(ctx *fasthttp.RequestCtx, size int64, etag string) (ByteRange, bool, error) {
	header := ctx.Request.Header.Peek("Range")
	if header == nil {
		return ByteRange{}, false, nil
	}
	if ir := ctx.Request.Header.Peek("If-Range"); ir != nil && string(ir) != etag {
		return ByteRange{}, false, nil
	}
	rng, ok, err := ParseRange(string(header), size)
	if err != nil {
		return ByteRange{}, false, fmt.Errorf("range %q of %d bytes: %w", header, size, err)
	}
	return rng, ok, nil
}

// sendContent opens the bytes to send and hands them to fasthttp as the
// body stream, with their exact length. The stream is read after this
// handler returns, so it takes the request's context with it and ends
// that context when fasthttp closes it.
func (s *Server) sendContent(r *request, f meta.File, rng ByteRange, partial bool) error {
	status, off, n := fasthttp.StatusOK, int64(0), f.Size
	if partial {
		status, off, n = fasthttp.StatusPartialContent, rng.Start, rng.Length
		r.ctx.Response.Header.Set("Content-Range",
			fmt.Sprintf("bytes %d-%d/%d", off, off+n-1, f.Size))
	}
	if r.ctx.IsHead() {
		// HEAD: the same headers, no bytes, so nothing to open.
		r.ctx.SetStatusCode(status)
		r.ctx.Response.Header.SetContentLength(int(n))
		return nil
	}

	rc, err := s.be.Open(r.c, f, off, n)
	if err != nil {
		return fmt.Errorf("open %s at %d+%d: %w", f.Hash, off, n, err)
	}
	s.metrics.downloads.Inc()
	r.ctx.SetStatusCode(status)
	r.ctx.SetBodyStream(&downloadBody{rc: rc, cancel: r.detach(), m: s.metrics}, int(n))
	return nil
}

// downloadBody is a response body on its way out: it counts the bytes sent
// and, once fasthttp closes it, closes the backend's reader and ends the
// request's context. fasthttp reads and closes it from one goroutine.
type downloadBody struct {
	rc     io.ReadCloser
	cancel context.CancelFunc
	m      *metrics
	sent   int64
}

func (b *downloadBody) Read(p []byte) (int, error) {
	n, err := b.rc.Read(p)
	b.sent += int64(n)
	return n, err
}

func (b *downloadBody) Close() error {
	err := b.rc.Close()
	b.cancel()
	b.m.downloadBytes.Add(float64(b.sent))
	return err
}

// contentDisposition returns an attachment disposition for a stored
// filename. The name is sanitised first: invalid UTF-8 becomes "_", and
// control and format characters (bidi overrides among them), quotes and
// path separators are dropped, so the browser saves a plain file name.
// filename= carries an ASCII copy (other characters as "_"); when that
// lost anything, filename* (RFC 5987: UTF-8, percent-encoded) carries the
// full name for clients that read it. An empty result saves as "download".
func contentDisposition(name string) string {
	clean := sanitizeFilename(name)
	if clean == "" {
		clean = "download"
	}
	ascii := strings.Map(func(c rune) rune {
		if c >= utf8.RuneSelf || c == '%' {
			// '%' too: some browsers percent-decode filename=.
			return '_'
		}
		return c
	}, clean)

	v := `attachment; filename="` + ascii + `"`
	if ascii != clean {
		v += "; filename*=UTF-8''" + encode5987(clean)
	}
	return v
}

// sanitizeFilename drops what must not reach a Content-Disposition name.
func sanitizeFilename(name string) string {
	name = strings.ToValidUTF8(name, "_")
	name = strings.Map(func(c rune) rune {
		switch {
		case c == '"', c == '/', c == '\\', unicode.IsControl(c), unicode.Is(unicode.Cf, c):
			return -1
		}
		return c
	}, name)
	return strings.TrimSpace(name)
}

// encode5987 percent-encodes s for an RFC 5987 ext-value: every byte
// outside attr-char (letters, digits and !#$&+-.^_`|~) becomes %XX.
func encode5987(s string) string {
	const hexDigits = "0123456789ABCDEF"
	var b strings.Builder
	for i := 0; i < len(s); i++ {
		c := s[i]
		if isAttrChar(c) {
			b.WriteByte(c)
			continue
		}
		b.WriteByte('%')
		b.WriteByte(hexDigits[c>>4])
		b.WriteByte(hexDigits[c&0xf])
	}
	return b.String()
}

func isAttrChar(c byte) bool {
	switch {
	case 'a' <= c && c <= 'z', 'A' <= c && c <= 'Z', '0' <= c && c <= '9':
		return true
	}
	return strings.IndexByte("!#$&+-.^_`|~", c) >= 0
}
