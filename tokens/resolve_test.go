package tokens_test

import (
	"archive/tar"
	"bytes"
	"compress/gzip"
	"context"
	"encoding/base64"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"net/http"
	"slices"
	"strings"
	"testing"
	"time"

	"github.com/cairn-registry/cairn/internal/testenv"
	"github.com/cairn-registry/cairn/internal/testserver"
	"github.com/cairn-registry/cairn/policies"
	"github.com/cairn-registry/cairn/tokens"
)

func TestMain(m *testing.M) { testenv.Main(m) }

func TestExtract(t *testing.T) {
	basic := func(u, p string) string { return "Basic " + base64.StdEncoding.EncodeToString([]byte(u+":"+p)) }
	cases := []struct {
		name    string
		headers map[string]string
		want    tokens.Credential
		err     error
	}{
		{"none", nil, tokens.Credential{}, nil},
		{"private token", map[string]string{"PRIVATE-TOKEN": "cairnpat-x"}, tokens.Credential{Source: tokens.PrivateTokenHeader, Secret: "cairnpat-x"}, nil},
		{"deploy token", map[string]string{"Deploy-Token": "cairndt-x"}, tokens.Credential{Source: tokens.DeployTokenHeader, Secret: "cairndt-x"}, nil},
		{"job token", map[string]string{"JOB-TOKEN": "a.b.c"}, tokens.Credential{Source: tokens.JobTokenHeader, Secret: "a.b.c"}, nil},
		{"terrareg key", map[string]string{"X-Terrareg-ApiKey": "cairnpat-x"}, tokens.Credential{Source: tokens.TerraregAPIKey, Secret: "cairnpat-x"}, nil},
		{"bearer", map[string]string{"Authorization": "Bearer cairnpat-x"}, tokens.Credential{Source: tokens.Bearer, Secret: "cairnpat-x"}, nil},
		{"basic", map[string]string{"Authorization": basic("gitlab-ci-token", "a.b.c")}, tokens.Credential{Source: tokens.Basic, Secret: "a.b.c", Username: "gitlab-ci-token"}, nil},
		{"two", map[string]string{"PRIVATE-TOKEN": "x", "Authorization": "Bearer y"}, tokens.Credential{}, tokens.ErrMultipleCredentials},
		{"bad basic", map[string]string{"Authorization": "Basic !!!"}, tokens.Credential{}, tokens.ErrInvalidCredentials},
		{"unknown scheme", map[string]string{"Authorization": "Digest x"}, tokens.Credential{}, tokens.ErrInvalidCredentials},
	}
	for _, tc := range cases {
		h := http.Header{}
		for k, v := range tc.headers {
			h.Set(k, v)
		}
		got, err := tokens.Extract(h)
		if !errors.Is(err, tc.err) || got != tc.want {
			t.Errorf("%s: Extract = %+v, %v; want %+v, %v", tc.name, got, err, tc.want, tc.err)
		}
	}
}

// Expired, revoked and blocked credentials are refused; valid ones resolve
// to the right principal.
func TestResolveStoredTokens(t *testing.T) {
	t.Parallel()
	ctx := context.Background()
	pool := testenv.Pool(t)
	r := tokens.NewResolver(pool, nil)
	mint := func(sql string, args ...any) string {
		secret, display := tokens.NewPAT()
		if len(args) > 0 && args[0] == "deploy" {
			secret, display = tokens.NewDeployToken()
			args = args[1:]
		}
		if _, err := pool.Exec(ctx, sql, append([]any{tokens.Hash(secret), display}, args...)...); err != nil {
			t.Fatal(err)
		}
		return secret
	}
	if _, err := pool.Exec(ctx, `INSERT INTO users (id, username) VALUES (1, 'alice'), (2, 'bob');
		UPDATE users SET blocked = true WHERE id = 2;
		INSERT INTO groups (id, path, name, full_path, traversal_ids) VALUES (5, 'acme', 'acme', 'acme', '{5}');`); err != nil {
		t.Fatal(err)
	}
	past, future := time.Now().Add(-time.Minute), time.Now().Add(time.Hour)
	pat := `INSERT INTO personal_access_tokens (token_hash, token_prefix, user_id, name, scopes, expires_at, revoked) VALUES ($1, $2, $3, 'x', '{read_api}', $4, $5)`
	dt := `INSERT INTO deploy_tokens (token_hash, token_prefix, group_id, name, username, scopes, expires_at, revoked) VALUES ($1, $2, 5, 'd', 'deployer', '{read_package_registry}', $3, $4)`
	valid := mint(pat, 1, future, false)
	expired := mint(pat, 1, past, false)
	revoked := mint(pat, 1, nil, true)
	blocked := mint(pat, 2, nil, false)
	dtValid := mint(dt, "deploy", nil, false)
	dtExpired := mint(dt, "deploy", past, false)

	p, err := r.Resolve(ctx, tokens.Credential{Source: tokens.Bearer, Secret: valid})
	if err != nil || p.Kind != policies.User || p.UserID != 1 || p.Username != "alice" || len(p.Scopes) != 1 {
		t.Fatalf("valid PAT = %+v, %v", p, err)
	}
	p, err = r.Resolve(ctx, tokens.Credential{Source: tokens.Basic, Username: "deployer", Secret: dtValid})
	if err != nil || p.Kind != policies.DeployToken || p.DeployDomain != "g:5" {
		t.Fatalf("valid deploy token = %+v, %v", p, err)
	}
	for name, c := range map[string]tokens.Credential{
		"expired PAT":             {Source: tokens.PrivateTokenHeader, Secret: expired},
		"revoked PAT":             {Source: tokens.PrivateTokenHeader, Secret: revoked},
		"blocked user's PAT":      {Source: tokens.Bearer, Secret: blocked},
		"expired deploy token":    {Source: tokens.DeployTokenHeader, Secret: dtExpired},
		"PAT of another user":     {Source: tokens.Basic, Username: "bob", Secret: valid},
		"deploy token wrong user": {Source: tokens.Basic, Username: "someone", Secret: dtValid},
		"deploy token as PAT":     {Source: tokens.PrivateTokenHeader, Secret: dtValid},
		"unknown":                 {Source: tokens.Bearer, Secret: "cairnpat-unknown"},
		"garbage":                 {Source: tokens.Bearer, Secret: "hello"},
		"job token without rules": {Source: tokens.JobTokenHeader, Secret: "a.b.c"},
	} {
		if p, err := r.Resolve(ctx, c); !errors.Is(err, tokens.ErrInvalidCredentials) {
			t.Errorf("%s: Resolve = %+v, %v; want ErrInvalidCredentials", name, p, err)
		}
	}
	// A cached token is dropped by Forget: revocation is seen on the next use.
	if _, err := pool.Exec(ctx, `UPDATE personal_access_tokens SET revoked = true WHERE token_hash = $1`, tokens.Hash(valid)); err != nil {
		t.Fatal(err)
	}
	r.Forget()
	if _, err := r.Resolve(ctx, tokens.Credential{Source: tokens.Bearer, Secret: valid}); !errors.Is(err, tokens.ErrInvalidCredentials) {
		t.Fatalf("revoked PAT after Forget: %v", err)
	}
}

// moduleArchive is a minimal module as a tar.gz.
func moduleArchive(t *testing.T) []byte {
	t.Helper()
	var buf bytes.Buffer
	gz := gzip.NewWriter(&buf)
	tw := tar.NewWriter(gz)
	content := "output \"x\" {\n  value = 1\n}\n"
	if err := tw.WriteHeader(&tar.Header{Name: "main.tf", Mode: 0o644, Size: int64(len(content)), Typeflag: tar.TypeReg, ModTime: time.Now()}); err != nil {
		t.Fatal(err)
	}
	tw.Write([]byte(content))
	tw.Close()
	gz.Close()
	return buf.Bytes()
}

// TestTrustRuleCannotCaptureOtherProjectsTokens: a broad rule created early
// on project B (project_path glob team/*) also matches the CI tokens of
// team/a. Those tokens must still act for project A, whose own rule
// matches, and not be captured by B.
func TestTrustRuleCannotCaptureOtherProjectsTokens(t *testing.T) {
	t.Parallel()
	srv := testserver.Start(t)
	issuer := testenv.NewIssuer(t)
	admin := map[string]string{"PRIVATE-TOKEN": srv.AdminToken}
	api := func(method, path string, body any, want int) map[string]any {
		t.Helper()
		b, _ := json.Marshal(body)
		resp, out := srv.Raw(t, method, "/api/v4"+path, admin, string(b))
		if resp.StatusCode != want {
			t.Fatalf("%s %s = %d %s, want %d", method, path, resp.StatusCode, out, want)
		}
		var v map[string]any
		json.Unmarshal(out, &v)
		return v
	}
	team := api("POST", "/groups", map[string]any{"name": "team", "path": "team", "visibility": "private"}, http.StatusCreated)
	a := api("POST", "/projects", map[string]any{"name": "a", "path": "a", "namespace_id": team["id"]}, http.StatusCreated)
	b := api("POST", "/projects", map[string]any{"name": "b", "path": "b", "namespace_id": team["id"]}, http.StatusCreated)
	rule := func(project any, op, value string) {
		t.Helper()
		api("POST", fmt.Sprintf("/projects/%v/ci_trust_rules", project), map[string]any{
			"issuer": issuer.URL, "audience": srv.URL,
			"conditions": []map[string]string{{"claim": "project_path", "op": op, "value": value}},
		}, http.StatusCreated)
	}
	rule(b["id"], "glob", "team/*") // the broad rule comes first
	rule(a["id"], "equals", "team/a")
	// Rules that do not pin the repository are refused outright.
	for _, conds := range [][]map[string]string{
		{{"claim": "project_path", "op": "glob", "value": "*/*"}},
		{{"claim": "project_path", "op": "glob", "value": "*"}},
		{{"claim": "ref_type", "op": "equals", "value": "branch"}},
		{{"claim": "aud", "op": "equals", "value": srv.URL}, {"claim": "iss", "op": "equals", "value": issuer.URL}},
	} {
		body, _ := json.Marshal(map[string]any{"issuer": issuer.URL, "audience": srv.URL, "conditions": conds})
		resp, out := srv.Raw(t, "POST", fmt.Sprintf("/api/v4/projects/%v/ci_trust_rules", b["id"]), admin, string(body))
		if resp.StatusCode != http.StatusBadRequest || !strings.Contains(string(out), "pin the repository") {
			t.Errorf("POST ci_trust_rules %v = %d %s, want 400 naming the missing repository condition", conds, resp.StatusCode, out)
		}
		t.Logf("POST ci_trust_rules %v = %d %s", conds, resp.StatusCode, out)
	}

	mint := func(path string) string {
		return issuer.Mint(t, map[string]any{"aud": srv.URL, "sub": "project_path:" + path + ":ref_type:branch:ref:main",
			"project_path": path, "ref_type": "branch", "ref": "main"})
	}
	upload := func(token, project, version string) (int, string) {
		t.Helper()
		// Module names are unique in a namespace: name the module after the project.
		name := strings.TrimPrefix(project, "team%2F")
		req, err := http.NewRequest(http.MethodPut, fmt.Sprintf("%s/api/v4/projects/%s/packages/terraform/modules/%s/aws/%s/file", srv.URL, project, name, version),
			bytes.NewReader(moduleArchive(t)))
		if err != nil {
			t.Fatal(err)
		}
		req.Header.Set("JOB-TOKEN", token)
		resp, err := http.DefaultClient.Do(req)
		if err != nil {
			t.Fatal(err)
		}
		defer resp.Body.Close()
		out, _ := io.ReadAll(resp.Body)
		return resp.StatusCode, string(out)
	}
	teamA, teamC := mint("team/a"), mint("team/c")

	if code, body := upload(teamA, "team%2Fa", "1.0.0"); code != http.StatusCreated {
		t.Fatalf("upload to team/a with team/a's job token = %d %s, want 201 (its own rule matches)", code, body)
	}
	resp, body := srv.Raw(t, http.MethodGet, "/api/v4/projects/team%2Fa/packages/terraform/modules/a/aws/1.0.0", map[string]string{"JOB-TOKEN": teamA}, "")
	if resp.StatusCode != http.StatusOK {
		t.Fatalf("download from team/a with team/a's job token = %d %s, want 200", resp.StatusCode, body)
	}
	// Project B trusts team/* itself: that is B's own choice.
	if code, body := upload(teamA, "team%2Fb", "1.0.0"); code != http.StatusCreated {
		t.Fatalf("upload to team/b with team/a's job token = %d %s, want 201 (B's rule matches team/*)", code, body)
	}
	// A token only B's rule matches never acts for A.
	if code, body := upload(teamC, "team%2Fa", "2.0.0"); code != http.StatusNotFound {
		t.Fatalf("upload to team/a with team/c's job token = %d %s, want 404", code, body)
	}

	// The resolution itself: team/a's token acts for A (and B, which trusts
	// team/*), team/c's for B only.
	idA, idB := int64(a["id"].(float64)), int64(b["id"].(float64))
	for token, want := range map[string][]int64{teamA: {idB, idA}, teamC: {idB}} {
		p, err := srv.Resolver.Resolve(t.Context(), tokens.Credential{Source: tokens.JobTokenHeader, Secret: token})
		if err != nil || p.Kind != policies.Job || !slices.Equal(p.JobProjectIDs, want) {
			t.Errorf("Resolve(job token) = %+v, %v; want a job of projects %v", p, err, want)
		}
	}
}
