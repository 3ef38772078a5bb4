package api

import (
	"context"
	"time"

	"github.com/valyala/fasthttp"
)

// healthTimeout bounds one /health call. A load balancer polls it every
// few seconds; a check slower than this is as bad as a failed one.
const healthTimeout = 5 * time.Second

// healthJSON is the /health document.
type healthJSON struct {
	Status  string               `json:"status"`
	Version string               `json:"version"`
	NodeID  string               `json:"node_id"`
	UptimeS int64                `json:"uptime_s"`
	Checks  map[string]checkJSON `json:"checks"`
}

// checkJSON is one check's outcome. Error is only present on failure.
type checkJSON struct {
	Status    string  `json:"status"`
	LatencyMS float64 `json:"latency_ms"`
	Error     string  `json:"error,omitempty"`
}

// health answers GET /health without authentication: 200 when every check
// of the backend passes, 503 when any fails, with each check's outcome.
func (s *Server) health(r *request) error {
	c, cancel := context.WithTimeout(r.c, healthTimeout)
	defer cancel()
	checks := s.be.Health(c)

	doc := healthJSON{
		Status:  "healthy",
		Version: s.version,
		NodeID:  s.be.NodeID(),
		UptimeS: int64(time.Since(s.started).Seconds()),
		Checks:  make(map[string]checkJSON, len(checks)),
	}
	status := fasthttp.StatusOK
	for _, ch := range checks {
		cj := checkJSON{Status: "healthy", LatencyMS: float64(ch.Latency.Microseconds()) / 1000}
		if ch.Err != nil {
			cj.Status, cj.Error = "unhealthy", ch.Err.Error()
			doc.Status, status = "unhealthy", fasthttp.StatusServiceUnavailable
		}
		doc.Checks[ch.Name] = cj
	}
	s.writeJSON(r.ctx, status, doc)
	return nil
}

// serveMetrics answers GET /metrics, without authentication, with the
// registry's series in the Prometheus text format.
func (s *Server) serveMetrics(r *request) error {
	s.promHTTP(r.ctx)
	return nil
}
