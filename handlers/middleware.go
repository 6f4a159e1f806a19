package handlers

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

// requestID keeps a well-formed incoming X-Request-Id or mints one, echoes it
// in the response and stores a request-scoped logger carrying it.
func requestID(log *slog.Logger) gin.HandlerFunc {
	return func(c *gin.Context) {
		id := c.GetHeader(RequestIDHeader)
		if !requestIDPattern.MatchString(id) {
			b := make([]byte, 12)
			rand.Read(b)
			id = hex.EncodeToString(b)
		}
		c.Header(RequestIDHeader, id)
		c.Set("request_id", id)
		c.Set("logger", log.With("request_id", id))
		c.Next()
	}
}

// Logger returns the request-scoped logger.
func Logger(c *gin.Context) *slog.Logger {
	if l, ok := c.Get("logger"); ok {
		return l.(*slog.Logger)
	}
	return slog.Default()
}

// accessLog writes one structured line per request.
func accessLog() gin.HandlerFunc {
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

// recovery turns a panic into a 500 with the request id, logged once.
func recovery() gin.HandlerFunc {
	return func(c *gin.Context) {
		defer func() {
			if r := recover(); r != nil {
				Logger(c).Error("panic serving request", "panic", r)
				c.AbortWithStatusJSON(500, gin.H{"message": "500 Internal Server Error", "request_id": c.GetString("request_id")})
			}
		}()
		c.Next()
	}
}
