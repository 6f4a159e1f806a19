// Package testserver starts Cairn in the test's own process, on a fresh
// migrated database, over plain HTTP, with a bootstrapped administrator:
// the one way surface and integration tests get a server. (It is apart from
// internal/testenv because domain packages' internal tests import testenv,
// and a server imports those packages.)
package testserver

import (
	"context"
	"io"
	"log/slog"
	"testing"

	"github.com/cairn-registry/cairn/config"
	"github.com/cairn-registry/cairn/internal/server"
	"github.com/cairn-registry/cairn/internal/testenv"
)

// Server is a started Cairn and its administrator's api-scoped token.
type Server struct {
	*server.Server
	// AdminToken is a personal access token of the administrator "root".
	AdminToken string
	// DataDir is CAIRN_DATA_DIR (filesystem blobs live below it).
	DataDir string
}

// Option adjusts the configuration of a test server.
type Option func(env map[string]string)

// Env sets CAIRN_* variables.
func Env(vars map[string]string) Option {
	return func(env map[string]string) {
		for k, v := range vars {
			env[k] = v
		}
	}
}

// Database uses url instead of a fresh database (for several replicas of
// one registry).
func Database(url string) Option {
	return func(env map[string]string) { env["CAIRN_DATABASE_URL"] = url }
}

// Start starts a server that is shut down when the test ends.
func Start(t testing.TB, opts ...Option) *Server {
	t.Helper()
	dataDir := t.TempDir()
	env := map[string]string{
		"CAIRN_DATA_DIR":       dataDir,
		"CAIRN_LISTEN":         "127.0.0.1:0",
		"CAIRN_INSECURE_HTTP":  "true",
		"CAIRN_OUTBOUND_ALLOW": "127.0.0.1,localhost",
	}
	for _, o := range opts {
		o(env)
	}
	if env["CAIRN_DATABASE_URL"] == "" {
		env["CAIRN_DATABASE_URL"] = testenv.DatabaseURL(t)
	}
	cfg, err := config.Load(nil, func(k string) string { return env[k] })
	if err != nil {
		t.Fatal(err)
	}
	srv, err := server.Start(context.Background(), cfg, slog.New(slog.NewTextHandler(io.Discard, nil)))
	if err != nil {
		t.Fatalf("starting Cairn: %v", err)
	}
	t.Cleanup(func() { srv.Shutdown(context.Background()) })
	_, tok, err := srv.Bootstrap(context.Background(), "root")
	if err != nil {
		t.Fatalf("bootstrapping the administrator: %v", err)
	}
	return &Server{Server: srv, AdminToken: tok, DataDir: dataDir}
}
