package meta

import (
	"bytes"
	"encoding/json"
	"fmt"
	"time"
	"unicode/utf8"

	"github.com/helixtrack/attachments/chunk"
	"github.com/helixtrack/attachments/placement"
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

	// Layout commands (see layout_command.go).
	Node       *placement.Node `json:"node,omitempty"`
	AutoActive bool            `json:"auto_active,omitempty"`
	NodeID     NodeID          `json:"node_id,omitempty"`
	State      placement.State `json:"state,omitempty"`
	Weight     int             `json:"weight,omitempty"`
	Replicas   int             `json:"replicas,omitempty"`
}

// field is a set of a command's optional fields, so that each kind can
// reject the fields it does not use.
type field uint16

const (
	fieldRef     field = 1 << iota
	fieldFile          // File
	fieldID            // ID
	fieldCollect       // OlderThan and Limit
	fieldNode          // Node
	fieldAutoActive
	fieldNodeID
	fieldState
	fieldWeight
	fieldReplicas
)

// fieldNames names each field bit, in bit order, for error messages.
var fieldNames = []string{
	"ref", "file", "id", "collect fields", "node", "auto_active", "node_id", "state",
	"weight", "replicas",
}

// present returns the set of optional fields c sets.
func (c *command) present() field {
	var set field
	for _, f := range []struct {
		bit field
		on  bool
	}{
		{bit: fieldRef, on: c.Ref != nil},
		{bit: fieldFile, on: c.File != nil},
		{bit: fieldID, on: c.ID != ""},
		{bit: fieldCollect, on: !c.OlderThan.IsZero() || c.Limit != 0},
		{bit: fieldNode, on: c.Node != nil},
		{bit: fieldAutoActive, on: c.AutoActive},
		{bit: fieldNodeID, on: c.NodeID != ""},
		{bit: fieldState, on: c.State != ""},
		{bit: fieldWeight, on: c.Weight != 0},
		{bit: fieldReplicas, on: c.Replicas != 0},
	} {
		if f.on {
			set |= f.bit
		}
	}
	return set
}

// expectOnly rejects any set field outside allowed.
func (c *command) expectOnly(allowed field) error {
	extra := c.present() &^ allowed
	for i, name := range fieldNames {
		if extra&(1<<i) != 0 {
			return fmt.Errorf("unexpected %s", name)
		}
	}
	return nil
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
		err = c.expectOnly(0)
	case kindJoinNode, kindSetNodeState, kindSetNodeWeight, kindSetReplicas, kindRemoveNode:
		err = c.validateLayout()
	default:
		err = fmt.Errorf("unknown kind %q", c.Kind)
	}
	if err != nil {
		return fmt.Errorf("validate %s command: %w: %w", c.Kind, ErrInvalid, err)
	}
	return nil
}

func (c *command) validateCreate() error {
	if err := c.expectOnly(fieldRef | fieldFile); err != nil {
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
	if err := c.expectOnly(fieldRef); err != nil {
		return err
	}
	return c.validateRef()
}

func (c *command) validateDelete() error {
	if err := c.expectOnly(fieldID); err != nil {
		return err
	}
	if c.Now.IsZero() {
		return fmt.Errorf("missing time")
	}
	return validateID("id", string(c.ID))
}

func (c *command) validateCollect() error {
	if err := c.expectOnly(fieldCollect); err != nil {
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
