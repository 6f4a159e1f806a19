// Package testenv starts the real components Cairn's tests run against: a
// throwaway PostgreSQL cluster per test binary (one migrated template
// database, a fresh database per test), a MinIO server, and helpers for the
// terraform CLI. A component that cannot be had fails the test under CI=true
// and skips it, loudly, otherwise.
package testenv

import (
	"context"
	"crypto/rand"
	"encoding/hex"
	"fmt"
	"os"
	"os/user"
	"strconv"
	"sync"
	"testing"
	"time"

	"github.com/jackc/pgx/v5"
	"github.com/jackc/pgx/v5/pgxpool"

	"github.com/cairn-registry/cairn/internal/pgcluster"
	"github.com/cairn-registry/cairn/queries"
)

const templateDB = "cairn_template"

var (
	pgOnce    sync.Once
	pgCluster *pgcluster.Cluster
	pgDir     string
	pgErr     error
)

// Main runs the tests and then stops whatever the harness started. Use it
// from TestMain: func TestMain(m *testing.M) { testenv.Main(m) }.
func Main(m *testing.M) {
	code := m.Run()
	Shutdown()
	os.Exit(code)
}

// Shutdown stops the components started so far.
func Shutdown() {
	if pgCluster != nil {
		pgCluster.Stop()
		os.RemoveAll(pgDir)
	}
	stopMinIO()
	stopBrowser()
}

// Require fails the test under CI=true and skips it otherwise, with reason.
func Require(t testing.TB, err error, component string) {
	t.Helper()
	if err == nil {
		return
	}
	if os.Getenv("CI") == "true" {
		t.Fatalf("%s is required under CI=true but unavailable: %v", component, err)
	}
	t.Skipf("SKIPPING: %s unavailable: %v (this test fails under CI=true)", component, err)
}

func startPostgres() {
	dir, err := os.MkdirTemp("", "cairn-test-pg-")
	if err != nil {
		pgErr = err
		return
	}
	pgDir = dir
	if os.Geteuid() == 0 {
		// The server runs as postgres; it needs to own its directory.
		if u, err := user.Lookup("postgres"); err == nil {
			uid, _ := strconv.Atoi(u.Uid)
			gid, _ := strconv.Atoi(u.Gid)
			os.Chown(dir, uid, gid)
		}
	}
	ctx, cancel := context.WithTimeout(context.Background(), 2*time.Minute)
	defer cancel()
	pgCluster, pgErr = pgcluster.Start(ctx, pgcluster.Options{Dir: dir + "/data", NoFsync: true})
	if pgErr != nil {
		return
	}
	conn, err := pgx.Connect(ctx, pgCluster.URL("postgres"))
	if err != nil {
		pgErr = err
		return
	}
	defer conn.Close(ctx)
	if _, err := conn.Exec(ctx, "CREATE DATABASE "+templateDB); err != nil {
		pgErr = err
		return
	}
	if _, err := queries.Migrate(ctx, pgCluster.URL(templateDB)); err != nil {
		pgErr = fmt.Errorf("migrate template database: %w", err)
	}
}

// SkipShort skips t under go test -short (make test-unit): the unit tier
// runs without PostgreSQL, MinIO, Chromium or the terraform CLI.
func SkipShort(t testing.TB, component string) {
	t.Helper()
	if testing.Short() {
		t.Skipf("needs %s; -short runs the unit tests only", component)
	}
}

// Cluster returns the harness's PostgreSQL cluster, starting it on first use.
func Cluster(t testing.TB) *pgcluster.Cluster {
	t.Helper()
	SkipShort(t, "PostgreSQL")
	pgOnce.Do(startPostgres)
	Require(t, pgErr, "PostgreSQL")
	return pgCluster
}

// EmptyDatabaseURL creates a new database with no tables and returns its URL.
func EmptyDatabaseURL(t testing.TB) string {
	return newDatabase(t, "template0")
}

// DatabaseURL creates a fresh, fully migrated database for this test and
// returns its URL. It is dropped when the test ends.
func DatabaseURL(t testing.TB) string {
	return newDatabase(t, templateDB)
}

func newDatabase(t testing.TB, template string) string {
	t.Helper()
	c := Cluster(t)
	ctx := context.Background()
	b := make([]byte, 6)
	rand.Read(b)
	name := "t_" + hex.EncodeToString(b)
	conn, err := pgx.Connect(ctx, c.URL("postgres"))
	if err != nil {
		t.Fatalf("connect to test cluster: %v", err)
	}
	defer conn.Close(ctx)
	if _, err := conn.Exec(ctx, fmt.Sprintf("CREATE DATABASE %s TEMPLATE %s", name, template)); err != nil {
		t.Fatalf("create test database: %v", err)
	}
	t.Cleanup(func() {
		conn, err := pgx.Connect(ctx, c.URL("postgres"))
		if err != nil {
			return
		}
		defer conn.Close(ctx)
		conn.Exec(ctx, fmt.Sprintf("DROP DATABASE IF EXISTS %s WITH (FORCE)", name))
	})
	return c.URL(name)
}

// Pool returns a pool on a fresh migrated database, closed when the test ends.
func Pool(t testing.TB) *pgxpool.Pool {
	t.Helper()
	pool, err := pgxpool.New(context.Background(), DatabaseURL(t))
	if err != nil {
		t.Fatalf("open pool: %v", err)
	}
	t.Cleanup(pool.Close)
	return pool
}
