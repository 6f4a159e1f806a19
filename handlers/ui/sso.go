package ui

import (
	"context"
	"crypto/subtle"
	"errors"
	"net/http"
	"strings"
	"sync"
	"time"

	"github.com/coreos/go-oidc/v3/oidc"
	"github.com/gin-gonic/gin"
	"golang.org/x/oauth2"

	"github.com/cairn-registry/cairn/config"
	"github.com/cairn-registry/cairn/errs"
	"github.com/cairn-registry/cairn/handlers/middleware"
	"github.com/cairn-registry/cairn/users"
	"github.com/cairn-registry/cairn/views"
)

// SSO is the OpenID Connect relying party: the provider's configuration
// (discovered through the hardened outbound client, lazily, so Cairn starts
// while the provider is down) and this registry's client registration.
type SSO struct {
	Config config.OIDCConfig
	// RedirectURL is $CAIRN_PUBLIC_URL/openid/callback.
	RedirectURL string
	// Client is the outbound client every request to the provider uses.
	Client *http.Client

	mu       sync.Mutex
	provider *oidc.Provider
	failedAt time.Time
}

// discoverRetry is how long a failed discovery is remembered.
const discoverRetry = 10 * time.Second

func (s *SSO) ctx(ctx context.Context) context.Context { return oidc.ClientContext(ctx, s.Client) }

// discover returns the provider, discovering it on first use.
func (s *SSO) discover(ctx context.Context) (*oidc.Provider, error) {
	s.mu.Lock()
	defer s.mu.Unlock()
	if s.provider != nil {
		return s.provider, nil
	}
	if time.Since(s.failedAt) < discoverRetry {
		return nil, errs.E(errs.Unavailable, "the identity provider is unreachable")
	}
	ctx, cancel := context.WithTimeout(ctx, 15*time.Second)
	defer cancel()
	p, err := oidc.NewProvider(s.ctx(ctx), s.Config.Issuer)
	if err != nil {
		s.failedAt = time.Now()
		return nil, errs.Wrap(errs.Unavailable, err, "the identity provider is unreachable")
	}
	s.provider = p
	return p, nil
}

func (s *SSO) oauth(p *oidc.Provider) *oauth2.Config {
	return &oauth2.Config{ClientID: s.Config.ClientID, ClientSecret: s.Config.ClientSecret, Endpoint: p.Endpoint(),
		RedirectURL: s.RedirectURL, Scopes: s.Config.Scopes}
}

type ssoClient struct{ *SSO }

// ssoLogin is GET /openid/login: off to the provider with state, nonce and
// a PKCE S256 challenge, all kept in the (shared) session.
func (u *UI) ssoLogin(c *gin.Context) {
	if u.sso == nil {
		NotFound(c)
		return
	}
	ctx := c.Request.Context()
	p, err := u.sso.discover(ctx)
	if err != nil {
		u.ssoProblem(c, http.StatusServiceUnavailable, "Sign-in is unavailable",
			"Cairn cannot reach the identity provider right now. Try again in a moment.", err)
		return
	}
	state, nonce, verifier := randomToken(), randomToken(), oauth2.GenerateVerifier()
	u.sessions.Put(ctx, keyOIDCState, state)
	u.sessions.Put(ctx, keyOIDCNonce, nonce)
	u.sessions.Put(ctx, keyOIDCVerifier, verifier)
	u.sessions.Put(ctx, keyOIDCNext, safeNext(c.Query("next")))
	c.Redirect(http.StatusFound, u.sso.oauth(p).AuthCodeURL(state, oidc.Nonce(nonce), oauth2.S256ChallengeOption(verifier)))
}

// ssoCallback is GET /openid/callback: checks state, exchanges the code
// (with the PKCE verifier), verifies the ID token and its nonce, then links
// or creates the user and synchronises their user groups. Any failure shows
// a page, logs a line and creates nothing.
func (u *UI) ssoCallback(c *gin.Context) {
	if u.sso == nil {
		NotFound(c)
		return
	}
	ctx := c.Request.Context()
	state := u.sessions.PopString(ctx, keyOIDCState)
	nonce := u.sessions.PopString(ctx, keyOIDCNonce)
	verifier := u.sessions.PopString(ctx, keyOIDCVerifier)
	next := safeNext(u.sessions.PopString(ctx, keyOIDCNext))
	retry := "Go back to the sign-in page and try again."
	if e := c.Query("error"); e != "" {
		u.ssoProblem(c, http.StatusBadRequest, "Sign-in was not completed",
			"The identity provider did not sign you in ("+e+"). "+retry, errors.New("provider error "+e+": "+c.Query("error_description")))
		return
	}
	if state == "" || subtle.ConstantTimeCompare([]byte(state), []byte(c.Query("state"))) != 1 {
		u.ssoProblem(c, http.StatusBadRequest, "Sign-in expired",
			"This sign-in does not match the one started in this browser (it may be old or have been used already). "+retry, errors.New("state mismatch"))
		return
	}
	p, err := u.sso.discover(ctx)
	if err != nil {
		u.ssoProblem(c, http.StatusServiceUnavailable, "Sign-in is unavailable",
			"Cairn cannot reach the identity provider right now. Try again in a moment.", err)
		return
	}
	tok, err := u.sso.oauth(p).Exchange(u.sso.ctx(ctx), c.Query("code"), oauth2.VerifierOption(verifier))
	if err != nil {
		u.ssoProblem(c, http.StatusBadRequest, "Sign-in failed",
			"The identity provider refused to complete the sign-in (the code may have expired or been used). "+retry, err)
		return
	}
	raw, _ := tok.Extra("id_token").(string)
	if raw == "" {
		u.ssoProblem(c, http.StatusBadRequest, "Sign-in failed", "The identity provider sent no ID token. "+retry, errors.New("no id_token"))
		return
	}
	idt, err := p.Verifier(&oidc.Config{ClientID: u.sso.Config.ClientID}).Verify(u.sso.ctx(ctx), raw)
	if err != nil {
		u.ssoProblem(c, http.StatusBadRequest, "Sign-in failed",
			"The identity provider's answer could not be verified (expired or wrongly signed). "+retry, err)
		return
	}
	if nonce == "" || subtle.ConstantTimeCompare([]byte(idt.Nonce), []byte(nonce)) != 1 {
		u.ssoProblem(c, http.StatusBadRequest, "Sign-in failed", "The identity provider's answer belongs to another sign-in. "+retry,
			errors.New("nonce mismatch"))
		return
	}
	var claims map[string]any
	if err := idt.Claims(&claims); err != nil {
		u.ssoProblem(c, http.StatusBadRequest, "Sign-in failed", "The identity provider's answer is malformed. "+retry, err)
		return
	}
	id := users.SSOIdentity{Issuer: idt.Issuer, Subject: idt.Subject,
		Username: claimString(claims, u.sso.Config.UsernameClaim), Name: claimString(claims, "name"), Email: claimString(claims, "email")}
	id.Groups, id.HasGroups = claimStrings(claims, u.sso.Config.GroupsClaim)
	if !id.HasGroups {
		middleware.Logger(c).Warn("ID token has no groups claim; user group memberships left unchanged", "claim", u.sso.Config.GroupsClaim, "subject", idt.Subject)
	}
	res, err := u.users.SignInSSO(ctx, id, u.sso.Config.AutoCreate)
	if errs.Is(err, errs.Forbidden) {
		u.ssoProblem(c, http.StatusForbidden, "Sign-in refused", errs.Message(err), err)
		return
	}
	if err != nil {
		writeError(c, err)
		return
	}
	if err := u.signIn(c, res.User, users.MethodSSO); err != nil {
		writeError(c, err)
		return
	}
	c.Redirect(http.StatusSeeOther, next)
}

func (u *UI) ssoProblem(c *gin.Context, status int, heading, message string, cause error) {
	middleware.Logger(c).Warn("SSO sign-in failed", "reason", heading, "error", cause)
	c.Abort()
	render(c, status, views.Problem(u.chrome(c, heading), heading, message))
}

func claimString(claims map[string]any, name string) string {
	s, _ := claims[name].(string)
	return strings.TrimSpace(s)
}

// claimStrings reads a list claim (an array of strings, or one string).
func claimStrings(claims map[string]any, name string) ([]string, bool) {
	v, ok := claims[name]
	if !ok || v == nil {
		return nil, false
	}
	switch v := v.(type) {
	case string:
		return []string{v}, true
	case []any:
		out := make([]string, 0, len(v))
		for _, x := range v {
			if s, ok := x.(string); ok && s != "" {
				out = append(out, s)
			}
		}
		return out, true
	}
	return nil, false
}
