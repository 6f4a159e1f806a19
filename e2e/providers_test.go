package e2e

import (
	"context"
	"fmt"
	"io/fs"
	"net/http"
	"os"
	"os/exec"
	"path/filepath"
	"runtime"
	"strings"
	"testing"
	"time"

	tfe "github.com/hashicorp/go-tfe"

	"github.com/cairn-registry/cairn/providers/providertest"
)

// terraformInit runs terraform init in a fresh directory requiring
// provider source at version, and returns its output and lock file.
func terraformInit(t *testing.T, source, version, cliConfig string, env ...string) (string, string, error) {
	t.Helper()
	dir := t.TempDir()
	cfg := fmt.Sprintf("terraform {\n  required_providers {\n    dummy = {\n      source  = %q\n      version = %q\n    }\n  }\n}\n", source, version)
	os.WriteFile(filepath.Join(dir, "main.tf"), []byte(cfg), 0o644)
	os.WriteFile(filepath.Join(dir, "cli.tfrc"), []byte(cliConfig), 0o644)
	cmd := exec.Command("terraform", "init", "-no-color", "-input=false")
	cmd.Dir = dir
	cmd.Env = append(os.Environ(), "TF_CLI_CONFIG_FILE="+filepath.Join(dir, "cli.tfrc"), "TF_IN_AUTOMATION=1", "CHECKPOINT_DISABLE=1", "TF_PLUGIN_CACHE_DIR=")
	cmd.Env = append(cmd.Env, env...)
	out, err := runWithTimeout(cmd, 2*time.Minute)
	lock, _ := os.ReadFile(filepath.Join(dir, ".terraform.lock.hcl"))
	return string(out), string(lock), err
}

// The provider user path over real HTTPS: a release signed with a key
// made here is published with `cairn publish provider` (completing an
// interrupted run), terraform init installs it through providers.v1 with
// signature verification and writes h1: and zh: hashes, and again through
// the network mirror; a tampered zip fails init.
func TestTerraformInitProvider(t *testing.T) {
	requireTerraform(t)
	t.Parallel()
	r := startRegistry(t)
	r.api(r.admin, "POST", "/groups", map[string]any{"name": "acme", "path": "acme", "visibility": "private"}, &struct{ ID int64 }{})
	ctx := context.Background()
	client, err := tfe.NewClient(&tfe.Config{Address: r.proc.URL, Token: r.admin, HTTPClient: r.proc.Client(t)})
	if err != nil {
		t.Fatal(err)
	}
	key := providertest.NewKey(t, "acme")
	if _, err := client.GPGKeys.Create(ctx, tfe.PrivateRegistry, tfe.GPGKeyCreateOptions{Namespace: "acme", AsciiArmor: key.Armor}); err != nil {
		t.Fatal(err)
	}
	platform := runtime.GOOS + "_" + runtime.GOARCH
	rel := providertest.Build(t, key, "dummy", "1.0.0", 0, platform, "windows_amd64")
	dist := t.TempDir()
	rel.WriteDir(t, dist)

	// An interrupted run: provider, version and SHA256SUMS are there, one
	// platform is announced but its zip never arrived.
	pid := tfe.RegistryProviderID{OrganizationName: "acme", RegistryName: tfe.PrivateRegistry, Namespace: "acme", Name: "dummy"}
	if _, err := client.RegistryProviders.Create(ctx, "acme", tfe.RegistryProviderCreateOptions{Name: "dummy", Namespace: "acme", RegistryName: tfe.PrivateRegistry}); err != nil {
		t.Fatal(err)
	}
	v, err := client.RegistryProviderVersions.Create(ctx, pid, tfe.RegistryProviderVersionCreateOptions{Version: "1.0.0", KeyID: key.ID, Protocols: []string{"5.0"}})
	if err != nil {
		t.Fatal(err)
	}
	req, _ := http.NewRequest(http.MethodPut, v.Links["shasums-upload"].(string), strings.NewReader(string(rel.Shasums)))
	if resp, err := r.proc.Client(t).Do(req); err != nil || resp.StatusCode != 200 {
		t.Fatalf("SHA256SUMS upload: %v %v", resp, err)
	}
	vid := tfe.RegistryProviderVersionID{RegistryProviderID: pid, Version: "1.0.0"}
	p0 := rel.Platforms[0]
	if _, err := client.RegistryProviderPlatforms.Create(ctx, vid, tfe.RegistryProviderPlatformCreateOptions{OS: p0.OS, Arch: p0.Arch, Filename: p0.Filename, Shasum: p0.Sha256}); err != nil {
		t.Fatal(err)
	}
	source := r.host + "/acme/dummy"
	sslEnv := "SSL_CERT_FILE=" + r.proc.CAPath()
	creds := fmt.Sprintf("credentials %q {\n  token = %q\n}\n", r.host, r.admin)
	if out, _, err := terraformInit(t, source, "1.0.0", creds, sslEnv); err == nil {
		t.Fatalf("terraform init of an incomplete version succeeded:\n%s", out)
	}

	pubEnv := map[string]string{"CAIRN_TOKEN": r.admin, "SSL_CERT_FILE": r.proc.CAPath()}
	out, err := runCairn(t, pubEnv, "publish", "provider", "--url", r.proc.URL, "--namespace", "acme", dist)
	if err != nil {
		t.Fatalf("cairn publish provider: %v\n%s", err, out)
	}
	if strings.Contains(out, "uploaded "+rel.Prefix()+"_SHA256SUMS\n") || !strings.Contains(out, "uploaded "+p0.Filename) || !strings.Contains(out, "_SHA256SUMS.sig") {
		t.Fatalf("the re-run did not complete just the missing parts:\n%s", out)
	}
	out, err = runCairn(t, pubEnv, "publish", "provider", "--url", r.proc.URL, "--namespace", "acme", dist)
	if err != nil || strings.Contains(out, "uploaded") {
		t.Fatalf("a second run uploaded again or failed: %v\n%s", err, out)
	}

	out, lock, err := terraformInit(t, source, "1.0.0", creds, sslEnv)
	if err != nil {
		t.Fatalf("terraform init: %v\n%s", err, out)
	}
	if !strings.Contains(out, "Signing key ID") && !strings.Contains(out, "signed by") && !strings.Contains(out, key.ID) {
		t.Logf("init output:\n%s", out)
	}
	if !strings.Contains(out, "self-signed") {
		t.Fatalf("terraform did not verify the signature (self-signed key):\n%s", out)
	}
	for _, want := range []string{"h1:", "zh:" + p0.Sha256, "zh:" + rel.Platforms[1].Sha256} {
		if !strings.Contains(lock, want) {
			t.Fatalf("lock file lacks %s:\n%s", want, lock)
		}
	}

	// The network mirror, with a token. Terraform cannot ask a mirror for
	// a host:port source (the relative URL's first segment would hold a
	// colon), and never contacts the origin registry when mirroring: the
	// source names a host the mirror stands in for.
	mirror := fmt.Sprintf("provider_installation {\n  network_mirror {\n    url = \"https://%s/v1/mirror/\"\n  }\n}\n%s", r.host, creds)
	out, mlock, err := terraformInit(t, "registry.cairn.test/acme/dummy", "1.0.0", mirror, sslEnv)
	if err != nil {
		t.Fatalf("terraform init through the network mirror: %v\n%s", err, out)
	}
	if !strings.Contains(mlock, "h1:") {
		t.Fatalf("mirror lock file lacks h1:\n%s", mlock)
	}

	// A tampered zip in the store fails init.
	var zips []string
	filepath.WalkDir(r.proc.DataDir, func(p string, d fs.DirEntry, err error) error {
		if err == nil && !d.IsDir() && strings.HasSuffix(p, ".zip") && strings.Contains(p, "providers") {
			zips = append(zips, p)
		}
		return nil
	})
	if len(zips) != 2 {
		t.Fatalf("found %d provider zips in the store", len(zips))
	}
	for _, z := range zips {
		b, _ := os.ReadFile(z)
		b[len(b)/2] ^= 0xff
		os.WriteFile(z, b, 0o644)
	}
	out, _, err = terraformInit(t, source, "1.0.0", creds, sslEnv)
	if err == nil {
		t.Fatalf("terraform init of a tampered zip succeeded:\n%s", out)
	}
	if !strings.Contains(strings.ToLower(out), "checksum") && !strings.Contains(out, "hash") {
		t.Fatalf("init failed, but not on the checksum:\n%s", out)
	}
}

// `cairn publish module` packs a directory and publishes it into a named
// project through the TFE API; terraform then resolves it; a re-run is a
// no-op.
func TestCairnPublishModule(t *testing.T) {
	requireTerraform(t)
	t.Parallel()
	r := startRegistry(t)
	var acme struct{ ID int64 }
	r.api(r.admin, "POST", "/groups", map[string]any{"name": "acme", "path": "acme", "visibility": "private"}, &acme)
	r.api(r.admin, "POST", "/projects", map[string]any{"name": "infra", "path": "infra", "namespace_id": acme.ID}, &struct{ ID int64 }{})
	dir := t.TempDir()
	os.WriteFile(filepath.Join(dir, "main.tf"), []byte("output \"module_version\" {\n  value = \"1.2.0\"\n}\n"), 0o644)
	os.MkdirAll(filepath.Join(dir, ".terraform"), 0o755)
	os.WriteFile(filepath.Join(dir, ".terraform", "junk"), []byte("x"), 0o644)
	env := map[string]string{"CAIRN_TOKEN": r.admin, "SSL_CERT_FILE": r.proc.CAPath()}
	args := []string{"publish", "module", "--url", r.proc.URL, "--project", "acme/infra", "--name", "vpc", "--system", "aws", "--version", "1.2.0", dir}
	out, err := runCairn(t, env, args...)
	if err != nil || !strings.Contains(out, "published acme/vpc/aws 1.2.0") {
		t.Fatalf("cairn publish module: %v\n%s", err, out)
	}
	out, err = runCairn(t, env, args...)
	if err != nil || !strings.Contains(out, "already published") {
		t.Fatalf("second cairn publish module: %v\n%s", err, out)
	}
	var projects []struct {
		PathWithNamespace string `json:"path_with_namespace"`
	}
	r.api(r.admin, "GET", "/groups/acme/projects", nil, &projects)
	if len(projects) != 1 {
		t.Fatalf("projects of acme = %+v, want only acme/infra", projects)
	}
	cfg := fmt.Sprintf("credentials %q {\n  token = %q\n}\n", r.host, r.admin)
	got, err := terraformGet(t, r.host+"/acme/vpc/aws", "1.2.0", cfg, "SSL_CERT_FILE="+r.proc.CAPath())
	if err != nil || !strings.Contains(got, `"1.2.0"`) {
		t.Fatalf("terraform get of the published module: %v\n%s", err, got)
	}
}
