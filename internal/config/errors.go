package config

import (
	"errors"
	"strings"
)

// Errors of Parse, Load and Validate, matched with errors.Is. Each problem
// is reported as a *FieldError wrapping one of them.
var (
	// ErrSyntax means the input is not one well-formed JSON object of at
	// most MaxFileBytes bytes.
	ErrSyntax = errors.New("malformed json")

	// ErrUnknownKey means an object holds a key that names no setting, or
	// holds a key twice.
	ErrUnknownKey = errors.New("unknown key")

	// ErrType means a value has the wrong JSON type for its key (a string
	// where a number belongs), or a duration string does not parse.
	ErrType = errors.New("wrong type")

	// ErrInvalid means a value is well formed but not allowed: out of
	// range, not one of an enumeration, or in conflict with another key.
	ErrInvalid = errors.New("invalid value")
)

// FieldError is one problem with one key. Its message is the key path, a
// colon and the reason, for example
// "service.port: must be 1-65535, got 70000".
type FieldError struct {
	// Path is the dotted key path from the top-level object, with indices
	// for array elements: storage.endpoints[1].adapter_config.bucket.
	// It is empty for problems of the document as a whole.
	Path string
	// Reason says what is wrong, and what was expected, in lower case.
	Reason string
	// Err is ErrSyntax, ErrUnknownKey, ErrType or ErrInvalid.
	Err error
}

// Error returns "path: reason", or the reason alone when Path is empty.
func (e *FieldError) Error() string {
	if e.Path == "" {
		return e.Reason
	}
	return e.Path + ": " + e.Reason
}

// Unwrap returns the sentinel the problem is an instance of.
func (e *FieldError) Unwrap() error { return e.Err }

// ValidationError holds every problem Validate found, in the order of the
// keys in the configuration.
type ValidationError struct {
	// Fields holds one entry per problem; it is never empty.
	Fields []*FieldError
}

// Error joins the problems with "; " so the message stays on one line.
func (e *ValidationError) Error() string {
	parts := make([]string, len(e.Fields))
	for i, f := range e.Fields {
		parts[i] = f.Error()
	}
	return strings.Join(parts, "; ")
}

// Unwrap returns the problems, so errors.Is and errors.As see each of them.
func (e *ValidationError) Unwrap() []error {
	errs := make([]error, len(e.Fields))
	for i, f := range e.Fields {
		errs[i] = f
	}
	return errs
}
