package e2e

import (
	"context"
	"fmt"
	"io"
	"net/http"
	"os"
	"strconv"
	"strings"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"github.com/cairn-registry/cairn/internal/testenv"
)

// TestSoak drives the cairn binary with mixed reads, uploads and searches at
// 32 connections for 10 minutes (CAIRN_SOAK_SECONDS overrides), printing
// the server's RSS and thread count (a proxy for its goroutines) at start
// and end, and fails on any error response. Skipped unless CAIRN_SOAK=1
// (make soak).
func TestSoak(t *testing.T) {
	if os.Getenv("CAIRN_SOAK") != "1" {
		t.Skip("soak test: run with CAIRN_SOAK=1 (make soak)")
	}
	dur := 10 * time.Minute
	if s := os.Getenv("CAIRN_SOAK_SECONDS"); s != "" {
		n, err := strconv.Atoi(s)
		if err != nil || n <= 0 {
			t.Fatalf("CAIRN_SOAK_SECONDS=%q is not a positive number", s)
		}
		dur = time.Duration(n) * time.Second
	}
	env := map[string]string{"CAIRN_DATA_DIR": testenv.DataDir(t), "CAIRN_DATABASE_URL": testenv.DatabaseURL(t),
		"CAIRN_LOG_LEVEL": "warn"}
	d := startDrill(t, env, "")
	for _, v := range []string{"1.0.0", "1.1.0"} {
		if code, body := d.upload("acme/vpc", "vpc", v, strings.NewReader(string(goodModule))); code != 201 {
			t.Fatalf("upload = %d %s", code, body)
		}
	}
	pid := d.proc.Cmd.Process.Pid
	rss0, thr0 := procStatus(t, pid)
	fmt.Printf("soak start: RSS %d KiB, threads %d; running %s at 32 connections\n", rss0, thr0, dur)

	client := d.client()
	client.Transport.(*http.Transport).MaxIdleConnsPerHost = 64
	var uploads atomic.Int64
	type op struct {
		name   string
		method string
		path   func() string
		body   func() io.Reader
		want   int
	}
	ops := []op{
		{"versions", "GET", func() string { return "/v1/modules/acme/vpc/aws/versions" }, nil, 200},
		{"download", "GET", func() string { return "/v1/modules/acme/vpc/aws/1.1.0/download" }, nil, 204},
		{"search", "GET", func() string { return "/v1/modules/search?q=vpc" }, nil, 200},
		{"terrareg search", "GET", func() string { return "/v1/terrareg/modules/search?q=vpc" }, nil, 200},
		{"list", "GET", func() string { return "/v1/modules?limit=10" }, nil, 200},
		{"details", "GET", func() string { return "/v1/modules/acme/vpc/aws" }, nil, 200},
		{"archive", "GET", func() string { return "/api/v4/projects/acme%2Fvpc/packages/terraform/modules/vpc/aws/1.0.0" }, nil, 200},
		{"upload", "PUT", func() string {
			return fmt.Sprintf("/api/v4/projects/acme%%2Fvpc/packages/terraform/modules/soak/aws/0.0.%d/file", uploads.Add(1))
		}, func() io.Reader { return strings.NewReader(string(goodModule)) }, 201},
	}
	var (
		mu     sync.Mutex
		counts = map[string]int{}
		errors []string
	)
	ctx, cancel := context.WithTimeout(context.Background(), dur)
	defer cancel()
	var wg sync.WaitGroup
	for w := range 32 {
		wg.Add(1)
		go func() {
			defer wg.Done()
			for i := w; ctx.Err() == nil; i++ {
				o := ops[i%len(ops)]
				var body io.Reader
				if o.body != nil {
					body = o.body()
				}
				req, _ := http.NewRequest(o.method, d.proc.URL+o.path(), body)
				req.Header.Set("Authorization", "Bearer "+d.admin)
				resp, err := client.Do(req)
				msg := ""
				if err != nil {
					msg = err.Error()
				} else {
					b, _ := io.ReadAll(resp.Body)
					resp.Body.Close()
					if resp.StatusCode != o.want {
						msg = fmt.Sprintf("%d %.200s", resp.StatusCode, b)
					}
				}
				mu.Lock()
				counts[o.name]++
				if msg != "" {
					errors = append(errors, o.name+": "+msg)
				}
				mu.Unlock()
			}
		}()
	}
	wg.Wait()
	rss1, thr1 := procStatus(t, pid)
	fmt.Printf("soak end: RSS %d KiB, threads %d; requests %v; errors %d\n", rss1, thr1, counts, len(errors))
	for i, e := range errors {
		if i == 20 {
			t.Errorf("... %d more errors", len(errors)-20)
			break
		}
		t.Errorf("error response: %s", e)
	}
}

// procStatus reads a process's resident memory (KiB) and thread count.
func procStatus(t *testing.T, pid int) (rssKiB int64, threads int) {
	t.Helper()
	data, err := os.ReadFile(fmt.Sprintf("/proc/%d/status", pid))
	if err != nil {
		t.Fatal(err)
	}
	for _, line := range strings.Split(string(data), "\n") {
		f := strings.Fields(line)
		if len(f) < 2 {
			continue
		}
		switch f[0] {
		case "VmRSS:":
			rssKiB, _ = strconv.ParseInt(f[1], 10, 64)
		case "Threads:":
			threads, _ = strconv.Atoi(f[1])
		}
	}
	return rssKiB, threads
}
