package node

import (
	"context"
	"errors"
	"fmt"

	"github.com/helixtrack/attachments/api"
	"github.com/helixtrack/attachments/chunk"
	"github.com/helixtrack/attachments/meta"
)

// readChunk returns the verified bytes of one chunk of a manifest, read
// into buf. A chunk whose stored copy fails its checksum is never returned;
// the failure is counted and logged, and the read fails.
func (n *Node) readChunk(ctx context.Context, c meta.ChunkRef, buf []byte) ([]byte, error) {
	data, err := n.chunks.Get(ctx, c.Hash, buf)
	switch {
	case errors.Is(err, chunk.ErrCorrupt):
		n.metrics.corrupt.Inc()
		n.log.Error("chunk failed verification", "chunk", c.Hash, "err", err)
		return nil, fmt.Errorf("read chunk %s: %w: %w", c.Hash, err, api.ErrUnavailable)
	case errors.Is(err, chunk.ErrNotFound):
		n.log.Error("chunk missing", "chunk", c.Hash)
		return nil, fmt.Errorf("read chunk %s: %w: %w", c.Hash, err, api.ErrUnavailable)
	case err != nil:
		return nil, fmt.Errorf("read chunk %s: %w", c.Hash, err)
	}
	if len(data) != int(c.Size) {
		return nil, fmt.Errorf("read chunk %s: size %d, manifest says %d: %w",
			c.Hash, len(data), c.Size, api.ErrUnavailable)
	}
	return data, nil
}
