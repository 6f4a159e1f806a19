package testenv_test

import (
	"encoding/json"
	"net/http"
	"strings"
	"testing"
	"time"

	"github.com/coreos/go-oidc/v3/oidc"

	"github.com/cairn-registry/cairn/internal/testenv"
)

func TestIssuerDiscoveryDocument(t *testing.T) {
	iss := testenv.NewIssuer(t)
	resp, err := http.Get(iss.URL + testenv.DiscoveryPath)
	if err != nil {
		t.Fatalf("GET discovery: %v", err)
	}
	defer resp.Body.Close()
	if resp.StatusCode != http.StatusOK {
		t.Fatalf("GET discovery: status %d, want 200", resp.StatusCode)
	}
	var doc map[string]any
	if err := json.NewDecoder(resp.Body).Decode(&doc); err != nil {
		t.Fatalf("decode discovery: %v", err)
	}
	for _, field := range []string{"issuer", "jwks_uri", "authorization_endpoint", "token_endpoint",
		"id_token_signing_alg_values_supported", "response_types_supported", "subject_types_supported"} {
		if doc[field] == nil {
			t.Errorf("discovery document lacks %q: %v", field, doc)
		}
	}
	if doc["issuer"] != iss.URL {
		t.Errorf("issuer = %v, want %s", doc["issuer"], iss.URL)
	}
	if got := iss.Requests(testenv.DiscoveryPath); got != 1 {
		t.Errorf("Requests(discovery) = %d, want 1", got)
	}
}

// verifier discovers iss the way a relying party would.
func verifier(t *testing.T, iss *testenv.Issuer, aud string) *oidc.IDTokenVerifier {
	t.Helper()
	p, err := oidc.NewProvider(t.Context(), iss.URL)
	if err != nil {
		t.Fatalf("discover %s: %v", iss.URL, err)
	}
	return p.Verifier(&oidc.Config{ClientID: aud})
}

func TestIssuerMintVerifiesWithGoOIDC(t *testing.T) {
	iss := testenv.NewIssuer(t)
	raw := iss.Mint(t, map[string]any{"sub": "project_path:acme/vpc", "project_id": 42})
	tok, err := verifier(t, iss, testenv.DefaultAudience).Verify(t.Context(), raw)
	if err != nil {
		t.Fatalf("Verify(minted token) = %v, want success", err)
	}
	var claims struct {
		ProjectID int   `json:"project_id"`
		IssuedAt  int64 `json:"iat"`
		NotBefore int64 `json:"nbf"`
	}
	if err := tok.Claims(&claims); err != nil {
		t.Fatal(err)
	}
	if tok.Issuer != iss.URL || tok.Subject != "project_path:acme/vpc" || claims.ProjectID != 42 {
		t.Errorf("token = iss %q sub %q project_id %d, want %q, project_path:acme/vpc, 42",
			tok.Issuer, tok.Subject, claims.ProjectID, iss.URL)
	}
	if ttl := time.Until(tok.Expiry); ttl < 4*time.Minute || ttl > 5*time.Minute {
		t.Errorf("default expiry in %v, want about 5m", ttl)
	}
	if claims.IssuedAt == 0 || claims.NotBefore == 0 {
		t.Errorf("iat %d nbf %d, want both set by default", claims.IssuedAt, claims.NotBefore)
	}
	if got := iss.Requests(testenv.KeysPath); got != 1 {
		t.Errorf("Requests(keys) = %d, want 1", got)
	}
}

func TestIssuerMintOverridesAndDrops(t *testing.T) {
	iss := testenv.NewIssuer(t)
	exp := time.Now().Add(time.Hour).Truncate(time.Second)
	raw := iss.Mint(t, map[string]any{"aud": []string{"a", "b"}, "exp": exp, "nbf": nil})
	tok, err := verifier(t, iss, "b").Verify(t.Context(), raw)
	if err != nil {
		t.Fatalf("Verify = %v, want success", err)
	}
	if !tok.Expiry.Equal(exp) {
		t.Errorf("exp = %v, want %v", tok.Expiry, exp)
	}
	var claims map[string]any
	if err := tok.Claims(&claims); err != nil {
		t.Fatal(err)
	}
	if _, ok := claims["nbf"]; ok {
		t.Errorf("nbf present after being set to nil: %v", claims)
	}
}

func TestIssuerMintWithForeignKeyFailsSignature(t *testing.T) {
	iss := testenv.NewIssuer(t)
	raw := iss.MintWithKey(t, nil, testenv.NewRSAKey(t))
	_, err := verifier(t, iss, testenv.DefaultAudience).Verify(t.Context(), raw)
	if err == nil || !strings.Contains(err.Error(), "signature") {
		t.Fatalf("Verify(foreign-key token) = %v, want a signature error", err)
	}
}

func TestIssuerMuxTakesMoreEndpoints(t *testing.T) {
	iss := testenv.NewIssuer(t)
	iss.Mux.HandleFunc(testenv.TokenPath, func(w http.ResponseWriter, r *http.Request) {
		w.WriteHeader(http.StatusTeapot)
	})
	resp, err := http.Post(iss.URL+testenv.TokenPath, "application/x-www-form-urlencoded", nil)
	if err != nil {
		t.Fatal(err)
	}
	resp.Body.Close()
	if resp.StatusCode != http.StatusTeapot {
		t.Errorf("POST %s: status %d, want 418 from the registered handler", testenv.TokenPath, resp.StatusCode)
	}
}
