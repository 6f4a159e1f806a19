// Package handlers holds Cairn's HTTP surfaces: thin gin handlers that parse
// a request, call a domain service and write the surface's own wire format.
package handlers

import (
	"log/slog"
	"net/http"

	"github.com/gin-gonic/gin"

	"github.com/cairn-registry/cairn/modules"
	"github.com/cairn-registry/cairn/projects"
	"github.com/cairn-registry/cairn/static"
	"github.com/cairn-registry/cairn/tokens"
)

// Deps is what the router needs from the rest of the program.
type Deps struct {
	Log       *slog.Logger
	PublicURL string
	// Ready lists the dependencies /readyz checks, by name.
	Ready map[string]Pinger
	// Resolver turns request credentials into principals.
	Resolver *tokens.Resolver
	// Projects is the tenancy service.
	Projects *projects.Service
	// Modules is the module registry.
	Modules *modules.Service
	// Signer signs archive download URLs.
	Signer *tokens.DownloadSigner
}

func init() { gin.SetMode(gin.ReleaseMode) }

// New builds the router for every surface.
func New(d Deps) http.Handler {
	r := gin.New()
	r.RedirectTrailingSlash = false
	r.RedirectFixedPath = false
	// Route on the raw path so GitLab's URL-encoded ids (acme%2Fvpc) stay
	// one segment; path values are still unescaped (UnescapePathValues).
	r.UseRawPath = true
	r.HandleMethodNotAllowed = true
	r.ContextWithFallback = true
	r.Use(requestID(d.Log), accessLog(), recovery())

	r.GET("/healthz", healthz)
	r.HEAD("/healthz", healthz)
	r.GET("/readyz", readyz(d.Ready))
	r.HEAD("/readyz", readyz(d.Ready))
	r.GET("/", index(d))
	r.StaticFS("/static", http.FS(static.FS))

	auth := authenticate(d.Resolver, "cairn")
	mods := &moduleAPI{svc: d.Modules, signer: d.Signer, publicURL: d.PublicURL}
	registerModuleProtocol(r, auth, mods)
	registerRegistryCatalog(r, auth, d)
	registerTerraregModules(r, auth, d)
	registerTerraregAdmin(r, auth, d)

	api := r.Group("/api/v4", auth)
	registerGitLabModules(api, mods)
	registerGitLabAPI(api, d)

	r.NoRoute(func(c *gin.Context) { c.JSON(http.StatusNotFound, gin.H{"message": "404 Not Found"}) })
	r.NoMethod(func(c *gin.Context) { c.JSON(http.StatusMethodNotAllowed, gin.H{"message": "405 Method Not Allowed"}) })
	return r
}
