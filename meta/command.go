package meta

import (
	"bytes"
	"encoding/json"
	"fmt"
	"time"
	"unicode/utf8"

	"github.com/helixtrack/attachments/chunk"
)

// commandKind tags a command in its JSON encoding.
type commandKind string

const (
	kindCreate  commandKind = "create_reference"
	kindAttach  commandKind = "attach_reference"
	kindDelete  commandKind = "delete_reference"
	kindCollect commandKind = "collect_chunks"

	// kindBarrier changes nothing but the applied index. A new leader
	// commits one in its term before it serves reads: until an entry of its
	// own term is committed it cannot know the true commit index, and the
	// barrier is a command (not a raft barrier entry) so followers' FSMs
	// see its index too.
	kindBarrier commandKind = "barrier"
)

// Limits on command fields. They keep bbolt keys well under its limit and
// stop one command from bloating the log.
const (
	maxIDLen          = 512     // RefID, EntityType, EntityID, Owner
	maxTextLen        = 4096    // Filename, Description
	maxMIMELen        = 255     // File.MIME
	maxManifestChunks = 1 << 20 // chunks in one file manifest
	maxCollectLimit   = 100_000 // chunk records removed by one command
)

// command is one entry of the Raft log. Kind selects which fields are
// used; the others stay zero. Now is the proposer's wall clock, the only
// time the FSM ever sees.
type command struct {
	Kind      commandKind `json:"kind"`
	Now       time.Time   `json:"now,omitzero"`
	Ref       *Reference  `json:"ref,omitempty"`
	File      *File       `json:"file,omitempty"`
	ID        RefID       `json:"id,omitempty"`
	OlderThan time.Time   `json:"older_than,omitzero"`
	Limit     int         `json:"limit,omitempty"`
}

// encodeCommand returns the log form of c.
func encodeCommand(c *command) ([]byte, error) {
	b, err := json.Marshal(c)
	if err != nil {
		return nil, fmt.Errorf("encode %s command: %w", c.Kind, err)
	}
	return b, nil
}

// decodeCommand parses and validates one log entry. Unknown fields and
// trailing data are rejected so that every replica reads a command the
// same way. Errors wrap ErrInvalid.
func decodeCommand(b []byte) (*command, error) {
	dec := json.NewDecoder(bytes.NewReader(b))
	dec.DisallowUnknownFields()

	var c command
	if err := dec.Decode(&c); err != nil {
		return nil, fmt.Errorf("decode command: %w: %w", ErrInvalid, err)
	}
	if dec.More() {
		return nil, fmt.Errorf("decode command: trailing data: %w", ErrInvalid)
	}
	if err := c.validate(); err != nil {
		return nil, err
	}
	return &c, nil
}

// validate checks what can be checked without the state. The store runs it
// before proposing and the FSM again after decoding, so a bad entry is
// rejected the same way everywhere. Errors wrap ErrInvalid.
func (c *command) validate() error {
	var err error
	switch c.Kind {
	case kindCreate:
		err = c.validateCreate()
	case kindAttach:
		err = c.validateAttach()
	case kindDelete:
		err = c.validateDelete()
	case kindCollect:
		err = c.validateCollect()
	case kindBarrier:
		err = c.expectOnly(false, false, false)
		if err == nil && c.ID != "" {
			err = fmt.Errorf("unexpected id")
		}
	default:
		err = fmt.Errorf("unknown kind %q", c.Kind)
	}
	if err != nil {
		return fmt.Errorf("validate %s command: %w: %w", c.Kind, ErrInvalid, err)
	}
	return nil
}

// expectOnly rejects fields that the kind does not use.
func (c *command) expectOnly(ref, file, collect bool) error {
	switch {
	case !ref && c.Ref != nil:
		return fmt.Errorf("unexpected ref")
	case !file && c.File != nil:
		return fmt.Errorf("unexpected file")
	case !collect && (!c.OlderThan.IsZero() || c.Limit != 0):
		return fmt.Errorf("unexpected collect fields")
	case (ref || file || collect) && c.ID != "":
		return fmt.Errorf("unexpected id")
	}
	return nil
}

func (c *command) validateCreate() error {
	if err := c.expectOnly(true, true, false); err != nil {
		return err
	}
	if err := c.validateRef(); err != nil {
		return err
	}
	if c.File == nil {
		return fmt.Errorf("missing file")
	}
	if c.File.Hash != c.Ref.FileHash {
		return fmt.Errorf("file hash %s differs from reference file hash %s",
			c.File.Hash, c.Ref.FileHash)
	}
	return validateFile(c.File)
}

func (c *command) validateAttach() error {
	if err := c.expectOnly(true, false, false); err != nil {
		return err
	}
	return c.validateRef()
}

func (c *command) validateDelete() error {
	if err := c.expectOnly(false, false, false); err != nil {
		return err
	}
	if c.Now.IsZero() {
		return fmt.Errorf("missing time")
	}
	return validateID("id", string(c.ID))
}

func (c *command) validateCollect() error {
	if err := c.expectOnly(false, false, true); err != nil {
		return err
	}
	if c.OlderThan.IsZero() {
		return fmt.Errorf("missing older_than")
	}
	if c.Limit <= 0 || c.Limit > maxCollectLimit {
		return fmt.Errorf("limit %d outside 1..%d", c.Limit, maxCollectLimit)
	}
	return nil
}

// validateRef checks the reference of a create or attach command.
func (c *command) validateRef() error {
	r := c.Ref
	switch {
	case c.Now.IsZero():
		return fmt.Errorf("missing time")
	case r == nil:
		return fmt.Errorf("missing ref")
	case r.FileHash.IsZero():
		return fmt.Errorf("missing file hash")
	case r.Deleted || !r.DeletedAt.IsZero():
		return fmt.Errorf("new reference marked deleted")
	}
	fields := []struct {
		name, value string
		max         int
		required    bool
	}{
		{name: "id", value: string(r.ID), max: maxIDLen, required: true},
		{name: "entity type", value: r.EntityType, max: maxIDLen, required: true},
		{name: "entity id", value: r.EntityID, max: maxIDLen, required: true},
		{name: "owner", value: r.Owner, max: maxIDLen},
		{name: "filename", value: r.Filename, max: maxTextLen},
		{name: "description", value: r.Description, max: maxTextLen},
	}
	for _, f := range fields {
		if err := validateText(f.name, f.value, f.max, f.required); err != nil {
			return err
		}
	}
	return nil
}

// validateFile checks a manifest: chunk sizes are positive, one hash has
// one size, and the sizes add up to the file size.
func validateFile(f *File) error {
	if err := validateText("mime", f.MIME, maxMIMELen, false); err != nil {
		return err
	}
	if f.Size < 0 {
		return fmt.Errorf("negative file size %d", f.Size)
	}
	if len(f.Chunks) > maxManifestChunks {
		return fmt.Errorf("manifest of %d chunks exceeds %d", len(f.Chunks), maxManifestChunks)
	}
	if f.RefCount != 0 {
		return fmt.Errorf("file ref count set by proposer")
	}

	var sum int64
	sizes := make(map[chunk.Hash]uint32, len(f.Chunks))
	for i, c := range f.Chunks {
		if c.Hash.IsZero() || c.Size == 0 {
			return fmt.Errorf("manifest entry %d: empty chunk", i)
		}
		if s, ok := sizes[c.Hash]; ok && s != c.Size {
			return fmt.Errorf("manifest entry %d: chunk %s has sizes %d and %d",
				i, c.Hash, s, c.Size)
		}
		sizes[c.Hash] = c.Size
		sum += int64(c.Size)
	}
	if sum != f.Size {
		return fmt.Errorf("manifest sizes sum to %d, file size is %d", sum, f.Size)
	}
	return nil
}

func validateID(name, v string) error { return validateText(name, v, maxIDLen, true) }

// validateText bounds a string field and demands valid UTF-8, because JSON
// would silently replace invalid bytes and store something else.
func validateText(name, v string, max int, required bool) error {
	switch {
	case required && v == "":
		return fmt.Errorf("missing %s", name)
	case len(v) > max:
		return fmt.Errorf("%s longer than %d bytes", name, max)
	case !utf8.ValidString(v):
		return fmt.Errorf("%s is not valid utf-8", name)
	}
	return nil
}
