// Package metrics is Cairn's one Prometheus registry and the small API the
// rest of the program records through. Nothing here uses the client
// library's global default registry: each Metrics owns its registry, so
// several servers in one process (tests) never share counters.
//
// Every method is safe on a nil *Metrics and then records nothing, so code
// (and tests) that do not care about metrics pass nil.
//
// Labels are bounded by construction: routes are gin route templates
// ("unmatched" when no route matched), never raw paths; statuses are
// classes; outcomes, reasons, cache names and blob operations are fixed
// vocabularies chosen by the caller's code, never by a request.
package metrics

import (
	"net/http"
	"strconv"
	"time"

	"github.com/jackc/pgx/v5/pgxpool"
	"github.com/prometheus/client_golang/prometheus"
	"github.com/prometheus/client_golang/prometheus/collectors"
	"github.com/prometheus/client_golang/prometheus/promhttp"
)

const namespace = "cairn"

// Outcomes of an upload or a download.
const (
	OK      = "ok"      // stored, or served
	Refused = "refused" // the client's fault or not allowed (4xx)
	Failed  = "failed"  // Cairn's fault or a dependency's (5xx)
)

// Reasons a request's credentials were not accepted.
const (
	AuthInvalid     = "invalid"              // unknown, expired, revoked, malformed
	AuthMultiple    = "multiple_credentials" // more than one credential sent
	AuthUnavailable = "unavailable"          // could not be checked (database down)
	AuthError       = "error"                // checking failed unexpectedly
)

// Blob store operations.
const (
	BlobPut    = "put"
	BlobGet    = "get"
	BlobStat   = "stat"
	BlobDelete = "delete"
)

// Unmatched is the route label of requests no route matched.
const Unmatched = "unmatched"

// Metrics holds the registry and every metric Cairn records.
type Metrics struct {
	reg *prometheus.Registry

	requests     *prometheus.CounterVec
	duration     *prometheus.HistogramVec
	uploads      *prometheus.CounterVec
	downloads    *prometheus.CounterVec
	authFailures *prometheus.CounterVec
	cacheHits    *prometheus.CounterVec
	cacheMisses  *prometheus.CounterVec
	blobDuration *prometheus.HistogramVec
}

// New returns metrics on a fresh registry that also carries the Go runtime
// and process collectors.
func New() *Metrics {
	m := &Metrics{reg: prometheus.NewRegistry()}
	m.requests = prometheus.NewCounterVec(prometheus.CounterOpts{
		Namespace: namespace, Subsystem: "http", Name: "requests_total",
		Help: "HTTP requests served, by engine (api or ui), route template, method and status class.",
	}, []string{"engine", "route", "method", "status"})
	m.duration = prometheus.NewHistogramVec(prometheus.HistogramOpts{
		Namespace: namespace, Subsystem: "http", Name: "request_duration_seconds",
		Help:    "Time to serve an HTTP request, by engine, route template, method and status class.",
		Buckets: []float64{.005, .01, .025, .05, .1, .25, .5, 1, 2.5, 5, 10, 30, 60},
	}, []string{"engine", "route", "method", "status"})
	m.uploads = prometheus.NewCounterVec(prometheus.CounterOpts{
		Namespace: namespace, Subsystem: "modules", Name: "uploads_total",
		Help: "Module version uploads, by outcome (ok, refused, failed).",
	}, []string{"outcome"})
	m.downloads = prometheus.NewCounterVec(prometheus.CounterOpts{
		Namespace: namespace, Subsystem: "modules", Name: "archive_downloads_total",
		Help: "Module archive downloads (GETs of the signed archive URL), by outcome (ok, refused, failed).",
	}, []string{"outcome"})
	m.authFailures = prometheus.NewCounterVec(prometheus.CounterOpts{
		Namespace: namespace, Subsystem: "auth", Name: "failures_total",
		Help: "Requests whose credentials were not accepted, by reason (invalid, multiple_credentials, unavailable, error).",
	}, []string{"reason"})
	m.cacheHits = prometheus.NewCounterVec(prometheus.CounterOpts{
		Namespace: namespace, Subsystem: "cache", Name: "hits_total",
		Help: "Per-replica cache lookups answered from the cache, by cache.",
	}, []string{"cache"})
	m.cacheMisses = prometheus.NewCounterVec(prometheus.CounterOpts{
		Namespace: namespace, Subsystem: "cache", Name: "misses_total",
		Help: "Per-replica cache lookups that went to the database, by cache.",
	}, []string{"cache"})
	m.blobDuration = prometheus.NewHistogramVec(prometheus.HistogramOpts{
		Namespace: namespace, Subsystem: "blobs", Name: "operation_duration_seconds",
		Help:    "Time a blob store operation took (for get: to open the object), by operation and outcome (ok or error).",
		Buckets: []float64{.001, .0025, .005, .01, .025, .05, .1, .25, .5, 1, 2.5, 5, 10, 30, 60},
	}, []string{"operation", "outcome"})
	m.reg.MustRegister(m.requests, m.duration, m.uploads, m.downloads, m.authFailures, m.cacheHits, m.cacheMisses, m.blobDuration,
		collectors.NewGoCollector(), collectors.NewProcessCollector(collectors.ProcessCollectorOpts{}))
	// Known label values start at zero, so rates and ratios exist before
	// the first event.
	for _, o := range []string{OK, Refused, Failed} {
		m.uploads.WithLabelValues(o)
		m.downloads.WithLabelValues(o)
	}
	for _, r := range []string{AuthInvalid, AuthMultiple, AuthUnavailable, AuthError} {
		m.authFailures.WithLabelValues(r)
	}
	return m
}

// Registry is the registry every metric is on (for tests and extra
// collectors).
func (m *Metrics) Registry() *prometheus.Registry {
	if m == nil {
		return nil
	}
	return m.reg
}

// Handler serves the registry in the Prometheus exposition format.
func (m *Metrics) Handler() http.Handler {
	if m == nil {
		return http.NotFoundHandler()
	}
	return promhttp.HandlerFor(m.reg, promhttp.HandlerOpts{Registry: m.reg})
}

// ObserveRequest records one served request. route is the matched route
// template ("" becomes "unmatched"), never the raw path.
func (m *Metrics) ObserveRequest(engine, route, method string, status int, d time.Duration) {
	if m == nil {
		return
	}
	if route == "" {
		route = Unmatched
	}
	labels := prometheus.Labels{"engine": engine, "route": route, "method": methodLabel(method), "status": StatusClass(status)}
	m.requests.With(labels).Inc()
	m.duration.With(labels).Observe(d.Seconds())
}

// Upload records a module upload's outcome (OK, Refused or Failed).
func (m *Metrics) Upload(outcome string) {
	if m != nil {
		m.uploads.WithLabelValues(outcome).Inc()
	}
}

// Download records an archive download's outcome (OK, Refused or Failed).
func (m *Metrics) Download(outcome string) {
	if m != nil {
		m.downloads.WithLabelValues(outcome).Inc()
	}
}

// AuthFailure records credentials not accepted, for reason (AuthInvalid,
// AuthMultiple, AuthUnavailable, AuthError).
func (m *Metrics) AuthFailure(reason string) {
	if m != nil {
		m.authFailures.WithLabelValues(reason).Inc()
	}
}

// CacheObserver returns a hook counting the hits and misses of the cache
// called name (internal/cache's Observe); nil when m is nil.
func (m *Metrics) CacheObserver(name string) func(hit bool) {
	if m == nil {
		return nil
	}
	hits, misses := m.cacheHits.WithLabelValues(name), m.cacheMisses.WithLabelValues(name)
	return func(hit bool) {
		if hit {
			hits.Inc()
		} else {
			misses.Inc()
		}
	}
}

// ObserveBlob records one blob store operation (BlobPut, BlobGet, BlobStat,
// BlobDelete) that took d and ended with err. A missing object is an
// answer, not an error.
func (m *Metrics) ObserveBlob(op string, d time.Duration, err error) {
	if m == nil {
		return
	}
	outcome := "ok"
	if err != nil {
		outcome = "error"
	}
	m.blobDuration.WithLabelValues(op, outcome).Observe(d.Seconds())
}

// ObservePool exposes the pool's statistics, read from stat at scrape time.
func (m *Metrics) ObservePool(stat func() *pgxpool.Stat) {
	if m != nil {
		m.reg.MustRegister(poolCollector{stat})
	}
}

// StatusClass is "2xx", "4xx", ... for an HTTP status.
func StatusClass(status int) string {
	if status < 100 || status > 599 {
		return "other"
	}
	return strconv.Itoa(status/100) + "xx"
}

// OutcomeOf classifies a finished request's status: 2xx and 3xx OK, 4xx
// Refused, anything else Failed.
func OutcomeOf(status int) string {
	switch {
	case status >= 200 && status < 400:
		return OK
	case status >= 400 && status < 500:
		return Refused
	}
	return Failed
}

// methodLabel keeps the method label to the standard methods: a client
// may send any token as a method.
func methodLabel(method string) string {
	switch method {
	case http.MethodGet, http.MethodHead, http.MethodPost, http.MethodPut, http.MethodPatch,
		http.MethodDelete, http.MethodOptions, http.MethodConnect, http.MethodTrace:
		return method
	}
	return "other"
}

var (
	poolAcquired = prometheus.NewDesc(namespace+"_db_pool_acquired_connections",
		"Connections currently in use.", nil, nil)
	poolIdle = prometheus.NewDesc(namespace+"_db_pool_idle_connections",
		"Connections currently idle in the pool.", nil, nil)
	poolTotal = prometheus.NewDesc(namespace+"_db_pool_total_connections",
		"Connections currently open (acquired, idle and being opened).", nil, nil)
	poolMax = prometheus.NewDesc(namespace+"_db_pool_max_connections",
		"Largest number of connections the pool opens.", nil, nil)
	poolAcquires = prometheus.NewDesc(namespace+"_db_pool_acquires_total",
		"Successful connection acquisitions.", nil, nil)
	poolAcquireSeconds = prometheus.NewDesc(namespace+"_db_pool_acquire_duration_seconds_total",
		"Total time spent acquiring connections (divide by acquires for the mean wait).", nil, nil)
	poolEmptyAcquires = prometheus.NewDesc(namespace+"_db_pool_empty_acquires_total",
		"Acquisitions that had to wait for a connection because none was idle.", nil, nil)
	poolCanceledAcquires = prometheus.NewDesc(namespace+"_db_pool_canceled_acquires_total",
		"Acquisitions cancelled (by their context) while waiting.", nil, nil)
)

// poolCollector reads pgxpool statistics once per scrape.
type poolCollector struct{ stat func() *pgxpool.Stat }

func (poolCollector) Describe(ch chan<- *prometheus.Desc) {
	for _, d := range []*prometheus.Desc{poolAcquired, poolIdle, poolTotal, poolMax, poolAcquires, poolAcquireSeconds, poolEmptyAcquires, poolCanceledAcquires} {
		ch <- d
	}
}

func (p poolCollector) Collect(ch chan<- prometheus.Metric) {
	s := p.stat()
	if s == nil {
		return
	}
	ch <- prometheus.MustNewConstMetric(poolAcquired, prometheus.GaugeValue, float64(s.AcquiredConns()))
	ch <- prometheus.MustNewConstMetric(poolIdle, prometheus.GaugeValue, float64(s.IdleConns()))
	ch <- prometheus.MustNewConstMetric(poolTotal, prometheus.GaugeValue, float64(s.TotalConns()))
	ch <- prometheus.MustNewConstMetric(poolMax, prometheus.GaugeValue, float64(s.MaxConns()))
	ch <- prometheus.MustNewConstMetric(poolAcquires, prometheus.CounterValue, float64(s.AcquireCount()))
	ch <- prometheus.MustNewConstMetric(poolAcquireSeconds, prometheus.CounterValue, s.AcquireDuration().Seconds())
	ch <- prometheus.MustNewConstMetric(poolEmptyAcquires, prometheus.CounterValue, float64(s.EmptyAcquireCount()))
	ch <- prometheus.MustNewConstMetric(poolCanceledAcquires, prometheus.CounterValue, float64(s.CanceledAcquireCount()))
}
