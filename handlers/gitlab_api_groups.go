package handlers

import (
	"context"
	"fmt"
	"net/http"
	"strconv"
	"time"

	"github.com/gin-gonic/gin"

	"github.com/cairn-registry/cairn/policies"
	"github.com/cairn-registry/cairn/projects"
	"github.com/cairn-registry/cairn/queries"
)

// gitlabGroups is what the groups endpoints need from the tenancy service.
type gitlabGroups interface {
	CreateGroup(ctx context.Context, p *policies.Principal, in projects.GroupInput) (queries.Group, error)
	FindGroup(ctx context.Context, p *policies.Principal, idOrPath string) (queries.Group, policies.Resource, error)
	ListGroups(ctx context.Context, p *policies.Principal, search string, topLevelOnly bool, limit, offset int) ([]queries.Group, error)
	Subgroups(ctx context.Context, p *policies.Principal, idOrPath string) ([]queries.Group, error)
	UpdateGroup(ctx context.Context, p *policies.Principal, idOrPath string, in projects.GroupUpdate) (queries.Group, error)
	DeleteGroup(ctx context.Context, p *policies.Principal, idOrPath string) error
	GroupAncestors(ctx context.Context, id int64) ([]queries.GroupAncestorsRow, error)
}

func (g *gitlabAPI) registerGroups(api *gin.RouterGroup) {
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
	groups map[int64]queries.GroupAncestorsRow
}

func (g *gitlabAPI) namespaces(c *gin.Context) *glNamespaces {
	return &glNamespaces{ctx: c.Request.Context(), src: g.groups,
		names: map[int64]string{}, groups: map[int64]queries.GroupAncestorsRow{}}
}

// group returns a group's row and full human name.
func (n *glNamespaces) group(id int64) (queries.GroupAncestorsRow, string, error) {
	if name, ok := n.names[id]; ok {
		return n.groups[id], name, nil
	}
	chain, err := n.src.GroupAncestors(n.ctx, id)
	if err != nil {
		return queries.GroupAncestorsRow{}, "", err
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
		return queries.GroupAncestorsRow{}, "", fmt.Errorf("group %d has no ancestor chain", id)
	}
	return n.groups[id], n.names[id], nil
}

// groupWebURL is where GitLab shows a group.
func (g *gitlabAPI) groupWebURL(fullPath string) string {
	return g.publicURL + "/groups/" + fullPath
}

func (g *gitlabAPI) groupJSON(ns *glNamespaces, gr queries.Group) (glGroup, error) {
	_, full, err := ns.group(gr.ID)
	if err != nil {
		return glGroup{}, err
	}
	return glGroup{ID: gr.ID, Name: gr.Name, Path: gr.Path, FullName: full, FullPath: gr.FullPath,
		Description: gr.Description, Visibility: gr.Visibility, ParentID: gr.ParentID,
		WebURL: g.groupWebURL(gr.FullPath), CreatedAt: gr.CreatedAt}, nil
}

func (g *gitlabAPI) groupsJSON(c *gin.Context, rows []queries.Group) ([]glGroup, error) {
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

func (g *gitlabAPI) sendGroup(c *gin.Context, status int, gr queries.Group) {
	j, err := g.groupJSON(g.namespaces(c), gr)
	if err != nil {
		gitlabError(c, err)
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
func (g *gitlabAPI) listGroups(c *gin.Context) {
	pg, ok := g.pageOf(c)
	if !ok {
		return
	}
	topLevel, _ := strconv.ParseBool(c.Query("top_level_only"))
	rows, err := g.groups.ListGroups(c.Request.Context(), principal(c), c.Query("search"), topLevel, pg.limit(), pg.offset())
	if err != nil {
		gitlabError(c, err)
		return
	}
	out, err := g.groupsJSON(c, rows)
	if err != nil {
		gitlabError(c, err)
		return
	}
	glSendFetched(pg, out)
}

// createGroup creates a top-level group (any user, who becomes its owner)
// or, with parent_id, a subgroup (maintainers of the parent).
//
// GitLab API docs: https://docs.gitlab.com/api/groups/#create-a-group
func (g *gitlabAPI) createGroup(c *gin.Context) {
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
		gitlabError(c, err)
		return
	}
	if set {
		in.ParentID = &parent
	}
	gr, err := g.groups.CreateGroup(c.Request.Context(), principal(c), in)
	if err != nil {
		gitlabError(c, err)
		return
	}
	g.sendGroup(c, http.StatusCreated, gr)
}

// getGroup shows a group by id or URL-encoded full path.
//
// GitLab API docs: https://docs.gitlab.com/api/groups/#get-a-single-group
func (g *gitlabAPI) getGroup(c *gin.Context) {
	gr, _, err := g.groups.FindGroup(c.Request.Context(), principal(c), c.Param("id"))
	if err != nil {
		gitlabError(c, err)
		return
	}
	g.sendGroup(c, http.StatusOK, gr)
}

// listSubgroups lists the visible direct subgroups of a group.
//
// GitLab API docs: https://docs.gitlab.com/api/groups/#list-subgroups
func (g *gitlabAPI) listSubgroups(c *gin.Context) {
	pg, ok := g.pageOf(c)
	if !ok {
		return
	}
	rows, err := g.groups.Subgroups(c.Request.Context(), principal(c), c.Param("id"))
	if err != nil {
		gitlabError(c, err)
		return
	}
	out, err := g.groupsJSON(c, rows)
	if err != nil {
		gitlabError(c, err)
		return
	}
	glSendAll(pg, out)
}

// groupUpdate merges a partial update into the group's current settings,
// since the service replaces name, description and visibility together.
// The path cannot change: a group's path is part of every module address
// beneath it.
func groupUpdate(cur queries.Group, name, path, description, visibility *string) (projects.GroupUpdate, error) {
	if path != nil && *path != cur.Path {
		return projects.GroupUpdate{}, glInvalid("path cannot be changed: a group's path is part of its modules' addresses")
	}
	return projects.GroupUpdate{Name: name, Description: description, Visibility: visibility}, nil
}

// updateGroup changes a group's name, description or visibility (owners).
//
// GitLab API docs: https://docs.gitlab.com/api/groups/#update-group-attributes
func (g *gitlabAPI) updateGroup(c *gin.Context) {
	var req glGroupRequest
	if !glBind(c, &req) {
		return
	}
	p := principal(c)
	cur, _, err := g.groups.FindGroup(c.Request.Context(), p, c.Param("id"))
	if err != nil {
		gitlabError(c, err)
		return
	}
	in, err := groupUpdate(cur, req.Name, req.Path, req.Description, req.Visibility)
	if err != nil {
		gitlabError(c, err)
		return
	}
	gr, err := g.groups.UpdateGroup(c.Request.Context(), p, strconv.FormatInt(cur.ID, 10), in)
	if err != nil {
		gitlabError(c, err)
		return
	}
	g.sendGroup(c, http.StatusOK, gr)
}

// deleteGroup deletes a group with everything beneath it (owners). GitLab
// schedules the deletion and answers 202; Cairn deletes at once and keeps
// the status code clients expect.
//
// GitLab API docs: https://docs.gitlab.com/api/groups/#delete-a-group
func (g *gitlabAPI) deleteGroup(c *gin.Context) {
	if err := g.groups.DeleteGroup(c.Request.Context(), principal(c), c.Param("id")); err != nil {
		gitlabError(c, err)
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

func glPackageSettingsJSON(gr queries.Group) glPackageSettings {
	return glPackageSettings{DuplicatesAllowed: gr.TerraformModuleDuplicatesAllowed,
		DuplicateException: gr.TerraformModuleDuplicateExceptionRegex}
}

// getPackageSettings shows a group's Terraform module settings.
func (g *gitlabAPI) getPackageSettings(c *gin.Context) {
	gr, _, err := g.groups.FindGroup(c.Request.Context(), principal(c), c.Param("id"))
	if err != nil {
		gitlabError(c, err)
		return
	}
	c.JSON(http.StatusOK, glPackageSettingsJSON(gr))
}

// updatePackageSettings changes a group's Terraform module settings (owners).
func (g *gitlabAPI) updatePackageSettings(c *gin.Context) {
	var req glPackageSettingsRequest
	if !glBind(c, &req) {
		return
	}
	p := principal(c)
	cur, _, err := g.groups.FindGroup(c.Request.Context(), p, c.Param("id"))
	if err != nil {
		gitlabError(c, err)
		return
	}
	in := projects.GroupUpdate{DuplicatesAllowed: req.DuplicatesAllowed, DuplicateException: req.DuplicateException}
	gr, err := g.groups.UpdateGroup(c.Request.Context(), p, strconv.FormatInt(cur.ID, 10), in)
	if err != nil {
		gitlabError(c, err)
		return
	}
	c.JSON(http.StatusOK, glPackageSettingsJSON(gr))
}
