package api

import (
	"bytes"
	"context"
	"crypto/sha256"
	"fmt"
	"io"
	"net/http"
	"sync"
	"time"

	"github.com/helixtrack/attachments/chunk"
	"github.com/helixtrack/attachments/meta"
)

// memBackend is a test double for the node, used to drive the HTTP layer's
// parsing and rendering: it keeps files and references in memory and
// follows the Backend contract (limits, dedup, ownership for upload by
// hash, soft delete, paging), so the handlers can be tested over real HTTP
// without a cluster. The real node, with its chunk store and Raft
// metadata, is exercised end to end in the node package.
//
// Failures are injected per method with failOn. Open counts the readers it
// hands out and the ones closed, so a test can check none leak.
type memBackend struct {
	mu sync.Mutex // guards every field below
	// files by content hash; content is nil when discard is set.
	files   map[chunk.Hash]*memFile
	refs    map[meta.RefID]*meta.Reference
	order   []meta.RefID // creation order, for List
	seq     int
	fail    map[string]error
	checks  []Check
	refused map[string]bool // MIME types Ingest answers ErrMediaType for
	// discard makes Ingest hash without keeping bytes, for big uploads.
	discard bool
	// ingestHook, if set, wraps the body Ingest reads.
	ingestHook     func(io.Reader) io.Reader
	opened, closed int
	lastLimit      int // the limit of the last List call
}

type memFile struct {
	meta    meta.File
	content []byte
}

// epoch is the creation time of the first reference; each next one is a
// second later, so answers are reproducible.
var epoch = time.Date(2025, 3, 1, 12, 0, 0, 0, time.UTC)

func newMemBackend() *memBackend {
	return &memBackend{
		files:   make(map[chunk.Hash]*memFile),
		refs:    make(map[meta.RefID]*meta.Reference),
		fail:    make(map[string]error),
		refused: make(map[string]bool),
	}
}

// failOn makes method return err until failOn(method, nil).
func (b *memBackend) failOn(method string, err error) {
	b.mu.Lock()
	defer b.mu.Unlock()
	b.fail[method] = err
}

func (b *memBackend) injected(method string) error {
	b.mu.Lock()
	defer b.mu.Unlock()
	return b.fail[method]
}

func (b *memBackend) Ingest(ctx context.Context, body io.Reader, limit int64) (meta.File, error) {
	if err := b.injected("Ingest"); err != nil {
		return meta.File{}, err
	}
	b.mu.Lock()
	hook, discard := b.ingestHook, b.discard
	b.mu.Unlock()
	if hook != nil {
		body = hook(body)
	}

	h := sha256.New()
	var kept bytes.Buffer
	head := make([]byte, 0, 512)
	w := io.MultiWriter(h, &headWriter{buf: &head})
	if !discard {
		w = io.MultiWriter(w, &kept)
	}
	n, err := io.Copy(w, io.LimitReader(body, limit+1))
	if err != nil {
		return meta.File{}, fmt.Errorf("mem ingest: %w", err)
	}
	if n > limit {
		return meta.File{}, fmt.Errorf("mem ingest: %w", ErrTooLarge)
	}
	mimeType := http.DetectContentType(head)
	if b.isRefused(mimeType) {
		return meta.File{}, fmt.Errorf("mem ingest %s: %w", mimeType, ErrMediaType)
	}

	var hash chunk.Hash
	h.Sum(hash[:0])
	f := meta.File{Hash: hash, Size: n, MIME: mimeType}
	b.mu.Lock()
	defer b.mu.Unlock()
	if _, ok := b.files[hash]; !ok && !discard {
		// Staged like unreferenced chunks: visible to Commit only.
		b.files[hash] = &memFile{meta: f, content: kept.Bytes()}
	}
	return f, nil
}

func (b *memBackend) isRefused(mimeType string) bool {
	b.mu.Lock()
	defer b.mu.Unlock()
	return b.refused[mimeType]
}

// headWriter keeps the first cap(*buf) bytes written to it.
type headWriter struct{ buf *[]byte }

func (w *headWriter) Write(p []byte) (int, error) {
	room := cap(*w.buf) - len(*w.buf)
	*w.buf = append(*w.buf, p[:min(room, len(p))]...)
	return len(p), nil
}

func (b *memBackend) Commit(ctx context.Context, f meta.File, tmpl meta.Reference) (Item, error) {
	if err := b.injected("Commit"); err != nil {
		return Item{}, err
	}
	b.mu.Lock()
	defer b.mu.Unlock()
	mf, ok := b.files[f.Hash]
	if !ok {
		mf = &memFile{meta: f}
		b.files[f.Hash] = mf
	}
	return b.addRefLocked(mf, tmpl), nil
}

// addRefLocked creates a reference to mf from tmpl; b.mu must be held.
// The content counts as deduplicated when live references held it before.
func (b *memBackend) addRefLocked(mf *memFile, tmpl meta.Reference) Item {
	dedup := mf.meta.RefCount > 0
	mf.meta.RefCount++
	b.seq++
	ref := tmpl
	ref.ID = meta.RefID(fmt.Sprintf("%032x", b.seq))
	ref.FileHash = mf.meta.Hash
	ref.Created = epoch.Add(time.Duration(b.seq) * time.Second)
	b.refs[ref.ID] = &ref
	b.order = append(b.order, ref.ID)
	return Item{Ref: ref, File: mf.meta, Deduplicated: dedup}
}

func (b *memBackend) Attach(ctx context.Context, h chunk.Hash, tmpl meta.Reference,
	admin bool) (Item, error) {
	if err := b.injected("Attach"); err != nil {
		return Item{}, err
	}
	b.mu.Lock()
	defer b.mu.Unlock()
	mf, ok := b.files[h]
	if !ok || mf.meta.RefCount == 0 || (!admin && !b.ownsLocked(tmpl.Owner, h)) {
		return Item{}, fmt.Errorf("mem attach %s: %w", h, meta.ErrNotFound)
	}
	return b.addRefLocked(mf, tmpl), nil
}

// ownsLocked reports whether owner holds a live reference to h.
func (b *memBackend) ownsLocked(owner string, h chunk.Hash) bool {
	for _, r := range b.refs {
		if r.Owner == owner && r.FileHash == h && !r.Deleted {
			return true
		}
	}
	return false
}

func (b *memBackend) Reference(ctx context.Context, id meta.RefID) (Item, error) {
	if err := b.injected("Reference"); err != nil {
		return Item{}, err
	}
	b.mu.Lock()
	defer b.mu.Unlock()
	r, ok := b.refs[id]
	if !ok || r.Deleted {
		return Item{}, fmt.Errorf("mem reference %s: %w", id, meta.ErrNotFound)
	}
	return Item{Ref: *r, File: b.files[r.FileHash].meta}, nil
}

func (b *memBackend) Open(ctx context.Context, f meta.File, off, n int64) (io.ReadCloser, error) {
	if err := b.injected("Open"); err != nil {
		return nil, err
	}
	b.mu.Lock()
	defer b.mu.Unlock()
	mf, ok := b.files[f.Hash]
	if !ok || off < 0 || n < 0 || off+n > int64(len(mf.content)) {
		return nil, fmt.Errorf("mem open %s [%d,+%d): %w", f.Hash, off, n, meta.ErrNotFound)
	}
	b.opened++
	return &memReader{Reader: bytes.NewReader(mf.content[off : off+n]), b: b}, nil
}

type memReader struct {
	*bytes.Reader
	b *memBackend
}

func (r *memReader) Close() error {
	r.b.mu.Lock()
	defer r.b.mu.Unlock()
	r.b.closed++
	return nil
}

// readers returns how many readers Open handed out and how many were closed.
func (b *memBackend) readers() (opened, closed int) {
	b.mu.Lock()
	defer b.mu.Unlock()
	return b.opened, b.closed
}

func (b *memBackend) List(ctx context.Context, entityType, entityID, cursor string,
	limit int) ([]Item, string, error) {
	if err := b.injected("List"); err != nil {
		return nil, "", err
	}
	b.mu.Lock()
	defer b.mu.Unlock()
	b.lastLimit = limit
	var page []Item
	started := cursor == ""
	for _, id := range b.order {
		r := b.refs[id]
		if !started {
			started = string(id) == cursor
			continue
		}
		if r.Deleted || r.EntityType != entityType || r.EntityID != entityID {
			continue
		}
		if len(page) == limit {
			return page, string(page[len(page)-1].Ref.ID), nil
		}
		page = append(page, Item{Ref: *r, File: b.files[r.FileHash].meta})
	}
	return page, "", nil
}

func (b *memBackend) Delete(ctx context.Context, id meta.RefID) error {
	if err := b.injected("Delete"); err != nil {
		return err
	}
	b.mu.Lock()
	defer b.mu.Unlock()
	r, ok := b.refs[id]
	if !ok || r.Deleted {
		return fmt.Errorf("mem delete %s: %w", id, meta.ErrNotFound)
	}
	r.Deleted = true
	b.files[r.FileHash].meta.RefCount--
	return nil
}

func (b *memBackend) Health(ctx context.Context) []Check {
	b.mu.Lock()
	defer b.mu.Unlock()
	return append([]Check(nil), b.checks...)
}

func (b *memBackend) NodeID() string { return "node-test" }

// ref returns a copy of reference id, or nil.
func (b *memBackend) ref(id meta.RefID) *meta.Reference {
	b.mu.Lock()
	defer b.mu.Unlock()
	r, ok := b.refs[id]
	if !ok {
		return nil
	}
	c := *r
	return &c
}

// refCount returns how many references were ever created.
func (b *memBackend) refCount() int {
	b.mu.Lock()
	defer b.mu.Unlock()
	return len(b.refs)
}

// listLimit returns the limit of the last List call.
func (b *memBackend) listLimit() int {
	b.mu.Lock()
	defer b.mu.Unlock()
	return b.lastLimit
}
