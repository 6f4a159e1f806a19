package terrareg

import (
	"net/http"
	"net/url"
	"strings"

	"github.com/gin-gonic/gin"

	"github.com/cairn-registry/cairn/handlers/middleware"
	"github.com/cairn-registry/cairn/modules"
)

// Terrareg's instance endpoints for its UI: git providers, the initial
// setup checklist and provider logos.
// https://github.com/MatthewJohn/terrareg
// (terrareg/server/api/terrareg_git_providers.py, terrareg_initial_setup_data.py,
// terrareg_provider_logos.py)

func (a *API) registerSetup(r gin.IRouter, auth gin.HandlerFunc) {
	t := a.catalog
	g := r.Group("/v1/terrareg", auth)
	g.GET("/git_providers", t.gitProviders)
	g.GET("/initial_setup", t.initialSetup)
	g.GET("/provider_logos", t.providerLogos)
}

// gitProviders is GET /v1/terrareg/git_providers: CAIRN_GIT_PROVIDERS as
// [{"id", "name", "git_path_template"}] (null when no git_path is set).
func (t *catalog) gitProviders(c *gin.Context) {
	out := []gin.H{}
	for _, g := range t.svc.GitProviders() {
		out = append(out, gin.H{"id": g.ID, "name": g.Name, "git_path_template": trmOptional(g.GitPath)})
	}
	c.JSON(http.StatusOK, out)
}

// initialSetup is GET /v1/terrareg/initial_setup: Terrareg's setup
// checklist, over what the caller may see. As in Terrareg, the first
// namespace (by name) and its first module decide everything but
// namespace_created; a module counts once it has a version the caller may
// read (Cairn's lists skip modules without one), and its versions include
// those awaiting publication when the caller maintains it.
func (t *catalog) initialSetup(c *gin.Context) {
	ctx, p := c.Request.Context(), middleware.Principal(c)
	body := gin.H{
		"namespace_created":          false,
		"module_created":             false,
		"version_indexed":            false,
		"version_published":          false,
		"module_configured_with_git": false,
		"module_view_url":            nil,
		"module_upload_endpoint":     nil,
		"module_publish_endpoint":    nil,
	}
	nss, _, err := t.svc.VisibleNamespaces(ctx, p, 0, 1)
	if err != nil {
		writeError(c, err)
		return
	}
	if len(nss) == 0 {
		c.JSON(http.StatusOK, body)
		return
	}
	body["namespace_created"] = true
	page, err := t.svc.Search(ctx, p, modules.SearchQuery{Namespaces: []string{strings.ToLower(nss[0].Name)}, Limit: 1})
	if err != nil {
		writeError(c, err)
		return
	}
	if len(page.Modules) == 0 {
		c.JSON(http.StatusOK, body)
		return
	}
	o := page.Modules[0]
	mod, err := t.svc.Find(ctx, p, o.Namespace, o.Name, o.System)
	if err != nil {
		writeError(c, err)
		return
	}
	id := url.PathEscape(mod.Namespace) + "/" + url.PathEscape(mod.Name) + "/" + url.PathEscape(mod.System)
	body["module_created"] = true
	body["module_view_url"] = "/modules/" + id
	body["module_upload_endpoint"] = trmBase + "/" + id + "/${version}/upload"
	body["module_publish_endpoint"] = trmBase + "/" + id + "/${version}/publish"
	versions := mod.SortedVersions()
	if len(mod.Unpublished) > 0 && t.svc.CanMaintain(p, mod) {
		versions = mod.WithUnpublished().SortedVersions()
	}
	if len(versions) > 0 {
		body["version_indexed"] = true
		body["version_published"] = versions[0].Published
	}
	st := mod.Settings
	body["module_configured_with_git"] = (st.RepoCloneURLTemplate != nil && *st.RepoCloneURLTemplate != "") || st.GitProviderID != nil
	c.JSON(http.StatusOK, body)
}

// providerLogos is GET /v1/terrareg/provider_logos: {provider: {"source",
// "alt", "tos", "link"}}. Terrareg's are the logo images it ships; Cairn
// ships none (they are other companies' trademarks), so the map is empty
// and Terrareg's UI shows no logo.
func (t *catalog) providerLogos(c *gin.Context) {
	c.JSON(http.StatusOK, gin.H{})
}
