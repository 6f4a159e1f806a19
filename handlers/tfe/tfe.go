// Package tfe serves the Terraform Enterprise API subset registries are
// published with (/api/v2, JSON:API, Bearer tokens): ping, organizations
// (top-level groups), registry modules, private providers with their
// versions and platforms, GPG keys (/api/registry/private/v2/gpg-keys), and
// the credential-less upload links those hand out. go-tfe is a client.
//
// https://developer.hashicorp.com/terraform/cloud-docs/api-docs/private-registry
package tfe

import (
	"encoding/json"
	"io"
	"net/http"
	"strconv"
	"time"

	"github.com/gin-gonic/gin"

	"github.com/cairn-registry/cairn/errs"
	"github.com/cairn-registry/cairn/handlers/middleware"
	"github.com/cairn-registry/cairn/handlers/paging"
	"github.com/cairn-registry/cairn/projects"
	"github.com/cairn-registry/cairn/providers"
)

const jsonAPI = "application/vnd.api+json"

// Mounts.
const (
	APIBase      = "/api/v2"
	GPGKeysBase  = "/api/registry/private/v2/gpg-keys"
	registryName = "private"
)

// API serves the TFE surface.
type API struct {
	providers *providers.Service
	projects  *projects.Service
	site      middleware.Site
}

// New returns the TFE surface.
func New(prov *providers.Service, proj *projects.Service, site middleware.Site) *API {
	return &API{providers: prov, projects: proj, site: site}
}

// Register mounts the routes; auth authenticates every call but the
// upload links.
func (a *API) Register(r gin.IRouter, auth gin.HandlerFunc) {
	r.GET(APIBase+"/ping", a.ping)
	r.PUT(providers.UploadsPath+"/:kind/:id/file", a.upload)
	v2 := r.Group(APIBase, auth)
	v2.GET("/organizations/:org", a.organization)
	a.registerModules(v2)
	a.registerProviders(v2)
	keys := r.Group(GPGKeysBase, auth)
	keys.GET("", a.listKeys)
	keys.POST("", a.createKey)
	keys.GET("/:ns/:key", a.readKey)
	keys.DELETE("/:ns/:key", a.deleteKey)
}

// ping is what go-tfe's NewClient calls: the headers it reads (never an
// X-RateLimit-Limit below 4, so none at all).
func (a *API) ping(c *gin.Context) {
	c.Header("TFP-API-Version", "2.6")
	c.Header("TFP-AppName", "Cairn")
	c.Header("X-TFE-Version", "cairn")
	c.Status(http.StatusNoContent)
}

// organization is an organization: a top-level group the caller sees.
func (a *API) organization(c *gin.Context) {
	g, ok := a.org(c)
	if !ok {
		return
	}
	write(c, http.StatusOK, gin.H{"data": gin.H{"type": "organizations", "id": g.FullPath,
		"attributes": gin.H{"name": g.FullPath, "external-id": "org-" + strconv.FormatInt(g.ID, 10), "created-at": stamp(g.CreatedAt),
			"email": "", "permissions": gin.H{}},
		"links": gin.H{"self": APIBase + "/organizations/" + g.FullPath}}})
}

func (a *API) org(c *gin.Context) (projects.Group, bool) {
	g, err := a.projects.GroupByPath(c.Request.Context(), middleware.Principal(c), c.Param("org"))
	if err == nil && !g.TopLevel() {
		err = errs.ErrNotFound
	}
	if err != nil {
		writeError(c, err)
		return projects.Group{}, false
	}
	return g, true
}

// stamp is TFE's time format (go-tfe refuses offsets such as +00:00).
func stamp(t time.Time) string { return t.UTC().Format("2006-01-02T15:04:05.000Z") }

func write(c *gin.Context, status int, body any) {
	b, err := json.Marshal(body)
	if err != nil {
		writeError(c, err)
		return
	}
	c.Data(status, jsonAPI, b)
}

// document is a JSON:API request body.
type document struct {
	Data struct {
		Type       string          `json:"type"`
		Attributes json.RawMessage `json:"attributes"`
	} `json:"data"`
}

// decode reads a request document of type want ("" is accepted too: go-tfe
// sends it for provider versions and platforms) into attrs.
func decode(c *gin.Context, want string, attrs any) bool {
	var doc document
	body, err := io.ReadAll(io.LimitReader(c.Request.Body, 1<<20))
	if err == nil {
		err = json.Unmarshal(body, &doc)
	}
	if err != nil {
		writeError(c, errs.Field(errs.Invalid, "data", "the body is not a JSON:API document: %v", err))
		return false
	}
	if doc.Data.Type != "" && doc.Data.Type != want {
		writeError(c, errs.Field(errs.Invalid, "type", "data.type must be %q, not %q", want, doc.Data.Type))
		return false
	}
	if len(doc.Data.Attributes) == 0 {
		doc.Data.Attributes = json.RawMessage("{}")
	}
	if err := json.Unmarshal(doc.Data.Attributes, attrs); err != nil {
		writeError(c, errs.Field(errs.Invalid, "attributes", "data.attributes: %v", err))
		return false
	}
	return true
}

// paginate returns the items of the requested page and meta.pagination.
func paginate[T any](c *gin.Context, all []T) ([]T, gin.H) {
	number, size := paging.JSONAPIPage(c, 20)
	total := len(all)
	pages := (total + size - 1) / size
	next, prev := 0, 0
	if number < pages {
		next = number + 1
	}
	if number > 1 {
		prev = number - 1
	}
	var prevV, nextV any
	if prev > 0 {
		prevV = prev
	}
	if next > 0 {
		nextV = next
	}
	return paging.Slice(all, number, size), gin.H{"pagination": gin.H{"current-page": number, "page-size": size, "prev-page": prevV,
		"next-page": nextV, "total-count": total, "total-pages": max(pages, 1)}}
}

// upload receives a file on an upload link: no credentials, the signed
// token names the object and the principal that asked for the link.
func (a *API) upload(c *gin.Context) {
	kind := c.Param("kind")
	id, err := a.providers.CheckUpload(kind, c.Param("id"), c.Query("token"))
	if err != nil {
		writeError(c, err)
		return
	}
	ctx := c.Request.Context()
	switch kind {
	case providers.UploadShasums:
		err = a.providers.UploadShasums(ctx, id, c.Request.Body)
	case providers.UploadSignature:
		err = a.providers.UploadSignature(ctx, id, c.Request.Body)
	case providers.UploadBinary:
		err = a.providers.UploadBinary(ctx, id, c.Request.Body, c.Request.ContentLength)
	case providers.UploadModule:
		err = a.providers.UploadModule(ctx, id, c.Request.Body, c.Request.ContentLength)
	default:
		err = errs.ErrNotFound
	}
	if err != nil {
		writeError(c, err)
		return
	}
	c.Status(http.StatusOK)
}
