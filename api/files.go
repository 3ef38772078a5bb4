package api

import (
	"fmt"
	"strconv"
	"time"

	"github.com/valyala/fasthttp"

	"github.com/helixtrack/attachments/meta"
)

// Limits of the names that appear in paths and form fields.
const (
	maxEntityType = 64
	maxEntityID   = 256
	maxRefID      = 128
	maxCursor     = 1024
)

// Page sizes of the entity listing.
const (
	defaultListLimit = 100
	maxListLimit     = 1000
)

// fileJSON is how a reference and its file look on the wire, in answers
// to uploads, reads and listings alike.
type fileJSON struct {
	ID           meta.RefID `json:"id"`
	FileHash     string     `json:"file_hash"`
	Size         int64      `json:"size"`
	MIMEType     string     `json:"mime_type"`
	Filename     string     `json:"filename"`
	Description  string     `json:"description"`
	EntityType   string     `json:"entity_type"`
	EntityID     string     `json:"entity_id"`
	Deduplicated bool       `json:"deduplicated"`
	CreatedAt    string     `json:"created_at"`
}

// renderItem converts it to its wire form; times are RFC 3339 in UTC.
func renderItem(it Item) fileJSON {
	return fileJSON{
		ID:           it.Ref.ID,
		FileHash:     it.Ref.FileHash.String(),
		Size:         it.File.Size,
		MIMEType:     it.File.MIME,
		Filename:     it.Ref.Filename,
		Description:  it.Ref.Description,
		EntityType:   it.Ref.EntityType,
		EntityID:     it.Ref.EntityID,
		Deduplicated: it.Deduplicated,
		CreatedAt:    it.Ref.Created.UTC().Format(time.RFC3339),
	}
}

// listJSON is one page of an entity's files. Files is never null.
type listJSON struct {
	Files      []fileJSON `json:"files"`
	NextCursor string     `json:"next_cursor"`
}

// isSafeName reports whether s is 1 to max bytes of letters, digits and
// "-_.:". Entity types and ids are restricted to this set so that they
// can appear in paths, logs and keys without escaping.
func isSafeName(s string, max int) bool {
	if s == "" || len(s) > max {
		return false
	}
	for i := 0; i < len(s); i++ {
		c := s[i]
		switch {
		case 'a' <= c && c <= 'z', 'A' <= c && c <= 'Z', '0' <= c && c <= '9':
		case c == '-', c == '_', c == '.', c == ':':
		default:
			return false
		}
	}
	return true
}

// refIDParam returns the {id} of a files route. An id that could never
// have been issued is simply not found.
func refIDParam(r *request) (meta.RefID, error) {
	id := r.params[0]
	if !isSafeName(id, maxRefID) {
		return "", fmt.Errorf("reference id: %w", meta.ErrNotFound)
	}
	return meta.RefID(id), nil
}

// get answers GET /v1/files/{id} with the reference's JSON.
func (s *Server) get(r *request) error {
	id, err := refIDParam(r)
	if err != nil {
		return err
	}
	it, err := s.be.Reference(r.c, id)
	if err != nil {
		return fmt.Errorf("get reference %s: %w", id, err)
	}
	s.writeJSON(r.ctx, fasthttp.StatusOK, renderItem(it))
	return nil
}

// delete answers DELETE /v1/files/{id} with 204 once the reference is
// soft-deleted.
func (s *Server) delete(r *request) error {
	id, err := refIDParam(r)
	if err != nil {
		return err
	}
	if err := s.be.Delete(r.c, id); err != nil {
		return fmt.Errorf("delete reference %s: %w", id, err)
	}
	r.ctx.SetStatusCode(fasthttp.StatusNoContent)
	return nil
}

// listQuery is a parsed GET /v1/entities/{type}/{id}/files.
type listQuery struct {
	entityType, entityID, cursor string
	limit                        int
}

// parseList validates the entity and the paging arguments. A limit above
// maxListLimit is cut to it: the client pages on with next_cursor.
func parseList(r *request) (listQuery, error) {
	q := listQuery{entityType: r.params[0], entityID: r.params[1], limit: defaultListLimit}
	if !isSafeName(q.entityType, maxEntityType) {
		return q, badRequest("entity type must be 1 to %d of [A-Za-z0-9._:-]", maxEntityType)
	}
	if !isSafeName(q.entityID, maxEntityID) {
		return q, badRequest("entity id must be 1 to %d of [A-Za-z0-9._:-]", maxEntityID)
	}

	args := r.ctx.QueryArgs()
	if raw := args.Peek("limit"); raw != nil {
		n, err := strconv.Atoi(string(raw))
		if err != nil || n < 1 {
			return q, badRequest("limit must be a positive integer")
		}
		q.limit = min(n, maxListLimit)
	}
	q.cursor = string(args.Peek("cursor"))
	if len(q.cursor) > maxCursor {
		return q, badRequest("cursor is longer than %d bytes", maxCursor)
	}
	return q, nil
}

// list answers GET /v1/entities/{type}/{id}/files with one page.
func (s *Server) list(r *request) error {
	q, err := parseList(r)
	if err != nil {
		return err
	}
	items, next, err := s.be.List(r.c, q.entityType, q.entityID, q.cursor, q.limit)
	if err != nil {
		return fmt.Errorf("list %s/%s: %w", q.entityType, q.entityID, err)
	}

	page := listJSON{Files: make([]fileJSON, 0, len(items)), NextCursor: next}
	for _, it := range items {
		page.Files = append(page.Files, renderItem(it))
	}
	s.writeJSON(r.ctx, fasthttp.StatusOK, page)
	return nil
}
