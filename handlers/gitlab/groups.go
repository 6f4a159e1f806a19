package gitlab

import (
	"context"
	"fmt"
	"net/http"
	"strconv"
	"time"

	"github.com/gin-gonic/gin"

	"github.com/cairn-registry/cairn/handlers/middleware"
	"github.com/cairn-registry/cairn/policies"
	"github.com/cairn-registry/cairn/projects"
)

// gitlabGroups is what the groups endpoints need from the tenancy service.
type gitlabGroups interface {
	CreateGroup(ctx context.Context, p *policies.Principal, in projects.GroupInput) (projects.Group, error)
	GroupByID(ctx context.Context, p *policies.Principal, id int64) (projects.Group, error)
	GroupByPath(ctx context.Context, p *policies.Principal, fullPath string) (projects.Group, error)
	ListGroups(ctx context.Context, p *policies.Principal, search string, topLevelOnly bool, limit, offset int) ([]projects.Group, error)
	Subgroups(ctx context.Context, p *policies.Principal, g projects.Group) ([]projects.Group, error)
	UpdateGroup(ctx context.Context, p *policies.Principal, g projects.Group, in projects.GroupUpdate) (projects.Group, error)
	DeleteGroup(ctx context.Context, p *policies.Principal, g projects.Group) error
	Ancestors(ctx context.Context, id int64) ([]projects.Group, error)
}

func (g *API) registerGroups(api *gin.RouterGroup) {
	api.GET("/groups", g.listGroups)
	api.POST("/groups", g.createGroup)
	api.GET("/groups/:id", g.getGroup)
	api.PUT("/groups/:id", g.updateGroup)
	api.DELETE("/groups/:id", g.deleteGroup)
	api.GET("/groups/:id/subgroups", g.listSubgroups)
	api.GET("/groups/:id/package_settings", g.getPackageSettings)
	api.PUT("/groups/:id/package_settings", g.updatePackageSettings)
}

// glGroup is GitLab's group shape.
type glGroup struct {
	ID          int64     `json:"id"`
	Name        string    `json:"name"`
	Path        string    `json:"path"`
	FullName    string    `json:"full_name"`
	FullPath    string    `json:"full_path"`
	Description string    `json:"description"`
	Visibility  string    `json:"visibility"`
	ParentID    *int64    `json:"parent_id"`
	WebURL      string    `json:"web_url"`
	CreatedAt   time.Time `json:"created_at"`
}

// glNamespaces looks up group chains for one response: GitLab's human names
// ("Acme / Networking") and a project's namespace; one query per chain not
// yet seen.
type glNamespaces struct {
	ctx    context.Context
	src    gitlabGroups
	names  map[int64]string
	groups map[int64]projects.Group
}

func (g *API) namespaces(c *gin.Context) *glNamespaces {
	return &glNamespaces{ctx: c.Request.Context(), src: g.groups,
		names: map[int64]string{}, groups: map[int64]projects.Group{}}
}

// group returns a group's row and full human name.
func (n *glNamespaces) group(id int64) (projects.Group, string, error) {
	if name, ok := n.names[id]; ok {
		return n.groups[id], name, nil
	}
	chain, err := n.src.Ancestors(n.ctx, id)
	if err != nil {
		return projects.Group{}, "", err
	}
	name := ""
	for i := len(chain) - 1; i >= 0; i-- {
		if name != "" {
			name += " / "
		}
		name += chain[i].Name
		n.names[chain[i].ID] = name
		n.groups[chain[i].ID] = chain[i]
	}
	if _, ok := n.names[id]; !ok {
		return projects.Group{}, "", fmt.Errorf("group %d has no ancestor chain", id)
	}
	return n.groups[id], n.names[id], nil
}

// groupWebURL is where GitLab shows a group.
func (g *API) groupWebURL(fullPath string) string {
	return g.site.URL + "/groups/" + fullPath
}

func (g *API) groupJSON(ns *glNamespaces, gr projects.Group) (glGroup, error) {
	_, full, err := ns.group(gr.ID)
	if err != nil {
		return glGroup{}, err
	}
	return glGroup{ID: gr.ID, Name: gr.Name, Path: gr.Path, FullName: full, FullPath: gr.FullPath,
		Description: gr.Description, Visibility: gr.Visibility, ParentID: gr.ParentID,
		WebURL: g.groupWebURL(gr.FullPath), CreatedAt: gr.CreatedAt}, nil
}

func (g *API) groupsJSON(c *gin.Context, rows []projects.Group) ([]glGroup, error) {
	ns := g.namespaces(c)
	out := make([]glGroup, 0, len(rows))
	for _, gr := range rows {
		j, err := g.groupJSON(ns, gr)
		if err != nil {
			return nil, err
		}
		out = append(out, j)
	}
	return out, nil
}

func (g *API) sendGroup(c *gin.Context, status int, gr projects.Group) {
	j, err := g.groupJSON(g.namespaces(c), gr)
	if err != nil {
		writeError(c, err)
		return
	}
	c.JSON(status, j)
}

// glGroupRequest creates or updates a group.
type glGroupRequest struct {
	Name        *string `json:"name" form:"name"`
	Path        *string `json:"path" form:"path"`
	ParentID    glParam `json:"parent_id" form:"parent_id"`
	Visibility  *string `json:"visibility" form:"visibility"`
	Description *string `json:"description" form:"description"`
}

func glString(s *string) string {
	if s == nil {
		return ""
	}
	return *s
}

// listGroups lists the groups the caller can see.
//
// GitLab API docs: https://docs.gitlab.com/api/groups/#list-groups
func (g *API) listGroups(c *gin.Context) {
	pg, ok := g.pageOf(c)
	if !ok {
		return
	}
	topLevel, _ := strconv.ParseBool(c.Query("top_level_only"))
	rows, err := g.groups.ListGroups(c.Request.Context(), middleware.Principal(c), c.Query("search"), topLevel, pg.limit(), pg.offset())
	if err != nil {
		writeError(c, err)
		return
	}
	out, err := g.groupsJSON(c, rows)
	if err != nil {
		writeError(c, err)
		return
	}
	glSendFetched(pg, out)
}

// createGroup creates a top-level group (any user, who becomes its owner)
// or, with parent_id, a subgroup (maintainers of the parent).
//
// GitLab API docs: https://docs.gitlab.com/api/groups/#create-a-group
func (g *API) createGroup(c *gin.Context) {
	var req glGroupRequest
	if !glBind(c, &req) {
		return
	}
	in := projects.GroupInput{Path: glString(req.Path), Name: glString(req.Name), Description: glString(req.Description),
		Visibility: glString(req.Visibility)}
	parent, set, err := req.ParentID.int64("parent_id")
	if err == nil && set && parent <= 0 {
		err = glInvalid("parent_id is invalid: %d is not a group id", parent)
	}
	if err != nil {
		writeError(c, err)
		return
	}
	if set {
		in.ParentID = &parent
	}
	gr, err := g.groups.CreateGroup(c.Request.Context(), middleware.Principal(c), in)
	if err != nil {
		writeError(c, err)
		return
	}
	g.sendGroup(c, http.StatusCreated, gr)
}

// getGroup shows a group by id or URL-encoded full path.
//
// GitLab API docs: https://docs.gitlab.com/api/groups/#get-a-single-group
func (g *API) getGroup(c *gin.Context) {
	gr, ok := g.group(c, "id")
	if !ok {
		return
	}
	g.sendGroup(c, http.StatusOK, gr)
}

// listSubgroups lists the visible direct subgroups of a group.
//
// GitLab API docs: https://docs.gitlab.com/api/groups/#list-subgroups
func (g *API) listSubgroups(c *gin.Context) {
	pg, ok := g.pageOf(c)
	if !ok {
		return
	}
	parent, ok := g.group(c, "id")
	if !ok {
		return
	}
	rows, err := g.groups.Subgroups(c.Request.Context(), middleware.Principal(c), parent)
	if err != nil {
		writeError(c, err)
		return
	}
	out, err := g.groupsJSON(c, rows)
	if err != nil {
		writeError(c, err)
		return
	}
	glSendAll(pg, out)
}

// groupUpdate merges a partial update into the group's current settings,
// since the service replaces name, description and visibility together.
// The path cannot change: a group's path is part of every module address
// beneath it.
func groupUpdate(cur projects.Group, name, path, description, visibility *string) (projects.GroupUpdate, error) {
	if path != nil && *path != cur.Path {
		return projects.GroupUpdate{}, glInvalid("path cannot be changed: a group's path is part of its modules' addresses")
	}
	return projects.GroupUpdate{Name: name, Description: description, Visibility: visibility}, nil
}

// updateGroup changes a group's name, description or visibility (owners).
//
// GitLab API docs: https://docs.gitlab.com/api/groups/#update-group-attributes
func (g *API) updateGroup(c *gin.Context) {
	var req glGroupRequest
	if !glBind(c, &req) {
		return
	}
	cur, ok := g.group(c, "id")
	if !ok {
		return
	}
	in, err := groupUpdate(cur, req.Name, req.Path, req.Description, req.Visibility)
	if err != nil {
		writeError(c, err)
		return
	}
	gr, err := g.groups.UpdateGroup(c.Request.Context(), middleware.Principal(c), cur, in)
	if err != nil {
		writeError(c, err)
		return
	}
	g.sendGroup(c, http.StatusOK, gr)
}

// deleteGroup deletes a group with everything beneath it (owners). GitLab
// schedules the deletion and answers 202; Cairn deletes at once and keeps
// the status code clients expect.
//
// GitLab API docs: https://docs.gitlab.com/api/groups/#delete-a-group
func (g *API) deleteGroup(c *gin.Context) {
	gr, ok := g.group(c, "id")
	if !ok {
		return
	}
	if err := g.groups.DeleteGroup(c.Request.Context(), middleware.Principal(c), gr); err != nil {
		writeError(c, err)
		return
	}
	c.JSON(http.StatusAccepted, gin.H{"message": "202 Accepted"})
}

// glPackageSettings is Cairn's own group package-settings shape.
//
// GitLab keeps these settings behind GraphQL (namespace package settings,
// terraformModuleDuplicatesAllowed and terraformModuleDuplicateExceptionRegex),
// so Cairn offers them over REST instead:
//
//	GET /api/v4/groups/:id/package_settings
//	PUT /api/v4/groups/:id/package_settings   (owners)
//	{"terraform_module_duplicates_allowed": false,
//	 "terraform_module_duplicate_exception_regex": "-beta$"}
//
// They say whether a module version may be published again in the group's
// namespace, and which versions are exempt (GitLab's duplicate setting and
// its exception regex); module publishing applies them. PUT takes either
// field alone.
type glPackageSettings struct {
	DuplicatesAllowed  bool   `json:"terraform_module_duplicates_allowed"`
	DuplicateException string `json:"terraform_module_duplicate_exception_regex"`
}

type glPackageSettingsRequest struct {
	DuplicatesAllowed  *bool   `json:"terraform_module_duplicates_allowed" form:"terraform_module_duplicates_allowed"`
	DuplicateException *string `json:"terraform_module_duplicate_exception_regex" form:"terraform_module_duplicate_exception_regex"`
}

func glPackageSettingsJSON(gr projects.Group) glPackageSettings {
	return glPackageSettings{DuplicatesAllowed: gr.Settings.DuplicatesAllowed,
		DuplicateException: gr.Settings.DuplicateException}
}

// getPackageSettings shows a group's Terraform module settings.
func (g *API) getPackageSettings(c *gin.Context) {
	gr, ok := g.group(c, "id")
	if !ok {
		return
	}
	c.JSON(http.StatusOK, glPackageSettingsJSON(gr))
}

// updatePackageSettings changes a group's Terraform module settings (owners).
func (g *API) updatePackageSettings(c *gin.Context) {
	var req glPackageSettingsRequest
	if !glBind(c, &req) {
		return
	}
	cur, ok := g.group(c, "id")
	if !ok {
		return
	}
	in := projects.GroupUpdate{DuplicatesAllowed: req.DuplicatesAllowed, DuplicateException: req.DuplicateException}
	gr, err := g.groups.UpdateGroup(c.Request.Context(), middleware.Principal(c), cur, in)
	if err != nil {
		writeError(c, err)
		return
	}
	c.JSON(http.StatusOK, glPackageSettingsJSON(gr))
}
