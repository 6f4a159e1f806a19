package modules_test

import (
	"archive/tar"
	"archive/zip"
	"bytes"
	"compress/gzip"
	"context"
	"crypto/sha256"
	"encoding/hex"
	"errors"
	"fmt"
	"io"
	"io/fs"
	"net/http"
	"path/filepath"
	"sort"
	"strings"
	"testing"

	gitlab "gitlab.com/gitlab-org/api/client-go"

	"github.com/cairn-registry/cairn/blobs"
	"github.com/cairn-registry/cairn/internal/testserver"
	"github.com/cairn-registry/cairn/modules"
)

// zipModule is the module the source.zip tests publish.
var zipModule = map[string]string{
	"main.tf":                 "variable \"name\" {}\n\noutput \"name\" { value = var.name }\n",
	"README.md":               "# VPC\n\nA module.\n",
	"modules/subnets/main.tf": "output \"x\" { value = 1 }\n",
	"examples/basic/main.tf":  "module \"vpc\" {\n  source = \"../..\"\n  name   = \"x\"\n}\n",
}

func tarGz(t *testing.T, files map[string]string) []byte {
	t.Helper()
	var buf bytes.Buffer
	gz := gzip.NewWriter(&buf)
	tw := tar.NewWriter(gz)
	names := make([]string, 0, len(files))
	for n := range files {
		names = append(names, n)
	}
	sort.Strings(names)
	for _, n := range names {
		if err := tw.WriteHeader(&tar.Header{Name: n, Mode: 0o644, Size: int64(len(files[n])), Typeflag: tar.TypeReg}); err != nil {
			t.Fatal(err)
		}
		tw.Write([]byte(files[n]))
	}
	if err := tw.Close(); err != nil {
		t.Fatal(err)
	}
	if err := gz.Close(); err != nil {
		t.Fatal(err)
	}
	return buf.Bytes()
}

// zipServer is a server with a public project acme/vpc.
type zipServer struct {
	srv     *testserver.Server
	project int64
}

func startZipServer(t *testing.T) *zipServer {
	t.Helper()
	s := testserver.Start(t)
	gl := s.GitLab(t, s.AdminToken)
	g, resp, err := gl.Groups.CreateGroup(&gitlab.CreateGroupOptions{Name: gitlab.Ptr("Acme"), Path: gitlab.Ptr("acme"),
		Visibility: gitlab.Ptr(gitlab.PublicVisibility)})
	testserver.WantStatus(t, "POST /groups", resp, err, http.StatusCreated)
	p, resp, err := gl.Projects.CreateProject(&gitlab.CreateProjectOptions{Name: gitlab.Ptr("VPC"), Path: gitlab.Ptr("vpc"),
		NamespaceID: gitlab.Ptr(g.ID), Visibility: gitlab.Ptr(gitlab.PublicVisibility)})
	testserver.WantStatus(t, "POST /projects", resp, err, http.StatusCreated)
	return &zipServer{srv: s, project: p.ID}
}

// upload publishes acme/vpc/aws at version and returns the status.
func (z *zipServer) upload(t *testing.T, version string, body []byte) (int, string) {
	t.Helper()
	req, err := http.NewRequest(http.MethodPut, fmt.Sprintf("%s/api/v4/projects/%d/packages/terraform/modules/vpc/aws/%s/file",
		z.srv.URL, z.project, version), bytes.NewReader(body))
	if err != nil {
		t.Fatal(err)
	}
	req.Header.Set("PRIVATE-TOKEN", z.srv.AdminToken)
	resp, err := http.DefaultClient.Do(req)
	if err != nil {
		t.Fatal(err)
	}
	defer resp.Body.Close()
	b, _ := io.ReadAll(resp.Body)
	return resp.StatusCode, string(b)
}

// keys returns a version's blob and zip blob keys ("" when NULL).
func (z *zipServer) keys(t *testing.T, version string) (blob, zipKey string) {
	t.Helper()
	var zk *string
	err := z.srv.Pool.QueryRow(context.Background(),
		`SELECT blob_key, zip_blob_key FROM module_versions WHERE version = $1`, version).Scan(&blob, &zk)
	if err != nil {
		t.Fatal(err)
	}
	if zk != nil {
		zipKey = *zk
	}
	return blob, zipKey
}

// sourceZip requests source.zip and checks it unzips to zipModule.
func (z *zipServer) sourceZip(t *testing.T, version string) []byte {
	t.Helper()
	resp, body := z.srv.Raw(t, http.MethodGet, "/v1/terrareg/modules/acme/vpc/aws/"+version+"/source.zip", nil, "")
	if resp.StatusCode != http.StatusOK || resp.Header.Get("Content-Type") != "application/zip" ||
		!strings.Contains(resp.Header.Get("Content-Disposition"), `filename="vpc-aws-`+version+`.zip"`) {
		t.Fatalf("GET source.zip = %d %v", resp.StatusCode, resp.Header)
	}
	zr, err := zip.NewReader(bytes.NewReader(body), int64(len(body)))
	if err != nil {
		t.Fatalf("source.zip does not unzip: %v", err)
	}
	got := map[string]string{}
	for _, f := range zr.File {
		rc, err := f.Open()
		if err != nil {
			t.Fatal(err)
		}
		b, err := io.ReadAll(rc)
		rc.Close()
		if err != nil {
			t.Fatal(err)
		}
		got[f.Name] = string(b)
	}
	if len(got) != len(zipModule) {
		t.Errorf("source.zip holds %d files, want %d: %v", len(got), len(zipModule), got)
	}
	for n, want := range zipModule {
		if got[n] != want {
			t.Errorf("source.zip %s = %q, want %q", n, got[n], want)
		}
	}
	return body
}

// blobSHA256 is the stored object's digest, failing when it is missing.
func (z *zipServer) blobSHA256(t *testing.T, key string) string {
	t.Helper()
	obj, _, err := z.srv.Blobs.Get(context.Background(), key)
	if err != nil {
		t.Fatalf("blob %q: %v", key, err)
	}
	defer obj.Close()
	h := sha256.New()
	if _, err := io.Copy(h, obj); err != nil {
		t.Fatal(err)
	}
	return hex.EncodeToString(h.Sum(nil))
}

func sum(b []byte) string {
	h := sha256.Sum256(b)
	return hex.EncodeToString(h[:])
}

// TestSourceZipBuiltOnce: publishing a .tar.gz builds its zip once, and
// source.zip serves that stored zip, never encoding on request. (Not
// parallel: it hooks the package's zip encoder.)
func TestSourceZipBuiltOnce(t *testing.T) {
	z := startZipServer(t)
	encodes := modules.CountZipEncodes(t, nil)
	if code, body := z.upload(t, "1.0.0", tarGz(t, zipModule)); code != http.StatusCreated {
		t.Fatalf("upload = %d %s", code, body)
	}
	if n := encodes(); n != 1 {
		t.Errorf("publishing encoded %d zips, want 1", n)
	}
	_, zipKey := z.keys(t, "1.0.0")
	if zipKey == "" {
		t.Fatal("the version row records no zip after publish")
	}
	stored := z.blobSHA256(t, zipKey)
	for i := range 2 {
		body := z.sourceZip(t, "1.0.0")
		if got := sum(body); got != stored {
			t.Errorf("request %d: source.zip sha256 %s, want the stored zip's %s", i+1, got, stored)
		}
	}
	if n := encodes(); n != 1 {
		t.Errorf("%d zip encodings after two source.zip requests, want 1 (at publish only)", n)
	}
}

// TestSourceZipLegacyConvertedOnce: a version published before zips were
// built (zip_blob_key NULL) is converted on its first request, and the
// stored result serves every later one.
func TestSourceZipLegacyConvertedOnce(t *testing.T) {
	z := startZipServer(t)
	if code, body := z.upload(t, "1.0.0", tarGz(t, zipModule)); code != http.StatusCreated {
		t.Fatalf("upload = %d %s", code, body)
	}
	_, built := z.keys(t, "1.0.0")
	if _, err := z.srv.Pool.Exec(context.Background(), `UPDATE module_versions SET zip_blob_key = NULL`); err != nil {
		t.Fatal(err)
	}
	if built != "" {
		if err := z.srv.Blobs.Delete(context.Background(), built); err != nil {
			t.Fatal(err)
		}
	}
	z.srv.Modules.ForgetLookups()

	encodes := modules.CountZipEncodes(t, nil)
	first := z.sourceZip(t, "1.0.0")
	_, zipKey := z.keys(t, "1.0.0")
	if zipKey == "" {
		t.Fatal("the first request recorded no zip")
	}
	if got, want := sum(first), z.blobSHA256(t, zipKey); got != want {
		t.Errorf("first source.zip sha256 %s, want the stored zip's %s", got, want)
	}
	second := z.sourceZip(t, "1.0.0")
	if !bytes.Equal(first, second) {
		t.Error("second source.zip differs from the first")
	}
	if n := encodes(); n != 1 {
		t.Errorf("%d zip encodings for two requests of a legacy version, want 1", n)
	}
}

// TestSourceZipPublishFailureLeavesNothing: when the zip cannot be built the
// upload fails and neither blob nor row remains; deleting a version deletes
// both of its blobs.
func TestSourceZipPublishFailureLeavesNothing(t *testing.T) {
	z := startZipServer(t)
	countBlobs := func() int {
		n := 0
		filepath.WalkDir(z.srv.DataDir, func(p string, d fs.DirEntry, err error) error {
			// Stored objects (blobs/objects/modules/...) and unfinished puts (blobs/tmp).
			if err == nil && !d.IsDir() && strings.Contains(filepath.ToSlash(p), "/blobs/") {
				n++
			}
			return nil
		})
		return n
	}
	before := countBlobs()
	encodes := modules.CountZipEncodes(t, errors.New("disk full"))
	if code, _ := z.upload(t, "1.0.0", tarGz(t, zipModule)); code < 500 {
		t.Fatalf("upload with a failing zip build = %d, want 5xx", code)
	}
	if n := encodes(); n != 1 {
		t.Fatalf("%d zip builds attempted, want 1 (after the archive was stored)", n)
	}
	var rows int
	if err := z.srv.Pool.QueryRow(context.Background(), `SELECT count(*) FROM module_versions`).Scan(&rows); err != nil {
		t.Fatal(err)
	}
	if rows != 0 || countBlobs() != before {
		t.Errorf("after the failed publish: %d rows, %d blob files (before %d); want none left", rows, countBlobs(), before)
	}
}

// TestSourceZipDeleteVersion: deleting a version deletes its archive and its
// zip.
func TestSourceZipDeleteVersion(t *testing.T) {
	t.Parallel()
	z := startZipServer(t)
	if code, body := z.upload(t, "1.0.0", tarGz(t, zipModule)); code != http.StatusCreated {
		t.Fatalf("upload = %d %s", code, body)
	}
	blob, zipKey := z.keys(t, "1.0.0")
	if zipKey == "" {
		t.Fatal("no zip recorded")
	}
	var id int64
	if err := z.srv.Pool.QueryRow(context.Background(), `SELECT id FROM module_versions`).Scan(&id); err != nil {
		t.Fatal(err)
	}
	resp, body := z.srv.Raw(t, http.MethodDelete, fmt.Sprintf("/api/v4/projects/%d/packages/%d", z.project, id),
		map[string]string{"PRIVATE-TOKEN": z.srv.AdminToken}, "")
	if resp.StatusCode != http.StatusNoContent {
		t.Fatalf("DELETE package = %d %s", resp.StatusCode, body)
	}
	for _, key := range []string{blob, zipKey} {
		if _, err := z.srv.Blobs.Stat(context.Background(), key); !errors.Is(err, blobs.ErrNotFound) {
			t.Errorf("blob %s after delete: %v, want not found", key, err)
		}
	}
}
