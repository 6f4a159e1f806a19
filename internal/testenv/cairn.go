package testenv

import (
	"bytes"
	"crypto/tls"
	"crypto/x509"
	"fmt"
	"net/http"
	"os"
	"os/exec"
	"path/filepath"
	"runtime"
	"strings"
	"sync"
	"syscall"
	"testing"
	"time"
)

var (
	binOnce sync.Once
	binPath string
	binErr  error
)

// Binary returns the cairn binary under test: $CAIRN_BIN (set by make test)
// or one built once for this test process.
func Binary(t testing.TB) string {
	t.Helper()
	SkipShort(t, "the cairn binary and its embedded PostgreSQL")
	binOnce.Do(func() {
		if p := os.Getenv("CAIRN_BIN"); p != "" {
			binPath = p
			return
		}
		_, file, _, _ := runtime.Caller(0)
		root := filepath.Join(filepath.Dir(file), "..", "..")
		dir, err := os.MkdirTemp("", "cairn-bin-")
		if err != nil {
			binErr = err
			return
		}
		binPath = filepath.Join(dir, "cairn")
		cmd := exec.Command("go", "build", "-o", binPath, "./cmd/cairn")
		cmd.Dir = root
		if out, err := cmd.CombinedOutput(); err != nil {
			binErr = fmt.Errorf("go build: %v\n%s", err, out)
		}
	})
	if binErr != nil {
		t.Fatalf("build cairn: %v", binErr)
	}
	return binPath
}

// Proc is a cairn process started by a test.
type Proc struct {
	Cmd     *exec.Cmd
	URL     string
	DataDir string
	Out     *syncBuffer
	done    chan struct{}
}

type syncBuffer struct {
	mu sync.Mutex
	b  bytes.Buffer
}

func (s *syncBuffer) Write(p []byte) (int, error) {
	s.mu.Lock()
	defer s.mu.Unlock()
	return s.b.Write(p)
}

// String returns everything written so far.
func (s *syncBuffer) String() string { s.mu.Lock(); defer s.mu.Unlock(); return s.b.String() }

// FreeAddr returns a loopback host:port that was free a moment ago.
func FreeAddr(t testing.TB) string {
	t.Helper()
	a, err := freePort()
	if err != nil {
		t.Fatal(err)
	}
	return a
}

// StartCairn runs `cairn serve` with env (CAIRN_* variables; CAIRN_LISTEN
// defaults to a free loopback port) and waits until /readyz answers 200.
func StartCairn(t testing.TB, env map[string]string) *Proc {
	t.Helper()
	bin := Binary(t)
	if env["CAIRN_LISTEN"] == "" {
		env["CAIRN_LISTEN"] = FreeAddr(t)
	}
	if _, ok := env["CAIRN_OUTBOUND_ALLOW"]; !ok {
		// Test issuers and repositories run on loopback.
		env["CAIRN_OUTBOUND_ALLOW"] = "127.0.0.1,localhost"
	}
	cmd := exec.Command(bin, "serve")
	cmd.Env = os.Environ()
	for k, v := range env {
		cmd.Env = append(cmd.Env, k+"="+v)
	}
	p := &Proc{Cmd: cmd, DataDir: env["CAIRN_DATA_DIR"], Out: &syncBuffer{}, done: make(chan struct{})}
	cmd.Stdout, cmd.Stderr = p.Out, p.Out
	cmd.SysProcAttr = &syscall.SysProcAttr{Pdeathsig: syscall.SIGTERM}
	if err := cmd.Start(); err != nil {
		t.Fatalf("start cairn: %v", err)
	}
	go func() { cmd.Wait(); close(p.done) }()
	t.Cleanup(func() { p.Stop(t) })
	scheme := "https"
	if env["CAIRN_INSECURE_HTTP"] == "true" {
		scheme = "http"
	}
	_, port, _ := strings.Cut(env["CAIRN_LISTEN"], ":")
	p.URL = fmt.Sprintf("%s://localhost:%s", scheme, port)
	deadline := time.Now().Add(90 * time.Second)
	for time.Now().Before(deadline) {
		select {
		case <-p.done:
			t.Fatalf("cairn exited before becoming ready:\n%s", p.Out)
		default:
		}
		// The CA appears during start-up, so build the client afresh each time.
		if resp, err := p.Client(t).Get(p.URL + "/readyz"); err == nil {
			resp.Body.Close()
			if resp.StatusCode == 200 {
				return p
			}
		}
		time.Sleep(100 * time.Millisecond)
	}
	t.Fatalf("cairn did not become ready within 90s:\n%s", p.Out)
	return nil
}

// CAPath is the generated CA certificate of a process using generated TLS.
func (p *Proc) CAPath() string { return filepath.Join(p.DataDir, "tls", "ca.pem") }

// Client returns an HTTP client trusting the process's generated CA (if any).
func (p *Proc) Client(t testing.TB) *http.Client {
	pool := x509.NewCertPool()
	if pem, err := os.ReadFile(p.CAPath()); err == nil {
		pool.AppendCertsFromPEM(pem)
	}
	return &http.Client{
		Timeout:   30 * time.Second,
		Transport: &http.Transport{TLSClientConfig: &tls.Config{RootCAs: pool}},
		CheckRedirect: func(*http.Request, []*http.Request) error {
			return http.ErrUseLastResponse
		},
	}
}

// Stop sends SIGTERM and waits for a clean exit.
func (p *Proc) Stop(t testing.TB) {
	select {
	case <-p.done:
		return
	default:
	}
	p.Cmd.Process.Signal(syscall.SIGTERM)
	select {
	case <-p.done:
	case <-time.After(45 * time.Second):
		p.Cmd.Process.Kill()
		<-p.done
		t.Errorf("cairn did not stop within 45s of SIGTERM:\n%s", p.Out)
	}
}

// DataDir returns a fresh directory the embedded PostgreSQL can use even when
// the test runs as root (the server then runs as postgres, and t.TempDir's
// parent is private to the test's user).
func DataDir(t testing.TB) string {
	t.Helper()
	dir, err := os.MkdirTemp("", "cairn-data-")
	if err != nil {
		t.Fatal(err)
	}
	os.Chmod(dir, 0o755)
	t.Cleanup(func() { os.RemoveAll(dir) })
	return dir
}
