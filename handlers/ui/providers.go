package ui

import (
	"net/http"
	"net/url"
	"strings"

	"github.com/gin-gonic/gin"

	"github.com/cairn-registry/cairn/handlers/middleware"
	"github.com/cairn-registry/cairn/modules/markdown"
	"github.com/cairn-registry/cairn/modules/version"
	"github.com/cairn-registry/cairn/providers"
	"github.com/cairn-registry/cairn/views"
)

// registerProviders mounts the provider pages and the GPG keys of a
// namespace's settings page (a middleware, ahead of manageDispatch).
func (u *UI) registerProviders(r *gin.Engine) {
	if u.providers == nil {
		return
	}
	r.Use(u.gpgKeysDispatch)
	r.GET("/providers", u.providerList)
	r.GET("/providers/:ns/:type", u.providerLatest)
	r.GET("/providers/:ns/:type/:version", u.providerVersion)
	r.GET("/providers/:ns/:type/:version/docs/:category/:slug", u.providerDoc)
}

// providerList is /providers: the providers the viewer may read that have a
// complete release, searched by "namespace/type" (?q=).
func (u *UI) providerList(c *gin.Context) {
	q := strings.TrimSpace(c.Query("q"))
	list, err := u.providers.List(c.Request.Context(), middleware.Principal(c), providers.ListQuery{Q: q})
	if err != nil {
		writeError(c, err)
		return
	}
	page := views.ProviderListPage{Q: q}
	for _, pr := range list {
		if v, ok := pr.Latest(); ok {
			page.Providers = append(page.Providers, views.ProviderCard{Namespace: pr.Namespace, Type: pr.Name, Latest: v.Version,
				PublishedAt: v.CreatedAt, Platforms: len(v.UploadedPlatforms())})
		}
	}
	render(c, http.StatusOK, views.Providers(u.chrome(c, "Providers"), page))
}

// findProvider resolves :ns/:type and a complete version ("" for the
// latest) as the viewer; missing, hidden and incomplete answer the same
// 404 page.
func (u *UI) findProvider(c *gin.Context, ver string) (*providers.Provider, providers.Version, bool) {
	pr, err := u.providers.Find(c.Request.Context(), middleware.Principal(c), c.Param("ns"), c.Param("type"))
	if err != nil {
		writeError(c, err)
		return nil, providers.Version{}, false
	}
	var v providers.Version
	var ok bool
	if ver == "" {
		v, ok = pr.Latest()
	} else {
		v, ok = pr.Version(ver)
		ok = ok && v.Complete()
	}
	if !ok {
		NotFound(c)
		return nil, providers.Version{}, false
	}
	return pr, v, true
}

// providerLatest is /providers/:ns/:type: the latest release, or — for the
// version picker without scripts — a redirect to ?version's page.
func (u *UI) providerLatest(c *gin.Context) {
	if want := c.Query("version"); want != "" {
		pr, v, ok := u.findProvider(c, want)
		if !ok {
			return
		}
		c.Redirect(http.StatusSeeOther, views.ProviderURL(pr.Namespace, pr.Name)+"/"+url.PathEscape(v.Version))
		return
	}
	pr, v, ok := u.findProvider(c, "")
	if ok {
		u.providerPage(c, pr, v)
	}
}

// providerVersion is /providers/:ns/:type/:version.
func (u *UI) providerVersion(c *gin.Context) {
	pr, v, ok := u.findProvider(c, c.Param("version"))
	if ok {
		u.providerPage(c, pr, v)
	}
}

func (u *UI) providerPage(c *gin.Context, pr *providers.Provider, v providers.Version) {
	latest, _ := pr.Latest()
	page := views.ProviderPage{Namespace: pr.Namespace, Type: pr.Name, Version: v.Version, Latest: v.ID == latest.ID,
		PublishedAt: v.CreatedAt, Base: views.ProviderURL(pr.Namespace, pr.Name), ProjectPath: pr.ProjectPath,
		Protocols: v.Protocols, KeyID: v.KeyID, Usage: u.providerUsage(pr, v.Version)}
	if pv, err := version.Parse(v.Version); err == nil {
		page.Prerelease = pv.IsPrerelease()
	}
	for _, x := range pr.CompleteVersions() {
		opt := views.VersionOption{Version: x.Version, Latest: x.ID == latest.ID}
		if pv, err := version.Parse(x.Version); err == nil {
			opt.Prerelease = pv.IsPrerelease()
		}
		page.Versions = append(page.Versions, views.ProviderVersionRow{VersionOption: opt, PublishedAt: x.CreatedAt,
			Platforms: len(x.UploadedPlatforms())})
	}
	for _, pl := range v.UploadedPlatforms() {
		page.Platforms = append(page.Platforms, views.ProviderPlatform{OS: pl.OS, Arch: pl.Arch, Filename: pl.Filename, Sha256: pl.Sha256})
	}
	key, ok, err := u.providers.SigningKey(c.Request.Context(), pr, v)
	if err != nil {
		writeError(c, err)
		return
	}
	if ok {
		page.KeyArmor = key.ASCIIArmor
	}
	docs, err := u.providers.Docs(c.Request.Context(), middleware.Principal(c), v.ID)
	if err != nil {
		writeError(c, err)
		return
	}
	page.Docs = providerDocGroups(pr, v, docs)
	render(c, http.StatusOK, views.Provider(u.chrome(c, page.Title()), page))
}

var docCategoryLabels = map[string]string{"overview": "Overview", "guides": "Guides", "resources": "Resources",
	"data-sources": "Data sources", "functions": "Functions"}

// providerDocGroups groups a release's docs by category, in display order.
func providerDocGroups(pr *providers.Provider, v providers.Version, docs []providers.Doc) []views.ProviderDocGroup {
	var out []views.ProviderDocGroup
	for _, cat := range providers.DocCategories {
		g := views.ProviderDocGroup{Label: docCategoryLabels[cat]}
		for _, d := range docs {
			if d.Category == cat {
				g.Docs = append(g.Docs, views.ProviderDocLink{Title: d.Title, Subcategory: d.Subcategory,
					URL: views.ProviderDocURL(pr.Namespace, pr.Name, v.Version, d.Category, d.Slug)})
			}
		}
		if len(g.Docs) > 0 {
			out = append(out, g)
		}
	}
	return out
}

// providerDoc is /providers/:ns/:type/:version/docs/:category/:slug: one
// doc of a release, rendered by the sanitising markdown renderer.
func (u *UI) providerDoc(c *gin.Context) {
	pr, v, ok := u.findProvider(c, c.Param("version"))
	if !ok {
		return
	}
	ctx, p := c.Request.Context(), middleware.Principal(c)
	docs, err := u.providers.Docs(ctx, p, v.ID)
	if err != nil {
		writeError(c, err)
		return
	}
	for _, d := range docs {
		if d.Category != c.Param("category") || d.Slug != c.Param("slug") {
			continue
		}
		_, _, full, err := u.providers.Doc(ctx, p, d.ID)
		if err != nil {
			writeError(c, err)
			return
		}
		html, err := markdown.Render([]byte(full.Body()))
		if err != nil {
			writeError(c, err)
			return
		}
		base := views.ProviderURL(pr.Namespace, pr.Name)
		page := views.ProviderDocPage{Namespace: pr.Namespace, Type: pr.Name, Version: v.Version, Base: base,
			Release: base + "/" + views.EscapePath(v.Version), Self: views.ProviderDocURL(pr.Namespace, pr.Name, v.Version, d.Category, d.Slug),
			Category: docCategoryLabels[d.Category], Title: d.Title, Subcategory: d.Subcategory, HTML: string(html),
			OwnH1: strings.Contains(string(html), "<h1")}
		render(c, http.StatusOK, views.ProviderDoc(u.chrome(c, d.Title+" · "+pr.Namespace+"/"+pr.Name+" "+v.Version), page))
		return
	}
	NotFound(c)
}

// providerUsage is the required_providers block pinning the release.
func (u *UI) providerUsage(pr *providers.Provider, ver string) string {
	return "terraform {\n  required_providers {\n    " + pr.Name + " = {\n      source  = " +
		views.HCLString(u.site.TerraformHost+"/"+pr.Namespace+"/"+pr.Name) + "\n      version = " + views.HCLString(ver) +
		"\n    }\n  }\n}\n"
}
