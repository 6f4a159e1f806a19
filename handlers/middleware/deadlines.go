package middleware

import (
	"errors"
	"io"
	"net/http"
	"strings"
	"sync"
	"time"

	"github.com/gin-gonic/gin"
)

// DeadlineOptions are the per-request I/O deadlines Deadlines sets. The
// http.Server has no ReadTimeout or WriteTimeout: this middleware owns them.
type DeadlineOptions struct {
	// Read bounds reading an ordinary request's body (and is an upload's
	// first window).
	Read time.Duration
	// Write bounds writing an ordinary response. Responses that keep
	// moving (archive downloads) are extended by the rate rule.
	Write time.Duration
	// RateWindow and RateChunk are the minimum-rate rule: every RateChunk
	// bytes an upload reads (or any response writes) pushes the read (or
	// write) deadline to RateWindow from then. A stalled slow-loris is cut;
	// a large honest transfer is not.
	RateWindow time.Duration
	RateChunk  int64
	// IsUpload tells uploads (rate rule) from ordinary requests (fixed Read
	// deadline); nil: IsUpload.
	IsUpload func(c *gin.Context) bool
}

// DefaultDeadlines: 30 s to read an ordinary body, 2 min to write an
// ordinary response, and at least 64 KiB per 30 s for uploads and long
// responses.
var DefaultDeadlines = DeadlineOptions{
	Read:       30 * time.Second,
	Write:      2 * time.Minute,
	RateWindow: 30 * time.Second,
	RateChunk:  64 << 10,
}

// IsUpload: a multipart/form-data body, or a PUT of a route ending in /file
// (GitLab's module upload).
func IsUpload(c *gin.Context) bool {
	r := c.Request
	if r.Method != http.MethodPut && r.Method != http.MethodPost {
		return false
	}
	if strings.HasPrefix(strings.ToLower(r.Header.Get("Content-Type")), "multipart/form-data") {
		return true
	}
	return r.Method == http.MethodPut && strings.HasSuffix(c.FullPath(), "/file")
}

// Deadlines sets each request's read and write deadlines through
// http.ResponseController (see DeadlineOptions). Install it on every engine,
// before anything reads the body or writes the response.
//
// A request without a body gets no read deadline: the server's background
// read of an idle connection would hit it and cancel the request's context
// in the middle of a long download. For the same reason the read deadline is
// cleared once the body has been read to its end.
func Deadlines(o DeadlineOptions) gin.HandlerFunc {
	if o.IsUpload == nil {
		o.IsUpload = IsUpload
	}
	return func(c *gin.Context) {
		rc := http.NewResponseController(c.Writer)
		now := time.Now()
		d := &deadlines{rc: rc, o: o}
		if err := d.pushWrite(now.Add(o.Write)); err != nil {
			// Not a connection (an in-memory recorder): nothing to bound.
			c.Next()
			return
		}
		c.Writer = &rateWriter{ResponseWriter: c.Writer, d: d}
		if c.Request.Body != nil && c.Request.Body != http.NoBody && c.Request.ContentLength != 0 {
			rc.SetReadDeadline(now.Add(o.Read))
			c.Request.Body = &rateReader{ReadCloser: c.Request.Body, d: d, upload: o.IsUpload(c)}
		}
		c.Next()
	}
}

// deadlines is one request's state; the body may be read on another
// goroutine than the one writing (a streaming validator), hence the lock.
type deadlines struct {
	rc *http.ResponseController
	o  DeadlineOptions

	mu    sync.Mutex
	write time.Time // current write deadline
}

// pushWrite moves the write deadline to t if that is later.
func (d *deadlines) pushWrite(t time.Time) error {
	d.mu.Lock()
	defer d.mu.Unlock()
	if !t.After(d.write) {
		return nil
	}
	if err := d.rc.SetWriteDeadline(t); err != nil {
		return err
	}
	d.write = t
	return nil
}

type rateReader struct {
	io.ReadCloser
	d      *deadlines
	upload bool
	n      int64 // bytes since the deadline last moved
	done   bool
}

func (r *rateReader) Read(p []byte) (int, error) {
	n, err := r.ReadCloser.Read(p)
	if r.upload && n > 0 {
		r.n += int64(n)
		if r.n >= r.d.o.RateChunk {
			r.n = 0
			now := time.Now()
			r.d.rc.SetReadDeadline(now.Add(r.d.o.RateWindow))
			// The answer comes after the body: keep it writable.
			r.d.pushWrite(now.Add(r.d.o.Write))
		}
	}
	if errors.Is(err, io.EOF) && !r.done {
		r.done = true
		r.d.rc.SetReadDeadline(time.Time{})
		if r.upload {
			r.d.pushWrite(time.Now().Add(r.d.o.Write))
		}
	}
	return n, err
}

// rateWriter extends the write deadline as a response moves: every
// RateChunk written buys RateWindow more.
type rateWriter struct {
	gin.ResponseWriter
	d *deadlines
	n int64
}

func (w *rateWriter) Write(p []byte) (int, error) {
	n, err := w.ResponseWriter.Write(p)
	w.count(n)
	return n, err
}

func (w *rateWriter) WriteString(s string) (int, error) {
	n, err := w.ResponseWriter.WriteString(s)
	w.count(n)
	return n, err
}

func (w *rateWriter) count(n int) {
	w.n += int64(n)
	if w.n >= w.d.o.RateChunk {
		w.n = 0
		w.d.pushWrite(time.Now().Add(w.d.o.RateWindow))
	}
}

// Unwrap lets http.ResponseController reach the connection.
func (w *rateWriter) Unwrap() http.ResponseWriter { return w.ResponseWriter }
