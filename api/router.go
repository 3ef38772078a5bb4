package api

import (
	"context"
	"strings"

	"github.com/valyala/fasthttp"
)

// request is one call in flight: what the router found and the caller the
// token named. Handlers get it in place of the bare fasthttp context.
type request struct {
	ctx *fasthttp.RequestCtx
	// c is cancelled when the request is over or the server stops; backend
	// calls take it. fasthttp's own context outlives the request (it is
	// pooled), so it is not handed to the backend.
	c context.Context
	// cancel ends c. A handler whose response streams after it returns
	// takes it with detach and calls it when the stream is closed.
	cancel context.CancelFunc
	params []string
	who    principal
}

// detach hands the end of r's context to the caller, for a response body
// that streams after the handler has returned.
func (r *request) detach() context.CancelFunc {
	cancel := r.cancel
	r.cancel = nil
	return cancel
}

// handlerFunc serves one route. It returns an error instead of writing
// one, so that every error is rendered by writeError.
type handlerFunc func(s *Server, r *request) error

// route is one entry of the routing table. pattern is also the route's
// label in metrics, so it names the route, never a concrete path.
type route struct {
	method  string
	pattern string
	// perm is what the caller's token must grant; "" for routes without
	// authentication.
	perm   Perm
	handle handlerFunc
	segs   []string
}

// router matches a method and a path against a fixed table. A segment
// written {name} in a pattern matches any one non-empty segment; the
// matched values are returned in order.
type router struct {
	routes []route
}

func newRouter(routes []route) *router {
	for i := range routes {
		routes[i].segs = strings.Split(strings.TrimPrefix(routes[i].pattern, "/"), "/")
	}
	return &router{routes: routes}
}

// match returns the route for method and path and its parameters. It
// fails with errNoRoute when no pattern fits the path, and with errMethod
// when some do but not for this method; allow then lists the methods that
// would have matched. HEAD is served by the GET route.
func (rt *router) match(method, path string) (
	rte *route, params []string, allow string, err error) {
	if method == fasthttp.MethodHead {
		method = fasthttp.MethodGet
	}
	segs := strings.Split(strings.TrimPrefix(path, "/"), "/")

	var allowed []string
	for i := range rt.routes {
		r := &rt.routes[i]
		p, ok := matchSegments(r.segs, segs)
		if !ok {
			continue
		}
		if r.method == method {
			return r, p, "", nil
		}
		allowed = append(allowed, r.method)
	}
	if len(allowed) == 0 {
		return nil, nil, "", errNoRoute
	}
	return nil, nil, strings.Join(allowed, ", "), errMethod
}

// matchSegments matches path segments against a pattern's segments.
func matchSegments(pattern, segs []string) ([]string, bool) {
	if len(pattern) != len(segs) {
		return nil, false
	}
	var params []string
	for i, p := range pattern {
		if strings.HasPrefix(p, "{") {
			if segs[i] == "" {
				return nil, false
			}
			params = append(params, segs[i])
			continue
		}
		if p != segs[i] {
			return nil, false
		}
	}
	return params, true
}
