package e2e

// The hardening drills: Cairn must survive kill -9 of itself and of its
// database, outages of PostgreSQL and of the object store, and lose nothing
// (no half-published version, no stray bytes) doing so.

import (
	"archive/tar"
	"compress/gzip"
	"context"
	"crypto/sha256"
	"encoding/hex"
	"encoding/json"
	"fmt"
	"io"
	"io/fs"
	"net/http"
	"net/url"
	"os"
	"os/exec"
	"os/user"
	"path/filepath"
	"strconv"
	"strings"
	"sync"
	"sync/atomic"
	"syscall"
	"testing"
	"time"

	"github.com/jackc/pgx/v5"
	"github.com/minio/minio-go/v7"
	"github.com/minio/minio-go/v7/pkg/credentials"

	"github.com/cairn-registry/cairn/internal/pgcluster"
	"github.com/cairn-registry/cairn/internal/testenv"
)

// drill is a cairn process under test with its administrator's token.
type drill struct {
	t     *testing.T
	env   map[string]string
	proc  *testenv.Proc
	admin string
}

// startDrill starts cairn with env; the first start of a registry
// bootstraps root and creates group acme and project acme/vpc.
func startDrill(t *testing.T, env map[string]string, admin string) *drill {
	t.Helper()
	if env["CAIRN_LISTEN"] == "" {
		env["CAIRN_LISTEN"] = testenv.FreeAddr(t)
	}
	d := &drill{t: t, env: env, proc: testenv.StartCairn(t, env), admin: admin}
	if admin == "" {
		out, err := runCairn(t, env, "admin", "bootstrap", "--username", "root")
		if err != nil {
			t.Fatalf("bootstrap: %v\n%s", err, out)
		}
		lines := strings.Split(strings.TrimSpace(out), "\n")
		d.admin = lines[len(lines)-1]
		var g struct{ ID int64 }
		d.mustJSON("POST", "/groups", `{"path":"acme","name":"acme","visibility":"public"}`, &g)
		d.mustJSON("POST", "/projects", fmt.Sprintf(`{"path":"vpc","namespace_id":%d,"visibility":"public"}`, g.ID), nil)
	}
	return d
}

func (d *drill) client() *http.Client {
	c := d.proc.Client(d.t)
	c.Timeout = 60 * time.Second
	return c
}

// call sends a request with the admin token (token "" = anonymous, "-" =
// the admin) and returns status and body; a transport error is status 0.
func (d *drill) call(method, path, token string, body io.Reader) (int, string) {
	req, _ := http.NewRequest(method, d.proc.URL+path, body)
	if token == "-" {
		token = d.admin
	}
	if token != "" {
		req.Header.Set("Authorization", "Bearer "+token)
	}
	if body != nil {
		req.Header.Set("Content-Type", "application/json")
	}
	resp, err := d.client().Do(req)
	if err != nil {
		return 0, err.Error()
	}
	defer resp.Body.Close()
	b, _ := io.ReadAll(resp.Body)
	return resp.StatusCode, string(b)
}

func (d *drill) mustJSON(method, path, body string, out any) {
	d.t.Helper()
	code, resp := d.call(method, "/api/v4"+path, "-", strings.NewReader(body))
	if code/100 != 2 {
		d.t.Fatalf("%s %s = %d %s", method, path, code, resp)
	}
	if out != nil {
		json.Unmarshal([]byte(resp), out)
	}
}

func (d *drill) upload(project, name, version string, body io.Reader) (int, string) {
	req, _ := http.NewRequest("PUT", fmt.Sprintf("%s/api/v4/projects/%s/packages/terraform/modules/%s/aws/%s/file",
		d.proc.URL, url.PathEscape(project), name, version), body)
	req.Header.Set("PRIVATE-TOKEN", d.admin)
	resp, err := d.client().Do(req)
	if err != nil {
		return 0, err.Error()
	}
	defer resp.Body.Close()
	b, _ := io.ReadAll(resp.Body)
	return resp.StatusCode, string(b)
}

// kill9 kills cairn with SIGKILL and waits until it is gone.
func (d *drill) kill9() {
	d.proc.Cmd.Process.Kill()
	d.proc.Stop(d.t) // returns once the killed process has been reaped
}

// exited reports whether the cairn process is gone.
func (d *drill) exited() bool {
	return syscall.Kill(d.proc.Cmd.Process.Pid, 0) != nil
}

// bigModule streams a size-byte .tar.gz module (stored, not compressed, so
// the bytes on the wire are the size) into w; it stops early, with an
// error, when w fails.
func bigModule(w io.Writer, size int64) error {
	gz, _ := gzip.NewWriterLevel(w, gzip.NoCompression)
	tw := tar.NewWriter(gz)
	if err := tw.WriteHeader(&tar.Header{Name: "main.tf", Mode: 0o644, Size: 2, Typeflag: tar.TypeReg}); err != nil {
		return err
	}
	tw.Write([]byte("#\n"))
	if err := tw.WriteHeader(&tar.Header{Name: "data.bin", Mode: 0o644, Size: size, Typeflag: tar.TypeReg}); err != nil {
		return err
	}
	chunk := make([]byte, 1<<20)
	for i := range chunk {
		chunk[i] = byte(i * 7)
	}
	for left := size; left > 0; {
		n := min(left, int64(len(chunk)))
		if _, err := tw.Write(chunk[:n]); err != nil {
			return err
		}
		left -= n
	}
	if err := tw.Close(); err != nil {
		return err
	}
	return gz.Close()
}

// gatedWriter lets the first limit bytes through, then blocks until open
// is closed: the upload is "slow" exactly where the drill wants it.
type gatedWriter struct {
	w     io.Writer
	limit int64
	n     atomic.Int64
	open  chan struct{}
}

func (g *gatedWriter) Write(p []byte) (int, error) {
	if g.n.Load() >= g.limit {
		<-g.open
	}
	n, err := g.w.Write(p)
	g.n.Add(int64(n))
	return n, err
}

// treeSize returns the number and total size of the files under dir.
func treeSize(dir string) (files int, size int64, names []string) {
	filepath.WalkDir(dir, func(p string, e fs.DirEntry, err error) error {
		if err == nil && !e.IsDir() {
			if info, err := e.Info(); err == nil {
				files++
				size += info.Size()
				names = append(names, p)
			}
		}
		return nil
	})
	return
}

func waitFor(t *testing.T, what string, within time.Duration, ok func() bool) time.Duration {
	t.Helper()
	start := time.Now()
	for !ok() {
		if time.Since(start) > within {
			t.Fatalf("%s: not within %s", what, within)
		}
		time.Sleep(50 * time.Millisecond)
	}
	return time.Since(start)
}

func countRows(t *testing.T, dbURL, query string) int {
	t.Helper()
	ctx, cancel := context.WithTimeout(context.Background(), 10*time.Second)
	defer cancel()
	conn, err := pgx.Connect(ctx, dbURL)
	if err != nil {
		t.Fatalf("connect %s: %v", dbURL, err)
	}
	defer conn.Close(ctx)
	var n int
	if err := conn.QueryRow(ctx, query).Scan(&n); err != nil {
		t.Fatalf("%s: %v", query, err)
	}
	return n
}

// killMidUpload starts a 50 MiB upload, waits until the server has written
// part of it to the blob store's tmp/, and kills the server with SIGKILL.
func killMidUpload(t *testing.T, d *drill, version string) {
	t.Helper()
	const size = 50 << 20
	pr, pw := io.Pipe()
	gate := &gatedWriter{w: pw, limit: 12 << 20, open: make(chan struct{})}
	go func() { pw.CloseWithError(bigModule(gate, size)) }()
	done := make(chan struct{})
	go func() { d.upload("acme/vpc", "big", version, pr); close(done) }()
	tmp := filepath.Join(d.env["CAIRN_DATA_DIR"], "blobs", "tmp")
	waitFor(t, "upload bytes reaching blobs/tmp", 30*time.Second, func() bool {
		_, n, _ := treeSize(tmp)
		return n >= 4<<20
	})
	d.kill9()
	if gate.n.Load() >= size {
		t.Fatalf("the whole body was sent before the kill")
	}
	close(gate.open)
	pr.CloseWithError(io.ErrClosedPipe)
	<-done
}

// assertNothingLeft checks that no version row and no blob bytes remain.
func assertNothingLeft(t *testing.T, dataDir, dbURL string) {
	t.Helper()
	if n := countRows(t, dbURL, "SELECT count(*) FROM module_versions"); n != 0 {
		t.Fatalf("%d version rows after a killed upload", n)
	}
	for _, sub := range []string{"objects", "tmp"} {
		if n, size, names := treeSize(filepath.Join(dataDir, "blobs", sub)); n != 0 {
			t.Fatalf("blobs/%s holds %d files (%d bytes) after restart: %v", sub, n, size, names)
		}
	}
}

// Drill 1: kill -9 in the middle of a 50 MiB upload, restart: no version
// row, no bytes under blobs/. Twenty times on an external database (a
// restart takes well under a second), once on the embedded defaults.
func TestDrillKillDuringUpload(t *testing.T) {
	t.Parallel()
	dbURL := testenv.DatabaseURL(t)
	dataDir := testenv.DataDir(t)
	env := map[string]string{"CAIRN_DATA_DIR": dataDir, "CAIRN_DATABASE_URL": dbURL,
		"CAIRN_INSECURE_HTTP": "true", "CAIRN_LOG_LEVEL": "warn"}
	d := startDrill(t, env, "")
	const rounds = 20
	start := time.Now()
	for i := range rounds {
		killMidUpload(t, d, fmt.Sprintf("1.0.%d", i))
		d = startDrill(t, env, d.admin)
		assertNothingLeft(t, dataDir, dbURL)
	}
	t.Logf("%d kill -9 mid-upload + restart rounds in %s", rounds, time.Since(start).Round(time.Millisecond))
	// And the registry still publishes.
	if code, body := d.upload("acme/vpc", "vpc", "1.0.0", strings.NewReader(string(goodModule))); code != 201 {
		t.Fatalf("upload after the drill = %d %s", code, body)
	}
}

func TestDrillKillDuringUploadEmbedded(t *testing.T) {
	t.Parallel()
	testenv.Cluster(t) // fails under CI=true when PostgreSQL binaries are missing
	dataDir := testenv.DataDir(t)
	env := map[string]string{"CAIRN_DATA_DIR": dataDir, "CAIRN_INSECURE_HTTP": "true"}
	d := startDrill(t, env, "")
	killMidUpload(t, d, "1.0.0")
	d = startDrill(t, env, d.admin) // immediately: see drill 2
	dbURL := (&url.URL{Scheme: "postgres", User: url.User(pgcluster.Superuser), Path: "/cairn",
		RawQuery: url.Values{"host": {filepath.Join(dataDir, "postgres")}, "sslmode": {"disable"}}.Encode()}).String()
	assertNothingLeft(t, dataDir, dbURL)
	if code, body := d.upload("acme/vpc", "vpc", "1.0.0", strings.NewReader(string(goodModule))); code != 201 {
		t.Fatalf("upload after the drill = %d %s", code, body)
	}
}

// postmasterPid reads the embedded server's pid.
func postmasterPid(t *testing.T, dataDir string) int {
	t.Helper()
	b, err := os.ReadFile(filepath.Join(dataDir, "postgres", "postmaster.pid"))
	if err != nil {
		t.Fatalf("postmaster.pid: %v", err)
	}
	pid, _ := strconv.Atoi(strings.TrimSpace(strings.SplitN(string(b), "\n", 2)[0]))
	return pid
}

// Drill 2: kill -9 of cairn on the embedded defaults and an immediate
// restart (as a supervisor does): the old embedded PostgreSQL is still
// shutting down; the new process waits for it and comes up with the data.
func TestDrillKillAndImmediateRestartEmbedded(t *testing.T) {
	t.Parallel()
	testenv.Cluster(t)
	dataDir := testenv.DataDir(t)
	env := map[string]string{"CAIRN_DATA_DIR": dataDir, "CAIRN_INSECURE_HTTP": "true"}
	d := startDrill(t, env, "")
	for round := range 3 {
		// Connections in use make the old server's shutdown take a moment.
		if code, body := d.call("GET", "/api/v4/groups/acme", "-", nil); code != 200 {
			t.Fatalf("round %d: group = %d %s", round, code, body)
		}
		d.kill9()
		start := time.Now()
		d = startDrill(t, env, d.admin)
		t.Logf("round %d: up again %s after kill -9", round, time.Since(start).Round(time.Millisecond))
		if code, body := d.call("GET", "/api/v4/groups/acme", "-", nil); code != 200 {
			t.Fatalf("round %d: group after restart = %d %s", round, code, body)
		}
	}
	d.proc.Stop(t)
	if _, err := os.Stat(filepath.Join(dataDir, "postgres", "postmaster.pid")); err == nil {
		t.Fatal("embedded PostgreSQL still running after cairn stopped")
	}
}

// Drill 3: the embedded PostgreSQL is killed under a running server: cairn
// restarts it (and says so), /readyz returns to 200 and requests work.
func TestDrillEmbeddedPostgresKilled(t *testing.T) {
	t.Parallel()
	testenv.Cluster(t)
	dataDir := testenv.DataDir(t)
	env := map[string]string{"CAIRN_DATA_DIR": dataDir, "CAIRN_INSECURE_HTTP": "true"}
	d := startDrill(t, env, "")
	for round := range 2 {
		pid := postmasterPid(t, dataDir)
		if err := syscall.Kill(pid, syscall.SIGKILL); err != nil {
			t.Fatal(err)
		}
		took := waitFor(t, "a new postmaster", 45*time.Second, func() bool {
			b, err := os.ReadFile(filepath.Join(dataDir, "postgres", "postmaster.pid"))
			return err == nil && !strings.HasPrefix(string(b), strconv.Itoa(pid)+"\n") && strings.Contains(string(b), "ready")
		})
		waitFor(t, "/readyz 200 after the restart", 15*time.Second, func() bool {
			code, _ := d.call("GET", "/readyz", "", nil)
			return code == 200
		})
		t.Logf("round %d: PostgreSQL back %s after kill -9 of its postmaster", round, took.Round(time.Millisecond))
		// A write needs the database: it works again (the pool reconnects).
		var g struct{ ID int64 }
		waitFor(t, "a write after the restart", 15*time.Second, func() bool {
			code, _ := d.call("POST", "/api/v4/groups", "-", strings.NewReader(fmt.Sprintf(`{"path":"g%d","name":"g%d"}`, round, round)))
			return code == 201
		})
		d.mustJSON("GET", fmt.Sprintf("/groups/g%d", round), "", &g)
		if d.exited() {
			t.Fatalf("cairn exited: %s", d.proc.Out)
		}
	}
	if !strings.Contains(d.proc.Out.String(), "embedded PostgreSQL restarted") {
		t.Errorf("no log line about the restart:\n%s", d.proc.Out)
	}
}

// dedicatedCluster starts a PostgreSQL cluster of this test's own (the
// harness's is shared by the whole binary and must not be stopped), with a
// database "cairn". Stop and start it with the returned functions.
func dedicatedCluster(t *testing.T) (dbURL string, stop func(), start func()) {
	t.Helper()
	testenv.Cluster(t) // skips (fails under CI) when PostgreSQL is missing
	dir, err := os.MkdirTemp("", "cairn-drill-pg-")
	if err != nil {
		t.Fatal(err)
	}
	if os.Geteuid() == 0 {
		if u, err := user.Lookup("postgres"); err == nil {
			uid, _ := strconv.Atoi(u.Uid)
			gid, _ := strconv.Atoi(u.Gid)
			os.Chown(dir, uid, gid)
		}
	}
	var mu sync.Mutex
	var c *pgcluster.Cluster
	start = func() {
		t.Helper()
		ctx, cancel := context.WithTimeout(context.Background(), 2*time.Minute)
		defer cancel()
		nc, err := pgcluster.Start(ctx, pgcluster.Options{Dir: dir + "/data", NoFsync: true})
		if err != nil {
			t.Fatalf("start dedicated PostgreSQL: %v", err)
		}
		mu.Lock()
		c = nc
		mu.Unlock()
	}
	stop = func() {
		mu.Lock()
		defer mu.Unlock()
		if c != nil {
			c.Stop()
			c = nil
		}
	}
	start()
	t.Cleanup(func() { stop(); os.RemoveAll(dir) })
	ctx := context.Background()
	conn, err := pgx.Connect(ctx, c.URL("postgres"))
	if err != nil {
		t.Fatal(err)
	}
	defer conn.Close(ctx)
	if _, err := conn.Exec(ctx, "CREATE DATABASE cairn"); err != nil {
		t.Fatal(err)
	}
	return c.URL("cairn"), stop, start
}

// Drill 4: during a database outage every surface answers what needs the
// database with 503 and a message (a still-valid cache may answer), never
// 500; afterwards everything works again.
func TestDrillDatabaseOutageAnswers503(t *testing.T) {
	t.Parallel()
	dbURL, stopDB, startDB := dedicatedCluster(t)
	env := map[string]string{"CAIRN_DATA_DIR": testenv.DataDir(t), "CAIRN_DATABASE_URL": dbURL, "CAIRN_INSECURE_HTTP": "true"}
	d := startDrill(t, env, "")
	for _, v := range []string{"1.0.0", "1.1.0"} {
		if code, body := d.upload("acme/vpc", "vpc", v, strings.NewReader(string(goodModule))); code != 201 {
			t.Fatalf("upload = %d %s", code, body)
		}
	}
	if code, body := d.upload("acme/vpc", "other", "1.0.0", strings.NewReader(string(goodModule))); code != 201 {
		t.Fatalf("upload = %d %s", code, body)
	}
	// Read once so the admin's credential and this lookup are cached.
	if code, body := d.call("GET", "/v1/modules/acme/vpc/aws/versions", "-", nil); code != 200 {
		t.Fatalf("versions = %d %s", code, body)
	}

	stopDB()
	waitFor(t, "/readyz 503", 5*time.Second, func() bool { code, _ := d.call("GET", "/readyz", "", nil); return code == 503 })
	type probe struct {
		surface, method, path, token, body string
		cacheable                          bool
	}
	probes := []probe{
		{"health", "GET", "/readyz", "", "", false},
		{"protocol", "GET", "/v1/modules/acme/other/aws/versions", "", "", false},
		{"protocol", "GET", "/v1/modules/acme/other/aws/1.0.0/download", "-", "", false},
		{"protocol", "GET", "/v1/modules/acme/vpc/aws/versions", "-", "", true},
		{"protocol (gitlab mount)", "GET", "/api/v4/packages/terraform/modules/v1/acme/other/aws/versions", "", "", false},
		{"catalog", "GET", "/v1/modules?limit=5", "", "", false},
		{"catalog", "GET", "/v1/modules/search?q=vpc", "", "", false},
		{"catalog", "GET", "/v1/modules/acme/other/aws", "", "", false},
		{"gitlab", "GET", "/api/v4/groups", "", "", false},
		{"gitlab", "GET", "/api/v4/projects/acme%2Fvpc/packages", "-", "", false},
		{"gitlab", "POST", "/api/v4/groups", "-", `{"path":"new","name":"new"}`, false},
		{"gitlab (auth)", "GET", "/api/v4/user", "cairnpat-unknowntoken", "", false},
		{"terrareg", "GET", "/v1/terrareg/modules/search?q=vpc", "", "", false},
		{"terrareg", "GET", "/v1/terrareg/namespaces", "", "", false},
		{"terrareg", "GET", "/v1/terrareg/modules/acme/other/aws", "", "", false},
	}
	for _, p := range probes {
		var body io.Reader
		if p.body != "" {
			body = strings.NewReader(p.body)
		}
		code, resp := d.call(p.method, p.path, p.token, body)
		switch {
		case code == 503 && (strings.Contains(strings.ToLower(resp), "unavailable")):
		case code == 200 && p.cacheable:
		default:
			t.Errorf("%s %s %s during the outage = %d %s, want 503 with a message", p.surface, p.method, p.path, code, resp)
		}
	}
	if code, resp := d.call("GET", "/", "", nil); code != 200 && code != 503 {
		t.Errorf("the landing page during the outage = %d %.300s, want 200 or 503", code, resp)
	}
	code, resp := d.upload("acme/vpc", "vpc", "2.0.0", strings.NewReader(string(goodModule)))
	if code != 503 {
		t.Errorf("upload during the outage = %d %s, want 503", code, resp)
	}

	startDB()
	waitFor(t, "/readyz 200 after the outage", 10*time.Second, func() bool { code, _ := d.call("GET", "/readyz", "", nil); return code == 200 })
	for _, p := range probes {
		if p.method != "GET" || p.token == "cairnpat-unknowntoken" {
			continue
		}
		if code, resp := d.call(p.method, p.path, p.token, nil); code/100 != 2 {
			t.Errorf("%s %s after the outage = %d %s", p.surface, p.path, code, resp)
		}
	}
	if code, body := d.upload("acme/vpc", "vpc", "2.0.0", strings.NewReader(string(goodModule))); code != 201 {
		t.Fatalf("upload after the outage = %d %s", code, body)
	}
	// Each .tar.gz version is stored with its zip (source.zip is built at publish).
	if n, _, names := treeSize(filepath.Join(env["CAIRN_DATA_DIR"], "blobs", "objects")); n != 8 {
		t.Errorf("%d blobs stored, want 8 (4 archives and their zips; the refused upload left something?): %v", n, names)
	}
}

// Drill 5: an external PostgreSQL stopped under load (32 readers):
// /readyz turns 503 within 2 s, requests answer 503 (never 500), and when
// PostgreSQL returns Cairn recovers without a restart; the LISTEN/NOTIFY
// followers resync (a membership change made on another replica after the
// recovery is seen).
func TestDrillDatabaseStoppedUnderLoad(t *testing.T) {
	t.Parallel()
	dbURL, stopDB, startDB := dedicatedCluster(t)
	envA := map[string]string{"CAIRN_DATA_DIR": testenv.DataDir(t), "CAIRN_DATABASE_URL": dbURL, "CAIRN_INSECURE_HTTP": "true", "CAIRN_LOG_LEVEL": "warn"}
	a := startDrill(t, envA, "")
	var proj struct{ ID int64 }
	var g struct{ ID int64 }
	a.mustJSON("GET", "/groups/acme", "", &g)
	a.mustJSON("POST", "/projects", fmt.Sprintf(`{"path":"secret","namespace_id":%d,"visibility":"private"}`, g.ID), &proj)
	if code, body := a.upload("acme/vpc", "vpc", "1.0.0", strings.NewReader(string(goodModule))); code != 201 {
		t.Fatalf("upload = %d %s", code, body)
	}
	if code, body := a.upload("acme/secret", "secret", "1.0.0", strings.NewReader(string(goodModule))); code != 201 {
		t.Fatalf("upload = %d %s", code, body)
	}
	var dev struct{ ID int64 }
	a.mustJSON("POST", "/users", `{"username":"dev","name":"Dev","email":"dev@example.test","password":"correct horse battery"}`, &dev)
	var devTok struct{ Token string }
	a.mustJSON("POST", fmt.Sprintf("/users/%d/personal_access_tokens", dev.ID), `{"name":"t","scopes":["api"]}`, &devTok)
	envB := map[string]string{"CAIRN_DATA_DIR": testenv.DataDir(t), "CAIRN_DATABASE_URL": dbURL, "CAIRN_INSECURE_HTTP": "true", "CAIRN_LOG_LEVEL": "warn"}
	b := startDrill(t, envB, a.admin)
	if code, _ := b.call("GET", "/v1/modules/acme/secret/aws/versions", devTok.Token, nil); code != 404 {
		t.Fatalf("dev reads the private module before being a member: %d", code)
	}

	// 32 readers on replica B: versions (cached), search and lists
	// (uncached), with and without a token.
	paths := []struct{ path, token string }{
		{"/v1/modules/acme/vpc/aws/versions", "-"},
		{"/v1/modules/search?q=vpc", ""},
		{"/v1/terrareg/modules/search?q=vpc", ""},
		{"/api/v4/projects/acme%2Fvpc/packages", "-"},
		{"/v1/modules?limit=3", ""},
	}
	var (
		mu       sync.Mutex
		statuses = map[int]int{}
		bad      []string
		phase    atomic.Int32 // 0 before, 1 outage, 2 after
	)
	ctx, cancel := context.WithCancel(context.Background())
	var wg sync.WaitGroup
	client := b.client()
	client.Transport.(*http.Transport).MaxIdleConnsPerHost = 64
	for w := range 32 {
		wg.Add(1)
		go func() {
			defer wg.Done()
			for i := w; ctx.Err() == nil; i++ {
				p := paths[i%len(paths)]
				req, _ := http.NewRequestWithContext(ctx, "GET", b.proc.URL+p.path, nil)
				if p.token == "-" {
					req.Header.Set("Authorization", "Bearer "+b.admin)
				}
				resp, err := client.Do(req)
				if ctx.Err() != nil {
					return
				}
				mu.Lock()
				if err != nil {
					bad = append(bad, fmt.Sprintf("%s: %v", p.path, err))
				} else {
					body, _ := io.ReadAll(resp.Body)
					resp.Body.Close()
					statuses[resp.StatusCode]++
					if resp.StatusCode != 200 && (resp.StatusCode != 503 || phase.Load() == 0) {
						bad = append(bad, fmt.Sprintf("phase %d %s: %d %s", phase.Load(), p.path, resp.StatusCode, body))
					}
				}
				mu.Unlock()
				if phase.Load() == 1 {
					time.Sleep(20 * time.Millisecond) // refusals are instant; keep the loop civil
				}
			}
		}()
	}
	time.Sleep(time.Second)
	phase.Store(1)
	stopDB()
	stopped := time.Now()
	waitFor(t, "/readyz 503", 2*time.Second, func() bool { code, _ := b.call("GET", "/readyz", "", nil); return code == 503 })
	t.Logf("/readyz 503 %s after PostgreSQL stopped", time.Since(stopped).Round(time.Millisecond))
	time.Sleep(2 * time.Second)
	startDB()
	back := time.Now()
	waitFor(t, "/readyz 200 after PostgreSQL returned", 10*time.Second, func() bool { code, _ := b.call("GET", "/readyz", "", nil); return code == 200 })
	t.Logf("/readyz 200 %s after PostgreSQL returned", time.Since(back).Round(time.Millisecond))
	// Requests started during the outage may still end in 503; then 200 only.
	time.Sleep(500 * time.Millisecond)
	mu.Lock()
	statuses = map[int]int{}
	mu.Unlock()
	phase.Store(2)
	time.Sleep(2 * time.Second)
	cancel()
	wg.Wait()
	t.Logf("statuses after recovery: %v", statuses)
	if statuses[200] == 0 {
		t.Errorf("no successful request after recovery: %v", statuses)
	}
	for i, s := range bad {
		if i == 10 {
			t.Errorf("... %d more", len(bad)-10)
			break
		}
		t.Errorf("bad answer: %s", s)
	}

	// A membership change made on replica A after the recovery reaches B.
	a.mustJSON("POST", fmt.Sprintf("/projects/%d/members", proj.ID), fmt.Sprintf(`{"user_id":%d,"access_level":20}`, dev.ID), nil)
	waitFor(t, "replica B seeing the new membership", 10*time.Second, func() bool {
		code, _ := b.call("GET", "/v1/modules/acme/secret/aws/versions", devTok.Token, nil)
		return code == 200
	})
	for _, p := range []*drill{a, b} {
		if p.exited() {
			t.Fatalf("cairn exited during the drill:\n%s", p.proc.Out)
		}
		if strings.Contains(p.proc.Out.String(), "panic") {
			t.Errorf("panic in the log:\n%s", p.proc.Out)
		}
	}
}

// dedicatedMinIO runs a MinIO server of this test's own on a fixed port
// and directory, so it can be stopped (SIGKILL) and started again.
type dedicatedMinIO struct {
	t         *testing.T
	bin, addr string
	dir       string
	cmd       *exec.Cmd
}

const drillS3User, drillS3Secret = "cairndrill", "cairndrill-secret-key"

func startDedicatedMinIO(t *testing.T) *dedicatedMinIO {
	t.Helper()
	testenv.SkipShort(t, "MinIO")
	bin, err := testenv.MinIOBinary()
	testenv.Require(t, err, "MinIO")
	m := &dedicatedMinIO{t: t, bin: bin, addr: testenv.FreeAddr(t), dir: t.TempDir()}
	m.start()
	t.Cleanup(m.stop)
	return m
}

func (m *dedicatedMinIO) start() {
	m.t.Helper()
	console := testenv.FreeAddr(m.t)
	cmd := exec.Command(m.bin, "server", "--quiet", "--address", m.addr, "--console-address", console, m.dir)
	cmd.Env = append(os.Environ(), "MINIO_ROOT_USER="+drillS3User, "MINIO_ROOT_PASSWORD="+drillS3Secret,
		"MINIO_BROWSER=off", "MINIO_UPDATE=off", "MINIO_CI_CD=1")
	cmd.SysProcAttr = &syscall.SysProcAttr{Pdeathsig: syscall.SIGKILL}
	if err := cmd.Start(); err != nil {
		m.t.Fatal(err)
	}
	m.cmd = cmd
	waitFor(m.t, "MinIO ready", 60*time.Second, func() bool {
		resp, err := http.Get("http://" + m.addr + "/minio/health/ready")
		if err != nil {
			return false
		}
		resp.Body.Close()
		return resp.StatusCode == 200
	})
}

func (m *dedicatedMinIO) stop() {
	if m.cmd != nil {
		m.cmd.Process.Kill()
		m.cmd.Wait()
		m.cmd = nil
	}
}

func (m *dedicatedMinIO) objects(bucket string) []string {
	m.t.Helper()
	c, err := minio.New(m.addr, &minio.Options{Creds: credentials.NewStaticV4(drillS3User, drillS3Secret, ""), BucketLookup: minio.BucketLookupPath})
	if err != nil {
		m.t.Fatal(err)
	}
	var keys []string
	for o := range c.ListObjects(context.Background(), bucket, minio.ListObjectsOptions{Recursive: true}) {
		if o.Err != nil {
			m.t.Fatalf("list objects: %v", o.Err)
		}
		keys = append(keys, o.Key)
	}
	return keys
}

// Drill 6: MinIO stopped mid-upload and mid-download: the upload answers
// 503 and leaves nothing (no row, no object); a download cut short fails
// visibly (never a short body passed off as whole); when MinIO returns,
// both work.
func TestDrillObjectStoreOutage(t *testing.T) {
	t.Parallel()
	m := startDedicatedMinIO(t)
	dbURL := testenv.DatabaseURL(t)
	env := map[string]string{"CAIRN_DATA_DIR": testenv.DataDir(t), "CAIRN_DATABASE_URL": dbURL, "CAIRN_INSECURE_HTTP": "true",
		"CAIRN_STORAGE": "s3", "CAIRN_S3_ENDPOINT": m.addr, "CAIRN_S3_BUCKET": "drill", "CAIRN_S3_ACCESS_KEY": drillS3User,
		"CAIRN_S3_SECRET_KEY": drillS3Secret, "CAIRN_S3_TLS": "false", "CAIRN_LOG_LEVEL": "warn"}
	d := startDrill(t, env, "")
	const size = 40 << 20

	// A complete module to download later.
	pr, pw := io.Pipe()
	h := sha256.New()
	go func() { pw.CloseWithError(bigModule(io.MultiWriter(pw, h), size)) }()
	if code, body := d.upload("acme/vpc", "big", "1.0.0", pr); code != 201 {
		t.Fatalf("upload = %d %s", code, body)
	}
	want := hex.EncodeToString(h.Sum(nil))

	// Mid-upload: the first 20 MiB (more than one 16 MiB part) go through,
	// then MinIO dies, then the rest of the body follows.
	pr, pw = io.Pipe()
	gate := &gatedWriter{w: pw, limit: 20 << 20, open: make(chan struct{})}
	go func() { pw.CloseWithError(bigModule(gate, size)) }()
	type result struct {
		code int
		body string
	}
	res := make(chan result, 1)
	go func() { c, b := d.upload("acme/vpc", "big", "2.0.0", pr); res <- result{c, b} }()
	waitFor(t, "20 MiB sent", 30*time.Second, func() bool { return gate.n.Load() >= 20<<20 })
	time.Sleep(300 * time.Millisecond) // let the first part reach MinIO
	m.stop()
	close(gate.open)
	start := time.Now()
	r := <-res
	t.Logf("upload with MinIO stopped: %d after %s", r.code, time.Since(start).Round(time.Millisecond))
	if r.code != 503 {
		t.Errorf("upload with MinIO stopped = %d %s, want 503", r.code, r.body)
	}
	if code, body := d.call("GET", "/readyz", "", nil); code != 503 || !strings.Contains(body, `"blobs":"unavailable"`) {
		t.Errorf("/readyz with MinIO stopped = %d %s", code, body)
	}

	// A download begun while MinIO is down is refused with 503.
	code, body := d.call("GET", "/api/v4/projects/acme%2Fvpc/packages/terraform/modules/big/aws/1.0.0", "-", nil)
	if code != 503 {
		t.Errorf("download with MinIO stopped = %d %s, want 503", code, body)
	}

	m.start()
	waitFor(t, "/readyz 200 with MinIO back", 15*time.Second, func() bool { code, _ := d.call("GET", "/readyz", "", nil); return code == 200 })
	if n := countRows(t, dbURL, "SELECT count(*) FROM module_versions WHERE version = '2.0.0'"); n != 0 {
		t.Errorf("the failed upload left a version row")
	}
	if keys := m.objects("drill"); len(keys) != 2 {
		t.Errorf("objects after the failed upload = %v, want only 1.0.0's archive and its zip", keys)
	}

	// Mid-download: read 4 MiB, kill MinIO, read on. Either the body is
	// complete and correct (the store came back in time) or the read fails.
	req, _ := http.NewRequest("GET", d.proc.URL+"/api/v4/projects/acme%2Fvpc/packages/terraform/modules/big/aws/1.0.0", nil)
	req.Header.Set("Authorization", "Bearer "+d.admin)
	resp, err := d.client().Do(req)
	if err != nil || resp.StatusCode != 200 {
		t.Fatalf("download: %v %v", err, resp)
	}
	dh := sha256.New()
	if _, err := io.CopyN(dh, resp.Body, 4<<20); err != nil {
		t.Fatal(err)
	}
	m.stop()
	_, err = io.Copy(dh, resp.Body)
	resp.Body.Close()
	if err == nil && hex.EncodeToString(dh.Sum(nil)) != want {
		t.Errorf("a download cut by the outage ended without an error but with wrong bytes")
	}
	t.Logf("download with MinIO killed mid-way: %v", err)

	// MinIO back: both work.
	m.start()
	waitFor(t, "/readyz 200 with MinIO back", 15*time.Second, func() bool { code, _ := d.call("GET", "/readyz", "", nil); return code == 200 })
	pr, pw = io.Pipe()
	go func() { pw.CloseWithError(bigModule(pw, 1<<20)) }()
	if code, body := d.upload("acme/vpc", "big", "2.0.0", pr); code != 201 {
		t.Errorf("upload with MinIO back = %d %s", code, body)
	}
	resp, err = d.client().Do(req)
	if err != nil || resp.StatusCode != 200 {
		t.Fatalf("download with MinIO back: %v %v", err, resp)
	}
	dh = sha256.New()
	_, err = io.Copy(dh, resp.Body)
	resp.Body.Close()
	if err != nil || hex.EncodeToString(dh.Sum(nil)) != want {
		t.Errorf("download with MinIO back: %v, sha256 match %v", err, hex.EncodeToString(dh.Sum(nil)) == want)
	}
}
