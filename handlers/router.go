// Package handlers is Cairn's one route table. A front handler splits
// traffic by path: API and protocol paths go to the API engine (tokens
// only, never a cookie), everything else to the UI engine, the only engine
// that will run browser sessions and CSRF protection. Each wire surface
// lives in its own package and registers its own routes:
//
//	/healthz, /readyz                            handlers/health
//	/.well-known/terraform.json, modules.v1      handlers/protocol
//	  (/v1/modules/, /api/v4/packages/terraform/modules/v1/, /api/registry/v1/modules/,
//	   the signed archive file)
//	/v1/modules lists, search, details           handlers/catalog
//	/api/v4/...                                  handlers/gitlab
//	/api/v2/..., /api/registry/private/v2/gpg-keys handlers/tfe (TFE API, upload links)
//	/v1/providers/, /api/registry/v1/providers/,  handlers/protocol (providers.v1, the
//	  /v1/mirror/, /v1/provider-files/             network mirror, signed provider files)
//	/v1/terrareg/...                             handlers/terrareg
//	/v1/terrareg/modules/.../hooks/{github,gitlab,bitbucket}  handlers/webhooks
//	/oauth/token (terraform login)               handlers/login
//	/static/...                                  static files (API engine)
//	every other path                             handlers/ui (pages, sign-in,
//	                                             /openid/..., /oauth/authorization)
//
// Surfaces import domain packages and handlers/middleware, never each other.
package handlers

import (
	"log/slog"
	"net/http"
	"strings"

	"github.com/alexedwards/scs/v2"
	"github.com/gin-gonic/gin"

	"github.com/cairn-registry/cairn/audit"
	"github.com/cairn-registry/cairn/config"
	"github.com/cairn-registry/cairn/gitimport"
	"github.com/cairn-registry/cairn/handlers/catalog"
	"github.com/cairn-registry/cairn/handlers/gitlab"
	"github.com/cairn-registry/cairn/handlers/health"
	"github.com/cairn-registry/cairn/handlers/login"
	"github.com/cairn-registry/cairn/handlers/middleware"
	"github.com/cairn-registry/cairn/handlers/protocol"
	"github.com/cairn-registry/cairn/handlers/terrareg"
	"github.com/cairn-registry/cairn/handlers/tfe"
	"github.com/cairn-registry/cairn/handlers/ui"
	"github.com/cairn-registry/cairn/handlers/webhooks"
	"github.com/cairn-registry/cairn/internal/metrics"
	"github.com/cairn-registry/cairn/modules"
	"github.com/cairn-registry/cairn/projects"
	"github.com/cairn-registry/cairn/providers"
	"github.com/cairn-registry/cairn/static"
	"github.com/cairn-registry/cairn/tokens"
	"github.com/cairn-registry/cairn/users"
)

// Deps is what the router needs from the rest of the program.
type Deps struct {
	Log       *slog.Logger
	PublicURL string
	// Ready lists the dependencies /readyz checks, by name.
	Ready map[string]health.Pinger
	// Resolver turns request credentials into principals.
	Resolver *tokens.Resolver
	Users    *users.Service
	Projects *projects.Service
	Tokens   *tokens.Service
	Modules  *modules.Service
	// Providers is the provider registry (providers.v1, the TFE API).
	Providers *providers.Service
	Audit     *audit.Service
	// Imports imports module versions from git (nil: off).
	Imports *gitimport.Service
	// Metrics records requests on both engines; nil records nothing.
	Metrics *metrics.Metrics
	// TrustedProxies may name the client in X-Forwarded-For.
	TrustedProxies []string
	// Sessions are the browser sessions of the UI engine.
	Sessions *scs.SessionManager
	// Identity configures sign-in; SSO is the OpenID Connect relying
	// party (nil when single sign-on is off).
	Identity config.Identity
	SSO      *ui.SSO
	// Config is the running configuration, for the admin system page and
	// the browser upload limit; nil shows defaults.
	Config *config.Config
}

func init() { gin.SetMode(gin.ReleaseMode) }

// apiPrefixes are the paths the API engine serves; the rest are pages.
var apiPrefixes = []string{"/api/", "/v1/", "/v2/", "/.well-known/", "/static/", "/healthz", "/readyz", login.TokenPath}

// IsAPIPath reports whether path belongs to the API engine.
func IsAPIPath(path string) bool {
	for _, p := range apiPrefixes {
		if strings.HasPrefix(path, p) {
			return true
		}
	}
	return false
}

// New builds the front handler and both engines with every surface.
func New(d Deps) http.Handler {
	site := middleware.NewSite(d.PublicURL)
	api := newEngine(d.Log, d.Metrics, d.TrustedProxies, "api", func(c *gin.Context) {
		c.AbortWithStatusJSON(http.StatusInternalServerError, gin.H{"message": "500 Internal Server Error", "request_id": middleware.ID(c)})
	})
	auth := middleware.Authenticate(d.Resolver)
	health.Register(api, d.Ready)
	api.GET("/static/*file", gin.WrapH(static.Handler()))
	api.HEAD("/static/*file", gin.WrapH(static.Handler()))
	login.New(d.Tokens, d.Identity.LoginTokenTTL).Register(api)
	protocol.New(d.Modules, site).WithProviders(d.Providers).Register(api, auth)
	tfe.New(d.Providers, d.Projects, site).Register(api, auth)
	catalog.New(d.Modules, site).Register(api, auth)
	terrareg.New(d.Modules, d.Projects, d.Users, d.Audit, site).WithProviders(d.Providers).WithImports(importer(d.Imports)).Register(api, auth)
	webhooks.New(hooks(d.Imports)).Register(api)
	gitlab.New(d.Users, d.Projects, d.Tokens, d.Modules, site).Register(api, auth)
	api.NoRoute(func(c *gin.Context) { c.JSON(http.StatusNotFound, gin.H{"message": "404 Not Found"}) })
	api.NoMethod(func(c *gin.Context) { c.JSON(http.StatusMethodNotAllowed, gin.H{"message": "405 Method Not Allowed"}) })

	pages := newEngine(d.Log, d.Metrics, d.TrustedProxies, "ui", ui.Fail)
	web := ui.New(ui.Deps{Site: site, Sessions: d.Sessions, Users: d.Users, Tokens: d.Tokens, Identity: d.Identity, SSO: d.SSO,
		Modules: d.Modules, Projects: d.Projects, Providers: d.Providers, Manage: manageDeps(d)})
	web.Register(pages)
	pages.NoRoute(web.NoRoute)
	pages.NoMethod(ui.NotFound)
	browser := ui.Wrap(pages, d.Sessions, func(r *http.Request) {
		d.Log.Warn("refused a cross-origin request", "method", r.Method, "path", r.URL.Path, "origin", r.Header.Get("Origin"))
	})

	return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		if IsAPIPath(r.URL.Path) {
			api.ServeHTTP(w, r)
			return
		}
		browser.ServeHTTP(w, r)
	})
}

// newEngine is a gin engine with the shared middleware, its requests
// recorded in m as engine's; fail answers a recovered panic.
func newEngine(log *slog.Logger, m *metrics.Metrics, trustedProxies []string, engine string, fail gin.HandlerFunc) *gin.Engine {
	r := gin.New()
	// The client address (rate limits, sign-in throttling, logs) is the
	// direct peer unless it is a trusted proxy; nil trusts none.
	if err := r.SetTrustedProxies(trustedProxies); err != nil {
		log.Error("CAIRN_TRUSTED_PROXIES", "error", err)
	}
	r.RedirectTrailingSlash = false
	r.RedirectFixedPath = false
	// Route on the raw path so GitLab's URL-encoded ids (acme%2Fvpc) stay
	// one segment; path values are still unescaped (UnescapePathValues).
	r.UseRawPath = true
	r.HandleMethodNotAllowed = true
	r.ContextWithFallback = true
	// Deadlines first: it bounds every read and write that follows.
	r.Use(middleware.Deadlines(middleware.DefaultDeadlines), middleware.RequestID(log), middleware.AccessLog(), middleware.Instrument(m, engine), middleware.Recovery(fail))
	return r
}

// manageDeps is what the management pages need from d.
func manageDeps(d Deps) ui.Manage {
	settings, maxUpload := ui.ManageOf(d.Config)
	return ui.Manage{Audit: d.Audit, Ready: ui.ReadyChecks(d.Ready), Settings: settings, MaxUpload: maxUpload, Imports: d.Imports}
}

// importer and hooks keep a nil *gitimport.Service a nil interface.
func importer(s *gitimport.Service) terrareg.Importer {
	if s == nil {
		return nil
	}
	return s
}

func hooks(s *gitimport.Service) webhooks.Hooks {
	if s == nil {
		return nil
	}
	return s
}
