package node

import (
	"context"
	"crypto/sha256"
	"errors"
	"fmt"
	"hash"
	"io"
	"sync"

	"github.com/gabriel-vasile/mimetype"

	"github.com/helixtrack/attachments/api"
	"github.com/helixtrack/attachments/chunk"
	"github.com/helixtrack/attachments/meta"
)

// ingestWorkers is how many chunks of one upload are hashed and stored at
// once. Several in flight let the chunk store's group commit share one fsync
// among them, and let chunk hashing run on another core than the chunker and
// the whole-file hash.
const ingestWorkers = 4

// sniffLen is how many leading bytes decide the MIME type. The chunker's
// minimum chunk is larger, so the first chunk always holds them.
const sniffLen = 3072

// Ingest implements api.Backend. The body is read once: the calling
// goroutine cuts chunks and feeds the whole-file SHA-256, while workers hash
// each chunk and store it.
func (n *Node) Ingest(ctx context.Context, body io.Reader, limit int64) (meta.File, error) {
	lr := &limitedReader{r: body, left: limit}
	ck := chunk.NewChunker(lr, n.chunkParams)
	in := newIngestion(ctx, n)
	defer in.stop()

	f, err := n.cutChunks(ck, in)
	if err != nil {
		if lr.over {
			return meta.File{}, api.ErrTooLarge
		}
		return meta.File{}, err
	}
	if err := in.wait(); err != nil {
		return meta.File{}, err
	}
	f.Chunks = in.manifest()
	return f, nil
}

// cutChunks reads the whole body through ck, hands each chunk to in and
// returns the file's hash, size and MIME type.
func (n *Node) cutChunks(ck *chunk.Chunker, in *ingestion) (meta.File, error) {
	var f meta.File
	fileHash := sha256.New()
	for {
		data, err := ck.Next()
		if errors.Is(err, io.EOF) {
			break
		}
		if err != nil {
			return f, fmt.Errorf("ingest: read body: %w", err)
		}
		if f.Size == 0 {
			f.MIME = mimetype.Detect(data[:min(len(data), sniffLen)]).String()
			if !n.mimeAllowed(f.MIME) {
				return f, api.PublicError(api.ErrMediaType, "content type %s is not allowed", f.MIME)
			}
		}
		fileHash.Write(data)
		f.Size += int64(len(data))
		if err := in.add(data); err != nil {
			return f, err
		}
	}
	if f.Size == 0 {
		f.MIME = mimetype.Detect(nil).String()
	}
	f.Hash = sumOf(fileHash)
	return f, nil
}

func sumOf(h hash.Hash) chunk.Hash {
	var out chunk.Hash
	h.Sum(out[:0])
	return out
}

// ingestion stores the chunks of one upload with bounded parallelism and
// records the manifest in body order.
type ingestion struct {
	ctx    context.Context
	cancel context.CancelFunc
	n      *Node
	sem    chan struct{}
	wg     sync.WaitGroup

	mu   sync.Mutex // guards refs and err
	refs []meta.ChunkRef
	err  error
}

func newIngestion(ctx context.Context, n *Node) *ingestion {
	ctx, cancel := context.WithCancel(ctx)
	return &ingestion{
		ctx:    ctx,
		cancel: cancel,
		n:      n,
		sem:    make(chan struct{}, ingestWorkers),
	}
}

// add copies data (the chunker reuses its buffer) and stores it in the
// background. It blocks while ingestWorkers chunks are in flight, which
// bounds the memory of one upload, and fails fast once a worker failed.
func (in *ingestion) add(data []byte) error {
	select {
	case in.sem <- struct{}{}:
	case <-in.ctx.Done():
		return in.firstErr(in.ctx.Err())
	}
	buf := getBuf(len(data))
	copy(buf, data)

	in.mu.Lock()
	slot := len(in.refs)
	in.refs = append(in.refs, meta.ChunkRef{Size: uint32(len(data))})
	in.mu.Unlock()

	in.wg.Add(1)
	go in.store1(slot, buf)
	return nil
}

func (in *ingestion) store1(slot int, buf []byte) {
	defer in.wg.Done()
	defer func() { <-in.sem }()
	sb := newSharedBuf(buf)
	defer sb.release()

	h := chunk.Sum(buf)
	err := in.n.storeChunk(in.ctx, h, sb)

	in.mu.Lock()
	defer in.mu.Unlock()
	in.refs[slot].Hash = h
	if err != nil && in.err == nil {
		in.err = fmt.Errorf("ingest: store chunk %s: %w", h, err)
		in.cancel()
	}
}

func (in *ingestion) firstErr(fallback error) error {
	in.mu.Lock()
	defer in.mu.Unlock()
	if in.err != nil {
		return in.err
	}
	return fallback
}

// wait returns once every chunk is stored, with the first failure if any.
func (in *ingestion) wait() error {
	in.wg.Wait()
	return in.firstErr(nil)
}

// stop cancels and waits for the workers; it is safe after wait.
func (in *ingestion) stop() {
	in.cancel()
	in.wg.Wait()
}

func (in *ingestion) manifest() []meta.ChunkRef {
	in.mu.Lock()
	defer in.mu.Unlock()
	return append([]meta.ChunkRef(nil), in.refs...)
}

// limitedReader returns an error once more than left bytes were read, and
// remembers that it did, so the caller can answer 413 rather than 400.
type limitedReader struct {
	r    io.Reader
	left int64
	over bool
}

func (l *limitedReader) Read(p []byte) (int, error) {
	if int64(len(p)) > l.left+1 {
		p = p[:l.left+1]
	}
	n, err := l.r.Read(p)
	if int64(n) > l.left {
		l.over = true
		return 0, api.ErrTooLarge
	}
	l.left -= int64(n)
	return n, err
}

// bufPool recycles chunk-sized buffers between uploads. Buffers are kept at
// the chunker's maximum size so any chunk fits.
var bufPool = sync.Pool{New: func() any { return new([]byte) }}

func getBuf(n int) []byte {
	p := bufPool.Get().(*[]byte)
	if cap(*p) < n {
		*p = make([]byte, n)
	}
	return (*p)[:n]
}

func putBuf(b []byte) {
	bufPool.Put(&b)
}
