package handlers

import (
	"net/http"
	"net/url"
	"strconv"
	"time"

	"github.com/gin-gonic/gin"

	"github.com/cairn-registry/cairn/modules"
	"github.com/cairn-registry/cairn/policies"
)

// Page sizes of the registry protocol's lists: HashiCorp's public registry
// defaults to 15; Cairn caps a page at modules.MaxPageSize.
const registryPageSize = 15

// registryCatalog serves the module registry protocol's list, search and
// details endpoints ("extended" endpoints, used by Renovate, IDEs and
// go-tfe), at /v1/modules/ and the Terraform Enterprise mount.
// https://developer.hashicorp.com/terraform/registry/api-docs
//
// Lists and searches show only modules the caller may read (the filtering
// is in SQL, modules.Service.Search). Lookups go through modules.Service.Find,
// so refusals match the download endpoints: anonymous callers get 401 for
// what they cannot see, others 404. Cairn verifies no modules: verified is
// always false and verified=true lists nothing.
type registryCatalog struct {
	svc *modules.Service
	// proto writes the protocol's errors.
	proto     *moduleAPI
	publicURL string
}

// registerRegistryCatalog mounts the module list, search and details
// endpoints of the registry protocol and Terrareg's catalog endpoints.
func registerRegistryCatalog(r *gin.Engine, auth gin.HandlerFunc, d Deps) {
	rc := &registryCatalog{svc: d.Modules, proto: &moduleAPI{svc: d.Modules, signer: d.Signer, publicURL: d.PublicURL},
		publicURL: d.PublicURL}
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
	registerTerraregCatalog(r, auth, d)
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
// in the versions answer (moduleAPI.sourceURL).
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

// catalogParams reads the paging and filter arguments lists share: offset,
// limit (default def, at most modules.MaxPageSize), provider and namespace
// (repeatable), verified, and Terrareg's trusted_namespaces, contributed
// and include_count. It returns the message of a 400 when one is malformed.
func catalogParams(c *gin.Context, def int) (modules.SearchQuery, string) {
	q := modules.SearchQuery{Offset: 0, Limit: def, Providers: c.QueryArray("provider"), Namespaces: c.QueryArray("namespace")}
	for _, p := range []struct {
		name string
		dst  *int
	}{{"offset", &q.Offset}, {"limit", &q.Limit}} {
		if s, ok := c.GetQuery(p.name); ok {
			n, err := strconv.Atoi(s)
			if err != nil {
				return q, p.name + " must be an integer"
			}
			*p.dst = n
		}
	}
	if q.Limit > modules.MaxPageSize {
		q.Limit = modules.MaxPageSize
	}
	verified, msg := catalogBool(c, "verified")
	if msg != "" {
		return q, msg
	}
	q.Verified = verified != nil && *verified
	if q.Trusted, msg = catalogBool(c, "trusted_namespaces"); msg != "" {
		return q, msg
	}
	if q.Contributed, msg = catalogBool(c, "contributed"); msg != "" {
		return q, msg
	}
	withTotal, msg := catalogBool(c, "include_count")
	if msg != "" {
		return q, msg
	}
	q.WithTotal = withTotal != nil && *withTotal
	return q, ""
}

// catalogBool reads an optional boolean argument.
func catalogBool(c *gin.Context, name string) (*bool, string) {
	s, ok := c.GetQuery(name)
	if !ok || s == "" {
		return nil, ""
	}
	b, err := strconv.ParseBool(s)
	if err != nil {
		return nil, name + " must be true or false"
	}
	return &b, ""
}

// catalogMeta is the paging block of list answers: limit, current_offset,
// next_offset when another page follows, prev_offset past the first. With
// urls, also the registry's next_url and prev_url (this request's path and
// arguments with the other offset).
func catalogMeta(c *gin.Context, p modules.Page, urls bool) gin.H {
	meta := gin.H{"limit": p.Limit, "current_offset": p.Offset}
	pageURL := func(offset int) string {
		args := c.Request.URL.Query()
		args.Set("offset", strconv.Itoa(offset))
		args.Set("limit", strconv.Itoa(p.Limit))
		return (&url.URL{Path: c.Request.URL.Path, RawQuery: args.Encode()}).String()
	}
	if p.More {
		meta["next_offset"] = p.Offset + p.Limit
		if urls {
			meta["next_url"] = pageURL(p.Offset + p.Limit)
		}
	}
	if p.Offset > 0 {
		prev := max(p.Offset-p.Limit, 0)
		meta["prev_offset"] = prev
		if urls {
			meta["prev_url"] = pageURL(prev)
		}
	}
	return meta
}

func registryBadRequest(c *gin.Context, msg string) {
	c.AbortWithStatusJSON(http.StatusBadRequest, gin.H{"errors": []string{msg}})
}

// writePage answers a list: {"meta", "modules"} (+ "count" when asked).
func (rc *registryCatalog) writePage(c *gin.Context, q modules.SearchQuery) {
	page, err := rc.svc.Search(c.Request.Context(), principal(c), q)
	if err != nil {
		rc.proto.registryError(c, err)
		return
	}
	body := gin.H{"meta": catalogMeta(c, page, true), "modules": catalogOutlines(page.Modules, rc.publicURL)}
	if q.WithTotal && page.Total >= 0 {
		body["count"] = page.Total
	}
	c.JSON(http.StatusOK, body)
}

// list is GET /v1/modules: every module the caller may read, by address;
// provider and verified narrow it.
func (rc *registryCatalog) list(c *gin.Context) {
	q, msg := catalogParams(c, registryPageSize)
	if msg != "" {
		registryBadRequest(c, msg)
		return
	}
	q.Namespaces = nil
	rc.writePage(c, q)
}

// search is GET /v1/modules/search?q=: modules matching q, most relevant
// first (modules.Service.Search); namespace, provider and verified narrow
// it. q is required; a blank q lists every module, as Terrareg's UI expects.
func (rc *registryCatalog) search(c *gin.Context) {
	text, ok := c.GetQuery("q")
	if !ok {
		registryBadRequest(c, "q is required")
		return
	}
	q, msg := catalogParams(c, registryPageSize)
	if msg != "" {
		registryBadRequest(c, msg)
		return
	}
	q.Q = text
	rc.writePage(c, q)
}

// namespace is GET /v1/modules/:ns: the namespace's modules. A namespace
// without a module the caller may read does not exist for them.
func (rc *registryCatalog) namespace(c *gin.Context) {
	rc.narrowed(c, modules.SearchQuery{Namespaces: []string{c.Param("ns")}})
}

// providers is GET /v1/modules/:ns/:name: the latest version of each
// provider (system) of the module.
func (rc *registryCatalog) providers(c *gin.Context) {
	rc.narrowed(c, modules.SearchQuery{Namespaces: []string{c.Param("ns")}, Name: c.Param("name")})
}

// narrowed lists the modules of one namespace (and name); nothing readable
// there is a lookup refusal.
func (rc *registryCatalog) narrowed(c *gin.Context, where modules.SearchQuery) {
	q, msg := catalogParams(c, registryPageSize)
	if msg != "" {
		registryBadRequest(c, msg)
		return
	}
	page, found, err := catalogNarrowed(c, rc.svc, q, where)
	if err != nil {
		rc.proto.registryError(c, err)
		return
	}
	if !found {
		rc.proto.registryError(c, policies.NotFound(principal(c)))
		return
	}
	body := gin.H{"meta": catalogMeta(c, page, true), "modules": catalogOutlines(page.Modules, rc.publicURL)}
	if q.WithTotal && page.Total >= 0 {
		body["count"] = page.Total
	}
	c.JSON(http.StatusOK, body)
}

// catalogNarrowed pages q's modules of one namespace (and name) from where,
// in address order, and reports whether the caller may read any there (a
// page past the last is still found).
func catalogNarrowed(c *gin.Context, svc *modules.Service, q, where modules.SearchQuery) (modules.Page, bool, error) {
	q.Namespaces, q.Name, q.Q = where.Namespaces, where.Name, ""
	ctx, p := c.Request.Context(), principal(c)
	page, err := svc.Search(ctx, p, q)
	if err != nil || len(page.Modules) > 0 {
		return page, err == nil, err
	}
	if page.Offset > 0 {
		first, err := svc.Search(ctx, p, modules.SearchQuery{Namespaces: q.Namespaces, Name: q.Name, Limit: 1})
		return page, len(first.Modules) > 0, err
	}
	return page, false, nil
}

// downloadSummary is GET /v1/modules/:ns/:name/:system/downloads/summary.
func (rc *registryCatalog) downloadSummary(c *gin.Context) {
	mod, ok := rc.proto.find(c)
	if !ok {
		return
	}
	sum, err := rc.svc.DownloadSummary(c.Request.Context(), mod.ID)
	if err != nil {
		rc.proto.registryError(c, err)
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
