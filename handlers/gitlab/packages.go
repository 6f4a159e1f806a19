package gitlab

import (
	"fmt"
	"net/http"
	"strconv"
	"strings"
	"time"

	"github.com/gin-gonic/gin"

	"github.com/cairn-registry/cairn/errs"
	"github.com/cairn-registry/cairn/handlers/middleware"
	"github.com/cairn-registry/cairn/modules"
)

// registerPackages mounts GitLab's Terraform Module Registry routes of a
// project (upload, project-level download) and its Packages API.
//
// GitLab API docs: https://docs.gitlab.com/api/packages/terraform-modules/
func (g *API) registerPackages(api *gin.RouterGroup) {
	api.PUT("/projects/:id/packages/terraform/modules/:name/:system/:version/file", g.upload)
	api.GET("/projects/:id/packages/terraform/modules/:name/:system", g.projectModule)
	api.GET("/projects/:id/packages/terraform/modules/:name/:system/:version", g.projectModule)
	api.GET("/projects/:id/packages", g.packages)
	api.DELETE("/projects/:id/packages/:package_id", g.deletePackage)
}

// upload is PUT /api/v4/projects/:id/packages/terraform/modules/:name/:system/:version/file
// with the archive as the body (curl --upload-file) or a multipart "file".
func (g *API) upload(c *gin.Context) {
	defer middleware.CountUpload(c)
	proj, ok := g.project(c)
	if !ok {
		return
	}
	body, size := c.Request.Body, c.Request.ContentLength
	if strings.HasPrefix(c.ContentType(), "multipart/form-data") {
		mr, err := c.Request.MultipartReader()
		if err != nil {
			writeUploadError(c, errs.Field(errs.Invalid, "file", "malformed multipart body"))
			return
		}
		body, size = nil, -1
		for {
			part, err := mr.NextPart()
			if err != nil {
				break
			}
			if part.FormName() == "file" {
				body = part
				break
			}
		}
	}
	in := modules.PublishInput{Name: c.Param("name"), System: c.Param("system"), Version: c.Param("version"), Size: size}
	if body != nil && size != 0 {
		in.Body = body
	}
	start := time.Now()
	v, err := g.modules.Publish(c.Request.Context(), middleware.Principal(c), proj, in)
	if err != nil {
		writeUploadError(c, err)
		return
	}
	middleware.Logger(c).Info("module version published", "module", c.Param("name")+"/"+c.Param("system"), "version", v.Version,
		"size", v.Size, "sha256", v.Sha256, "duration_ms", time.Since(start).Milliseconds())
	c.JSON(http.StatusCreated, gin.H{"message": "201 Created"})
}

// projectModule is GitLab's project-level download: the archive itself, or
// with ?terraform-get=1 a 204 + X-Terraform-Get (go-getter's HTTP protocol).
func (g *API) projectModule(c *gin.Context) {
	proj, ok := g.project(c)
	if !ok {
		return
	}
	p := middleware.Principal(c)
	mod, err := g.modules.FindInProject(c.Request.Context(), p, proj, c.Param("name"), c.Param("system"))
	if err != nil {
		writeError(c, err)
		return
	}
	var v modules.Version
	if ver := c.Param("version"); ver != "" {
		v, ok = mod.Version(ver)
	} else {
		v, ok = mod.Latest()
	}
	if !ok {
		writeError(c, errs.ErrNotFound)
		return
	}
	g.modules.CountDownload(v.ID)
	if c.Query("terraform-get") == "1" {
		c.Header("X-Terraform-Get", g.modules.ArchiveURL(p, mod, v))
		c.Status(http.StatusNoContent)
		return
	}
	obj, info, err := g.modules.Blobs().Get(c.Request.Context(), v.BlobKey)
	if err != nil {
		writeError(c, err)
		return
	}
	defer obj.Close()
	middleware.ServeBlob(c, obj, info.ModTime, modules.ArchiveName(mod, v), v.Sha256)
}

// glPackage is a module version in GitLab's Packages API shape.
// https://docs.gitlab.com/api/packages/
type glPackage struct {
	ID          int64     `json:"id"`
	Name        string    `json:"name"`
	Version     string    `json:"version"`
	PackageType string    `json:"package_type"`
	Status      string    `json:"status"`
	CreatedAt   time.Time `json:"created_at"`
	Links       any       `json:"_links"`
}

// packages is GET /projects/:id/packages: the project's Terraform module
// versions (the only package type Cairn holds).
func (g *API) packages(c *gin.Context) {
	pg, ok := g.pageOf(c)
	if !ok {
		return
	}
	if t := c.Query("package_type"); t != "" && t != "terraform_module" {
		pg.headers(false, 0)
		c.JSON(http.StatusOK, []glPackage{})
		return
	}
	proj, ok := g.project(c)
	if !ok {
		return
	}
	rows, err := g.modules.ListPackages(c.Request.Context(), middleware.Principal(c), proj, pg.limit(), pg.offset())
	if err != nil {
		writeError(c, err)
		return
	}
	out := make([]glPackage, 0, len(rows))
	for _, r := range rows {
		out = append(out, glPackage{ID: r.ID, Name: r.Name + "/" + r.System, Version: r.Version, PackageType: "terraform_module",
			Status: "default", CreatedAt: r.CreatedAt,
			Links: gin.H{"web_path": fmt.Sprintf("/%s/-/packages/%d", c.Param("id"), r.ID)}})
	}
	glSendFetched(pg, out)
}

// deletePackage is DELETE /projects/:id/packages/:package_id (maintainer+).
func (g *API) deletePackage(c *gin.Context) {
	proj, ok := g.project(c)
	if !ok {
		return
	}
	id, err := strconv.ParseInt(c.Param("package_id"), 10, 64)
	if err != nil {
		writeError(c, errs.ErrNotFound)
		return
	}
	if err := g.modules.DeleteVersion(c.Request.Context(), middleware.Principal(c), proj, id); err != nil {
		writeError(c, err)
		return
	}
	c.Status(http.StatusNoContent)
}
