package meta

import (
	"context"
	"errors"
	"fmt"

	"github.com/helixtrack/attachments/chunk"
)

// Every read below is linearizable: it first waits until the local FSM
// has applied the leader's read index (see ReadIndex), so it sees every
// write acknowledged before it began. Besides the errors each names, a
// read fails with the errors of that barrier: ErrNotLeader (a follower
// without a ReadIndex hook), ErrTimeout, ErrClosed, ErrStorage.

// Reference returns a live reference. Errors: ErrNotFound for an unknown
// or deleted id.
func (s *Store) Reference(ctx context.Context, id RefID) (Reference, error) {
	if err := s.readBarrier(ctx); err != nil {
		return Reference{}, fmt.Errorf("get reference %s: %w", id, err)
	}
	return s.fsm.reference(id)
}

// File returns the file whose content hashes to h. Errors: ErrNotFound
// when no live reference holds it.
func (s *Store) File(ctx context.Context, h chunk.Hash) (File, error) {
	if err := s.readBarrier(ctx); err != nil {
		return File{}, fmt.Errorf("get file %s: %w", h, err)
	}
	return s.fsm.file(h)
}

// Chunk returns the record of chunk h, which exists from the first
// manifest that names it until CollectChunks removes it. Errors:
// ErrNotFound.
func (s *Store) Chunk(ctx context.Context, h chunk.Hash) (Chunk, error) {
	if err := s.readBarrier(ctx); err != nil {
		return Chunk{}, fmt.Errorf("get chunk %s: %w", h, err)
	}
	return s.fsm.chunk(h)
}

// ChunkExists reports whether chunk h has a record, even at zero
// references.
func (s *Store) ChunkExists(ctx context.Context, h chunk.Hash) (bool, error) {
	_, err := s.Chunk(ctx, h)
	switch {
	case err == nil:
		return true, nil
	case errors.Is(err, ErrNotFound):
		return false, nil
	}
	return false, err
}

// OwnsFile reports whether owner holds at least one live reference to
// the file h: the permission check for creating a reference by hash.
func (s *Store) OwnsFile(ctx context.Context, owner string, h chunk.Hash) (bool, error) {
	if err := s.readBarrier(ctx); err != nil {
		return false, fmt.Errorf("check owner of %s: %w", h, err)
	}
	return s.fsm.ownsFile(owner, h)
}

// ListEntity returns up to limit (capped at 1000) live references of one
// entity, oldest first, starting after cursor ("" for the first page),
// and the cursor of the next page, "" when there is none. The cursor is
// opaque; it stays valid while references are added and deleted. Errors:
// ErrInvalid for a malformed cursor or a limit below 1.
func (s *Store) ListEntity(ctx context.Context, typ, id, cursor string, limit int) (
	[]Reference, string, error,
) {
	if err := s.readBarrier(ctx); err != nil {
		return nil, "", fmt.Errorf("list entity %s/%s: %w", typ, id, err)
	}
	return s.fsm.listEntity(typ, id, cursor, limit)
}

// Stats returns the running totals.
func (s *Store) Stats(ctx context.Context) (Stats, error) {
	if err := s.readBarrier(ctx); err != nil {
		return Stats{}, fmt.Errorf("stats: %w", err)
	}
	return s.fsm.stats()
}

// Verify recomputes every file and chunk count, index entry and total
// from the references and compares them with the stored values, in one
// read transaction. It returns nil when all agree, or an error wrapping
// ErrInconsistent that lists the mismatches (the first 20 in full). It
// holds one map entry per file, chunk and live reference in memory.
func (s *Store) Verify(ctx context.Context) error {
	if err := s.readBarrier(ctx); err != nil {
		return fmt.Errorf("verify: %w", err)
	}
	return s.fsm.verify()
}

// LocalChunks calls fn with every chunk record of the local FSM, in hash
// order, until fn returns false. It skips the read barrier: it serves
// sweepers, which act on records old enough that staleness is harmless.
// Records are read in pages and fn runs outside any transaction, so fn may
// call the store; a record changed meanwhile may be seen old or new.
func (s *Store) LocalChunks(fn func(h chunk.Hash, c Chunk) bool) error {
	if err := s.checkOpen(); err != nil {
		return err
	}
	if err := s.fsm.localChunks(fn); err != nil {
		return fmt.Errorf("list local chunks: %w", err)
	}
	return nil
}

// KnownChunks reports, for each hash, whether a chunk record exists (even
// at zero references), after one read barrier for the whole batch. The
// garbage sweeper uses it to decide which local chunks are unknown.
func (s *Store) KnownChunks(ctx context.Context, hs []chunk.Hash) ([]bool, error) {
	if err := s.readBarrier(ctx); err != nil {
		return nil, fmt.Errorf("known chunks: %w", err)
	}
	return s.fsm.knownChunks(hs)
}

// ReferenceFile returns a live reference and its file, read together
// after one barrier. Errors: ErrNotFound for an unknown or deleted id.
func (s *Store) ReferenceFile(ctx context.Context, id RefID) (Reference, File, error) {
	if err := s.readBarrier(ctx); err != nil {
		return Reference{}, File{}, fmt.Errorf("get reference %s: %w", id, err)
	}
	ref, err := s.fsm.reference(id)
	if err != nil {
		return Reference{}, File{}, err
	}
	f, err := s.fsm.file(ref.FileHash)
	return ref, f, err
}

// ListEntityFiles is ListEntity with the file of each reference, read in
// the same barrier.
func (s *Store) ListEntityFiles(ctx context.Context, typ, id, cursor string, limit int) (
	[]Reference, []File, string, error,
) {
	if err := s.readBarrier(ctx); err != nil {
		return nil, nil, "", fmt.Errorf("list entity %s/%s: %w", typ, id, err)
	}
	refs, next, err := s.fsm.listEntity(typ, id, cursor, limit)
	if err != nil {
		return nil, nil, "", err
	}
	hs := make([]chunk.Hash, len(refs))
	for i, r := range refs {
		hs[i] = r.FileHash
	}
	files, err := s.fsm.files(hs)
	return refs, files, next, err
}

// HasChunkLocal reports whether the local state holds a record of chunk h,
// without a read barrier. It may be stale; the write path uses it only to
// guess that a chunk's owners already hold the bytes, and checks with them
// before relying on it.
func (s *Store) HasChunkLocal(h chunk.Hash) bool {
	_, err := s.fsm.chunk(h)
	return err == nil
}
