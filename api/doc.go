// Package api is the HTTP face of a node: the v1 attachments API, /health
// and /metrics, served by fasthttp.
//
// It owns parsing, authorization and rendering. It does not store or find
// anything itself: every route calls one method of Backend, which the node
// package implements, and maps the answer or the error to HTTP. Paths under
// /internal/ (node-to-node traffic) are handed to a handler the node passes
// in, untouched.
//
// Invariants the package keeps:
//
//   - Request bodies are never buffered whole. fasthttp runs with
//     StreamRequestBody, and an upload is read part by part with
//     mime/multipart straight into Backend.Ingest. The size limit is ours to
//     enforce: up front from Content-Length, and again while the bytes
//     stream, because a chunked body declares no length.
//   - Every request but /health and /metrics carries a valid HS256 JWT whose
//     perms allow the route, checked before the handler reads the body.
//   - Every answer carries X-Request-Id, and every error is the JSON document
//     {"error": {"code", "message"}} with a status that matches its cause,
//     chosen in one place (errors.go). Internal details are logged, never
//     sent.
//   - Downloads stream from Backend.Open with an exact Content-Length and
//     honour one byte range and If-None-Match.
package api
