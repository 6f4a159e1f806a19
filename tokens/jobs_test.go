package tokens_test

import (
	"bytes"
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"log/slog"
	"net/http"
	"net/http/httptest"
	"net/url"
	"slices"
	"strings"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	jose "github.com/go-jose/go-jose/v4"

	"github.com/cairn-registry/cairn/internal/outbound"
	"github.com/cairn-registry/cairn/internal/testenv"
	"github.com/cairn-registry/cairn/tokens"
)

const cairnURL = "https://cairn.example.com"

// staticRules is a RuleSource over a fixed list.
type staticRules []tokens.TrustRule

func (s staticRules) TrustRulesForIssuer(_ context.Context, issuer string) ([]tokens.TrustRule, error) {
	var out []tokens.TrustRule
	for _, r := range s {
		if r.Issuer == issuer {
			out = append(out, r)
		}
	}
	return out, nil
}

// failingRules is a RuleSource whose database is down.
type failingRules struct{}

var errDatabaseDown = errors.New("database down")

func (failingRules) TrustRulesForIssuer(context.Context, string) ([]tokens.TrustRule, error) {
	return nil, errDatabaseDown
}

func eq(claim, value string) tokens.ClaimCondition {
	return tokens.ClaimCondition{Claim: claim, Op: tokens.OpEquals, Value: value}
}

func glob(claim, value string) tokens.ClaimCondition {
	return tokens.ClaimCondition{Claim: claim, Op: tokens.OpGlob, Value: value}
}

// gitlabClaims are the claims of a GitLab CI id_token for a branch pipeline,
// with overrides applied (nil drops a claim).
func gitlabClaims(overrides map[string]any) map[string]any {
	c := map[string]any{
		"aud":           cairnURL,
		"sub":           "project_path:acme/net/vpc:ref_type:branch:ref:main",
		"project_id":    "1234",
		"project_path":  "acme/net/vpc",
		"namespace_id":  77,
		"ref_type":      "branch",
		"ref":           "main",
		"ref_protected": true,
	}
	for k, v := range overrides {
		c[k] = v
	}
	return c
}

// githubClaims are the claims of a GitHub Actions OIDC token, with overrides.
func githubClaims(overrides map[string]any) map[string]any {
	c := map[string]any{
		"aud":        cairnURL,
		"sub":        "repo:acme/vpc:ref:refs/heads/main",
		"repository": "acme/vpc",
		"ref":        "refs/heads/main",
		"ref_type":   "branch",
		"event_name": "push",
	}
	for k, v := range overrides {
		c[k] = v
	}
	return c
}

// hs256 signs claims with a shared secret: an algorithm job tokens must never use.
func hs256(t *testing.T, claims map[string]any) string {
	t.Helper()
	signer, err := jose.NewSigner(jose.SigningKey{Algorithm: jose.HS256, Key: []byte("0123456789abcdef0123456789abcdef")}, nil)
	if err != nil {
		t.Fatal(err)
	}
	payload, _ := json.Marshal(claims)
	jws, err := signer.Sign(payload)
	if err != nil {
		t.Fatal(err)
	}
	raw, err := jws.CompactSerialize()
	if err != nil {
		t.Fatal(err)
	}
	return raw
}

// newVerifier is a verifier over the outbound client, with the loopback
// interface (where test issuers run) allow-listed and a log that fails the
// test on nothing but is shown with -v.
func newVerifier(t *testing.T) *tokens.JobVerifier {
	t.Helper()
	allow, err := outbound.ParseAllow("127.0.0.1,::1,localhost")
	if err != nil {
		t.Fatal(err)
	}
	return tokens.NewJobVerifier(nil, allow, slog.New(slog.NewTextHandler(t.Output(), nil)))
}

func TestJobVerify(t *testing.T) {
	gitlab := testenv.NewIssuer(t)
	github := testenv.NewIssuer(t)
	stranger := testenv.NewIssuer(t)
	now := time.Now()

	// A closed server: trusted by a rule but unreachable.
	gone := httptest.NewServer(nil)
	gone.Close()

	vpcRule := tokens.TrustRule{ID: 1, ProjectID: 10, Issuer: gitlab.URL, Audience: cairnURL,
		Conditions: []tokens.ClaimCondition{eq("project_path", "acme/net/vpc"), eq("ref_type", "branch"), glob("ref", "main")}}
	releaseRule := tokens.TrustRule{ID: 2, ProjectID: 10, Issuer: gitlab.URL, Audience: cairnURL,
		Conditions: []tokens.ClaimCondition{eq("project_path", "acme/net/vpc"), glob("ref", "release/*")}}
	githubRule := tokens.TrustRule{ID: 3, ProjectID: 30, Issuer: github.URL, Audience: cairnURL,
		Conditions: []tokens.ClaimCondition{eq("repository", "acme/vpc"), glob("ref", "refs/heads/*")}}
	audA := tokens.TrustRule{ID: 4, ProjectID: 40, Issuer: gitlab.URL, Audience: "https://a.example",
		Conditions: []tokens.ClaimCondition{eq("project_path", "acme/net/vpc")}}
	audB := tokens.TrustRule{ID: 5, ProjectID: 50, Issuer: gitlab.URL, Audience: "https://b.example",
		Conditions: []tokens.ClaimCondition{eq("project_path", "acme/net/vpc")}}
	typedRule := tokens.TrustRule{ID: 6, ProjectID: 60, Issuer: gitlab.URL, Audience: cairnURL,
		Conditions: []tokens.ClaimCondition{glob("project_path", "acme/*/vpc"), eq("namespace_id", "77"), eq("ref_protected", "true"), glob("project_id", "12*")}}
	noConditions := tokens.TrustRule{ID: 7, ProjectID: 70, Issuer: gitlab.URL, Audience: cairnURL}
	goneRule := tokens.TrustRule{ID: 8, ProjectID: 80, Issuer: gone.URL, Audience: cairnURL,
		Conditions: []tokens.ClaimCondition{eq("project_path", "acme/net/vpc")}}
	// Stored before repository conditions were required: ignored.
	broadRule := tokens.TrustRule{ID: 9, ProjectID: 90, Issuer: gitlab.URL, Audience: cairnURL,
		Conditions: []tokens.ClaimCondition{glob("project_path", "*/*/*")}}
	otherVPCRule := tokens.TrustRule{ID: 10, ProjectID: 100, Issuer: gitlab.URL, Audience: cairnURL,
		Conditions: []tokens.ClaimCondition{glob("project_path", "acme/*/vpc")}}
	ids := func(v ...int64) []int64 { return v }

	cases := []struct {
		name         string
		rules        tokens.RuleSource
		token        string
		wantProjects []int64
		wantRules    []int64
		wantErr      string // substring of the reason; empty means success
		unavailable  bool   // the error must also wrap ErrIssuerUnavailable
	}{
		{name: "gitlab branch pipeline",
			rules: staticRules{vpcRule}, token: gitlab.Mint(t, gitlabClaims(nil)),
			wantProjects: ids(10), wantRules: ids(1)},
		{name: "gitlab ref matches release glob",
			rules: staticRules{releaseRule}, token: gitlab.Mint(t, gitlabClaims(map[string]any{"ref": "release/2.0"})),
			wantProjects: ids(10), wantRules: ids(2)},
		{name: "gitlab ref main against release glob",
			rules: staticRules{releaseRule}, token: gitlab.Mint(t, gitlabClaims(nil)),
			wantErr: `claim "ref" = "main" does not match glob "release/*"`},
		{name: "glob star does not cross slash",
			rules: staticRules{releaseRule}, token: gitlab.Mint(t, gitlabClaims(map[string]any{"ref": "release/2.0/hotfix"})),
			wantErr: `claim "ref"`},
		{name: "unmet claim",
			rules: staticRules{vpcRule}, token: gitlab.Mint(t, gitlabClaims(map[string]any{"ref_type": "tag"})),
			wantErr: `claim "ref_type" = "tag" does not match equals "branch"`},
		{name: "other project",
			rules: staticRules{vpcRule}, token: gitlab.Mint(t, gitlabClaims(map[string]any{"project_path": "evil/net/vpc"})),
			wantErr: `claim "project_path"`},
		{name: "missing claim",
			rules: staticRules{vpcRule}, token: gitlab.Mint(t, gitlabClaims(map[string]any{"ref_type": nil})),
			wantErr: `claim "ref_type" is missing`},
		{name: "null claim counts as missing",
			rules: staticRules{vpcRule}, token: gitlab.Mint(t, gitlabClaims(map[string]any{"ref_type": json.RawMessage("null")})),
			wantErr: `claim "ref_type" is missing`},
		{name: "structured claim never matches",
			rules: staticRules{vpcRule}, token: gitlab.Mint(t, gitlabClaims(map[string]any{"ref_type": []string{"branch"}})),
			wantErr: `claim "ref_type" is not a string`},
		{name: "number and bool claims compare as strings",
			rules: staticRules{typedRule}, token: gitlab.Mint(t, gitlabClaims(nil)),
			wantProjects: ids(60), wantRules: ids(6)},
		{name: "wrong audience",
			rules: staticRules{vpcRule}, token: gitlab.Mint(t, gitlabClaims(map[string]any{"aud": "https://elsewhere.example"})),
			wantErr: "wrong audience"},
		{name: "default audience is not ours",
			rules: staticRules{vpcRule}, token: gitlab.Mint(t, gitlabClaims(map[string]any{"aud": nil})),
			wantErr: "wrong audience"},
		{name: "unknown issuer",
			rules: staticRules{vpcRule, githubRule}, token: stranger.Mint(t, gitlabClaims(nil)),
			wantErr: "unknown issuer"},
		{name: "iss claimed as trusted issuer but signed by another",
			rules: staticRules{vpcRule}, token: stranger.Mint(t, gitlabClaims(map[string]any{"iss": gitlab.URL})),
			wantErr: "signature"},
		{name: "iss differs from rule issuer by a trailing slash",
			rules: staticRules{vpcRule}, token: gitlab.Mint(t, gitlabClaims(map[string]any{"iss": gitlab.URL + "/"})),
			wantErr: "unknown issuer"},
		{name: "expired",
			rules: staticRules{vpcRule}, token: gitlab.Mint(t, gitlabClaims(map[string]any{
				"iat": now.Add(-10 * time.Minute), "nbf": now.Add(-10 * time.Minute), "exp": now.Add(-time.Minute)})),
			wantErr: "expired"},
		{name: "no exp",
			rules: staticRules{vpcRule}, token: gitlab.Mint(t, gitlabClaims(map[string]any{"exp": nil})),
			wantErr: "expired"},
		{name: "not yet valid",
			rules: staticRules{vpcRule}, token: gitlab.Mint(t, gitlabClaims(map[string]any{"nbf": now.Add(3 * time.Minute)})),
			wantErr: "not valid before"},
		{name: "not valid for a long while",
			rules: staticRules{vpcRule}, token: gitlab.Mint(t, gitlabClaims(map[string]any{
				"nbf": now.Add(time.Hour), "exp": now.Add(2 * time.Hour)})),
			wantErr: "nbf"},
		{name: "nbf within leeway",
			rules: staticRules{vpcRule}, token: gitlab.Mint(t, gitlabClaims(map[string]any{"nbf": now.Add(20 * time.Second)})),
			wantProjects: ids(10), wantRules: ids(1)},
		{name: "issued in the future",
			rules: staticRules{vpcRule}, token: gitlab.Mint(t, gitlabClaims(map[string]any{"iat": now.Add(3 * time.Minute)})),
			wantErr: "issued in the future"},
		{name: "bad signature",
			rules: staticRules{vpcRule}, token: gitlab.MintWithKey(t, gitlabClaims(nil), testenv.NewRSAKey(t)),
			wantErr: "signature"},
		{name: "symmetric algorithm",
			rules: staticRules{vpcRule}, token: hs256(t, gitlabClaims(map[string]any{"iss": gitlab.URL, "exp": now.Add(time.Minute).Unix()})),
			wantErr: "malformed token"},
		{name: "github actions push",
			rules: staticRules{githubRule}, token: github.Mint(t, githubClaims(nil)),
			wantProjects: ids(30), wantRules: ids(3)},
		{name: "github actions nested branch",
			rules: staticRules{githubRule}, token: github.Mint(t, githubClaims(map[string]any{"ref": "refs/heads/feature/x"})),
			wantErr: `claim "ref" = "refs/heads/feature/x" does not match glob "refs/heads/*"`},
		{name: "github actions other repository",
			rules: staticRules{githubRule}, token: github.Mint(t, githubClaims(map[string]any{"repository": "acme/vpc-fork"})),
			wantErr: `claim "repository"`},
		{name: "github token against gitlab rule",
			rules: staticRules{vpcRule, githubRule}, token: github.Mint(t, gitlabClaims(nil)),
			wantErr: `claim "repository" is missing`},
		{name: "two audiences: b wins for aud b",
			rules: staticRules{audA, audB}, token: gitlab.Mint(t, gitlabClaims(map[string]any{"aud": "https://b.example"})),
			wantProjects: ids(50), wantRules: ids(5)},
		{name: "two audiences: a wins for aud a",
			rules: staticRules{audA, audB}, token: gitlab.Mint(t, gitlabClaims(map[string]any{"aud": "https://a.example"})),
			wantProjects: ids(40), wantRules: ids(4)},
		{name: "two audiences: aud list",
			rules: staticRules{audA, audB}, token: gitlab.Mint(t, gitlabClaims(map[string]any{"aud": []string{"https://x.example", "https://b.example"}})),
			wantProjects: ids(50), wantRules: ids(5)},
		{name: "two audiences: neither",
			rules: staticRules{audA, audB}, token: gitlab.Mint(t, gitlabClaims(nil)),
			wantErr: "wrong audience"},
		{name: "every matching rule counts",
			rules: staticRules{releaseRule, vpcRule, typedRule}, token: gitlab.Mint(t, gitlabClaims(nil)),
			wantProjects: ids(10, 60), wantRules: ids(1, 6)},
		{name: "an earlier broad rule of another project does not capture the token",
			rules: staticRules{otherVPCRule, vpcRule}, token: gitlab.Mint(t, gitlabClaims(nil)),
			wantProjects: ids(100, 10), wantRules: ids(10, 1)},
		{name: "a project with two matching rules is listed once",
			rules: staticRules{vpcRule, typedRule, releaseRule, audA, {ID: 11, ProjectID: 10, Issuer: gitlab.URL, Audience: cairnURL,
				Conditions: []tokens.ClaimCondition{eq("sub", "project_path:acme/net/vpc:ref_type:branch:ref:main")}}},
			token:        gitlab.Mint(t, gitlabClaims(nil)),
			wantProjects: ids(10, 60), wantRules: ids(1, 6, 11)},
		{name: "a stored rule without a repository condition is ignored",
			rules: staticRules{broadRule, vpcRule}, token: gitlab.Mint(t, gitlabClaims(nil)),
			wantProjects: ids(10), wantRules: ids(1)},
		{name: "a stored rule without a repository condition alone trusts nobody",
			rules: staticRules{broadRule}, token: gitlab.Mint(t, gitlabClaims(nil)),
			wantErr: "unknown issuer"},
		{name: "rule without conditions is ignored",
			rules: staticRules{noConditions}, token: gitlab.Mint(t, gitlabClaims(nil)),
			wantErr: "unknown issuer"},
		{name: "issuer unreachable",
			rules: staticRules{goneRule}, token: gitlab.Mint(t, gitlabClaims(map[string]any{"iss": gone.URL})),
			wantErr: "issuer unavailable", unavailable: true},
		{name: "empty", rules: staticRules{vpcRule}, token: "", wantErr: "malformed token"},
		{name: "one segment", rules: staticRules{vpcRule}, token: "abc", wantErr: "malformed token"},
		{name: "garbage segments", rules: staticRules{vpcRule}, token: "a.b.c", wantErr: "malformed token"},
		{name: "empty segments", rules: staticRules{vpcRule}, token: "..", wantErr: "malformed token"},
		{name: "personal access token", rules: staticRules{vpcRule}, token: "glpat-abcdefghij0123456789", wantErr: "malformed token"},
		{name: "unsigned", rules: staticRules{vpcRule}, token: "eyJhbGciOiJub25lIn0.eyJpc3MiOiJ4In0.", wantErr: "malformed token"},
		{name: "alg none with a signature", rules: staticRules{vpcRule}, token: "eyJhbGciOiJub25lIn0.eyJpc3MiOiJ4In0.c2ln", wantErr: "malformed token"},
		{name: "payload not JSON", rules: staticRules{vpcRule}, token: "eyJhbGciOiJSUzI1NiJ9.bm90IGpzb24.c2ln", wantErr: "malformed token"},
		{name: "no iss", rules: staticRules{vpcRule}, token: gitlab.Mint(t, gitlabClaims(map[string]any{"iss": nil})), wantErr: "no iss claim"},
		{name: "oversized", rules: staticRules{vpcRule}, token: gitlab.Mint(t, gitlabClaims(map[string]any{"pad": strings.Repeat("x", 20<<10)})), wantErr: "longer than"},
	}

	v := newVerifier(t)
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			job, err := v.Verify(t.Context(), tc.token, tc.rules)
			if tc.wantErr == "" {
				if err != nil {
					t.Fatalf("Verify = %v, want projects %v via rules %v", err, tc.wantProjects, tc.wantRules)
				}
				if !slices.Equal(job.ProjectIDs, tc.wantProjects) || !slices.Equal(job.RuleIDs, tc.wantRules) {
					t.Fatalf("Verify = projects %v rules %v, want projects %v rules %v", job.ProjectIDs, job.RuleIDs, tc.wantProjects, tc.wantRules)
				}
				return
			}
			if err == nil {
				t.Fatalf("Verify = projects %v rules %v, want error containing %q", job.ProjectIDs, job.RuleIDs, tc.wantErr)
			}
			t.Logf("refused: %v", err)
			if !errors.Is(err, tokens.ErrInvalidJobToken) || !strings.Contains(err.Error(), tc.wantErr) {
				t.Fatalf("Verify error = %v, want ErrInvalidJobToken containing %q", err, tc.wantErr)
			}
			if got := errors.Is(err, tokens.ErrIssuerUnavailable); got != tc.unavailable {
				t.Fatalf("errors.Is(%v, ErrIssuerUnavailable) = %v, want %v", err, got, tc.unavailable)
			}
		})
	}

	if n := stranger.Requests(testenv.DiscoveryPath) + stranger.Requests(testenv.KeysPath); n != 0 {
		t.Errorf("untrusted issuer was asked %d times, want never", n)
	}
}

func TestJobVerifyIdentity(t *testing.T) {
	gitlab := testenv.NewIssuer(t)
	rules := staticRules{{ID: 9, ProjectID: 90, Issuer: gitlab.URL, Audience: cairnURL,
		Conditions: []tokens.ClaimCondition{eq("project_path", "acme/net/vpc")}}}
	exp := time.Now().Add(3 * time.Minute).Truncate(time.Second)
	job, err := newVerifier(t).Verify(t.Context(), gitlab.Mint(t, gitlabClaims(map[string]any{"exp": exp})), rules)
	if err != nil {
		t.Fatalf("Verify = %v, want success", err)
	}
	if !slices.Equal(job.ProjectIDs, []int64{90}) || !slices.Equal(job.RuleIDs, []int64{9}) || job.Issuer != gitlab.URL ||
		job.Subject != "project_path:acme/net/vpc:ref_type:branch:ref:main" || !job.Expiry.Equal(exp) {
		t.Errorf("Verify = %+v, want project 90, rule 9, issuer %s, GitLab subject, expiry %v", job, gitlab.URL, exp)
	}
	if job.Claims["project_path"] != "acme/net/vpc" || job.Claims["namespace_id"] != json.Number("77") || job.Claims["ref_protected"] != true {
		t.Errorf("Claims = %v, want the token's claims with numbers as json.Number", job.Claims)
	}
}

func TestJobVerifyRuleSourceError(t *testing.T) {
	gitlab := testenv.NewIssuer(t)
	_, err := newVerifier(t).Verify(t.Context(), gitlab.Mint(t, gitlabClaims(nil)), failingRules{})
	if !errors.Is(err, errDatabaseDown) || errors.Is(err, tokens.ErrInvalidJobToken) {
		t.Fatalf("Verify = %v, want the rule source's error, not ErrInvalidJobToken", err)
	}
}

// TestJobVerifyDiscoversOnce runs many concurrent verifications (run it with
// -race) against two issuers and checks each was discovered, and its keys
// fetched, exactly once.
func TestJobVerifyDiscoversOnce(t *testing.T) {
	gitlab := testenv.NewIssuer(t)
	github := testenv.NewIssuer(t)
	rules := staticRules{
		{ID: 1, ProjectID: 10, Issuer: gitlab.URL, Audience: cairnURL,
			Conditions: []tokens.ClaimCondition{eq("project_path", "acme/net/vpc")}},
		{ID: 2, ProjectID: 20, Issuer: github.URL, Audience: cairnURL,
			Conditions: []tokens.ClaimCondition{eq("repository", "acme/vpc")}},
	}
	good := map[string]int64{
		gitlab.Mint(t, gitlabClaims(nil)): 10,
		github.Mint(t, githubClaims(nil)): 20,
	}
	bad := []string{
		gitlab.Mint(t, gitlabClaims(map[string]any{"project_path": "evil/x"})),
		github.Mint(t, githubClaims(map[string]any{"aud": "other"})),
	}

	v := newVerifier(t)
	var wg sync.WaitGroup
	errs := make(chan error, 1000)
	for g := range 16 {
		wg.Go(func() {
			for i := range 25 {
				for raw, project := range good {
					job, err := v.Verify(t.Context(), raw, rules)
					if err != nil || !slices.Equal(job.ProjectIDs, []int64{project}) {
						errs <- fmt.Errorf("goroutine %d, call %d: Verify = %+v, %v; want project %d", g, i, job, err, project)
					}
				}
				for _, raw := range bad {
					if _, err := v.Verify(t.Context(), raw, rules); !errors.Is(err, tokens.ErrInvalidJobToken) {
						errs <- fmt.Errorf("goroutine %d, call %d: Verify(bad) = %v, want ErrInvalidJobToken", g, i, err)
					}
				}
			}
		})
	}
	wg.Wait()
	close(errs)
	for err := range errs {
		t.Error(err)
	}
	for name, iss := range map[string]*testenv.Issuer{"gitlab": gitlab, "github": github} {
		if n := iss.Requests(testenv.DiscoveryPath); n != 1 {
			t.Errorf("%s discovery fetched %d times, want 1", name, n)
		}
		if n := iss.Requests(testenv.KeysPath); n != 1 {
			t.Errorf("%s JWKS fetched %d times, want 1", name, n)
		}
	}
}

// TestJobVerifyForgeriesDoNotHammerIssuer: go-oidc refetches the key set for
// every signature it cannot verify; the verifier must not pass each forged
// token on as a request to the CI platform.
func TestJobVerifyForgeriesDoNotHammerIssuer(t *testing.T) {
	gitlab := testenv.NewIssuer(t)
	rules := staticRules{{ID: 1, ProjectID: 10, Issuer: gitlab.URL, Audience: cairnURL,
		Conditions: []tokens.ClaimCondition{eq("project_path", "acme/net/vpc")}}}
	v := newVerifier(t)
	forged := gitlab.MintWithKey(t, gitlabClaims(nil), testenv.NewRSAKey(t))
	for range 50 {
		if _, err := v.Verify(t.Context(), forged, rules); !errors.Is(err, tokens.ErrInvalidJobToken) || !strings.Contains(err.Error(), "signature") {
			t.Fatalf("Verify(forged) = %v, want a signature failure", err)
		}
	}
	if n := gitlab.Requests(testenv.KeysPath); n > 2 {
		t.Errorf("JWKS fetched %d times for 50 forged tokens, want at most 2", n)
	}
	if _, err := v.Verify(t.Context(), gitlab.Mint(t, gitlabClaims(nil)), rules); err != nil {
		t.Errorf("Verify(genuine) after forgeries = %v, want success", err)
	}
}

func TestJobTrustRuleValidate(t *testing.T) {
	conds := []tokens.ClaimCondition{eq("project_path", "acme/vpc")}
	rule := func(c ...tokens.ClaimCondition) tokens.TrustRule {
		return tokens.TrustRule{Issuer: "https://gitlab.com", Audience: cairnURL, Conditions: c}
	}
	cases := []struct {
		name    string
		rule    tokens.TrustRule
		wantErr string
	}{
		{"gitlab.com", tokens.TrustRule{Issuer: "https://gitlab.com", Audience: cairnURL, Conditions: conds}, ""},
		{"github actions", tokens.TrustRule{Issuer: "https://token.actions.githubusercontent.com", Audience: cairnURL, Conditions: conds}, ""},
		{"self-managed under a path", tokens.TrustRule{Issuer: "https://example.com/gitlab", Audience: cairnURL, Conditions: conds}, ""},
		{"http loopback", tokens.TrustRule{Issuer: "http://127.0.0.1:8080", Audience: cairnURL, Conditions: conds}, ""},
		{"http localhost", tokens.TrustRule{Issuer: "http://localhost:8080", Audience: cairnURL, Conditions: conds}, ""},
		{"http ipv6 loopback", tokens.TrustRule{Issuer: "http://[::1]:8080", Audience: cairnURL, Conditions: conds}, ""},
		{"http elsewhere", tokens.TrustRule{Issuer: "http://gitlab.example.com", Audience: cairnURL, Conditions: conds}, "https"},
		{"http localhost lookalike", tokens.TrustRule{Issuer: "http://localhost.evil.example", Audience: cairnURL, Conditions: conds}, "https"},
		{"other scheme", tokens.TrustRule{Issuer: "ftp://gitlab.example.com", Audience: cairnURL, Conditions: conds}, "https"},
		{"relative", tokens.TrustRule{Issuer: "gitlab.example.com", Audience: cairnURL, Conditions: conds}, "absolute"},
		{"empty issuer", tokens.TrustRule{Audience: cairnURL, Conditions: conds}, "absolute"},
		{"credentials", tokens.TrustRule{Issuer: "https://u:p@gitlab.example.com", Audience: cairnURL, Conditions: conds}, "credentials"},
		{"query", tokens.TrustRule{Issuer: "https://gitlab.example.com?x=1", Audience: cairnURL, Conditions: conds}, "query"},
		{"empty audience", tokens.TrustRule{Issuer: "https://gitlab.com", Audience: " ", Conditions: conds}, "audience"},
		{"no conditions", tokens.TrustRule{Issuer: "https://gitlab.com", Audience: cairnURL}, "condition"},
		{"bad condition", tokens.TrustRule{Issuer: "https://gitlab.com", Audience: cairnURL,
			Conditions: []tokens.ClaimCondition{eq("project_path", "acme/vpc"), {Claim: "ref", Op: "regex", Value: ".*"}}}, "unknown operator"},
		{"project_path glob below a namespace", rule(glob("project_path", "acme/*")), ""},
		{"project_path glob deeper", rule(glob("project_path", "acme/net/*"), eq("ref_type", "tag")), ""},
		{"repository equals", rule(eq("repository", "acme/vpc")), ""},
		{"repository glob below an owner", rule(glob("repository", "acme/vpc-*")), ""},
		{"sub equals", rule(eq("sub", "repo:acme/vpc:ref:refs/heads/main")), ""},
		{"sub glob fixing the repository", rule(glob("sub", "project_path:acme/vpc:ref_type:branch:ref:*")), ""},
		{"project_path glob star", rule(glob("project_path", "*")), "repository"},
		{"project_path glob star slash star", rule(glob("project_path", "*/*")), "repository"},
		{"project_path glob star three levels", rule(glob("project_path", "*/*/*")), "repository"},
		{"project_path glob namespace prefix", rule(glob("project_path", "acme*/*")), "repository"},
		{"project_path glob question mark", rule(glob("project_path", "acm?/vpc")), "repository"},
		{"project_path glob class", rule(glob("project_path", "[a-z]cme/vpc")), "repository"},
		{"repository glob star", rule(glob("repository", "*/vpc")), "repository"},
		{"sub glob star", rule(glob("sub", "repo:*")), "repository"},
		{"only ref conditions", rule(eq("ref_type", "branch"), eq("ref", "main")), "repository"},
		{"only aud and iss", rule(eq("aud", cairnURL), eq("iss", "https://gitlab.com")), "repository"},
		{"only a namespace id", rule(eq("namespace_id", "77")), "repository"},
		{"broad glob beside a precise one", rule(glob("project_path", "*/*"), eq("repository", "acme/vpc")), ""},
	}
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			checkValidate(t, tc.rule.Validate(), tc.wantErr)
		})
	}
}

func TestJobClaimConditionValidate(t *testing.T) {
	cases := []struct {
		name    string
		cond    tokens.ClaimCondition
		wantErr string
	}{
		{"equals", eq("ref_type", "branch"), ""},
		{"glob", glob("ref", "release/*"), ""},
		{"glob class", glob("ref", "v[0-9]*"), ""},
		{"no claim", eq("", "x"), "claim name"},
		{"no value", eq("ref", ""), "value is empty"},
		{"unknown op", tokens.ClaimCondition{Claim: "ref", Op: "prefix", Value: "x"}, "unknown operator"},
		{"empty op", tokens.ClaimCondition{Claim: "ref", Value: "x"}, "unknown operator"},
		{"bad glob", glob("ref", "release/[a-"), "invalid glob"},
		{"bad glob escape", glob("ref", `main\`), "invalid glob"},
	}
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			checkValidate(t, tc.cond.Validate(), tc.wantErr)
		})
	}
}

func checkValidate(t *testing.T, err error, wantErr string) {
	t.Helper()
	switch {
	case wantErr == "" && err != nil:
		t.Errorf("Validate = %v, want nil", err)
	case wantErr != "" && (err == nil || !strings.Contains(err.Error(), wantErr)):
		t.Errorf("Validate = %v, want error containing %q", err, wantErr)
	}
}

func TestJobLooksLikeJWT(t *testing.T) {
	cases := map[string]bool{
		"eyJhbGciOiJSUzI1NiJ9.eyJpc3MiOiJ4In0.c2ln": true,
		"a-_b.c.d":                       true,
		"":                               false,
		"abc":                            false,
		"a.b":                            false,
		"a.b.c.d":                        false,
		"a..c":                           false,
		".b.c":                           false,
		"a.b.":                           false,
		"a.b.c=":                         false,
		"a+.b.c":                         false,
		"a.b.c ":                         false,
		"glpat-0123456789abcdefghij":     false,
		"cairn_pat_0123456789abcdefghij": false,
		"gitlab-ci-token:eyJh.eyJp.c2ln": false,
	}
	for s, want := range cases {
		if got := tokens.LooksLikeJWT(s); got != want {
			t.Errorf("LooksLikeJWT(%q) = %v, want %v", s, got, want)
		}
	}
}

// discoveryDoc is a discovery document for iss whose key set is at jwks.
func discoveryDoc(iss *testenv.Issuer, jwks string) map[string]any {
	return map[string]any{
		"issuer":                                iss.URL,
		"jwks_uri":                              jwks,
		"id_token_signing_alg_values_supported": []string{"RS256"},
		"response_types_supported":              []string{"id_token"},
		"subject_types_supported":               []string{"public"},
	}
}

// overrideDiscovery replaces iss's discovery endpoint with h: a pattern
// naming the host takes precedence over the issuer's host-less one.
func overrideDiscovery(t *testing.T, iss *testenv.Issuer, h http.HandlerFunc) {
	t.Helper()
	u, err := url.Parse(iss.URL)
	if err != nil {
		t.Fatal(err)
	}
	iss.Mux.HandleFunc("GET "+u.Hostname()+testenv.DiscoveryPath, h)
}

func serveJSON(v any) http.HandlerFunc {
	return func(w http.ResponseWriter, r *http.Request) {
		w.Header().Set("Content-Type", "application/json")
		json.NewEncoder(w).Encode(v)
	}
}

func serveStatus(code int, contentType, body string) http.HandlerFunc {
	return func(w http.ResponseWriter, r *http.Request) {
		w.Header().Set("Content-Type", contentType)
		w.WriteHeader(code)
		io.WriteString(w, body)
	}
}

// TestJobTokenIssuerSSRF: a trust rule names its issuer, so whoever may
// create one chooses what Cairn fetches. Loopback and private issuers are
// contacted only when allow-listed, the key set must live on the issuer's
// own host, and nothing an issuer answers reaches error text or logs.
func TestJobTokenIssuerSSRF(t *testing.T) {
	const marker = "SECRET-INTERNAL-MARKER-7f3a"
	loopback, err := outbound.ParseAllow("127.0.0.1")
	if err != nil {
		t.Fatal(err)
	}
	ruleFor := func(iss *testenv.Issuer) staticRules {
		return staticRules{{ID: 1, ProjectID: 10, Issuer: iss.URL, Audience: cairnURL,
			Conditions: []tokens.ClaimCondition{eq("project_path", "acme/net/vpc")}}}
	}
	hits := func(iss *testenv.Issuer) int {
		return iss.Requests(testenv.DiscoveryPath) + iss.Requests(testenv.KeysPath)
	}
	// verifier returns a verifier over the outbound client with allow, and its log.
	verifier := func(allow outbound.Policy) (*tokens.JobVerifier, *syncBuffer) {
		logs := &syncBuffer{}
		return tokens.NewJobVerifier(nil, allow, slog.New(slog.NewTextHandler(logs, nil))), logs
	}
	// refused checks a refusal as "issuer unavailable" whose text and log hold no marker.
	refused := func(t *testing.T, err error, logs *syncBuffer) {
		t.Helper()
		if err == nil {
			t.Fatal("Verify succeeded, want the issuer refused")
		}
		t.Logf("refused: %v", err)
		if !errors.Is(err, tokens.ErrInvalidJobToken) || !errors.Is(err, tokens.ErrIssuerUnavailable) {
			t.Errorf("Verify = %v, want ErrInvalidJobToken and ErrIssuerUnavailable", err)
		}
		if strings.Contains(err.Error(), marker) {
			t.Errorf("error text carries the issuer's response body: %v", err)
		}
		if strings.Contains(logs.String(), marker) {
			t.Errorf("log carries the issuer's response body:\n%s", logs)
		}
		if n := strings.Count(logs.String(), "job token issuer unavailable"); n != 1 {
			t.Errorf("issuer failure logged %d times, want once:\n%s", n, logs)
		}
		t.Logf("log: %s", logs)
	}

	t.Run("loopback issuer not allow-listed is never contacted", func(t *testing.T) {
		iss := testenv.NewIssuer(t)
		v, logs := verifier(outbound.Policy{})
		_, err := v.Verify(t.Context(), iss.Mint(t, gitlabClaims(nil)), ruleFor(iss))
		refused(t, err, logs)
		// Also through a client that would connect anywhere: the verifier
		// itself refuses what the policy does not allow.
		v = tokens.NewJobVerifier(&http.Client{}, outbound.Policy{}, nil)
		if _, err := v.Verify(t.Context(), iss.Mint(t, gitlabClaims(nil)), ruleFor(iss)); !errors.Is(err, tokens.ErrIssuerUnavailable) {
			t.Errorf("Verify with a plain client = %v, want ErrIssuerUnavailable", err)
		}
		if n := hits(iss); n != 0 {
			t.Errorf("issuer contacted %d times, want never", n)
		}
	})

	t.Run("allow-listed loopback issuer works", func(t *testing.T) {
		iss := testenv.NewIssuer(t)
		v, logs := verifier(loopback)
		job, err := v.Verify(t.Context(), iss.Mint(t, gitlabClaims(nil)), ruleFor(iss))
		if err != nil {
			t.Fatalf("Verify = %v, want success", err)
		}
		if !slices.Equal(job.ProjectIDs, []int64{10}) || logs.String() != "" {
			t.Errorf("Verify = %+v (log %q), want project 10 and nothing logged", job, logs)
		}
	})

	t.Run("jwks_uri on the metadata address is refused", func(t *testing.T) {
		iss := testenv.NewIssuer(t)
		overrideDiscovery(t, iss, serveJSON(discoveryDoc(iss, "http://169.254.169.254/latest")))
		v, logs := verifier(loopback)
		_, err := v.Verify(t.Context(), iss.Mint(t, gitlabClaims(nil)), ruleFor(iss))
		refused(t, err, logs)
	})

	t.Run("jwks_uri on another loopback port is refused without fetching it", func(t *testing.T) {
		iss := testenv.NewIssuer(t)
		// An internal service that would even hand out the issuer's keys.
		var internalHits atomic.Int32
		internal := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
			internalHits.Add(1)
			resp, err := http.Get(iss.URL + testenv.KeysPath)
			if err != nil {
				w.WriteHeader(http.StatusBadGateway)
				return
			}
			defer resp.Body.Close()
			w.Header().Set("Content-Type", "application/json")
			io.Copy(w, resp.Body)
		}))
		t.Cleanup(internal.Close)
		overrideDiscovery(t, iss, serveJSON(discoveryDoc(iss, internal.URL+"/admin/keys")))
		v, logs := verifier(loopback)
		_, err := v.Verify(t.Context(), iss.Mint(t, gitlabClaims(nil)), ruleFor(iss))
		refused(t, err, logs)
		// Remembered: a second token neither discovers again nor logs again.
		_, err = v.Verify(t.Context(), iss.Mint(t, gitlabClaims(nil)), ruleFor(iss))
		refused(t, err, logs)
		if n := iss.Requests(testenv.DiscoveryPath); n != 1 {
			t.Errorf("discovery fetched %d times for two tokens, want once", n)
		}
		if n := internalHits.Load(); n != 0 {
			t.Errorf("jwks_uri on another host fetched %d times, want never", n)
		}
	})

	bodies := []struct {
		name      string
		discovery http.HandlerFunc // nil: the issuer's own
		keys      http.HandlerFunc // nil: the issuer's own
	}{
		{name: "discovery 500", discovery: serveStatus(500, "text/plain", "internal error: "+marker)},
		{name: "discovery 404", discovery: serveStatus(404, "text/html", "<h1>"+marker+"</h1>")},
		{name: "discovery not JSON", discovery: serveStatus(200, "application/json", marker+" is not JSON")},
		{name: "discovery 200 HTML", discovery: serveStatus(200, "text/html", "<html>"+marker+"</html>")},
		{name: "keys 500", keys: serveStatus(500, "text/plain", marker)},
		{name: "keys not JSON", keys: serveStatus(200, "application/json", marker)},
		{name: "keys wrong shape", keys: serveStatus(200, "application/json", `{"keys":"`+marker+`"}`)},
	}
	for _, tc := range bodies {
		t.Run("body never leaks: "+tc.name, func(t *testing.T) {
			iss := testenv.NewIssuer(t)
			if tc.discovery != nil {
				overrideDiscovery(t, iss, tc.discovery)
			}
			if tc.keys != nil {
				keysPath := "/bad-keys"
				iss.Mux.HandleFunc("GET "+keysPath, tc.keys)
				overrideDiscovery(t, iss, serveJSON(discoveryDoc(iss, iss.URL+keysPath)))
			}
			v, logs := verifier(loopback)
			_, err := v.Verify(t.Context(), iss.Mint(t, gitlabClaims(nil)), ruleFor(iss))
			refused(t, err, logs)
			if tc.keys != nil {
				// A broken key set is neither hammered nor logged per token.
				for range 5 {
					_, err := v.Verify(t.Context(), iss.Mint(t, gitlabClaims(nil)), ruleFor(iss))
					refused(t, err, logs)
				}
				if n := iss.Requests("/bad-keys"); n != 1 {
					t.Errorf("broken key set fetched %d times for 6 tokens, want once", n)
				}
			}
		})
	}
}

// syncBuffer is a log destination safe for the verifier's goroutines.
type syncBuffer struct {
	mu  sync.Mutex
	buf bytes.Buffer
}

func (b *syncBuffer) Write(p []byte) (int, error) {
	b.mu.Lock()
	defer b.mu.Unlock()
	return b.buf.Write(p)
}

func (b *syncBuffer) String() string {
	b.mu.Lock()
	defer b.mu.Unlock()
	return b.buf.String()
}
