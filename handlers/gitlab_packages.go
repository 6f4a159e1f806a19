package handlers

import (
	"fmt"
	"net/http"
	"net/url"
	"strconv"
	"time"

	"github.com/gin-gonic/gin"

	"github.com/cairn-registry/cairn/policies"
)

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
func (m *moduleAPI) packages(c *gin.Context) {
	g := &gitlabAPI{}
	if u, err := url.Parse(m.publicURL); err == nil {
		g.origin = u.Scheme + "://" + u.Host
	}
	pg, ok := g.pageOf(c)
	if !ok {
		return
	}
	if t := c.Query("package_type"); t != "" && t != "terraform_module" {
		pg.headers(false, 0)
		c.JSON(http.StatusOK, []glPackage{})
		return
	}
	rows, err := m.svc.ListPackages(c.Request.Context(), principal(c), c.Param("id"), pg.limit(), pg.offset())
	if err != nil {
		gitlabError(c, err)
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
func (m *moduleAPI) deletePackage(c *gin.Context) {
	id, err := strconv.ParseInt(c.Param("package_id"), 10, 64)
	if err != nil {
		gitlabError(c, policies.ErrNotFound)
		return
	}
	if err := m.svc.DeleteVersion(c.Request.Context(), principal(c), c.Param("id"), id); err != nil {
		gitlabError(c, err)
		return
	}
	c.Status(http.StatusNoContent)
}
