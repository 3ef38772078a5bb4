package api

import (
	"crypto/rand"
	"encoding/hex"
	"errors"
	"fmt"

	"github.com/valyala/fasthttp"

	"github.com/helixtrack/attachments/meta"
)

// ErrRangeNotSatisfiable: a Range header asks only for bytes past the end
// of the content. The answer is 416 with the content's size.
var ErrRangeNotSatisfiable = errors.New("range not satisfiable")

// ErrBadRequest: an argument the client sent is malformed, e.g. a list
// cursor that no listing issued. A backend wraps it (or uses PublicError)
// when it is the one that finds out.
var ErrBadRequest = errBadRequest

// Errors of the HTTP layer itself. They never leave the package; they only
// select a row of errorTable.
var (
	// errBadRequest: the request could not be parsed or failed validation.
	errBadRequest = errors.New("bad request")
	// errUnauthorized: no bearer token, or one that does not verify.
	errUnauthorized = errors.New("unauthorized")
	// errForbidden: a valid token whose perms do not cover the route.
	errForbidden = errors.New("forbidden")
	// errNoRoute: no route has this path.
	errNoRoute = errors.New("no route")
	// errMethod: the path exists but not with this method.
	errMethod = errors.New("method not allowed")
	// errTimeout: the client did not send its request in time.
	errTimeout = errors.New("request timeout")
	// errHeaderTooLarge: the request headers do not fit the read buffer.
	errHeaderTooLarge = errors.New("request headers too large")
)

// errorKind is one row of errorTable: what a class of failures looks like
// on the wire. message is sent when the error carries no safe detail.
type errorKind struct {
	err     error
	status  int
	code    string
	message string
}

// errorTable maps causes to answers. It is searched in order with
// errors.Is, so a more specific cause must come before a general one.
// Anything that matches no row is a 500 with a generic message.
var errorTable = []errorKind{
	{meta.ErrNotFound, fasthttp.StatusNotFound, "not_found", "not found"},
	{errNoRoute, fasthttp.StatusNotFound, "not_found", "no such route"},
	{errMethod, fasthttp.StatusMethodNotAllowed, "method_not_allowed",
		"method not allowed on this path"},
	{ErrTooLarge, fasthttp.StatusRequestEntityTooLarge, "too_large",
		"request body is larger than the upload limit"},
	{ErrMediaType, fasthttp.StatusUnsupportedMediaType, "unsupported_media_type",
		"content type not allowed"},
	{ErrUnavailable, fasthttp.StatusServiceUnavailable, "unavailable",
		"service unavailable, retry later"},
	// A backend should translate these two into ErrUnavailable; mapping
	// them here too keeps a missed translation from becoming a 500. Both
	// mean the write may be retried (a retry draws a new reference id).
	{meta.ErrNotLeader, fasthttp.StatusServiceUnavailable, "unavailable",
		"service unavailable, retry later"},
	{meta.ErrTimeout, fasthttp.StatusServiceUnavailable, "unavailable",
		"service unavailable, retry later"},
	{ErrConflict, fasthttp.StatusConflict, "conflict",
		"the target's state does not allow this"},
	{ErrRangeNotSatisfiable, fasthttp.StatusRequestedRangeNotSatisfiable,
		"range_not_satisfiable", "range not satisfiable"},
	{errBadRequest, fasthttp.StatusBadRequest, "bad_request", "bad request"},
	{errUnauthorized, fasthttp.StatusUnauthorized, "unauthorized",
		"missing or invalid bearer token"},
	{errForbidden, fasthttp.StatusForbidden, "forbidden",
		"token lacks the permission for this request"},
	{errTimeout, fasthttp.StatusRequestTimeout, "request_timeout",
		"request not received in time"},
	{errHeaderTooLarge, fasthttp.StatusRequestHeaderFieldsTooLarge, "header_too_large",
		"request headers are too large"},
}

// internalKind answers every error that matches no row of errorTable.
var internalKind = errorKind{
	status:  fasthttp.StatusInternalServerError,
	code:    "internal",
	message: "internal error",
}

// classify returns the row of errorTable that err matches, or internalKind.
func classify(err error) errorKind {
	for _, k := range errorTable {
		if errors.Is(err, k.err) {
			return k
		}
	}
	return internalKind
}

// detailError is an error whose text is safe to show to the client. It
// wraps the sentinel that selects its status.
type detailError struct {
	kind error
	msg  string
}

func (e *detailError) Error() string { return e.msg }
func (e *detailError) Unwrap() error { return e.kind }

// PublicError returns an error that answers as kind (one of this package's
// sentinels, such as ErrConflict) with a message the client sees. A
// backend uses it when the reason is safe and useful to show, e.g. why an
// operator action was refused; wrapping it with %w keeps both.
func PublicError(kind error, format string, args ...any) error {
	return &detailError{kind: kind, msg: fmt.Sprintf(format, args...)}
}

// badRequest returns a 400 error whose message is sent to the client.
func badRequest(format string, args ...any) error {
	return &detailError{kind: errBadRequest, msg: fmt.Sprintf(format, args...)}
}

// unauthorized returns a 401 error whose message is sent to the client.
func unauthorized(msg string) error {
	return &detailError{kind: errUnauthorized, msg: msg}
}

// publicMessage is the message sent for err under kind k: the detail of a
// detailError, or the row's fixed text. Wrapped errors from the backend can
// name disks, peers or paths, so their text is never sent.
func publicMessage(err error, k errorKind) string {
	var d *detailError
	if k.status != internalKind.status && errors.As(err, &d) {
		return d.msg
	}
	return k.message
}

// errorBody is the JSON document of every error answer.
type errorBody struct {
	Error errorDetail `json:"error"`
}

type errorDetail struct {
	Code    string `json:"code"`
	Message string `json:"message"`
}

// writeError renders err as the JSON error document with its status.
// Internal errors are logged at Error with the request id, since nothing
// else will report them; the client sees only a generic message.
func (s *Server) writeError(ctx *fasthttp.RequestCtx, reqID string, err error) {
	k := classify(err)
	if k.status == internalKind.status {
		s.log.Error("request failed",
			"request_id", reqID,
			"method", string(ctx.Method()),
			"path", string(ctx.Path()),
			"err", err)
	}

	switch k.status {
	case fasthttp.StatusUnauthorized:
		ctx.Response.Header.Set("WWW-Authenticate", `Bearer realm="attachments"`)
	case fasthttp.StatusServiceUnavailable:
		// One second is short enough not to stall a client across a leader
		// election and long enough not to hammer a node that is catching up.
		ctx.Response.Header.Set("Retry-After", "1")
	}

	s.metrics.errors.WithLabelValues(k.code).Inc()
	s.writeJSON(ctx, k.status, errorBody{Error: errorDetail{
		Code:    k.code,
		Message: publicMessage(err, k),
	}})
}

// newRequestID returns 16 random hex characters. 64 bits make collisions
// among the requests of one investigation vanishingly unlikely.
func newRequestID() string {
	var b [8]byte
	// crypto/rand.Read never returns an error; it aborts the program
	// instead when the system has no randomness to give.
	_, _ = rand.Read(b[:])
	return hex.EncodeToString(b[:])
}
