// Package catalog serves the module registry protocol's list, search and
// details endpoints ("extended" endpoints, used by Renovate, IDEs and
// go-tfe) at /v1/modules/ and the Terraform Enterprise mount.
// https://developer.hashicorp.com/terraform/registry/api-docs
package catalog

import (
	"net/http"
	"time"

	"github.com/gin-gonic/gin"

	"github.com/cairn-registry/cairn/handlers/middleware"
	"github.com/cairn-registry/cairn/handlers/paging"
	"github.com/cairn-registry/cairn/modules"
	"github.com/cairn-registry/cairn/policies"
)

// Page sizes of the registry protocol's lists: HashiCorp's public registry
// defaults to 15; Cairn caps a page at modules.MaxPageSize.
const registryPageSize = 15

// API serves the catalog.
//
// Lists and searches show only modules the caller may read (the filtering
// is in SQL, modules.Service.Search). Lookups go through modules.Service.Find,
// so refusals match the download endpoints: anonymous callers get 401 for
// what they cannot see, others 404. Cairn verifies no modules: verified is
// always false and verified=true lists nothing.
type API struct {
	svc  *modules.Service
	site middleware.Site
}

// Mounts of the catalog: the registry's and Terraform Enterprise's.
const (
	modulesV1Base = "/v1/modules"
	tfeV1Base     = "/api/registry/v1/modules"
)

// New returns the catalog surface.
func New(svc *modules.Service, site middleware.Site) *API {
	return &API{svc: svc, site: site}
}

// Register mounts the module list, search and details endpoints.
func (rc *API) Register(r gin.IRouter, auth gin.HandlerFunc) {
	for _, base := range []string{modulesV1Base, tfeV1Base} {
		g := r.Group(base, auth)
		g.GET("", rc.list)
		g.GET("/", rc.list)
		g.GET("/search", rc.search)
		g.GET("/:ns", rc.namespace)
		g.GET("/:ns/:name", rc.providers)
		g.GET("/:ns/:name/:system", rc.details)
		g.GET("/:ns/:name/:system/:version", rc.details)
		g.GET("/:ns/:name/:system/downloads/summary", rc.downloadSummary)
	}
	// Terrareg also answers its listing's paths with a trailing slash.
	g := r.Group(modulesV1Base, auth)
	g.GET("/search/", rc.search)
	g.GET("/:ns/", rc.namespace)
	g.GET("/:ns/:name/", rc.providers)
	g.GET("/:ns/:name/:system/", rc.details)
	g.GET("/:ns/:name/:system/:version/", rc.details)
}

// catalogOutline is a module in list and search answers: the registry
// protocol's fields plus Terrareg's trusted and internal (Terrareg's own
// /v1/modules answers carry them). downloads counts the module's downloads,
// every version.
type catalogOutline struct {
	ID          string    `json:"id"`
	Owner       string    `json:"owner"`
	Namespace   string    `json:"namespace"`
	Name        string    `json:"name"`
	Version     string    `json:"version"`
	Provider    string    `json:"provider"`
	Description string    `json:"description"`
	Source      string    `json:"source"`
	PublishedAt time.Time `json:"published_at"`
	Downloads   int64     `json:"downloads"`
	Verified    bool      `json:"verified"`
	Trusted     bool      `json:"trusted"`
	Internal    bool      `json:"internal"`
}

// catalogOutlineOf writes o for the wire; source is the project's page, as
// in the protocol's versions answer.
func catalogOutlineOf(o modules.Outline, publicURL string) catalogOutline {
	return catalogOutline{
		ID:          o.Namespace + "/" + o.Name + "/" + o.System + "/" + o.Version,
		Owner:       o.Owner,
		Namespace:   o.Namespace,
		Name:        o.Name,
		Version:     o.Version,
		Provider:    o.System,
		Description: o.Description,
		Source:      publicURL + "/" + o.ProjectPath,
		PublishedAt: o.PublishedAt.UTC(),
		Downloads:   o.Downloads,
	}
}

func catalogOutlines(ms []modules.Outline, publicURL string) []catalogOutline {
	out := make([]catalogOutline, 0, len(ms))
	for _, m := range ms {
		out = append(out, catalogOutlineOf(m, publicURL))
	}
	return out
}

// writePage answers a list: {"meta", "modules"} (+ "count" when asked).
func (rc *API) writePage(c *gin.Context, q modules.SearchQuery) {
	page, err := rc.svc.Search(c.Request.Context(), middleware.Principal(c), q)
	if err != nil {
		writeError(c, err)
		return
	}
	body := gin.H{"meta": paging.Meta(c, page, true), "modules": catalogOutlines(page.Modules, rc.site.URL)}
	if q.WithTotal && page.Total >= 0 {
		body["count"] = page.Total
	}
	c.JSON(http.StatusOK, body)
}

// list is GET /v1/modules: every module the caller may read, by address;
// provider and verified narrow it.
func (rc *API) list(c *gin.Context) {
	q, msg := paging.Args(c, registryPageSize, modules.MaxPageSize)
	if msg != "" {
		badRequest(c, msg)
		return
	}
	q.Namespaces = nil
	rc.writePage(c, q)
}

// search is GET /v1/modules/search?q=: modules matching q, most relevant
// first (modules.Service.Search); namespace, provider and verified narrow
// it. q is required; a blank q lists every module, as Terrareg's UI expects.
func (rc *API) search(c *gin.Context) {
	text, ok := c.GetQuery("q")
	if !ok {
		badRequest(c, "q is required")
		return
	}
	q, msg := paging.Args(c, registryPageSize, modules.MaxPageSize)
	if msg != "" {
		badRequest(c, msg)
		return
	}
	q.Q = text
	rc.writePage(c, q)
}

// namespace is GET /v1/modules/:ns: the namespace's modules. A namespace
// without a module the caller may read does not exist for them.
func (rc *API) namespace(c *gin.Context) {
	rc.narrowed(c, modules.SearchQuery{Namespaces: []string{c.Param("ns")}})
}

// providers is GET /v1/modules/:ns/:name: the latest version of each
// provider (system) of the module.
func (rc *API) providers(c *gin.Context) {
	rc.narrowed(c, modules.SearchQuery{Namespaces: []string{c.Param("ns")}, Name: c.Param("name")})
}

// narrowed lists the modules of one namespace (and name); nothing readable
// there is a lookup refusal.
func (rc *API) narrowed(c *gin.Context, where modules.SearchQuery) {
	q, msg := paging.Args(c, registryPageSize, modules.MaxPageSize)
	if msg != "" {
		badRequest(c, msg)
		return
	}
	page, found, err := rc.svc.Narrowed(c.Request.Context(), middleware.Principal(c), q, where.Namespaces[0], where.Name)
	if err != nil {
		writeError(c, err)
		return
	}
	if !found {
		writeError(c, policies.NotFound(middleware.Principal(c)))
		return
	}
	body := gin.H{"meta": paging.Meta(c, page, true), "modules": catalogOutlines(page.Modules, rc.site.URL)}
	if q.WithTotal && page.Total >= 0 {
		body["count"] = page.Total
	}
	c.JSON(http.StatusOK, body)
}

// downloadSummary is GET /v1/modules/:ns/:name/:system/downloads/summary.
func (rc *API) downloadSummary(c *gin.Context) {
	mod, ok := rc.find(c)
	if !ok {
		return
	}
	sum, err := rc.svc.DownloadSummary(c.Request.Context(), mod.ID)
	if err != nil {
		writeError(c, err)
		return
	}
	c.JSON(http.StatusOK, gin.H{"data": gin.H{
		"type": "module-downloads-summary",
		"id":   mod.Namespace + "/" + mod.Name + "/" + mod.System,
		"attributes": gin.H{
			"week":  sum.Week,
			"month": sum.Month,
			"year":  sum.Year,
			"total": sum.Total,
		},
	}})
}

func (rc *API) find(c *gin.Context) (*modules.Module, bool) {
	mod, err := rc.svc.Find(c.Request.Context(), middleware.Principal(c), c.Param("ns"), c.Param("name"), c.Param("system"))
	if err != nil {
		writeError(c, err)
		return nil, false
	}
	return mod, true
}
