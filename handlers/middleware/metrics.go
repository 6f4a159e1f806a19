package middleware

import (
	"net/http"
	"time"

	"github.com/gin-gonic/gin"

	"github.com/cairn-registry/cairn/internal/metrics"
)

const metricsKey = "metrics"

// Instrument records every request of engine ("api" or "ui") in m: count
// and latency by route template (c.FullPath(), never the raw path),
// method and status class. It also makes m available to handlers through
// Metrics(c). Install it outside Recovery so a recovered panic counts as
// the 500 it becomes. A nil m records nothing.
func Instrument(m *metrics.Metrics, engine string) gin.HandlerFunc {
	if m == nil {
		return func(c *gin.Context) { c.Next() }
	}
	return func(c *gin.Context) {
		start := time.Now()
		c.Set(metricsKey, m)
		c.Next()
		m.ObserveRequest(engine, c.FullPath(), c.Request.Method, c.Writer.Status(), time.Since(start))
	}
}

// Metrics returns the request's metrics: nil (which records nothing) when
// none are configured.
func Metrics(c *gin.Context) *metrics.Metrics {
	if v, ok := c.Get(metricsKey); ok {
		return v.(*metrics.Metrics)
	}
	return nil
}

// CountUpload records the upload a handler serves by its final status
// (2xx ok, 4xx refused, 5xx failed). Call it deferred, first thing:
//
//	defer middleware.CountUpload(c)
func CountUpload(c *gin.Context) {
	if r := recover(); r != nil { // a panic becomes a 500 (Recovery)
		Metrics(c).Upload(metrics.Failed)
		panic(r)
	}
	Metrics(c).Upload(metrics.OutcomeOf(c.Writer.Status()))
}

// CountDownload records the archive download a handler serves by its
// final status, like CountUpload; HEAD requests (go-getter's probe before
// the GET) are not downloads and are not counted.
//
//	defer middleware.CountDownload(c)
func CountDownload(c *gin.Context) {
	if r := recover(); r != nil { // a panic becomes a 500 (Recovery)
		Metrics(c).Download(metrics.Failed)
		panic(r)
	}
	if c.Request.Method != http.MethodHead {
		Metrics(c).Download(metrics.OutcomeOf(c.Writer.Status()))
	}
}

// Reasons Authenticate refuses credentials, for authFailed.
const (
	authInvalid     = metrics.AuthInvalid
	authMultiple    = metrics.AuthMultiple
	authUnavailable = metrics.AuthUnavailable
	authError       = metrics.AuthError
)

// authFailed records credentials Authenticate refused, for reason.
func authFailed(c *gin.Context, reason string) { Metrics(c).AuthFailure(reason) }
