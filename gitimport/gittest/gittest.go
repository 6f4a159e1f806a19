// Package gittest serves a real git repository over HTTPS for import
// tests: a repository made with go-git, served by `git http-backend` as a
// CGI program behind an httptest TLS server. The repository holds a module
// in a subdirectory (modules/vpc) and tags v1.0.0 (annotated), v1.1.0 and
// not-a-version.
package gittest

import (
	"crypto/tls"
	"crypto/x509"
	"net/http"
	"net/http/cgi"
	"net/http/httptest"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"github.com/cairn-registry/cairn/internal/testenv"

	"github.com/go-git/go-git/v5"
	"github.com/go-git/go-git/v5/plumbing"
	"github.com/go-git/go-git/v5/plumbing/object"
)

// ModulePath is the git path of the module in the repository.
const ModulePath = "modules/vpc"

// Options configure the served repository.
type Options struct {
	// Username and Password, when set, are required (basic auth).
	Username, Password string
}

// Repo is a served repository.
type Repo struct {
	// URL is the https:// clone URL.
	URL string
	// TLS trusts the server's certificate.
	TLS *tls.Config
	// Commits are the commit hashes of v1.0.0 and v1.1.0.
	Commits map[string]string
	// Fetches counts upload-pack requests (packfile fetches).
	Fetches atomic.Int32

	srv *httptest.Server
	mu  sync.Mutex
	// hold, when non-nil, blocks packfile fetches until closed.
	hold chan struct{}
}

// Hold makes packfile fetches block until Release.
func (r *Repo) Hold() {
	r.mu.Lock()
	defer r.mu.Unlock()
	if r.hold == nil {
		r.hold = make(chan struct{})
	}
}

// Release lets held and later fetches through.
func (r *Repo) Release() {
	r.mu.Lock()
	defer r.mu.Unlock()
	if r.hold != nil {
		close(r.hold)
		r.hold = nil
	}
}

func (r *Repo) held() chan struct{} {
	r.mu.Lock()
	defer r.mu.Unlock()
	return r.hold
}

// Serve creates the repository and serves it until the test ends.
func Serve(t testing.TB, o Options) *Repo {
	t.Helper()
	testenv.SkipShort(t, "git")
	gitExec, err := exec.Command("git", "--exec-path").Output()
	testenv.Require(t, err, "git (git http-backend serves the test repository)")
	backend := filepath.Join(strings.TrimSpace(string(gitExec)), "git-http-backend")
	_, err = os.Stat(backend)
	testenv.Require(t, err, "git http-backend")
	root := t.TempDir()
	commits := makeRepo(t, filepath.Join(root, "modules.git"))

	r := &Repo{Commits: commits}
	cgiHandler := &cgi.Handler{
		Path: backend,
		Root: "/",
		Env:  []string{"GIT_PROJECT_ROOT=" + root, "GIT_HTTP_EXPORT_ALL=1", "HOME=" + root},
	}
	r.srv = httptest.NewTLSServer(http.HandlerFunc(func(w http.ResponseWriter, req *http.Request) {
		if o.Username != "" {
			u, p, ok := req.BasicAuth()
			if !ok || u != o.Username || p != o.Password {
				w.Header().Set("WWW-Authenticate", `Basic realm="git"`)
				http.Error(w, "authentication required", http.StatusUnauthorized)
				return
			}
		}
		if strings.HasSuffix(req.URL.Path, "/git-upload-pack") {
			r.Fetches.Add(1)
			if h := r.held(); h != nil {
				select {
				case <-h:
				case <-req.Context().Done():
					return
				case <-time.After(2 * time.Minute):
				}
			}
		}
		cgiHandler.ServeHTTP(w, req)
	}))
	t.Cleanup(func() {
		r.Release()
		r.srv.Close()
	})
	pool := x509.NewCertPool()
	pool.AddCert(r.srv.Certificate())
	r.TLS = &tls.Config{RootCAs: pool}
	r.URL = r.srv.URL + "/modules.git"
	return r
}

func makeRepo(t testing.TB, dir string) map[string]string {
	t.Helper()
	repo, err := git.PlainInit(dir, false)
	if err != nil {
		t.Fatal(err)
	}
	wt, err := repo.Worktree()
	if err != nil {
		t.Fatal(err)
	}
	write := func(name, content string) {
		p := filepath.Join(dir, name)
		if err := os.MkdirAll(filepath.Dir(p), 0o755); err != nil {
			t.Fatal(err)
		}
		if err := os.WriteFile(p, []byte(content), 0o644); err != nil {
			t.Fatal(err)
		}
		if _, err := wt.Add(name); err != nil {
			t.Fatal(err)
		}
	}
	sig := &object.Signature{Name: "Test", Email: "test@example.com", When: time.Date(2025, 1, 2, 3, 4, 5, 0, time.UTC)}
	commit := func(msg string) plumbing.Hash {
		h, err := wt.Commit(msg, &git.CommitOptions{Author: sig, Committer: sig})
		if err != nil {
			t.Fatal(err)
		}
		return h
	}
	write("README.md", "# Infrastructure repository\n")
	write(ModulePath+"/main.tf", `variable "cidr" {
  type        = string
  description = "The VPC's CIDR block"
}

output "cidr" {
  value = var.cidr
}
`)
	write(ModulePath+"/README.md", "# VPC\n\nA VPC module, version one.\n")
	c1 := commit("v1.0.0")
	if _, err := repo.CreateTag("v1.0.0", c1, &git.CreateTagOptions{Tagger: sig, Message: "release 1.0.0"}); err != nil {
		t.Fatal(err)
	}
	write(ModulePath+"/versions.tf", `terraform {
  required_providers {
    aws = {
      source  = "hashicorp/aws"
      version = ">= 5.0"
    }
  }
}
`)
	write(ModulePath+"/README.md", "# VPC\n\nA VPC module, version one point one.\n")
	c2 := commit("v1.1.0")
	if _, err := repo.CreateTag("v1.1.0", c2, nil); err != nil {
		t.Fatal(err)
	}
	if _, err := repo.CreateTag("not-a-version", c2, nil); err != nil {
		t.Fatal(err)
	}
	// Later work, not tagged.
	write(ModulePath+"/extra.tf", "# untagged\n")
	commit("work in progress")
	// git http-backend needs the server info of dumb clients only; smart
	// HTTP works on the repository as it is.
	return map[string]string{"v1.0.0": c1.String(), "v1.1.0": c2.String()}
}
