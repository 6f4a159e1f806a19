package blobs_test

import (
	"context"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/cairn-registry/cairn/blobs"
	"github.com/cairn-registry/cairn/blobs/blobstest"
	"github.com/cairn-registry/cairn/internal/testenv"
)

func TestMain(m *testing.M) { testenv.Main(m) }

func TestFSCompliance(t *testing.T) {
	store, err := blobs.NewFS(t.TempDir())
	if err != nil {
		t.Fatal(err)
	}
	blobstest.Run(t, store)
}

func TestS3Compliance(t *testing.T) {
	store := testenv.NewS3Store(t)
	t.Logf("S3 server: %s", testenv.S3Kind())
	blobstest.Run(t, store)
}

func TestCheckKey(t *testing.T) {
	for key, ok := range map[string]bool{
		"modules/ab/cd/sha.tar.gz": true, "a": true, "a.b-c_d/e": true,
		"": false, "/a": false, "a/": false, "a/../b": false, "..": false, ".a": false,
		"A": false, "a\\b": false, "a//b": false, "a/.": false,
	} {
		if err := blobs.CheckKey(key); (err == nil) != ok {
			t.Errorf("CheckKey(%q) = %v, want ok=%v", key, err, ok)
		}
	}
}

// TestFSTempFiles: a starting FS store removes every leftover temporary
// file (it has no put in flight); PurgeTemp later removes those older than
// its threshold only.
func TestFSTempFiles(t *testing.T) {
	dir := t.TempDir()
	tmp := filepath.Join(dir, "tmp")
	if err := os.MkdirAll(tmp, 0o750); err != nil {
		t.Fatal(err)
	}
	old := time.Now().Add(-2 * time.Hour)
	leave := func(name string, mtime time.Time) string {
		t.Helper()
		p := filepath.Join(tmp, name)
		if err := os.WriteFile(p, []byte("partial upload"), 0o600); err != nil {
			t.Fatal(err)
		}
		if err := os.Chtimes(p, mtime, mtime); err != nil {
			t.Fatal(err)
		}
		return p
	}
	leave("put-old", old)
	leave("put-fresh", time.Now())
	store, err := blobs.NewFS(dir)
	if err != nil {
		t.Fatal(err)
	}
	if left := dirNames(t, tmp); len(left) != 0 {
		t.Fatalf("tmp after start = %v, want every leftover removed", left)
	}

	leave("put-old", old)
	fresh := leave("put-fresh", time.Now())
	n, err := store.PurgeTemp(context.Background(), time.Hour)
	if err != nil || n != 1 {
		t.Fatalf("PurgeTemp(1h) = %d, %v; want 1 removed", n, err)
	}
	if left := dirNames(t, tmp); len(left) != 1 || left[0] != filepath.Base(fresh) {
		t.Fatalf("tmp after PurgeTemp(1h) = %v, want only the fresh file (possibly in flight)", left)
	}
	if _, err := store.Put(context.Background(), "still/works", strings.NewReader("x"), blobs.PutOptions{}); err != nil {
		t.Fatalf("Put after purging: %v", err)
	}
}

func dirNames(t *testing.T, dir string) []string {
	t.Helper()
	ents, err := os.ReadDir(dir)
	if err != nil {
		t.Fatal(err)
	}
	var out []string
	for _, e := range ents {
		out = append(out, e.Name())
	}
	return out
}
