package node

import (
	"bytes"
	"context"
	"encoding/binary"
	"encoding/json"
	"errors"
	"fmt"
	"hash/crc32"
	"io"
	"net"
	"net/http"
	"strconv"
	"strings"
	"sync"
	"time"

	"github.com/helixtrack/attachments/api"
	"github.com/helixtrack/attachments/chunk"
	"github.com/helixtrack/attachments/meta"
	"github.com/helixtrack/attachments/placement"
)

// Node-to-node traffic runs over the same HTTP API port, under /internal/,
// signed with an admin token that every node of the cluster can mint from
// the shared JWT secret.
const (
	pathChunk     = "/internal/chunks/"    // + hex hash: PUT, GET, HEAD
	pathTouch     = "/internal/touch"      // POST concatenated hashes
	pathHave      = "/internal/have"       // POST concatenated hashes
	pathApply     = "/internal/meta/apply" // POST an encoded command
	pathReadIndex = "/internal/meta/readindex"
	pathJoin      = "/internal/cluster/join" // POST a placement.Node
	pathNodeStats = "/internal/node/stats"

	// headerCRC carries the CRC32C of a chunk body, checked by the
	// receiver: cheap insurance against corruption in transit.
	headerCRC = "X-Chunk-Crc32c"
	// headerMetaErr names the meta sentinel behind a failed forward.
	headerMetaErr = "X-Meta-Error"
)

var castagnoli = crc32.MakeTable(crc32.Castagnoli)

// Errors of node-to-node calls.
var (
	// errPeerMissing: the peer does not hold the chunk.
	errPeerMissing = errors.New("peer does not hold chunk")
	// errNoLeader: no leader is known to forward to.
	errNoLeader = errors.New("no metadata leader known")
)

// peers is the HTTP client for node-to-node calls. It is safe for
// concurrent use.
type peers struct {
	http   *http.Client
	secret []byte
	selfID string

	mu      sync.Mutex // guards token and expires
	token   string
	expires time.Time
}

// peerTimeout bounds one node-to-node call: a chunk of 2 MiB crosses a
// healthy LAN in milliseconds, so a peer that takes this long is treated
// as down for this request.
const peerTimeout = 20 * time.Second

func newPeers(secret []byte, selfID string) *peers {
	tr := &http.Transport{
		DialContext:         (&net.Dialer{Timeout: 2 * time.Second}).DialContext,
		MaxIdleConnsPerHost: 64,
		IdleConnTimeout:     90 * time.Second,
	}
	return &peers{http: &http.Client{Transport: tr, Timeout: peerTimeout},
		secret: secret, selfID: selfID}
}

// close drops idle connections.
func (p *peers) close() { p.http.CloseIdleConnections() }

// bearer returns an admin token for this node, minted anew shortly before
// the previous one expires.
func (p *peers) bearer() (string, error) {
	p.mu.Lock()
	defer p.mu.Unlock()
	if time.Until(p.expires) > 5*time.Minute {
		return p.token, nil
	}
	tok, err := api.MintToken(p.secret, "node/"+p.selfID, []string{string(api.PermAdmin)}, time.Hour)
	if err != nil {
		return "", fmt.Errorf("mint node token: %w", err)
	}
	p.token, p.expires = tok, time.Now().Add(time.Hour)
	return tok, nil
}

// do sends one request to base+path and returns the response of a 2xx
// answer; any other status becomes an error naming it.
func (p *peers) do(ctx context.Context, method, base, path string, body []byte,
	hdr http.Header) (*http.Response, error) {
	req, err := http.NewRequestWithContext(ctx, method, base+path, bytes.NewReader(body))
	if err != nil {
		return nil, err
	}
	tok, err := p.bearer()
	if err != nil {
		return nil, err
	}
	req.Header.Set("Authorization", "Bearer "+tok)
	for k, v := range hdr {
		req.Header[k] = v
	}
	resp, err := p.http.Do(req)
	if err != nil {
		return nil, fmt.Errorf("%s %s%s: %w", method, base, path, err)
	}
	if resp.StatusCode/100 != 2 {
		defer resp.Body.Close()
		msg, _ := io.ReadAll(io.LimitReader(resp.Body, 512))
		return resp, &peerStatusError{status: resp.StatusCode, msg: strings.TrimSpace(string(msg)),
			metaErr: resp.Header.Get(headerMetaErr)}
	}
	return resp, nil
}

// peerStatusError is a non-2xx answer from a peer.
type peerStatusError struct {
	status  int
	msg     string
	metaErr string
}

func (e *peerStatusError) Error() string {
	return fmt.Sprintf("peer answered %d: %s", e.status, e.msg)
}

// putChunk stores data on the peer at base, durably before it answers.
func (p *peers) putChunk(ctx context.Context, base string, h chunk.Hash, data []byte) error {
	hdr := http.Header{headerCRC: {strconv.FormatUint(uint64(crc32.Checksum(data, castagnoli)), 10)}}
	resp, err := p.do(ctx, http.MethodPut, base, pathChunk+h.String(), data, hdr)
	if err != nil {
		return fmt.Errorf("put chunk %s: %w", h, err)
	}
	resp.Body.Close()
	return nil
}

// getChunk reads a verified chunk from the peer at base into buf.
func (p *peers) getChunk(ctx context.Context, base string, h chunk.Hash, buf []byte) ([]byte, error) {
	resp, err := p.do(ctx, http.MethodGet, base, pathChunk+h.String(), nil, nil)
	if err != nil {
		var se *peerStatusError
		if errors.As(err, &se) && se.status == http.StatusNotFound {
			return nil, fmt.Errorf("get chunk %s: %w", h, errPeerMissing)
		}
		return nil, fmt.Errorf("get chunk %s: %w", h, err)
	}
	defer resp.Body.Close()
	if resp.ContentLength < 0 || resp.ContentLength > chunk.MaxChunkSize {
		return nil, fmt.Errorf("get chunk %s: bad length %d", h, resp.ContentLength)
	}
	n := int(resp.ContentLength)
	if cap(buf) < n {
		buf = make([]byte, n)
	}
	buf = buf[:n]
	if _, err := io.ReadFull(resp.Body, buf); err != nil {
		return nil, fmt.Errorf("get chunk %s: %w", h, err)
	}
	want, _ := strconv.ParseUint(resp.Header.Get(headerCRC), 10, 32)
	if crc32.Checksum(buf, castagnoli) != uint32(want) {
		return nil, fmt.Errorf("get chunk %s: checksum mismatch in transit: %w", h, chunk.ErrCorrupt)
	}
	return buf, nil
}

// hashList encodes hashes as their concatenated 32-byte forms.
func hashList(hs []chunk.Hash) []byte {
	b := make([]byte, 0, len(hs)*len(chunk.Hash{}))
	for _, h := range hs {
		b = append(b, h[:]...)
	}
	return b
}

// parseHashList decodes hashList's encoding.
func parseHashList(b []byte) ([]chunk.Hash, error) {
	size := len(chunk.Hash{})
	if len(b)%size != 0 {
		return nil, fmt.Errorf("hash list of %d bytes is not a multiple of %d", len(b), size)
	}
	hs := make([]chunk.Hash, len(b)/size)
	for i := range hs {
		copy(hs[i][:], b[i*size:])
	}
	return hs, nil
}

// haveBits asks the peer which of hs it holds (touch: and refreshes their
// touch time); the answer is one byte per hash, 1 when held.
func (p *peers) haveBits(ctx context.Context, base, path string, hs []chunk.Hash) ([]bool, error) {
	resp, err := p.do(ctx, http.MethodPost, base, path, hashList(hs), nil)
	if err != nil {
		return nil, err
	}
	defer resp.Body.Close()
	bits, err := io.ReadAll(io.LimitReader(resp.Body, int64(len(hs))+1))
	if err != nil {
		return nil, err
	}
	if len(bits) != len(hs) {
		return nil, fmt.Errorf("%s: %d answers for %d hashes", path, len(bits), len(hs))
	}
	out := make([]bool, len(hs))
	for i, b := range bits {
		out[i] = b == 1
	}
	return out, nil
}

// apply forwards an encoded metadata command to the leader at base.
func (p *peers) apply(ctx context.Context, base string, cmd []byte) ([]byte, error) {
	resp, err := p.do(ctx, http.MethodPost, base, pathApply, cmd, nil)
	if err != nil {
		return nil, metaError(err)
	}
	defer resp.Body.Close()
	return io.ReadAll(resp.Body)
}

// readIndex asks the leader at base for its read index.
func (p *peers) readIndex(ctx context.Context, base string) (uint64, error) {
	resp, err := p.do(ctx, http.MethodGet, base, pathReadIndex, nil, nil)
	if err != nil {
		return 0, metaError(err)
	}
	defer resp.Body.Close()
	var b [8]byte
	if _, err := io.ReadFull(resp.Body, b[:]); err != nil {
		return 0, fmt.Errorf("read index: %w", err)
	}
	return binary.BigEndian.Uint64(b[:]), nil
}

// joinRequest is the body of a join: the node, and whether it enters the
// layout as active at once (its own cluster.auto_add) or waits, out, for
// an operator.
type joinRequest struct {
	Node    placement.Node `json:"node"`
	AutoAdd bool           `json:"auto_add"`
}

// join asks the member at base to admit a node to the cluster.
func (p *peers) join(ctx context.Context, base string, req joinRequest) error {
	body, _ := json.Marshal(req)
	resp, err := p.do(ctx, http.MethodPost, base, pathJoin, body, nil)
	if err != nil {
		return fmt.Errorf("join through %s: %w", base, metaError(err))
	}
	resp.Body.Close()
	return nil
}

// metaSentinels are the meta errors that cross the wire by name.
var metaSentinels = map[string]error{
	"not_leader": meta.ErrNotLeader,
	"timeout":    meta.ErrTimeout,
	"closed":     meta.ErrClosed,
	"invalid":    meta.ErrInvalid,
	"not_found":  meta.ErrNotFound,
	"exists":     meta.ErrExists,
	"storage":    meta.ErrStorage,
}

// metaErrorName is the wire name of err's meta sentinel, "" for none.
func metaErrorName(err error) string {
	for name, s := range metaSentinels {
		if errors.Is(err, s) {
			return name
		}
	}
	return ""
}

// metaError turns a peer's answer naming a meta sentinel back into it.
func metaError(err error) error {
	var se *peerStatusError
	if errors.As(err, &se) {
		if s, ok := metaSentinels[se.metaErr]; ok {
			return fmt.Errorf("%w: %w", s, err)
		}
	}
	return err
}

// pathRemove asks the leader to forget a node that is out.
const pathRemove = "/internal/cluster/remove"

// removeMember asks the leader at base to forget node id.
func (p *peers) removeMember(ctx context.Context, base string, id placement.NodeID) error {
	resp, err := p.do(ctx, http.MethodPost, base, pathRemove, []byte(id), nil)
	if err != nil {
		return fmt.Errorf("remove %s through %s: %w", id, base, metaError(err))
	}
	resp.Body.Close()
	return nil
}
