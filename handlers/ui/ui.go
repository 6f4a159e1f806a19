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
	"github.com/cairn-registry/cairn/modules"
	"github.com/cairn-registry/cairn/projects"
	"github.com/cairn-registry/cairn/providers"
	"github.com/cairn-registry/cairn/tokens"
	"github.com/cairn-registry/cairn/users"
)

// UI is the pages surface.
type UI struct {
	site      middleware.Site
	sessions  *scs.SessionManager
	users     *users.Service
	tokens    *tokens.Service
	identity  config.Identity
	sso       *ssoClient
	throttle  *loginThrottle
	modules   *modules.Service
	projects  *projects.Service
	providers *providers.Service
	// highlight renders example files (chroma), shared by requests.
	highlight *highlighter
	// docs keeps recently shown versions' documentation decoded.
	docs   *docsCache
	manage Manage
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
	// Modules and Projects are what the pages read, always as the viewer.
	Modules  *modules.Service
	Projects *projects.Service
	// Providers is the provider registry (provider pages, GPG keys).
	Providers *providers.Service
	// Manage is what the management pages need (manage.go).
	Manage Manage
}

// New returns the pages surface.
func New(d Deps) *UI {
	u := &UI{site: d.Site, sessions: d.Sessions, users: d.Users, tokens: d.Tokens, identity: d.Identity, throttle: newLoginThrottle(),
		modules: d.Modules, projects: d.Projects, highlight: newHighlighter(), docs: newDocsCache(), manage: d.Manage, providers: d.Providers}
	if d.SSO != nil {
		u.sso = &ssoClient{SSO: d.SSO}
	}
	return u
}

// Register mounts the pages. Sessions (scs) wrap the engine at the
// net/http level (see Wrap); identify and the CSRF check run here.
func (u *UI) Register(r *gin.Engine) {
	r.Use(securityHeaders, u.identify, u.checkCSRF)
	u.registerProviders(r) // before registerManage: its middleware serves the GPG keys of /groups/<path>/-/settings
	u.registerManage(r)    // first: its middleware serves the /-/ pages below groups and projects
	r.GET("/", u.index)
	r.GET("/modules", u.search)
	r.GET("/modules/search", u.search)
	r.GET("/modules/:ns", u.namespace)
	r.GET("/modules/:ns/:name", u.moduleSystems)
	r.GET("/modules/:ns/:name/:system", u.moduleLatest)
	r.GET("/modules/:ns/:name/:system/:version", u.moduleVersion)
	r.GET("/modules/:ns/:name/:system/:version/graph", u.graph(""))
	r.GET("/modules/:ns/:name/:system/:version/graph/submodule/*path", u.graph("submodule"))
	r.GET("/modules/:ns/:name/:system/:version/graph/example/*path", u.graph("example"))
	r.GET("/modules/:ns/:name/:system/:version/submodule/*path", u.submodule)
	r.GET("/modules/:ns/:name/:system/:version/example/*path", u.example)
	r.GET("/groups/*path", u.group)
	r.GET("/login", u.loginPage)
	r.POST("/login", u.login)
	r.POST("/logout", u.logout)
	r.GET("/openid/login", u.ssoLogin)
	r.GET("/openid/callback", u.ssoCallback)
	r.GET("/oauth/authorization", u.authorize)
	r.POST("/oauth/authorization", u.authorizeDecision)
}

// NoRoute answers every other path: a project's page at its full path
// (/acme/network, the web_url the APIs hand out), else a group's, else the
// 404 page.
func (u *UI) NoRoute(c *gin.Context) {
	if c.Request.Method != http.MethodGet && c.Request.Method != http.MethodHead {
		NotFound(c)
		return
	}
	u.projectOrGroup(c)
}
