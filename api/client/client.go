// Package client is a Go client for the v1 attachments API: upload a file
// for an entity, fetch its metadata, download it, list an entity's files
// and delete a reference. The CLI's put, get, ls, rm and stat commands and
// the demo script use it.
//
// Uploads stream: the multipart body is produced by a goroutine through a
// pipe as the server reads it, so a file of any size is sent without being
// held in memory.
package client

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"mime/multipart"
	"net/http"
	"net/url"
	"strconv"
	"strings"
	"time"
)

// File is the server's description of one reference.
type File struct {
	ID           string    `json:"id"`
	FileHash     string    `json:"file_hash"`
	Size         int64     `json:"size"`
	MIME         string    `json:"mime_type"`
	Filename     string    `json:"filename"`
	Description  string    `json:"description"`
	EntityType   string    `json:"entity_type"`
	EntityID     string    `json:"entity_id"`
	Deduplicated bool      `json:"deduplicated"`
	CreatedAt    time.Time `json:"created_at"`
}

// Error is a non-2xx answer: the status and the server's error code and
// message.
type Error struct {
	Status  int
	Code    string
	Message string
}

func (e *Error) Error() string {
	return fmt.Sprintf("%d %s: %s", e.Status, e.Code, e.Message)
}

// IsNotFound reports whether err is a 404 answer.
func IsNotFound(err error) bool {
	var e *Error
	return errors.As(err, &e) && e.Status == http.StatusNotFound
}

// Client talks to one node. It is safe for concurrent use.
type Client struct {
	base  string
	token string
	http  *http.Client
}

// New returns a client for the node at base (e.g. "http://127.0.0.1:8090")
// that sends token as its bearer credential. hc nil means a client with no
// overall timeout, since a download may take as long as its size needs.
func New(base, token string, hc *http.Client) *Client {
	if hc == nil {
		hc = &http.Client{}
	}
	return &Client{base: strings.TrimRight(base, "/"), token: token, http: hc}
}

// Base returns the node URL the client talks to.
func (c *Client) Base() string { return c.base }

// Upload describes one upload.
type Upload struct {
	EntityType  string
	EntityID    string
	Filename    string
	Description string
	Body        io.Reader // the bytes; read to EOF
}

// Put uploads u and returns the new reference.
func (c *Client) Put(ctx context.Context, u Upload) (File, error) {
	pr, pw := io.Pipe()
	mw := multipart.NewWriter(pw)
	go func() { pw.CloseWithError(writeForm(mw, u)) }()
	defer pr.Close()

	req, err := c.request(ctx, http.MethodPost, "/v1/files", pr)
	if err != nil {
		return File{}, err
	}
	req.Header.Set("Content-Type", mw.FormDataContentType())
	var f File
	return f, c.doJSON(req, http.StatusCreated, &f)
}

// writeForm writes the fields first and the file last, so the server knows
// the entity before the bytes arrive.
func writeForm(mw *multipart.Writer, u Upload) error {
	for _, kv := range [][2]string{{"entity_type", u.EntityType}, {"entity_id", u.EntityID},
		{"filename", u.Filename}, {"description", u.Description}} {
		if kv[1] == "" {
			continue
		}
		if err := mw.WriteField(kv[0], kv[1]); err != nil {
			return err
		}
	}
	fw, err := mw.CreateFormFile("file", u.Filename)
	if err != nil {
		return err
	}
	if _, err := io.Copy(fw, u.Body); err != nil {
		return fmt.Errorf("read upload body: %w", err)
	}
	return mw.Close()
}

// Stat returns the metadata of reference id.
func (c *Client) Stat(ctx context.Context, id string) (File, error) {
	req, err := c.request(ctx, http.MethodGet, "/v1/files/"+url.PathEscape(id), nil)
	if err != nil {
		return File{}, err
	}
	var f File
	return f, c.doJSON(req, http.StatusOK, &f)
}

// Get streams the bytes of reference id into w and returns how many it
// wrote. A download cut short returns an error, never a short success.
func (c *Client) Get(ctx context.Context, id string, w io.Writer) (int64, error) {
	req, err := c.request(ctx, http.MethodGet, "/v1/files/"+url.PathEscape(id)+"/download", nil)
	if err != nil {
		return 0, err
	}
	resp, err := c.http.Do(req)
	if err != nil {
		return 0, err
	}
	defer resp.Body.Close()
	if resp.StatusCode != http.StatusOK {
		return 0, decodeError(resp)
	}
	n, err := io.Copy(w, resp.Body)
	if err == nil && resp.ContentLength >= 0 && n != resp.ContentLength {
		err = fmt.Errorf("download %s: got %d of %d bytes", id, n, resp.ContentLength)
	}
	return n, err
}

// List returns one page of an entity's files, oldest first, and the cursor
// of the next page ("" at the end).
func (c *Client) List(ctx context.Context, entityType, entityID, cursor string, limit int) (
	[]File, string, error,
) {
	q := url.Values{}
	if cursor != "" {
		q.Set("cursor", cursor)
	}
	if limit > 0 {
		q.Set("limit", strconv.Itoa(limit))
	}
	path := "/v1/entities/" + url.PathEscape(entityType) + "/" + url.PathEscape(entityID) + "/files"
	if len(q) > 0 {
		path += "?" + q.Encode()
	}
	req, err := c.request(ctx, http.MethodGet, path, nil)
	if err != nil {
		return nil, "", err
	}
	var page struct {
		Files      []File `json:"files"`
		NextCursor string `json:"next_cursor"`
	}
	err = c.doJSON(req, http.StatusOK, &page)
	return page.Files, page.NextCursor, err
}

// Delete removes reference id.
func (c *Client) Delete(ctx context.Context, id string) error {
	req, err := c.request(ctx, http.MethodDelete, "/v1/files/"+url.PathEscape(id), nil)
	if err != nil {
		return err
	}
	return c.doJSON(req, http.StatusNoContent, nil)
}

func (c *Client) request(ctx context.Context, method, path string, body io.Reader) (*http.Request, error) {
	req, err := http.NewRequestWithContext(ctx, method, c.base+path, body)
	if err != nil {
		return nil, err
	}
	if c.token != "" {
		req.Header.Set("Authorization", "Bearer "+c.token)
	}
	return req, nil
}

// doJSON sends req, expects status want, and decodes a JSON body into out
// (nil: discard).
func (c *Client) doJSON(req *http.Request, want int, out any) error {
	resp, err := c.http.Do(req)
	if err != nil {
		return err
	}
	defer resp.Body.Close()
	if resp.StatusCode != want {
		return decodeError(resp)
	}
	if out == nil {
		_, err = io.Copy(io.Discard, resp.Body)
		return err
	}
	if err := json.NewDecoder(resp.Body).Decode(out); err != nil {
		return fmt.Errorf("%s %s: decode answer: %w", req.Method, req.URL.Path, err)
	}
	return nil
}

// decodeError reads the server's {"error": {...}} document.
func decodeError(resp *http.Response) error {
	e := &Error{Status: resp.StatusCode}
	var doc struct {
		Error struct {
			Code    string `json:"code"`
			Message string `json:"message"`
		} `json:"error"`
	}
	body, _ := io.ReadAll(io.LimitReader(resp.Body, 64<<10))
	if json.Unmarshal(body, &doc) == nil && doc.Error.Code != "" {
		e.Code, e.Message = doc.Error.Code, doc.Error.Message
	} else {
		e.Code, e.Message = http.StatusText(resp.StatusCode), strings.TrimSpace(string(body))
	}
	return e
}
