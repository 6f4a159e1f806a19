package terrareg

import (
	"net/http"
	"runtime/debug"
	"slices"
	"strconv"
	"strings"

	"github.com/gin-gonic/gin"

	"github.com/cairn-registry/cairn/handlers/middleware"
	"github.com/cairn-registry/cairn/handlers/paging"
	"github.com/cairn-registry/cairn/modules"
	"github.com/cairn-registry/cairn/policies"
	"github.com/cairn-registry/cairn/providers"
)

// outline is a module in Terrareg's lists and search answers: its latest
// version's outline (ModuleVersion.get_api_outline). owner, description and
// source are null when unset; downloads counts that version's downloads;
// version_compatibility is there when target_terraform_version is given.
type outline struct {
	ID          string  `json:"id"`
	Owner       *string `json:"owner"`
	Namespace   string  `json:"namespace"`
	Name        string  `json:"name"`
	Version     string  `json:"version"`
	Provider    string  `json:"provider"`
	Description *string `json:"description"`
	Source      *string `json:"source"`
	PublishedAt *string `json:"published_at"`
	Downloads   int64   `json:"downloads"`
	Verified    bool    `json:"verified"`
	Trusted     bool    `json:"trusted"`
	Internal    bool    `json:"internal"`
	trmProviderSource
	VersionCompatibility string `json:"version_compatibility,omitempty"`
}

// outlineOf writes o for the wire with its version's figures; target is
// target_terraform_version ("" for none).
func outlineOf(o modules.Outline, f modules.VersionFigures, target string) outline {
	out := outline{
		ID:          o.Namespace + "/" + o.Name + "/" + o.System + "/" + o.Version,
		Owner:       trmOptional(o.Owner),
		Namespace:   o.Namespace,
		Name:        o.Name,
		Version:     o.Version,
		Provider:    o.System,
		Description: trmOptional(o.Description),
		Source:      trmOptional(f.SourceURL),
		PublishedAt: trmTime(o.PublishedAt),
		Downloads:   f.Downloads,
		Verified:    f.Verified,
	}
	if target != "" {
		out.VersionCompatibility = versionCompatibility(f.RequiredVersion, target)
	}
	return out
}

// outlines writes a list's modules for the wire.
func (t *catalog) outlines(c *gin.Context, ms []modules.Outline) ([]outline, error) {
	figures, err := outlineFigures(c.Request.Context(), t.svc, ms)
	if err != nil {
		return nil, err
	}
	target := c.Query("target_terraform_version")
	out := make([]outline, 0, len(ms))
	for _, m := range ms {
		out = append(out, outlineOf(m, figures[m.VersionID], target))
	}
	return out, nil
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
	api  *API // for the providers, when served
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
	list, err := t.outlines(c, page.Modules)
	if err != nil {
		writeError(c, err)
		return
	}
	body := gin.H{"meta": paging.Meta(c, page, false), "modules": list}
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
	list, err := t.outlines(c, page.Modules)
	if err != nil {
		writeError(c, err)
		return
	}
	c.JSON(http.StatusOK, gin.H{"meta": paging.Meta(c, page, false), "modules": list})
}

// namespaces is GET /v1/terrareg/namespaces: [{"name", "view_href",
// "display_name"}], or {"meta", "namespaces"} when limit is given (offset
// alone keeps the list form, as in Terrareg). type=module (the default)
// lists the top-level groups the caller may see, only those holding a
// module the caller may read with only_published=true; type=provider the
// namespaces holding a provider the caller may read (with a release when
// only_published=true), view_href under /providers.
func (t *catalog) namespaces(c *gin.Context) {
	typ := c.DefaultQuery("type", "module")
	if typ != "module" && typ != "provider" {
		c.AbortWithStatusJSON(http.StatusBadRequest, gin.H{"errors": []string{"Invalid type argument"}})
		return
	}
	onlyPublished, msg := paging.Bool(c, "only_published")
	if msg != "" {
		badRequest(c, msg)
		return
	}
	_, paged := c.GetQuery("limit")
	q, msg := terraregParams(c)
	if msg != "" {
		badRequest(c, msg)
		return
	}
	offset, limit := max(q.Offset, 0), max(q.Limit, 1)
	if !paged {
		offset, limit = 0, 0
	}
	ctx, p := c.Request.Context(), middleware.Principal(c)
	published := onlyPublished != nil && *onlyPublished
	var nss []modules.Namespace
	var total int
	var err error
	switch {
	case typ == "provider":
		nss, err = t.providerNamespaces(c, published)
		total = len(nss)
		nss = nss[min(offset, len(nss)):]
		if limit > 0 {
			nss = nss[:min(limit, len(nss))]
		}
	case published:
		nss, total, err = t.svc.Namespaces(ctx, p, offset, limit)
	default:
		nss, total, err = t.svc.VisibleNamespaces(ctx, p, offset, limit)
	}
	if err != nil {
		writeError(c, err)
		return
	}
	list := []gin.H{}
	for _, ns := range nss {
		var display *string
		if ns.DisplayName != "" {
			display = &ns.DisplayName
		}
		list = append(list, gin.H{"name": ns.Name, "view_href": "/" + typ + "s/" + ns.Name, "display_name": display})
	}
	if !paged {
		c.JSON(http.StatusOK, list)
		return
	}
	page := modules.Page{Offset: offset, Limit: limit, More: offset+limit < total}
	c.JSON(http.StatusOK, gin.H{"meta": paging.Meta(c, page, false), "namespaces": list})
}

// providerNamespaces are the namespaces of the providers the caller may
// read (with a release when published), by name; none when Cairn serves
// no providers.
func (t *catalog) providerNamespaces(c *gin.Context, published bool) ([]modules.Namespace, error) {
	if t.api == nil || t.api.providers == nil {
		return []modules.Namespace{}, nil
	}
	prs, err := t.api.providers.svc.List(c.Request.Context(), middleware.Principal(c), providers.ListQuery{})
	if err != nil {
		return nil, err
	}
	out := []modules.Namespace{}
	seen := map[string]bool{}
	for _, pr := range prs {
		if seen[pr.Namespace] {
			continue
		}
		if _, ok := pr.Latest(); published && !ok {
			continue
		}
		seen[pr.Namespace] = true
		out = append(out, modules.Namespace{Name: pr.Namespace})
	}
	slices.SortFunc(out, func(a, b modules.Namespace) int {
		return strings.Compare(strings.ToLower(a.Name), strings.ToLower(b.Name))
	})
	return out, nil
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
		list, err := t.outlines(c, []modules.Outline{o})
		if err != nil {
			writeError(c, err)
			return
		}
		c.JSON(http.StatusOK, list[0])
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
// describing Cairn. Modules are hosted (uploaded archives), so no custom
// git URLs; no trusted namespaces (labels are Terrareg's defaults);
// analytics tokens are recorded (modules/analytics.go); no Terrareg API
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
		"DISABLE_ANALYTICS":                    false,
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
