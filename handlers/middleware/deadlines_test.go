package middleware_test

import (
	"bufio"
	"bytes"
	"errors"
	"fmt"
	"io"
	"net"
	"net/http"
	"net/http/httptest"
	"testing"
	"time"

	"github.com/gin-gonic/gin"

	"github.com/cairn-registry/cairn/handlers/middleware"
)

// deadlineServer is a real HTTP server (deadlines need a connection) with
// the deadline middleware at test durations and an upload route that
// reports what it received.
func deadlineServer(t *testing.T, o middleware.DeadlineOptions) *httptest.Server {
	t.Helper()
	r := gin.New()
	r.Use(middleware.Deadlines(o))
	upload := func(c *gin.Context) {
		n, err := io.Copy(io.Discard, c.Request.Body)
		if err != nil {
			c.String(http.StatusBadRequest, "read %d: %v", n, err)
			return
		}
		c.String(http.StatusCreated, "%d", n)
	}
	r.PUT("/api/v4/projects/:id/packages/terraform/modules/:name/:system/:version/file", upload)
	r.POST("/form", upload)
	r.GET("/download", func(c *gin.Context) {
		chunk := bytes.Repeat([]byte("x"), 16<<10)
		for range 40 {
			if _, err := c.Writer.Write(chunk); err != nil {
				return
			}
		}
	})
	srv := httptest.NewServer(r)
	t.Cleanup(srv.Close)
	return srv
}

var testDeadlines = middleware.DeadlineOptions{
	Read:       750 * time.Millisecond,
	Write:      750 * time.Millisecond,
	RateWindow: 750 * time.Millisecond,
	RateChunk:  16 << 10,
}

// A client that sends the headers and then trickles the body is cut off; the
// same size sent at a steady rate, for much longer than the initial read
// deadline, is received whole.
func TestDeadlinesCutSlowUploads(t *testing.T) {
	t.Parallel()
	srv := deadlineServer(t, testDeadlines)
	const path = "/api/v4/projects/1/packages/terraform/modules/vpc/aws/1.0.0/file"

	conn, err := net.Dial("tcp", srv.Listener.Addr().String())
	if err != nil {
		t.Fatal(err)
	}
	defer conn.Close()
	fmt.Fprintf(conn, "PUT %s HTTP/1.1\r\nHost: x\r\nContent-Length: 1000000\r\n\r\n", path)
	start := time.Now()
	cut := false
	for i := 0; i < 16; i++ { // 1 byte every 250 ms, for up to 4 s
		if _, err := conn.Write([]byte{'a'}); err != nil {
			cut = true
			break
		}
		time.Sleep(250 * time.Millisecond)
	}
	if !cut {
		// The server may answer and close instead of resetting: read it.
		conn.SetReadDeadline(time.Now().Add(2 * time.Second))
		_, err := bufio.NewReader(conn).ReadString('\n')
		// An answer or a closed connection: the server gave up on the
		// body. A timeout: it is still waiting for the rest.
		var ne net.Error
		cut = !(errors.As(err, &ne) && ne.Timeout())
	}
	if !cut {
		t.Fatal("a trickling upload was not disconnected")
	}
	if d := time.Since(start); d > 3*time.Second {
		t.Errorf("trickling upload was cut only after %s", d)
	}

	start = time.Now()
	// Steady: 16 KiB every 150 ms for 3 s (four times Read).
	pr, pw := io.Pipe()
	go func() {
		chunk := bytes.Repeat([]byte("b"), 16<<10)
		for range 20 {
			pw.Write(chunk)
			time.Sleep(150 * time.Millisecond)
		}
		pw.Close()
	}()
	req, _ := http.NewRequest("PUT", srv.URL+path, pr)
	req.ContentLength = 20 * 16 << 10
	resp, err := http.DefaultClient.Do(req)
	if err != nil {
		t.Fatalf("steady upload: %v (after %s)", err, time.Since(start))
	}
	body, _ := io.ReadAll(resp.Body)
	resp.Body.Close()
	if resp.StatusCode != 201 || string(body) != fmt.Sprint(20*16<<10) {
		t.Fatalf("steady upload = %d %s", resp.StatusCode, body)
	}
}

// Multipart uploads follow the same rate rule.
func TestDeadlinesMultipartUploadRate(t *testing.T) {
	t.Parallel()
	srv := deadlineServer(t, testDeadlines)
	pr, pw := io.Pipe()
	go func() {
		chunk := bytes.Repeat([]byte("c"), 16<<10)
		for range 12 {
			pw.Write(chunk)
			time.Sleep(150 * time.Millisecond)
		}
		pw.Close()
	}()
	req, _ := http.NewRequest("POST", srv.URL+"/form", pr)
	req.Header.Set("Content-Type", "multipart/form-data; boundary=zz")
	resp, err := http.DefaultClient.Do(req)
	if err != nil {
		t.Fatalf("steady multipart upload: %v", err)
	}
	resp.Body.Close()
	if resp.StatusCode != 201 {
		t.Fatalf("steady multipart upload = %d", resp.StatusCode)
	}
}

// An ordinary request body must arrive within Read, however steadily it
// trickles: the rate rule is for uploads only.
func TestDeadlinesOrdinaryBody(t *testing.T) {
	t.Parallel()
	srv := deadlineServer(t, testDeadlines)
	pr, pw := io.Pipe()
	go func() {
		chunk := bytes.Repeat([]byte("d"), 16<<10)
		for range 12 {
			if _, err := pw.Write(chunk); err != nil {
				return
			}
			time.Sleep(150 * time.Millisecond)
		}
		pw.Close()
	}()
	req, _ := http.NewRequest("POST", srv.URL+"/form", pr)
	req.Header.Set("Content-Type", "application/json")
	resp, err := http.DefaultClient.Do(req)
	if err != nil {
		return // cut off
	}
	b, _ := io.ReadAll(resp.Body)
	resp.Body.Close()
	if resp.StatusCode == 201 {
		t.Fatalf("a 1.8 s ordinary body was read whole (%s bytes) with a 750 ms read deadline", b)
	}
}

// A download to a client that keeps reading outlasts Write: each RateChunk
// written extends the write deadline.
func TestDeadlinesDownloadRate(t *testing.T) {
	t.Parallel()
	srv := deadlineServer(t, testDeadlines)
	resp, err := http.Get(srv.URL + "/download")
	if err != nil {
		t.Fatal(err)
	}
	defer resp.Body.Close()
	buf := make([]byte, 16<<10)
	total := 0
	for {
		n, err := io.ReadFull(resp.Body, buf)
		total += n
		if err != nil {
			break
		}
		time.Sleep(50 * time.Millisecond) // 40 chunks: ~2 s in all, > Write
	}
	if total != 40*16<<10 {
		t.Fatalf("slow but steady download got %d bytes, want %d", total, 40*16<<10)
	}
}
