package e2e

import (
	"archive/tar"
	"bytes"
	"compress/gzip"
	"encoding/json"
	"fmt"
	"io"
	"net/http"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/cairn-registry/cairn/internal/testenv"
)

// registry is a running cairn reached over real HTTPS (generated CA).
type registry struct {
	t     *testing.T
	proc  *testenv.Proc
	host  string // 127.0.0.1:port (a registry host must contain a dot)
	admin string // api-scoped PAT of the bootstrap admin
	env   map[string]string
}

func startRegistry(t *testing.T) *registry {
	t.Helper()
	addr := testenv.FreeAddr(t)
	env := map[string]string{
		"CAIRN_DATA_DIR":     t.TempDir(),
		"CAIRN_DATABASE_URL": testenv.DatabaseURL(t),
		"CAIRN_LISTEN":       addr,
		"CAIRN_PUBLIC_URL":   "https://" + addr,
	}
	p := testenv.StartCairn(t, env)
	p.URL = "https://" + addr
	out, err := runCairn(t, env, "admin", "bootstrap", "--username", "root")
	if err != nil {
		t.Fatalf("admin bootstrap: %v\n%s", err, out)
	}
	lines := strings.Split(strings.TrimSpace(out), "\n")
	token := lines[len(lines)-1]
	if !strings.HasPrefix(token, "cairnpat-") {
		t.Fatalf("bootstrap did not print a token last:\n%s", out)
	}
	return &registry{t: t, proc: p, host: addr, admin: token, env: env}
}

// api calls /api/v4 with a token and decodes the JSON answer into out.
func (r *registry) api(token, method, path string, body any, out any) int {
	r.t.Helper()
	var rd io.Reader
	if body != nil {
		b, _ := json.Marshal(body)
		rd = bytes.NewReader(b)
	}
	req, _ := http.NewRequest(method, r.proc.URL+"/api/v4"+path, rd)
	req.Header.Set("Content-Type", "application/json")
	if token != "" {
		req.Header.Set("PRIVATE-TOKEN", token)
	}
	resp, err := r.proc.Client(r.t).Do(req)
	if err != nil {
		r.t.Fatalf("%s %s: %v", method, path, err)
	}
	defer resp.Body.Close()
	b, _ := io.ReadAll(resp.Body)
	if out != nil && resp.StatusCode < 300 {
		if err := json.Unmarshal(b, out); err != nil {
			r.t.Fatalf("%s %s: decode %s: %v", method, path, b, err)
		}
	}
	if resp.StatusCode >= 300 && out != nil {
		r.t.Fatalf("%s %s = %d %s", method, path, resp.StatusCode, b)
	}
	return resp.StatusCode
}

// moduleTarGz writes a module whose output names its version to a file.
func moduleTarGz(t *testing.T, version string) string {
	t.Helper()
	p := filepath.Join(t.TempDir(), "module-"+version+".tar.gz")
	if err := os.WriteFile(p, moduleTarGzBytes(t, version), 0o644); err != nil {
		t.Fatal(err)
	}
	return p
}

// moduleTarGzBytes builds a module whose output names its version.
func moduleTarGzBytes(t *testing.T, version string) []byte {
	t.Helper()
	var buf bytes.Buffer
	gz := gzip.NewWriter(&buf)
	tw := tar.NewWriter(gz)
	files := map[string]string{
		"main.tf":        fmt.Sprintf("variable \"cidr\" {\n  type    = string\n  default = \"10.0.0.0/16\"\n}\n\noutput \"module_version\" {\n  value = %q\n}\n", version),
		"README.md":      "# vpc\n\nA test module.\n",
		"modules/a/x.tf": "output \"x\" { value = 1 }\n",
	}
	for name, content := range files {
		tw.WriteHeader(&tar.Header{Name: name, Mode: 0o644, Size: int64(len(content)), Typeflag: tar.TypeReg, ModTime: time.Now()})
		tw.Write([]byte(content))
	}
	tw.Close()
	gz.Close()
	return buf.Bytes()
}

// curlUpload uploads an archive the way CI does: curl --upload-file.
func (r *registry) curlUpload(t *testing.T, header, project, name, system, version, file string) (int, string) {
	t.Helper()
	url := fmt.Sprintf("%s/api/v4/projects/%s/packages/terraform/modules/%s/%s/%s/file", r.proc.URL, project, name, system, version)
	cmd := exec.Command("curl", "--silent", "--show-error", "--cacert", r.proc.CAPath(), "--header", header,
		"--upload-file", file, "--write-out", "\n%{http_code}", url)
	out, err := cmd.CombinedOutput()
	if err != nil {
		t.Fatalf("curl: %v\n%s", err, out)
	}
	s := strings.TrimSpace(string(out))
	i := strings.LastIndexByte(s, '\n')
	var code int
	fmt.Sscanf(s[i+1:], "%d", &code)
	return code, s[:i]
}

// terraformGet runs `terraform get` in a fresh directory for a module block
// and returns the fetched module's main.tf (or the CLI's output on failure).
func terraformGet(t *testing.T, source, constraint string, cliConfig string, env ...string) (string, error) {
	t.Helper()
	dir := t.TempDir()
	cfg := fmt.Sprintf("module \"vpc\" {\n  source  = %q\n  version = %q\n}\n", source, constraint)
	os.WriteFile(filepath.Join(dir, "main.tf"), []byte(cfg), 0o644)
	os.WriteFile(filepath.Join(dir, "cli.tfrc"), []byte(cliConfig), 0o644)
	cmd := exec.Command("terraform", "get", "-no-color")
	cmd.Dir = dir
	cmd.Env = append(os.Environ(), "TF_CLI_CONFIG_FILE="+filepath.Join(dir, "cli.tfrc"), "TF_IN_AUTOMATION=1", "CHECKPOINT_DISABLE=1")
	cmd.Env = append(cmd.Env, env...)
	out, err := runWithTimeout(cmd, 2*time.Minute)
	if err != nil {
		return string(out), err
	}
	b, err := os.ReadFile(filepath.Join(dir, ".terraform", "modules", "vpc", "main.tf"))
	if err != nil {
		return string(out), fmt.Errorf("module not fetched: %w", err)
	}
	return string(b), nil
}

func runWithTimeout(cmd *exec.Cmd, d time.Duration) ([]byte, error) {
	timer := time.AfterFunc(d, func() {
		if cmd.Process != nil {
			cmd.Process.Kill()
		}
	})
	defer timer.Stop()
	return cmd.CombinedOutput()
}

func requireTerraform(t *testing.T) {
	t.Helper()
	testenv.SkipShort(t, "the terraform CLI")
	_, err := exec.LookPath("terraform")
	testenv.Require(t, err, "terraform CLI")
	_, err = exec.LookPath("curl")
	testenv.Require(t, err, "curl")
}

// The whole user path: CI uploads with each header kind, terraform resolves
// over real HTTPS discovery with each token kind, the latest matching
// version by semantic order wins, and a private module needs credentials.
func TestTerraformInitAgainstCairn(t *testing.T) {
	t.Parallel()
	requireTerraform(t)
	r := startRegistry(t)
	issuer := testenv.NewIssuer(t)

	var acme, net struct{ ID int64 }
	r.api(r.admin, "POST", "/groups", map[string]any{"name": "acme", "path": "acme", "visibility": "private"}, &acme)
	r.api(r.admin, "POST", "/groups", map[string]any{"name": "net", "path": "net", "parent_id": acme.ID}, &net)
	var vpc, subnets struct{ ID int64 }
	r.api(r.admin, "POST", "/projects", map[string]any{"name": "vpc", "path": "vpc", "namespace_id": acme.ID}, &vpc)
	r.api(r.admin, "POST", "/projects", map[string]any{"name": "subnets", "path": "subnets", "namespace_id": net.ID}, &subnets)
	var deploy struct {
		Token    string `json:"token"`
		Username string `json:"username"`
	}
	r.api(r.admin, "POST", "/groups/acme/deploy_tokens", map[string]any{"name": "ci", "scopes": []string{"read_package_registry", "write_package_registry"}}, &deploy)
	r.api(r.admin, "POST", fmt.Sprintf("/projects/%d/ci_trust_rules", vpc.ID), map[string]any{
		"issuer": issuer.URL, "audience": r.proc.URL,
		"conditions": []map[string]string{{"claim": "project_path", "op": "equals", "value": "acme/vpc"}},
	}, &struct{}{})
	job := issuer.Mint(t, map[string]any{"aud": r.proc.URL, "sub": "project_path:acme/vpc:ref_type:branch:ref:main",
		"project_path": "acme/vpc", "ref_type": "branch", "ref": "main"})

	uploads := []struct{ version, header string }{
		{"1.0.0", "PRIVATE-TOKEN: " + r.admin},
		{"1.1.0", "DEPLOY-TOKEN: " + deploy.Token},
		{"1.10.0", "JOB-TOKEN: " + job},
		{"2.0.0-rc1", "PRIVATE-TOKEN: " + r.admin},
	}
	for _, u := range uploads {
		code, body := r.curlUpload(t, u.header, "acme%2Fvpc", "vpc", "aws", u.version, moduleTarGz(t, u.version))
		if code != 201 || !strings.Contains(body, `"201 Created"`) {
			t.Fatalf("upload %s with %s = %d %s", u.version, strings.SplitN(u.header, ":", 2)[0], code, body)
		}
	}
	// Same version again: GitLab's 403.
	if code, body := r.curlUpload(t, "PRIVATE-TOKEN: "+r.admin, "acme%2Fvpc", "vpc", "aws", "1.0.0", moduleTarGz(t, "1.0.0")); code != 403 {
		t.Fatalf("duplicate upload = %d %s, want 403", code, body)
	}

	source := r.host + "/acme/vpc/aws"
	sslEnv := "SSL_CERT_FILE=" + r.proc.CAPath()
	for name, token := range map[string]string{"personal access token": r.admin, "deploy token": deploy.Token, "job token": job} {
		cfg := fmt.Sprintf("credentials %q {\n  token = %q\n}\n", r.host, token)
		got, err := terraformGet(t, source, "~> 1.0", cfg, sslEnv)
		if err != nil {
			t.Fatalf("terraform get with a %s over HTTPS discovery: %v\n%s", name, err, got)
		}
		if !strings.Contains(got, `"1.10.0"`) {
			t.Fatalf("terraform get with a %s fetched the wrong version (want 1.10.0):\n%s", name, got)
		}
	}

	// TF_TOKEN_<host>: a host name with a dot, pointed at Cairn by a host block.
	hostCfg := fmt.Sprintf("host \"registry.cairn.test\" {\n  services = {\n    \"modules.v1\" = \"https://%s/v1/modules/\"\n  }\n}\n", r.host)
	got, err := terraformGet(t, "registry.cairn.test/acme/vpc/aws", "~> 1.0", hostCfg, sslEnv, "TF_TOKEN_registry_cairn_test="+r.admin)
	if err != nil || !strings.Contains(got, `"1.10.0"`) {
		t.Fatalf("terraform get with TF_TOKEN_registry_cairn_test: %v\n%s", err, got)
	}

	// An exact pre-release pin selects it.
	cfg := fmt.Sprintf("credentials %q {\n  token = %q\n}\n", r.host, r.admin)
	got, err = terraformGet(t, source, "2.0.0-rc1", cfg, sslEnv)
	if err != nil || !strings.Contains(got, `"2.0.0-rc1"`) {
		t.Fatalf("terraform get pinned to 2.0.0-rc1: %v\n%s", err, got)
	}

	// Without credentials the private module is refused with the registry's 401.
	out, err := terraformGet(t, source, "~> 1.0", "", sslEnv)
	if err == nil {
		t.Fatal("terraform get of a private module without credentials succeeded")
	}
	if !strings.Contains(out, "401") {
		t.Fatalf("terraform output does not show the registry's 401:\n%s", out)
	}

	// A module in a subgroup's project resolves through the top-level namespace.
	if code, body := r.curlUpload(t, "PRIVATE-TOKEN: "+r.admin, "acme%2Fnet%2Fsubnets", "subnets", "aws", "0.1.0", moduleTarGz(t, "0.1.0")); code != 201 {
		t.Fatalf("upload to subgroup project = %d %s", code, body)
	}
	got, err = terraformGet(t, r.host+"/acme/subnets/aws", "0.1.0", cfg, sslEnv)
	if err != nil || !strings.Contains(got, `"0.1.0"`) {
		t.Fatalf("terraform get of a subgroup project's module: %v\n%s", err, got)
	}
}
