package testenv

import (
	"crypto/rand"
	"crypto/rsa"
	"crypto/sha256"
	"encoding/base64"
	"encoding/hex"
	"fmt"
	"html"
	"net/http"
	"net/url"
	"sync"
	"testing"
	"time"
)

// SSOUser is a person the test identity provider can sign in.
type SSOUser struct {
	Subject, Username, Name, Email string
	// Groups go into the groups claim; NoGroups leaves the claim out.
	Groups   []string
	NoGroups bool
}

// SSO turns an Issuer into an interactive OpenID Connect provider for
// browser sign-in: its authorization endpoint shows a page with one
// "Sign in as <username>" button per user (a browser test clicks one), and
// its token endpoint exchanges the code (checking client secret, redirect
// URI and PKCE) for an ID token carrying the nonce and groups.
type SSO struct {
	*Issuer
	ClientID, ClientSecret string

	mu    sync.Mutex
	users map[string]SSOUser // by subject
	codes map[string]ssoCode
	// Tamper, when set, changes the claims of the next ID tokens (a test
	// of bad input: wrong nonce, expired token...).
	Tamper func(claims map[string]any)
	// TokenKey, when set, signs ID tokens instead of the issuer's key.
	TokenKey *rsa.PrivateKey
}

type ssoCode struct {
	user                       SSOUser
	redirect, nonce, challenge string
	expires                    time.Time
}

// NewSSO starts an interactive provider for client clientID.
func NewSSO(t testing.TB, clientID, clientSecret string) *SSO {
	t.Helper()
	s := &SSO{Issuer: NewIssuer(t), ClientID: clientID, ClientSecret: clientSecret,
		users: map[string]SSOUser{}, codes: map[string]ssoCode{}}
	s.Mux.HandleFunc("GET "+AuthorizePath, s.authorize)
	s.Mux.HandleFunc("POST "+AuthorizePath, s.approve)
	s.Mux.HandleFunc("POST "+TokenPath, s.token)
	return s
}

// AddUser registers (or replaces) a user.
func (s *SSO) AddUser(u SSOUser) {
	s.mu.Lock()
	defer s.mu.Unlock()
	s.users[u.Subject] = u
}

func (s *SSO) authorize(w http.ResponseWriter, r *http.Request) {
	q := r.URL.Query()
	if q.Get("client_id") != s.ClientID || q.Get("response_type") != "code" || q.Get("code_challenge_method") != "S256" {
		http.Error(w, "bad authorization request", http.StatusBadRequest)
		return
	}
	s.mu.Lock()
	defer s.mu.Unlock()
	w.Header().Set("Content-Type", "text/html; charset=utf-8")
	fmt.Fprint(w, `<!DOCTYPE html><html><head><title>Test identity provider</title></head><body><h1>Test identity provider</h1>`)
	for _, u := range s.users {
		fmt.Fprintf(w, `<form method="post" action="%s">`, AuthorizePath)
		for _, k := range []string{"redirect_uri", "state", "nonce", "code_challenge"} {
			fmt.Fprintf(w, `<input type="hidden" name="%s" value="%s">`, k, html.EscapeString(q.Get(k)))
		}
		fmt.Fprintf(w, `<input type="hidden" name="sub" value="%s"><button type="submit" id="as-%s">Sign in as %s</button></form>`,
			html.EscapeString(u.Subject), html.EscapeString(u.Username), html.EscapeString(u.Username))
	}
	fmt.Fprint(w, `</body></html>`)
}

func (s *SSO) approve(w http.ResponseWriter, r *http.Request) {
	if err := r.ParseForm(); err != nil {
		http.Error(w, err.Error(), http.StatusBadRequest)
		return
	}
	s.mu.Lock()
	u, ok := s.users[r.PostForm.Get("sub")]
	code := randomHex(16)
	if ok {
		s.codes[code] = ssoCode{user: u, redirect: r.PostForm.Get("redirect_uri"), nonce: r.PostForm.Get("nonce"),
			challenge: r.PostForm.Get("code_challenge"), expires: time.Now().Add(time.Minute)}
	}
	s.mu.Unlock()
	if !ok {
		http.Error(w, "unknown user", http.StatusBadRequest)
		return
	}
	back, err := url.Parse(r.PostForm.Get("redirect_uri"))
	if err != nil {
		http.Error(w, "bad redirect_uri", http.StatusBadRequest)
		return
	}
	bq := back.Query()
	bq.Set("code", code)
	bq.Set("state", r.PostForm.Get("state"))
	back.RawQuery = bq.Encode()
	http.Redirect(w, r, back.String(), http.StatusFound)
}

// SignInURLCode runs the provider's side of a sign-in without a browser:
// it issues a code for subject as the authorization page would, returning
// the redirect a browser would follow.
func (s *SSO) SignInURLCode(authorizeURL, subject string) (string, error) {
	u, err := url.Parse(authorizeURL)
	if err != nil {
		return "", err
	}
	q := u.Query()
	s.mu.Lock()
	defer s.mu.Unlock()
	usr, ok := s.users[subject]
	if !ok {
		return "", fmt.Errorf("unknown subject %q", subject)
	}
	code := randomHex(16)
	s.codes[code] = ssoCode{user: usr, redirect: q.Get("redirect_uri"), nonce: q.Get("nonce"), challenge: q.Get("code_challenge"),
		expires: time.Now().Add(time.Minute)}
	back, err := url.Parse(q.Get("redirect_uri"))
	if err != nil {
		return "", err
	}
	bq := back.Query()
	bq.Set("code", code)
	bq.Set("state", q.Get("state"))
	back.RawQuery = bq.Encode()
	return back.String(), nil
}

func (s *SSO) token(w http.ResponseWriter, r *http.Request) {
	if err := r.ParseForm(); err != nil {
		http.Error(w, err.Error(), http.StatusBadRequest)
		return
	}
	id, secret, ok := r.BasicAuth()
	if !ok {
		id, secret = r.PostForm.Get("client_id"), r.PostForm.Get("client_secret")
	}
	if id != s.ClientID || secret != s.ClientSecret {
		w.WriteHeader(http.StatusUnauthorized)
		writeJSON(w, map[string]string{"error": "invalid_client"})
		return
	}
	s.mu.Lock()
	c, ok := s.codes[r.PostForm.Get("code")]
	delete(s.codes, r.PostForm.Get("code"))
	tamper, key := s.Tamper, s.TokenKey
	s.mu.Unlock()
	sum := sha256.Sum256([]byte(r.PostForm.Get("code_verifier")))
	switch {
	case !ok, time.Now().After(c.expires), c.redirect != r.PostForm.Get("redirect_uri"),
		base64.RawURLEncoding.EncodeToString(sum[:]) != c.challenge:
		w.WriteHeader(http.StatusBadRequest)
		writeJSON(w, map[string]string{"error": "invalid_grant"})
		return
	}
	claims := map[string]any{"sub": c.user.Subject, "aud": s.ClientID, "nonce": c.nonce, "name": c.user.Name,
		"email": c.user.Email, "preferred_username": c.user.Username}
	if !c.user.NoGroups {
		groups := c.user.Groups
		if groups == nil {
			groups = []string{}
		}
		claims["groups"] = groups
	}
	if tamper != nil {
		tamper(claims)
	}
	if key == nil {
		key = s.Key
	}
	idToken, err := s.sign(claims, key)
	if err != nil {
		http.Error(w, err.Error(), http.StatusInternalServerError)
		return
	}
	writeJSON(w, map[string]any{"access_token": randomHex(16), "token_type": "Bearer", "expires_in": 300, "id_token": idToken})
}

func randomHex(n int) string {
	b := make([]byte, n)
	rand.Read(b)
	return hex.EncodeToString(b)
}
