package e2e

import (
	"bytes"
	"compress/gzip"
	"fmt"
	"io"
	"net/http"
	"os"
	"regexp"
	"sort"
	"strconv"
	"strings"
	"sync"
	"testing"
	"time"
)

// benchModulePage is the module the page benchmark reads: 100 inputs (half
// required), 20 resources and 2 submodules, no README (so the page opens on
// its Inputs tab, the heaviest).
func benchModulePage() []byte {
	var b strings.Builder
	b.WriteString("terraform {\n  required_version = \">= 1.5\"\n}\n\n")
	for i := range 100 {
		typ := []string{"string", "number", "bool", "list(string)", "map(string)"}[i%5]
		fmt.Fprintf(&b, "variable \"input_%03d\" {\n  type        = %s\n  description = \"Input number %d: what it sets and why a caller would change it.\"\n", i, typ, i)
		if i%2 == 1 {
			def := map[string]string{"string": `"value"`, "number": "42", "bool": "true", "list(string)": `["a", "b"]`, "map(string)": `{ key = "value" }`}[typ]
			fmt.Fprintf(&b, "  default     = %s\n", def)
		}
		b.WriteString("}\n\n")
	}
	for i := range 20 {
		fmt.Fprintf(&b, "resource \"terraform_data\" \"r%02d\" {\n  input = var.input_%03d\n}\n\n", i, i)
	}
	b.WriteString("module \"a\" {\n  source = \"./modules/a\"\n}\n\nmodule \"b\" {\n  source = \"./modules/b\"\n}\n\n")
	b.WriteString("output \"id\" {\n  description = \"The first resource\"\n  value       = terraform_data.r00.id\n}\n")
	sub := func(name string) string {
		return fmt.Sprintf("variable \"name\" {\n  type = string\n  default = %q\n}\n\nresource \"terraform_data\" \"this\" {\n  input = var.name\n}\n", name)
	}
	return tgz(entry{name: "main.tf", body: b.String()},
		entry{name: "modules/a/main.tf", body: sub("a")}, entry{name: "modules/b/main.tf", body: sub("b")})
}

// BenchmarkModulePage prints the server time of a module page (100 inputs,
// 20 resources, 2 submodules) at 32 concurrent anonymous connections,
// p50/p95/p99 (target p95 < 30 ms), and the page's compressed weight:
// HTML, CSS and JS, gzip (target < 60 KB). Run with -benchtime 1x.
func BenchmarkModulePage(b *testing.B) {
	s := startInProcess(b, map[string]string{"CAIRN_LOG_LEVEL": "warn"})
	var acme struct{ ID int64 }
	s.json("POST", "/groups", map[string]any{"path": "acme", "name": "Acme", "visibility": "public"}, &acme)
	s.json("POST", "/projects", map[string]any{"path": "network", "namespace_id": acme.ID, "visibility": "public"}, nil)
	for _, v := range []string{"1.0.0", "1.1.0", "2.0.0"} {
		if code, body := s.upload(nil, "acme/network", "big", "aws", v, benchModulePage()); code != 201 {
			b.Fatalf("upload %s = %d %s", v, code, body)
		}
	}
	const page = "/modules/acme/big/aws/2.0.0"
	client := &http.Client{Transport: &http.Transport{MaxIdleConnsPerHost: 64, DisableCompression: true}}
	get := func(path string) ([]byte, time.Duration) {
		t0 := time.Now()
		resp, err := client.Get(s.srv.URL + path)
		if err != nil {
			b.Fatalf("GET %s: %v", path, err)
		}
		body, _ := io.ReadAll(resp.Body)
		resp.Body.Close()
		d := time.Since(t0)
		if resp.StatusCode != 200 {
			b.Fatalf("GET %s = %d", path, resp.StatusCode)
		}
		return body, d
	}
	html, _ := get(page)
	if n := strings.Count(string(html), "<tr>"); n < 100 {
		b.Fatalf("the page shows %d table rows, want the 100 inputs", n)
	}

	// Weight: the page and every stylesheet and script it loads, gzipped.
	gz := func(p []byte) int {
		var buf bytes.Buffer
		w, _ := gzip.NewWriterLevel(&buf, gzip.DefaultCompression)
		w.Write(p)
		w.Close()
		return buf.Len()
	}
	weights := map[string]int{"HTML": gz(html)}
	raw := map[string]int{"HTML": len(html)}
	for _, m := range regexp.MustCompile(`<(?:link rel="stylesheet" href|script src)="([^"]+)"`).FindAllStringSubmatch(string(html), -1) {
		asset, _ := get(m[1])
		kind := "JS"
		if strings.HasSuffix(m[1], ".css") {
			kind = "CSS"
		}
		weights[kind] += gz(asset)
		raw[kind] += len(asset)
	}

	dur := 4 * time.Second
	if v := os.Getenv("CAIRN_BENCH_SECONDS"); v != "" {
		if n, err := strconv.Atoi(v); err == nil {
			dur = time.Duration(n) * time.Second
		}
	}
	// Service time first: one connection, one request at a time.
	var serial []time.Duration
	for range 200 {
		_, d := get(page)
		serial = append(serial, d)
	}
	sort.Slice(serial, func(i, j int) bool { return serial[i] < serial[j] })

	const conc = 32
	b.ResetTimer()
	var mu sync.Mutex
	var lat []time.Duration
	deadline := time.Now().Add(dur)
	var wg sync.WaitGroup
	for range conc {
		wg.Add(1)
		go func() {
			defer wg.Done()
			var local []time.Duration
			for time.Now().Before(deadline) {
				_, d := get(page)
				local = append(local, d)
			}
			mu.Lock()
			lat = append(lat, local...)
			mu.Unlock()
		}()
	}
	wg.Wait()
	b.StopTimer()
	sort.Slice(lat, func(i, j int) bool { return lat[i] < lat[j] })
	pct := func(p int) time.Duration { return lat[min(len(lat)-1, len(lat)*p/100)] }
	ms := func(d time.Duration) float64 { return float64(d.Microseconds()) / 1000 }

	fmt.Printf("\nModule page: 100 inputs, 20 resources, 2 submodules, no README (Inputs tab); %d connections for %s, plain HTTP loopback, in process, real PostgreSQL\n", conc, dur)
	fmt.Printf("%-10s %8s %8s %8s %8s %8s\n", "requests", "req/s", "p50", "p95", "p99", "max")
	fmt.Printf("%-10s %8s %8.2f %8.2f %8.2f %8.2f  ms  (1 connection, serial)\n", strconv.Itoa(len(serial)), "-", ms(serial[100]), ms(serial[190]), ms(serial[198]), ms(serial[199]))
	fmt.Printf("%-10d %8.0f %8.2f %8.2f %8.2f %8.2f  ms  (%d connections)\n", len(lat), float64(len(lat))/dur.Seconds(), ms(pct(50)), ms(pct(95)), ms(pct(99)), ms(lat[len(lat)-1]), conc)
	total := weights["HTML"] + weights["CSS"] + weights["JS"]
	fmt.Printf("Page weight (gzip): HTML %.1f KB (%.1f KB raw), CSS %.1f KB, JS %.1f KB (htmx + cairn.js); total %.1f KB (target < 60 KB)\n",
		float64(weights["HTML"])/1024, float64(raw["HTML"])/1024, float64(weights["CSS"])/1024, float64(weights["JS"])/1024, float64(total)/1024)
	if p95 := pct(95); p95 > 30*time.Millisecond {
		fmt.Printf("module page p95 %s is above the 30 ms target\n", p95)
	}
	if total > 60<<10 {
		fmt.Printf("module page weight %.1f KB is above the 60 KB target\n", float64(total)/1024)
	}
	b.ReportMetric(ms(pct(95)), "p95-ms")
	b.ReportMetric(float64(total)/1024, "page-KB")
}
