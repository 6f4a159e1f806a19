package gitlab

import (
	"context"
	"net/http"
	"strconv"
	"strings"
	"time"

	"github.com/gin-gonic/gin"

	"github.com/cairn-registry/cairn/errs"
	"github.com/cairn-registry/cairn/handlers/middleware"
	"github.com/cairn-registry/cairn/policies"
	"github.com/cairn-registry/cairn/projects"
)

// gitlabProjects is what the projects endpoints need from the tenancy
// service.
type gitlabProjects interface {
	CreateProject(ctx context.Context, p *policies.Principal, in projects.ProjectInput) (projects.Project, error)
	ProjectByID(ctx context.Context, p *policies.Principal, id int64) (projects.Project, error)
	ProjectByPath(ctx context.Context, p *policies.Principal, fullPath string) (projects.Project, error)
	ListProjects(ctx context.Context, p *policies.Principal, group *projects.Group, search string, limit, offset int) ([]projects.Project, error)
	UpdateProject(ctx context.Context, p *policies.Principal, pr projects.Project, in projects.ProjectUpdate) (projects.Project, error)
	DeleteProject(ctx context.Context, p *policies.Principal, pr projects.Project) error
}

func (g *API) registerProjects(api *gin.RouterGroup) {
	api.GET("/projects", g.listProjects)
	api.POST("/projects", g.createProject)
	api.GET("/projects/:id", g.getProject)
	api.PUT("/projects/:id", g.updateProject)
	api.DELETE("/projects/:id", g.deleteProject)
	api.GET("/groups/:id/projects", g.listProjects)
}

// glProject is GitLab's project shape.
type glProject struct {
	ID                int64       `json:"id"`
	Name              string      `json:"name"`
	Path              string      `json:"path"`
	NameWithNamespace string      `json:"name_with_namespace"`
	PathWithNamespace string      `json:"path_with_namespace"`
	Description       string      `json:"description"`
	Visibility        string      `json:"visibility"`
	WebURL            string      `json:"web_url"`
	Namespace         glNamespace `json:"namespace"`
	CreatedAt         time.Time   `json:"created_at"`
	LastActivityAt    time.Time   `json:"last_activity_at"`
}

// glNamespace is the group a project lives in; Cairn has no user
// namespaces, so kind is always "group".
type glNamespace struct {
	ID       int64  `json:"id"`
	Name     string `json:"name"`
	Path     string `json:"path"`
	Kind     string `json:"kind"`
	FullPath string `json:"full_path"`
	ParentID *int64 `json:"parent_id"`
	WebURL   string `json:"web_url"`
}

func (g *API) projectJSON(ns *glNamespaces, pr projects.Project) (glProject, error) {
	grp, groupName, err := ns.group(pr.GroupID)
	if err != nil {
		return glProject{}, err
	}
	return glProject{
		ID: pr.ID, Name: pr.Name, Path: pr.Path,
		NameWithNamespace: groupName + " / " + pr.Name, PathWithNamespace: pr.FullPath,
		Description: pr.Description, Visibility: pr.Visibility,
		WebURL: g.site.URL + "/" + pr.FullPath,
		Namespace: glNamespace{ID: grp.ID, Name: grp.Name, Path: grp.Path, Kind: "group", FullPath: grp.FullPath,
			ParentID: grp.ParentID, WebURL: g.groupWebURL(grp.FullPath)},
		CreatedAt: pr.CreatedAt, LastActivityAt: pr.UpdatedAt,
	}, nil
}

func (g *API) sendProject(c *gin.Context, status int, pr projects.Project) {
	j, err := g.projectJSON(g.namespaces(c), pr)
	if err != nil {
		writeError(c, err)
		return
	}
	c.JSON(status, j)
}

// glProjectRequest creates or updates a project. namespace_id is a group id
// (or, as a Cairn extension, a group's full path).
type glProjectRequest struct {
	Name        *string `json:"name" form:"name"`
	Path        *string `json:"path" form:"path"`
	NamespaceID glParam `json:"namespace_id" form:"namespace_id"`
	Visibility  *string `json:"visibility" form:"visibility"`
	Description *string `json:"description" form:"description"`
}

// listProjects lists the projects the caller can see, everywhere or (under
// /groups/:id/projects) directly in one group.
//
// GitLab API docs: https://docs.gitlab.com/api/projects/#list-all-projects
func (g *API) listProjects(c *gin.Context) {
	pg, ok := g.pageOf(c)
	if !ok {
		return
	}
	var in *projects.Group
	if c.Param("id") != "" {
		gr, ok := g.group(c, "id")
		if !ok {
			return
		}
		in = &gr
	}
	rows, err := g.projects.ListProjects(c.Request.Context(), middleware.Principal(c), in, c.Query("search"), pg.limit(), pg.offset())
	if err != nil {
		writeError(c, err)
		return
	}
	ns := g.namespaces(c)
	out := make([]glProject, 0, len(rows))
	for _, pr := range rows {
		j, err := g.projectJSON(ns, pr)
		if err != nil {
			writeError(c, err)
			return
		}
		out = append(out, j)
	}
	glSendFetched(pg, out)
}

// createProject creates a project in a group (maintainers of the group).
//
// GitLab API docs: https://docs.gitlab.com/api/projects/#create-a-project
func (g *API) createProject(c *gin.Context) {
	var req glProjectRequest
	if !glBind(c, &req) {
		return
	}
	in := projects.ProjectInput{Path: glString(req.Path), Name: glString(req.Name), Description: glString(req.Description),
		Visibility: glString(req.Visibility)}
	ctx, p := c.Request.Context(), middleware.Principal(c)
	var err error
	switch id, perr := strconv.ParseInt(string(req.NamespaceID), 10, 64); {
	case req.NamespaceID == "":
		err = errs.Field(errs.Invalid, "namespace_id", "namespace_id is required: projects live in a group")
	case perr == nil && id <= 0:
		err = glInvalid("namespace_id is invalid: %d is not a group id", id)
	case perr == nil:
		in.Group, err = g.groups.GroupByID(ctx, p, id)
	default:
		in.Group, err = g.groups.GroupByPath(ctx, p, strings.Trim(string(req.NamespaceID), "/"))
	}
	if err != nil {
		writeError(c, err)
		return
	}
	pr, err := g.projects.CreateProject(ctx, p, in)
	if err != nil {
		writeError(c, err)
		return
	}
	g.sendProject(c, http.StatusCreated, pr)
}

// getProject shows a project by id or URL-encoded full path.
//
// GitLab API docs: https://docs.gitlab.com/api/projects/#get-a-single-project
func (g *API) getProject(c *gin.Context) {
	pr, ok := g.project(c)
	if !ok {
		return
	}
	g.sendProject(c, http.StatusOK, pr)
}

// updateProject changes a project's name, description or visibility
// (maintainers); fields left out keep their values. The path cannot change:
// it is part of the project's module addresses.
//
// GitLab API docs: https://docs.gitlab.com/api/projects/#edit-a-project
func (g *API) updateProject(c *gin.Context) {
	var req glProjectRequest
	if !glBind(c, &req) {
		return
	}
	cur, ok := g.project(c)
	if !ok {
		return
	}
	if req.Path != nil && *req.Path != cur.Path {
		writeError(c, glInvalid("path cannot be changed: a project's path is part of its modules' addresses"))
		return
	}
	if req.NamespaceID != "" && string(req.NamespaceID) != strconv.FormatInt(cur.GroupID, 10) {
		writeError(c, glInvalid("namespace_id cannot be changed: Cairn does not transfer projects"))
		return
	}
	in := projects.ProjectUpdate{Name: req.Name, Description: req.Description, Visibility: req.Visibility}
	pr, err := g.projects.UpdateProject(c.Request.Context(), middleware.Principal(c), cur, in)
	if err != nil {
		writeError(c, err)
		return
	}
	g.sendProject(c, http.StatusOK, pr)
}

// deleteProject deletes a project and its modules (owners); 202 as GitLab,
// though Cairn deletes at once.
//
// GitLab API docs: https://docs.gitlab.com/api/projects/#delete-a-project
func (g *API) deleteProject(c *gin.Context) {
	pr, ok := g.project(c)
	if !ok {
		return
	}
	if err := g.projects.DeleteProject(c.Request.Context(), middleware.Principal(c), pr); err != nil {
		writeError(c, err)
		return
	}
	c.JSON(http.StatusAccepted, gin.H{"message": "202 Accepted"})
}
