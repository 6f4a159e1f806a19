package terrareg_test

import (
	"crypto/hmac"
	"crypto/sha256"
	"encoding/hex"
	"encoding/json"
	"net/http"
	"strings"
	"testing"

	"github.com/cairn-registry/cairn/gitimport/gittest"
	"github.com/cairn-registry/cairn/internal/testserver"
)

// testSecretKey is CAIRN_SECRET_KEY in the import tests (32 bytes, hex).
const testSecretKey = "00112233445566778899aabbccddeeff00112233445566778899aabbccddeeff"

// gitCairn is a server importing from repo.
func gitCairn(t *testing.T, repo *gittest.Repo, env map[string]string) *testserver.Server {
	t.Helper()
	vars := map[string]string{"CAIRN_SECRET_KEY": testSecretKey}
	for k, v := range env {
		vars[k] = v
	}
	s := testserver.Start(t, testserver.Env(vars))
	s.Imports.SetTLSConfig(repo.TLS)
	return s
}

// call sends a request as the administrator and returns status and body.
func call(t *testing.T, s *testserver.Server, method, path, body string) (int, string) {
	t.Helper()
	resp, b := s.Raw(t, method, path, map[string]string{"PRIVATE-TOKEN": s.AdminToken}, body)
	return resp.StatusCode, string(b)
}

func must(t *testing.T, s *testserver.Server, method, path, body string, code int) string {
	t.Helper()
	got, b := call(t, s, method, path, body)
	if got != code {
		t.Fatalf("%s %s = %d %s; want %d", method, path, got, b, code)
	}
	return b
}

// gitModule creates namespace acme and module provider acme/vpc/aws cloned
// from repoURL with tag format v{version} and git path modules/vpc.
func gitModule(t *testing.T, s *testserver.Server, repoURL string) {
	t.Helper()
	must(t, s, "POST", "/v1/terrareg/namespaces", `{"name":"acme"}`, http.StatusOK)
	settings, _ := json.Marshal(map[string]any{"repo_clone_url_template": repoURL, "git_tag_format": "v{version}",
		"git_path": gittest.ModulePath})
	must(t, s, "POST", "/v1/terrareg/modules/acme/vpc/aws/create", string(settings), http.StatusOK)
}

func versions(t *testing.T, s *testserver.Server) string {
	t.Helper()
	return must(t, s, "GET", "/v1/modules/acme/vpc/aws/versions", "", http.StatusOK)
}

func TestImportByVersionAndByTag(t *testing.T) {
	t.Parallel()
	repo := gittest.Serve(t, gittest.Options{})
	s := gitCairn(t, repo, nil)
	gitModule(t, s, repo.URL)

	must(t, s, "POST", "/v1/terrareg/modules/acme/vpc/aws/import", `{"version":"1.0.0"}`, http.StatusOK)
	if v := versions(t, s); !strings.Contains(v, `"1.0.0"`) {
		t.Fatalf("versions after importing 1.0.0: %s", v)
	}
	// Terrareg's deprecated path, by version; and by tag.
	must(t, s, "POST", "/v1/terrareg/modules/acme/vpc/aws/import", `{"git_tag":"v1.1.0"}`, http.StatusOK)
	v := versions(t, s)
	if !strings.Contains(v, `"1.1.0"`) {
		t.Fatalf("versions after importing v1.1.0: %s", v)
	}
	// The module came from the git path: its README and inputs.
	details := must(t, s, "GET", "/v1/modules/acme/vpc/aws/1.0.0", "", http.StatusOK)
	if !strings.Contains(details, "version one") || !strings.Contains(details, `"cidr"`) {
		t.Fatalf("details of the imported 1.0.0 do not show the module at %s: %s", gittest.ModulePath, details)
	}
	// The audit event names the commit.
	if n := s.AuditEvents(t, "import", "module_version", "root"); n != 2 {
		t.Fatalf("%d import audit events; want 2", n)
	}
	jobsList := must(t, s, "GET", "/v1/terrareg/modules/acme/vpc/aws/imports", "", http.StatusOK)
	if !strings.Contains(jobsList, repo.Commits["v1.0.0"]) || !strings.Contains(jobsList, `"succeeded"`) {
		t.Fatalf("jobs do not show the imported commit %s: %s", repo.Commits["v1.0.0"], jobsList)
	}

	// Refusals say what failed.
	for _, tc := range []struct{ body, want string }{
		{`{"version":"1.0.0"}`, "already exists"},
		{`{"version":"9.9.9"}`, "Tag v9.9.9 was not found"},
		{`{"git_tag":"not-a-version"}`, "does not match the git tag format"},
		{`{}`, "Either version or git_tag"},
		{`{"version":"1.0.0","git_tag":"v1.0.0"}`, "Only one of"},
	} {
		code, b := call(t, s, "POST", "/v1/terrareg/modules/acme/vpc/aws/import", tc.body)
		if code != http.StatusBadRequest || !strings.Contains(b, tc.want) {
			t.Errorf("import %s = %d %s; want 400 with %q", tc.body, code, b, tc.want)
		}
	}
	code, b := call(t, s, "POST", "/v1/terrareg/modules/acme/vpc/aws/2.0.0/import", "")
	if code != http.StatusBadRequest || !strings.Contains(b, "Tag v2.0.0 was not found") {
		t.Errorf("import .../2.0.0/import = %d %s; want 400 tag not found", code, b)
	}
	must(t, s, "POST", "/v1/terrareg/modules/acme/vpc/aws/settings", `{"git_tag_format":"release-{version}"}`, http.StatusOK)
	code, b = call(t, s, "POST", "/v1/terrareg/modules/acme/vpc/aws/import", `{"git_tag":"v1.0.0"}`)
	if code != http.StatusBadRequest || !strings.Contains(b, "does not match") {
		t.Errorf("import with another tag format = %d %s", code, b)
	}
}

func TestImportPathMissing(t *testing.T) {
	t.Parallel()
	repo := gittest.Serve(t, gittest.Options{})
	s := gitCairn(t, repo, nil)
	gitModule(t, s, repo.URL)
	must(t, s, "POST", "/v1/terrareg/modules/acme/vpc/aws/settings", `{"git_path":"modules/nope"}`, http.StatusOK)
	code, b := call(t, s, "POST", "/v1/terrareg/modules/acme/vpc/aws/import", `{"version":"1.0.0"}`)
	if code != http.StatusBadRequest || !strings.Contains(b, "The path modules/nope does not exist in tag v1.0.0") {
		t.Fatalf("import with a missing git path = %d %s", code, b)
	}
	// Nothing is left behind: no version.
	if v := versions(t, s); strings.Contains(v, `"1.0.0"`) {
		t.Fatalf("a failed import left a version: %s", v)
	}
}

func TestImportPrivateRepository(t *testing.T) {
	t.Parallel()
	repo := gittest.Serve(t, gittest.Options{Username: "deploy", Password: "s3cret-token"})
	s := gitCairn(t, repo, nil)
	gitModule(t, s, repo.URL)

	code, b := call(t, s, "POST", "/v1/terrareg/modules/acme/vpc/aws/import", `{"version":"1.0.0"}`)
	if code != http.StatusBadRequest || !strings.Contains(b, "Authentication failed") {
		t.Fatalf("import without a credential = %d %s; want 400 authentication failed", code, b)
	}
	must(t, s, "POST", "/v1/terrareg/modules/acme/vpc/aws/git/credentials", `{"username":"deploy","token":"wrong"}`, http.StatusOK)
	code, b = call(t, s, "POST", "/v1/terrareg/modules/acme/vpc/aws/import", `{"version":"1.0.0"}`)
	if code != http.StatusBadRequest || !strings.Contains(b, "Authentication failed") {
		t.Fatalf("import with a wrong credential = %d %s; want 400 authentication failed", code, b)
	}
	must(t, s, "POST", "/v1/terrareg/modules/acme/vpc/aws/git/credentials", `{"username":"deploy","token":"s3cret-token"}`, http.StatusOK)
	must(t, s, "POST", "/v1/terrareg/modules/acme/vpc/aws/import", `{"version":"1.0.0"}`, http.StatusOK)
	// The token is never shown again.
	st := must(t, s, "GET", "/v1/terrareg/modules/acme/vpc/aws/git", "", http.StatusOK)
	if strings.Contains(st, "s3cret") || !strings.Contains(st, `"credential_set":true`) {
		t.Fatalf("git status = %s", st)
	}
	// Nor stored in the clear.
	var n int
	if err := s.Pool.QueryRow(t.Context(), "SELECT count(*) FROM module_git_secrets WHERE position('s3cret' in encode(credential_sealed, 'escape')) > 0").Scan(&n); err != nil || n != 0 {
		t.Fatalf("the token is stored in the clear (%d, %v)", n, err)
	}
}

func TestCredentialsNeedSecretKey(t *testing.T) {
	t.Parallel()
	repo := gittest.Serve(t, gittest.Options{})
	s := gitCairn(t, repo, map[string]string{"CAIRN_SECRET_KEY": ""})
	gitModule(t, s, repo.URL)
	code, b := call(t, s, "POST", "/v1/terrareg/modules/acme/vpc/aws/git/credentials", `{"token":"abc"}`)
	if code != http.StatusBadRequest || !strings.Contains(b, "CAIRN_SECRET_KEY is not set") {
		t.Fatalf("storing a credential without CAIRN_SECRET_KEY = %d %s; want 400", code, b)
	}
	// Public repositories import all the same.
	must(t, s, "POST", "/v1/terrareg/modules/acme/vpc/aws/import", `{"version":"1.0.0"}`, http.StatusOK)
}

func TestImportRefusesLoopbackWithoutAllowList(t *testing.T) {
	t.Parallel()
	repo := gittest.Serve(t, gittest.Options{})
	s := gitCairn(t, repo, map[string]string{"CAIRN_OUTBOUND_ALLOW": ""})
	gitModule(t, s, repo.URL)
	code, b := call(t, s, "POST", "/v1/terrareg/modules/acme/vpc/aws/import", `{"version":"1.0.0"}`)
	if code != http.StatusBadRequest || !strings.Contains(b, "forbidden loopback address") {
		t.Fatalf("import from 127.0.0.1 without the allow-list = %d %s; want 400 forbidden loopback", code, b)
	}
	if repo.Fetches.Load() != 0 {
		t.Fatalf("the repository was fetched %d times", repo.Fetches.Load())
	}
	// Only https:// is cloned.
	for _, u := range []string{"file:///etc", "http://example.com/x.git", "ssh://git@example.com/x.git"} {
		if code, b := call(t, s, "POST", "/v1/terrareg/modules/acme/vpc/aws/settings", `{"repo_clone_url_template":"`+u+`"}`); code != http.StatusOK {
			if code != http.StatusBadRequest {
				t.Errorf("settings with %s = %d %s", u, code, b)
			}
			continue // refused by the settings already
		}
		code, b := call(t, s, "POST", "/v1/terrareg/modules/acme/vpc/aws/import", `{"version":"1.0.0"}`)
		if code != http.StatusBadRequest || !strings.Contains(b, "https://") {
			t.Errorf("import from %s = %d %s; want 400 https only", u, code, b)
		}
	}
}

// TestSettingsGenerateWebhookSecret: the first save of repository settings
// answers the new webhook secret (once), and a GitHub delivery signed with
// it is accepted.
func TestSettingsGenerateWebhookSecret(t *testing.T) {
	t.Parallel()
	repo := gittest.Serve(t, gittest.Options{})
	s := gitCairn(t, repo, nil)
	must(t, s, "POST", "/v1/terrareg/namespaces", `{"name":"acme"}`, http.StatusOK)
	must(t, s, "POST", "/v1/terrareg/modules/acme/vpc/aws/create", `{}`, http.StatusOK)
	// Settings without a repository do not make a secret.
	if b := must(t, s, "POST", "/v1/terrareg/modules/acme/vpc/aws/settings", `{"git_tag_format":"v{version}"}`, http.StatusOK); strings.Contains(b, "webhook_secret") {
		t.Fatalf("settings without a repository answered %s", b)
	}
	settings, _ := json.Marshal(map[string]any{"repo_clone_url_template": repo.URL, "git_path": gittest.ModulePath})
	var first struct {
		Secret string `json:"webhook_secret"`
	}
	if err := json.Unmarshal([]byte(must(t, s, "POST", "/v1/terrareg/modules/acme/vpc/aws/settings", string(settings), http.StatusOK)), &first); err != nil || len(first.Secret) < 32 {
		t.Fatalf("the first save of repository settings answered no webhook secret (%v)", err)
	}
	if b := must(t, s, "POST", "/v1/terrareg/modules/acme/vpc/aws/settings", string(settings), http.StatusOK); strings.Contains(b, "webhook_secret") {
		t.Fatalf("the second save showed the webhook secret again: %s", b)
	}
	body := `{"action":"published","release":{"tag_name":"v1.0.0"}}`
	m := hmac.New(sha256.New, []byte(first.Secret))
	m.Write([]byte(body))
	resp, b := s.Raw(t, "POST", "/v1/terrareg/modules/acme/vpc/aws/hooks/github", map[string]string{"X-GitHub-Event": "release",
		"X-GitHub-Delivery": "d-1", "X-Hub-Signature-256": "sha256=" + hex.EncodeToString(m.Sum(nil))}, body)
	if resp.StatusCode != http.StatusAccepted || !strings.Contains(string(b), "job_ids") {
		t.Fatalf("a delivery signed with the secret = %d %s; want 202", resp.StatusCode, b)
	}
}
