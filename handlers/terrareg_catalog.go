package handlers

import (
	"errors"
	"net/http"
	"runtime/debug"
	"strconv"

	"github.com/gin-gonic/gin"

	"github.com/cairn-registry/cairn/modules"
	"github.com/cairn-registry/cairn/policies"
)

// Terrareg's default page size, and its largest.
const (
	terraregPageSize    = 10
	terraregMaxPageSize = 50
)

// terraregCatalog serves Terrareg's catalog endpoints: namespaces, module
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
type terraregCatalog struct {
	svc       *modules.Service
	publicURL string
}

func registerTerraregCatalog(r *gin.Engine, auth gin.HandlerFunc, d Deps) {
	t := &terraregCatalog{svc: d.Modules, publicURL: d.PublicURL}
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

// terraregError answers a failure: Terrareg's 404 for what does not exist
// for the caller (401 with a challenge when anonymous, Cairn's rule), its
// 400 for bad arguments.
func terraregError(c *gin.Context, err error) {
	switch {
	case errors.Is(err, policies.ErrUnauthenticated):
		unauthorized(c, "cairn")
	case errors.Is(err, policies.ErrNotFound):
		c.AbortWithStatusJSON(http.StatusNotFound, gin.H{"errors": []string{"Not Found"}})
	default:
		Logger(c).Error("terrareg catalog request failed", "error", err)
		c.AbortWithStatusJSON(http.StatusInternalServerError, gin.H{"message": "Internal Server Error"})
	}
}

func terraregBadRequest(c *gin.Context, msg string) {
	c.AbortWithStatusJSON(http.StatusBadRequest, gin.H{"message": msg})
}

// terraregParams reads Terrareg's list arguments (catalogParams) with its
// page size: 10 by default, at most 50.
func terraregParams(c *gin.Context) (modules.SearchQuery, string) {
	q, msg := catalogParams(c, terraregPageSize)
	q.Limit = min(q.Limit, terraregMaxPageSize)
	return q, msg
}

// outlines writes modules for Terrareg's lists.
func (t *terraregCatalog) outlines(ms []modules.Outline) []catalogOutline {
	return catalogOutlines(ms, t.publicURL)
}

// search is GET /v1/terrareg/modules/search: Terrareg's module search with
// its arguments (q, offset, limit, namespace, provider, verified,
// trusted_namespaces, contributed, include_count). q is required; blank
// lists every module.
func (t *terraregCatalog) search(c *gin.Context) {
	text, ok := c.GetQuery("q")
	if !ok {
		c.AbortWithStatusJSON(http.StatusBadRequest, gin.H{"errors": []string{"q is required"}})
		return
	}
	q, msg := terraregParams(c)
	if msg != "" {
		terraregBadRequest(c, msg)
		return
	}
	q.Q = text
	page, err := t.svc.Search(c.Request.Context(), principal(c), q)
	if err != nil {
		terraregError(c, err)
		return
	}
	body := gin.H{"meta": catalogMeta(c, page, false), "modules": t.outlines(page.Modules)}
	if q.WithTotal && page.Total >= 0 {
		body["count"] = page.Total
	}
	c.JSON(http.StatusOK, body)
}

// namespaceModules is GET /v1/terrareg/modules/:ns: the namespace's modules,
// by name. A namespace without a module the caller may read is 404.
func (t *terraregCatalog) namespaceModules(c *gin.Context) {
	t.narrowed(c, c.Param("ns"), "")
}

// moduleProviders is GET /v1/terrareg/modules/:ns/:name: the providers
// (systems) of one module.
func (t *terraregCatalog) moduleProviders(c *gin.Context) {
	t.narrowed(c, c.Param("ns"), c.Param("name"))
}

func (t *terraregCatalog) narrowed(c *gin.Context, ns, name string) {
	q, msg := terraregParams(c)
	if msg != "" {
		terraregBadRequest(c, msg)
		return
	}
	page, found, err := catalogNarrowed(c, t.svc, q, modules.SearchQuery{Namespaces: []string{ns}, Name: name})
	if err != nil {
		terraregError(c, err)
		return
	}
	if !found {
		terraregError(c, policies.NotFound(principal(c)))
		return
	}
	c.JSON(http.StatusOK, gin.H{"meta": catalogMeta(c, page, false), "modules": t.outlines(page.Modules)})
}

// namespaces is GET /v1/terrareg/namespaces: [{"name", "view_href",
// "display_name"}], or {"meta", "namespaces"} when offset or limit is given
// (limit then defaults to 10). type=provider lists nothing: Cairn hosts no
// providers.
func (t *terraregCatalog) namespaces(c *gin.Context) {
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
		terraregBadRequest(c, msg)
		return
	}
	offset, limit := max(q.Offset, 0), max(q.Limit, 1)
	list := []gin.H{}
	total := 0
	if typ == "module" {
		ctx, p := c.Request.Context(), principal(c)
		var err error
		var nss []modules.Namespace
		if paged {
			nss, total, err = t.svc.Namespaces(ctx, p, offset, limit)
		} else {
			nss, total, err = t.svc.Namespaces(ctx, p, 0, 0)
		}
		if err != nil {
			terraregError(c, err)
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
	c.JSON(http.StatusOK, gin.H{"meta": catalogMeta(c, page, false), "namespaces": list})
}

// filters is GET /v1/terrareg/modules/search/filters?q= (and the deprecated
// /v1/terrareg/search_filters): how many modules a search for q finds, per
// namespace and provider, and per Terrareg kind (verified, trusted
// namespaces, contributed). q is required; blank counts every module.
func (t *terraregCatalog) filters(c *gin.Context) {
	text, ok := c.GetQuery("q")
	if !ok {
		c.AbortWithStatusJSON(http.StatusBadRequest, gin.H{"errors": []string{"q is required"}})
		return
	}
	f, err := t.svc.Facets(c.Request.Context(), principal(c), text)
	if err != nil {
		terraregError(c, err)
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
func (t *terraregCatalog) statsSummary(c *gin.Context) {
	s, err := t.svc.Stats(c.Request.Context(), principal(c))
	if err != nil {
		terraregError(c, err)
		return
	}
	c.JSON(http.StatusOK, gin.H{"namespaces": s.Namespaces, "modules": s.Modules, "module_versions": s.ModuleVersions,
		"downloads": s.Downloads})
}

// mostRecent is GET .../most_recently_published_module_version: the outline
// of the module whose latest version was published last; {} and 404 when
// there is none, as Terrareg answers.
func (t *terraregCatalog) mostRecent(c *gin.Context) {
	o, ok, err := t.svc.MostRecentlyPublished(c.Request.Context(), principal(c))
	t.writeOne(c, o, ok, err)
}

// mostDownloaded is GET .../most_downloaded_module_provider_this_week: the
// outline of the module downloaded most in the last seven days; {} and 404
// when nothing was downloaded.
func (t *terraregCatalog) mostDownloaded(c *gin.Context) {
	o, ok, err := t.svc.MostDownloadedThisWeek(c.Request.Context(), principal(c))
	t.writeOne(c, o, ok, err)
}

func (t *terraregCatalog) writeOne(c *gin.Context, o modules.Outline, ok bool, err error) {
	switch {
	case err != nil:
		terraregError(c, err)
	case !ok:
		c.JSON(http.StatusNotFound, gin.H{})
	default:
		c.JSON(http.StatusOK, catalogOutlineOf(o, t.publicURL))
	}
}

// health is GET /v1/terrareg/health.
func (t *terraregCatalog) health(c *gin.Context) {
	c.JSON(http.StatusOK, gin.H{"message": "Ok"})
}

// version is GET /v1/terrareg/version: "cairn" and what the Go toolchain
// recorded of the build (the module version, else the VCS revision), since
// the version given to the binary at link time is not known here.
func (t *terraregCatalog) version(c *gin.Context) {
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
func (t *terraregCatalog) config(c *gin.Context) {
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
