// Package e2e drives a real cairn binary (and the real terraform CLI) from
// the outside, as users and CI pipelines do.
package e2e

import (
	"io"
	"os"
	"strings"
	"testing"

	"github.com/cairn-registry/cairn/internal/testenv"
)

func TestMain(m *testing.M) { testenv.Main(m) }

// make run's path: embedded PostgreSQL, filesystem blobs, generated TLS.
// Stopping and starting again keeps the data and the CA.
func TestServeEmbeddedDefaultsSurviveRestart(t *testing.T) {
	t.Parallel()
	testenv.Cluster(t) // fails under CI=true when PostgreSQL binaries are missing
	dataDir := testenv.DataDir(t)
	env := map[string]string{"CAIRN_DATA_DIR": dataDir}
	p := testenv.StartCairn(t, env)
	if !strings.Contains(p.Out.String(), "SSL_CERT_FILE="+p.CAPath()) {
		t.Errorf("serve output does not tell how to trust the CA:\n%s", p.Out)
	}
	caBefore, err := os.ReadFile(p.CAPath())
	if err != nil {
		t.Fatalf("no generated CA: %v", err)
	}
	secretBefore := get(t, p, "/readyz")
	p.Stop(t)

	p2 := testenv.StartCairn(t, map[string]string{"CAIRN_DATA_DIR": dataDir, "CAIRN_LISTEN": env["CAIRN_LISTEN"]})
	caAfter, _ := os.ReadFile(p2.CAPath())
	if string(caAfter) != string(caBefore) {
		t.Fatal("the CA changed across a restart")
	}
	if got := get(t, p2, "/readyz"); got != secretBefore {
		t.Fatalf("readyz after restart = %s, before %s", got, secretBefore)
	}
	if strings.Contains(p2.Out.String(), "applied database migrations") {
		t.Fatalf("second start re-applied migrations (data did not survive):\n%s", p2.Out)
	}
	p2.Stop(t)
	if out, _ := os.ReadFile(dataDir + "/postgres/postmaster.pid"); len(out) > 0 {
		t.Fatalf("embedded PostgreSQL still running after cairn stopped (postmaster.pid present)")
	}
}

// The production shape: external PostgreSQL and S3 (MinIO).
func TestServeExternalDatabaseAndS3(t *testing.T) {
	t.Parallel()
	s3 := testenv.S3(t)
	p := testenv.StartCairn(t, map[string]string{
		"CAIRN_DATA_DIR":      t.TempDir(),
		"CAIRN_DATABASE_URL":  testenv.EmptyDatabaseURL(t),
		"CAIRN_STORAGE":       "s3",
		"CAIRN_S3_ENDPOINT":   s3.Endpoint,
		"CAIRN_S3_BUCKET":     s3.Bucket,
		"CAIRN_S3_ACCESS_KEY": s3.AccessKey,
		"CAIRN_S3_SECRET_KEY": s3.SecretKey,
		"CAIRN_S3_TLS":        "false",
	})
	if body := get(t, p, "/readyz"); !strings.Contains(body, `"blobs":"ok"`) || !strings.Contains(body, `"database":"ok"`) {
		t.Fatalf("readyz = %s", body)
	}
	if _, err := os.Stat(p.DataDir + "/postgres"); !os.IsNotExist(err) {
		t.Fatal("an embedded cluster was created although CAIRN_DATABASE_URL was set")
	}
}

func TestServeRejectsBadConfiguration(t *testing.T) {
	out, err := runCairn(t, map[string]string{"CAIRN_STORAGE": "s3"}, "serve")
	if err == nil {
		t.Fatal("serve with incomplete S3 settings succeeded")
	}
	for _, want := range []string{"CAIRN_S3_ENDPOINT", "CAIRN_S3_BUCKET"} {
		if !strings.Contains(out, want) {
			t.Errorf("error output does not name %s:\n%s", want, out)
		}
	}
}

func TestServeWithoutPostgresBinariesExplains(t *testing.T) {
	out, err := runCairn(t, map[string]string{"CAIRN_DATA_DIR": t.TempDir(), "CAIRN_PG_BIN": t.TempDir(),
		"CAIRN_LISTEN": testenv.FreeAddr(t)}, "serve")
	if err == nil {
		t.Fatal("serve without PostgreSQL binaries succeeded")
	}
	for _, want := range []string{"apt-get install postgresql", "CAIRN_DATABASE_URL"} {
		if !strings.Contains(out, want) {
			t.Errorf("error output does not mention %q:\n%s", want, out)
		}
	}
}

func get(t *testing.T, p *testenv.Proc, path string) string {
	t.Helper()
	resp, err := p.Client(t).Get(p.URL + path)
	if err != nil {
		t.Fatalf("GET %s: %v", path, err)
	}
	defer resp.Body.Close()
	b, _ := io.ReadAll(resp.Body)
	if resp.StatusCode != 200 {
		t.Fatalf("GET %s = %d %s", path, resp.StatusCode, b)
	}
	return string(b)
}
