// Package pgcluster runs a private PostgreSQL cluster from the system's
// PostgreSQL server binaries: initdb on first use, a unix socket only, and the
// server stopped when its owner stops (or dies: the child gets SIGTERM when
// its parent exits). When the caller is root the server runs as the
// "postgres" user, since initdb and postgres refuse to run as root.
package pgcluster

import (
	"context"
	"crypto/sha256"
	"encoding/hex"
	"errors"
	"fmt"
	"io"
	"log/slog"
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
	bin     string
	cred    *syscall.Credential
	owner   [2]int
	opt     Options
	logw    io.Writer

	mu       sync.Mutex
	cmd      *exec.Cmd     // the server process we started (nil when attached)
	pid      int           // the postmaster's pid
	done     chan struct{} // closed when that postmaster has exited
	waitErr  error
	stopping bool
	stop     sync.Once
	// attached: the server belongs to another process.
	attached bool
	// ownSock: sockDir is a directory of ours outside dir, removed by Stop.
	ownSock bool
}

// PreviousServerWait bounds how long Start waits for a PostgreSQL server
// that still holds the data directory (one shutting down after its cairn
// died) to exit.
const PreviousServerWait = 30 * time.Second

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
	c := &Cluster{dir: dir, bin: bin, cred: cred, owner: owner, opt: opt, logw: logw}
	// A server may still hold the directory: another cairn's (attach to it
	// when it is ready) or one shutting down after its cairn died (wait for
	// it, so a supervisor's immediate restart comes up).
	if a, err := waitPrevious(ctx, dir, PreviousServerWait); err != nil {
		return nil, err
	} else if a != nil {
		// Keep what is needed to start the server ourselves should the
		// other process's server go away.
		a.bin, a.cred, a.owner, a.opt, a.logw = bin, cred, owner, opt, logw
		return a, nil
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

	c.sockDir = dir
	// A unix socket path is limited to ~107 bytes; fall back to a private
	// directory under /tmp when the data directory is deep. Its name depends
	// on the data directory only, so the URL stays the same across restarts.
	if len(filepath.Join(dir, ".s.PGSQL.5432.lock")) > 100 {
		if c.sockDir, err = privateSocketDir(dir, owner); err != nil {
			return nil, err
		}
		c.ownSock = true
	}
	if err := c.launch(ctx); err != nil {
		if c.ownSock {
			_ = os.RemoveAll(c.sockDir)
		}
		return nil, err
	}
	return c, nil
}

// launch starts the postmaster and waits until it accepts connections.
func (c *Cluster) launch(ctx context.Context) error {
	if c.sockDir != c.dir {
		// The private socket directory may have been removed meanwhile
		// (by the process whose server we had attached to).
		if _, err := privateSocketDir(c.dir, c.owner); err != nil {
			return err
		}
		c.ownSock = true
	}
	args := []string{"-D", c.dir,
		"-c", "listen_addresses=",
		"-c", "unix_socket_directories=" + c.sockDir,
		"-c", "unix_socket_permissions=0700",
		"-c", "max_connections=200",
		"-c", "logging_collector=off",
	}
	if c.opt.NoFsync {
		args = append(args, "-c", "fsync=off", "-c", "synchronous_commit=off", "-c", "full_page_writes=off")
	}
	cmd := exec.Command(filepath.Join(c.bin, "postgres"), args...)
	cmd.SysProcAttr = &syscall.SysProcAttr{Credential: c.cred, Pdeathsig: syscall.SIGTERM, Setpgid: true}
	cmd.Stdout = c.logw
	cmd.Stderr = c.logw
	cmd.Dir = "/"
	if err := cmd.Start(); err != nil {
		return fmt.Errorf("start postgres: %w", err)
	}
	done := make(chan struct{})
	go func() {
		err := cmd.Wait()
		c.mu.Lock()
		c.waitErr = err
		c.mu.Unlock()
		close(done)
	}()
	c.mu.Lock()
	stopping := c.stopping
	if !stopping {
		c.cmd, c.pid, c.done, c.attached = cmd, cmd.Process.Pid, done, false
	}
	c.mu.Unlock()
	if stopping { // Stop ran while we were starting
		c.kill(cmd, done)
		return errors.New("stopping")
	}

	deadline := time.NewTimer(60 * time.Second)
	defer deadline.Stop()
	tick := time.NewTicker(50 * time.Millisecond)
	defer tick.Stop()
	for {
		if st, ok := readPid(c.dir); ok && st.pid == cmd.Process.Pid && st.status == "ready" {
			return nil
		}
		select {
		case <-done:
			return fmt.Errorf("postgres exited during start-up (%v); see its log for %s", c.exitErr(), c.dir)
		case <-ctx.Done():
			c.kill(cmd, done)
			return ctx.Err()
		case <-deadline.C:
			c.kill(cmd, done)
			return fmt.Errorf("postgres in %s did not become ready within 60s", c.dir)
		case <-tick.C:
		}
	}
}

// kill stops a postmaster that failed to start: fast shutdown, then SIGKILL.
func (c *Cluster) kill(cmd *exec.Cmd, done chan struct{}) {
	_ = cmd.Process.Signal(syscall.SIGINT)
	select {
	case <-done:
	case <-time.After(30 * time.Second):
		_ = cmd.Process.Kill()
		<-done
	}
}

func (c *Cluster) exitErr() error {
	c.mu.Lock()
	defer c.mu.Unlock()
	return c.waitErr
}

// pidFile is what postmaster.pid says: the postmaster's pid, its socket
// directory and its status ("starting", "ready", "stopping", "standby").
type pidFile struct {
	pid     int
	sockDir string
	status  string
}

func readPid(dir string) (pidFile, bool) {
	b, err := os.ReadFile(filepath.Join(dir, "postmaster.pid"))
	if err != nil {
		return pidFile{}, false
	}
	lines := strings.Split(string(b), "\n")
	pid, err := strconv.Atoi(strings.TrimSpace(lines[0]))
	if err != nil || pid <= 0 {
		return pidFile{}, false
	}
	st := pidFile{pid: pid}
	if len(lines) > 4 {
		st.sockDir = strings.TrimSpace(lines[4])
	}
	if len(lines) > 7 {
		st.status = strings.TrimSpace(lines[7])
	}
	return st, true
}

// alive reports whether pid is a live (not zombie) process.
func alive(pid int) bool {
	if err := syscall.Kill(pid, 0); err != nil && !errors.Is(err, syscall.EPERM) {
		return false
	}
	b, err := os.ReadFile(fmt.Sprintf("/proc/%d/stat", pid))
	if err != nil {
		return !errors.Is(err, os.ErrNotExist)
	}
	// pid (comm) S ...: the state follows the last ')'.
	if i := strings.LastIndexByte(string(b), ')'); i >= 0 && i+2 < len(b) {
		return b[i+2] != 'Z' && b[i+2] != 'X'
	}
	return true
}

// waitPrevious deals with a postmaster that still holds dir: a ready one is
// attached to; one starting or shutting down is waited for (at most wait);
// a stale postmaster.pid (its process gone) is left to postgres to replace.
func waitPrevious(ctx context.Context, dir string, wait time.Duration) (*Cluster, error) {
	deadline := time.Now().Add(wait)
	for {
		st, ok := readPid(dir)
		if !ok || !alive(st.pid) {
			return nil, nil
		}
		if st.status == "ready" && st.sockDir != "" {
			return attached(dir, st), nil
		}
		if time.Now().After(deadline) {
			return nil, fmt.Errorf("a PostgreSQL server (pid %d, %q) still holds %s after %s; stop it or remove the data directory's postmaster.pid if it is stale",
				st.pid, st.status, dir, wait)
		}
		select {
		case <-ctx.Done():
			return nil, ctx.Err()
		case <-time.After(100 * time.Millisecond):
		}
	}
}

// attached returns a Cluster for the server another process runs in dir;
// its done channel closes when that server's postmaster exits.
func attached(dir string, st pidFile) *Cluster {
	done := make(chan struct{})
	go func() {
		for alive(st.pid) {
			time.Sleep(250 * time.Millisecond)
		}
		close(done)
	}()
	return &Cluster{dir: dir, sockDir: st.sockDir, pid: st.pid, done: done, attached: true}
}

// privateSocketDir returns /tmp/cairn-pg-<hash of dir>, created for owner
// and refused when someone else made it.
func privateSocketDir(dir string, owner [2]int) (string, error) {
	sum := sha256.Sum256([]byte(dir))
	p := filepath.Join(os.TempDir(), "cairn-pg-"+hex.EncodeToString(sum[:6]))
	if err := os.Mkdir(p, 0o700); err != nil && !errors.Is(err, os.ErrExist) {
		return "", err
	}
	st, err := os.Lstat(p)
	if err != nil {
		return "", err
	}
	sys, _ := st.Sys().(*syscall.Stat_t)
	uid := os.Geteuid()
	if owner[0] >= 0 {
		uid = owner[0]
	}
	if !st.IsDir() || sys == nil || (int(sys.Uid) != os.Geteuid() && int(sys.Uid) != uid) || st.Mode().Perm()&0o077 != 0 {
		return "", fmt.Errorf("socket directory %s exists and is not a private directory of ours", p)
	}
	if err := chownTree(p, owner); err != nil {
		return "", err
	}
	return p, nil
}

// URL returns a connection URL for database name over the private socket.
func (c *Cluster) URL(database string) string {
	q := url.Values{"host": {c.sockDir}, "sslmode": {"disable"}}
	return (&url.URL{Scheme: "postgres", User: url.User(Superuser), Path: "/" + database, RawQuery: q.Encode()}).String()
}

// Dir is the data directory.
func (c *Cluster) Dir() string { return c.dir }

// Stop shuts the server down (fast shutdown) and waits for it. A server
// attached to (another process's) is left running.
func (c *Cluster) Stop() error {
	c.mu.Lock()
	c.stopping = true
	cmd, done, isAttached := c.cmd, c.done, c.attached
	c.mu.Unlock()
	if isAttached || cmd == nil {
		return nil
	}
	c.stop.Do(func() {
		c.kill(cmd, done)
		if c.ownSock {
			_ = os.RemoveAll(c.sockDir)
		}
	})
	return nil
}

// Pid is the postmaster's process id.
func (c *Cluster) Pid() int {
	c.mu.Lock()
	defer c.mu.Unlock()
	return c.pid
}

// Supervision bounds: restart attempts after the server dies, and the
// longest pause between two attempts.
const (
	restartAttempts = 8
	restartMaxDelay = 5 * time.Second
)

// Supervise watches the server until ctx ends or Stop is called. When it
// dies (crash, kill, OOM killer) Supervise starts it again in the same
// directory on the same socket, so the connection URL keeps working, and
// logs both. If it cannot be brought back within a bounded number of
// attempts, the returned channel delivers the error: the owner should then
// exit (and let its supervisor restart it) rather than live on unable to
// serve.
func (c *Cluster) Supervise(ctx context.Context, log *slog.Logger) <-chan error {
	failed := make(chan error, 1)
	go func() {
		for {
			c.mu.Lock()
			done := c.done
			c.mu.Unlock()
			select {
			case <-ctx.Done():
				return
			case <-done:
			}
			if c.isStopping() || ctx.Err() != nil {
				return
			}
			log.Error("embedded PostgreSQL exited unexpectedly; restarting it", "dir", c.dir, "pid", c.Pid(), "exit", c.exitErr())
			if err := c.restart(ctx, log); err != nil {
				if c.isStopping() || ctx.Err() != nil {
					return
				}
				log.Error("embedded PostgreSQL could not be restarted; giving up", "dir", c.dir, "error", err)
				failed <- err
				return
			}
		}
	}()
	return failed
}

func (c *Cluster) isStopping() bool {
	c.mu.Lock()
	defer c.mu.Unlock()
	return c.stopping
}

// restart brings a dead server back with bounded retries: orphaned
// backends of a killed postmaster keep its shared memory for a moment, so
// the first attempts may fail.
func (c *Cluster) restart(ctx context.Context, log *slog.Logger) error {
	delay := 250 * time.Millisecond
	var err error
	for attempt := 1; attempt <= restartAttempts; attempt++ {
		if c.isStopping() {
			return errors.New("stopping")
		}
		if err = c.restartOnce(ctx); err == nil {
			log.Info("embedded PostgreSQL restarted", "dir", c.dir, "pid", c.Pid(), "attempt", attempt)
			return nil
		}
		log.Warn("embedded PostgreSQL restart failed; retrying", "dir", c.dir, "attempt", attempt, "error", err)
		select {
		case <-ctx.Done():
			return ctx.Err()
		case <-time.After(delay):
		}
		delay = min(delay*2, restartMaxDelay)
	}
	return fmt.Errorf("embedded PostgreSQL in %s did not come back after %d attempts: %w", c.dir, restartAttempts, err)
}

func (c *Cluster) restartOnce(ctx context.Context) error {
	a, err := waitPrevious(ctx, c.dir, PreviousServerWait)
	if err != nil {
		return err
	}
	if a != nil {
		if a.sockDir != c.sockDir {
			return fmt.Errorf("another server runs in %s on socket %s, not %s", c.dir, a.sockDir, c.sockDir)
		}
		c.mu.Lock()
		c.pid, c.done, c.attached, c.cmd = a.pid, a.done, true, nil
		c.mu.Unlock()
		return nil
	}
	if c.bin == "" {
		// We attached at start: we can start the server ourselves only
		// with what Start found.
		return errors.New("the server cairn attached to is gone")
	}
	return c.launch(ctx)
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
