package backup_test

import (
	"archive/tar"
	"bytes"
	"compress/gzip"
	"crypto/sha256"
	"encoding/hex"
	"encoding/json"
	"fmt"
	"io"
	"net/http"
	"os"
	"os/exec"
	"path/filepath"
	"sort"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/cairn-registry/cairn/internal/testenv"
)

func TestMain(m *testing.M) { testenv.Main(m) }

func runCairn(t *testing.T, env map[string]string, args ...string) (string, error) {
	t.Helper()
	cmd := exec.Command(testenv.Binary(t), args...)
	cmd.Env = os.Environ()
	for k, v := range env {
		cmd.Env = append(cmd.Env, k+"="+v)
	}
	var out bytes.Buffer
	cmd.Stdout, cmd.Stderr = &out, &out
	if err := cmd.Start(); err != nil {
		t.Fatal(err)
	}
	timer := time.AfterFunc(3*time.Minute, func() { cmd.Process.Kill() })
	defer timer.Stop()
	err := cmd.Wait()
	return out.String(), err
}

type site struct {
	t     *testing.T
	proc  *testenv.Proc
	token string
}

func (s *site) do(method, path string, body io.Reader, contentType string) (int, []byte) {
	s.t.Helper()
	req, _ := http.NewRequest(method, s.proc.URL+path, body)
	req.Header.Set("PRIVATE-TOKEN", s.token)
	if contentType != "" {
		req.Header.Set("Content-Type", contentType)
	}
	resp, err := s.proc.Client(s.t).Do(req)
	if err != nil {
		s.t.Fatalf("%s %s: %v", method, path, err)
	}
	defer resp.Body.Close()
	b, _ := io.ReadAll(resp.Body)
	if resp.StatusCode == http.StatusNoContent {
		return resp.StatusCode, []byte(resp.Header.Get("X-Terraform-Get"))
	}
	return resp.StatusCode, b
}

func (s *site) upload(name, version string) {
	s.t.Helper()
	body := moduleArchive(name, version)
	code, b := s.do("PUT", fmt.Sprintf("/api/v4/projects/acme%%2Finfra/packages/terraform/modules/%s/aws/%s/file", name, version), bytes.NewReader(body), "")
	if code != 201 {
		s.t.Errorf("upload %s %s = %d %s", name, version, code, b)
	}
}

// state is every module version with its archive's sha256, as the
// registry serves it.
func (s *site) state(names []string) map[string]string {
	s.t.Helper()
	out := map[string]string{}
	for _, name := range names {
		code, b := s.do("GET", "/v1/modules/acme/"+name+"/aws/versions", nil, "")
		if code != 200 {
			s.t.Fatalf("versions of %s = %d %s", name, code, b)
		}
		var v struct {
			Modules []struct{ Versions []struct{ Version string } }
		}
		json.Unmarshal(b, &v)
		for _, ver := range v.Modules[0].Versions {
			code, link := s.do("GET", fmt.Sprintf("/v1/modules/acme/%s/aws/%s/download", name, ver.Version), nil, "")
			if code != 204 {
				s.t.Fatalf("download %s %s = %d", name, ver.Version, code)
			}
			u := string(link)
			if !strings.HasPrefix(u, "http") {
				u = s.proc.URL + u
			}
			resp, err := s.proc.Client(s.t).Get(u)
			if err != nil || resp.StatusCode != 200 {
				s.t.Fatalf("archive %s %s: %v %v", name, ver.Version, err, resp)
			}
			h := sha256.New()
			io.Copy(h, resp.Body)
			resp.Body.Close()
			out[name+"@"+ver.Version] = hex.EncodeToString(h.Sum(nil))
		}
	}
	return out
}

func moduleArchive(name, version string) []byte {
	var buf bytes.Buffer
	gz := gzip.NewWriter(&buf)
	tw := tar.NewWriter(gz)
	files := map[string]string{
		"main.tf":   fmt.Sprintf("output \"id\" {\n  value = %q\n}\n", name+"-"+version),
		"README.md": "# " + name + "\n\nVersion " + version + ".\n",
	}
	for _, n := range []string{"main.tf", "README.md"} {
		c := files[n]
		tw.WriteHeader(&tar.Header{Name: n, Mode: 0o644, Size: int64(len(c)), Typeflag: tar.TypeReg, ModTime: time.Unix(1700000000, 0)})
		tw.Write([]byte(c))
	}
	tw.Close()
	gz.Close()
	return buf.Bytes()
}

// TestBackupRestoreRoundTrip backs up a running Cairn on an external
// database and S3 (while uploads go on), restores into a fresh embedded
// cluster with the filesystem store, and compares every module version and
// archive hash as served.
func TestBackupRestoreRoundTrip(t *testing.T) {
	t.Parallel()
	s3 := testenv.S3(t)
	src := map[string]string{
		"CAIRN_DATA_DIR":      t.TempDir(),
		"CAIRN_DATABASE_URL":  testenv.DatabaseURL(t),
		"CAIRN_INSECURE_HTTP": "true",
		"CAIRN_STORAGE":       "s3",
		"CAIRN_S3_ENDPOINT":   s3.Endpoint,
		"CAIRN_S3_BUCKET":     s3.Bucket,
		"CAIRN_S3_ACCESS_KEY": s3.AccessKey,
		"CAIRN_S3_SECRET_KEY": s3.SecretKey,
		"CAIRN_S3_TLS":        "false",
		"CAIRN_LOG_LEVEL":     "warn",
	}
	proc := testenv.StartCairn(t, src)
	out, err := runCairn(t, src, "admin", "bootstrap", "--username", "root")
	if err != nil {
		t.Fatalf("bootstrap: %v\n%s", err, out)
	}
	lines := strings.Split(strings.TrimSpace(out), "\n")
	a := &site{t: t, proc: proc, token: lines[len(lines)-1]}
	if code, b := a.do("POST", "/api/v4/groups", strings.NewReader(`{"path":"acme","name":"acme","visibility":"private"}`), "application/json"); code != 201 {
		t.Fatalf("create group = %d %s", code, b)
	}
	var g struct{ ID int64 }
	_, b := a.do("GET", "/api/v4/groups/acme", nil, "")
	json.Unmarshal(b, &g)
	if code, b := a.do("POST", "/api/v4/projects", strings.NewReader(fmt.Sprintf(`{"path":"infra","name":"infra","namespace_id":%d}`, g.ID)), "application/json"); code != 201 {
		t.Fatalf("create project = %d %s", code, b)
	}
	names := []string{"vpc", "dns", "eks"}
	for _, n := range names {
		for _, v := range []string{"1.0.0", "1.1.0", "2.0.0-rc.1"} {
			a.upload(n, v)
		}
	}

	// Back up while uploads continue.
	dir := filepath.Join(t.TempDir(), "backup")
	var wg sync.WaitGroup
	wg.Add(1)
	go func() {
		defer wg.Done()
		for i := range 5 {
			a.upload("dns", fmt.Sprintf("3.%d.0", i))
		}
	}()
	out, err = runCairn(t, src, "admin", "backup", dir)
	wg.Wait()
	if err != nil {
		t.Fatalf("admin backup: %v\n%s", err, out)
	}
	var m struct {
		Objects    []struct{ Key string }
		Referenced int `json:"referenced_blobs"`
		Missing    []string
	}
	mb, err := os.ReadFile(filepath.Join(dir, "manifest.json"))
	if err != nil {
		t.Fatal(err)
	}
	json.Unmarshal(mb, &m)
	if len(m.Missing) > 0 || m.Referenced < 9 || len(m.Objects) < m.Referenced {
		t.Fatalf("manifest: %d objects, %d referenced, missing %v", len(m.Objects), m.Referenced, m.Missing)
	}
	// The live registry is the reference, minus versions published after
	// the snapshot (the concurrent uploads may or may not be in it).
	want := a.state(names)

	// A second backup into the same (now non-empty) directory is refused.
	if out, err := runCairn(t, src, "admin", "backup", dir); err == nil || !strings.Contains(out, "not empty") {
		t.Errorf("backup into a non-empty directory: %v\n%s", err, out)
	}
	// --skip-blobs leaves the objects out.
	skipDir := filepath.Join(t.TempDir(), "db-only")
	if out, err := runCairn(t, src, "admin", "backup", "--skip-blobs", skipDir); err != nil {
		t.Errorf("backup --skip-blobs: %v\n%s", err, out)
	} else if _, err := os.Stat(filepath.Join(skipDir, "blobs")); !os.IsNotExist(err) {
		t.Errorf("backup --skip-blobs copied objects")
	}

	// Restore into a fresh embedded cluster with the filesystem store.
	dst := map[string]string{
		"CAIRN_DATA_DIR":      testenv.DataDir(t),
		"CAIRN_INSECURE_HTTP": "true",
		"CAIRN_LOG_LEVEL":     "warn",
	}
	if out, err := runCairn(t, dst, "admin", "restore", dir); err != nil {
		t.Fatalf("admin restore: %v\n%s", err, out)
	}
	// Not twice: the database is no longer empty.
	if out, err := runCairn(t, dst, "admin", "restore", dir); err == nil || !strings.Contains(out, "empty database") {
		t.Errorf("restore into a non-empty database: %v\n%s", err, out)
	}
	restored := testenv.StartCairn(t, dst)
	r := &site{t: t, proc: restored, token: a.token} // tokens are restored too
	got := r.state(names)
	for k, sum := range got {
		if w, ok := want[k]; !ok {
			t.Errorf("restored %s, which the source does not serve", k)
		} else if w != sum {
			t.Errorf("%s: restored archive sha256 %s, source %s", k, sum, w)
		}
	}
	var missing []string
	for k := range want {
		if _, ok := got[k]; !ok && !strings.HasPrefix(k, "dns@3.") {
			missing = append(missing, k)
		}
	}
	sort.Strings(missing)
	if len(missing) > 0 {
		t.Errorf("versions lost in the round trip: %v", missing)
	}
	if len(got) < 9 {
		t.Errorf("restored %d versions, want at least the 9 published before the backup", len(got))
	}
	t.Logf("round trip: %d versions compared (source serves %d), %d objects copied", len(got), len(want), len(m.Objects))
}
