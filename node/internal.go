package node

import (
	"encoding/binary"
	"encoding/json"
	"errors"
	"hash/crc32"
	"io"
	"strconv"
	"strings"

	"github.com/valyala/fasthttp"

	"github.com/helixtrack/attachments/chunk"
	"github.com/helixtrack/attachments/meta"
	"github.com/helixtrack/attachments/placement"
)

// maxInternalBody bounds the body of a node-to-node request: a chunk, a
// command with a manifest, or a list of hashes.
const maxInternalBody = chunk.MaxChunkSize + 1<<20

// serveInternal answers node-to-node requests; the API server has checked
// the caller's admin token already.
func (n *Node) serveInternal(ctx *fasthttp.RequestCtx) {
	path := string(ctx.Path())
	method := string(ctx.Method())
	switch {
	case strings.HasPrefix(path, pathChunk):
		n.serveChunk(ctx, method, strings.TrimPrefix(path, pathChunk))
	case path == pathTouch && method == fasthttp.MethodPost:
		n.serveHave(ctx, true)
	case path == pathHave && method == fasthttp.MethodPost:
		n.serveHave(ctx, false)
	case path == pathApply && method == fasthttp.MethodPost:
		n.serveApply(ctx)
	case path == pathReadIndex && method == fasthttp.MethodGet:
		n.serveReadIndex(ctx)
	case path == pathJoin && method == fasthttp.MethodPost:
		n.serveJoin(ctx)
	case path == pathRemove && method == fasthttp.MethodPost:
		n.serveRemove(ctx)
	case path == pathNodeStats && method == fasthttp.MethodGet:
		n.serveNodeStats(ctx)
	default:
		ctx.Error("no such internal route", fasthttp.StatusNotFound)
	}
}

// readBody reads a streamed request body of at most maxInternalBody bytes.
func readBody(ctx *fasthttp.RequestCtx) ([]byte, bool) {
	r := ctx.RequestBodyStream()
	if r == nil {
		return ctx.Request.Body(), true
	}
	b, err := io.ReadAll(io.LimitReader(r, maxInternalBody+1))
	if err != nil || len(b) > maxInternalBody {
		ctx.Error("body unreadable or too large", fasthttp.StatusBadRequest)
		return nil, false
	}
	return b, true
}

func (n *Node) serveChunk(ctx *fasthttp.RequestCtx, method, hexHash string) {
	h, err := chunk.ParseHash(hexHash)
	if err != nil {
		ctx.Error(err.Error(), fasthttp.StatusBadRequest)
		return
	}
	switch method {
	case fasthttp.MethodPut:
		n.servePutChunk(ctx, h)
	case fasthttp.MethodGet:
		n.serveGetChunk(ctx, h)
	case fasthttp.MethodHead:
		if !n.chunks.Has(h) {
			ctx.SetStatusCode(fasthttp.StatusNotFound)
		}
	default:
		ctx.Error("method not allowed", fasthttp.StatusMethodNotAllowed)
	}
}

// servePutChunk stores a chunk sent by a gateway or a rebalancer; the
// answer comes after the durable write. The store checks the SHA-256
// itself, so a body that does not match its name is refused.
func (n *Node) servePutChunk(ctx *fasthttp.RequestCtx, h chunk.Hash) {
	data, ok := readBody(ctx)
	if !ok {
		return
	}
	want, _ := strconv.ParseUint(string(ctx.Request.Header.Peek(headerCRC)), 10, 32)
	if crc32.Checksum(data, castagnoli) != uint32(want) {
		ctx.Error("checksum mismatch in transit", fasthttp.StatusBadRequest)
		return
	}
	n.metrics.received.Add(float64(len(data)))
	written, err := n.chunks.Put(ctx, h, data)
	switch {
	case errors.Is(err, chunk.ErrHashMismatch):
		ctx.Error(err.Error(), fasthttp.StatusBadRequest)
	case err != nil:
		n.log.Error("store chunk for peer failed", "chunk", h, "err", err)
		ctx.Error("store failed", fasthttp.StatusInternalServerError)
	case written:
		ctx.SetStatusCode(fasthttp.StatusCreated)
	}
}

// serveGetChunk sends a verified local chunk; a corrupt copy answers 500
// so the caller reads another copy, and is logged for repair.
func (n *Node) serveGetChunk(ctx *fasthttp.RequestCtx, h chunk.Hash) {
	size, ok := n.chunks.Size(h)
	if !ok {
		ctx.SetStatusCode(fasthttp.StatusNotFound)
		return
	}
	buf := getBuf(size)
	data, err := n.chunks.Get(ctx, h, buf[:0])
	if err != nil {
		putBuf(buf)
		if errors.Is(err, chunk.ErrNotFound) {
			ctx.SetStatusCode(fasthttp.StatusNotFound)
			return
		}
		n.metrics.corrupt.Inc()
		n.log.Warn("local chunk unreadable for peer", "chunk", h, "err", err)
		ctx.Error("chunk unreadable", fasthttp.StatusInternalServerError)
		return
	}
	ctx.Response.Header.Set(headerCRC, strconv.FormatUint(uint64(crc32.Checksum(data, castagnoli)), 10))
	ctx.SetBody(data) // copies, so the buffer can go back to the pool
	putBuf(buf)
}

// serveHave answers one byte per listed hash: 1 when held locally. With
// touch set, each held chunk's touch time is refreshed, which keeps the
// sweeper away from it for a grace period.
func (n *Node) serveHave(ctx *fasthttp.RequestCtx, touch bool) {
	body, ok := readBody(ctx)
	if !ok {
		return
	}
	hs, err := parseHashList(body)
	if err != nil {
		ctx.Error(err.Error(), fasthttp.StatusBadRequest)
		return
	}
	out := make([]byte, len(hs))
	for i, h := range hs {
		held := n.chunks.Has(h)
		if touch {
			held = n.chunks.Touch(h)
		}
		if held {
			out[i] = 1
		}
	}
	ctx.SetBody(out)
}

// serveApply applies a command forwarded by a follower. Errors carry the
// meta sentinel's name so the follower can return the same error.
func (n *Node) serveApply(ctx *fasthttp.RequestCtx) {
	body, ok := readBody(ctx)
	if !ok {
		return
	}
	res, err := n.meta.ApplyEncoded(ctx, body)
	if err != nil {
		metaFail(ctx, err)
		return
	}
	ctx.SetBody(res)
}

func (n *Node) serveReadIndex(ctx *fasthttp.RequestCtx) {
	idx, err := n.meta.ReadIndex(ctx)
	if err != nil {
		metaFail(ctx, err)
		return
	}
	var b [8]byte
	binary.BigEndian.PutUint64(b[:], idx)
	ctx.SetBody(b[:])
}

// metaFail answers a failed metadata call with 503 and the sentinel name.
func metaFail(ctx *fasthttp.RequestCtx, err error) {
	status := fasthttp.StatusServiceUnavailable
	if errors.Is(err, meta.ErrInvalid) || errors.Is(err, meta.ErrNotFound) {
		status = fasthttp.StatusConflict
	}
	// Error resets the response, headers included: set the name after.
	ctx.Error(err.Error(), status)
	ctx.Response.Header.Set(headerMetaErr, metaErrorName(err))
}

// serveJoin adds a node to the cluster. On a follower it forwards the
// request to the leader, which adds the node to Raft and to the layout.
func (n *Node) serveJoin(ctx *fasthttp.RequestCtx) {
	body, ok := readBody(ctx)
	if !ok {
		return
	}
	var req joinRequest
	if err := json.Unmarshal(body, &req); err != nil || req.Node.ID == "" || req.Node.RaftAddr == "" {
		ctx.Error("join: body must be a node with id and raft_addr", fasthttp.StatusBadRequest)
		return
	}
	if err := n.admit(ctx, req); err != nil {
		metaFail(ctx, err)
		return
	}
	ctx.SetStatusCode(fasthttp.StatusNoContent)
}

// serveNodeStats reports this node's local figures for cluster status.
func (n *Node) serveNodeStats(ctx *fasthttp.RequestCtx) {
	b, _ := json.Marshal(n.localStatus())
	ctx.SetContentType("application/json")
	ctx.SetBody(b)
}

// serveRemove forgets a node on the leader's behalf of a follower's admin
// request.
func (n *Node) serveRemove(ctx *fasthttp.RequestCtx) {
	body, ok := readBody(ctx)
	if !ok {
		return
	}
	if !n.meta.IsLeader() {
		metaFail(ctx, meta.ErrNotLeader)
		return
	}
	if err := n.forgetNode(ctx, placement.NodeID(body)); err != nil {
		metaFail(ctx, err)
		return
	}
	ctx.SetStatusCode(fasthttp.StatusNoContent)
}
