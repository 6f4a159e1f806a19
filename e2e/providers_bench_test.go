package e2e

import (
	"context"
	"encoding/json"
	"encoding/pem"
	"fmt"
	"io"
	"net/http"
	"net/http/httptest"
	"net/url"
	"os"
	"os/exec"
	"path/filepath"
	"runtime"
	"sort"
	"strings"
	"sync"
	"testing"
	"time"

	tfe "github.com/hashicorp/go-tfe"

	"github.com/cairn-registry/cairn/internal/publish"
	"github.com/cairn-registry/cairn/providers/providertest"
)

// benchProviders publishes n providers (one platform, size bytes each)
// with `cairn publish provider`'s client and returns their types.
func (r *benchRegistry) benchProviders(b *testing.B, n, size int) []string {
	ctx := context.Background()
	client, err := tfe.NewClient(&tfe.Config{Address: r.proc.URL, Token: r.admin, HTTPClient: r.proc.Client(b)})
	if err != nil {
		b.Fatal(err)
	}
	key := providertest.NewKey(b, "acme")
	if _, err := client.GPGKeys.Create(ctx, tfe.PrivateRegistry, tfe.GPGKeyCreateOptions{Namespace: "acme", AsciiArmor: key.Armor}); err != nil {
		b.Fatal(err)
	}
	pub := &publish.Client{URL: r.proc.URL, Token: r.admin, HTTP: r.proc.Client(b)}
	var types []string
	for i := range n {
		typ := fmt.Sprintf("p%d", i)
		dir := b.TempDir()
		providertest.Build(b, key, typ, "1.0.0", size, runtime.GOOS+"_"+runtime.GOARCH).WriteDir(b, dir)
		if err := pub.ProviderRelease(ctx, "acme", dir); err != nil {
			b.Fatal(err)
		}
		types = append(types, typ)
	}
	return types
}

// BenchmarkProviderDownload: the providers.v1 download endpoint
// (PAT-authenticated) at 32 connections, as a ratio to /healthz.
func BenchmarkProviderDownload(b *testing.B) {
	r := startBenchRegistry(b)
	r.benchProviders(b, 1, 1<<10)
	client := &http.Client{Transport: &http.Transport{MaxIdleConnsPerHost: 64, TLSClientConfig: r.proc.Client(b).Transport.(*http.Transport).TLSClientConfig}}
	get := func(path string, auth bool) func() *http.Request {
		return func() *http.Request {
			req, _ := http.NewRequest("GET", r.proc.URL+path, nil)
			if auth {
				req.Header.Set("Authorization", "Bearer "+r.admin)
			}
			return req
		}
	}
	const conc = 32
	dur := 4 * time.Second
	b.ResetTimer()
	ceiling := load(client, conc, dur, get("/healthz", false), 200)
	dl := load(client, conc, dur, get(fmt.Sprintf("/v1/providers/acme/p0/1.0.0/download/%s/%s", runtime.GOOS, runtime.GOARCH), true), 200)
	b.StopTimer()
	fmt.Printf("\nProvider download: %d connections, %s, HTTPS loopback\n", conc, dur)
	fmt.Printf("%-18s %10s %9s %9s %8s %7s\n", "endpoint", "req/s", "p50", "p99", "ratio", "errors")
	for _, x := range []struct {
		name string
		res  loadResult
	}{{"ceiling /healthz", ceiling}, {"provider download", dl}} {
		fmt.Printf("%-18s %10.0f %9s %9s %8.2f %7d\n", x.name, x.res.rps, x.res.p50.Round(10*time.Microsecond),
			x.res.p99.Round(10*time.Microsecond), x.res.rps/ceiling.rps, x.res.errors)
	}
	if dl.errors > 0 {
		b.Errorf("%d provider download requests failed", dl.errors)
	}
	b.ReportMetric(dl.rps/ceiling.rps, "provider-download-ratio")
}

// constantRegistry replays what Cairn answered, from memory: the limit a
// registry could reach for the same terraform init.
type constantRegistry struct {
	mu    sync.Mutex
	pages map[string][]byte // path → body (JSON or file)
	gets  map[string]string // module download path → X-Terraform-Get
}

func (c *constantRegistry) ServeHTTP(w http.ResponseWriter, r *http.Request) {
	c.mu.Lock()
	body, ok := c.pages[r.URL.Path]
	get, isGet := c.gets[r.URL.Path]
	c.mu.Unlock()
	switch {
	case isGet:
		w.Header().Set("X-Terraform-Get", get)
		w.WriteHeader(http.StatusNoContent)
	case ok:
		if strings.HasSuffix(r.URL.Path, ".json") || !strings.Contains(r.URL.Path, "/files/") {
			w.Header().Set("Content-Type", "application/json")
		}
		w.Write(body)
	default:
		http.NotFound(w, r)
	}
}

// record copies Cairn's answers for the init below into c, rewriting
// download URLs to c's own /files/ paths.
func (c *constantRegistry) record(b *testing.B, r *benchRegistry, base string, types, mods []string) {
	client := r.proc.Client(b)
	fetch := func(u string, auth bool) (*http.Response, []byte) {
		req, _ := http.NewRequest("GET", u, nil)
		if auth {
			req.Header.Set("Authorization", "Bearer "+r.admin)
		}
		resp, err := client.Do(req)
		if err != nil {
			b.Fatal(err)
		}
		defer resp.Body.Close()
		body, _ := io.ReadAll(resp.Body)
		return resp, body
	}
	_, disc := fetch(r.proc.URL+"/.well-known/terraform.json", false)
	c.pages["/.well-known/terraform.json"] = disc
	plat := runtime.GOOS + "/" + runtime.GOARCH
	for _, typ := range types {
		p := "/v1/providers/acme/" + typ + "/versions"
		_, c.pages[p] = fetch(r.proc.URL+p, true)
		p = "/v1/providers/acme/" + typ + "/1.0.0/download/" + plat
		_, body := fetch(r.proc.URL+p, true)
		var doc map[string]any
		json.Unmarshal(body, &doc)
		for _, k := range []string{"download_url", "shasums_url", "shasums_signature_url"} {
			_, file := fetch(doc[k].(string), false)
			path := "/files/" + typ + "/" + k
			c.pages[path] = file
			doc[k] = base + path
		}
		c.pages[p], _ = json.Marshal(doc)
	}
	for _, m := range mods {
		p := "/v1/modules/acme/" + m + "/aws/versions"
		_, c.pages[p] = fetch(r.proc.URL+p, true)
		resp, _ := fetch(r.proc.URL+"/v1/modules/acme/"+m+"/aws/1.0.0/download", true)
		src, _ := url.Parse(resp.Header.Get("X-Terraform-Get"))
		_, archive := fetch(src.String(), false)
		c.pages["/files/"+m+".tar.gz"] = archive
		c.gets["/v1/modules/acme/"+m+"/aws/1.0.0/download"] = base + "/files/" + m + ".tar.gz"
	}
}

// BenchmarkInitProvidersAndModules: terraform init of 5 providers (one
// platform each, 5 MiB zips) and 20 modules from Cairn, against the same
// init from a constant in-memory HTTPS server; target ≤ 1.2×.
func BenchmarkInitProvidersAndModules(b *testing.B) {
	if _, err := exec.LookPath("terraform"); err != nil {
		b.Skip("terraform CLI not found")
	}
	r := startBenchRegistry(b)
	types := r.benchProviders(b, 5, 5<<20)
	var mods []string
	for i := range 20 {
		m := fmt.Sprintf("m%d", i)
		mod := tgz(entry{name: "main.tf", body: fmt.Sprintf("output \"x\" { value = %d }\n", i)})
		if code, body := r.uploadBytes("acme%2Fvpc", m, "aws", "1.0.0", mod); code != 201 {
			b.Fatalf("upload %s = %d %s", m, code, body)
		}
		mods = append(mods, m)
	}
	cr := &constantRegistry{pages: map[string][]byte{}, gets: map[string]string{}}
	srv := httptest.NewUnstartedServer(cr)
	srv.EnableHTTP2 = true
	srv.StartTLS()
	defer srv.Close()
	cr.record(b, r, srv.URL, types, mods)
	// One bundle trusting Cairn's CA and the constant server's certificate.
	caPEM, _ := os.ReadFile(r.proc.CAPath())
	bundle := filepath.Join(b.TempDir(), "ca.pem")
	os.WriteFile(bundle, append(caPEM, pem.EncodeToMemory(&pem.Block{Type: "CERTIFICATE", Bytes: srv.Certificate().Raw})...), 0o644)

	initOnce := func(host string) time.Duration {
		dir := b.TempDir()
		var cfg strings.Builder
		cfg.WriteString("terraform {\n  required_providers {\n")
		for _, typ := range types {
			fmt.Fprintf(&cfg, "    %s = {\n      source  = \"%s/acme/%s\"\n      version = \"1.0.0\"\n    }\n", typ, host, typ)
		}
		cfg.WriteString("  }\n}\n")
		for _, m := range mods {
			fmt.Fprintf(&cfg, "module %q {\n  source  = \"%s/acme/%s/aws\"\n  version = \"1.0.0\"\n}\n", m, host, m)
		}
		os.WriteFile(filepath.Join(dir, "main.tf"), []byte(cfg.String()), 0o644)
		os.WriteFile(filepath.Join(dir, "cli.tfrc"), []byte(fmt.Sprintf("credentials %q {\n  token = %q\n}\n", host, r.admin)), 0o644)
		cmd := exec.Command("terraform", "init", "-no-color", "-input=false", "-backend=false")
		cmd.Dir = dir
		cmd.Env = append(os.Environ(), "TF_CLI_CONFIG_FILE="+filepath.Join(dir, "cli.tfrc"), "TF_IN_AUTOMATION=1",
			"CHECKPOINT_DISABLE=1", "TF_PLUGIN_CACHE_DIR=", "SSL_CERT_FILE="+bundle)
		start := time.Now()
		out, err := runWithTimeout(cmd, 5*time.Minute)
		if err != nil {
			b.Fatalf("terraform init against %s: %v\n%s", host, err, out)
		}
		return time.Since(start)
	}
	constHost := strings.TrimPrefix(srv.URL, "https://")
	cairnHost := strings.TrimPrefix(r.proc.URL, "https://")
	initOnce(cairnHost) // warm both (page cache, terraform's own start-up)
	initOnce(constHost)
	var cairnT, constT []time.Duration
	b.ResetTimer()
	for range 3 {
		cairnT = append(cairnT, initOnce(cairnHost))
		constT = append(constT, initOnce(constHost))
	}
	b.StopTimer()
	median := func(d []time.Duration) time.Duration {
		sort.Slice(d, func(i, j int) bool { return d[i] < d[j] })
		return d[len(d)/2]
	}
	ratio := float64(median(cairnT)) / float64(median(constT))
	fmt.Printf("\nterraform init, 5 providers (5 MiB) + 20 modules, median of 3: Cairn %s, constant server %s, ratio %.2f\n",
		median(cairnT).Round(time.Millisecond), median(constT).Round(time.Millisecond), ratio)
	b.ReportMetric(ratio, "init-ratio")
}
