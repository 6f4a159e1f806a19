// Package pgcluster runs a private PostgreSQL cluster from the system's
// PostgreSQL server binaries: initdb on first use, a unix socket only, and the
// server stopped when its owner stops (or dies: the child gets SIGTERM when
// its parent exits). When the caller is root the server runs as the
// "postgres" user, since initdb and postgres refuse to run as root.
package pgcluster

import (
	"context"
	"errors"
	"fmt"
	"io"
	"net/url"
	"os"
	"os/exec"
	"os/user"
	"path/filepath"
	"sort"
	"strconv"
	"strings"
	"sync"
	"syscall"
	"time"
)

// ErrNoBinaries reports that no PostgreSQL server binaries were found.
var ErrNoBinaries = errors.New("PostgreSQL server binaries (initdb, postgres) not found; " +
	"install them (Debian/Ubuntu: apt-get install postgresql; Fedora: dnf install postgresql-server; " +
	"macOS: brew install postgresql), point CAIRN_PG_BIN at their directory, " +
	"or set CAIRN_DATABASE_URL to an existing database")

// Superuser is the role initdb creates; it is trusted over the private socket.
const Superuser = "cairn"

// Options configure a cluster.
type Options struct {
	// Dir is the data directory (created and initialised if empty).
	Dir string
	// BinDir holds initdb and postgres; empty means FindBinaries.
	BinDir string
	// Log receives the server's own log lines; nil discards them.
	Log io.Writer
	// Fsync off trades durability for speed; for throwaway test clusters only.
	NoFsync bool
}

// Cluster is a running private server.
type Cluster struct {
	dir     string
	sockDir string
	cmd     *exec.Cmd
	done    chan struct{}
	waitErr error
	stop    sync.Once
	// attached: the server belongs to another process.
	attached bool
}

// FindBinaries returns the directory holding initdb and postgres: PATH first,
// then the Debian/Ubuntu, RPM and source install locations (newest version).
func FindBinaries() (string, error) {
	if p, err := exec.LookPath("initdb"); err == nil {
		dir := filepath.Dir(resolve(p))
		if isExec(filepath.Join(dir, "postgres")) {
			return dir, nil
		}
	}
	var candidates []string
	for _, pattern := range []string{"/usr/lib/postgresql/*/bin", "/usr/pgsql-*/bin", "/usr/local/pgsql/bin", "/opt/homebrew/opt/postgresql*/bin", "/usr/local/opt/postgresql*/bin"} {
		m, _ := filepath.Glob(pattern)
		candidates = append(candidates, m...)
	}
	sort.Slice(candidates, func(i, j int) bool { return versionOf(candidates[i]) > versionOf(candidates[j]) })
	for _, dir := range candidates {
		if isExec(filepath.Join(dir, "initdb")) && isExec(filepath.Join(dir, "postgres")) {
			return dir, nil
		}
	}
	return "", ErrNoBinaries
}

func resolve(p string) string {
	if r, err := filepath.EvalSymlinks(p); err == nil {
		return r
	}
	return p
}

func versionOf(dir string) int {
	for _, part := range strings.Split(dir, string(filepath.Separator)) {
		part = strings.TrimPrefix(strings.TrimPrefix(part, "pgsql-"), "postgresql@")
		if n, err := strconv.Atoi(part); err == nil {
			return n
		}
	}
	return 0
}

func isExec(p string) bool {
	st, err := os.Stat(p)
	return err == nil && !st.IsDir() && st.Mode()&0o111 != 0
}

// Start initialises the cluster if needed and starts the server, returning
// once it accepts connections.
func Start(ctx context.Context, opt Options) (*Cluster, error) {
	bin := opt.BinDir
	if bin == "" {
		var err error
		if bin, err = FindBinaries(); err != nil {
			return nil, err
		}
	} else if !isExec(filepath.Join(bin, "initdb")) || !isExec(filepath.Join(bin, "postgres")) {
		return nil, fmt.Errorf("CAIRN_PG_BIN=%s does not contain initdb and postgres: %w", bin, ErrNoBinaries)
	}
	dir, err := filepath.Abs(opt.Dir)
	if err != nil {
		return nil, err
	}
	cred, owner, err := runAs()
	if err != nil {
		return nil, err
	}
	logw := opt.Log
	if logw == nil {
		logw = io.Discard
	}

	if err := reachable(dir, owner); err != nil {
		return nil, err
	}
	if c := attach(dir); c != nil {
		return c, nil
	}
	if _, err := os.Stat(filepath.Join(dir, "PG_VERSION")); errors.Is(err, os.ErrNotExist) {
		if err := os.MkdirAll(dir, 0o700); err != nil {
			return nil, fmt.Errorf("create %s: %w", dir, err)
		}
		if err := chownTree(dir, owner); err != nil {
			return nil, err
		}
		if err := os.Chmod(dir, 0o700); err != nil {
			return nil, err
		}
		initdb := exec.CommandContext(ctx, filepath.Join(bin, "initdb"),
			"-D", dir, "-U", Superuser, "--auth=trust", "-E", "UTF8", "--locale=C", "--no-sync")
		initdb.SysProcAttr = &syscall.SysProcAttr{Credential: cred}
		initdb.Dir = "/"
		if out, err := initdb.CombinedOutput(); err != nil {
			return nil, fmt.Errorf("initdb %s: %w\n%s", dir, err, out)
		}
	} else if err != nil {
		return nil, err
	}

	sockDir := dir
	// A unix socket path is limited to ~107 bytes; fall back to a private
	// directory under /tmp when the data directory is deep.
	if len(filepath.Join(sockDir, ".s.PGSQL.5432.lock")) > 100 {
		if sockDir, err = os.MkdirTemp("", "cairn-pg-"); err != nil {
			return nil, err
		}
		if err := chownTree(sockDir, owner); err != nil {
			return nil, err
		}
	}

	args := []string{"-D", dir,
		"-c", "listen_addresses=",
		"-c", "unix_socket_directories=" + sockDir,
		"-c", "unix_socket_permissions=0700",
		"-c", "max_connections=200",
		"-c", "logging_collector=off",
	}
	if opt.NoFsync {
		args = append(args, "-c", "fsync=off", "-c", "synchronous_commit=off", "-c", "full_page_writes=off")
	}
	cmd := exec.Command(filepath.Join(bin, "postgres"), args...)
	cmd.SysProcAttr = &syscall.SysProcAttr{Credential: cred, Pdeathsig: syscall.SIGTERM, Setpgid: true}
	cmd.Stdout = logw
	cmd.Stderr = logw
	cmd.Dir = "/"
	if err := cmd.Start(); err != nil {
		return nil, fmt.Errorf("start postgres: %w", err)
	}
	c := &Cluster{dir: dir, sockDir: sockDir, cmd: cmd, done: make(chan struct{})}
	go func() { c.waitErr = cmd.Wait(); close(c.done) }()

	deadline := time.NewTimer(60 * time.Second)
	defer deadline.Stop()
	tick := time.NewTicker(50 * time.Millisecond)
	defer tick.Stop()
	for {
		if c.ready() {
			return c, nil
		}
		select {
		case <-c.done:
			return nil, fmt.Errorf("postgres exited during start-up (%v); see its log for %s", c.waitErr, dir)
		case <-ctx.Done():
			c.Stop()
			return nil, ctx.Err()
		case <-deadline.C:
			c.Stop()
			return nil, fmt.Errorf("postgres in %s did not become ready within 60s", dir)
		case <-tick.C:
		}
	}
}

// attach returns the cluster already running in dir (started by another
// cairn process, e.g. `cairn serve` while `cairn admin` runs), or nil. An
// attached cluster is not stopped by Stop.
func attach(dir string) *Cluster {
	b, err := os.ReadFile(filepath.Join(dir, "postmaster.pid"))
	if err != nil {
		return nil
	}
	lines := strings.Split(string(b), "\n")
	if len(lines) < 8 || strings.TrimSpace(lines[7]) != "ready" {
		return nil
	}
	pid, err := strconv.Atoi(strings.TrimSpace(lines[0]))
	if err != nil || syscall.Kill(pid, 0) != nil {
		return nil
	}
	sock := strings.TrimSpace(lines[4])
	if sock == "" {
		return nil
	}
	done := make(chan struct{})
	return &Cluster{dir: dir, sockDir: sock, done: done, attached: true}
}

// ready reports whether postmaster.pid says the server accepts connections.
func (c *Cluster) ready() bool {
	b, err := os.ReadFile(filepath.Join(c.dir, "postmaster.pid"))
	if err != nil {
		return false
	}
	lines := strings.Split(string(b), "\n")
	if len(lines) < 8 || strings.TrimSpace(lines[0]) != strconv.Itoa(c.cmd.Process.Pid) {
		return false
	}
	return strings.TrimSpace(lines[7]) == "ready"
}

// URL returns a connection URL for database name over the private socket.
func (c *Cluster) URL(database string) string {
	q := url.Values{"host": {c.sockDir}, "sslmode": {"disable"}}
	return (&url.URL{Scheme: "postgres", User: url.User(Superuser), Path: "/" + database, RawQuery: q.Encode()}).String()
}

// Dir is the data directory.
func (c *Cluster) Dir() string { return c.dir }

// Stop shuts the server down (fast shutdown) and waits for it.
func (c *Cluster) Stop() error {
	if c.attached {
		return nil
	}
	c.stop.Do(func() {
		_ = c.cmd.Process.Signal(syscall.SIGINT)
		select {
		case <-c.done:
		case <-time.After(30 * time.Second):
			_ = c.cmd.Process.Kill()
			<-c.done
		}
		if c.sockDir != c.dir {
			_ = os.RemoveAll(c.sockDir)
		}
	})
	return nil
}

// runAs returns the credential to run the server with (nil: as ourselves)
// and the uid/gid that must own its directories.
func runAs() (*syscall.Credential, [2]int, error) {
	if os.Geteuid() != 0 {
		return nil, [2]int{-1, -1}, nil
	}
	u, err := user.Lookup("postgres")
	if err != nil {
		return nil, [2]int{}, fmt.Errorf("running as root, the embedded PostgreSQL needs a 'postgres' system user " +
			"(created by the postgresql package), or run cairn as an unprivileged user")
	}
	uid, _ := strconv.Atoi(u.Uid)
	gid, _ := strconv.Atoi(u.Gid)
	return &syscall.Credential{Uid: uint32(uid), Gid: uint32(gid)}, [2]int{uid, gid}, nil
}

func chownTree(dir string, owner [2]int) error {
	if owner[0] < 0 {
		return nil
	}
	return filepath.Walk(dir, func(p string, _ os.FileInfo, err error) error {
		if err != nil {
			return err
		}
		return os.Lchown(p, owner[0], owner[1])
	})
}

// reachable checks that the server's user can traverse every ancestor of dir;
// a data directory under /root cannot be used by the postgres user.
func reachable(dir string, owner [2]int) error {
	if owner[0] < 0 {
		return nil
	}
	for p := filepath.Dir(dir); ; p = filepath.Dir(p) {
		st, err := os.Stat(p)
		if err == nil {
			sys, _ := st.Sys().(*syscall.Stat_t)
			if st.Mode().Perm()&0o001 == 0 && (sys == nil || int(sys.Uid) != owner[0]) {
				return fmt.Errorf("the postgres user cannot enter %s (mode %v), so it cannot use %s; "+
					"choose a CAIRN_DATA_DIR outside it or set CAIRN_DATABASE_URL", p, st.Mode().Perm(), dir)
			}
		}
		if p == filepath.Dir(p) {
			return nil
		}
	}
}
