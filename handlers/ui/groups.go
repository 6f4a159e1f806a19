package ui

import (
	"net/http"
	"sort"
	"strings"

	"github.com/gin-gonic/gin"

	"github.com/cairn-registry/cairn/errs"
	"github.com/cairn-registry/cairn/handlers/middleware"
	"github.com/cairn-registry/cairn/modules"
	"github.com/cairn-registry/cairn/modules/version"
	"github.com/cairn-registry/cairn/projects"
	"github.com/cairn-registry/cairn/views"
)

// group is /groups/*path: a group's subgroups, projects and modules.
func (u *UI) group(c *gin.Context) {
	path := strings.Trim(c.Param("path"), "/")
	if path == "" {
		NotFound(c)
		return
	}
	g, err := u.projects.GroupByPath(c.Request.Context(), middleware.Principal(c), path)
	if err != nil {
		writeError(c, err)
		return
	}
	u.groupPage(c, g)
}

// projectOrGroup answers a path outside the route table: a project's page
// (GitLab's /<group>/.../<project>), a group's, or the 404 page; each looked
// up as the viewer, so a hidden one is missing.
func (u *UI) projectOrGroup(c *gin.Context) {
	path := strings.Trim(c.Request.URL.Path, "/")
	if path == "" || strings.Contains(path, "//") {
		NotFound(c)
		return
	}
	ctx, p := c.Request.Context(), middleware.Principal(c)
	if strings.Contains(path, "/") {
		proj, err := u.projects.ProjectByPath(ctx, p, path)
		if err == nil {
			u.projectPage(c, proj)
			return
		}
		if !hidden(err) {
			writeError(c, err)
			return
		}
	}
	g, err := u.projects.GroupByPath(ctx, p, path)
	if err != nil {
		writeError(c, err)
		return
	}
	u.groupPage(c, g)
}

// hidden reports whether err means "not there for this viewer".
func hidden(err error) bool {
	switch errs.KindOf(err) {
	case errs.NotFound, errs.Forbidden, errs.Unauthenticated:
		return true
	}
	return false
}

// crumbs are the groups above (and including) fullPath as links.
func crumbs(fullPath string) []views.Crumb {
	var out []views.Crumb
	segs := strings.Split(fullPath, "/")
	for i := range segs {
		out = append(out, views.Crumb{Label: segs[i], URL: views.GroupURL(strings.Join(segs[:i+1], "/"))})
	}
	return out
}

func (u *UI) groupPage(c *gin.Context, g projects.Group) {
	ctx, p := c.Request.Context(), middleware.Principal(c)
	page := views.GroupPage{Group: g, Parents: crumbs(g.FullPath), Namespace: g.TopLevel(), ModuleHost: u.site.TerraformHost}
	var err error
	if page.Subgroups, err = u.projects.Subgroups(ctx, p, g); err != nil {
		writeError(c, err)
		return
	}
	if page.Projects, err = u.projects.ListProjects(ctx, p, &g, "", 100, 0); err != nil {
		writeError(c, err)
		return
	}
	// The namespace's modules the viewer may read, kept to this group's
	// projects (the catalog is per namespace).
	ns := strings.SplitN(g.FullPath, "/", 2)[0]
	res, _, err := u.modules.Narrowed(ctx, p, modules.SearchQuery{Limit: modules.MaxPageSize}, ns, "")
	if err != nil {
		writeError(c, err)
		return
	}
	for _, o := range res.Modules {
		if g.TopLevel() || strings.HasPrefix(strings.ToLower(o.ProjectPath), strings.ToLower(g.FullPath)+"/") {
			page.Modules = append(page.Modules, o)
		}
	}
	render(c, http.StatusOK, views.Group(u.chrome(c, g.Name), page))
}

func (u *UI) projectPage(c *gin.Context, proj projects.Project) {
	ctx, p := c.Request.Context(), middleware.Principal(c)
	page := views.ProjectPage{Project: proj, PublicURL: u.site.URL, ExampleName: "vpc", ExampleSystem: "aws"}
	page.Parents = crumbs(proj.FullPath)
	page.Parents[len(page.Parents)-1].URL = views.ProjectURL(proj.FullPath)
	pkgs, err := u.modules.ListPackages(ctx, p, proj, 100, 0)
	if err != nil && !hidden(err) {
		writeError(c, err)
		return
	}
	ns := strings.SplitN(proj.FullPath, "/", 2)[0]
	byName := map[string]int{}
	for _, pk := range pkgs {
		key := pk.Name + "/" + pk.System
		i, ok := byName[key]
		if !ok {
			i = len(page.Modules)
			byName[key] = i
			page.Modules = append(page.Modules, views.ProjectModule{Name: pk.Name, System: pk.System, Namespace: ns})
		}
		page.Modules[i].Versions = append(page.Modules[i].Versions, pk)
	}
	sort.Slice(page.Modules, func(i, j int) bool {
		return page.Modules[i].Name+"/"+page.Modules[i].System < page.Modules[j].Name+"/"+page.Modules[j].System
	})
	for _, m := range page.Modules {
		// Newest first by semantic version (modules/version decides order).
		sort.SliceStable(m.Versions, func(i, j int) bool {
			a, errA := version.Parse(m.Versions[i].Version)
			b, errB := version.Parse(m.Versions[j].Version)
			if errA != nil || errB != nil {
				return m.Versions[i].CreatedAt.After(m.Versions[j].CreatedAt)
			}
			return version.Compare(a, b) > 0
		})
	}
	if len(page.Modules) > 0 {
		page.ExampleName, page.ExampleSystem = page.Modules[0].Name, page.Modules[0].System
	}
	render(c, http.StatusOK, views.Project(u.chrome(c, proj.Name), page))
}
