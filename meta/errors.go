package meta

import "errors"

// Errors returned by commands, whether rejected before proposing or by the
// FSM while applying.
var (
	// ErrNotFound means the reference, file or chunk does not exist, or the
	// reference was deleted.
	ErrNotFound = errors.New("not found")

	// ErrExists means a command would create a reference whose id is
	// already taken (live or deleted).
	ErrExists = errors.New("already exists")

	// ErrInvalid means a command is malformed: a missing field, a hash that
	// does not match the file, a manifest that does not add up to the file
	// size, or bytes that do not decode.
	ErrInvalid = errors.New("invalid command")
)

// Errors about the replication state of the store.
var (
	// ErrNotLeader means this node cannot serve the request itself and has
	// no way to reach the leader (no Forward or ReadIndex hook), or the
	// leader is unknown. A write that fails with ErrNotLeader was not
	// applied, so it is safe to retry elsewhere.
	ErrNotLeader = errors.New("not the raft leader")

	// ErrTimeout means the deadline passed or leadership was lost before
	// the outcome was known. A write that fails with ErrTimeout may still
	// be applied later; a retry of CreateReference with the same id then
	// fails with ErrExists.
	ErrTimeout = errors.New("timed out")

	// ErrClosed means the store was closed.
	ErrClosed = errors.New("store closed")

	// ErrStorage means the FSM could not write its bbolt file. The FSM
	// stops applying after such a failure, so it never skips an entry;
	// reopening the store replays the log from the last durable index.
	ErrStorage = errors.New("metadata storage failed")
)

// ErrInconsistent means Verify found stored counts, totals or index
// entries that differ from a recount of the references.
var ErrInconsistent = errors.New("metadata inconsistent")
