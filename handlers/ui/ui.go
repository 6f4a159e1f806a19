// Package ui serves Cairn's pages (templ + htmx) on the UI engine, the only
// engine that sees browser sessions: sign-in (password and OpenID Connect
// single sign-on), the consent page of terraform login, and the pages.
// Every other URL a browser opens, including the web_url links the APIs
// hand out, lands here.
package ui

import (
	"net/http"

	"github.com/alexedwards/scs/v2"
	"github.com/gin-gonic/gin"

	"github.com/cairn-registry/cairn/config"
	"github.com/cairn-registry/cairn/handlers/middleware"
	"github.com/cairn-registry/cairn/tokens"
	"github.com/cairn-registry/cairn/users"
	"github.com/cairn-registry/cairn/views"
)

// UI is the pages surface.
type UI struct {
	site     middleware.Site
	sessions *scs.SessionManager
	users    *users.Service
	tokens   *tokens.Service
	identity config.Identity
	sso      *ssoClient
	throttle *loginThrottle
}

// Deps is what the pages need.
type Deps struct {
	Site     middleware.Site
	Sessions *scs.SessionManager
	Users    *users.Service
	Tokens   *tokens.Service
	Identity config.Identity
	// SSO is the OpenID Connect relying party; nil when SSO is off.
	SSO *SSO
}

// New returns the pages surface.
func New(d Deps) *UI {
	u := &UI{site: d.Site, sessions: d.Sessions, users: d.Users, tokens: d.Tokens, identity: d.Identity, throttle: newLoginThrottle()}
	if d.SSO != nil {
		u.sso = &ssoClient{SSO: d.SSO}
	}
	return u
}

// Register mounts the pages. Sessions (scs) wrap the engine at the
// net/http level (see Wrap); identify and the CSRF check run here.
func (u *UI) Register(r *gin.Engine) {
	r.Use(u.identify, u.checkCSRF)
	r.GET("/", u.index)
	r.GET("/login", u.loginPage)
	r.POST("/login", u.login)
	r.POST("/logout", u.logout)
	r.GET("/openid/login", u.ssoLogin)
	r.GET("/openid/callback", u.ssoCallback)
	r.GET("/oauth/authorization", u.authorize)
	r.POST("/oauth/authorization", u.authorizeDecision)
}

func (u *UI) index(c *gin.Context) {
	render(c, http.StatusOK, views.Index(u.chrome(c, "Terraform registry"), u.site.URL, u.site.TerraformHost))
}
