package tfe

import (
	"bytes"
	"errors"
	"io"
	"net/http"
	"strconv"

	"github.com/gin-gonic/gin"

	"github.com/cairn-registry/cairn/errs"
	"github.com/cairn-registry/cairn/handlers/middleware"
	"github.com/cairn-registry/cairn/policies"
	"github.com/cairn-registry/cairn/providers"
)

// Private providers: /organizations/:org/registry-providers[/private/:ns/:name
// [/versions[/:version[/platforms[/:os/:arch]]]]].
func (a *API) registerProviders(v2 gin.IRouter) {
	g := v2.Group("/organizations/:org/registry-providers")
	g.GET("", a.listProviders)
	g.POST("", a.createProvider)
	p := g.Group("/:registry/:ns/:name", a.private)
	p.GET("", a.readProvider)
	p.DELETE("", a.deleteProvider)
	p.GET("/versions", a.listProviderVersions)
	p.POST("/versions", a.createProviderVersion)
	p.GET("/versions/:version", a.readProviderVersion)
	p.DELETE("/versions/:version", a.deleteProviderVersion)
	p.GET("/versions/:version/platforms", a.listPlatforms)
	p.POST("/versions/:version/platforms", a.createPlatform)
	p.GET("/versions/:version/platforms/:os/:arch", a.readPlatform)
	p.DELETE("/versions/:version/platforms/:os/:arch", a.deletePlatform)
	p.PUT("/versions/:version/docs", a.uploadProviderDocs)
}

// private refuses registries other than "private" (public providers are
// not hosted) and a namespace other than the organization.
func (a *API) private(c *gin.Context) {
	if c.Param("registry") != registryName || !sameName(c.Param("ns"), c.Param("org")) {
		writeError(c, errs.ErrNotFound)
	}
}

func (a *API) providerJSON(c *gin.Context, pr *providers.Provider) gin.H {
	p := middleware.Principal(c)
	versions := []gin.H{}
	for _, v := range pr.Versions {
		versions = append(versions, gin.H{"type": "registry-provider-versions", "id": versionID(v)})
	}
	return gin.H{"type": "registry-providers", "id": "prov-" + strconv.FormatInt(pr.ID, 10), "attributes": gin.H{
		"name": pr.Name, "namespace": pr.Namespace, "registry-name": registryName,
		"created-at": stamp(pr.CreatedAt), "updated-at": stamp(pr.UpdatedAt),
		"permissions": gin.H{"can-delete": a.providers.Can(p, policies.DestroyPackage, pr.Resource)}},
		"relationships": gin.H{
			"organization":               gin.H{"data": gin.H{"type": "organizations", "id": pr.Namespace}},
			"registry-provider-versions": gin.H{"data": versions},
		},
		"links": gin.H{"self": providerPath(pr)}}
}

func providerPath(pr *providers.Provider) string {
	return APIBase + "/organizations/" + pr.Namespace + "/registry-providers/" + registryName + "/" + pr.Namespace + "/" + pr.Name
}

func versionID(v providers.Version) string { return "provver-" + strconv.FormatInt(v.ID, 10) }

func (a *API) versionJSON(c *gin.Context, pr *providers.Provider, v providers.Version) gin.H {
	p := middleware.Principal(c)
	plats := []gin.H{}
	for _, pl := range v.Platforms {
		plats = append(plats, gin.H{"type": "registry-provider-platforms", "id": platformID(pl)})
	}
	canUpload := a.providers.Can(p, policies.CreatePackage, pr.Resource)
	links := gin.H{}
	prefix := "terraform-provider-" + pr.Name + "_" + v.Version
	if v.ShasumsUploaded() {
		links["shasums-download"] = a.providers.FileURL(p, *v.ShasumsBlobKey, prefix+"_SHA256SUMS")
	} else if canUpload {
		links["shasums-upload"] = a.providers.UploadURL(p, providers.UploadShasums, v.ID)
	}
	if v.SignatureUploaded() {
		links["shasums-sig-download"] = a.providers.FileURL(p, *v.ShasumsSigBlobKey, prefix+"_SHA256SUMS.sig")
	} else if canUpload {
		links["shasums-sig-upload"] = a.providers.UploadURL(p, providers.UploadSignature, v.ID)
	}
	return gin.H{"type": "registry-provider-versions", "id": versionID(v), "attributes": gin.H{
		"version": v.Version, "key-id": v.KeyID, "protocols": v.Protocols,
		"created-at": stamp(v.CreatedAt), "updated-at": stamp(v.UpdatedAt),
		"shasums-uploaded": v.ShasumsUploaded(), "shasums-sig-uploaded": v.SignatureUploaded(),
		"permissions": gin.H{"can-delete": a.providers.Can(p, policies.DestroyPackage, pr.Resource), "can-upload-asset": canUpload}},
		"relationships": gin.H{
			"registry-provider": gin.H{"data": gin.H{"type": "registry-providers", "id": "prov-" + strconv.FormatInt(pr.ID, 10)}},
			"platforms":         gin.H{"data": plats},
		},
		"links": links}
}

func platformID(pl providers.Platform) string { return "provpltfrm-" + strconv.FormatInt(pl.ID, 10) }

func (a *API) platformJSON(c *gin.Context, pr *providers.Provider, v providers.Version, pl providers.Platform) gin.H {
	p := middleware.Principal(c)
	canUpload := a.providers.Can(p, policies.CreatePackage, pr.Resource)
	links := gin.H{}
	if pl.Uploaded() {
		links["provider-binary-download"] = a.providers.FileURL(p, *pl.BlobKey, pl.Filename)
	} else if canUpload {
		links["provider-binary-upload"] = a.providers.UploadURL(p, providers.UploadBinary, pl.ID)
	}
	return gin.H{"type": "registry-provider-platforms", "id": platformID(pl), "attributes": gin.H{
		"os": pl.OS, "arch": pl.Arch, "filename": pl.Filename, "shasum": pl.Sha256,
		"provider-binary-uploaded": pl.Uploaded(),
		"permissions":              gin.H{"can-delete": a.providers.Can(p, policies.DestroyPackage, pr.Resource), "can-upload-asset": canUpload}},
		"relationships": gin.H{
			"registry-provider-version": gin.H{"data": gin.H{"type": "registry-provider-versions", "id": versionID(v)}},
		},
		"links": links}
}

func (a *API) listProviders(c *gin.Context) {
	g, ok := a.org(c)
	if !ok {
		return
	}
	list, err := a.providers.List(c.Request.Context(), middleware.Principal(c), providers.ListQuery{Namespace: g.FullPath, Q: c.Query("q")})
	if err != nil {
		writeError(c, err)
		return
	}
	items, meta := paginate(c, list)
	data := []gin.H{}
	for _, pr := range items {
		data = append(data, a.providerJSON(c, pr))
	}
	write(c, http.StatusOK, gin.H{"data": data, "meta": meta})
}

func (a *API) createProvider(c *gin.Context) {
	var attrs struct {
		Name         string `json:"name"`
		Namespace    string `json:"namespace"`
		RegistryName string `json:"registry-name"`
		Project      string `json:"project"`
	}
	if !decode(c, "registry-providers", &attrs) {
		return
	}
	// The organization is not looked up as a group: a CI job sees its
	// project, not the groups above it; the owning project decides.
	org := c.Param("org")
	if attrs.RegistryName != "" && attrs.RegistryName != registryName {
		writeError(c, errs.Field(errs.Invalid, "registry-name", "only private providers are hosted (registry-name %q)", attrs.RegistryName))
		return
	}
	if attrs.Namespace != "" && !sameName(attrs.Namespace, org) {
		writeError(c, errs.Field(errs.Invalid, "namespace", "a private provider's namespace is its organization %s", org))
		return
	}
	pr, err := a.providers.Create(c.Request.Context(), middleware.Principal(c), providers.CreateInput{Namespace: org, Name: attrs.Name, Project: attrs.Project})
	if err != nil {
		writeError(c, err)
		return
	}
	write(c, http.StatusCreated, gin.H{"data": a.providerJSON(c, pr)})
}

func (a *API) findProvider(c *gin.Context) (*providers.Provider, bool) {
	pr, err := a.providers.Find(c.Request.Context(), middleware.Principal(c), c.Param("ns"), c.Param("name"))
	if err != nil {
		writeError(c, err)
		return nil, false
	}
	return pr, true
}

func (a *API) findVersion(c *gin.Context) (*providers.Provider, providers.Version, bool) {
	pr, ok := a.findProvider(c)
	if !ok {
		return nil, providers.Version{}, false
	}
	v, ok := pr.Version(c.Param("version"))
	if !ok {
		writeError(c, errs.ErrNotFound)
		return nil, providers.Version{}, false
	}
	return pr, v, true
}

func (a *API) readProvider(c *gin.Context) {
	if pr, ok := a.findProvider(c); ok {
		write(c, http.StatusOK, gin.H{"data": a.providerJSON(c, pr)})
	}
}

func (a *API) deleteProvider(c *gin.Context) {
	if err := a.providers.Delete(c.Request.Context(), middleware.Principal(c), c.Param("ns"), c.Param("name")); err != nil {
		writeError(c, err)
		return
	}
	c.Status(http.StatusNoContent)
}

func (a *API) listProviderVersions(c *gin.Context) {
	pr, ok := a.findProvider(c)
	if !ok {
		return
	}
	items, meta := paginate(c, pr.SortedVersions())
	data := []gin.H{}
	for _, v := range items {
		data = append(data, a.versionJSON(c, pr, v))
	}
	write(c, http.StatusOK, gin.H{"data": data, "meta": meta})
}

func (a *API) createProviderVersion(c *gin.Context) {
	var attrs struct {
		Version   string   `json:"version"`
		KeyID     string   `json:"key-id"`
		Protocols []string `json:"protocols"`
	}
	if !decode(c, "registry-provider-versions", &attrs) {
		return
	}
	pr, v, err := a.providers.CreateVersion(c.Request.Context(), middleware.Principal(c), c.Param("ns"), c.Param("name"),
		providers.VersionInput{Version: attrs.Version, KeyID: attrs.KeyID, Protocols: attrs.Protocols})
	if err != nil {
		writeError(c, err)
		return
	}
	write(c, http.StatusCreated, gin.H{"data": a.versionJSON(c, pr, v)})
}

func (a *API) readProviderVersion(c *gin.Context) {
	if pr, v, ok := a.findVersion(c); ok {
		write(c, http.StatusOK, gin.H{"data": a.versionJSON(c, pr, v)})
	}
}

func (a *API) deleteProviderVersion(c *gin.Context) {
	if err := a.providers.DeleteVersion(c.Request.Context(), middleware.Principal(c), c.Param("ns"), c.Param("name"), c.Param("version")); err != nil {
		writeError(c, err)
		return
	}
	c.Status(http.StatusNoContent)
}

func (a *API) listPlatforms(c *gin.Context) {
	pr, v, ok := a.findVersion(c)
	if !ok {
		return
	}
	items, meta := paginate(c, v.Platforms)
	data := []gin.H{}
	for _, pl := range items {
		data = append(data, a.platformJSON(c, pr, v, pl))
	}
	write(c, http.StatusOK, gin.H{"data": data, "meta": meta})
}

func (a *API) createPlatform(c *gin.Context) {
	var attrs struct {
		OS       string `json:"os"`
		Arch     string `json:"arch"`
		Filename string `json:"filename"`
		Shasum   string `json:"shasum"`
	}
	if !decode(c, "registry-provider-platforms", &attrs) {
		return
	}
	pr, v, pl, err := a.providers.CreatePlatform(c.Request.Context(), middleware.Principal(c), c.Param("ns"), c.Param("name"), c.Param("version"),
		providers.PlatformInput{OS: attrs.OS, Arch: attrs.Arch, Filename: attrs.Filename, Shasum: attrs.Shasum})
	if err != nil {
		writeError(c, err)
		return
	}
	write(c, http.StatusCreated, gin.H{"data": a.platformJSON(c, pr, v, pl)})
}

func (a *API) readPlatform(c *gin.Context) {
	pr, v, ok := a.findVersion(c)
	if !ok {
		return
	}
	pl, ok := v.Platform(c.Param("os"), c.Param("arch"))
	if !ok {
		writeError(c, errs.ErrNotFound)
		return
	}
	write(c, http.StatusOK, gin.H{"data": a.platformJSON(c, pr, v, pl)})
}

func (a *API) deletePlatform(c *gin.Context) {
	err := a.providers.DeletePlatform(c.Request.Context(), middleware.Principal(c), c.Param("ns"), c.Param("name"), c.Param("version"), c.Param("os"), c.Param("arch"))
	if err != nil {
		writeError(c, err)
		return
	}
	c.Status(http.StatusNoContent)
}

// uploadProviderDocs replaces a version's docs with the tar.gz of its docs/
// tree in the body (tfplugindocs layout; Cairn's own extension, used by
// cairn publish provider).
func (a *API) uploadProviderDocs(c *gin.Context) {
	// The archive is read whole first (at most 3 MiB) so an oversized body
	// is told apart from a malformed one.
	raw, err := io.ReadAll(http.MaxBytesReader(c.Writer, c.Request.Body, providers.MaxDocsBytes+1<<20))
	var tooLarge *http.MaxBytesError
	if errors.As(err, &tooLarge) {
		err = errs.Field(errs.TooLarge, "docs", "the docs archive is larger than %d bytes", tooLarge.Limit)
	}
	n := 0
	if err == nil {
		n, err = a.providers.UploadDocs(c.Request.Context(), middleware.Principal(c), c.Param("ns"), c.Param("name"), c.Param("version"), bytes.NewReader(raw))
	}
	if err != nil {
		writeError(c, err)
		return
	}
	write(c, http.StatusOK, gin.H{"meta": gin.H{"docs": n}})
}
