package e2e

import (
	"context"
	"encoding/json"
	"fmt"
	"os/exec"
	"regexp"
	"strings"
	"testing"
	"time"
)

// terraregNested is a module whose local submodule calls another one and a
// registry module (nested module calls), with a pinned and an unpinned
// provider (resource versions), no README description, owner or
// repository URL (Terrareg's nulls) and a Terraform constraint bounded on
// both sides (version compatibility).
func terraregNested() []byte {
	return tgz(
		entry{name: "main.tf", body: `terraform {
  required_version = ">= 1.3.0, < 2.0.0"
  required_providers {
    aws    = { source = "hashicorp/aws", version = "5.1.0" }
    random = { source = "hashicorp/random", version = ">= 3.0" }
  }
}

resource "aws_s3_bucket" "this" {}

resource "random_id" "suffix" {
  byte_length = 4
}

module "network" {
  source = "./modules/network"
}
`},
		entry{name: "modules/network/main.tf", body: `module "subnets" {
  source = "../subnets"
}

module "labels" {
  source  = "cloudposse/label/null"
  version = "0.25.0"
}
`},
		entry{name: "modules/subnets/main.tf", body: `module "routes" {
  source = "../routes"
}
`},
		entry{name: "modules/routes/main.tf", body: "output \"id\" { value = 1 }\n"},
	)
}

// terraregFlush writes buffered download counts and analytics now and waits
// until want downloads are stored (the server's own flush may hold some).
func terraregFlush(t *testing.T, s *inproc, want int64) {
	t.Helper()
	ctx := context.Background()
	for deadline := time.Now().Add(10 * time.Second); ; time.Sleep(20 * time.Millisecond) {
		if err := s.srv.Modules.FlushDownloads(ctx); err != nil {
			t.Fatal(err)
		}
		if err := s.srv.Modules.FlushAnalytics(ctx); err != nil {
			t.Fatal(err)
		}
		var n int64
		if err := s.srv.Pool.QueryRow(ctx, "SELECT coalesce(sum(count), 0)::bigint FROM module_downloads").Scan(&n); err != nil {
			t.Fatal(err)
		}
		if n == want {
			return
		}
		if time.Now().After(deadline) {
			t.Fatalf("%d downloads recorded, want %d", n, want)
		}
	}
}

// TestTerraregFidelity has one golden answer per fidelity fix of issue 14
// on the per-module read API (the catalog's are in TestCatalogGolden).
func TestTerraregFidelity(t *testing.T) {
	t.Parallel()
	e := startTerrareg(t)
	if code, body := e.upload(nil, "acme/network", "nested", "aws", "1.0.0", terraregNested()); code != 201 {
		t.Fatalf("upload nested = %d %s", code, body)
	}
	// Per-version downloads: two of 1.3.0, one of 1.4.0.
	for _, v := range []string{"1.3.0", "1.3.0", "1.4.0"} {
		if code, _, body := e.do("GET", "/v1/modules/acme/vpc/aws/"+v+"/download", nil, nil); code != 204 {
			t.Fatalf("download %s = %d %s", v, code, body)
		}
	}
	terraregFlush(t, e.inproc, 3)

	cases := []struct{ golden, path string }{
		// Nulls (owner, description, source, display_source_url), Terrareg's
		// published_at, provider source fields, resources with all seven
		// keys, nested module calls, graph_url on the UI page.
		{"fidelity_nested_details", "acme/nested/aws/1.0.0"},
		// Version compatibility: bounded both sides, one side, excluded.
		{"fidelity_compat_compatible", "acme/nested/aws/1.0.0?target_terraform_version=1.5.0"},
		{"fidelity_compat_implicit", "acme/vpc/aws?target_terraform_version=1.5.0"},
		{"fidelity_compat_incompatible", "acme/vpc/aws/1.4.0?target_terraform_version=1.2.0"},
		// Downloads per version (1.3.0 was downloaded twice).
		{"fidelity_downloads_per_version", "acme/vpc/aws/1.3.0"},
		// Submodule details: graph_url on the UI page.
		{"fidelity_nested_submodule", "acme/nested/aws/1.0.0/submodules/details/modules/network"},
	}
	for _, tc := range cases {
		code, body := e.get("", tc.path)
		if code != 200 {
			t.Errorf("GET %s = %d %s", tc.path, code, body)
			continue
		}
		e.golden(tc.golden, body)
	}

	// The namespace's list: outlines with figures and compatibility.
	code, _, body := e.do("GET", "/v1/terrareg/modules/acme?target_terraform_version=1.2.0&limit=50", nil, nil)
	if code != 200 {
		t.Fatalf("namespace modules = %d %s", code, body)
	}
	e.golden("fidelity_namespace_modules_compat", body)

	// Terrareg's published_at: isoformat of a naive timestamp, no zone.
	var d struct {
		PublishedAt string `json:"published_at"`
	}
	_, body = e.get("", "acme/nested/aws/1.0.0")
	json.Unmarshal([]byte(body), &d)
	if !regexp.MustCompile(`^\d{4}-\d\d-\d\dT\d\d:\d\d:\d\d(\.\d{6})?$`).MatchString(d.PublishedAt) {
		t.Errorf("published_at = %q, want Python's isoformat", d.PublishedAt)
	}
}

// TestTerraregAnalytics records analytics through token-prefixed module
// sources and Terrareg's analytics endpoint, and reads them back.
func TestTerraregAnalytics(t *testing.T) {
	t.Parallel()
	e := startTerrareg(t)
	tf := map[string]string{"User-Agent": "Terraform/1.9.8 (+https://www.terraform.io)"}
	// terraform's calls for host/ci-prod__acme/vpc/aws: versions, then the
	// download of the chosen version.
	if code, _, body := e.do("GET", "/v1/modules/ci-prod__acme/vpc/aws/versions", tf, nil); code != 200 || !strings.Contains(body, `"1.4.0"`) {
		t.Fatalf("versions through a token = %d %s", code, body)
	}
	for _, p := range []string{"ci-prod__acme/vpc/aws/1.3.0", "ci-prod__acme/vpc/aws/1.4.0", "ci-prod__acme/vpc/aws/1.4.0", "dev__acme/vpc/aws/1.3.0"} {
		code, h, body := e.do("GET", "/v1/modules/"+p+"/download", tf, nil)
		if code != 204 || !strings.Contains(h.Get("X-Terraform-Get"), "/acme/vpc/aws/") {
			t.Fatalf("download %s = %d %v %s", p, code, h, body)
		}
	}
	// The latest download keeps the token through its redirect.
	if code, h, _ := e.do("GET", "/v1/modules/dev__acme/vpc/aws/download", tf, nil); code != 302 ||
		h.Get("Location") != "/v1/modules/dev__acme/vpc/aws/1.4.0/download" {
		t.Fatalf("latest download = %d %s", code, h.Get("Location"))
	}
	// No token, and the example token (counts as none), from another client.
	for _, p := range []string{"acme/vpc/aws/1.3.0", "my-tf-application__acme/vpc/aws/1.3.0"} {
		if code, _, body := e.do("GET", "/v1/modules/"+p+"/download", map[string]string{"User-Agent": "curl/8"}, nil); code != 204 {
			t.Fatalf("download %s = %d %s", p, code, body)
		}
	}
	post := func(path, body string) (int, string) {
		code, _, out := e.do("POST", "/v1/terrareg/analytics/"+path, map[string]string{"Content-Type": "application/json"}, strings.NewReader(body))
		return code, out
	}
	for _, tc := range []struct {
		path, body string
		code       int
		want       string
	}{
		{"acme/vpc/aws/1.4.0", `{"analytics_token":"nightly","terraform_version":"1.6.0"}`, 200, `{}`},
		{"acme/vpc/aws/9.9.9", `{"analytics_token":"nightly"}`, 404, `{"errors":["Not Found"]}`},
		{"acme/vpc/aws/1.4.0", `{"analytics_token":""}`, 400, `{"errors":["Invalid analytics token"]}`},
		{"acme/vpc/aws/1.4.0", `{"analytics_token":"my-tf-application"}`, 400, `{"errors":["Invalid analytics token"]}`},
		{"acme/vpc/aws/1.4.0", `{}`, 400, `{"message":{"analytics_token":"Analytics token to register."}}`},
	} {
		if code, body := post(tc.path, tc.body); code != tc.code || body != tc.want {
			t.Errorf("POST analytics/%s %s = %d %s, want %d %s", tc.path, tc.body, code, body, tc.code, tc.want)
		}
	}
	terraregFlush(t, e.inproc, 6)

	// Aggregated: one row per version, token, Terraform version and day.
	var rows, uses int64
	if err := e.srv.Pool.QueryRow(context.Background(), "SELECT count(*), sum(count) FROM module_analytics").Scan(&rows, &uses); err != nil {
		t.Fatal(err)
	}
	if rows != 5 || uses != 7 {
		t.Errorf("module_analytics holds %d rows for %d uses, want 5 rows for 7", rows, uses)
	}

	for _, tc := range []struct{ golden, path string }{
		{"analytics_token_versions", "/v1/terrareg/analytics/acme/vpc/aws/token_versions"},
		{"analytics_usage_stats", "/v1/terrareg/analytics/global/usage_stats"},
	} {
		code, _, body := e.do("GET", tc.path, nil, nil)
		if code != 200 {
			t.Fatalf("GET %s = %d %s", tc.path, code, body)
		}
		e.golden(tc.golden, body)
	}
	// A private namespace's module is neither counted nor listed for
	// anonymous callers; its token versions need the right to read it.
	if code, _, _ := e.do("GET", "/v1/terrareg/analytics/secret/vpc/aws/token_versions", nil, nil); code != 401 {
		t.Errorf("anonymous token_versions of a private module = %d, want 401", code)
	}
}

// TestTerraregAnalyticsTerraform resolves a token-prefixed source with the
// terraform CLI against the binary and finds the use in token_versions.
func TestTerraregAnalyticsTerraform(t *testing.T) {
	t.Parallel()
	requireTerraform(t)
	r := startRegistry(t)
	var acme struct{ ID int64 }
	r.api(r.admin, "POST", "/groups", map[string]any{"name": "acme", "path": "acme", "visibility": "public"}, &acme)
	r.api(r.admin, "POST", "/projects", map[string]any{"name": "vpc", "path": "vpc", "namespace_id": acme.ID, "visibility": "public"}, &struct{}{})
	if code, body := r.curlUpload(t, "PRIVATE-TOKEN: "+r.admin, "acme%2Fvpc", "vpc", "aws", "1.2.0", moduleTarGz(t, "1.2.0")); code != 201 {
		t.Fatalf("upload = %d %s", code, body)
	}
	got, err := terraformGet(t, r.host+"/team-a__acme/vpc/aws", "~> 1.0", "", "SSL_CERT_FILE="+r.proc.CAPath())
	if err != nil || !strings.Contains(got, `"1.2.0"`) {
		t.Fatalf("terraform get through an analytics token: %v\n%s", err, got)
	}
	out, err := exec.Command("terraform", "version", "-json").Output()
	if err != nil {
		t.Fatal(err)
	}
	var v struct {
		Version string `json:"terraform_version"`
	}
	json.Unmarshal(out, &v)
	// The server flushes analytics every 5 s.
	want := fmt.Sprintf(`{"team-a":{"terraform_version":%q,"module_version":"1.2.0","environment":"Default"}}`, v.Version)
	var body string
	for deadline := time.Now().Add(20 * time.Second); time.Now().Before(deadline); time.Sleep(250 * time.Millisecond) {
		cmd := exec.Command("curl", "-sS", "--cacert", r.proc.CAPath(), r.proc.URL+"/v1/terrareg/analytics/acme/vpc/aws/token_versions")
		b, err := cmd.Output()
		if err != nil {
			t.Fatal(err)
		}
		if body = strings.TrimSpace(string(b)); body == want {
			return
		}
	}
	t.Fatalf("token_versions = %s, want %s", body, want)
}

// TestTerraregGitProviders lists CAIRN_GIT_PROVIDERS in Terrareg's shape and
// uses a module provider's git provider for its source URLs.
func TestTerraregGitProviders(t *testing.T) {
	t.Parallel()
	providers := `[{"name": "Corporate GitLab", "base_url": "https://git.example.com/{namespace}/{module}",` +
		` "clone_url": "ssh://git@git.example.com/{namespace}/{module}.git",` +
		` "browse_url": "https://git.example.com/{namespace}/{module}/-/tree/{tag}/{path}", "git_path": "/modules/{module}"},` +
		` {"name": "GitHub", "base_url": "https://github.com/{namespace}/{module}",` +
		` "clone_url": "ssh://git@github.com/{namespace}/{module}.git", "browse_url": "https://github.com/{namespace}/{module}/tree/{tag}/{path}"}]`
	e := &terraregEnv{inproc: startInProcess(t, map[string]string{"CAIRN_GIT_PROVIDERS": providers})}
	var acme struct{ ID int64 }
	e.json("POST", "/groups", map[string]any{"path": "acme", "name": "Acme", "visibility": "public"}, &acme)
	e.json("POST", "/projects", map[string]any{"path": "network", "namespace_id": acme.ID, "visibility": "public"}, nil)
	if code, body := e.upload(nil, "acme/network", "vpc", "aws", "1.0.0", catalogSimple("", "", "")); code != 201 {
		t.Fatalf("upload = %d %s", code, body)
	}
	code, _, body := e.do("GET", "/v1/terrareg/git_providers", nil, nil)
	if code != 200 {
		t.Fatalf("git_providers = %d %s", code, body)
	}
	e.golden("git_providers", body)

	settings := func(body string) (int, string) {
		code, _, out := e.do("POST", "/v1/terrareg/modules/acme/vpc/aws/settings",
			map[string]string{"Content-Type": "application/json", "X-Terrareg-ApiKey": e.admin}, strings.NewReader(body))
		return code, out
	}
	if code, body := settings(`{"git_provider_id": 3}`); code != 400 || !strings.Contains(body, "Git provider does not exist.") {
		t.Errorf("unknown git provider = %d %s", code, body)
	}
	if code, body := settings(`{"git_provider_id": "2"}`); code != 200 {
		t.Fatalf("git provider 2 = %d %s", code, body)
	}
	code, body = e.get("", "acme/vpc/aws/1.0.0")
	if code != 200 {
		t.Fatalf("details = %d %s", code, body)
	}
	e.golden("git_provider_details", body)
	code, _, body = e.do("GET", "/v1/terrareg/modules/search?q=vpc", nil, nil)
	if code != 200 || !strings.Contains(body, `"source":"https://github.com/acme/vpc"`) {
		t.Errorf("search outline source = %d %s", code, body)
	}

	// A bad configuration stops the server at start.
	out, err := runCairn(t, map[string]string{"CAIRN_GIT_PROVIDERS": `[{"name": "x"}]`}, "serve")
	if err == nil || !strings.Contains(out, "CAIRN_GIT_PROVIDERS") {
		t.Errorf("serve with a bad CAIRN_GIT_PROVIDERS: %v\n%s", err, out)
	}
}
