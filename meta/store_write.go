package meta

import (
	"context"
	"errors"
	"fmt"
	"time"

	"github.com/helixtrack/attachments/chunk"
)

// CreateResult is the outcome of CreateReference.
type CreateResult struct {
	// Deduplicated is set when the content was already stored, so the
	// manifest in the command was not used.
	Deduplicated bool
	// File is the file record after the new reference was counted.
	File File
	// Ref is the reference as stored, with Created filled in.
	Ref Reference
}

// CreateReference stores ref and, if its content is new, file with its
// manifest. ref.Created may be zero: the command time is used. Errors:
// ErrInvalid (missing fields, file.Hash != ref.FileHash, manifest sizes
// that do not sum to file.Size or that contradict a stored chunk),
// ErrExists (the id is taken), and the errors of every write: ErrNotLeader,
// ErrTimeout, ErrClosed, ErrStorage.
func (s *Store) CreateReference(ctx context.Context, ref Reference, file File) (
	CreateResult, error,
) {
	res, err := s.propose(ctx, &command{Kind: kindCreate, Ref: &ref, File: &file})
	if err != nil {
		return CreateResult{}, fmt.Errorf("create reference %s: %w", ref.ID, err)
	}
	if res.File == nil || res.Ref == nil {
		return CreateResult{}, fmt.Errorf("create reference %s: incomplete result: %w",
			ref.ID, ErrInvalid)
	}
	return CreateResult{Deduplicated: res.Deduplicated, File: *res.File, Ref: *res.Ref}, nil
}

// AttachReference stores ref against a file that already exists and
// returns that file. Errors: ErrNotFound when the file does not exist,
// ErrInvalid, ErrExists, and the errors of every write.
func (s *Store) AttachReference(ctx context.Context, ref Reference) (File, error) {
	res, err := s.propose(ctx, &command{Kind: kindAttach, Ref: &ref})
	if err != nil {
		return File{}, fmt.Errorf("attach reference %s: %w", ref.ID, err)
	}
	if res.File == nil {
		return File{}, fmt.Errorf("attach reference %s: incomplete result: %w", ref.ID, ErrInvalid)
	}
	return *res.File, nil
}

// DeleteReference soft-deletes a live reference and returns it as
// stored, with Deleted and DeletedAt set. Errors: ErrNotFound for an
// unknown or already deleted id, and the errors of every write.
func (s *Store) DeleteReference(ctx context.Context, id RefID) (Reference, error) {
	res, err := s.propose(ctx, &command{Kind: kindDelete, ID: id})
	if err != nil {
		return Reference{}, fmt.Errorf("delete reference %s: %w", id, err)
	}
	if res.Ref == nil {
		return Reference{}, fmt.Errorf("delete reference %s: incomplete result: %w", id, ErrInvalid)
	}
	return *res.Ref, nil
}

// CollectChunks removes up to limit chunk records that have had no
// reference since before olderThan and returns their hashes, oldest
// first. Only after this may a node delete the chunks' bytes: a later
// manifest naming one of them creates a new record. Errors: ErrInvalid
// for a zero olderThan or a limit outside 1..100000, and the errors of
// every write.
func (s *Store) CollectChunks(ctx context.Context, olderThan time.Time, limit int) (
	[]chunk.Hash, error,
) {
	res, err := s.propose(ctx, &command{
		Kind:      kindCollect,
		OlderThan: olderThan.UTC(),
		Limit:     limit,
	})
	if err != nil {
		return nil, fmt.Errorf("collect chunks: %w", err)
	}
	return res.Collected, nil
}

// propose stamps c with the wall clock, validates it and has the leader
// apply it: locally when this node leads, through cfg.Forward otherwise.
// A rejection by the FSM comes back as an error wrapping its sentinel.
func (s *Store) propose(ctx context.Context, c *command) (*result, error) {
	if err := s.checkOpen(); err != nil {
		return nil, err
	}
	c.Now = time.Now().UTC()
	if err := c.validate(); err != nil {
		return nil, err
	}
	b, err := encodeCommand(c)
	if err != nil {
		return nil, err
	}

	res, err := s.applyOrForward(ctx, b)
	if err != nil {
		return nil, err
	}
	return res, res.err()
}

// applyOrForward applies b on this node if it leads, else forwards it.
// A local ErrNotLeader means the entry was never appended, so forwarding
// it then is safe.
func (s *Store) applyOrForward(ctx context.Context, b []byte) (*result, error) {
	if s.IsLeader() {
		res, err := s.applyLocal(ctx, b)
		if !errors.Is(err, ErrNotLeader) || s.cfg.Forward == nil {
			return res, err
		}
	}
	if s.cfg.Forward == nil {
		return nil, ErrNotLeader
	}
	out, err := s.cfg.Forward(ctx, b)
	if err != nil {
		return nil, fmt.Errorf("forward to leader: %w", err)
	}
	return decodeResult(out)
}

// ApplyEncoded is the leader's side of forwarding: it applies a command
// encoded by another node's store and returns the encoded result, which
// may record a rejection (the forwarding store turns it into the error).
// Errors here mean the command was not judged: ErrInvalid (bytes that do
// not decode), ErrNotLeader, ErrTimeout, ErrClosed.
func (s *Store) ApplyEncoded(ctx context.Context, cmd []byte) ([]byte, error) {
	if err := s.checkOpen(); err != nil {
		return nil, err
	}
	if _, err := decodeCommand(cmd); err != nil {
		return nil, err
	}
	if !s.IsLeader() {
		return nil, fmt.Errorf("apply forwarded command: %w", ErrNotLeader)
	}
	res, err := s.applyLocal(ctx, cmd)
	if err != nil {
		return nil, fmt.Errorf("apply forwarded command: %w", err)
	}
	return encodeResult(res)
}

// applyLocal proposes b to Raft on this node and waits until the FSM has
// applied it.
func (s *Store) applyLocal(ctx context.Context, b []byte) (*result, error) {
	timeout, err := s.enqueueTimeout(ctx)
	if err != nil {
		return nil, fmt.Errorf("apply: %w", err)
	}

	f := s.raft.Apply(b, timeout)
	if err := s.await(ctx, f); err != nil {
		return nil, mapRaftError(err)
	}
	res, ok := f.Response().(*result)
	if !ok {
		return nil, fmt.Errorf("apply: fsm answered %T: %w", f.Response(), ErrStorage)
	}
	return res, nil
}

// enqueueTimeout is how long a request may wait to enter Raft's pipeline:
// cfg.ApplyTimeout, or less when ctx ends sooner. Errors: ErrTimeout when
// ctx has no time left.
func (s *Store) enqueueTimeout(ctx context.Context) (time.Duration, error) {
	timeout := s.cfg.ApplyTimeout
	if dl, ok := ctx.Deadline(); ok {
		timeout = min(timeout, time.Until(dl))
	}
	if timeout <= 0 {
		return 0, fmt.Errorf("%w: %w", ErrTimeout, context.DeadlineExceeded)
	}
	return timeout, nil
}
