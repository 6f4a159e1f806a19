package modules_test

import (
	"archive/tar"
	"bytes"
	"compress/gzip"
	"context"
	"errors"
	"fmt"
	"io/fs"
	"net/http"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/jackc/pgx/v5"
	"github.com/jackc/pgx/v5/pgxpool"
	gitlab "gitlab.com/gitlab-org/api/client-go"

	"github.com/cairn-registry/cairn/blobs"
	"github.com/cairn-registry/cairn/internal/testenv"
	"github.com/cairn-registry/cairn/internal/testserver"
	"github.com/cairn-registry/cairn/modules"
)

// sweepArchive is a minimal module archive (.tar.gz).
func sweepArchive(t *testing.T, version string) []byte {
	t.Helper()
	var buf bytes.Buffer
	gz := gzip.NewWriter(&buf)
	tw := tar.NewWriter(gz)
	body := fmt.Sprintf("output \"version\" { value = %q }\n", version)
	if err := tw.WriteHeader(&tar.Header{Name: "main.tf", Mode: 0o644, Size: int64(len(body)), Typeflag: tar.TypeReg}); err != nil {
		t.Fatal(err)
	}
	tw.Write([]byte(body))
	if err := tw.Close(); err != nil {
		t.Fatal(err)
	}
	if err := gz.Close(); err != nil {
		t.Fatal(err)
	}
	return buf.Bytes()
}

// publishVia uploads name/aws at version to project through the GitLab API.
func publishVia(t *testing.T, s *testserver.Server, project int64, name, version string) {
	t.Helper()
	url := fmt.Sprintf("%s/api/v4/projects/%d/packages/terraform/modules/%s/aws/%s/file", s.URL, project, name, version)
	req, err := http.NewRequest(http.MethodPut, url, bytes.NewReader(sweepArchive(t, version)))
	if err != nil {
		t.Fatal(err)
	}
	req.Header.Set("PRIVATE-TOKEN", s.AdminToken)
	resp, err := http.DefaultClient.Do(req)
	if err != nil {
		t.Fatal(err)
	}
	resp.Body.Close()
	if resp.StatusCode != http.StatusCreated {
		t.Fatalf("publishing %s/aws %s to project %d = %d, want 201", name, version, project, resp.StatusCode)
	}
}

// objectFiles lists the files of a filesystem blob store's objects/.
func objectFiles(t *testing.T, blobDir string) []string {
	t.Helper()
	var out []string
	root := filepath.Join(blobDir, "objects")
	err := filepath.WalkDir(root, func(p string, d fs.DirEntry, err error) error {
		if err != nil {
			return err
		}
		if !d.IsDir() {
			rel, _ := filepath.Rel(root, p)
			out = append(out, filepath.ToSlash(rel))
		}
		return nil
	})
	if err != nil {
		t.Fatal(err)
	}
	return out
}

// TestDeletedProjectLeavesNoArchives: deleting a project, or a group with
// a project in a subgroup, removes the archives of its module versions.
func TestDeletedProjectLeavesNoArchives(t *testing.T) {
	t.Parallel()
	s := testserver.Start(t)
	gl := s.GitLab(t, s.AdminToken)
	blobDir := filepath.Join(s.DataDir, "blobs")
	group := func(path string, parent *int64) *gitlab.Group {
		t.Helper()
		g, resp, err := gl.Groups.CreateGroup(&gitlab.CreateGroupOptions{Name: gitlab.Ptr(path), Path: gitlab.Ptr(path), ParentID: parent})
		testserver.WantStatus(t, "POST /groups "+path, resp, err, http.StatusCreated)
		return g
	}
	project := func(path string, group int64) int64 {
		t.Helper()
		p, resp, err := gl.Projects.CreateProject(&gitlab.CreateProjectOptions{Path: gitlab.Ptr(path), NamespaceID: gitlab.Ptr(group)})
		testserver.WantStatus(t, "POST /projects "+path, resp, err, http.StatusCreated)
		return p.ID
	}

	// A project of its own namespace, and a group whose subgroup holds one.
	solo := group("solo", nil)
	vpc := project("vpc", solo.ID)
	acme := group("acme", nil)
	net := group("net", gitlab.Ptr(acme.ID))
	subnets := project("subnets", net.ID)
	for _, v := range []string{"1.0.0", "1.1.0"} {
		publishVia(t, s, vpc, "vpc", v)
		publishVia(t, s, subnets, "subnets", v)
	}
	if n := len(objectFiles(t, blobDir)); n < 4 {
		t.Fatalf("%d blobs after publishing four versions, want at least 4", n)
	}

	t.Run("Project", func(t *testing.T) {
		resp, err := gl.Projects.DeleteProject(vpc, nil)
		if err != nil || resp.StatusCode/100 != 2 {
			t.Fatalf("DELETE /projects/%d = %v, %v", vpc, testserver.Status(resp), err)
		}
		left := objectFiles(t, blobDir)
		var n int
		if err := s.Pool.QueryRow(context.Background(),
			`SELECT count(blob_key) + count(zip_blob_key) FROM module_versions`).Scan(&n); err != nil {
			t.Fatal(err)
		}
		if len(left) != n {
			t.Fatalf("after deleting solo/vpc: %d blobs (%v) for %d blob references left; want the project's archives gone", len(left), left, n)
		}
	})
	t.Run("Group", func(t *testing.T) {
		resp, err := gl.Groups.DeleteGroup(acme.ID, nil)
		if err != nil || resp.StatusCode/100 != 2 {
			t.Fatalf("DELETE /groups/%d = %v, %v", acme.ID, testserver.Status(resp), err)
		}
		if left := objectFiles(t, blobDir); len(left) != 0 {
			t.Fatalf("after deleting every project: blobs %v remain under %s/objects, want none", left, blobDir)
		}
	})
}

// sweepFixture is a database with one module version referencing a blob.
type sweepFixture struct {
	db    *pgxpool.Pool
	store blobs.Store
	// referenced is the version's archive; zip its built zip.
	referenced, zip string
}

func newSweepFixture(t *testing.T, store blobs.Store) *sweepFixture {
	t.Helper()
	f := &sweepFixture{db: testenv.Pool(t), store: store, referenced: "modules/referenced", zip: "modules/referenced.zip"}
	ctx := context.Background()
	var version int64
	err := f.db.QueryRow(ctx, `
		WITH g AS (INSERT INTO groups (path, name, full_path) VALUES ('acme', 'acme', 'acme') RETURNING id),
		     p AS (INSERT INTO projects (group_id, path, name, full_path) SELECT id, 'vpc', 'vpc', 'acme/vpc' FROM g RETURNING id, group_id),
		     m AS (INSERT INTO terraform_modules (project_id, namespace_id, name, system) SELECT id, group_id, 'vpc', 'aws' FROM p RETURNING id)
		INSERT INTO module_versions (module_id, version, is_prerelease, blob_key, zip_blob_key, archive_format, sha256, size)
		SELECT id, '1.0.0', false, $1, $2, 'tgz', '', 1 FROM m RETURNING id`, f.referenced, f.zip).Scan(&version)
	if err != nil {
		t.Fatal(err)
	}
	for _, k := range []string{f.referenced, f.zip} {
		f.put(t, k)
	}
	return f
}

func (f *sweepFixture) put(t *testing.T, key string) {
	t.Helper()
	if _, err := f.store.Put(context.Background(), key, strings.NewReader(key), blobs.PutOptions{}); err != nil {
		t.Fatal(err)
	}
}

func (f *sweepFixture) exists(t *testing.T, key string) bool {
	t.Helper()
	_, err := f.store.Stat(context.Background(), key)
	if err != nil && !errors.Is(err, blobs.ErrNotFound) {
		t.Fatal(err)
	}
	return err == nil
}

// check sweeps and compares what is left with want (key → kept).
func (f *sweepFixture) check(t *testing.T, sw *modules.Sweeper, want map[string]bool, removed int) {
	t.Helper()
	res, err := sw.Sweep(context.Background())
	if err != nil || res.Skipped || res.Removed != removed {
		t.Fatalf("Sweep = %+v, %v; want %d removed", res, err, removed)
	}
	for key, kept := range want {
		if got := f.exists(t, key); got != kept {
			t.Errorf("after the sweep %s exists = %v, want %v", key, got, kept)
		}
	}
}

// TestSweeperRemovesUnreferencedBlobs: a sweep removes module blobs no
// version references once they are older than the threshold, and keeps
// the young (possibly uploads in flight), the referenced and whatever is
// outside modules/; one replica sweeps at a time.
func TestSweeperRemovesUnreferencedBlobs(t *testing.T) {
	t.Parallel()
	t.Run("FS", func(t *testing.T) {
		t.Parallel()
		dir := t.TempDir()
		store, err := blobs.NewFS(dir)
		if err != nil {
			t.Fatal(err)
		}
		f := newSweepFixture(t, store)
		old := time.Now().Add(-2 * time.Hour)
		age := func(key string) {
			t.Helper()
			if err := os.Chtimes(filepath.Join(dir, "objects", filepath.FromSlash(key)), old, old); err != nil {
				t.Fatal(err)
			}
		}
		for _, k := range []string{"modules/orphan-old", "modules/orphan-fresh", "other/old"} {
			f.put(t, k)
		}
		for _, k := range []string{"modules/orphan-old", "other/old", f.referenced, f.zip} {
			age(k)
		}
		// Leftovers of interrupted puts, one old, one possibly in flight.
		for name, mtime := range map[string]time.Time{"put-old": old, "put-fresh": time.Now()} {
			p := filepath.Join(dir, "tmp", name)
			if err := os.WriteFile(p, []byte("partial"), 0o600); err != nil {
				t.Fatal(err)
			}
			if err := os.Chtimes(p, mtime, mtime); err != nil {
				t.Fatal(err)
			}
		}

		sw := modules.NewSweeper(f.db, store, nil)
		// Another replica sweeping: this one skips and removes nothing.
		conn, err := pgx.ConnectConfig(context.Background(), f.db.Config().ConnConfig.Copy())
		if err != nil {
			t.Fatal(err)
		}
		t.Cleanup(func() { conn.Close(context.Background()) })
		if _, err := conn.Exec(context.Background(), `SELECT pg_advisory_lock(hashtextextended('cairn:blob-sweep', 0))`); err != nil {
			t.Fatal(err)
		}
		if res, err := sw.Sweep(context.Background()); err != nil || !res.Skipped {
			t.Fatalf("Sweep while another replica holds the lock = %+v, %v; want skipped", res, err)
		}
		if !f.exists(t, "modules/orphan-old") {
			t.Fatal("a skipped sweep removed a blob")
		}
		if _, err := conn.Exec(context.Background(), `SELECT pg_advisory_unlock(hashtextextended('cairn:blob-sweep', 0))`); err != nil {
			t.Fatal(err)
		}

		f.check(t, sw, map[string]bool{"modules/orphan-old": false, "modules/orphan-fresh": true, "other/old": true,
			f.referenced: true, f.zip: true}, 1)
		if _, err := os.Stat(filepath.Join(dir, "tmp", "put-old")); !os.IsNotExist(err) {
			t.Errorf("old temporary file after the sweep: %v, want removed", err)
		}
		if _, err := os.Stat(filepath.Join(dir, "tmp", "put-fresh")); err != nil {
			t.Errorf("fresh temporary file after the sweep: %v, want kept", err)
		}
	})
	t.Run("S3", func(t *testing.T) {
		t.Parallel()
		// S3 objects cannot be back-dated: age them for real against a
		// short threshold (LastModified has one-second resolution).
		store := testenv.NewS3Store(t)
		f := newSweepFixture(t, store)
		f.put(t, "modules/orphan-old")
		f.put(t, "other/old")
		time.Sleep(4 * time.Second)
		f.put(t, "modules/orphan-fresh")
		sw := modules.NewSweeper(f.db, store, nil)
		sw.MinAge = 3 * time.Second
		f.check(t, sw, map[string]bool{"modules/orphan-old": false, "modules/orphan-fresh": true, "other/old": true,
			f.referenced: true, f.zip: true}, 1)
	})
}
