// Package middleware is the plumbing every surface shares: request ids and
// the request-scoped logger, the access log, panic recovery, credentials →
// principal (tokens, on the API engine), the site's public URL, and serving
// stored blobs. It decides nothing about any surface's wire format.
package middleware

import (
	"crypto/rand"
	"encoding/hex"
	"log/slog"
	"regexp"
	"time"

	"github.com/gin-gonic/gin"
)

// RequestIDHeader carries the id that ties a request to its log lines.
const RequestIDHeader = "X-Request-Id"

var requestIDPattern = regexp.MustCompile(`^[A-Za-z0-9._-]{1,128}$`)

const (
	requestIDKey = "request_id"
	loggerKey    = "logger"
)

// RequestID keeps a well-formed incoming X-Request-Id or mints one, echoes
// it in the response and stores a request-scoped logger carrying it.
func RequestID(log *slog.Logger) gin.HandlerFunc {
	return func(c *gin.Context) {
		id := c.GetHeader(RequestIDHeader)
		if !requestIDPattern.MatchString(id) {
			b := make([]byte, 12)
			rand.Read(b)
			id = hex.EncodeToString(b)
		}
		c.Header(RequestIDHeader, id)
		c.Set(requestIDKey, id)
		c.Set(loggerKey, log.With("request_id", id))
		c.Next()
	}
}

// ID returns the request's id.
func ID(c *gin.Context) string { return c.GetString(requestIDKey) }

// Logger returns the request-scoped logger.
func Logger(c *gin.Context) *slog.Logger {
	if l, ok := c.Get(loggerKey); ok {
		return l.(*slog.Logger)
	}
	return slog.Default()
}

// AccessLog writes one structured line per request.
func AccessLog() gin.HandlerFunc {
	return func(c *gin.Context) {
		start := time.Now()
		c.Next()
		status := c.Writer.Status()
		level := slog.LevelInfo
		if status >= 500 {
			level = slog.LevelError
		}
		attrs := []any{
			"method", c.Request.Method,
			"path", c.Request.URL.Path,
			"status", status,
			"bytes", c.Writer.Size(),
			"duration_ms", float64(time.Since(start).Microseconds()) / 1000,
			"remote", c.ClientIP(),
		}
		if len(c.Errors) > 0 {
			attrs = append(attrs, "error", c.Errors.String())
		}
		Logger(c).Log(c.Request.Context(), level, "request", attrs...)
	}
}

// Recovery turns a panic into a 500, logged once, written by fail (each
// engine answers in its own format).
func Recovery(fail func(c *gin.Context)) gin.HandlerFunc {
	return func(c *gin.Context) {
		defer func() {
			if r := recover(); r != nil {
				Logger(c).Error("panic serving request", "panic", r)
				c.Abort()
				fail(c)
			}
		}()
		c.Next()
	}
}
