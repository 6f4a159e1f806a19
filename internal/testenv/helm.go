package testenv

import (
	"fmt"
	"log"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"syscall"
	"testing"
)

// HelmModule is the pinned helm CLI the chart tests render and lint with.
const HelmModule = "helm.sh/helm/v3/cmd/helm@v3.22.0"

// HelmBinary returns the path of the pinned helm CLI ($CAIRN_HELM_BIN, else
// built with `go install` into CacheDir on first use, serialised across
// processes, like MinIOBinary).
func HelmBinary() (string, error) {
	if p := os.Getenv("CAIRN_HELM_BIN"); p != "" {
		return p, nil
	}
	_, pin, _ := strings.Cut(HelmModule, "@")
	dir := filepath.Join(CacheDir(), "helm-"+pin)
	bin := filepath.Join(dir, "helm")
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
	log.Printf("testenv: building %s into %s (once; cached afterwards)", HelmModule, dir)
	cmd := exec.Command("go", "install", HelmModule)
	cmd.Env = append(os.Environ(), "GOBIN="+dir, "GOFLAGS=-mod=mod", "CGO_ENABLED=0")
	cmd.Dir = os.TempDir()
	if out, err := cmd.CombinedOutput(); err != nil {
		return "", fmt.Errorf("go install %s: %w\n%s", HelmModule, err, tail(out, 2000))
	}
	return bin, nil
}

// Helm returns the helm CLI for a test, skipping it (failing under CI=true)
// when it cannot be had.
func Helm(t testing.TB) string {
	t.Helper()
	SkipShort(t, "the helm CLI")
	bin, err := HelmBinary()
	Require(t, err, "helm CLI")
	return bin
}
