package api

import (
	"bytes"
	"errors"
	"fmt"
	"io"
	"mime"
	"mime/multipart"
	"strings"
	"unicode"
	"unicode/utf8"

	"github.com/valyala/fasthttp"

	"github.com/helixtrack/attachments/chunk"
	"github.com/helixtrack/attachments/meta"
)

// formAllowance is how many bytes an upload body may carry beyond the
// file's own: boundaries, part headers and the small fields, whose limits
// add up to under 5 KiB. It keeps the whole-body limit from refusing a
// file of exactly MaxUploadBytes.
const formAllowance = 64 << 10

// Limits of the small form fields, in bytes.
const (
	maxFilename    = 255
	maxDescription = 4096
	maxHashField   = 64
)

// upload answers POST /v1/files: it streams the file part into the
// backend as it arrives, then commits once the last part has been read,
// so the fields may come before or after the file.
func (s *Server) upload(r *request) error {
	f, err := s.readUpload(r)
	if err != nil {
		return err
	}
	it, err := s.commitUpload(r, f)
	if err != nil {
		return err
	}

	s.metrics.uploads.Inc()
	if f.hasFile {
		s.metrics.uploadBytes.Add(float64(f.file.Size))
	}
	s.writeJSON(r.ctx, fasthttp.StatusCreated, renderItem(it))
	return nil
}

// uploadForm is what the parts of an upload said. Exactly one of hasFile
// and byHash is set once validate passes.
type uploadForm struct {
	entityType, entityID string
	filename             string // the filename field
	partFilename         string // the filename of the file part
	description          string
	rawHash              string // the sha256 field, until parseHash reads it
	seen                 map[string]bool

	file    meta.File
	hasFile bool
	hash    chunk.Hash
	byHash  bool
}

// readUpload checks the request's framing and reads every part. The body
// is wrapped in a limiter, so a body that never ends (chunked, without
// Content-Length) is cut off at the limit with ErrTooLarge.
func (s *Server) readUpload(r *request) (*uploadForm, error) {
	boundary, err := s.uploadFraming(r.ctx)
	if err != nil {
		return nil, err
	}
	stream := r.ctx.RequestBodyStream()
	if stream == nil {
		// No streamed body: either none was sent, or the handler runs in a
		// server that buffers bodies (see Handler).
		stream = bytes.NewReader(r.ctx.Request.Body())
	}
	body := &limitReader{r: stream, left: s.maxUpload + formAllowance}

	f := &uploadForm{seen: make(map[string]bool)}
	mr := multipart.NewReader(body, boundary)
	for {
		// NextRawPart: the bytes are taken as sent, with no
		// Content-Transfer-Encoding decoding, so the stored content is
		// what the client hashed.
		part, err := mr.NextRawPart()
		if errors.Is(err, io.EOF) {
			break
		}
		if err != nil {
			return nil, body.explain("read upload part", err)
		}
		if err := s.readPart(r, f, part, body); err != nil {
			return nil, err
		}
	}
	return f, f.validate()
}

// uploadFraming checks the request's Content-Type and Content-Length
// before the body is read (fasthttp has taken at most its first 8 KiB),
// and returns the multipart boundary. A declared length past the limit is
// refused here, so the client does not send a body only to have it
// refused.
func (s *Server) uploadFraming(ctx *fasthttp.RequestCtx) (string, error) {
	if n := ctx.Request.Header.ContentLength(); int64(n) > s.maxUpload+formAllowance {
		return "", fmt.Errorf("upload of %d bytes: %w", n, ErrTooLarge)
	}
	mediaType, params, err := mime.ParseMediaType(string(ctx.Request.Header.ContentType()))
	if err != nil || mediaType != "multipart/form-data" || params["boundary"] == "" {
		return "", badRequest("content type must be multipart/form-data with a boundary")
	}
	return params["boundary"], nil
}

// readPart consumes one part into f.
func (s *Server) readPart(r *request, f *uploadForm, part *multipart.Part,
	body *limitReader) error {
	name := part.FormName()
	if f.seen[name] {
		return badRequest("field %q appears twice", clip(name))
	}
	f.seen[name] = true

	if name == "file" {
		return s.ingestPart(r, f, part, body)
	}
	dst, max, ok := f.field(name)
	if !ok {
		return badRequest("unknown field %q", clip(name))
	}
	v, err := readField(part, max, body)
	if err != nil {
		return err
	}
	*dst = v
	if name == "sha256" {
		return f.parseHash()
	}
	// Checked as it arrives: fields usually precede the file, and a bad
	// one then costs the client an error, not the upload of the file.
	return checkField(name, v)
}

// checkField validates the value of one small field.
func checkField(name, v string) error {
	switch name {
	case "entity_type":
		if !isSafeName(v, maxEntityType) {
			return badRequest("entity_type must be 1 to %d of [A-Za-z0-9._:-]", maxEntityType)
		}
	case "entity_id":
		if !isSafeName(v, maxEntityID) {
			return badRequest("entity_id must be 1 to %d of [A-Za-z0-9._:-]", maxEntityID)
		}
	case "filename":
		return checkText("filename", v, maxFilename)
	case "description":
		return checkText("description", v, maxDescription)
	}
	return nil
}

// field returns where the small field name is kept and its byte limit.
func (f *uploadForm) field(name string) (dst *string, max int, ok bool) {
	switch name {
	case "entity_type":
		return &f.entityType, maxEntityType, true
	case "entity_id":
		return &f.entityID, maxEntityID, true
	case "filename":
		return &f.filename, maxFilename, true
	case "description":
		return &f.description, maxDescription, true
	case "sha256":
		return &f.rawHash, maxHashField, true
	}
	return nil, 0, false
}

// readField reads a small field whole, refusing one longer than max.
func readField(part *multipart.Part, max int, body *limitReader) (string, error) {
	b, err := io.ReadAll(io.LimitReader(part, int64(max)+1))
	if err != nil {
		return "", body.explain("read field "+part.FormName(), err)
	}
	if len(b) > max {
		return "", badRequest("field %q is longer than %d bytes", part.FormName(), max)
	}
	return string(b), nil
}

// parseHash turns the sha256 field into an upload by hash.
func (f *uploadForm) parseHash() error {
	if f.hasFile {
		return badRequest("an upload carries a file part or a sha256 field, not both")
	}
	h, err := chunk.ParseHash(f.rawHash)
	if err != nil {
		return badRequest("sha256 must be 64 hex characters")
	}
	f.hash, f.byHash = h, true
	return nil
}

// ingestPart streams the file part into the backend. The part gets its
// own limiter at MaxUploadBytes, so the limit holds even for a backend
// that trusted its caller.
func (s *Server) ingestPart(r *request, f *uploadForm, part *multipart.Part,
	body *limitReader) error {
	if f.byHash {
		return badRequest("an upload carries a file part or a sha256 field, not both")
	}
	// A browser on Windows may send a full path; keep its last element.
	name := part.FileName()
	f.partFilename = name[strings.LastIndexAny(name, `/\`)+1:]

	content := &limitReader{r: part, left: s.maxUpload}
	file, err := s.be.Ingest(r.c, content, s.maxUpload)
	// The readers are asked first: a backend may wrap, or (wrongly)
	// swallow, the read error that made it stop.
	switch {
	case content.exceeded:
		return fmt.Errorf("ingest upload: %w", ErrTooLarge)
	case body.exceeded || content.err != nil:
		return body.explain("read file part", content.err)
	case err != nil:
		return fmt.Errorf("ingest upload: %w", err)
	}
	f.file, f.hasFile = file, true
	return nil
}

// validate checks the form once every part has been read.
func (f *uploadForm) validate() error {
	if err := checkField("entity_type", f.entityType); err != nil {
		return err
	}
	if err := checkField("entity_id", f.entityID); err != nil {
		return err
	}
	if !f.hasFile && !f.byHash {
		return badRequest("an upload needs a file part or a sha256 field")
	}
	if err := checkText("filename", f.name(), maxFilename); err != nil {
		return err
	}
	return checkText("description", f.description, maxDescription)
}

// name is the reference's filename: the field if given, else the part's.
func (f *uploadForm) name() string {
	if f.filename != "" {
		return f.filename
	}
	return f.partFilename
}

// commitUpload makes the upload visible: a new reference to the ingested
// file, or to known content for an upload by hash. The caller's admin
// perm lets it attach content it holds no reference to.
func (s *Server) commitUpload(r *request, f *uploadForm) (Item, error) {
	tmpl := meta.Reference{
		EntityType:  f.entityType,
		EntityID:    f.entityID,
		Filename:    f.name(),
		Description: f.description,
		Owner:       r.who.Subject,
	}
	if f.byHash {
		it, err := s.be.Attach(r.c, f.hash, tmpl, r.who.has(PermAdmin))
		if err != nil {
			return Item{}, fmt.Errorf("attach %s: %w", f.hash, err)
		}
		return it, nil
	}
	it, err := s.be.Commit(r.c, f.file, tmpl)
	if err != nil {
		return Item{}, fmt.Errorf("commit %s: %w", f.file.Hash, err)
	}
	return it, nil
}

// clip shortens a client-supplied name to quote in an error message.
func clip(name string) string {
	const most = 64
	if len(name) > most {
		return strings.ToValidUTF8(name[:most], "") + "..."
	}
	return name
}

// checkText validates a free-text field: at most max bytes of UTF-8
// without control characters. A filename also may not hold a path
// separator; a description may hold line breaks and tabs.
func checkText(field, v string, max int) error {
	if len(v) > max {
		return badRequest("%s is longer than %d bytes", field, max)
	}
	if !utf8.ValidString(v) {
		return badRequest("%s is not valid UTF-8", field)
	}
	for _, c := range v {
		if field == "description" && (c == '\n' || c == '\r' || c == '\t') {
			continue
		}
		if unicode.IsControl(c) || (field == "filename" && (c == '/' || c == '\\')) {
			return badRequest("%s holds a control character or path separator", field)
		}
	}
	return nil
}
