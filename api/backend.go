package api

import (
	"context"
	"errors"
	"io"
	"time"

	"github.com/helixtrack/attachments/chunk"
	"github.com/helixtrack/attachments/meta"
)

// Backend is what the HTTP layer needs from a running node: the write path
// (Ingest then Commit), the read path, listing, deletion and health. The
// node package implements it; the HTTP layer only parses, authorizes,
// calls one method and renders the answer.
//
// Errors: methods return meta.ErrNotFound for an unknown or deleted
// reference, ErrTooLarge when a body passes its limit, ErrMediaType when
// the detected content type is refused, ErrUnavailable when the metadata
// quorum or the chunk store cannot serve, and wrap every other failure.
// The HTTP layer maps these with errors.Is.
type Backend interface {
	// Ingest streams body into the chunk store and returns the file it
	// describes: hash, size, detected MIME type and manifest, with RefCount
	// zero. It reads body to io.EOF, or stops with ErrTooLarge as soon as
	// more than limit bytes arrive. The chunks are durable when it returns,
	// but nothing is visible until Commit; chunks never committed are
	// collected after the grace period.
	Ingest(ctx context.Context, body io.Reader, limit int64) (meta.File, error)

	// Commit makes f visible as a new reference built from tmpl: the node
	// fills in the id, file hash and creation time, and keeps EntityType,
	// EntityID, Filename, Description and Owner.
	Commit(ctx context.Context, f meta.File, tmpl meta.Reference) (Item, error)

	// Attach creates a reference to content the store already holds,
	// without its bytes. It answers meta.ErrNotFound both when the content
	// is unknown and when tmpl.Owner holds no live reference to it (unless
	// admin is set), so a caller cannot learn what others stored.
	Attach(ctx context.Context, h chunk.Hash, tmpl meta.Reference, admin bool) (Item, error)

	// Reference returns a live reference and its file.
	Reference(ctx context.Context, id meta.RefID) (Item, error)

	// Open returns the bytes [off, off+n) of f, each chunk verified before
	// its bytes are returned. The caller closes the reader.
	Open(ctx context.Context, f meta.File, off, n int64) (io.ReadCloser, error)

	// List returns up to limit live references of one entity, oldest
	// first, starting after cursor ("" for the first page), and the cursor
	// of the next page ("" when there is none).
	List(ctx context.Context, entityType, entityID, cursor string, limit int) ([]Item, string, error)

	// Delete soft-deletes a live reference.
	Delete(ctx context.Context, id meta.RefID) error

	// Health runs the node's checks; a check with a non-nil Err fails.
	Health(ctx context.Context) []Check

	// NodeID names this node in /health.
	NodeID() string
}

// Item is a reference with the file it points at. Deduplicated is set by
// Commit and Attach when the content was already stored before the call.
type Item struct {
	Ref          meta.Reference
	File         meta.File
	Deduplicated bool
}

// Check is the outcome of one health check.
type Check struct {
	Name    string
	Latency time.Duration
	Err     error
}

// Errors of the Backend contract, matched with errors.Is.
var (
	// ErrTooLarge: a body passed its size limit while it streamed.
	ErrTooLarge = errors.New("body too large")
	// ErrMediaType: the content type detected from the bytes is not allowed.
	ErrMediaType = errors.New("content type not allowed")
	// ErrUnavailable: the metadata or the chunk store cannot serve now;
	// the request may succeed if retried.
	ErrUnavailable = errors.New("service unavailable")
)
