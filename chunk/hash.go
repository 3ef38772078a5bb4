package chunk

import (
	"crypto/sha256"
	"encoding/hex"
	"fmt"
)

// Hash is the SHA-256 of a byte string. It names chunks and whole files
// alike: two byte strings are the same content exactly when their Hash is
// equal. A weak or fast checksum never stands in for it when deciding
// equality.
type Hash [32]byte

// Sum returns the Hash of b.
func Sum(b []byte) Hash { return sha256.Sum256(b) }

// String returns the lowercase hex form of h, the form used in URLs,
// JSON and file names.
func (h Hash) String() string { return hex.EncodeToString(h[:]) }

// IsZero reports whether h is the zero value, which names no content.
func (h Hash) IsZero() bool { return h == Hash{} }

// ParseHash parses the 64-character hex form produced by String.
func ParseHash(s string) (Hash, error) {
	var h Hash
	if len(s) != 2*len(h) {
		return h, fmt.Errorf("parse hash %q: want %d hex characters", s, 2*len(h))
	}
	if _, err := hex.Decode(h[:], []byte(s)); err != nil {
		return h, fmt.Errorf("parse hash %q: %w", s, err)
	}
	return h, nil
}

// MarshalText implements encoding.TextMarshaler with the hex form.
func (h Hash) MarshalText() ([]byte, error) { return []byte(h.String()), nil }

// UnmarshalText implements encoding.TextUnmarshaler for the hex form.
func (h *Hash) UnmarshalText(b []byte) error {
	p, err := ParseHash(string(b))
	if err != nil {
		return err
	}
	*h = p
	return nil
}
