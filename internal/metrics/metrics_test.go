package metrics_test

import (
	"archive/tar"
	"bytes"
	"compress/gzip"
	"errors"
	"fmt"
	"io"
	"net/http"
	"net/http/httptest"
	"net/url"
	"strings"
	"testing"
	"time"

	dto "github.com/prometheus/client_model/go"
	"github.com/prometheus/common/expfmt"
	"github.com/prometheus/common/model"
	gitlab "gitlab.com/gitlab-org/api/client-go"

	"github.com/cairn-registry/cairn/internal/metrics"
	"github.com/cairn-registry/cairn/internal/testenv"
	"github.com/cairn-registry/cairn/internal/testserver"
)

func TestMain(m *testing.M) { testenv.Main(m) }

// A nil *Metrics records nothing and never panics.
func TestNilMetrics(t *testing.T) {
	var m *metrics.Metrics
	m.ObserveRequest("api", "/x", "GET", 200, time.Second)
	m.Upload(metrics.OK)
	m.Download(metrics.Failed)
	m.AuthFailure(metrics.AuthInvalid)
	m.ObserveBlob(metrics.BlobPut, time.Millisecond, nil)
	m.ObservePool(nil)
	if m.CacheObserver("x") != nil {
		t.Error("nil Metrics returned a cache observer")
	}
	if m.Registry() != nil {
		t.Error("nil Metrics returned a registry")
	}
}

func TestClasses(t *testing.T) {
	for status, want := range map[int]string{200: "2xx", 204: "2xx", 302: "3xx", 404: "4xx", 503: "5xx", 0: "other", 999: "other"} {
		if got := metrics.StatusClass(status); got != want {
			t.Errorf("StatusClass(%d) = %q, want %q", status, got, want)
		}
	}
	for status, want := range map[int]string{201: metrics.OK, 302: metrics.OK, 409: metrics.Refused, 413: metrics.Refused, 500: metrics.Failed, 503: metrics.Failed} {
		if got := metrics.OutcomeOf(status); got != want {
			t.Errorf("OutcomeOf(%d) = %q, want %q", status, got, want)
		}
	}
}

// The registry alone: what is recorded is exposed, with bounded labels.
func TestExposition(t *testing.T) {
	m := metrics.New()
	m.ObserveRequest("api", "", "BREW", 418, 10*time.Millisecond)
	m.ObserveRequest("ui", "/", "GET", 200, time.Millisecond)
	m.Upload(metrics.OK)
	hit := m.CacheObserver("things")
	hit(true)
	hit(false)
	hit(false)
	m.ObserveBlob(metrics.BlobGet, 3*time.Millisecond, errors.New("boom"))

	rec := httptest.NewRecorder()
	m.Handler().ServeHTTP(rec, httptest.NewRequest("GET", "/metrics", nil))
	fams := parse(t, rec.Body)
	if v := value(t, fams, "cairn_http_requests_total", map[string]string{"engine": "api", "route": "unmatched", "method": "other", "status": "4xx"}); v != 1 {
		t.Errorf("unmatched request counted %v times, want 1", v)
	}
	if v := value(t, fams, "cairn_http_requests_total", map[string]string{"engine": "ui", "route": "/", "method": "GET", "status": "2xx"}); v != 1 {
		t.Errorf("ui request counted %v times, want 1", v)
	}
	if v := value(t, fams, "cairn_modules_uploads_total", map[string]string{"outcome": "ok"}); v != 1 {
		t.Errorf("uploads ok = %v, want 1", v)
	}
	if v := value(t, fams, "cairn_modules_uploads_total", map[string]string{"outcome": "failed"}); v != 0 {
		t.Errorf("uploads failed = %v, want a 0 series", v)
	}
	if h, m := value(t, fams, "cairn_cache_hits_total", map[string]string{"cache": "things"}),
		value(t, fams, "cairn_cache_misses_total", map[string]string{"cache": "things"}); h != 1 || m != 2 {
		t.Errorf("cache hits, misses = %v, %v; want 1, 2", h, m)
	}
	if v := value(t, fams, "cairn_blobs_operation_duration_seconds", map[string]string{"operation": "get", "outcome": "error"}); v != 1 {
		t.Errorf("blob get observations = %v, want 1", v)
	}
	if _, ok := fams["go_goroutines"]; !ok {
		t.Error("no Go runtime metrics")
	}
}

// The server end to end: requests on the main listener show up on the
// separate metrics listener, labelled by route template only.
func TestServerMetrics(t *testing.T) {
	t.Parallel()
	srv := testserver.Start(t, testserver.Env(map[string]string{"CAIRN_METRICS_LISTEN": "127.0.0.1:0"}))
	if srv.Metrics == nil || !strings.HasPrefix(srv.MetricsURL, "http://127.0.0.1:") || strings.HasSuffix(srv.MetricsURL, ":0/metrics") {
		t.Fatalf("MetricsURL = %q (metrics %v), want the bound loopback address", srv.MetricsURL, srv.Metrics)
	}
	admin := map[string]string{"PRIVATE-TOKEN": srv.AdminToken}

	// A module to look up and download.
	gl := srv.GitLab(t, srv.AdminToken)
	acme, resp, err := gl.Groups.CreateGroup(&gitlab.CreateGroupOptions{Name: gitlab.Ptr("Acme"), Path: gitlab.Ptr("acme")})
	testserver.WantStatus(t, "POST /groups", resp, err, http.StatusCreated)
	proj, resp, err := gl.Projects.CreateProject(&gitlab.CreateProjectOptions{Path: gitlab.Ptr("vpc"), NamespaceID: gitlab.Ptr(acme.ID)})
	testserver.WantStatus(t, "POST /projects", resp, err, http.StatusCreated)
	uploadPath := fmt.Sprintf("/api/v4/projects/%d/packages/terraform/modules/vpc/aws/1.0.0/file", proj.ID)
	if code := put(t, srv.URL+uploadPath, srv.AdminToken, moduleTarGz(t)); code != http.StatusCreated {
		t.Fatalf("upload = %d, want 201", code)
	}
	if code := put(t, srv.URL+uploadPath, srv.AdminToken, moduleTarGz(t)); code/100 != 4 {
		t.Fatalf("duplicate upload = %d, want a 4xx refusal", code)
	}

	// A versions lookup (twice: the second is a cache hit), a download, a
	// refused download, 404s matched and unmatched, a page, and refused
	// credentials.
	for range 2 {
		if r, b := srv.Raw(t, "GET", "/v1/modules/acme/vpc/aws/versions", admin, ""); r.StatusCode != http.StatusOK {
			t.Fatalf("versions = %d %s", r.StatusCode, b)
		}
	}
	r, _ := srv.Raw(t, "GET", "/v1/modules/acme/vpc/aws/1.0.0/download", admin, "")
	archive := r.Header.Get("X-Terraform-Get")
	if r.StatusCode != http.StatusNoContent || archive == "" {
		t.Fatalf("download = %d, X-Terraform-Get %q", r.StatusCode, archive)
	}
	if !strings.HasPrefix(archive, "http") {
		archive = srv.URL + archive
	}
	if code := get(t, archive); code != http.StatusOK {
		t.Fatalf("archive = %d, want 200", code)
	}
	bad, err := url.Parse(archive)
	if err != nil {
		t.Fatal(err)
	}
	q := bad.Query()
	q.Set("token", "not-a-signature")
	bad.RawQuery = q.Encode()
	if code := get(t, bad.String()); code/100 != 4 {
		t.Fatalf("archive with a bad token = %d, want a 4xx", code)
	}
	if r, _ := srv.Raw(t, "GET", "/v1/modules/acme/nope/aws/versions", admin, ""); r.StatusCode != http.StatusNotFound {
		t.Fatalf("missing module = %d, want 404", r.StatusCode)
	}
	if r, _ := srv.Raw(t, "GET", "/v1/acme/no/such/route", nil, ""); r.StatusCode != http.StatusNotFound {
		t.Fatalf("unrouted API path = %d, want 404", r.StatusCode)
	}
	if r, _ := srv.Raw(t, "GET", "/", nil, ""); r.StatusCode != http.StatusOK {
		t.Fatalf("GET / = %d, want 200", r.StatusCode)
	}
	if r, _ := srv.Raw(t, "GET", "/api/v4/user", map[string]string{"PRIVATE-TOKEN": "cairnpat-acme-not-a-token"}, ""); r.StatusCode != http.StatusUnauthorized {
		t.Fatalf("bad token = %d, want 401", r.StatusCode)
	}
	if r, _ := srv.Raw(t, "GET", "/api/v4/user", map[string]string{"PRIVATE-TOKEN": srv.AdminToken, "Authorization": "Bearer " + srv.AdminToken}, ""); r.StatusCode != http.StatusBadRequest {
		t.Fatalf("two credentials = %d, want 400", r.StatusCode)
	}
	// The main listener does not serve metrics.
	if r, _ := srv.Raw(t, "GET", "/metrics", nil, ""); r.StatusCode != http.StatusNotFound {
		t.Errorf("GET /metrics on the main listener = %d, want 404", r.StatusCode)
	}

	// Go's profiles: on the metrics listener only.
	if r, _ := srv.Raw(t, "GET", "/debug/pprof/", nil, ""); r.StatusCode != http.StatusNotFound {
		t.Errorf("GET /debug/pprof/ on the main listener = %d, want 404", r.StatusCode)
	}
	pprofURL := strings.TrimSuffix(srv.MetricsURL, "/metrics") + "/debug/pprof/heap?debug=1"
	if r, err := http.Get(pprofURL); err != nil || r.StatusCode != http.StatusOK {
		t.Errorf("GET %s = %v, %v", pprofURL, r, err)
	} else {
		body, _ := io.ReadAll(r.Body)
		r.Body.Close()
		if !strings.Contains(string(body), "heap profile") {
			t.Errorf("the heap profile reads %.200q", body)
		}
	}

	fams := scrape(t, srv.MetricsURL)

	// Requests by route template, method and status class; never a raw path.
	atLeast(t, fams, "cairn_http_requests_total", map[string]string{"engine": "api", "route": "/v1/modules/:ns/:name/:system/versions", "method": "GET", "status": "2xx"}, 2)
	atLeast(t, fams, "cairn_http_requests_total", map[string]string{"engine": "api", "route": "/v1/modules/:ns/:name/:system/versions", "method": "GET", "status": "4xx"}, 1)
	atLeast(t, fams, "cairn_http_requests_total", map[string]string{"engine": "api", "route": "unmatched", "method": "GET", "status": "4xx"}, 1)
	atLeast(t, fams, "cairn_http_requests_total", map[string]string{"engine": "ui", "route": "/", "method": "GET", "status": "2xx"}, 1)
	atLeast(t, fams, "cairn_http_request_duration_seconds", map[string]string{"engine": "api", "route": "/v1/modules/:ns/:name/:system/versions", "status": "2xx"}, 2)
	for name, fam := range fams {
		for _, m := range fam.GetMetric() {
			for _, l := range m.GetLabel() {
				if strings.Contains(l.GetValue(), "acme") || strings.Contains(l.GetValue(), "vpc") {
					t.Errorf("%s carries a raw path: %s=%q", name, l.GetName(), l.GetValue())
				}
			}
		}
	}

	// Uploads, downloads and refused credentials by outcome and reason.
	exactly(t, fams, "cairn_modules_uploads_total", map[string]string{"outcome": "ok"}, 1)
	exactly(t, fams, "cairn_modules_uploads_total", map[string]string{"outcome": "refused"}, 1)
	exactly(t, fams, "cairn_modules_uploads_total", map[string]string{"outcome": "failed"}, 0)
	exactly(t, fams, "cairn_modules_archive_downloads_total", map[string]string{"outcome": "ok"}, 1)
	exactly(t, fams, "cairn_modules_archive_downloads_total", map[string]string{"outcome": "refused"}, 1)
	exactly(t, fams, "cairn_auth_failures_total", map[string]string{"reason": "invalid"}, 1)
	exactly(t, fams, "cairn_auth_failures_total", map[string]string{"reason": "multiple_credentials"}, 1)
	exactly(t, fams, "cairn_auth_failures_total", map[string]string{"reason": "unavailable"}, 0)

	// Caches: the second versions lookup and the reused admin token hit.
	atLeast(t, fams, "cairn_cache_hits_total", map[string]string{"cache": "module_lookups"}, 1)
	atLeast(t, fams, "cairn_cache_misses_total", map[string]string{"cache": "module_lookups"}, 1)
	atLeast(t, fams, "cairn_cache_hits_total", map[string]string{"cache": "credentials"}, 1)
	atLeast(t, fams, "cairn_cache_misses_total", map[string]string{"cache": "credentials"}, 1)

	// The database pool, read at scrape time.
	atLeast(t, fams, "cairn_db_pool_total_connections", nil, 1)
	atLeast(t, fams, "cairn_db_pool_max_connections", nil, 1)
	atLeast(t, fams, "cairn_db_pool_acquires_total", nil, 10)
	if v := value(t, fams, "cairn_db_pool_acquire_duration_seconds_total", nil); v <= 0 {
		t.Errorf("cairn_db_pool_acquire_duration_seconds_total = %v, want > 0", v)
	}
	if a, tot := value(t, fams, "cairn_db_pool_acquired_connections", nil), value(t, fams, "cairn_db_pool_total_connections", nil); a < 0 || a > tot {
		t.Errorf("acquired connections %v of %v total", a, tot)
	}

	// Blob store latency by operation.
	atLeast(t, fams, "cairn_blobs_operation_duration_seconds", map[string]string{"operation": "put", "outcome": "ok"}, 1)
	atLeast(t, fams, "cairn_blobs_operation_duration_seconds", map[string]string{"operation": "get", "outcome": "ok"}, 1)
}

// Off by default: no metrics, nothing listening for them.
func TestServerMetricsOff(t *testing.T) {
	t.Parallel()
	srv := testserver.Start(t)
	if srv.Metrics != nil || srv.MetricsURL != "" {
		t.Fatalf("metrics on without CAIRN_METRICS_LISTEN: %v, %q", srv.Metrics, srv.MetricsURL)
	}
	if r, _ := srv.Raw(t, "GET", "/metrics", nil, ""); r.StatusCode != http.StatusNotFound {
		t.Errorf("GET /metrics on the main listener = %d, want 404", r.StatusCode)
	}
	// Requests still work without metrics.
	if r, _ := srv.Raw(t, "GET", "/api/v4/user", map[string]string{"PRIVATE-TOKEN": "cairnpat-bogus"}, ""); r.StatusCode != http.StatusUnauthorized {
		t.Errorf("bad token = %d, want 401", r.StatusCode)
	}
}

func scrape(t *testing.T, url string) map[string]*dto.MetricFamily {
	t.Helper()
	resp, err := http.Get(url)
	if err != nil {
		t.Fatal(err)
	}
	defer resp.Body.Close()
	if resp.StatusCode != http.StatusOK {
		t.Fatalf("GET %s = %d", url, resp.StatusCode)
	}
	return parse(t, resp.Body)
}

func parse(t *testing.T, r io.Reader) map[string]*dto.MetricFamily {
	t.Helper()
	p := expfmt.NewTextParser(model.UTF8Validation)
	fams, err := p.TextToMetricFamilies(r)
	if err != nil {
		t.Fatalf("parsing the exposition: %v", err)
	}
	return fams
}

// value sums the series of name whose labels include want: counter and
// gauge values, histogram sample counts.
func value(t *testing.T, fams map[string]*dto.MetricFamily, name string, want map[string]string) float64 {
	t.Helper()
	fam, ok := fams[name]
	if !ok {
		t.Errorf("no metric %s", name)
		return -1
	}
	var sum float64
	found := false
series:
	for _, m := range fam.GetMetric() {
		labels := map[string]string{}
		for _, l := range m.GetLabel() {
			labels[l.GetName()] = l.GetValue()
		}
		for k, v := range want {
			if labels[k] != v {
				continue series
			}
		}
		found = true
		switch {
		case m.Counter != nil:
			sum += m.GetCounter().GetValue()
		case m.Gauge != nil:
			sum += m.GetGauge().GetValue()
		case m.Histogram != nil:
			sum += float64(m.GetHistogram().GetSampleCount())
		case m.Untyped != nil:
			sum += m.GetUntyped().GetValue()
		}
	}
	if !found {
		t.Errorf("no series %s%v", name, want)
		return -1
	}
	return sum
}

func atLeast(t *testing.T, fams map[string]*dto.MetricFamily, name string, labels map[string]string, min float64) {
	t.Helper()
	if v := value(t, fams, name, labels); v < min {
		t.Errorf("%s%v = %v, want at least %v", name, labels, v, min)
	}
}

func exactly(t *testing.T, fams map[string]*dto.MetricFamily, name string, labels map[string]string, want float64) {
	t.Helper()
	if v := value(t, fams, name, labels); v != want {
		t.Errorf("%s%v = %v, want %v", name, labels, v, want)
	}
}

func put(t *testing.T, url, token string, body []byte) int {
	t.Helper()
	req, err := http.NewRequest(http.MethodPut, url, bytes.NewReader(body))
	if err != nil {
		t.Fatal(err)
	}
	req.Header.Set("PRIVATE-TOKEN", token)
	resp, err := http.DefaultClient.Do(req)
	if err != nil {
		t.Fatal(err)
	}
	io.Copy(io.Discard, resp.Body)
	resp.Body.Close()
	return resp.StatusCode
}

func get(t *testing.T, url string) int {
	t.Helper()
	resp, err := http.Get(url)
	if err != nil {
		t.Fatal(err)
	}
	io.Copy(io.Discard, resp.Body)
	resp.Body.Close()
	return resp.StatusCode
}

func moduleTarGz(t *testing.T) []byte {
	t.Helper()
	var buf bytes.Buffer
	gz := gzip.NewWriter(&buf)
	tw := tar.NewWriter(gz)
	body := "variable \"cidr\" {\n  type = string\n}\n\noutput \"cidr\" {\n  value = var.cidr\n}\n"
	if err := tw.WriteHeader(&tar.Header{Name: "main.tf", Mode: 0o644, Size: int64(len(body)), Typeflag: tar.TypeReg}); err != nil {
		t.Fatal(err)
	}
	tw.Write([]byte(body))
	tw.Close()
	gz.Close()
	return buf.Bytes()
}
