package ui

import (
	"net/http"
	"net/url"

	"github.com/gin-gonic/gin"

	"github.com/cairn-registry/cairn/handlers/middleware"
	"github.com/cairn-registry/cairn/policies"
	"github.com/cairn-registry/cairn/tokens"
	"github.com/cairn-registry/cairn/views"
)

// authorize is GET /oauth/authorization, terraform login's authorization
// endpoint (login.v1): a signed-out user goes through sign-in and comes
// back; a signed-in user is asked to allow the Terraform CLI.
// https://developer.hashicorp.com/terraform/internals/login-protocol
func (u *UI) authorize(c *gin.Context) {
	q := c.Request.URL.Query()
	r := views.ConsentRequest{Host: u.site.TerraformHost, ClientID: q.Get("client_id"), RedirectURI: q.Get("redirect_uri"),
		State: q.Get("state"), Challenge: q.Get("code_challenge"), Method: q.Get("code_challenge_method")}
	if !u.checkAuthorizeRequest(c, r, q.Get("response_type")) {
		return
	}
	if middleware.Principal(c).Kind != policies.User {
		c.Redirect(http.StatusFound, "/login?next="+url.QueryEscape(c.Request.URL.RequestURI()))
		return
	}
	u.csrfToken(c)
	render(c, http.StatusOK, views.Consent(u.chrome(c, "Authorize Terraform"), r))
}

// checkAuthorizeRequest refuses malformed requests on a page: an
// unverified redirect URI must never be followed.
func (u *UI) checkAuthorizeRequest(c *gin.Context, r views.ConsentRequest, responseType string) bool {
	err := tokens.CheckLoginRequest(r.ClientID, r.RedirectURI, r.Challenge, r.Method)
	if err == nil && responseType != "code" {
		err = &tokens.OAuthError{Code: "unsupported_response_type", Description: "response_type must be code"}
	}
	if err != nil {
		middleware.Logger(c).Info("refused terraform login request", "error", err)
		render(c, http.StatusBadRequest, views.Problem(u.chrome(c, "Login request refused"), "Login request refused",
			"This sign-in request is not one Cairn can answer: "+err.(*tokens.OAuthError).Description+"."))
		return false
	}
	return true
}

// authorizeDecision is POST /oauth/authorization: Authorize issues a
// one-time code and sends the browser back to terraform; Deny tells
// terraform the user refused.
func (u *UI) authorizeDecision(c *gin.Context) {
	r := views.ConsentRequest{ClientID: c.PostForm("client_id"), RedirectURI: c.PostForm("redirect_uri"), State: c.PostForm("state"),
		Challenge: c.PostForm("code_challenge"), Method: c.PostForm("code_challenge_method")}
	if !u.checkAuthorizeRequest(c, r, c.PostForm("response_type")) {
		return
	}
	p := middleware.Principal(c)
	if p.Kind != policies.User {
		c.Redirect(http.StatusSeeOther, "/login")
		return
	}
	back, _ := url.Parse(r.RedirectURI)
	q := back.Query()
	q.Set("state", r.State)
	if c.PostForm("decision") != "allow" {
		q.Set("error", "access_denied")
		back.RawQuery = q.Encode()
		c.Redirect(http.StatusSeeOther, back.String())
		return
	}
	code, err := u.tokens.IssueLoginCode(c.Request.Context(), p.UserID, r.ClientID, r.RedirectURI, r.Challenge)
	if err != nil {
		writeError(c, err)
		return
	}
	q.Set("code", code)
	back.RawQuery = q.Encode()
	middleware.Logger(c).Info("terraform login authorized", "username", p.Username)
	c.Redirect(http.StatusSeeOther, back.String())
}
