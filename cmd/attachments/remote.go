package main

import (
	"errors"
	"fmt"
	"net/http"
	"net/url"
	"os"

	"github.com/spf13/pflag"

	"github.com/helixtrack/attachments/api/client"
)

// Where the client and operator commands find a node when no flag says.
const (
	envURL     = "ATTACHMENTS_URL"
	envToken   = "ATTACHMENTS_TOKEN"
	defaultURL = "http://127.0.0.1:8090"
)

// remoteOptions are the flags shared by every command that talks to a
// running node rather than starting one.
type remoteOptions struct {
	url   string
	token string
}

// register defines --url and --token on fs.
func (o *remoteOptions) register(fs *pflag.FlagSet) {
	fs.StringVar(&o.url, "url", "",
		"base `URL` of any node (default $"+envURL+", else "+defaultURL+")")
	fs.StringVar(&o.token, "token", "",
		"bearer `token` (default $"+envToken+"); mint one with 'attachments token'")
}

// endpoint returns the node's base URL and the token: each from its flag,
// else from the environment, the URL else from defaultURL. A URL that is
// not http(s)://host or a missing token is a usage error: no server could
// make the command work.
func (o remoteOptions) endpoint() (base, token string, err error) {
	base, token = o.url, o.token
	if base == "" {
		base = os.Getenv(envURL)
	}
	if base == "" {
		base = defaultURL
	}
	if token == "" {
		token = os.Getenv(envToken)
	}

	u, perr := url.Parse(base)
	if perr != nil || (u.Scheme != "http" && u.Scheme != "https") || u.Host == "" {
		return "", "", usageErrorf("--url: want http://host:port or https://host:port, got %q",
			base)
	}
	if token == "" {
		return "", "", usageErrorf("no token: pass --token or set %s", envToken)
	}
	return base, token, nil
}

// client returns an API client for the endpoint. It has no overall
// timeout, since a transfer takes as long as its size needs; the
// command's context (cancelled by SIGINT) bounds it instead.
func (o remoteOptions) client() (*client.Client, error) {
	base, token, err := o.endpoint()
	if err != nil {
		return nil, err
	}
	return client.New(base, token, nil), nil
}

// admin returns a client for the operator routes; it is the API client,
// which covers them too.
func (o remoteOptions) admin() (*client.Client, error) { return o.client() }

// explain turns a failed call about the object named what into the
// command's error. A 404 reads "not found: what" on its own, since the
// status code adds nothing to it; other answers of the server keep their
// status, code and message after op.
func explain(err error, op, what string) error {
	if client.IsNotFound(err) {
		return fmt.Errorf("not found: %s", what)
	}
	var ce *client.Error
	if errors.As(err, &ce) && ce.Status == http.StatusConflict {
		// The message is the server's reason; the code would repeat it.
		return fmt.Errorf("%s %s: %s", op, what, ce.Message)
	}
	return fmt.Errorf("%s %s: %w", op, what, err)
}
