package node

import (
	"context"
	"errors"
	"fmt"
	"io"

	"github.com/helixtrack/attachments/api"
	"github.com/helixtrack/attachments/meta"
)

// Reference implements api.Backend.
func (n *Node) Reference(ctx context.Context, id meta.RefID) (api.Item, error) {
	ref, f, err := n.meta.ReferenceFile(ctx, id)
	if err != nil {
		return api.Item{}, fmt.Errorf("reference %s: %w", id, mapMetaErr(err))
	}
	return api.Item{Ref: ref, File: f}, nil
}

// List implements api.Backend.
func (n *Node) List(ctx context.Context, typ, id, cursor string, limit int) ([]api.Item, string, error) {
	refs, files, next, err := n.meta.ListEntityFiles(ctx, typ, id, cursor, limit)
	if errors.Is(err, meta.ErrInvalid) {
		return nil, "", api.PublicError(api.ErrBadRequest, "cursor %q was not issued by a listing", cursor)
	}
	if err != nil {
		return nil, "", fmt.Errorf("list %s/%s: %w", typ, id, mapMetaErr(err))
	}
	items := make([]api.Item, len(refs))
	for i := range refs {
		items[i] = api.Item{Ref: refs[i], File: files[i]}
	}
	return items, next, nil
}

// Delete implements api.Backend.
func (n *Node) Delete(ctx context.Context, id meta.RefID) error {
	if _, err := n.meta.DeleteReference(ctx, id); err != nil {
		return fmt.Errorf("delete %s: %w", id, mapMetaErr(err))
	}
	return nil
}

// Open implements api.Backend: a reader over [off, off+length) of f that
// fetches one chunk at a time, so memory stays at one chunk per download
// whatever the file size. Chunks wholly before off are skipped without
// being read.
func (n *Node) Open(ctx context.Context, f meta.File, off, length int64) (io.ReadCloser, error) {
	if off < 0 || length < 0 || off+length > f.Size {
		return nil, fmt.Errorf("open %s: range [%d, %d) outside size %d", f.Hash, off, off+length, f.Size)
	}
	r := &fileReader{ctx: ctx, n: n, chunks: f.Chunks, left: length}
	for r.idx < len(r.chunks) && off >= int64(r.chunks[r.idx].Size) {
		off -= int64(r.chunks[r.idx].Size)
		r.idx++
	}
	r.skip = off
	return r, nil
}

// fileReader streams the chunks of one manifest.
type fileReader struct {
	ctx    context.Context
	n      *Node
	chunks []meta.ChunkRef
	idx    int    // next chunk to load
	skip   int64  // bytes to drop from the front of the next chunk
	left   int64  // bytes still to return
	buf    []byte // the loaded chunk (pooled)
	cur    []byte // unread part of buf
}

func (r *fileReader) Read(p []byte) (int, error) {
	if r.left == 0 {
		return 0, io.EOF
	}
	if len(r.cur) == 0 {
		if err := r.load(); err != nil {
			return 0, err
		}
	}
	k := copy(p, r.cur[:min(int64(len(r.cur)), r.left)])
	r.cur = r.cur[k:]
	r.left -= int64(k)
	return k, nil
}

// load reads and verifies the next chunk.
func (r *fileReader) load() error {
	if r.idx >= len(r.chunks) {
		return io.ErrUnexpectedEOF
	}
	c := r.chunks[r.idx]
	if r.buf == nil {
		r.buf = getBuf(int(c.Size))
	}
	data, err := r.n.readChunk(r.ctx, c, r.buf[:0])
	if err != nil {
		return err
	}
	r.buf = data
	r.cur = data[r.skip:]
	r.skip = 0
	r.idx++
	return nil
}

// Close returns the chunk buffer to the pool.
func (r *fileReader) Close() error {
	if r.buf != nil {
		putBuf(r.buf)
		r.buf, r.cur = nil, nil
	}
	return nil
}
