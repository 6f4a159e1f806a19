package tfe

import (
	"net/http"
	"strconv"
	"strings"

	"github.com/gin-gonic/gin"

	"github.com/cairn-registry/cairn/errs"
	"github.com/cairn-registry/cairn/handlers/middleware"
	"github.com/cairn-registry/cairn/policies"
	"github.com/cairn-registry/cairn/providers"
)

// Registry modules: a module created here is an ordinary Cairn module of
// its owning project (<org>/<name> unless the caller names one).
func (a *API) registerModules(v2 gin.IRouter) {
	g := v2.Group("/organizations/:org/registry-modules")
	g.GET("", a.listModules)
	g.POST("", a.createModule)
	p := g.Group("/:registry/:ns/:name", a.private)
	p.GET("/:provider", a.readModule)
	p.GET("/:provider/version", a.readModuleVersion)
	p.POST("/:provider/versions", a.createModuleVersion)
	p.DELETE("", a.deleteModule)
	p.DELETE("/:provider", a.deleteModule)
	p.DELETE("/:provider/:version", a.deleteModule)
	// The deprecated forms go-tfe uses.
	v2.POST("/registry-modules/:org/:name/:provider/versions", a.createModuleVersion)
	v2.POST("/registry-modules/actions/delete/:org/:name", a.deleteModule)
	v2.POST("/registry-modules/actions/delete/:org/:name/:provider", a.deleteModule)
	v2.POST("/registry-modules/actions/delete/:org/:name/:provider/:version", a.deleteModule)
}

func sameName(a, b string) bool { return strings.EqualFold(a, b) }

func moduleID(m *providers.RegistryModule) string {
	return "mod-" + strconv.FormatInt(m.ProjectID, 10) + "-" + m.Name + "-" + m.System
}

func (a *API) moduleJSON(c *gin.Context, m *providers.RegistryModule) gin.H {
	p := middleware.Principal(c)
	statuses := []gin.H{}
	for _, v := range m.Versions {
		statuses = append(statuses, gin.H{"version": v.Version, "status": v.Status, "error": v.Error})
	}
	canDelete := a.providers.Can(p, policies.DestroyPackage, m.Resource)
	return gin.H{"type": "registry-modules", "id": moduleID(m), "attributes": gin.H{
		"name": m.Name, "provider": m.System, "namespace": m.Namespace, "registry-name": registryName,
		"status": m.Status(), "version-statuses": statuses, "no-code": false, "publishing-mechanism": "",
		"created-at": stamp(m.CreatedAt), "updated-at": stamp(m.UpdatedAt),
		"permissions": gin.H{"can-delete": canDelete, "can-resync": false, "can-retry": false}},
		"relationships": gin.H{"organization": gin.H{"data": gin.H{"type": "organizations", "id": m.Namespace}}},
		"links": gin.H{"self": APIBase + "/organizations/" + m.Namespace + "/registry-modules/" + registryName + "/" +
			m.Namespace + "/" + m.Name + "/" + m.System}}
}

func (a *API) moduleVersionJSON(m *providers.RegistryModule, v providers.ModuleVersionStatus, upload string) gin.H {
	links := gin.H{}
	if upload != "" {
		links["upload"] = upload
	}
	return gin.H{"type": "registry-module-versions", "id": "modver-" + strconv.FormatInt(v.ID, 10), "attributes": gin.H{
		"source": "tfe-api", "status": v.Status, "version": v.Version, "error": v.Error,
		"created-at": stamp(m.CreatedAt), "updated-at": stamp(m.UpdatedAt)},
		"relationships": gin.H{"registry-module": gin.H{"data": gin.H{"type": "registry-modules", "id": moduleID(m)}}},
		"links":         links}
}

func (a *API) listModules(c *gin.Context) {
	g, ok := a.org(c)
	if !ok {
		return
	}
	list, err := a.providers.RegistryModules(c.Request.Context(), middleware.Principal(c), g.FullPath)
	if err != nil {
		writeError(c, err)
		return
	}
	items, meta := paginate(c, list)
	data := []gin.H{}
	for _, m := range items {
		data = append(data, a.moduleJSON(c, m))
	}
	write(c, http.StatusOK, gin.H{"data": data, "meta": meta})
}

func (a *API) createModule(c *gin.Context) {
	var attrs struct {
		Name         string `json:"name"`
		Provider     string `json:"provider"`
		Namespace    string `json:"namespace"`
		RegistryName string `json:"registry-name"`
		Project      string `json:"project"`
	}
	if !decode(c, "registry-modules", &attrs) {
		return
	}
	// The organization is not looked up as a group: a CI job sees its
	// project, not the groups above it; the owning project decides.
	org := c.Param("org")
	if attrs.RegistryName != "" && attrs.RegistryName != registryName {
		writeError(c, errs.Field(errs.Invalid, "registry-name", "only private modules are hosted (registry-name %q)", attrs.RegistryName))
		return
	}
	if attrs.Namespace != "" && !sameName(attrs.Namespace, org) {
		writeError(c, errs.Field(errs.Invalid, "namespace", "a private module's namespace is its organization %s", org))
		return
	}
	m, err := a.providers.CreateRegistryModule(c.Request.Context(), middleware.Principal(c), org, attrs.Name, attrs.Provider, attrs.Project)
	if err != nil {
		writeError(c, err)
		return
	}
	write(c, http.StatusCreated, gin.H{"data": a.moduleJSON(c, m)})
}

func (a *API) readModule(c *gin.Context) {
	m, err := a.providers.RegistryModule(c.Request.Context(), middleware.Principal(c), c.Param("org"), c.Param("name"), c.Param("provider"))
	if err != nil {
		writeError(c, err)
		return
	}
	write(c, http.StatusOK, gin.H{"data": a.moduleJSON(c, m)})
}

func (a *API) readModuleVersion(c *gin.Context) {
	m, err := a.providers.RegistryModule(c.Request.Context(), middleware.Principal(c), c.Param("org"), c.Param("name"), c.Param("provider"))
	if err != nil {
		writeError(c, err)
		return
	}
	v, ok := m.Version(c.Query("module_version"))
	if !ok {
		writeError(c, errs.ErrNotFound)
		return
	}
	write(c, http.StatusOK, gin.H{"data": a.moduleVersionJSON(m, v, "")})
}

func (a *API) createModuleVersion(c *gin.Context) {
	var attrs struct {
		Version string `json:"version"`
	}
	if !decode(c, "registry-module-versions", &attrs) {
		return
	}
	p := middleware.Principal(c)
	m, id, err := a.providers.CreateModuleVersion(c.Request.Context(), p, c.Param("org"), c.Param("name"), c.Param("provider"), attrs.Version)
	if err != nil {
		writeError(c, err)
		return
	}
	var v providers.ModuleVersionStatus
	for _, x := range m.Versions {
		if x.ID == id && x.Status != providers.StatusOK {
			v = x
		}
	}
	write(c, http.StatusCreated, gin.H{"data": a.moduleVersionJSON(m, v, a.providers.UploadURL(p, providers.UploadModule, id))})
}

// deleteModule deletes a module, one of its providers or one version.
func (a *API) deleteModule(c *gin.Context) {
	err := a.providers.DeleteRegistryModule(c.Request.Context(), middleware.Principal(c), c.Param("org"), c.Param("name"), c.Param("provider"), c.Param("version"))
	if err != nil {
		writeError(c, err)
		return
	}
	c.Status(http.StatusNoContent)
}
