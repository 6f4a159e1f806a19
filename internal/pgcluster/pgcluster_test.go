package pgcluster_test

import (
	"context"
	"io"
	"log/slog"
	"os"
	"os/user"
	"path/filepath"
	"strconv"
	"strings"
	"syscall"
	"testing"
	"time"

	"github.com/jackc/pgx/v5"

	"github.com/cairn-registry/cairn/internal/pgcluster"
	"github.com/cairn-registry/cairn/internal/testenv"
)

// A server killed under its owner is restarted on the same socket, so the
// URL handed out before keeps working (here with a data directory deep
// enough that the socket lives under /tmp).
func TestSuperviseRestartsKilledServer(t *testing.T) {
	testenv.SkipShort(t, "PostgreSQL")
	_, err := pgcluster.FindBinaries()
	testenv.Require(t, err, "PostgreSQL")
	base, err := os.MkdirTemp("", "cairn-pgcluster-")
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { os.RemoveAll(base) })
	deep := filepath.Join(base, strings.Repeat("d", 60), strings.Repeat("e", 40))
	os.MkdirAll(deep, 0o755)
	if os.Geteuid() == 0 {
		if u, err := user.Lookup("postgres"); err == nil {
			uid, _ := strconv.Atoi(u.Uid)
			gid, _ := strconv.Atoi(u.Gid)
			filepath.Walk(base, func(p string, _ os.FileInfo, _ error) error { return os.Chown(p, uid, gid) })
		}
	}
	ctx := context.Background()
	c, err := pgcluster.Start(ctx, pgcluster.Options{Dir: filepath.Join(deep, "data"), NoFsync: true})
	if err != nil {
		t.Fatal(err)
	}
	defer c.Stop()
	url := c.URL("postgres")
	failed := c.Supervise(ctx, slog.New(slog.NewTextHandler(io.Discard, nil)))
	old := c.Pid()
	if err := syscall.Kill(old, syscall.SIGKILL); err != nil {
		t.Fatal(err)
	}
	deadline := time.Now().Add(30 * time.Second)
	for {
		select {
		case err := <-failed:
			t.Fatalf("supervision gave up: %v", err)
		default:
		}
		if c.Pid() != old {
			if conn, err := pgx.Connect(ctx, url); err == nil {
				conn.Close(ctx)
				break
			}
		}
		if time.Now().After(deadline) {
			t.Fatal("the killed server was not restarted within 30s")
		}
		time.Sleep(50 * time.Millisecond)
	}
	if c.URL("postgres") != url {
		t.Fatalf("URL changed across the restart: %s → %s", url, c.URL("postgres"))
	}
	c.Stop()
	if _, err := os.Stat(filepath.Join(deep, "data", "postmaster.pid")); err == nil {
		t.Fatal("server still running after Stop")
	}
}
