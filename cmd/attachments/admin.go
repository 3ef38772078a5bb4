package main

import (
	"context"
	"encoding/json"
	"fmt"
	"io"
	"net/http"
	"net/url"
	"strings"

	"github.com/helixtrack/attachments/api/client"
)

// maxStatusBytes bounds the cluster status answer read into memory; a
// status of a thousand members stays far below it.
const maxStatusBytes = 16 << 20

// adminClient calls the operator routes under /v1/admin, which the API
// client package does not cover. Its errors are *client.Error, like the
// API client's, so both kinds of command explain failures alike.
type adminClient struct {
	base  string
	token string
	http  *http.Client
}

// newAdminClient returns a client for the node at base; hc nil means
// http.DefaultClient.
func newAdminClient(base, token string, hc *http.Client) *adminClient {
	if hc == nil {
		hc = http.DefaultClient
	}
	return &adminClient{base: strings.TrimRight(base, "/"), token: token, http: hc}
}

// clusterStatus returns the JSON document of GET /v1/admin/cluster as the
// node sent it.
func (a *adminClient) clusterStatus(ctx context.Context) ([]byte, error) {
	resp, err := a.do(ctx, http.MethodGet, "/v1/admin/cluster")
	if err != nil {
		return nil, err
	}
	defer resp.Body.Close()
	if resp.StatusCode != http.StatusOK {
		return nil, decodeError(resp)
	}
	body, err := io.ReadAll(io.LimitReader(resp.Body, maxStatusBytes+1))
	if err != nil {
		return nil, fmt.Errorf("read cluster status: %w", err)
	}
	if len(body) > maxStatusBytes {
		return nil, fmt.Errorf("read cluster status: answer exceeds %d bytes", maxStatusBytes)
	}
	return body, nil
}

// nodeAction asks for action ("add", "drain" or "remove") on node id.
func (a *adminClient) nodeAction(ctx context.Context, id, action string) error {
	path := "/v1/admin/nodes/" + url.PathEscape(id) + "/" + url.PathEscape(action)
	resp, err := a.do(ctx, http.MethodPost, path)
	if err != nil {
		return err
	}
	defer resp.Body.Close()
	if resp.StatusCode != http.StatusNoContent {
		return decodeError(resp)
	}
	return nil
}

// do sends an authenticated request without a body.
func (a *adminClient) do(ctx context.Context, method, path string) (*http.Response, error) {
	req, err := http.NewRequestWithContext(ctx, method, a.base+path, nil)
	if err != nil {
		return nil, err
	}
	req.Header.Set("Authorization", "Bearer "+a.token)
	return a.http.Do(req)
}

// decodeError reads the {"error": {"code", "message"}} document of a
// failed answer; a body in another shape becomes the message as is.
func decodeError(resp *http.Response) error {
	e := &client.Error{Status: resp.StatusCode}
	var doc struct {
		Error struct {
			Code    string `json:"code"`
			Message string `json:"message"`
		} `json:"error"`
	}
	body, _ := io.ReadAll(io.LimitReader(resp.Body, 64<<10))
	if json.Unmarshal(body, &doc) == nil && doc.Error.Code != "" {
		e.Code, e.Message = doc.Error.Code, doc.Error.Message
		return e
	}
	e.Code = http.StatusText(resp.StatusCode)
	e.Message = strings.TrimSpace(string(body))
	return e
}
