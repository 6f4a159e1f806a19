package tokens_test

import (
	"context"
	"encoding/base64"
	"errors"
	"net/http"
	"testing"
	"time"

	"github.com/cairn-registry/cairn/internal/testenv"
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
