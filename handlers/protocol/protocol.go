// Package protocol serves the Terraform CLI's protocols: service discovery
// and modules.v1 (at /v1/modules/, and at GitLab's and Terraform
// Enterprise's mounts), GitLab's details extension at its mount, and the
// signed archive file terraform downloads without credentials.
//
// https://developer.hashicorp.com/terraform/internals/module-registry-protocol
// https://docs.gitlab.com/api/packages/terraform-modules/
package protocol

import (
	"errors"
	"fmt"
	"net/http"
	"net/url"
	"time"

	"github.com/gin-gonic/gin"

	"github.com/cairn-registry/cairn/blobs"
	"github.com/cairn-registry/cairn/errs"
	"github.com/cairn-registry/cairn/handlers/middleware"
	"github.com/cairn-registry/cairn/modules"
	"github.com/cairn-registry/cairn/providers"
)

// Mounts of the module protocol. Terraform's modules.v1 lives at /v1/modules/
// (advertised by discovery); GitLab and Terraform Enterprise clients use
// the other two with the same handlers.
const (
	ModulesV1Base = "/v1/modules"
	GitLabV1Base  = modules.ArchivePath
	TFEV1Base     = "/api/registry/v1/modules"
)

// API serves the protocol endpoints.
type API struct {
	svc       *modules.Service
	site      middleware.Site
	providers *providers.Service // nil: no provider protocols (WithProviders)
}

// New returns the protocol surface.
func New(svc *modules.Service, site middleware.Site) *API {
	return &API{svc: svc, site: site}
}

// Register mounts discovery, modules.v1 at its three mounts and the
// archive file route; auth authenticates API calls.
func (a *API) Register(r gin.IRouter, auth gin.HandlerFunc) {
	r.GET("/.well-known/terraform.json", a.discovery)
	for _, base := range []string{ModulesV1Base, GitLabV1Base, TFEV1Base} {
		g := r.Group(base, auth)
		g.GET("/:ns/:name/:system/versions", a.versions)
		if base == ModulesV1Base {
			g.GET("/:ns/:name/:system/versions/", a.versions) // Terrareg's alias
		}
		g.GET("/:ns/:name/:system/download", a.latestDownload(base))
		g.GET("/:ns/:name/:system/:version/download", a.download)
		if base == GitLabV1Base {
			g.GET("/:ns/:name/:system", a.gitlabDetails)
			g.GET("/:ns/:name/:system/:version", a.gitlabDetails)
		}
	}
	// The archive itself: authorised by the signed token in the URL only
	// (terraform sends no credentials here), GET and HEAD.
	file := GitLabV1Base + "/:ns/:name/:system/:version/file"
	r.GET(file, a.file)
	r.HEAD(file, a.file)
	if a.providers != nil {
		a.registerProviders(r, auth)
	}
}

// discovery is GET /.well-known/terraform.json: modules.v1 and login.v1
// (terraform login: the consent page and token endpoint, the CLI's client
// id and the localhost ports it may listen on).
// https://developer.hashicorp.com/terraform/internals/remote-service-discovery
func (a *API) discovery(c *gin.Context) {
	d := gin.H{
		"modules.v1": ModulesV1Base + "/",
		"login.v1": gin.H{
			"client":      "terraform-cli",
			"grant_types": []string{"authz_code"},
			"authz":       "/oauth/authorization",
			"token":       "/oauth/token",
			"ports":       []int{10000, 10010},
		},
	}
	if a.providers != nil {
		d["providers.v1"] = ProvidersV1Base + "/"
	}
	c.JSON(http.StatusOK, d)
}

// find resolves the request's module. A namespace may carry Terrareg's
// analytics token (<token>__<namespace>), kept for download.
func (a *API) find(c *gin.Context) (*modules.Module, bool) {
	ns, token, split := modules.SplitAnalyticsToken(c.Param("ns"))
	mod, err := a.svc.Find(c.Request.Context(), middleware.Principal(c), ns, c.Param("name"), c.Param("system"))
	if split && errs.Is(err, errs.NotFound) {
		// A namespace whose own path holds "__".
		token = ""
		mod, err = a.svc.Find(c.Request.Context(), middleware.Principal(c), c.Param("ns"), c.Param("name"), c.Param("system"))
	}
	c.Set(analyticsTokenKey, token)
	if err != nil {
		writeError(c, err)
		return nil, false
	}
	return mod, true
}

// analyticsTokenKey holds the request's analytics token ("" for none).
const analyticsTokenKey = "cairn.analytics_token"

type providerRef struct {
	Name    string `json:"name"`
	Version string `json:"version"`
}

type rootInfo struct {
	Dependencies []any         `json:"dependencies"`
	Providers    []providerRef `json:"providers"`
}

type versionInfo struct {
	Version    string   `json:"version"`
	Submodules []any    `json:"submodules"`
	Root       rootInfo `json:"root"`
}

// providersOf lists a version's required providers (local name and
// constraints), or the module's system when unknown.
func providersOf(v modules.Version, system string) []providerRef {
	if len(v.Providers) == 0 {
		return []providerRef{{Name: system, Version: ""}}
	}
	out := make([]providerRef, 0, len(v.Providers))
	for _, p := range v.Providers {
		out = append(out, providerRef{Name: p.Name, Version: p.Version})
	}
	return out
}

func (a *API) sourceURL(mod *modules.Module) string {
	return a.site.URL + "/" + mod.ProjectPath
}

// versions lists every version, newest first, in GitLab's shape (a superset
// of the Terraform protocol's).
func (a *API) versions(c *gin.Context) {
	mod, ok := a.find(c)
	if !ok {
		return
	}
	list := []versionInfo{}
	for _, v := range mod.SortedVersions() {
		list = append(list, versionInfo{Version: v.Version, Submodules: []any{},
			Root: rootInfo{Dependencies: []any{}, Providers: providersOf(v, mod.System)}})
	}
	c.JSON(http.StatusOK, gin.H{"modules": []gin.H{{"versions": list, "source": a.sourceURL(mod)}}})
}

// latestDownload redirects to the latest version's download.
func (a *API) latestDownload(base string) gin.HandlerFunc {
	return func(c *gin.Context) {
		mod, ok := a.find(c)
		if !ok {
			return
		}
		latest, ok := mod.Latest()
		if !ok {
			writeError(c, errs.ErrNotFound)
			return
		}
		c.Redirect(http.StatusFound, fmt.Sprintf("%s/%s/%s/%s/%s/download", base,
			url.PathEscape(c.Param("ns")), url.PathEscape(mod.Name), url.PathEscape(mod.System), url.PathEscape(latest.Version)))
	}
}

// download answers 204 with X-Terraform-Get: a short-lived URL for the
// archive that carries no reusable credential.
func (a *API) download(c *gin.Context) {
	mod, ok := a.find(c)
	if !ok {
		return
	}
	v, ok := mod.Version(c.Param("version"))
	if !ok {
		writeError(c, errs.ErrNotFound)
		return
	}
	a.svc.CountDownload(v.ID)
	a.svc.RecordAnalytics(v.ID, c.GetString(analyticsTokenKey), modules.TerraformVersionFromUserAgent(c.Request.UserAgent()))
	c.Header("X-Terraform-Get", a.svc.ArchiveURL(middleware.Principal(c), mod, v))
	c.Status(http.StatusNoContent)
}

// file serves the archive to holders of a valid signed token. When the
// blob store can presign, a GET is redirected to the object store (archive
// bytes skip the app tier) while HEAD, which go-getter sends first and a
// GET-presigned S3 URL would refuse, is answered here.
func (a *API) file(c *gin.Context) {
	defer middleware.CountDownload(c)
	v, mod, err := a.svc.ArchiveByToken(c.Request.Context(), c.Param("ns"), c.Param("name"), c.Param("system"), c.Param("version"), c.Query("token"))
	if err != nil {
		writeFileError(c, err)
		return
	}
	if c.Request.Method == http.MethodGet {
		u, err := a.svc.Blobs().PresignGet(c.Request.Context(), v.BlobKey, time.Minute, modules.ArchiveName(mod, v))
		if err == nil {
			c.Redirect(http.StatusFound, u)
			return
		}
		if !errors.Is(err, blobs.ErrPresignUnsupported) {
			writeError(c, err)
			return
		}
	}
	obj, info, err := a.svc.Blobs().Get(c.Request.Context(), v.BlobKey)
	if err != nil {
		writeError(c, err)
		return
	}
	defer obj.Close()
	middleware.ServeBlob(c, obj, info.ModTime, modules.ArchiveName(mod, v), v.Sha256)
}

// gitlabDetails answers GitLab's latest (no :version) or versioned details.
func (a *API) gitlabDetails(c *gin.Context) {
	ver := c.Param("version")
	mod, ok := a.find(c)
	if !ok {
		return
	}
	var v modules.Version
	if ver == "" {
		v, ok = mod.Latest()
	} else {
		v, ok = mod.Version(ver)
	}
	if !ok {
		writeError(c, errs.ErrNotFound)
		return
	}
	all := []string{}
	for _, x := range mod.SortedVersions() {
		all = append(all, x.Version)
	}
	providers := []string{}
	for _, p := range providersOf(v, mod.System) {
		providers = append(providers, p.Name)
	}
	c.JSON(http.StatusOK, gin.H{
		"name":       mod.Name + "/" + mod.System,
		"provider":   mod.System,
		"providers":  providers,
		"root":       gin.H{"dependencies": []any{}},
		"source":     a.sourceURL(mod),
		"submodules": []any{},
		"version":    v.Version,
		"versions":   all,
	})
}
