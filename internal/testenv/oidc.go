package testenv

import (
	"crypto/rand"
	"crypto/rsa"
	"encoding/hex"
	"encoding/json"
	"fmt"
	"net/http"
	"net/http/httptest"
	"sync"
	"testing"
	"time"

	jose "github.com/go-jose/go-jose/v4"
)

// Paths an Issuer serves or advertises. The authorization and token endpoints
// are only advertised: a test that needs the browser login flow registers
// handlers for them on Issuer.Mux.
const (
	DiscoveryPath = "/.well-known/openid-configuration"
	KeysPath      = "/keys"
	AuthorizePath = "/authorize"
	TokenPath     = "/token"
)

// DefaultAudience is the aud Mint puts into a token unless the caller sets one.
const DefaultAudience = "cairn"

// Issuer is a real OpenID Connect issuer on a local HTTP server: discovery
// document and JWKS over HTTP, tokens signed with an RS256 key generated at
// start. It stands in for GitLab CI, GitHub Actions or an SSO provider.
type Issuer struct {
	// URL is the issuer identifier, the base URL of the server (no trailing slash).
	URL string
	// Server is the underlying test server; its Client trusts it.
	Server *httptest.Server
	// Mux routes the issuer's requests; register more endpoints on it
	// (AuthorizePath, TokenPath, ...) as tests need them.
	Mux *http.ServeMux
	// Key signs the tokens Mint returns; its public half is served at KeysPath.
	Key *rsa.PrivateKey
	// KeyID is the kid of Key, in both the JWKS and the token headers.
	KeyID string

	mu   sync.Mutex
	hits map[string]int
}

// NewIssuer starts an issuer that is shut down when the test ends.
func NewIssuer(t testing.TB) *Issuer {
	t.Helper()
	key := NewRSAKey(t)
	kid := make([]byte, 8)
	rand.Read(kid)
	i := &Issuer{Mux: http.NewServeMux(), Key: key, KeyID: hex.EncodeToString(kid), hits: map[string]int{}}
	i.Mux.HandleFunc("GET "+DiscoveryPath, i.serveDiscovery)
	i.Mux.HandleFunc("GET "+KeysPath, i.serveKeys)
	i.Server = httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		i.mu.Lock()
		i.hits[r.URL.Path]++
		i.mu.Unlock()
		i.Mux.ServeHTTP(w, r)
	}))
	t.Cleanup(i.Server.Close)
	i.URL = i.Server.URL
	return i
}

// NewRSAKey generates a 2048-bit RSA key, e.g. a foreign key for MintWithKey.
func NewRSAKey(t testing.TB) *rsa.PrivateKey {
	t.Helper()
	key, err := rsa.GenerateKey(rand.Reader, 2048)
	if err != nil {
		t.Fatalf("generate RSA key: %v", err)
	}
	return key
}

// Requests tells how many requests the issuer has received for path so far.
func (i *Issuer) Requests(path string) int {
	i.mu.Lock()
	defer i.mu.Unlock()
	return i.hits[path]
}

func (i *Issuer) serveDiscovery(w http.ResponseWriter, r *http.Request) {
	writeJSON(w, map[string]any{
		"issuer":                                i.URL,
		"jwks_uri":                              i.URL + KeysPath,
		"authorization_endpoint":                i.URL + AuthorizePath,
		"token_endpoint":                        i.URL + TokenPath,
		"id_token_signing_alg_values_supported": []string{string(jose.RS256)},
		"response_types_supported":              []string{"code", "id_token"},
		"subject_types_supported":               []string{"public"},
		"scopes_supported":                      []string{"openid", "profile", "email"},
		"grant_types_supported":                 []string{"authorization_code"},
		"claims_supported":                      []string{"iss", "sub", "aud", "exp", "iat", "nbf"},
	})
}

func (i *Issuer) serveKeys(w http.ResponseWriter, r *http.Request) {
	writeJSON(w, jose.JSONWebKeySet{Keys: []jose.JSONWebKey{{
		Key:       &i.Key.PublicKey,
		KeyID:     i.KeyID,
		Algorithm: string(jose.RS256),
		Use:       "sig",
	}}})
}

func writeJSON(w http.ResponseWriter, v any) {
	w.Header().Set("Content-Type", "application/json")
	json.NewEncoder(w).Encode(v)
}

// Mint returns a compact JWT signed with the issuer's key. Unless claims say
// otherwise it carries iss (the issuer's URL), aud (DefaultAudience), and
// iat, nbf and exp for a token valid from now for five minutes. A claim set
// to nil is left out, so a test can drop a default; time.Time values become
// NumericDates.
func (i *Issuer) Mint(t testing.TB, claims map[string]any) string {
	t.Helper()
	return i.MintWithKey(t, claims, i.Key)
}

// MintWithKey is Mint signed with key instead of the issuer's key, under the
// issuer's kid, so only a verifier that checks the signature rejects it.
func (i *Issuer) MintWithKey(t testing.TB, claims map[string]any, key *rsa.PrivateKey) string {
	t.Helper()
	raw, err := i.sign(claims, key)
	if err != nil {
		t.Fatal(err)
	}
	return raw
}

// sign builds and signs the token of MintWithKey.
func (i *Issuer) sign(claims map[string]any, key *rsa.PrivateKey) (string, error) {
	now := time.Now()
	all := map[string]any{
		"iss": i.URL,
		"aud": DefaultAudience,
		"iat": now.Unix(),
		"nbf": now.Unix(),
		"exp": now.Add(5 * time.Minute).Unix(),
	}
	for k, v := range claims {
		switch v := v.(type) {
		case nil:
			delete(all, k)
		case time.Time:
			all[k] = v.Unix()
		default:
			all[k] = v
		}
	}
	payload, err := json.Marshal(all)
	if err != nil {
		return "", fmt.Errorf("encode claims: %w", err)
	}
	signer, err := jose.NewSigner(
		jose.SigningKey{Algorithm: jose.RS256, Key: jose.JSONWebKey{Key: key, KeyID: i.KeyID}},
		(&jose.SignerOptions{}).WithType("JWT"))
	if err != nil {
		return "", fmt.Errorf("create signer: %w", err)
	}
	jws, err := signer.Sign(payload)
	if err != nil {
		return "", fmt.Errorf("sign token: %w", err)
	}
	return jws.CompactSerialize()
}
