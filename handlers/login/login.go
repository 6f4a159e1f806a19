// Package login serves the token endpoint of terraform login (login.v1):
// POST /oauth/token exchanges an authorization code issued on the consent
// page (handlers/ui) for a personal access token. It is an API route
// (never reads a cookie); errors follow RFC 6749.
// https://developer.hashicorp.com/terraform/internals/login-protocol
package login

import (
	"errors"
	"net/http"
	"time"

	"github.com/gin-gonic/gin"

	"github.com/cairn-registry/cairn/handlers/middleware"
	"github.com/cairn-registry/cairn/tokens"
)

// TokenPath is the token endpoint discovery advertises.
const TokenPath = "/oauth/token"

// API is the login.v1 token endpoint.
type API struct {
	tokens *tokens.Service
	ttl    time.Duration
}

// New returns the token endpoint; tokens it mints expire after ttl.
func New(toks *tokens.Service, ttl time.Duration) *API { return &API{tokens: toks, ttl: ttl} }

// Register mounts POST /oauth/token.
func (a *API) Register(r gin.IRouter) {
	r.POST(TokenPath, a.token)
}

// token redeems an authorization code (grant_type=authorization_code).
func (a *API) token(c *gin.Context) {
	c.Request.Body = http.MaxBytesReader(c.Writer, c.Request.Body, 64<<10)
	c.Header("Cache-Control", "no-store")
	if gt := c.PostForm("grant_type"); gt != "authorization_code" {
		oauthError(c, &tokens.OAuthError{Code: "unsupported_grant_type", Description: "grant_type must be authorization_code"})
		return
	}
	secret, t, err := a.tokens.RedeemLoginCode(c.Request.Context(), c.PostForm("code"), c.PostForm("client_id"),
		c.PostForm("redirect_uri"), c.PostForm("code_verifier"), a.ttl)
	if err != nil {
		oauthError(c, err)
		return
	}
	middleware.Logger(c).Info("terraform login token issued", "token_id", t.ID, "user_id", t.UserID)
	body := gin.H{"access_token": secret, "token_type": "bearer"}
	if t.ExpiresAt != nil {
		body["expires_in"] = int(time.Until(*t.ExpiresAt).Seconds())
	}
	c.JSON(http.StatusOK, body)
}

// oauthError writes an RFC 6749 error: 400 {"error", "error_description"}
// (401 for invalid_client).
func oauthError(c *gin.Context, err error) {
	var oe *tokens.OAuthError
	if !errors.As(err, &oe) {
		middleware.Logger(c).Error("terraform login token failed", "error", err)
		c.AbortWithStatusJSON(http.StatusInternalServerError, gin.H{"error": "server_error", "error_description": "the token could not be issued; try again"})
		return
	}
	status := http.StatusBadRequest
	if oe.Code == "invalid_client" {
		status = http.StatusUnauthorized
	}
	c.AbortWithStatusJSON(status, gin.H{"error": oe.Code, "error_description": oe.Description})
}
