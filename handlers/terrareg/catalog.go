package terrareg

import (
	"net/http"
	"runtime/debug"
	"strconv"
	"time"

	"github.com/gin-gonic/gin"

	"github.com/cairn-registry/cairn/handlers/middleware"
	"github.com/cairn-registry/cairn/handlers/paging"
	"github.com/cairn-registry/cairn/modules"
	"github.com/cairn-registry/cairn/policies"
)

// outline is a module in Terrareg's lists and search answers: the
// registry's outline plus Terrareg's trusted and internal. downloads counts
// the module's downloads, every version.
type outline struct {
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

// outlineOf writes o for the wire; source is the project's page.
func outlineOf(o modules.Outline, publicURL string) outline {
	return outline{
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

func outlinesOf(ms []modules.Outline, publicURL string) []outline {
	out := make([]outline, 0, len(ms))
	for _, m := range ms {
		out = append(out, outlineOf(m, publicURL))
	}
	return out
}

// Terrareg's default page size, and its largest.
const (
	terraregPageSize    = 10
	terraregMaxPageSize = 50
)

// catalog serves Terrareg's catalog endpoints: namespaces, module
// lists and search, search filters, the homepage analytics, health, version
// and UI config.
// https://github.com/MatthewJohn/terrareg (terrareg/server/api/*.py)
//
// Everything listed or counted is what the caller may read
// (modules.Service applies the scope in SQL). Cairn differs from Terrareg
// where it has no such concept: no module is verified, no namespace trusted
// (every module is "contributed"), none internal; namespaces are the
// top-level groups holding at least one module the caller may read (as
// Terrareg's only_published=true), and module lists skip modules without a
// version.
type catalog struct {
	svc  *modules.Service
	site middleware.Site
}

func (t *catalog) register(r gin.IRouter, auth gin.HandlerFunc) {
	r.GET("/v1/terrareg/health", t.health)
	r.GET("/v1/terrareg/version", t.version)
	r.GET("/v1/terrareg/config", t.config)

	g := r.Group("/v1/terrareg", auth)
	g.GET("/namespaces", t.namespaces)
	g.GET("/modules/search", t.search)
	g.GET("/modules/search/filters", t.filters)
	g.GET("/search_filters", t.filters) // deprecated by Terrareg, still served
	g.GET("/modules/:ns", t.namespaceModules)
	g.GET("/modules/:ns/:name", t.moduleProviders)
	g.GET("/analytics/global/stats_summary", t.statsSummary)
	g.GET("/analytics/global/most_recently_published_module_version", t.mostRecent)
	g.GET("/analytics/global/most_downloaded_module_provider_this_week", t.mostDownloaded)
}

// terraregParams reads Terrareg's list arguments (paging.Args) with its
// page size: 10 by default, at most 50.
func terraregParams(c *gin.Context) (modules.SearchQuery, string) {
	return paging.Args(c, terraregPageSize, terraregMaxPageSize)
}

// outlines writes modules for Terrareg's lists.
func (t *catalog) outlines(ms []modules.Outline) []outline {
	return outlinesOf(ms, t.site.URL)
}

// search is GET /v1/terrareg/modules/search: Terrareg's module search with
// its arguments (q, offset, limit, namespace, provider, verified,
// trusted_namespaces, contributed, include_count). q is required; blank
// lists every module.
func (t *catalog) search(c *gin.Context) {
	text, ok := c.GetQuery("q")
	if !ok {
		c.AbortWithStatusJSON(http.StatusBadRequest, gin.H{"errors": []string{"q is required"}})
		return
	}
	q, msg := terraregParams(c)
	if msg != "" {
		badRequest(c, msg)
		return
	}
	q.Q = text
	page, err := t.svc.Search(c.Request.Context(), middleware.Principal(c), q)
	if err != nil {
		writeError(c, err)
		return
	}
	body := gin.H{"meta": paging.Meta(c, page, false), "modules": t.outlines(page.Modules)}
	if q.WithTotal && page.Total >= 0 {
		body["count"] = page.Total
	}
	c.JSON(http.StatusOK, body)
}

// namespaceModules is GET /v1/terrareg/modules/:ns: the namespace's modules,
// by name. A namespace without a module the caller may read is 404.
func (t *catalog) namespaceModules(c *gin.Context) {
	t.narrowed(c, c.Param("ns"), "")
}

// moduleProviders is GET /v1/terrareg/modules/:ns/:name: the providers
// (systems) of one module.
func (t *catalog) moduleProviders(c *gin.Context) {
	t.narrowed(c, c.Param("ns"), c.Param("name"))
}

func (t *catalog) narrowed(c *gin.Context, ns, name string) {
	q, msg := terraregParams(c)
	if msg != "" {
		badRequest(c, msg)
		return
	}
	page, found, err := t.svc.Narrowed(c.Request.Context(), middleware.Principal(c), q, ns, name)
	if err != nil {
		writeError(c, err)
		return
	}
	if !found {
		writeError(c, policies.NotFound(middleware.Principal(c)))
		return
	}
	c.JSON(http.StatusOK, gin.H{"meta": paging.Meta(c, page, false), "modules": t.outlines(page.Modules)})
}

// namespaces is GET /v1/terrareg/namespaces: [{"name", "view_href",
// "display_name"}], or {"meta", "namespaces"} when offset or limit is given
// (limit then defaults to 10). type=provider lists nothing: Cairn hosts no
// providers.
func (t *catalog) namespaces(c *gin.Context) {
	typ := c.DefaultQuery("type", "module")
	if typ != "module" && typ != "provider" {
		c.AbortWithStatusJSON(http.StatusBadRequest, gin.H{"errors": []string{"Invalid type argument"}})
		return
	}
	_, hasOffset := c.GetQuery("offset")
	_, hasLimit := c.GetQuery("limit")
	paged := hasOffset || hasLimit
	q, msg := terraregParams(c)
	if msg != "" {
		badRequest(c, msg)
		return
	}
	offset, limit := max(q.Offset, 0), max(q.Limit, 1)
	list := []gin.H{}
	total := 0
	if typ == "module" {
		ctx, p := c.Request.Context(), middleware.Principal(c)
		var err error
		var nss []modules.Namespace
		if paged {
			nss, total, err = t.svc.Namespaces(ctx, p, offset, limit)
		} else {
			nss, total, err = t.svc.Namespaces(ctx, p, 0, 0)
		}
		if err != nil {
			writeError(c, err)
			return
		}
		for _, ns := range nss {
			list = append(list, gin.H{"name": ns.Name, "view_href": "/modules/" + ns.Name, "display_name": ns.DisplayName})
		}
	}
	if !paged {
		c.JSON(http.StatusOK, list)
		return
	}
	page := modules.Page{Offset: offset, Limit: limit, More: offset+limit < total}
	c.JSON(http.StatusOK, gin.H{"meta": paging.Meta(c, page, false), "namespaces": list})
}

// filters is GET /v1/terrareg/modules/search/filters?q= (and the deprecated
// /v1/terrareg/search_filters): how many modules a search for q finds, per
// namespace and provider, and per Terrareg kind (verified, trusted
// namespaces, contributed). q is required; blank counts every module.
func (t *catalog) filters(c *gin.Context) {
	text, ok := c.GetQuery("q")
	if !ok {
		c.AbortWithStatusJSON(http.StatusBadRequest, gin.H{"errors": []string{"q is required"}})
		return
	}
	f, err := t.svc.Facets(c.Request.Context(), middleware.Principal(c), text)
	if err != nil {
		writeError(c, err)
		return
	}
	c.JSON(http.StatusOK, gin.H{
		"verified":           0,
		"trusted_namespaces": 0,
		"contributed":        f.Total,
		"providers":          f.Providers,
		"namespaces":         f.Namespaces,
	})
}

// statsSummary is GET /v1/terrareg/analytics/global/stats_summary, over
// what the caller may read.
func (t *catalog) statsSummary(c *gin.Context) {
	s, err := t.svc.Stats(c.Request.Context(), middleware.Principal(c))
	if err != nil {
		writeError(c, err)
		return
	}
	c.JSON(http.StatusOK, gin.H{"namespaces": s.Namespaces, "modules": s.Modules, "module_versions": s.ModuleVersions,
		"downloads": s.Downloads})
}

// mostRecent is GET .../most_recently_published_module_version: the outline
// of the module whose latest version was published last; {} and 404 when
// there is none, as Terrareg answers.
func (t *catalog) mostRecent(c *gin.Context) {
	o, ok, err := t.svc.MostRecentlyPublished(c.Request.Context(), middleware.Principal(c))
	t.writeOne(c, o, ok, err)
}

// mostDownloaded is GET .../most_downloaded_module_provider_this_week: the
// outline of the module downloaded most in the last seven days; {} and 404
// when nothing was downloaded.
func (t *catalog) mostDownloaded(c *gin.Context) {
	o, ok, err := t.svc.MostDownloadedThisWeek(c.Request.Context(), middleware.Principal(c))
	t.writeOne(c, o, ok, err)
}

func (t *catalog) writeOne(c *gin.Context, o modules.Outline, ok bool, err error) {
	switch {
	case err != nil:
		writeError(c, err)
	case !ok:
		c.JSON(http.StatusNotFound, gin.H{})
	default:
		c.JSON(http.StatusOK, outlineOf(o, t.site.URL))
	}
}

// health is GET /v1/terrareg/health.
func (t *catalog) health(c *gin.Context) {
	c.JSON(http.StatusOK, gin.H{"message": "Ok"})
}

// version is GET /v1/terrareg/version: "cairn" and what the Go toolchain
// recorded of the build (the module version, else the VCS revision), since
// the version given to the binary at link time is not known here.
func (t *catalog) version(c *gin.Context) {
	c.JSON(http.StatusOK, gin.H{"version": cairnBuildVersion()})
}

func cairnBuildVersion() string {
	bi, ok := debug.ReadBuildInfo()
	if !ok {
		return "cairn"
	}
	if v := bi.Main.Version; v != "" && v != "(devel)" {
		return "cairn " + v
	}
	rev, dirty := "", false
	for _, s := range bi.Settings {
		switch s.Key {
		case "vcs.revision":
			rev = s.Value
		case "vcs.modified":
			dirty, _ = strconv.ParseBool(s.Value)
		}
	}
	if rev == "" {
		return "cairn (devel)"
	}
	if len(rev) > 12 {
		rev = rev[:12]
	}
	if dirty {
		rev += "-dirty"
	}
	return "cairn " + rev
}

// config is GET /v1/terrareg/config: the settings Terrareg's UI reads,
// describing Cairn. Modules are hosted (uploaded archives) only, so no git
// providers or custom git URLs; no trusted namespaces or verified modules
// (labels are Terrareg's defaults); no analytics tokens; no Terrareg API
// keys, SSO or SAML logins (Cairn authenticates with its own tokens);
// publishing creates the module provider but never the namespace.
func (t *catalog) config(c *gin.Context) {
	c.JSON(http.StatusOK, gin.H{
		"TRUSTED_NAMESPACE_LABEL":              "Trusted",
		"CONTRIBUTED_NAMESPACE_LABEL":          "Contributed",
		"VERIFIED_MODULE_LABEL":                "Verified",
		"ANALYTICS_TOKEN_PHRASE":               "analytics token",
		"ANALYTICS_TOKEN_DESCRIPTION":          "",
		"EXAMPLE_ANALYTICS_TOKEN":              "my-tf-application",
		"DISABLE_ANALYTICS":                    true,
		"ALLOW_MODULE_HOSTING":                 "enforce",
		"UPLOAD_API_KEYS_ENABLED":              false,
		"PUBLISH_API_KEYS_ENABLED":             false,
		"DISABLE_TERRAREG_EXCLUSIVE_LABELS":    false,
		"ALLOW_CUSTOM_GIT_URL_MODULE_PROVIDER": false,
		"ALLOW_CUSTOM_GIT_URL_MODULE_VERSION":  false,
		"SECRET_KEY_SET":                       true,
		"ADDITIONAL_MODULE_TABS":               "[]",
		"OPENID_CONNECT_ENABLED":               false,
		"OPENID_CONNECT_LOGIN_TEXT":            "",
		"PROVIDER_SOURCES":                     []any{},
		"SAML_ENABLED":                         false,
		"SAML_LOGIN_TEXT":                      "",
		"ADMIN_LOGIN_ENABLED":                  false,
		"AUTO_CREATE_NAMESPACE":                false,
		"AUTO_CREATE_MODULE_PROVIDER":          true,
		"DEFAULT_UI_DETAILS_VIEW":              "table",
	})
}
