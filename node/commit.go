package node

import (
	"context"
	"crypto/rand"
	"encoding/hex"
	"errors"
	"fmt"
	"time"

	"github.com/helixtrack/attachments/api"
	"github.com/helixtrack/attachments/chunk"
	"github.com/helixtrack/attachments/meta"
)

// errChunkGone: a chunk of an ingested file was collected before the
// commit, because the upload took longer than the grace period. The client
// retries the upload.
var errChunkGone = errors.New("chunk collected before commit")

// Commit implements api.Backend. It touches every chunk of the manifest
// again, so the collector leaves them alone for a whole grace period, and
// then proposes one command that creates the file (or raises its count) and
// the reference together.
func (n *Node) Commit(ctx context.Context, f meta.File, tmpl meta.Reference) (api.Item, error) {
	if err := n.touchAll(ctx, manifestHashes(f.Chunks)); err != nil {
		return api.Item{}, fmt.Errorf("commit %s: %w: %w", f.Hash, err, api.ErrUnavailable)
	}
	ref := n.newReference(tmpl, f.Hash)
	res, err := n.meta.CreateReference(ctx, ref, f)
	if errors.Is(err, meta.ErrTimeout) {
		if it, ok := n.settle(ctx, ref.ID); ok {
			return it, nil
		}
	}
	if err != nil {
		return api.Item{}, fmt.Errorf("commit %s: %w", f.Hash, mapMetaErr(err))
	}
	return api.Item{Ref: res.Ref, File: res.File, Deduplicated: res.Deduplicated}, nil
}

// Attach implements api.Backend: a new reference to content already
// stored, sent by hash instead of bytes.
func (n *Node) Attach(ctx context.Context, h chunk.Hash, tmpl meta.Reference, admin bool) (api.Item, error) {
	if !admin {
		owns, err := n.meta.OwnsFile(ctx, tmpl.Owner, h)
		if err != nil {
			return api.Item{}, fmt.Errorf("attach %s: %w", h, mapMetaErr(err))
		}
		if !owns {
			return api.Item{}, fmt.Errorf("attach %s: %w", h, meta.ErrNotFound)
		}
	}
	ref := n.newReference(tmpl, h)
	f, err := n.meta.AttachReference(ctx, ref)
	if errors.Is(err, meta.ErrTimeout) {
		if it, ok := n.settle(ctx, ref.ID); ok {
			it.Deduplicated = true
			return it, nil
		}
	}
	if err != nil {
		return api.Item{}, fmt.Errorf("attach %s: %w", h, mapMetaErr(err))
	}
	ref, err = n.meta.Reference(ctx, ref.ID)
	if err != nil {
		return api.Item{}, fmt.Errorf("attach %s: read back: %w", h, mapMetaErr(err))
	}
	return api.Item{Ref: ref, File: f, Deduplicated: true}, nil
}

// settleTimeout bounds how long a gateway looks for the outcome of a
// commit that ended without an answer, e.g. because the leader died while
// it handled the command. It covers an election and a few reads.
const settleTimeout = 10 * time.Second

// settle finds out whether the reference id, whose commit ended with an
// unknown outcome, was committed after all. The gateway drew the id, so
// reading it back is a test no other request can confuse. It reads until
// the reference shows up, or three linearizable reads in a row say it
// does not exist, or settleTimeout passes. Found, the client is told of
// its success rather than retrying and creating a second reference; not
// found, the 503 stands. A command still in flight in a leader that has
// not stepped down could in principle commit after the last read; the
// reads are spaced so that any such leader has lost its lease by then.
func (n *Node) settle(ctx context.Context, id meta.RefID) (api.Item, bool) {
	deadline := time.Now().Add(settleTimeout)
	misses := 0
	for time.Now().Before(deadline) {
		ref, f, err := n.meta.ReferenceFile(ctx, id)
		switch {
		case err == nil:
			n.log.Info("commit with unknown outcome had succeeded", "ref", id)
			return api.Item{Ref: ref, File: f}, true
		case errors.Is(err, meta.ErrNotFound):
			if misses++; misses == 3 {
				return api.Item{}, false
			}
		}
		select {
		case <-ctx.Done():
			return api.Item{}, false
		case <-time.After(500 * time.Millisecond):
		}
	}
	return api.Item{}, false
}

// manifestHashes lists the distinct chunks of a manifest.
func manifestHashes(refs []meta.ChunkRef) []chunk.Hash {
	seen := make(map[chunk.Hash]bool, len(refs))
	out := make([]chunk.Hash, 0, len(refs))
	for _, c := range refs {
		if !seen[c.Hash] {
			seen[c.Hash] = true
			out = append(out, c.Hash)
		}
	}
	return out
}

// newReference fills in what the node decides about a new reference: a
// random 128-bit id and the file it points at. The creation time is set by
// the metadata store from the command.
func (n *Node) newReference(tmpl meta.Reference, h chunk.Hash) meta.Reference {
	var id [16]byte
	if _, err := rand.Read(id[:]); err != nil {
		panic(fmt.Sprintf("crypto/rand failed: %v", err)) // the kernel's RNG does not fail
	}
	ref := tmpl
	ref.ID = meta.RefID(hex.EncodeToString(id[:]))
	ref.FileHash = h
	ref.Deleted = false
	return ref
}

// mapMetaErr turns metadata errors a client may retry into
// api.ErrUnavailable and leaves the rest (not found, invalid) as they are.
func mapMetaErr(err error) error {
	switch {
	case errors.Is(err, meta.ErrNotLeader), errors.Is(err, meta.ErrTimeout),
		errors.Is(err, meta.ErrClosed):
		return fmt.Errorf("%w: %w", err, api.ErrUnavailable)
	}
	return err
}
