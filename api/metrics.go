package api

import (
	"errors"

	"github.com/prometheus/client_golang/prometheus"
)

// metrics are the HTTP layer's Prometheus series. The node registers its
// storage gauges in the same registry itself.
type metrics struct {
	uploads       prometheus.Counter
	downloads     prometheus.Counter
	duration      *prometheus.HistogramVec
	errors        *prometheus.CounterVec
	uploadBytes   prometheus.Counter
	downloadBytes prometheus.Counter
}

// newMetrics registers the series in reg. A series already registered
// there (by another Server sharing the registry) is reused, so two servers
// in one process count into the same series instead of panicking.
func newMetrics(reg prometheus.Registerer) *metrics {
	m := &metrics{
		uploads: register(reg, prometheus.NewCounter(prometheus.CounterOpts{
			Name: "attachments_uploads_total",
			Help: "Uploads that created a reference, by bytes or by hash.",
		})),
		downloads: register(reg, prometheus.NewCounter(prometheus.CounterOpts{
			Name: "attachments_downloads_total",
			Help: "Downloads that began sending content (200 or 206).",
		})),
		duration: register(reg, prometheus.NewHistogramVec(prometheus.HistogramOpts{
			Name: "attachments_request_duration_seconds",
			Help: "Time from request headers to the handler's return; " +
				"a streamed download body is not included.",
			Buckets: prometheus.ExponentialBuckets(0.0005, 4, 10),
		}, []string{"method", "route", "status"})),
		errors: register(reg, prometheus.NewCounterVec(prometheus.CounterOpts{
			Name: "attachments_errors_total",
			Help: "Error answers, by error code.",
		}, []string{"code"})),
		uploadBytes: register(reg, prometheus.NewCounter(prometheus.CounterOpts{
			Name: "attachments_upload_bytes_total",
			Help: "Content bytes of successful uploads.",
		})),
		downloadBytes: register(reg, prometheus.NewCounter(prometheus.CounterOpts{
			Name: "attachments_download_bytes_total",
			Help: "Content bytes sent by downloads.",
		})),
	}
	// Every error code is exported from the start at zero, so a dashboard
	// and an alert see the series before the first error happens.
	for _, k := range append(errorTable, internalKind) {
		m.errors.WithLabelValues(k.code)
	}
	return m
}

// register registers c in reg, or returns the equal collector registered
// before it. Any other registration failure is a programming mistake (two
// series with one name and different labels) and panics.
func register[C prometheus.Collector](reg prometheus.Registerer, c C) C {
	err := reg.Register(c)
	if err == nil {
		return c
	}
	var are prometheus.AlreadyRegisteredError
	if errors.As(err, &are) {
		if existing, ok := are.ExistingCollector.(C); ok {
			return existing
		}
	}
	panic("api: register metric: " + err.Error())
}
