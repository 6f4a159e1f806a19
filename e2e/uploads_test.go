package e2e

import (
	"archive/tar"
	"archive/zip"
	"bytes"
	"compress/gzip"
	"context"
	"encoding/json"
	"fmt"
	"io"
	"io/fs"
	"net/http"
	"net/url"
	"path/filepath"
	"strings"
	"sync"
	"testing"

	"github.com/cairn-registry/cairn/internal/server"
	"github.com/cairn-registry/cairn/internal/testserver"
)

// inproc is a Cairn started in this process over plain HTTP, for API tests.
type inproc struct {
	t     testing.TB
	srv   *server.Server
	admin string
	blobs string
}

func startInProcess(t testing.TB, extra map[string]string) *inproc {
	t.Helper()
	opts := []testserver.Option{testserver.Env(extra)}
	srv := testserver.Start(t, opts...)
	return &inproc{t: t, srv: srv.Server, admin: srv.AdminToken, blobs: filepath.Join(srv.DataDir, "blobs", "objects")}
}

func (s *inproc) do(method, path string, header map[string]string, body io.Reader) (int, http.Header, string) {
	s.t.Helper()
	req, _ := http.NewRequest(method, s.srv.URL+path, body)
	for k, v := range header {
		req.Header.Set(k, v)
	}
	client := &http.Client{CheckRedirect: func(*http.Request, []*http.Request) error { return http.ErrUseLastResponse }}
	resp, err := client.Do(req)
	if err != nil {
		s.t.Fatalf("%s %s: %v", method, path, err)
	}
	defer resp.Body.Close()
	b, _ := io.ReadAll(resp.Body)
	return resp.StatusCode, resp.Header, string(b)
}

func (s *inproc) json(method, path string, body any, out any) {
	s.t.Helper()
	b, _ := json.Marshal(body)
	code, _, resp := s.do(method, "/api/v4"+path, map[string]string{"PRIVATE-TOKEN": s.admin, "Content-Type": "application/json"}, bytes.NewReader(b))
	if code >= 300 {
		s.t.Fatalf("%s %s = %d %s", method, path, code, resp)
	}
	if out != nil {
		json.Unmarshal([]byte(resp), out)
	}
}

func (s *inproc) upload(header map[string]string, project, name, system, version string, body []byte) (int, string) {
	s.t.Helper()
	if header == nil {
		header = map[string]string{"PRIVATE-TOKEN": s.admin}
	}
	code, _, resp := s.do("PUT", fmt.Sprintf("/api/v4/projects/%s/packages/terraform/modules/%s/%s/%s/file", url.PathEscape(project), name, system, version), header, bytes.NewReader(body))
	return code, resp
}

// blobCount counts stored objects: nothing may be left by a failed upload.
func (s *inproc) blobCount() int {
	n := 0
	filepath.WalkDir(s.blobs, func(_ string, d fs.DirEntry, err error) error {
		if err == nil && !d.IsDir() {
			n++
		}
		return nil
	})
	return n
}

func (s *inproc) versionRows() int {
	var n int
	s.srv.Pool.QueryRow(context.Background(), "SELECT count(*) FROM module_versions").Scan(&n)
	return n
}

type entry struct {
	name, body, link string
	typ              byte
	size             int64
}

func tgz(entries ...entry) []byte {
	var buf bytes.Buffer
	gz := gzip.NewWriter(&buf)
	tw := tar.NewWriter(gz)
	for _, e := range entries {
		h := &tar.Header{Name: e.name, Mode: 0o644, Typeflag: tar.TypeReg, Size: int64(len(e.body))}
		if e.typ != 0 {
			h.Typeflag, h.Linkname, h.Size = e.typ, e.link, 0
		}
		if e.size > 0 {
			h.Size = e.size
		}
		tw.WriteHeader(h)
		if e.size > 0 {
			io.Copy(tw, io.LimitReader(zeros{}, e.size))
		} else {
			tw.Write([]byte(e.body))
		}
	}
	tw.Close()
	gz.Close()
	return buf.Bytes()
}

type zeros struct{}

func (zeros) Read(p []byte) (int, error) { clear(p); return len(p), nil }

func zipOf(entries ...entry) []byte {
	var buf bytes.Buffer
	zw := zip.NewWriter(&buf)
	for _, e := range entries {
		w, _ := zw.Create(e.name)
		w.Write([]byte(e.body))
	}
	zw.Close()
	return buf.Bytes()
}

var goodModule = tgz(entry{name: "main.tf", body: "output \"x\" { value = 1 }\n"})

func TestUploadRejectsBadInputAndLeavesNothing(t *testing.T) {
	t.Parallel()
	s := startInProcess(t, map[string]string{"CAIRN_MAX_UPLOAD_SIZE": "2000000"})
	var g struct{ ID int64 }
	s.json("POST", "/groups", map[string]any{"path": "acme", "name": "acme"}, &g)
	s.json("POST", "/projects", map[string]any{"path": "vpc", "namespace_id": g.ID}, nil)
	s.json("POST", "/projects", map[string]any{"path": "other", "namespace_id": g.ID}, nil)

	cases := []struct {
		name, modName, system, version string
		body                           []byte
		header                         map[string]string
		status                         int
		message                        string
	}{
		{"invalid name", "VPC_", "aws", "1.0.0", goodModule, nil, 422, "Validation failed: Name is invalid"},
		{"invalid system", "vpc", "a.b", "1.0.0", goodModule, nil, 422, "Name is invalid"},
		{"v prefix", "vpc", "aws", "v1.0.0", goodModule, nil, 400, "leading"},
		{"not semver", "vpc", "aws", "1.0", goodModule, nil, 400, "not a valid semantic version"},
		{"no file", "vpc", "aws", "1.0.0", nil, nil, 400, "file is missing"},
		{"not an archive", "vpc", "aws", "1.0.0", []byte("hello, I am not an archive"), nil, 400, "not a .tar.gz or .zip"},
		{"zip slip", "vpc", "aws", "1.0.0", tgz(entry{name: "../../etc/evil.tf", body: "x"}), nil, 400, "escapes"},
		{"absolute path", "vpc", "aws", "1.0.0", tgz(entry{name: "/etc/passwd", body: "x"}), nil, 400, "/etc/passwd"},
		{"symlink escaping", "vpc", "aws", "1.0.0", tgz(entry{name: "link", typ: tar.TypeSymlink, link: "../../etc/passwd"}), nil, 400, "symbolic link"},
		{"zip slip in zip", "vpc", "aws", "1.0.0", zipOf(entry{name: "../evil.tf", body: "x"}), nil, 400, "escapes"},
		{"bomb", "vpc", "aws", "1.0.0", tgz(entry{name: "zeros.bin", size: 50 << 20}), nil, 400, "times its compressed size"},
		{"too large", "vpc", "aws", "1.0.0", bytes.Repeat([]byte{0x1f, 0x8b, 0, 0}, 600_000), nil, 400, "File is too large"},
		{"truncated", "vpc", "aws", "1.0.0", goodModule[:len(goodModule)/2], nil, 400, ""},
		{"bad token", "vpc", "aws", "1.0.0", goodModule, map[string]string{"PRIVATE-TOKEN": "cairnpat-nope"}, 401, "401"},
		{"two credentials", "vpc", "aws", "1.0.0", goodModule, map[string]string{"PRIVATE-TOKEN": s.admin, "JOB-TOKEN": "x.y.z"}, 400, "Found more than one set of credentials"},
		{"anonymous", "vpc", "aws", "1.0.0", goodModule, map[string]string{"X-None": "1"}, 401, "401"},
	}
	for _, tc := range cases {
		code, body := s.upload(tc.header, "acme/vpc", tc.modName, tc.system, tc.version, tc.body)
		if code != tc.status || !strings.Contains(body, tc.message) {
			t.Errorf("%s: got %d %s, want %d containing %q", tc.name, code, body, tc.status, tc.message)
		}
		if n := s.blobCount(); n != 0 {
			t.Fatalf("%s: %d blobs left behind", tc.name, n)
		}
		if n := s.versionRows(); n != 0 {
			t.Fatalf("%s: %d version rows left behind", tc.name, n)
		}
	}

	// Duplicates: same version in the project; same name in another project.
	if code, body := s.upload(nil, "acme/vpc", "vpc", "aws", "1.0.0", goodModule); code != 201 {
		t.Fatalf("good upload = %d %s", code, body)
	}
	if code, body := s.upload(nil, "acme/vpc", "vpc", "aws", "1.0.0", goodModule); code != 403 || !strings.Contains(body, "same name & version already exists in the project") {
		t.Errorf("same version again = %d %s", code, body)
	}
	if code, body := s.upload(nil, "acme/other", "vpc", "aws", "2.0.0", goodModule); code != 403 || !strings.Contains(body, "same name already exists in the namespace") {
		t.Errorf("same name in another project = %d %s", code, body)
	}
	if n := s.blobCount(); n != 2 {
		t.Fatalf("after refused duplicates %d blobs exist, want 2 (the archive and its zip)", n)
	}
	// The namespace may allow duplicates (GitLab's package setting).
	s.json("PUT", fmt.Sprintf("/groups/%d/package_settings", g.ID), map[string]any{"terraform_module_duplicates_allowed": true}, nil)
	if code, body := s.upload(nil, "acme/other", "vpc", "aws", "2.0.0", goodModule); code != 201 {
		t.Errorf("same name in another project with duplicates allowed = %d %s", code, body)
	}
}

func TestConcurrentUploadsOfOneVersion(t *testing.T) {
	t.Parallel()
	s := startInProcess(t, nil)
	var g struct{ ID int64 }
	s.json("POST", "/groups", map[string]any{"path": "acme", "name": "acme"}, &g)
	s.json("POST", "/projects", map[string]any{"path": "vpc", "namespace_id": g.ID}, nil)
	const n = 8
	codes := make([]int, n)
	var wg sync.WaitGroup
	for i := range n {
		wg.Add(1)
		go func() {
			defer wg.Done()
			codes[i], _ = s.upload(nil, "acme/vpc", "vpc", "aws", "3.0.0", goodModule)
		}()
	}
	wg.Wait()
	created, refused := 0, 0
	for _, c := range codes {
		switch c {
		case 201:
			created++
		case 403:
			refused++
		}
	}
	if created != 1 || refused != n-1 {
		t.Fatalf("concurrent uploads answered %v; want exactly one 201 and %d 403", codes, n-1)
	}
	if b := s.blobCount(); b != 2 {
		t.Fatalf("%d blobs stored, want 2 (the archive and its zip)", b)
	}
}

func TestDownloadURLs(t *testing.T) {
	t.Parallel()
	s := startInProcess(t, nil)
	var g struct{ ID int64 }
	s.json("POST", "/groups", map[string]any{"path": "acme", "name": "acme"}, &g)
	s.json("POST", "/projects", map[string]any{"path": "vpc", "namespace_id": g.ID}, nil)
	for _, v := range []string{"0.0.9", "0.0.10", "0.1.0-beta"} {
		if code, body := s.upload(nil, "acme/vpc", "vpc", "aws", v, goodModule); code != 201 {
			t.Fatalf("upload %s = %d %s", v, code, body)
		}
	}
	auth := map[string]string{"Authorization": "Bearer " + s.admin}
	// Latest is semver order: 0.0.10, not 0.0.9, and not the pre-release.
	code, hdr, _ := s.do("GET", "/v1/modules/acme/vpc/aws/download", auth, nil)
	if code != 302 || !strings.HasSuffix(hdr.Get("Location"), "/acme/vpc/aws/0.0.10/download") {
		t.Fatalf("latest download = %d Location %q", code, hdr.Get("Location"))
	}
	code, _, body := s.do("GET", "/api/v4/packages/terraform/modules/v1/acme/vpc/aws", auth, nil)
	if code != 200 || !strings.Contains(body, `"version":"0.0.10"`) {
		t.Fatalf("GitLab latest details = %d %s", code, body)
	}
	code, hdr, body = s.do("GET", "/v1/modules/acme/vpc/aws/0.0.10/download", auth, nil)
	get := hdr.Get("X-Terraform-Get")
	if code != 204 || body != "" || !strings.Contains(get, "archive=tgz") || strings.Contains(get, s.admin) {
		t.Fatalf("download = %d body %q X-Terraform-Get %q", code, body, get)
	}
	fileURL, _ := url.Parse(get)
	path := fileURL.RequestURI()
	for _, method := range []string{"HEAD", "GET"} {
		code, hdr, body := s.do(method, path, nil, nil)
		if code != 200 || hdr.Get("Content-Length") != fmt.Sprint(len(goodModule)) {
			t.Fatalf("%s archive = %d length %s", method, code, hdr.Get("Content-Length"))
		}
		if method == "GET" && body != string(goodModule) {
			t.Fatal("archive bytes differ from the upload")
		}
	}
	tok := fileURL.Query().Get("token")
	tampered := strings.Replace(path, url.QueryEscape(tok), url.QueryEscape(tok[:len(tok)-2]+"xx"), 1)
	if code, _, _ := s.do("GET", tampered, nil, nil); code != 403 {
		t.Fatalf("tampered token = %d, want 403", code)
	}
	other := strings.Replace(path, "/0.0.10/", "/0.0.9/", 1)
	if code, _, _ := s.do("GET", other, nil, nil); code != 403 {
		t.Fatalf("token used for another version = %d, want 403", code)
	}
	if err := s.srv.Modules.FlushDownloads(context.Background()); err != nil {
		t.Fatal(err)
	}
	var count int
	s.srv.Pool.QueryRow(context.Background(), "SELECT coalesce(sum(count),0) FROM module_downloads").Scan(&count)
	if count != 1 {
		t.Fatalf("downloads counted %d, want 1", count)
	}
	// GitLab project-level download: Basic auth, ?terraform-get=1 → 204.
	basic := map[string]string{"Authorization": "Basic " + basicAuth("root", s.admin)}
	code, hdr, _ = s.do("GET", "/api/v4/projects/acme%2Fvpc/packages/terraform/modules/vpc/aws/0.0.9?terraform-get=1", basic, nil)
	if code != 204 || hdr.Get("X-Terraform-Get") == "" {
		t.Fatalf("project-level terraform-get = %d", code)
	}
	code, _, body = s.do("GET", "/api/v4/projects/acme%2Fvpc/packages/terraform/modules/vpc/aws/0.0.9", basic, nil)
	if code != 200 || body != string(goodModule) {
		t.Fatalf("project-level file = %d", code)
	}
}
