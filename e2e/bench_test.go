package e2e

import (
	"archive/tar"
	"compress/gzip"
	"crypto/rand"
	"encoding/json"
	"fmt"
	"io"
	"net/http"
	"net/url"
	"os"
	"sort"
	"strconv"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/cairn-registry/cairn/internal/testenv"
)

// loadResult is what one endpoint sustained.
type loadResult struct {
	rps      float64
	p50, p99 time.Duration
	errors   int
}

// load drives url with conc workers for d and measures throughput and latency.
func load(client *http.Client, conc int, d time.Duration, newReq func() *http.Request, wantStatus int) loadResult {
	var mu sync.Mutex
	var lat []time.Duration
	errs := 0
	deadline := time.Now().Add(d)
	var wg sync.WaitGroup
	for range conc {
		wg.Add(1)
		go func() {
			defer wg.Done()
			var local []time.Duration
			bad := 0
			for time.Now().Before(deadline) {
				start := time.Now()
				resp, err := client.Do(newReq())
				if err != nil {
					bad++
					continue
				}
				io.Copy(io.Discard, resp.Body)
				resp.Body.Close()
				if resp.StatusCode != wantStatus {
					bad++
					continue
				}
				local = append(local, time.Since(start))
			}
			mu.Lock()
			lat = append(lat, local...)
			errs += bad
			mu.Unlock()
		}()
	}
	wg.Wait()
	sort.Slice(lat, func(i, j int) bool { return lat[i] < lat[j] })
	r := loadResult{errors: errs}
	if len(lat) > 0 {
		r.rps = float64(len(lat)) / d.Seconds()
		r.p50 = lat[len(lat)/2]
		r.p99 = lat[len(lat)*99/100]
	}
	return r
}

// BenchmarkRegistryLoad prints requests per second and p50/p99 latency for
// the versions, download (PAT-authenticated) and 1 MiB archive endpoints at
// 32 concurrent connections, each with its ratio to a trivial handler
// (/healthz) on the same server. Run with -benchtime=1x (make bench).
func BenchmarkRegistryLoad(b *testing.B) {
	r := startBenchRegistry(b)
	// A 1 MiB module (incompressible content, so the archive is ~1 MiB).
	mod := tgz(entry{name: "main.tf", body: "output \"x\" { value = 1 }\n"}, entry{name: "blob.bin", body: string(randomBytes(1 << 20))})
	if code, body := r.uploadBytes("acme%2Fvpc", "vpc", "aws", "1.0.0", mod); code != 201 {
		b.Fatalf("upload = %d %s", code, body)
	}
	client := &http.Client{Transport: &http.Transport{MaxIdleConnsPerHost: 64, TLSClientConfig: r.proc.Client(b).Transport.(*http.Transport).TLSClientConfig},
		CheckRedirect: func(*http.Request, []*http.Request) error { return http.ErrUseLastResponse }}
	get := func(path string, auth bool) func() *http.Request {
		return func() *http.Request {
			req, _ := http.NewRequest("GET", r.proc.URL+path, nil)
			if auth {
				req.Header.Set("Authorization", "Bearer "+r.admin)
			}
			return req
		}
	}
	// Resolve one archive URL (valid for five minutes).
	resp, err := client.Do(get("/v1/modules/acme/vpc/aws/1.0.0/download", true)())
	if err != nil || resp.StatusCode != 204 {
		b.Fatalf("download: %v %v", err, resp)
	}
	archive, _ := url.Parse(resp.Header.Get("X-Terraform-Get"))

	const conc = 32
	dur := 4 * time.Second
	if s := os.Getenv("CAIRN_BENCH_SECONDS"); s != "" {
		if n, err := strconv.Atoi(s); err == nil {
			dur = time.Duration(n) * time.Second
		}
	}
	b.ResetTimer()
	ceiling := load(client, conc, dur, get("/healthz", false), 200)
	results := []struct {
		name string
		res  loadResult
	}{
		{"ceiling /healthz", ceiling},
		{"versions", load(client, conc, dur, get("/v1/modules/acme/vpc/aws/versions", true), 200)},
		{"download (PAT)", load(client, conc, dur, get("/v1/modules/acme/vpc/aws/1.0.0/download", true), 204)},
		{"archive 1 MiB", load(client, conc, dur, get(archive.RequestURI(), false), 200)},
	}
	b.StopTimer()
	fmt.Printf("\nRegistry load: %d concurrent connections, %s per endpoint, HTTPS loopback, real PostgreSQL\n", conc, dur)
	fmt.Printf("%-18s %10s %9s %9s %8s %7s\n", "endpoint", "req/s", "p50", "p99", "ratio", "errors")
	for _, x := range results {
		fmt.Printf("%-18s %10.0f %9s %9s %8.2f %7d\n", x.name, x.res.rps, x.res.p50.Round(10*time.Microsecond),
			x.res.p99.Round(10*time.Microsecond), x.res.rps/ceiling.rps, x.res.errors)
		if x.res.errors > 0 {
			b.Errorf("%s: %d requests failed", x.name, x.res.errors)
		}
	}
	b.ReportMetric(results[1].res.rps/ceiling.rps, "versions-ratio")
	b.ReportMetric(results[2].res.rps/ceiling.rps, "download-ratio")
}

// BenchmarkLargeModuleMemory uploads and downloads a 200 MiB module and
// prints the server's peak RSS before and after, showing memory does not
// grow with archive size.
func BenchmarkLargeModuleMemory(b *testing.B) {
	r := startBenchRegistry(b)
	pid := r.proc.Cmd.Process.Pid
	before := peakRSS(b, pid)
	const size = 200 << 20
	pr, pw := io.Pipe()
	go func() {
		gz := gzip.NewWriter(pw)
		tw := tar.NewWriter(gz)
		tw.WriteHeader(&tar.Header{Name: "main.tf", Mode: 0o644, Size: 2, Typeflag: tar.TypeReg})
		tw.Write([]byte("#\n"))
		for i := range 4 { // archives cap one file at 100 MiB
			tw.WriteHeader(&tar.Header{Name: fmt.Sprintf("data/part%d.bin", i), Mode: 0o644, Size: size / 4, Typeflag: tar.TypeReg})
			io.Copy(tw, io.LimitReader(rand.Reader, size/4))
		}
		tw.Close()
		gz.Close()
		pw.Close()
	}()
	b.ResetTimer()
	start := time.Now()
	req, _ := http.NewRequest("PUT", r.proc.URL+"/api/v4/projects/acme%2Fvpc/packages/terraform/modules/big/aws/1.0.0/file", pr)
	req.Header.Set("PRIVATE-TOKEN", r.admin)
	resp, err := r.proc.Client(b).Do(req)
	if err != nil || resp.StatusCode != 201 {
		b.Fatalf("200 MiB upload: %v %v", err, resp)
	}
	resp.Body.Close()
	upload := time.Since(start)
	afterUpload := peakRSS(b, pid)

	req, _ = http.NewRequest("GET", r.proc.URL+"/v1/modules/acme/big/aws/1.0.0/download", nil)
	req.Header.Set("Authorization", "Bearer "+r.admin)
	resp, err = r.proc.Client(b).Do(req)
	if err != nil || resp.StatusCode != 204 {
		b.Fatalf("download: %v %v", err, resp)
	}
	start = time.Now()
	resp, err = r.proc.Client(b).Get(resp.Header.Get("X-Terraform-Get"))
	if err != nil || resp.StatusCode != 200 {
		b.Fatalf("archive: %v %v", err, resp)
	}
	n, _ := io.Copy(io.Discard, resp.Body)
	resp.Body.Close()
	download := time.Since(start)
	afterDownload := peakRSS(b, pid)
	b.StopTimer()
	fmt.Printf("\n200 MiB module (%d MiB archive): upload %s, download %s\n", n>>20, upload.Round(time.Millisecond), download.Round(time.Millisecond))
	fmt.Printf("server peak RSS: %d MiB at start, %d MiB after upload, %d MiB after download\n", before>>10, afterUpload>>10, afterDownload>>10)
	b.ReportMetric(float64(afterDownload>>10), "peak-RSS-MiB")
}

// peakRSS reads a process's VmHWM in KiB.
func peakRSS(b *testing.B, pid int) int64 {
	data, err := os.ReadFile(fmt.Sprintf("/proc/%d/status", pid))
	if err != nil {
		b.Fatal(err)
	}
	for _, line := range strings.Split(string(data), "\n") {
		if strings.HasPrefix(line, "VmHWM:") {
			f := strings.Fields(line)
			n, _ := strconv.ParseInt(f[1], 10, 64)
			return n
		}
	}
	b.Fatal("no VmHWM")
	return 0
}

func randomBytes(n int) []byte {
	p := make([]byte, n)
	rand.Read(p)
	return p
}

type benchRegistry struct {
	proc  *testenv.Proc
	admin string
	b     *testing.B
}

// startBenchRegistry runs the cairn binary (HTTPS, external test database)
// with group acme and project acme/vpc.
func startBenchRegistry(b *testing.B) *benchRegistry {
	addr := testenv.FreeAddr(b)
	env := map[string]string{
		"CAIRN_DATA_DIR":     b.TempDir(),
		"CAIRN_DATABASE_URL": testenv.DatabaseURL(b),
		"CAIRN_LISTEN":       addr,
		"CAIRN_PUBLIC_URL":   "https://" + addr,
		"CAIRN_LOG_LEVEL":    "warn",
	}
	p := testenv.StartCairn(b, env)
	p.URL = "https://" + addr
	out, err := runCairn(b, env, "admin", "bootstrap", "--username", "root")
	if err != nil {
		b.Fatalf("bootstrap: %v %s", err, out)
	}
	lines := strings.Split(strings.TrimSpace(out), "\n")
	r := &benchRegistry{proc: p, admin: lines[len(lines)-1], b: b}
	groupID := ""
	for _, call := range []struct{ path, body string }{
		{"/groups", `{"path":"acme","name":"acme"}`},
		{"/projects", `{"path":"vpc","namespace_id":%s}`},
	} {
		body := call.body
		if strings.Contains(body, "%s") {
			body = fmt.Sprintf(body, groupID)
		}
		req, _ := http.NewRequest("POST", p.URL+"/api/v4"+call.path, strings.NewReader(body))
		req.Header.Set("PRIVATE-TOKEN", r.admin)
		req.Header.Set("Content-Type", "application/json")
		resp, err := p.Client(b).Do(req)
		if err != nil || resp.StatusCode != 201 {
			body := ""
			if resp != nil {
				bb, _ := io.ReadAll(resp.Body)
				body = string(bb)
			}
			b.Fatalf("POST %s: %v %s", call.path, err, body)
		}
		var created struct{ ID int64 }
		json.NewDecoder(resp.Body).Decode(&created)
		resp.Body.Close()
		groupID = strconv.FormatInt(created.ID, 10)
	}
	return r
}

func (r *benchRegistry) uploadBytes(project, name, system, version string, body []byte) (int, string) {
	req, _ := http.NewRequest("PUT", fmt.Sprintf("%s/api/v4/projects/%s/packages/terraform/modules/%s/%s/%s/file", r.proc.URL, project, name, system, version), strings.NewReader(string(body)))
	req.Header.Set("PRIVATE-TOKEN", r.admin)
	resp, err := r.proc.Client(r.b).Do(req)
	if err != nil {
		r.b.Fatal(err)
	}
	defer resp.Body.Close()
	b, _ := io.ReadAll(resp.Body)
	return resp.StatusCode, string(b)
}
