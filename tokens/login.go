package tokens

import (
	"context"
	"crypto/rand"
	"crypto/sha256"
	"crypto/subtle"
	"encoding/base64"
	"fmt"
	"net"
	"net/url"
	"strconv"
	"time"

	"github.com/cairn-registry/cairn/errs"
	"github.com/cairn-registry/cairn/policies"
	"github.com/cairn-registry/cairn/queries"
)

// terraform login (the login.v1 service): an OAuth 2.0 authorization code
// grant with PKCE for the Terraform CLI, which listens on localhost for the
// redirect. The code is stored hashed in PostgreSQL, so any replica can
// redeem it; redeeming mints a personal access token.

// Terraform's login client.
const (
	LoginClientID = "terraform-cli"
	LoginPortMin  = 10000
	LoginPortMax  = 10010
	// LoginTokenName names the tokens terraform login creates.
	LoginTokenName = "terraform login"
	// loginCodeTTL is how long an authorization code may be redeemed.
	loginCodeTTL = 60 * time.Second
)

// OAuthError is an RFC 6749 error: Code is "invalid_request",
// "invalid_grant", "invalid_client", "unsupported_grant_type", ...
type OAuthError struct {
	Code        string
	Description string
}

func (e *OAuthError) Error() string { return e.Code + ": " + e.Description }

func oauthError(code, format string, args ...any) error {
	return &OAuthError{Code: code, Description: fmt.Sprintf(format, args...)}
}

// CheckLoginRequest validates an authorization request of the Terraform
// CLI: its client id, a redirect URI on localhost or 127.0.0.1 within the
// advertised ports, and a PKCE S256 challenge.
func CheckLoginRequest(clientID, redirectURI, challenge, method string) error {
	if clientID != LoginClientID {
		return oauthError("invalid_client", "unknown client %q; only %s may sign in here", clientID, LoginClientID)
	}
	u, err := url.Parse(redirectURI)
	if err != nil || u.Scheme != "http" || u.User != nil || u.Fragment != "" {
		return oauthError("invalid_request", "redirect_uri must be an http URL on localhost")
	}
	host, port := u.Hostname(), u.Port()
	n, err := strconv.Atoi(port)
	if !(host == "localhost" || net.ParseIP(host).IsLoopback()) || err != nil || n < LoginPortMin || n > LoginPortMax {
		return oauthError("invalid_request", "redirect_uri must be http://localhost:%d-%d/...", LoginPortMin, LoginPortMax)
	}
	if method != "S256" || len(challenge) < 43 || len(challenge) > 128 {
		return oauthError("invalid_request", "a PKCE code_challenge with code_challenge_method S256 is required")
	}
	return nil
}

// IssueLoginCode records a one-time authorization code for userID, bound to
// the client, redirect URI and PKCE challenge (already checked with
// CheckLoginRequest), and returns it.
func (s *Service) IssueLoginCode(ctx context.Context, userID int64, clientID, redirectURI, challenge string) (string, error) {
	b := make([]byte, 32)
	if _, err := rand.Read(b); err != nil {
		return "", err
	}
	code := base64.RawURLEncoding.EncodeToString(b)
	err := s.q().CreateOAuthCode(ctx, queries.CreateOAuthCodeParams{CodeHash: Hash(code), UserID: userID, ClientID: clientID,
		RedirectUri: redirectURI, CodeChallenge: challenge, ExpiresAt: time.Now().Add(loginCodeTTL)})
	return code, err
}

// RedeemLoginCode exchanges an authorization code (once) for a personal
// access token named "terraform login" with the read_api scope, expiring
// after ttl. Every mismatch is invalid_grant.
func (s *Service) RedeemLoginCode(ctx context.Context, code, clientID, redirectURI, verifier string, ttl time.Duration) (string, PersonalAccessToken, error) {
	if code == "" || verifier == "" || redirectURI == "" {
		return "", PersonalAccessToken{}, oauthError("invalid_request", "code, redirect_uri and code_verifier are required")
	}
	if clientID != LoginClientID {
		return "", PersonalAccessToken{}, oauthError("invalid_client", "unknown client %q", clientID)
	}
	row, err := s.q().TakeOAuthCode(ctx, Hash(code))
	if err != nil {
		if errs.IsNoRows(err) {
			return "", PersonalAccessToken{}, oauthError("invalid_grant", "the authorization code is unknown, used or expired")
		}
		return "", PersonalAccessToken{}, err
	}
	sum := sha256.Sum256([]byte(verifier))
	challenge := base64.RawURLEncoding.EncodeToString(sum[:])
	switch {
	case !time.Now().Before(row.ExpiresAt):
		return "", PersonalAccessToken{}, oauthError("invalid_grant", "the authorization code expired")
	case row.ClientID != clientID || row.RedirectUri != redirectURI:
		return "", PersonalAccessToken{}, oauthError("invalid_grant", "the code was issued to another client or redirect_uri")
	case subtle.ConstantTimeCompare([]byte(challenge), []byte(row.CodeChallenge)) != 1:
		return "", PersonalAccessToken{}, oauthError("invalid_grant", "code_verifier does not match the code_challenge")
	}
	u, err := s.q().GetUser(ctx, row.UserID)
	if err != nil {
		return "", PersonalAccessToken{}, err
	}
	if u.Blocked {
		return "", PersonalAccessToken{}, oauthError("invalid_grant", "the account is blocked")
	}
	expires := time.Now().Add(ttl)
	actor := &policies.Principal{Kind: policies.User, UserID: u.ID, Username: u.Username}
	return s.mintPAT(ctx, actor, u.ID, LoginTokenName, []string{policies.ScopeReadAPI}, &expires)
}
