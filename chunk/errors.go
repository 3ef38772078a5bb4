package chunk

import "errors"

// Errors returned by the chunk store. Callers match them with errors.Is;
// they are usually wrapped with the operation and the chunk hash.
var (
	// ErrNotFound means the store holds no chunk with the requested hash.
	ErrNotFound = errors.New("chunk not found")

	// ErrCorrupt means stored bytes failed their checksum (CRC32C on Get,
	// SHA-256 on Verify) or a record header could not be decoded. The bad
	// bytes are never returned.
	ErrCorrupt = errors.New("chunk corrupt")

	// ErrHashMismatch means Put was given data whose SHA-256 differs from
	// the hash it was to be stored under. Nothing was written.
	ErrHashMismatch = errors.New("chunk data does not match its hash")

	// ErrClosed means the store was closed before or during the call.
	ErrClosed = errors.New("chunk store closed")

	// ErrTooLarge means a chunk is longer than MaxChunkSize, or chunking
	// parameters ask for such chunks.
	ErrTooLarge = errors.New("chunk too large")
)
