package tokens_test

import (
	"context"
	"encoding/base64"
	"encoding/json"
	"errors"
	"net/http"
	"strings"
	"sync"
	"sync/atomic"
	"testing"

	"github.com/cairn-registry/cairn/internal/outbound"
	"github.com/cairn-registry/cairn/internal/testenv"
	"github.com/cairn-registry/cairn/tokens"
)

// FuzzExtract feeds arbitrary values to every credential header: Extract
// must not panic, must answer the same twice, and its answer must follow
// from the headers.
//
//	go test ./tokens/ -run '^$' -fuzz FuzzExtract -fuzztime 15s
func FuzzExtract(f *testing.F) {
	basic := func(s string) string { return "Basic " + base64.StdEncoding.EncodeToString([]byte(s)) }
	for _, seed := range [][5]string{
		{"", "", "", "", ""},
		{"Bearer cairnpat-abc", "", "", "", ""},
		{"bearer   eyJh.eyJp.c2ln  ", "", "", "", ""},
		{basic("gitlab-ci-token:eyJh.eyJp.c2ln"), "", "", "", ""},
		{basic("user:"), "", "", "", ""},
		{basic("nocolon"), "", "", "", ""},
		{basic("a:b:c"), "", "", "", ""},
		{"Basic !!!", "", "", "", ""},
		{"Digest x", "", "", "", ""},
		{"Bearer", "", "", "", ""},
		{"", "cairnpat-x", "", "", ""},
		{"", "", "cairndt-x", "", ""},
		{"", "", "", "a.b.c", ""},
		{"", "", "", "", "cairnpat-x"},
		{"", " \t", "", "", ""},
		{"Bearer y", "x", "", "", ""},
		{"", "x", "y", "", ""},
		{basic(":"), "", "", "", ""},
	} {
		f.Add(seed[0], seed[1], seed[2], seed[3], seed[4])
	}
	plain := []struct {
		header string
		source tokens.Source
	}{
		{"Private-Token", tokens.PrivateTokenHeader},
		{"Deploy-Token", tokens.DeployTokenHeader},
		{"Job-Token", tokens.JobTokenHeader},
		{"X-Terrareg-Apikey", tokens.TerraregAPIKey},
	}
	f.Fuzz(func(t *testing.T, auth, private, deploy, job, apiKey string) {
		h := http.Header{}
		values := []string{private, deploy, job, apiKey}
		for i, p := range plain {
			if values[i] != "" {
				h[p.header] = []string{values[i]}
			}
		}
		if auth != "" {
			h["Authorization"] = []string{auth}
		}
		c, err := tokens.Extract(h)
		c2, err2 := tokens.Extract(h)
		if c != c2 || err != err2 {
			t.Fatalf("Extract not deterministic: %+v, %v then %+v, %v", c, err, c2, err2)
		}
		if err != nil {
			if !errors.Is(err, tokens.ErrInvalidCredentials) && !errors.Is(err, tokens.ErrMultipleCredentials) {
				t.Fatalf("Extract error %v is neither ErrInvalidCredentials nor ErrMultipleCredentials", err)
			}
			if c != (tokens.Credential{}) {
				t.Fatalf("Extract = %+v with error %v, want the zero credential", c, err)
			}
			return
		}

		present := 0
		for _, v := range values {
			if strings.TrimSpace(v) != "" {
				present++
			}
		}
		authPresent := strings.TrimSpace(auth) != ""
		if authPresent {
			present++
		}
		switch {
		case present == 0:
			if c != (tokens.Credential{}) {
				t.Fatalf("no credential header, Extract = %+v, want none", c)
			}
			return
		case present > 1:
			t.Fatalf("%d credential headers, Extract = %+v, want ErrMultipleCredentials", present, c)
		}
		if c.Secret == "" {
			t.Fatalf("Extract = %+v, want a non-empty secret", c)
		}
		for i, p := range plain {
			if c.Source == p.source {
				if want := strings.TrimSpace(values[i]); c.Secret != want || c.Username != "" {
					t.Fatalf("%s: %q, Extract = %+v, want secret %q", p.header, values[i], c, want)
				}
				return
			}
		}
		if !authPresent {
			t.Fatalf("Extract = %+v from no Authorization header", c)
		}
		scheme, rest, _ := strings.Cut(strings.TrimSpace(auth), " ")
		switch c.Source {
		case tokens.Bearer:
			if !strings.EqualFold(scheme, "bearer") || c.Secret != strings.TrimSpace(rest) || c.Username != "" {
				t.Fatalf("Authorization %q, Extract = %+v, want the bearer token", auth, c)
			}
		case tokens.Basic:
			raw, err := base64.StdEncoding.DecodeString(strings.TrimSpace(rest))
			if !strings.EqualFold(scheme, "basic") || err != nil || string(raw) != c.Username+":"+c.Secret {
				t.Fatalf("Authorization %q, Extract = %+v, want the decoded user and password", auth, c)
			}
			if strings.Contains(c.Username, ":") {
				t.Fatalf("Authorization %q, Extract = %+v: the user name holds a colon", auth, c)
			}
		default:
			t.Fatalf("Authorization %q, Extract = %+v: unexpected source", auth, c)
		}
	})
}

// recordingRules is a RuleSource that trusts no one and records the issuers
// it is asked about.
type recordingRules struct {
	mu      sync.Mutex
	issuers []string
}

func (r *recordingRules) TrustRulesForIssuer(_ context.Context, issuer string) ([]tokens.TrustRule, error) {
	r.mu.Lock()
	defer r.mu.Unlock()
	r.issuers = append(r.issuers, issuer)
	return nil, nil
}

// noNetwork fails every request and counts them.
type noNetwork struct{ n atomic.Int32 }

func (t *noNetwork) RoundTrip(*http.Request) (*http.Response, error) {
	t.n.Add(1)
	return nil, errors.New("no network in fuzzing")
}

// checkJobToken verifies raw with no rule trusting anybody and checks the
// invariants every input must keep: a refusal wrapping ErrInvalidJobToken,
// no request anywhere, rules looked up only for a JWT-shaped token of
// bounded size, under an issuer the payload names.
func checkJobToken(t *testing.T, raw string) {
	rules := &recordingRules{}
	nw := &noNetwork{}
	v := tokens.NewJobVerifier(&http.Client{Transport: nw}, outbound.Policy{}, nil)
	job, err := v.Verify(context.Background(), raw, rules)
	if err == nil || job != nil || !errors.Is(err, tokens.ErrInvalidJobToken) {
		t.Fatalf("Verify(%q) = %+v, %v; want ErrInvalidJobToken", raw, job, err)
	}
	if n := nw.n.Load(); n != 0 {
		t.Fatalf("Verify(%q) made %d requests with no rule trusting anyone", raw, n)
	}
	looks := tokens.LooksLikeJWT(raw)
	if looks {
		parts := strings.Split(raw, ".")
		if len(parts) != 3 {
			t.Fatalf("LooksLikeJWT(%q) with %d segments", raw, len(parts))
		}
		for _, p := range parts {
			if p == "" || strings.Trim(p, "ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789-_") != "" {
				t.Fatalf("LooksLikeJWT(%q) with segment %q", raw, p)
			}
		}
	}
	if len(rules.issuers) == 0 {
		return
	}
	if !looks || len(raw) > 16<<10 || len(rules.issuers) != 1 {
		t.Fatalf("Verify(%q) looked up rules for %q (JWT-shaped %v, %d bytes)", raw, rules.issuers, looks, len(raw))
	}
	iss := rules.issuers[0]
	if iss == "" {
		t.Fatalf("Verify(%q) looked up rules for an empty issuer", raw)
	}
	if !strings.Contains(err.Error(), "unknown issuer") {
		t.Fatalf("Verify(%q) = %v, want unknown issuer", raw, err)
	}
	payload, derr := base64.RawURLEncoding.DecodeString(strings.Split(raw, ".")[1])
	var claims map[string]json.RawMessage
	if derr != nil || json.Unmarshal(payload, &claims) != nil {
		t.Fatalf("Verify(%q) found issuer %q in a payload that is not a JSON object", raw, iss)
	}
	for k, val := range claims {
		var s string
		if strings.EqualFold(k, "iss") && json.Unmarshal(val, &s) == nil && s == iss {
			return
		}
	}
	t.Fatalf("Verify(%q) looked up issuer %q, which the payload %s does not name", raw, iss, payload)
}

// FuzzJobToken feeds arbitrary strings to the job token path (LooksLikeJWT,
// the issuer peek, Verify with no rules).
//
//	go test ./tokens/ -run '^$' -fuzz FuzzJobToken -fuzztime 15s
func FuzzJobToken(f *testing.F) {
	iss := testenv.NewIssuer(f)
	for _, seed := range []string{
		iss.Mint(f, nil),
		iss.Mint(f, map[string]any{"iss": "https://gitlab.com", "project_path": "acme/vpc"}),
		iss.Mint(f, map[string]any{"iss": nil}),
		"", ".", "..", "a.b.c", "a..c", "eyJhbGciOiJub25lIn0.eyJpc3MiOiJ4In0.",
		"eyJhbGciOiJSUzI1NiJ9.eyJpc3MiOiJ4In0.c2ln",
		"eyJhbGciOiJSUzI1NiJ9.eyJJU1MiOiJ4In0.c2ln",
		"eyJhbGciOiJIUzI1NiJ9.eyJpc3MiOiJ4In0.c2ln",
		"eyJhbGciOiJSUzI1NiJ9.bm90IGpzb24.c2ln",
		"glpat-0123456789abcdefghij",
	} {
		f.Add(seed)
	}
	f.Fuzz(func(t *testing.T, raw string) {
		checkJobToken(t, raw)
	})
}

// FuzzJobTokenParts builds JWT-shaped tokens from fuzzed header, payload and
// signature bytes, so the fuzzer reaches the JOSE and JSON parsing that a
// random string rarely gets past.
//
//	go test ./tokens/ -run '^$' -fuzz FuzzJobTokenParts -fuzztime 15s
func FuzzJobTokenParts(f *testing.F) {
	for _, seed := range []struct{ header, payload, sig string }{
		{`{"alg":"RS256","kid":"k"}`, `{"iss":"https://gitlab.com","aud":"x"}`, "sig"},
		{`{"alg":"ES256"}`, `{"iss":"http://127.0.0.1:1","sub":"s"}`, "sig"},
		{`{"alg":"RS256"}`, `{"ISS":"upper"}`, "s"},
		{`{"alg":"RS256"}`, `{"iss":"a","iss":"b"}`, "s"},
		{`{"alg":"RS256"}`, `{"iss":1}`, "s"},
		{`{"alg":"RS256"}`, `{"iss":"\u0041"}`, "s"},
		{`{"alg":"none"}`, `{"iss":"x"}`, "s"},
		{`{"alg":"HS256"}`, `{"iss":"x"}`, "s"},
		{`{"alg":"RS256","crit":["b64"],"b64":false}`, `{"iss":"x"}`, "s"},
		{`[]`, `[]`, ""},
	} {
		f.Add([]byte(seed.header), []byte(seed.payload), []byte(seed.sig))
	}
	enc := base64.RawURLEncoding.EncodeToString
	f.Fuzz(func(t *testing.T, header, payload, sig []byte) {
		raw := enc(header) + "." + enc(payload) + "." + enc(sig)
		if got, want := tokens.LooksLikeJWT(raw), len(header) > 0 && len(payload) > 0 && len(sig) > 0; got != want {
			t.Fatalf("LooksLikeJWT(%q) = %v, want %v", raw, got, want)
		}
		checkJobToken(t, raw)
		// As a JOB-TOKEN header it is extracted unchanged.
		if c, err := tokens.Extract(http.Header{"Job-Token": {raw}}); err != nil || c.Source != tokens.JobTokenHeader || c.Secret != raw {
			t.Fatalf("Extract(JOB-TOKEN %q) = %+v, %v", raw, c, err)
		}
	})
}
