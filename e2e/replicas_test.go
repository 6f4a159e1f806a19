package e2e

import (
	"bytes"
	"encoding/json"
	"encoding/pem"
	"fmt"
	"io"
	"net/http"
	"net/http/httptest"
	"net/http/httputil"
	"net/url"
	"os"
	"path/filepath"
	"strings"
	"sync"
	"sync/atomic"
	"syscall"
	"testing"
	"time"

	"github.com/cairn-registry/cairn/internal/testenv"
)

// roundRobin is the load balancer of TestReplicasBehindALoadBalancer: Go's
// httputil.ReverseProxy over the replicas in turn. Like nginx's
// proxy_next_upstream, a GET whose backend cannot be reached or fails before
// answering is retried once on the next replica; a backend that refused a
// connection is skipped for a few seconds.
type roundRobin struct {
	mu       sync.Mutex
	backends []*url.URL
	down     map[int]time.Time
	next     int
}

func (rr *roundRobin) pick(exclude int) int {
	rr.mu.Lock()
	defer rr.mu.Unlock()
	for range rr.backends {
		i := rr.next % len(rr.backends)
		rr.next++
		if i == exclude {
			continue
		}
		if until, ok := rr.down[i]; ok && time.Now().Before(until) {
			continue
		}
		return i
	}
	return rr.next % len(rr.backends)
}

func (rr *roundRobin) markDown(i int) {
	rr.mu.Lock()
	rr.down[i] = time.Now().Add(5 * time.Second)
	rr.mu.Unlock()
}

type backendKey struct{}

// RoundTrip sends the request to a replica, retrying an idempotent one once.
func (rr *roundRobin) RoundTrip(req *http.Request) (*http.Response, error) {
	i := rr.pick(-1)
	resp, err := rr.send(req, i)
	if err != nil && (req.Method == "GET" || req.Method == "HEAD") {
		rr.markDown(i)
		resp, err = rr.send(req, rr.pick(i))
	}
	return resp, err
}

func (rr *roundRobin) send(req *http.Request, i int) (*http.Response, error) {
	out := req.Clone(req.Context())
	out.URL.Scheme, out.URL.Host = rr.backends[i].Scheme, rr.backends[i].Host
	return http.DefaultTransport.RoundTrip(out)
}

func (rr *roundRobin) proxy() http.Handler {
	return &httputil.ReverseProxy{
		Rewrite: func(pr *httputil.ProxyRequest) {
			pr.SetXForwarded()
			pr.Out.Host = pr.In.Host // Cairn sees the public host
		},
		Transport: rr,
		ErrorHandler: func(w http.ResponseWriter, r *http.Request, err error) {
			w.WriteHeader(http.StatusBadGateway)
		},
	}
}

// cluster is three cairn serve processes sharing one PostgreSQL and one
// S3 bucket behind a round-robin HTTPS proxy.
type cluster struct {
	t        *testing.T
	lb       *httptest.Server
	host     string // the proxy's host:port, the registry host
	caFile   string // the proxy's certificate, for SSL_CERT_FILE
	replicas []*testenv.Proc
	envs     []map[string]string
	admin    string
}

func startCluster(t *testing.T, n int) *cluster {
	t.Helper()
	db := testenv.DatabaseURL(t)
	s3 := testenv.S3(t)
	rr := &roundRobin{down: map[int]time.Time{}}
	lb := httptest.NewUnstartedServer(rr.proxy())
	lb.StartTLS()
	t.Cleanup(lb.Close)
	c := &cluster{t: t, lb: lb, host: strings.TrimPrefix(lb.URL, "https://")}
	c.caFile = filepath.Join(t.TempDir(), "lb.pem")
	os.WriteFile(c.caFile, pem.EncodeToMemory(&pem.Block{Type: "CERTIFICATE", Bytes: lb.Certificate().Raw}), 0o644)
	for range n {
		env := map[string]string{
			"CAIRN_DATA_DIR":        t.TempDir(),
			"CAIRN_DATABASE_URL":    db,
			"CAIRN_INSECURE_HTTP":   "true",
			"CAIRN_PUBLIC_URL":      lb.URL,
			"CAIRN_TRUSTED_PROXIES": "127.0.0.1",
			"CAIRN_STORAGE":         "s3",
			"CAIRN_S3_ENDPOINT":     s3.Endpoint,
			"CAIRN_S3_BUCKET":       s3.Bucket,
			"CAIRN_S3_ACCESS_KEY":   s3.AccessKey,
			"CAIRN_S3_SECRET_KEY":   s3.SecretKey,
			"CAIRN_S3_TLS":          "false",
			"CAIRN_LOG_LEVEL":       "warn",
		}
		c.replicas = append(c.replicas, testenv.StartCairn(t, env))
		c.envs = append(c.envs, env)
	}
	for _, p := range c.replicas {
		u, _ := url.Parse(p.URL)
		u.Host = strings.Replace(u.Host, "localhost", "127.0.0.1", 1)
		rr.backends = append(rr.backends, u)
	}
	out, err := runCairn(t, c.envs[0], "admin", "bootstrap", "--username", "root")
	if err != nil {
		t.Fatalf("admin bootstrap: %v\n%s", err, out)
	}
	lines := strings.Split(strings.TrimSpace(out), "\n")
	c.admin = lines[len(lines)-1]
	return c
}

// call makes a request to one replica directly (i >= 0) or through the
// proxy (i < 0).
func (c *cluster) call(i int, token, method, path string, body []byte) (int, []byte) {
	c.t.Helper()
	base, client := c.lb.URL, c.lb.Client()
	if i >= 0 {
		base, client = c.replicas[i].URL, c.replicas[i].Client(c.t)
	}
	var rd io.Reader
	if body != nil {
		rd = bytes.NewReader(body)
	}
	req, _ := http.NewRequest(method, base+path, rd)
	if token != "" {
		req.Header.Set("PRIVATE-TOKEN", token)
	}
	if body != nil && body[0] == '{' {
		req.Header.Set("Content-Type", "application/json")
	}
	resp, err := client.Do(req)
	if err != nil {
		c.t.Fatalf("%s %s: %v", method, path, err)
	}
	defer resp.Body.Close()
	b, _ := io.ReadAll(resp.Body)
	return resp.StatusCode, b
}

func (c *cluster) json(i int, method, path string, in, out any) {
	c.t.Helper()
	b, _ := json.Marshal(in)
	code, body := c.call(i, c.admin, method, path, b)
	if code >= 300 {
		c.t.Fatalf("%s %s = %d %s", method, path, code, body)
	}
	if out != nil {
		json.Unmarshal(body, out)
	}
}

// within polls every replica until check holds for each, and returns the
// slowest replica's delay; it fails the test after limit.
func (c *cluster) within(limit time.Duration, what string, check func(i int) bool) time.Duration {
	c.t.Helper()
	start := time.Now()
	pending := map[int]bool{}
	for i := range c.replicas {
		pending[i] = true
	}
	var slowest time.Duration
	for len(pending) > 0 {
		for i := range pending {
			if check(i) {
				delete(pending, i)
				slowest = time.Since(start)
			}
		}
		if time.Since(start) > limit {
			c.t.Errorf("%s: replicas %v had not seen it after %s", what, keys(pending), limit)
			return time.Since(start)
		}
		time.Sleep(10 * time.Millisecond)
	}
	return slowest
}

func keys(m map[int]bool) []int {
	var out []int
	for k := range m {
		out = append(out, k)
	}
	return out
}

// TestReplicasBehindALoadBalancer runs three replicas behind a round-robin
// proxy: an upload through one replica is fetched by terraform through the
// proxy; a permission change, a token revocation and a publish reach every
// replica within a second; and killing one replica (SIGKILL) under
// 32-connection read load fails no more requests than were in flight.
// (SSO sign-in whose steps land on different replicas is
// handlers/ui/identity_test.go TestSSOAcrossReplicas.)
func TestReplicasBehindALoadBalancer(t *testing.T) {
	requireTerraform(t)
	c := startCluster(t, 3)

	var group, project struct{ ID int64 }
	c.json(0, "POST", "/api/v4/groups", map[string]any{"name": "acme", "path": "acme", "visibility": "private"}, &group)
	c.json(1, "POST", "/api/v4/projects", map[string]any{"name": "vpc", "path": "vpc", "namespace_id": group.ID}, &project)
	upload := func(i int, version string) {
		t.Helper()
		code, body := c.call(i, c.admin, "PUT", fmt.Sprintf("/api/v4/projects/acme%%2Fvpc/packages/terraform/modules/vpc/aws/%s/file", version), moduleTarGzBytes(t, version))
		if code != 201 {
			t.Fatalf("upload %s through replica %d = %d %s", version, i, code, body)
		}
	}
	upload(0, "1.0.0")

	// terraform get through the proxy (HTTPS discovery on the proxy's host).
	cfg := fmt.Sprintf("credentials %q {\n  token = %q\n}\n", c.host, c.admin)
	got, err := terraformGet(t, c.host+"/acme/vpc/aws", "~> 1.0", cfg, "SSL_CERT_FILE="+c.caFile)
	if err != nil || !strings.Contains(got, `"1.0.0"`) {
		t.Fatalf("terraform get through the load balancer: %v\n%s", err, got)
	}

	// A user and a token, for the permission change and the revocation.
	var dev struct{ ID int64 }
	c.json(2, "POST", "/api/v4/users", map[string]any{"username": "dev", "name": "Dev", "email": "dev@example.com"}, &dev)
	var pat struct {
		ID    int64
		Token string
	}
	c.json(0, "POST", fmt.Sprintf("/api/v4/users/%d/personal_access_tokens", dev.ID), map[string]any{"name": "t", "scopes": []string{"read_api"}}, &pat)
	versionsPath := "/v1/modules/acme/vpc/aws/versions"
	status := func(i int, token string) int { code, _ := c.call(i, token, "GET", versionsPath, nil); return code }
	// Every replica has resolved the token and cached the lookup.
	for i := range c.replicas {
		if code := status(i, pat.Token); code != 404 {
			t.Fatalf("replica %d: a non-member reads the private module: %d", i, code)
		}
	}

	// Permission change on replica 0, seen by all.
	c.json(0, "POST", fmt.Sprintf("/api/v4/groups/%d/members", group.ID), map[string]any{"user_id": dev.ID, "access_level": 20}, nil)
	d := c.within(time.Second, "membership", func(i int) bool { return status(i, pat.Token) == 200 })
	t.Logf("membership seen by every replica after %s", d)

	// Token revocation on replica 1, seen by all.
	if code, body := c.call(1, c.admin, "DELETE", fmt.Sprintf("/api/v4/personal_access_tokens/%d", pat.ID), nil); code != 204 {
		t.Fatalf("revoke = %d %s", code, body)
	}
	d = c.within(time.Second, "revocation", func(i int) bool { return status(i, pat.Token) == 401 })
	t.Logf("revocation seen by every replica after %s", d)

	// A publish on replica 2, seen by all (their lookups are cached).
	for i := range c.replicas {
		status(i, c.admin)
	}
	upload(2, "1.1.0")
	d = c.within(time.Second, "publish", func(i int) bool {
		_, body := c.call(i, c.admin, "GET", versionsPath, nil)
		return bytes.Contains(body, []byte(`"1.1.0"`))
	})
	t.Logf("publish seen by every replica after %s", d)

	// kill -9 one replica under 32-connection read load through the proxy.
	var ok, fivexx, failed, okAfterKill atomic.Int64
	var killed atomic.Bool
	stop := time.Now().Add(5 * time.Second)
	client := &http.Client{Transport: &http.Transport{MaxIdleConnsPerHost: 64, TLSClientConfig: c.lb.Client().Transport.(*http.Transport).TLSClientConfig}}
	var wg sync.WaitGroup
	for range 32 {
		wg.Add(1)
		go func() {
			defer wg.Done()
			for time.Now().Before(stop) {
				req, _ := http.NewRequest("GET", c.lb.URL+versionsPath, nil)
				req.Header.Set("Authorization", "Bearer "+c.admin)
				resp, err := client.Do(req)
				if err != nil {
					failed.Add(1)
					continue
				}
				io.Copy(io.Discard, resp.Body)
				resp.Body.Close()
				switch {
				case resp.StatusCode >= 500:
					fivexx.Add(1)
				case resp.StatusCode == 200:
					ok.Add(1)
					if killed.Load() {
						okAfterKill.Add(1)
					}
				default:
					failed.Add(1)
				}
			}
		}()
	}
	time.Sleep(2 * time.Second)
	c.replicas[1].Cmd.Process.Signal(syscall.SIGKILL)
	killed.Store(true)
	wg.Wait()
	t.Logf("kill -9 under load: %d ok (%d after the kill), %d 5xx, %d other failures", ok.Load(), okAfterKill.Load(), fivexx.Load(), failed.Load())
	if n := fivexx.Load() + failed.Load(); n > 32 {
		t.Errorf("%d requests failed: more than the 32 that can have been in flight on the killed replica", n)
	}
	if okAfterKill.Load() < 100 {
		t.Errorf("only %d requests succeeded after the kill: the other replicas should go on", okAfterKill.Load())
	}
	// The survivors still serve terraform.
	got, err = terraformGet(t, c.host+"/acme/vpc/aws", "1.1.0", cfg, "SSL_CERT_FILE="+c.caFile)
	if err != nil || !strings.Contains(got, `"1.1.0"`) {
		t.Fatalf("terraform get after the kill: %v\n%s", err, got)
	}
}
