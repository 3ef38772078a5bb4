package meta

import (
	"encoding/json"
	"errors"
	"fmt"

	"github.com/helixtrack/attachments/chunk"
	"github.com/helixtrack/attachments/placement"
)

// resultCode names why the FSM rejected a command. The empty code means
// the command was applied.
type resultCode string

const (
	codeOK       resultCode = ""
	codeNotFound resultCode = "not_found"
	codeExists   resultCode = "exists"
	codeInvalid  resultCode = "invalid"
	codeStorage  resultCode = "storage"
)

// codeErrors maps each rejection code to the sentinel callers match.
var codeErrors = map[resultCode]error{
	codeNotFound: ErrNotFound,
	codeExists:   ErrExists,
	codeInvalid:  ErrInvalid,
	codeStorage:  ErrStorage,
}

// result is what the FSM returns for one command: the outcome and the
// records the caller asked about. It travels back to a forwarding node
// encoded as JSON.
type result struct {
	Code         resultCode   `json:"code,omitempty"`
	Message      string       `json:"message,omitempty"`
	Deduplicated bool         `json:"deduplicated,omitempty"`
	File         *File        `json:"file,omitempty"`
	Ref          *Reference   `json:"ref,omitempty"`
	Collected    []chunk.Hash `json:"collected,omitempty"`
	// Layout is the layout after a layout command.
	Layout *placement.Layout `json:"layout,omitempty"`
}

// reject returns a result that records a rejection.
func reject(code resultCode, format string, args ...any) *result {
	return &result{Code: code, Message: fmt.Sprintf(format, args...)}
}

// err returns nil for an applied command, or an error that wraps the
// sentinel of the code and carries the FSM's message.
func (r *result) err() error {
	if r.Code == codeOK {
		return nil
	}
	sentinel, ok := codeErrors[r.Code]
	if !ok {
		return fmt.Errorf("unknown result code %q: %w", r.Code, ErrInvalid)
	}
	return fmt.Errorf("%s: %w", r.Message, sentinel)
}

// rejectionFor turns a validation error into a result, so that a command
// the FSM cannot decode is recorded as rejected rather than failing apply.
func rejectionFor(err error) *result {
	if errors.Is(err, ErrInvalid) {
		return reject(codeInvalid, "%v", err)
	}
	return reject(codeStorage, "%v", err)
}

func encodeResult(r *result) ([]byte, error) {
	b, err := json.Marshal(r)
	if err != nil {
		return nil, fmt.Errorf("encode result: %w", err)
	}
	return b, nil
}

// decodeResult parses a result returned by a forwarding target. Errors
// wrap ErrInvalid.
func decodeResult(b []byte) (*result, error) {
	var r result
	if err := json.Unmarshal(b, &r); err != nil {
		return nil, fmt.Errorf("decode result: %w: %w", ErrInvalid, err)
	}
	if _, known := codeErrors[r.Code]; r.Code != codeOK && !known {
		return nil, fmt.Errorf("decode result: unknown code %q: %w", r.Code, ErrInvalid)
	}
	return &r, nil
}
