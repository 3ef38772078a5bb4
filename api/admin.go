package api

import (
	"context"
	"errors"
	"fmt"

	"github.com/valyala/fasthttp"
)

// Admin is what the operator routes need from a node: the cluster's
// status and the node actions. A Backend that also implements Admin gets
// the /v1/admin routes; one that does not answers them 404.
type Admin interface {
	// ClusterStatus returns a JSON-encodable description of the cluster:
	// members, leader, layout, per-node figures, repairs in progress.
	ClusterStatus(ctx context.Context) (any, error)

	// NodeAction applies an operator action to node id: "add" (make it
	// own chunks), "drain" (move everything off it) or "remove" (forget a
	// node that is out). Errors: meta.ErrNotFound for an unknown node,
	// ErrConflict when the action would lose data or does not apply to the
	// node's state, ErrUnavailable when the leader cannot be reached.
	NodeAction(ctx context.Context, id, action string) error
}

// ErrConflict: the request is well formed but the target's state forbids
// it, e.g. removing a node that still holds data.
var ErrConflict = errors.New("conflict")

// NodeActions lists the actions NodeAction accepts.
var NodeActions = []string{"add", "drain", "remove"}

// adminRoutes are the operator routes, all behind the admin permission.
func adminRoutes() []route {
	return []route{
		{method: "GET", pattern: "/v1/admin/cluster", perm: PermAdmin,
			handle: (*Server).clusterStatus},
		{method: "POST", pattern: "/v1/admin/nodes/{id}/{action}", perm: PermAdmin,
			handle: (*Server).nodeAction},
	}
}

func (s *Server) admin() (Admin, error) {
	a, ok := s.be.(Admin)
	if !ok {
		return nil, errNoRoute
	}
	return a, nil
}

// clusterStatus answers GET /v1/admin/cluster.
func (s *Server) clusterStatus(r *request) error {
	a, err := s.admin()
	if err != nil {
		return err
	}
	st, err := a.ClusterStatus(r.c)
	if err != nil {
		return fmt.Errorf("cluster status: %w", err)
	}
	s.writeJSON(r.ctx, fasthttp.StatusOK, st)
	return nil
}

// nodeAction answers POST /v1/admin/nodes/{id}/{action} with 204.
func (s *Server) nodeAction(r *request) error {
	a, err := s.admin()
	if err != nil {
		return err
	}
	id, action := r.params[0], r.params[1]
	if !isSafeName(id, maxRefID) {
		return badRequest("node id must be 1 to %d of [A-Za-z0-9._:-]", maxRefID)
	}
	known := false
	for _, act := range NodeActions {
		known = known || act == action
	}
	if !known {
		return badRequest("action must be one of %v", NodeActions)
	}
	if err := a.NodeAction(r.c, id, action); err != nil {
		return fmt.Errorf("node %s %s: %w", action, id, err)
	}
	r.ctx.SetStatusCode(fasthttp.StatusNoContent)
	return nil
}
