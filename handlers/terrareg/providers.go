package terrareg

import (
	"net/http"
	"strconv"
	"strings"

	"github.com/gin-gonic/gin"

	"github.com/cairn-registry/cairn/errs"
	"github.com/cairn-registry/cairn/handlers/middleware"
	"github.com/cairn-registry/cairn/handlers/paging"
	"github.com/cairn-registry/cairn/providers"
)

// Terrareg's provider reads, from the same data as providers.v1 and the
// TFE API (providers.v1's versions and download routes are served by
// handlers/protocol at the same paths): lists, search, details, GPG keys.
// Provider docs are those uploaded with a release (cairn publish provider
// uploads its docs/ tree); a release without docs answers empty lists.

type terraregProviders struct {
	svc *providers.Service
}

// WithProviders adds Terrareg's provider reads.
func (a *API) WithProviders(svc *providers.Service) *API {
	a.providers = &terraregProviders{svc: svc}
	return a
}

func (a *API) registerProviders(r gin.IRouter, auth gin.HandlerFunc) {
	if a.providers != nil {
		a.providers.register(r, auth)
	}
}

func (t *terraregProviders) register(r gin.IRouter, auth gin.HandlerFunc) {
	g := r.Group("", auth)
	g.GET("/v1/providers", t.list)
	g.GET("/v1/providers/", t.list)
	g.GET("/v1/providers/search", t.list)
	g.GET("/v1/providers/:ns", t.list)
	g.GET("/v1/terrareg/providers/:ns", t.list)
	g.GET("/v1/providers/:ns/:name", t.details)
	g.GET("/v1/providers/:ns/:name/:version", t.details)
	g.GET("/v2/providers/:ns/:name", t.detailsV2)
	g.GET("/v1/terrareg/providers/:ns/:name/integrations", t.integrations)
	g.GET("/v1/terrareg/providers/search/filters", t.filters)
	g.GET("/v2/provider-docs", t.docs)
	g.GET("/v2/provider-docs/:id", t.doc)
	g.GET("/v2/gpg-keys", t.keys)
	g.POST("/v2/gpg-keys", t.createKey)
	g.GET("/v2/gpg-keys/:ns/:key", t.key)
	g.DELETE("/v2/gpg-keys/:ns/:key", t.deleteKey)
}

func providerOutline(pr *providers.Provider, v providers.Version) gin.H {
	return gin.H{"id": pr.Namespace + "/" + pr.Name + "/" + v.Version, "owner": pr.Namespace, "namespace": pr.Namespace,
		"name": pr.Name, "alias": nil, "version": v.Version, "tag": "v" + v.Version, "description": "", "source": "",
		"published_at": v.CreatedAt, "downloads": 0, "tier": "community", "logo_url": nil}
}

// list is /v1/providers (offset, limit, q, namespace), /v1/providers/:ns
// and /v1/terrareg/providers/:ns.
func (t *terraregProviders) list(c *gin.Context) {
	ns := c.Param("ns")
	if ns == "" {
		ns = c.Query("namespace")
	}
	list, err := t.svc.List(c.Request.Context(), middleware.Principal(c), providers.ListQuery{Namespace: ns, Q: c.Query("q")})
	if err != nil {
		writeError(c, err)
		return
	}
	items := []gin.H{}
	for _, pr := range list {
		if v, ok := pr.Latest(); ok {
			items = append(items, providerOutline(pr, v))
		}
	}
	offset, _ := strconv.Atoi(c.Query("offset"))
	limit, _ := strconv.Atoi(c.Query("limit"))
	if limit <= 0 || limit > 50 {
		limit = 10
	}
	offset = max(0, min(offset, len(items)))
	end := min(offset+limit, len(items))
	meta := gin.H{"limit": limit, "current_offset": offset}
	if end < len(items) {
		meta["next_offset"] = end
	}
	if offset > 0 {
		meta["prev_offset"] = max(0, offset-limit)
	}
	c.JSON(http.StatusOK, gin.H{"meta": meta, "providers": items[offset:end]})
}

func (t *terraregProviders) find(c *gin.Context) (*providers.Provider, providers.Version, bool) {
	pr, err := t.svc.Find(c.Request.Context(), middleware.Principal(c), c.Param("ns"), c.Param("name"))
	if err != nil {
		writeError(c, err)
		return nil, providers.Version{}, false
	}
	var v providers.Version
	ok := false
	if ver := c.Param("version"); ver != "" {
		v, ok = pr.Version(ver)
		ok = ok && v.Complete()
	} else {
		v, ok = pr.Latest()
	}
	if !ok {
		writeError(c, errs.ErrNotFound)
		return nil, providers.Version{}, false
	}
	return pr, v, true
}

// details is a provider version's details with every version.
func (t *terraregProviders) details(c *gin.Context) {
	pr, v, ok := t.find(c)
	if !ok {
		return
	}
	out := providerOutline(pr, v)
	versions := []string{}
	for _, x := range pr.CompleteVersions() {
		versions = append(versions, x.Version)
	}
	out["versions"] = versions
	out["docs"] = []any{}
	c.JSON(http.StatusOK, out)
}

// detailsV2 is /v2/providers/:ns/:name in JSON:API.
func (t *terraregProviders) detailsV2(c *gin.Context) {
	pr, v, ok := t.find(c)
	if !ok {
		return
	}
	included := []gin.H{}
	if strings.Contains(c.Query("include"), "provider-versions") {
		for _, x := range pr.CompleteVersions() {
			included = append(included, gin.H{"type": "provider-versions", "id": strconv.FormatInt(x.ID, 10),
				"attributes": gin.H{"version": x.Version, "protocols": x.Protocols, "published-at": x.CreatedAt, "tag": "v" + x.Version}})
		}
	}
	c.JSON(http.StatusOK, gin.H{"data": gin.H{"type": "providers", "id": strconv.FormatInt(pr.ID, 10), "attributes": gin.H{
		"name": pr.Name, "namespace": pr.Namespace, "full-name": pr.Namespace + "/" + pr.Name, "alias": nil,
		"description": "", "downloads": 0, "featured": false, "logo-url": nil, "owner-name": pr.Namespace,
		"source": "", "tier": "community", "unlisted": false, "warning": "", "latest-version": v.Version}},
		"included": included})
}

func (t *terraregProviders) integrations(c *gin.Context) {
	if _, _, ok := t.find(c); ok {
		c.JSON(http.StatusOK, []any{})
	}
}

func (t *terraregProviders) filters(c *gin.Context) {
	list, err := t.svc.List(c.Request.Context(), middleware.Principal(c), providers.ListQuery{Q: c.Query("q")})
	if err != nil {
		writeError(c, err)
		return
	}
	namespaces := gin.H{}
	for _, pr := range list {
		if _, ok := pr.Latest(); ok {
			n, _ := namespaces[pr.Namespace].(int)
			namespaces[pr.Namespace] = n + 1
		}
	}
	c.JSON(http.StatusOK, gin.H{"namespaces": namespaces, "provider_categories": gin.H{}, "contributed": len(list), "trusted_namespaces": 0})
}

func gpgKeyJSON(k providers.Key) gin.H {
	return gin.H{"type": "gpg-keys", "id": strconv.FormatInt(k.ID, 10), "attributes": gin.H{
		"ascii-armor": k.ASCIIArmor, "key-id": k.KeyID, "namespace": k.Namespace, "source": "", "source-url": nil,
		"trust-signature": "", "created-at": k.CreatedAt, "updated-at": k.UpdatedAt}}
}

func (t *terraregProviders) keys(c *gin.Context) {
	var names []string
	for _, n := range strings.Split(c.Query("filter[namespace]"), ",") {
		if n = strings.TrimSpace(n); n != "" {
			names = append(names, n)
		}
	}
	keys, err := t.svc.Keys(c.Request.Context(), middleware.Principal(c), names)
	if err != nil {
		writeError(c, err)
		return
	}
	data := []gin.H{}
	for _, k := range keys {
		data = append(data, gpgKeyJSON(k))
	}
	c.JSON(http.StatusOK, gin.H{"data": data})
}

func (t *terraregProviders) createKey(c *gin.Context) {
	var doc struct {
		Data struct {
			Attributes struct {
				Namespace  string `json:"namespace"`
				ASCIIArmor string `json:"ascii-armor"`
			} `json:"attributes"`
		} `json:"data"`
	}
	if err := c.ShouldBindJSON(&doc); err != nil {
		badRequest(c, "the body is not a gpg-keys document")
		return
	}
	k, err := t.svc.AddKey(c.Request.Context(), middleware.Principal(c), doc.Data.Attributes.Namespace, doc.Data.Attributes.ASCIIArmor)
	if err != nil {
		writeModuleError(c, err)
		return
	}
	c.JSON(http.StatusCreated, gin.H{"data": gpgKeyJSON(k)})
}

func (t *terraregProviders) key(c *gin.Context) {
	k, err := t.svc.Key(c.Request.Context(), middleware.Principal(c), c.Param("ns"), c.Param("key"))
	if err != nil {
		writeError(c, err)
		return
	}
	c.JSON(http.StatusOK, gin.H{"data": gpgKeyJSON(k)})
}

func (t *terraregProviders) deleteKey(c *gin.Context) {
	if err := t.svc.DeleteKey(c.Request.Context(), middleware.Principal(c), c.Param("ns"), c.Param("key")); err != nil {
		writeModuleError(c, err)
		return
	}
	c.Status(http.StatusNoContent)
}

func providerDocJSON(d providers.Doc, withContent bool) gin.H {
	id := strconv.FormatInt(d.ID, 10)
	var sub any
	if d.Subcategory != "" {
		sub = d.Subcategory
	}
	attrs := gin.H{"category": d.Category, "embedded-schema": false, "language": "hcl", "path": d.Path, "slug": d.Slug,
		"subcategory": sub, "title": d.Title, "truncated": false}
	if withContent {
		attrs["content"] = d.Content
	}
	return gin.H{"type": "provider-docs", "id": id, "attributes": attrs, "links": gin.H{"self": "/v2/provider-docs/" + id}}
}

// docs is /v2/provider-docs: filter[provider-version] (required),
// filter[category], filter[slug], filter[language] (hcl), page[size],
// page[number]. Unknown, hidden or unmatched filters answer an empty list.
func (t *terraregProviders) docs(c *gin.Context) {
	data := []gin.H{}
	versionID, err := strconv.ParseInt(c.Query("filter[provider-version]"), 10, 64)
	lang := c.Query("filter[language]")
	if err != nil || lang != "" && lang != "hcl" {
		c.JSON(http.StatusOK, gin.H{"data": data})
		return
	}
	list, err := t.svc.Docs(c.Request.Context(), middleware.Principal(c), versionID)
	if errs.Is(err, errs.NotFound) {
		c.JSON(http.StatusOK, gin.H{"data": data})
		return
	} else if err != nil {
		writeError(c, err)
		return
	}
	category, slug := c.Query("filter[category]"), c.Query("filter[slug]")
	var kept []providers.Doc
	for _, d := range list {
		if (category == "" || d.Category == category) && (slug == "" || d.Slug == slug) {
			kept = append(kept, d)
		}
	}
	number, size := paging.JSONAPIPage(c, 100)
	for _, d := range paging.Slice(kept, number, size) {
		data = append(data, providerDocJSON(d, false))
	}
	c.JSON(http.StatusOK, gin.H{"data": data})
}

// doc is /v2/provider-docs/:id with the page's content.
func (t *terraregProviders) doc(c *gin.Context) {
	id, err := strconv.ParseInt(c.Param("id"), 10, 64)
	if err != nil {
		writeError(c, errs.ErrNotFound)
		return
	}
	_, _, d, err := t.svc.Doc(c.Request.Context(), middleware.Principal(c), id)
	if err != nil {
		writeError(c, err)
		return
	}
	c.JSON(http.StatusOK, gin.H{"data": providerDocJSON(d, true)})
}
