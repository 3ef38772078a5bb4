package client

import (
	"context"
	"fmt"
	"io"
	"net/http"
	"net/url"
)

// maxStatusBytes bounds the cluster status answer read into memory; a
// status of a thousand members stays far below it.
const maxStatusBytes = 16 << 20

// ClusterStatus returns the JSON document of GET /v1/admin/cluster as the
// node sent it (the token needs the admin permission).
func (c *Client) ClusterStatus(ctx context.Context) ([]byte, error) {
	req, err := c.request(ctx, http.MethodGet, "/v1/admin/cluster", nil)
	if err != nil {
		return nil, err
	}
	resp, err := c.http.Do(req)
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

// NodeAction asks for action ("add", "drain" or "remove") on node id. A
// refusal is an *Error with status 409 and the node's reason.
func (c *Client) NodeAction(ctx context.Context, id, action string) error {
	path := "/v1/admin/nodes/" + url.PathEscape(id) + "/" + url.PathEscape(action)
	req, err := c.request(ctx, http.MethodPost, path, nil)
	if err != nil {
		return err
	}
	return c.doJSON(req, http.StatusNoContent, nil)
}
