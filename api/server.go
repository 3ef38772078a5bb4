package api

import (
	"bytes"
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"log/slog"
	"net"
	"runtime/debug"
	"time"

	"github.com/prometheus/client_golang/prometheus"
	"github.com/prometheus/client_golang/prometheus/promhttp"
	"github.com/valyala/fasthttp"
	"github.com/valyala/fasthttp/fasthttpadaptor"
)

// DefaultMaxUploadBytes is the upload limit when Options.MaxUploadBytes is
// not positive: 100 MiB, the service's historical max_file_size_mb.
const DefaultMaxUploadBytes = 100 << 20

// headerRequestID carries the id every answer gets, also logged with every
// error, so a client's report can be matched with the node's log.
const headerRequestID = "X-Request-Id"

// Options configure a Server. Backend is required; the rest have defaults.
type Options struct {
	// Backend serves every route. Required.
	Backend Backend
	// JWTSecret is the HS256 key tokens are checked with. When empty,
	// every authenticated route answers 401: the server fails closed.
	JWTSecret []byte
	// MaxUploadBytes bounds the content of one upload; 0 selects
	// DefaultMaxUploadBytes.
	MaxUploadBytes int64
	// Registry receives the HTTP metrics and is served at /metrics; nil
	// selects a fresh registry.
	Registry *prometheus.Registry
	// Logger receives the server's logs; nil discards them.
	Logger *slog.Logger
	// Version is reported by /health.
	Version string
	// ReadTimeout bounds reading one request's headers, and the whole of a
	// request without a body; BodyTimeout, when set, replaces it from the
	// end of the headers for POST and PUT, so it must leave room for the
	// largest upload on the slowest client. Zero means no limit.
	// WriteTimeout bounds writing one response, streamed downloads
	// included. IdleTimeout bounds waiting for the next request on a
	// kept-alive connection (zero: ReadTimeout).
	ReadTimeout, BodyTimeout, WriteTimeout, IdleTimeout time.Duration
	// Internal serves every path under /internal/ (node-to-node traffic)
	// once the caller has shown a token with the admin permission.
	// Nil: those paths answer 404.
	Internal fasthttp.RequestHandler
}

// Server is the HTTP layer of one node. Create it with NewServer, run it
// with Serve, stop it with Shutdown. Its methods are safe for concurrent
// use.
type Server struct {
	be        Backend
	verifier  *verifier
	maxUpload int64
	log       *slog.Logger
	version   string
	started   time.Time
	metrics   *metrics
	promHTTP  fasthttp.RequestHandler
	internal  fasthttp.RequestHandler
	router    *router
	srv       *fasthttp.Server

	// base is the parent of every request's context; stop cancels it
	// once Shutdown has let in-flight requests finish or given up.
	base context.Context
	stop context.CancelFunc
}

// NewServer returns a Server for o. It panics if o.Backend is nil, a
// programming mistake in the caller's wiring.
func NewServer(o Options) *Server {
	if o.Backend == nil {
		panic("api: NewServer without a Backend")
	}
	if o.MaxUploadBytes <= 0 {
		o.MaxUploadBytes = DefaultMaxUploadBytes
	}
	if o.Registry == nil {
		o.Registry = prometheus.NewRegistry()
	}
	if o.Logger == nil {
		o.Logger = slog.New(slog.DiscardHandler)
	}
	log := o.Logger.With("component", "api")
	if len(o.JWTSecret) == 0 {
		log.Warn("no jwt secret configured; authenticated routes will answer 401")
	}

	s := &Server{
		be:        o.Backend,
		verifier:  newVerifier(bytes.Clone(o.JWTSecret)),
		maxUpload: o.MaxUploadBytes,
		log:       log,
		version:   o.Version,
		started:   time.Now(),
		metrics:   newMetrics(o.Registry),
		promHTTP: fasthttpadaptor.NewFastHTTPHandler(
			promhttp.HandlerFor(o.Registry, promhttp.HandlerOpts{})),
		internal: o.Internal,
	}
	s.router = newRouter(s.routes())
	s.base, s.stop = context.WithCancel(context.Background())
	s.srv = s.newFastHTTP(o)
	return s
}

// routes is the routing table of the v1 API.
func (s *Server) routes() []route {
	return append(adminRoutes(), []route{
		{method: "POST", pattern: "/v1/files", perm: PermWrite, handle: (*Server).upload},
		{method: "GET", pattern: "/v1/files/{id}", perm: PermRead, handle: (*Server).get},
		{method: "DELETE", pattern: "/v1/files/{id}", perm: PermDelete,
			handle: (*Server).delete},
		{method: "GET", pattern: "/v1/files/{id}/download", perm: PermRead,
			handle: (*Server).download},
		{method: "GET", pattern: "/v1/entities/{type}/{id}/files", perm: PermRead,
			handle: (*Server).list},
		{method: "GET", pattern: "/health", handle: (*Server).health},
		{method: "GET", pattern: "/metrics", handle: (*Server).serveMetrics},
	}...)
}

// newFastHTTP configures fasthttp so that no request body is buffered.
//
// With StreamRequestBody, fasthttp reads at most min(MaxRequestBodySize,
// Content-Length, 8 KiB) of a body before calling the handler, and hands
// the rest over as a stream whatever its length: MaxRequestBodySize then
// refuses nothing, and a chunked body has no limit at all. The upload
// handler enforces the real limit. Multipart pre-parsing is disabled
// because it would spool whole forms to memory or temporary files.
// A handler that leaves part of a body unread gets it drained by fasthttp
// up to 256 KiB, past which the connection is closed instead.
func (s *Server) newFastHTTP(o Options) *fasthttp.Server {
	return &fasthttp.Server{
		Handler:                      s.serve,
		ErrorHandler:                 s.serveFramingError,
		StreamRequestBody:            true,
		DisablePreParseMultipartForm: true,
		NoDefaultServerHeader:        true,
		CloseOnShutdown:              true,
		ReadTimeout:                  o.ReadTimeout,
		HeaderReceived:               bodyTimeout(o.BodyTimeout),
		WriteTimeout:                 o.WriteTimeout,
		IdleTimeout:                  o.IdleTimeout,
		Logger:                       fasthttpLogger{log: s.log},
	}
}

// bodyTimeout gives requests that carry a body (POST, PUT) their own read
// deadline, counted from the end of the headers, so ReadTimeout can stay
// short for headers without cutting off large uploads. Zero keeps
// ReadTimeout for everything.
func bodyTimeout(d time.Duration) func(*fasthttp.RequestHeader) fasthttp.RequestConfig {
	return func(h *fasthttp.RequestHeader) fasthttp.RequestConfig {
		if d > 0 && (h.IsPost() || h.IsPut()) {
			return fasthttp.RequestConfig{ReadTimeout: d}
		}
		return fasthttp.RequestConfig{}
	}
}

// Serve accepts connections on ln until Shutdown. It returns nil after
// Shutdown and the accept error otherwise. The caller keeps ownership of
// nothing: Shutdown closes ln.
func (s *Server) Serve(ln net.Listener) error {
	s.log.Info("serving http", "addr", ln.Addr().String())
	if err := s.srv.Serve(ln); err != nil {
		return fmt.Errorf("serve http on %s: %w", ln.Addr(), err)
	}
	return nil
}

// Shutdown stops accepting connections, lets in-flight requests finish
// until ctx is done, then cancels whatever still runs. It returns ctx's
// error if requests were still open when it expired.
func (s *Server) Shutdown(ctx context.Context) error {
	err := s.srv.ShutdownWithContext(ctx)
	s.stop()
	if err != nil {
		return fmt.Errorf("shutdown http: %w", err)
	}
	s.log.Info("http stopped")
	return nil
}

// Handler returns the server's request handler, for callers that run
// their own fasthttp.Server or drive it in memory. Such a server must set
// StreamRequestBody and DisablePreParseMultipartForm, as Serve's does.
func (s *Server) Handler() fasthttp.RequestHandler { return s.serve }

// serve is the entry point of every request: it names the request, routes
// it, and records how it went.
func (s *Server) serve(ctx *fasthttp.RequestCtx) {
	start := time.Now()
	reqID := newRequestID()
	ctx.Response.Header.Set(headerRequestID, reqID)

	label := "internal"
	if s.internal != nil && bytes.HasPrefix(ctx.Path(), []byte("/internal/")) {
		s.serveInternal(ctx, reqID)
	} else {
		label = s.dispatch(ctx, reqID)
	}

	status := ctx.Response.StatusCode()
	s.metrics.duration.WithLabelValues(string(ctx.Method()), label, fmt.Sprint(status)).
		Observe(time.Since(start).Seconds())
	s.log.Debug("request", requestAttrs(ctx, reqID, label)...)
}

// serveInternal passes node-to-node requests to Options.Internal once the
// caller proved it holds the admin permission: nodes of one cluster share
// the JWT secret and sign their own admin tokens.
func (s *Server) serveInternal(ctx *fasthttp.RequestCtx, reqID string) {
	who, err := s.verifier.verify(string(ctx.Request.Header.Peek("Authorization")))
	if err == nil && !who.has(PermAdmin) {
		err = &detailError{kind: errForbidden, msg: "node-to-node requests need the admin permission"}
	}
	if err != nil {
		s.writeError(ctx, reqID, err)
		return
	}
	s.internal(ctx)
}

// dispatch routes one request, runs its handler and renders its error. It
// returns the route's label for metrics.
func (s *Server) dispatch(ctx *fasthttp.RequestCtx, reqID string) (label string) {
	label = "unmatched"
	defer func() {
		if p := recover(); p != nil {
			// A panic is a bug in this process; answer 500 and keep serving
			// the other requests, as net/http does.
			ctx.Response.Reset()
			ctx.Response.Header.Set(headerRequestID, reqID)
			s.writeError(ctx, reqID, fmt.Errorf("handler panic: %v\n%s", p, debug.Stack()))
		}
	}()

	rte, params, allow, err := s.router.match(string(ctx.Method()), string(ctx.Path()))
	if err != nil {
		if allow != "" {
			ctx.Response.Header.Set("Allow", allow)
		}
		s.writeError(ctx, reqID, err)
		return label
	}
	label = rte.pattern
	if err := s.run(ctx, rte, params); err != nil {
		s.writeError(ctx, reqID, err)
	}
	return label
}

// run authorizes the caller for rte, before the handler reads the body,
// and calls the handler with a context that ends with the request.
func (s *Server) run(ctx *fasthttp.RequestCtx, rte *route, params []string) error {
	r := &request{ctx: ctx, params: params}
	if rte.perm != "" {
		who, err := s.verifier.verify(string(ctx.Request.Header.Peek("Authorization")))
		if err != nil {
			return err
		}
		if !who.has(rte.perm) {
			return &detailError{kind: errForbidden,
				msg: fmt.Sprintf("token lacks the %q permission", rte.perm)}
		}
		r.who = who
	}

	r.c, r.cancel = context.WithCancel(s.base)
	defer func() {
		if r.cancel != nil {
			r.cancel()
		}
	}()
	return rte.handle(s, r)
}

// serveFramingError answers a request fasthttp could not read (bad
// framing, oversized headers, a timeout) before any handler ran.
func (s *Server) serveFramingError(ctx *fasthttp.RequestCtx, err error) {
	reqID := newRequestID()
	ctx.Response.Header.Set(headerRequestID, reqID)
	s.writeError(ctx, reqID, framingError(err))
}

// framingError classifies an error fasthttp met while reading a request.
func framingError(err error) error {
	var small *fasthttp.ErrSmallBuffer
	var ne net.Error
	switch {
	case errors.As(err, &small):
		return fmt.Errorf("read request: %w", errHeaderTooLarge)
	case errors.As(err, &ne) && ne.Timeout():
		return fmt.Errorf("read request: %w", errTimeout)
	}
	return badRequest("read request: %v", err)
}

// writeJSON renders v with status. Values passed here always marshal; a
// failure is a bug and becomes a bare 500.
func (s *Server) writeJSON(ctx *fasthttp.RequestCtx, status int, v any) {
	b, err := json.Marshal(v)
	if err != nil {
		s.log.Error("encode response", "err", err)
		ctx.Response.ResetBody()
		ctx.SetStatusCode(fasthttp.StatusInternalServerError)
		return
	}
	ctx.SetStatusCode(status)
	ctx.SetContentType("application/json; charset=utf-8")
	ctx.SetBody(append(b, '\n'))
}

// fasthttpLogger sends fasthttp's own messages (connection-level errors)
// to slog at Debug: they are per connection and mostly a client's doing.
type fasthttpLogger struct{ log *slog.Logger }

func (l fasthttpLogger) Printf(format string, args ...any) {
	l.log.Debug("fasthttp", "msg", fmt.Sprintf(format, args...))
}

// requestAttrs are the attributes of the per-request debug line.
func requestAttrs(ctx *fasthttp.RequestCtx, reqID, route string) []any {
	return []any{
		slog.String("request_id", reqID),
		slog.String("method", string(ctx.Method())),
		slog.String("route", route),
		slog.Int("status", ctx.Response.StatusCode()),
	}
}
