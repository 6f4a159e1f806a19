package e2e

import (
	"context"
	"encoding/json"
	"fmt"
	"io"
	"log/slog"
	"math/rand/v2"
	"net/http"
	"os"
	"path/filepath"
	"runtime"
	"sort"
	"strings"
	"sync"
	"testing"
	"testing/fstest"
	"time"

	"github.com/jackc/pgx/v5/pgxpool"

	"github.com/cairn-registry/cairn/internal/testenv"
	"github.com/cairn-registry/cairn/modules/markdown"
	"github.com/cairn-registry/cairn/modules/metadata"
	"github.com/cairn-registry/cairn/policies"
	cairnqueries "github.com/cairn-registry/cairn/queries"
	"github.com/cairn-registry/cairn/tokens"
)

// scaleWords name the seeded modules: module i is called
// scaleWords[i%20]-<i%997>, so a one-word search matches 5,000 modules.
var scaleWords = []string{"vpc", "eks", "rds", "s3-bucket", "iam-role", "lambda", "dns", "cdn", "vault", "kafka",
	"redis", "postgres", "network", "firewall", "gateway", "monitoring", "logging", "backup", "queue", "cluster"}

// scaleSeed is the data generator of BenchmarkScale100k, in SQL (one
// INSERT ... SELECT over generate_series per table, so 1.3 million rows take
// well under a minute):
//
//   - 10,000 users user1..user10000;
//   - 10,000 top-level groups ns00001..ns10000 (public, as GitLab requires
//     for the public projects inside);
//   - 100,000 projects, ten per group: p0 public, p1 internal, p2..p9 private;
//   - 100,000 modules, one per project, named as scaleWords ($1) says, system
//     aws/azurerm/google/kubernetes;
//   - 1,000,000 versions, 1.0.0..1.9.0 per module, each with the metadata of
//     a real extracted module ($1) whose README names the module, rendered
//     as publish renders it ($2: the renderer's output for a template README,
//     with the module's name, system and team put in), and a blob key that
//     is never read (the measured endpoints do not open archives);
//     latest_version_id set to 1.9.0;
//   - 100,000 memberships: group n has users 10(n-1)%10000+1 .. +10, with
//     access levels cycling through guest..owner, so every user is a member
//     of ten groups (user1 of ns00001, ns01001, ... ns09001).
const scaleSeed = `
INSERT INTO users (username, name, email)
SELECT 'user' || n, 'User ' || n, 'user' || n || '@example.com' FROM generate_series(1, 10000) n;

INSERT INTO groups (path, name, full_path, visibility)
SELECT 'ns' || lpad(n::text, 5, '0'), 'Namespace ' || n, 'ns' || lpad(n::text, 5, '0'), 'public'
FROM generate_series(1, 10000) n;
UPDATE groups SET traversal_ids = ARRAY[id] WHERE parent_id IS NULL;

INSERT INTO projects (group_id, path, name, full_path, visibility)
SELECT g.id, 'p' || k, 'Project ' || k, g.full_path || '/p' || k,
       CASE k WHEN 0 THEN 'public' WHEN 1 THEN 'internal' ELSE 'private' END
FROM groups g CROSS JOIN generate_series(0, 9) k
ORDER BY g.id, k;

INSERT INTO terraform_modules (project_id, namespace_id, name, system)
SELECT p.id, p.group_id,
       ($1::text[])[(p.i % 20) + 1] || '-' || (p.i % 997),
       (ARRAY['aws', 'azurerm', 'google', 'kubernetes'])[((p.i / 20) % 4) + 1]
FROM (SELECT id, group_id, row_number() OVER (ORDER BY id) - 1 AS i FROM projects) p;

INSERT INTO module_versions (module_id, version, is_prerelease, blob_key, archive_format, sha256, size, metadata, created_at)
SELECT m.id, '1.' || k || '.0', false, 'modules/seed/' || m.id || '/' || k || '.tar.gz', 'tgz',
       md5(m.id || '/' || k) || md5(k || '/' || m.id), 2048,
       jsonb_set(jsonb_set($1::jsonb, '{root,readme}', to_jsonb('# ' || m.name || E'\n\nManages ' || m.name || ' (' || m.system || ') for team ' || (m.id % 97) || E'.\n')),
                 '{root,readme_html}', to_jsonb(replace(replace(replace(replace($2::text, 'MODNAME', m.name), 'modname', m.name), 'SYSNAME', m.system), 'TEAMNO', (m.id % 97)::text))),
       now() - (10 - k) * interval '1 day'
FROM terraform_modules m CROSS JOIN generate_series(0, 9) k;

UPDATE terraform_modules m SET latest_version_id = v.id
FROM module_versions v WHERE v.module_id = m.id AND v.version = '1.9.0';

INSERT INTO members (user_id, group_id, access_level)
SELECT u.id, g.id, (ARRAY[10, 20, 30, 40, 50])[(s.i % 5) + 1]
FROM generate_series(0, 99999) s(i)
JOIN groups g ON g.path = 'ns' || lpad(((s.i / 10) + 1)::text, 5, '0')
JOIN users u ON u.username = 'user' || (((s.i / 10) * 10 + s.i % 10) % 10000 + 1);
`

// scaleModule is the address of seeded module i (0-based): its namespace
// ns<i/10+1>, name and system as scaleSeed names them.
func scaleModule(i int) string {
	return fmt.Sprintf("ns%05d/%s-%d/%s", i/10+1, scaleWords[i%20], i%997, []string{"aws", "azurerm", "google", "kubernetes"}[(i/20)%4])
}

// BenchmarkScale100k seeds 100,000 modules (see scaleSeed) and measures, at
// 32 connections: versions and download req/s and p99 against the same
// endpoints on a one-module registry, search p95 as a member, module page
// p95, server RSS, enforcer load time and memory, and serve start-up time.
// make bench-scale runs it (CAIRN_BENCH_SCALE=1); it is not part of make test.
func BenchmarkScale100k(b *testing.B) {
	if os.Getenv("CAIRN_BENCH_SCALE") == "" {
		b.Skip("set CAIRN_BENCH_SCALE=1 (make bench-scale): seeds 1.3 million rows")
	}
	ctx := context.Background()
	dur := 8 * time.Second
	if s := os.Getenv("CAIRN_BENCH_SECONDS"); s != "" {
		if d, err := time.ParseDuration(s + "s"); err == nil {
			dur = d
		}
	}
	const conc = 32

	// Small-data baseline: the same endpoints on a one-module registry, now,
	// on this machine; the module has the seeded modules' shape (ten
	// versions, 1.0.0..1.9.0, requiring the aws provider).
	small := startBenchRegistry(b)
	mod := tgz(entry{name: "main.tf", body: "output \"x\" { value = 1 }\n"},
		entry{name: "versions.tf", body: "terraform {\n  required_providers {\n    aws = {\n      source  = \"hashicorp/aws\"\n      version = \">= 5.0\"\n    }\n  }\n}\n"})
	for k := range 10 {
		if code, body := small.uploadBytes("acme%2Fvpc", "vpc", "aws", fmt.Sprintf("1.%d.0", k), mod); code != 201 {
			b.Fatalf("upload = %d %s", code, body)
		}
	}
	smallClient := benchClient(small.proc.Client(b))
	baseVersions := load(smallClient, conc, dur, fixed(small.proc.URL+"/v1/modules/acme/vpc/aws/versions", small.admin), 200)
	baseDownload := load(smallClient, conc, dur, fixed(small.proc.URL+"/v1/modules/acme/vpc/aws/1.9.0/download", small.admin), 204)
	small.proc.Stop(b)

	// Seed: a fresh database, or CAIRN_BENCH_SCALE_DATABASE_URL's (migrated
	// here, seeded only when it holds no module yet) so repeated runs skip
	// the minute of seeding.
	dbURL := os.Getenv("CAIRN_BENCH_SCALE_DATABASE_URL")
	if dbURL == "" {
		dbURL = testenv.DatabaseURL(b)
	} else if _, err := cairnqueries.Migrate(ctx, dbURL); err != nil {
		b.Fatalf("migrate %s: %v", dbURL, err)
	}
	pool, err := pgxpool.New(ctx, dbURL)
	if err != nil {
		b.Fatal(err)
	}
	defer pool.Close()
	var existing int64
	if err := pool.QueryRow(ctx, "SELECT count(*) FROM terraform_modules").Scan(&existing); err != nil {
		b.Fatal(err)
	}
	meta, err := metadata.Extract(fstest.MapFS{
		"main.tf":     {Data: []byte("variable \"name\" {\n  type = string\n  description = \"Name prefix\"\n}\n\nvariable \"cidr\" {\n  type    = string\n  default = \"10.0.0.0/16\"\n}\n\nresource \"null_resource\" \"x\" {}\n\noutput \"id\" {\n  value = null_resource.x.id\n}\n")},
		"README.md":   {Data: []byte("# m\n")},
		"versions.tf": {Data: []byte("terraform {\n  required_providers {\n    aws = {\n      source  = \"hashicorp/aws\"\n      version = \">= 5.0\"\n    }\n  }\n}\n")},
	}, metadata.DefaultLimits())
	if err != nil {
		b.Fatal(err)
	}
	// READMEs as publish stores them: rendered, with the renderer's version.
	readmeHTML, err := markdown.Render([]byte("# MODNAME\n\nManages MODNAME (SYSNAME) for team TEAMNO.\n"))
	if err != nil {
		b.Fatal(err)
	}
	meta.ReadmeHTMLVersion = markdown.Version
	metaJSON, _ := json.Marshal(meta)
	t0 := time.Now()
	for _, stmt := range strings.Split(scaleSeed, ";\n") {
		if stmt = strings.TrimSpace(stmt); stmt == "" || existing > 0 {
			continue
		}
		var args []any
		switch {
		case strings.Contains(stmt, "$1::text[]"):
			args = append(args, scaleWords)
		case strings.Contains(stmt, "$2"):
			args = append(args, string(metaJSON), string(readmeHTML))
		case strings.Contains(stmt, "$1"):
			args = append(args, string(metaJSON))
		}
		if _, err := pool.Exec(ctx, stmt, args...); err != nil {
			b.Fatalf("seed: %v\n%s", err, stmt)
		}
	}
	seedTime := time.Since(t0)
	if _, err := pool.Exec(ctx, "VACUUM ANALYZE"); err != nil {
		b.Fatal(err)
	}
	var counts [4]int64
	pool.QueryRow(ctx, `SELECT (SELECT count(*) FROM terraform_modules), (SELECT count(*) FROM module_versions),
		(SELECT count(*) FROM groups), (SELECT count(*) FROM members)`).Scan(&counts[0], &counts[1], &counts[2], &counts[3])
	var dbSize string
	pool.QueryRow(ctx, "SELECT pg_size_pretty(pg_database_size(current_database()))").Scan(&dbSize)
	fmt.Printf("\nseeded %d modules, %d versions, %d groups, %d memberships in %s (+ VACUUM ANALYZE %s); database %s\n",
		counts[0], counts[1], counts[2], counts[3], seedTime.Round(time.Millisecond), (time.Since(t0) - seedTime).Round(time.Millisecond), dbSize)

	if os.Getenv("CAIRN_BENCH_SCALE_EXPLAIN") != "" {
		scaleExplain(b, pool)
		return
	}

	// A member's token: user1, member of ten groups.
	secret := "cairnpat-scalebenchmember0000000000000000000000000"
	if _, err := pool.Exec(ctx, `INSERT INTO personal_access_tokens (user_id, name, token_hash, token_prefix, scopes)
		SELECT id, 'bench', $1, $2, '{read_api}' FROM users WHERE username = 'user1'
		ON CONFLICT DO NOTHING`, tokens.Hash(secret), secret[:13]); err != nil {
		b.Fatal(err)
	}

	// Enforcer load, in this process.
	runtime.GC()
	var m0, m1 runtime.MemStats
	runtime.ReadMemStats(&m0)
	enf, err := policies.NewEnforcer(slog.New(slog.DiscardHandler))
	if err != nil {
		b.Fatal(err)
	}
	t0 = time.Now()
	if err := enf.Load(ctx, pool); err != nil {
		b.Fatal(err)
	}
	enfLoad := time.Since(t0)
	runtime.GC()
	runtime.ReadMemStats(&m1)
	enfMem := int64(m1.HeapAlloc) - int64(m0.HeapAlloc)
	runtime.KeepAlive(enf)

	// Start-up on the seeded database.
	addr := testenv.FreeAddr(b)
	// GOMEMLIMIT: what cairn serve sets itself in a container with the
	// chart's 512 MiB memory limit (internal/memlimit: 90% of the cgroup's);
	// this machine has no cgroup limit to find.
	env := map[string]string{"CAIRN_DATA_DIR": b.TempDir(), "CAIRN_DATABASE_URL": dbURL, "CAIRN_LISTEN": addr,
		"CAIRN_PUBLIC_URL": "https://" + addr, "CAIRN_LOG_LEVEL": "warn", "GOMEMLIMIT": "460MiB"}
	// CAIRN_BENCH_SCALE_PROFILE=DIR saves a 5 s CPU profile of the server
	// from the middle of each measured endpoint, and its heap at the end
	// (go tool pprof DIR/NAME.pprof).
	profileDir := os.Getenv("CAIRN_BENCH_SCALE_PROFILE")
	metricsAddr := testenv.FreeAddr(b)
	if profileDir != "" {
		env["CAIRN_METRICS_LISTEN"] = metricsAddr
	}
	profile := func(name string) func() {
		if profileDir == "" {
			return func() {}
		}
		done := make(chan struct{})
		go func() {
			defer close(done)
			time.Sleep(dur / 4)
			resp, err := http.Get("http://" + metricsAddr + "/debug/pprof/profile?seconds=5")
			if err != nil {
				b.Logf("profile %s: %v", name, err)
				return
			}
			defer resp.Body.Close()
			data, _ := io.ReadAll(resp.Body)
			os.WriteFile(filepath.Join(profileDir, name+".pprof"), data, 0o644)
		}()
		return func() { <-done }
	}
	t0 = time.Now()
	proc := testenv.StartCairn(b, env)
	startup := time.Since(t0)
	proc.URL = "https://" + addr
	rssStart := rss(b, proc.Cmd.Process.Pid)
	out, err := runCairn(b, env, "admin", "bootstrap", "--username", "root")
	if err != nil {
		b.Fatalf("bootstrap: %v %s", err, out)
	}
	lines := strings.Split(strings.TrimSpace(out), "\n")
	admin := lines[len(lines)-1]
	client := benchClient(proc.Client(b))

	// Random modules (scaleModule).
	module := func(r *rand.Rand) string {
		i := r.IntN(100000)
		return scaleModule(i)
	}
	publicModule := func(r *rand.Rand) string { // p0 of each group is public
		i := r.IntN(10000) * 10
		return scaleModule(i)
	}
	randomReq := func(token string, path func(*rand.Rand) string) func() *http.Request {
		r := rand.New(rand.NewPCG(1, 2))
		var mu sync.Mutex
		return func() *http.Request {
			mu.Lock()
			p := path(r)
			mu.Unlock()
			req, _ := http.NewRequest("GET", proc.URL+p, nil)
			if token != "" {
				req.Header.Set("Authorization", "Bearer "+token)
			}
			return req
		}
	}
	queries := []string{"vpc", "kafka-17", "network firewall", "team 42", "monitoring aws", "s3 bucket", "nonexistent-thing", "redis"}
	// Skewed traffic, as CI fleets pull modules: Zipf (s = 1.1) over the
	// 100,000 modules in a fixed random order, so hot modules are spread
	// over the namespaces.
	order := rand.New(rand.NewPCG(3, 4)).Perm(100000)
	zipfModule := func() func(*rand.Rand) string {
		var z *rand.Zipf
		return func(r *rand.Rand) string {
			if z == nil {
				z = rand.NewZipf(r, 1.1, 1, 99999)
			}
			i := order[z.Uint64()]
			return scaleModule(i)
		}
	}

	b.ResetTimer()
	// The baseline's requests, on one module of the 100k (cached after its
	// first request, like the baseline's): does data size slow the hot path?
	one := "/v1/modules/ns05001/vpc-150/aws"
	versionsOne := load(client, conc, dur, fixed(proc.URL+one+"/versions", admin), 200)
	downloadOne := load(client, conc, dur, fixed(proc.URL+one+"/1.9.0/download", admin), 204)
	stop := profile("versions-random")
	versions := load(client, conc, dur, randomReq(admin, func(r *rand.Rand) string { return "/v1/modules/" + module(r) + "/versions" }), 200)
	stop()
	stop = profile("download-random")
	download := load(client, conc, dur, randomReq(admin, func(r *rand.Rand) string { return "/v1/modules/" + module(r) + "/1.9.0/download" }), 204)
	stop()
	stop = profile("versions-zipf")
	zipfVersions := zipfModule()
	versionsZipf := load(client, conc, dur, randomReq(admin, func(r *rand.Rand) string { return "/v1/modules/" + zipfVersions(r) + "/versions" }), 200)
	stop()
	stop = profile("download-zipf")
	zipfDownloads := zipfModule()
	downloadZipf := load(client, conc, dur, randomReq(admin, func(r *rand.Rand) string { return "/v1/modules/" + zipfDownloads(r) + "/1.9.0/download" }), 204)
	stop()
	stop = profile("search")
	search := loadP95(client, conc, dur, randomReq(secret, func(r *rand.Rand) string {
		return "/v1/modules/search?limit=10&q=" + strings.ReplaceAll(queries[r.IntN(len(queries))], " ", "+")
	}), 200)
	stop()
	// Searches that miss the ranking cache: "<word>-<n>" for 19,940 distinct
	// queries (each matching a handful of modules), never repeated in a run.
	stop = profile("search-distinct")
	searchDistinct := loadP95(client, conc, dur, randomReq(secret, func(r *rand.Rand) string {
		return fmt.Sprintf("/v1/modules/search?limit=10&q=%s-%d", scaleWords[r.IntN(len(scaleWords))], r.IntN(997))
	}), 200)
	stop()
	stop = profile("page")
	page := loadP95(client, conc, dur, randomReq("", func(r *rand.Rand) string { return "/modules/" + publicModule(r) }), 200)
	stop()
	b.StopTimer()
	if profileDir != "" { // and what the heap holds after every endpoint
		if resp, err := http.Get("http://" + metricsAddr + "/debug/pprof/heap"); err == nil {
			data, _ := io.ReadAll(resp.Body)
			resp.Body.Close()
			os.WriteFile(filepath.Join(profileDir, "heap.pprof"), data, 0o644)
		}
	}
	rssEnd := rss(b, proc.Cmd.Process.Pid)
	peak := peakRSS(b, proc.Cmd.Process.Pid)

	ratio := func(x, base loadResult) string { return fmt.Sprintf("%.0f%%", 100*x.rps/base.rps) }
	fmt.Printf("\nScale: 100,000 modules / 1,000,000 versions / 10,000 groups / 100,000 memberships; %d connections, %s per endpoint, HTTPS loopback\n", conc, dur)
	fmt.Printf("%-34s %10s %9s %9s %9s %7s\n", "endpoint", "req/s", "p50", "p95", "p99", "errors")
	// p95 0: not measured for that row (printed "-").
	row := func(name string, x loadResult, p95 time.Duration) {
		p95s := "-"
		if p95 > 0 {
			p95s = p95.Round(10 * time.Microsecond).String()
		}
		fmt.Printf("%-34s %10.0f %9s %9s %9s %7d\n", name, x.rps, x.p50.Round(10*time.Microsecond), p95s, x.p99.Round(10*time.Microsecond), x.errors)
	}
	row("versions, 1 module (baseline)", baseVersions, 0)
	row("versions, 1 module of 100k", versionsOne, 0)
	row("versions, random of 100k", versions, 0)
	row("download, 1 module (baseline)", baseDownload, 0)
	row("download, 1 module of 100k", downloadOne, 0)
	row("download, random of 100k", download, 0)
	row("versions, Zipf over 100k", versionsZipf, 0)
	row("download, Zipf over 100k", downloadZipf, 0)
	row("search as a member, 8 queries", search.loadResult, search.p95)
	row("search as a member, distinct", searchDistinct.loadResult, searchDistinct.p95)
	row("module page /modules/:ns/:n/:s", page.loadResult, page.p95)
	fmt.Printf("of the baseline (target >= 80%%): versions %s for the same request, %s Zipf, %s random; download %s, %s Zipf, %s random\n",
		ratio(versionsOne, baseVersions), ratio(versionsZipf, baseVersions), ratio(versions, baseVersions),
		ratio(downloadOne, baseDownload), ratio(downloadZipf, baseDownload), ratio(download, baseDownload))
	fmt.Printf("search p95 %s, distinct queries %s (target < 50ms), module page p95 %s (target < 50ms)\n",
		search.p95.Round(100*time.Microsecond), searchDistinct.p95.Round(100*time.Microsecond), page.p95.Round(100*time.Microsecond))
	fmt.Printf("server RSS %d MiB after start, %d MiB after load, peak %d MiB (target < 512 MiB; GOMEMLIMIT=460MiB as under a 512 MiB container limit)\n", rssStart>>10, rssEnd>>10, peak>>10)
	fmt.Printf("enforcer: load %s (target < 3s), %d MiB heap for 100,000 memberships\n", enfLoad.Round(time.Millisecond), enfMem>>20)
	fmt.Printf("cairn serve start-up to /readyz 200 on the seeded database: %s\n", startup.Round(time.Millisecond))
	for _, x := range []loadResult{versionsOne, downloadOne, versions, download, versionsZipf, downloadZipf, search.loadResult, searchDistinct.loadResult, page.loadResult} {
		if x.errors > 0 {
			b.Errorf("%d requests failed", x.errors)
		}
	}
	b.ReportMetric(search.p95.Seconds()*1000, "search-p95-ms")
	b.ReportMetric(page.p95.Seconds()*1000, "page-p95-ms")
	b.ReportMetric(float64(peak>>10), "peak-RSS-MiB")
}

type p95Result struct {
	loadResult
	p95 time.Duration
}

// loadP95 is load with the 95th percentile as well.
func loadP95(client *http.Client, conc int, d time.Duration, newReq func() *http.Request, want int) p95Result {
	var lat []time.Duration
	rec := &recordingTransport{next: client.Transport, lat: &lat}
	c := *client
	c.Transport = rec
	r := load(&c, conc, d, newReq, want)
	rec.mu.Lock()
	defer rec.mu.Unlock()
	sort.Slice(lat, func(i, j int) bool { return lat[i] < lat[j] })
	var p95 time.Duration
	if len(lat) > 0 {
		p95 = lat[len(lat)*95/100]
	}
	return p95Result{r, p95}
}

type recordingTransport struct {
	next http.RoundTripper
	mu   sync.Mutex
	lat  *[]time.Duration
}

func (t *recordingTransport) RoundTrip(req *http.Request) (*http.Response, error) {
	start := time.Now()
	resp, err := t.next.RoundTrip(req)
	if err != nil {
		return resp, err
	}
	// Latency includes the body: read it here.
	body, _ := io.ReadAll(resp.Body)
	resp.Body.Close()
	resp.Body = io.NopCloser(strings.NewReader(string(body)))
	d := time.Since(start)
	t.mu.Lock()
	*t.lat = append(*t.lat, d)
	t.mu.Unlock()
	return resp, nil
}

func benchClient(base *http.Client) *http.Client {
	return &http.Client{Transport: &http.Transport{MaxIdleConnsPerHost: 64, TLSClientConfig: base.Transport.(*http.Transport).TLSClientConfig},
		CheckRedirect: func(*http.Request, []*http.Request) error { return http.ErrUseLastResponse }}
}

func fixed(url, token string) func() *http.Request {
	return func() *http.Request {
		req, _ := http.NewRequest("GET", url, nil)
		req.Header.Set("Authorization", "Bearer "+token)
		return req
	}
}

// rss reads a process's current VmRSS in KiB.
func rss(b *testing.B, pid int) int64 {
	data, err := os.ReadFile(fmt.Sprintf("/proc/%d/status", pid))
	if err != nil {
		b.Fatal(err)
	}
	for _, line := range strings.Split(string(data), "\n") {
		if strings.HasPrefix(line, "VmRSS:") {
			var n int64
			fmt.Sscan(strings.Fields(line)[1], &n)
			return n
		}
	}
	return 0
}

// scaleExplain prints EXPLAIN ANALYZE of the module lookup (versions,
// download, module page) and of a search's ranking (cached per query), on the seeded
// data (CAIRN_BENCH_SCALE_EXPLAIN=1 make bench-scale).
func scaleExplain(b *testing.B, pool *pgxpool.Pool) {
	ctx := context.Background()
	lookup, err := os.ReadFile("../queries/modules.sql")
	if err != nil {
		b.Fatal(err)
	}
	search, err := os.ReadFile("../queries/catalog.sql")
	if err != nil {
		b.Fatal(err)
	}
	query := func(file []byte, name string) string {
		s := string(file)
		i := strings.Index(s, "-- name: "+name+" ")
		s = s[i:]
		s = s[strings.Index(s, "\n")+1:]
		if j := strings.Index(s, "\n-- name:"); j >= 0 {
			s = s[:j]
		}
		var lines []string
		for _, l := range strings.Split(s, "\n") {
			if !strings.HasPrefix(strings.TrimSpace(l), "--") {
				lines = append(lines, l)
			}
		}
		return strings.TrimSuffix(strings.TrimSpace(strings.Join(lines, "\n")), ";")
	}
	lq := query(lookup, "ModulesInNamespace")
	for k, v := range map[string]string{"@namespace": "'ns05001'", "@name": "'vpc-150'", "@system": "'aws'"} {
		lq = strings.ReplaceAll(lq, k, v)
	}
	sq := query(search, "CatalogRanked")
	for k, v := range map[string]string{"@q": "'vpc'", "@namespaces": "'{}'", "@systems": "'{}'"} {
		sq = strings.ReplaceAll(sq, k, v)
	}
	for _, x := range []struct{ name, sql string }{{"module lookup (ModulesInNamespace)", lq}, {"ranking of 'vpc' on a cache miss (CatalogRanked)", sq}} {
		rows, err := pool.Query(ctx, "EXPLAIN (ANALYZE, BUFFERS) "+x.sql)
		if err != nil {
			b.Fatalf("explain %s: %v\n%s", x.name, err, x.sql)
		}
		fmt.Printf("\nEXPLAIN ANALYZE %s:\n", x.name)
		for rows.Next() {
			var line string
			rows.Scan(&line)
			fmt.Println(line)
		}
		rows.Close()
	}
}
