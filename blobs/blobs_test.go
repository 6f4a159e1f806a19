package blobs_test

import (
	"testing"

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
