package e2e

import (
	"bytes"
	"os"
	"os/exec"
	"path/filepath"
	"regexp"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/cairn-registry/cairn/internal/testenv"
)

// TestREADMEFirstSteps runs the README's "First steps" commands exactly as
// written, in a fresh shell, against `bin/cairn serve` started the way
// `make run` starts it (defaults: ./data, :8443), from a directory laid
// out like a checkout (bin/cairn).
func TestREADMEFirstSteps(t *testing.T) {
	testenv.SkipShort(t, "the cairn binary on port 8443")
	readme, err := os.ReadFile("../README.md")
	if err != nil {
		t.Fatal(err)
	}
	section := string(readme)
	i := strings.Index(section, "## First steps")
	if i < 0 {
		t.Fatal("README.md has no First steps section")
	}
	section = section[i:]
	if j := strings.Index(section[3:], "\n## "); j > 0 {
		section = section[:j+3]
	}
	blocks := regexp.MustCompile("(?s)```sh\n(.*?)```").FindAllStringSubmatch(section, -1)
	if len(blocks) < 2 {
		t.Fatalf("First steps has %d shell blocks, want the bootstrap and the curl walk-through", len(blocks))
	}

	dir := testenv.DataDir(t)
	if err := os.MkdirAll(filepath.Join(dir, "bin"), 0o755); err != nil {
		t.Fatal(err)
	}
	if err := os.Symlink(testenv.Binary(t), filepath.Join(dir, "bin", "cairn")); err != nil {
		t.Fatal(err)
	}
	serve := exec.Command(filepath.Join(dir, "bin", "cairn"), "serve")
	serve.Dir = dir
	serve.Env = cleanEnv()
	out := &lockedBuffer{}
	serve.Stdout, serve.Stderr = out, out
	if err := serve.Start(); err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() {
		serve.Process.Signal(os.Interrupt)
		done := make(chan struct{})
		go func() { serve.Wait(); close(done) }()
		select {
		case <-done:
		case <-time.After(30 * time.Second):
			serve.Process.Kill()
		}
	})
	deadline := time.Now().Add(90 * time.Second)
	for !strings.Contains(out.String(), "Cairn is running at") {
		if time.Now().After(deadline) {
			t.Fatalf("cairn serve did not start:\n%s", out.String())
		}
		time.Sleep(100 * time.Millisecond)
	}
	if !strings.Contains(out.String(), "admin bootstrap --username admin --password-stdin") {
		t.Errorf("make run's welcome does not say how to sign in:\n%s", out.String())
	}
	var results []string
	for n, b := range blocks {
		sh := exec.Command("bash", "-euo", "pipefail", "-c", b[1])
		sh.Dir = dir
		sh.Env = cleanEnv()
		res, err := sh.CombinedOutput()
		if err != nil {
			t.Fatalf("README First steps block %d failed: %v\n%s\n--- block\n%s", n+1, err, res, b[1])
		}
		results = append(results, string(res))
	}
	if lines := strings.Split(strings.TrimSpace(results[0]), "\n"); !strings.HasPrefix(lines[len(lines)-1], "cairnpat-") {
		t.Errorf("bootstrap block printed %q, want the token", results[0])
	}
	if !strings.Contains(results[1], `"full_path":"acme"`) || !strings.Contains(results[1], `"path_with_namespace":"acme/vpc"`) ||
		!strings.Contains(results[1], `{"message":"201 Created"}`) {
		t.Errorf("the walk-through did not create the group, the project and the version:\n%s", results[1])
	}
}

// cleanEnv is the environment of a fresh shell: no CAIRN_* settings.
func cleanEnv() []string {
	var env []string
	for _, kv := range os.Environ() {
		if !strings.HasPrefix(kv, "CAIRN_") {
			env = append(env, kv)
		}
	}
	return env
}

// lockedBuffer collects a process's output while the test reads it.
type lockedBuffer struct {
	mu sync.Mutex
	b  bytes.Buffer
}

func (l *lockedBuffer) Write(p []byte) (int, error) {
	l.mu.Lock()
	defer l.mu.Unlock()
	return l.b.Write(p)
}

func (l *lockedBuffer) String() string {
	l.mu.Lock()
	defer l.mu.Unlock()
	return l.b.String()
}
