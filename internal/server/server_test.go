package server_test

import (
	"context"
	"io"
	"log/slog"
	"net/http"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/jackc/pgx/v5"

	"github.com/cairn-registry/cairn/config"
	"github.com/cairn-registry/cairn/internal/server"
	"github.com/cairn-registry/cairn/internal/testenv"
)

func TestMain(m *testing.M) { testenv.Main(m) }

func testConfig(t *testing.T, dbURL string) *config.Config {
	t.Helper()
	cfg, err := config.Load(nil, func(k string) string {
		return map[string]string{
			"CAIRN_DATA_DIR":      t.TempDir(),
			"CAIRN_LISTEN":        "127.0.0.1:0",
			"CAIRN_DATABASE_URL":  dbURL,
			"CAIRN_INSECURE_HTTP": "true",
		}[k]
	})
	if err != nil {
		t.Fatal(err)
	}
	return cfg
}

// Two replicas starting together on one empty database must both migrate
// (one waits for the other's advisory lock) and both become ready.
func TestTwoServersStartOnOneEmptyDatabase(t *testing.T) {
	t.Parallel()
	url := testenv.EmptyDatabaseURL(t)
	log := slog.New(slog.NewTextHandler(io.Discard, nil))
	var wg sync.WaitGroup
	servers := make([]*server.Server, 2)
	errs := make([]error, 2)
	for i := range servers {
		wg.Add(1)
		go func() {
			defer wg.Done()
			servers[i], errs[i] = server.Start(context.Background(), testConfig(t, url), log)
		}()
	}
	wg.Wait()
	for i, s := range servers {
		if errs[i] != nil {
			t.Fatalf("server %d failed to start: %v", i, errs[i])
		}
		t.Cleanup(func() { s.Shutdown(context.Background()) })
		resp, err := http.Get(s.URL + "/readyz")
		if err != nil {
			t.Fatalf("server %d /readyz: %v", i, err)
		}
		body, _ := io.ReadAll(resp.Body)
		resp.Body.Close()
		if resp.StatusCode != 200 {
			t.Fatalf("server %d /readyz = %d %s, want 200", i, resp.StatusCode, body)
		}
	}
}

func TestReadyzReportsDatabaseOutage(t *testing.T) {
	t.Parallel()
	url := testenv.DatabaseURL(t)
	s, err := server.Start(context.Background(), testConfig(t, url), slog.New(slog.NewTextHandler(io.Discard, nil)))
	if err != nil {
		t.Fatal(err)
	}
	defer s.Shutdown(context.Background())
	// The database goes away under the running server.
	conn, err := pgx.Connect(context.Background(), testenv.Cluster(t).URL("postgres"))
	if err != nil {
		t.Fatal(err)
	}
	dbName := url[strings.LastIndex(url, "/")+1 : strings.Index(url, "?")]
	if _, err := conn.Exec(context.Background(), "DROP DATABASE "+dbName+" WITH (FORCE)"); err != nil {
		t.Fatal(err)
	}
	conn.Close(context.Background())
	resp, err := http.Get(s.URL + "/readyz")
	if err != nil {
		t.Fatal(err)
	}
	body, _ := io.ReadAll(resp.Body)
	resp.Body.Close()
	if resp.StatusCode != http.StatusServiceUnavailable {
		t.Fatalf("/readyz with the pool closed = %d %s, want 503", resp.StatusCode, body)
	}
	resp, err = http.Get(s.URL + "/healthz")
	if err != nil || resp.StatusCode != 200 {
		t.Fatalf("/healthz = %v %v, want 200 while the process is up", resp, err)
	}
	resp.Body.Close()
	if id := resp.Header.Get("X-Request-Id"); id == "" {
		t.Fatal("response carries no X-Request-Id")
	}
}

func TestGracefulShutdownFinishesInFlight(t *testing.T) {
	t.Parallel()
	s, err := server.Start(context.Background(), testConfig(t, testenv.DatabaseURL(t)), slog.New(slog.NewTextHandler(io.Discard, nil)))
	if err != nil {
		t.Fatal(err)
	}
	// Open a keep-alive connection, then shut down: the server must stop
	// accepting and return without error within the deadline.
	resp, err := http.Get(s.URL + "/healthz")
	if err != nil {
		t.Fatal(err)
	}
	resp.Body.Close()
	ctx, cancel := context.WithTimeout(context.Background(), 5*time.Second)
	defer cancel()
	if err := s.Shutdown(ctx); err != nil {
		t.Fatalf("Shutdown: %v", err)
	}
	if _, err := http.Get(s.URL + "/healthz"); err == nil {
		t.Fatal("server still answers after Shutdown")
	}
}
