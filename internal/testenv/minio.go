package testenv

import (
	"context"
	"fmt"
	"log"
	"net"
	"net/http"
	"os"
	"os/exec"
	"path/filepath"
	"sync"
	"syscall"
	"testing"
	"time"

	"github.com/cairn-registry/cairn/blobs"
)

// MinIOModule is the pinned MinIO server built for tests with go install.
const MinIOModule = "github.com/minio/minio@v0.0.0-20260212201848-7aac2a2c5b7c"

const (
	s3User   = "cairntest"
	s3Secret = "cairntest-secret-key"
)

var (
	s3Once sync.Once
	s3Cmd  *exec.Cmd
	s3Addr string
	s3Kind string
	s3Dir  string
	s3Err  error
)

// CacheDir is where built test tools are kept between runs.
func CacheDir() string {
	if d := os.Getenv("CAIRN_TEST_CACHE"); d != "" {
		return d
	}
	if d, err := os.UserCacheDir(); err == nil {
		return filepath.Join(d, "cairn")
	}
	return filepath.Join(os.TempDir(), "cairn-cache")
}

// MinIOBinary returns the path of the pinned MinIO server, building it with
// `go install` into CacheDir on first use (serialised across processes).
func MinIOBinary() (string, error) {
	if p := os.Getenv("CAIRN_MINIO_BIN"); p != "" {
		return p, nil
	}
	dir := filepath.Join(CacheDir(), "minio-"+shortPin())
	bin := filepath.Join(dir, "minio")
	if isFile(bin) {
		return bin, nil
	}
	if err := os.MkdirAll(dir, 0o755); err != nil {
		return "", err
	}
	lockf, err := os.OpenFile(filepath.Join(dir, ".lock"), os.O_CREATE|os.O_RDWR, 0o644)
	if err != nil {
		return "", err
	}
	defer lockf.Close()
	if err := syscall.Flock(int(lockf.Fd()), syscall.LOCK_EX); err != nil {
		return "", err
	}
	defer syscall.Flock(int(lockf.Fd()), syscall.LOCK_UN)
	if isFile(bin) {
		return bin, nil
	}
	log.Printf("testenv: building %s into %s (once; cached afterwards)", MinIOModule, dir)
	cmd := exec.Command("go", "install", MinIOModule)
	cmd.Env = append(os.Environ(), "GOBIN="+dir, "GOFLAGS=-mod=mod", "CGO_ENABLED=0")
	cmd.Dir = os.TempDir()
	if out, err := cmd.CombinedOutput(); err != nil {
		return "", fmt.Errorf("go install %s: %w\n%s", MinIOModule, err, tail(out, 2000))
	}
	return bin, nil
}

func shortPin() string {
	v := MinIOModule[len(MinIOModule)-12:]
	return v
}

func isFile(p string) bool {
	st, err := os.Stat(p)
	return err == nil && st.Mode().IsRegular()
}

func tail(b []byte, n int) []byte {
	if len(b) > n {
		return b[len(b)-n:]
	}
	return b
}

func freePort() (string, error) {
	l, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		return "", err
	}
	defer l.Close()
	return l.Addr().String(), nil
}

func startS3() {
	s3Dir, s3Err = os.MkdirTemp("", "cairn-test-s3-")
	if s3Err != nil {
		return
	}
	addr, err := freePort()
	if err != nil {
		s3Err = err
		return
	}
	bin, buildErr := MinIOBinary()
	var cmd *exec.Cmd
	if buildErr == nil {
		console, _ := freePort()
		cmd = exec.Command(bin, "server", "--quiet", "--address", addr, "--console-address", console, s3Dir)
		cmd.Env = append(os.Environ(), "MINIO_ROOT_USER="+s3User, "MINIO_ROOT_PASSWORD="+s3Secret,
			"MINIO_BROWSER=off", "MINIO_UPDATE=off", "MINIO_CI_CD=1")
		s3Kind = "minio"
	} else if moto, err := exec.LookPath("moto_server"); err == nil {
		log.Printf("testenv: WARNING: MinIO could not be built (%v); falling back to moto_server for S3 tests", buildErr)
		host, port, _ := net.SplitHostPort(addr)
		cmd = exec.Command(moto, "-H", host, "-p", port)
		s3Kind = "moto"
	} else {
		s3Err = fmt.Errorf("MinIO could not be built (%v) and moto_server is not installed", buildErr)
		return
	}
	cmd.SysProcAttr = &syscall.SysProcAttr{Pdeathsig: syscall.SIGKILL}
	logf, _ := os.Create(filepath.Join(s3Dir, "server.log"))
	cmd.Stdout, cmd.Stderr = logf, logf
	if err := cmd.Start(); err != nil {
		s3Err = err
		return
	}
	s3Cmd, s3Addr = cmd, addr
	health := "http://" + addr + "/minio/health/live"
	if s3Kind == "moto" {
		health = "http://" + addr + "/"
	}
	deadline := time.Now().Add(60 * time.Second)
	for time.Now().Before(deadline) {
		resp, err := http.Get(health)
		if err == nil {
			resp.Body.Close()
			if resp.StatusCode < 500 {
				return
			}
		}
		time.Sleep(100 * time.Millisecond)
	}
	log, _ := os.ReadFile(filepath.Join(s3Dir, "server.log"))
	s3Err = fmt.Errorf("%s at %s did not become ready: %s", s3Kind, addr, tail(log, 2000))
}

func stopMinIO() {
	if s3Cmd != nil && s3Cmd.Process != nil {
		s3Cmd.Process.Signal(syscall.SIGTERM)
		done := make(chan struct{})
		go func() { s3Cmd.Wait(); close(done) }()
		select {
		case <-done:
		case <-time.After(10 * time.Second):
			s3Cmd.Process.Kill()
		}
	}
	if s3Dir != "" {
		os.RemoveAll(s3Dir)
	}
}

// S3 returns the configuration of a fresh bucket on the harness's S3 server
// (MinIO; moto_server only when MinIO cannot be built), starting it on first use.
func S3(t testing.TB) blobs.S3Config {
	t.Helper()
	SkipShort(t, "MinIO")
	s3Once.Do(startS3)
	Require(t, s3Err, "S3 server (MinIO)")
	bucket := fmt.Sprintf("t-%d", time.Now().UnixNano())
	return blobs.S3Config{Endpoint: s3Addr, Bucket: bucket, Region: "us-east-1",
		AccessKey: s3User, SecretKey: s3Secret, UseTLS: false, Presign: true}
}

// S3Kind tells which server backs S3 ("minio" or "moto"), once started.
func S3Kind() string { return s3Kind }

// NewS3Store opens a blobs.S3 store on a fresh bucket.
func NewS3Store(t testing.TB) *blobs.S3 {
	t.Helper()
	cfg := S3(t)
	ctx, cancel := context.WithTimeout(context.Background(), 30*time.Second)
	defer cancel()
	s, err := blobs.NewS3(ctx, cfg)
	if err != nil {
		t.Fatalf("open S3 store: %v", err)
	}
	return s
}
