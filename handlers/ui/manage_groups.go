package ui

import (
	"net/http"

	"github.com/gin-gonic/gin"

	"github.com/cairn-registry/cairn/policies"
	"github.com/cairn-registry/cairn/projects"
	"github.com/cairn-registry/cairn/views"
	"github.com/cairn-registry/cairn/views/admin"
)

// creatableGroups are the groups p may create subgroups or projects in
// (the first page of the groups p sees).
func (u *UI) creatableGroups(c *gin.Context, p *policies.Principal, a policies.Action) []projects.Group {
	gs, err := u.projects.ListGroups(c.Request.Context(), p, "", false, 200, 0)
	if err != nil {
		return nil
	}
	out := []projects.Group{}
	for _, g := range gs {
		if u.projects.Authorizer().Can(p, a, g.Resource()) {
			out = append(out, g)
		}
	}
	return out
}

func (u *UI) newGroupPage(c *gin.Context) {
	p, ok := u.viewer(c)
	if !ok {
		return
	}
	f := admin.NewForm("visibility", "private", "parent", c.Query("parent"))
	u.showNewGroup(c, p, http.StatusOK, f)
}

func (u *UI) showNewGroup(c *gin.Context, p *policies.Principal, status int, f admin.Form) {
	parents := u.creatableGroups(c, p, policies.CreateSubgroup)
	if !u.canCreate(p) && len(parents) == 0 {
		NotFound(c)
		return
	}
	render(c, status, admin.NewGroupPage(admin.NewGroup{Frame: admin.Frame{Chrome: u.chrome(c, "New group"), Heading: "New group",
		Crumbs: []views.Crumb{{Label: "Dashboard", URL: "/dashboard"}, {Label: "New group", URL: "/-/groups/new"}}}, Form: f, Parents: parents}))
}

func (u *UI) createGroup(c *gin.Context) {
	p, ok := u.viewer(c)
	if !ok {
		return
	}
	ctx := c.Request.Context()
	f := formOf(c, "name", "path", "parent", "visibility", "description")
	in := projects.GroupInput{Path: f.V("path"), Name: f.V("name"), Description: f.V("description"), Visibility: f.V("visibility")}
	if f.V("parent") != "" {
		parent, err := u.projects.GroupByPath(ctx, p, f.V("parent"))
		if err != nil {
			u.refused(c, err)
			return
		}
		in.ParentID = &parent.ID
	}
	g, err := u.projects.CreateGroup(ctx, p, in)
	if err != nil {
		if u.formFailed(c, err, &f, "name", "path", "visibility", "description") {
			u.showNewGroup(c, p, http.StatusUnprocessableEntity, f)
		}
		return
	}
	u.done(c, views.GroupURL(g.FullPath)+"/-/settings", "Group "+g.FullPath+" was created.")
}

// groupNav is the sections of a group's management.
func groupNav(g projects.Group, authz *policies.Authorizer, p *policies.Principal) []admin.NavItem {
	base := views.GroupURL(g.FullPath)
	nav := []admin.NavItem{{ID: "overview", Label: "Overview", URL: base}, {ID: "settings", Label: "Settings", URL: base + "/-/settings"},
		{ID: "members", Label: "Members", URL: base + "/-/members"}}
	if authz.Can(p, policies.ManageGroupTokens, g.Resource()) {
		nav = append(nav, admin.NavItem{ID: "tokens", Label: "Deploy tokens", URL: base + "/-/tokens"})
	}
	return nav
}

// groupSection serves /groups/<path>/-/<section>[/sub].
func (u *UI) groupSection(c *gin.Context, path, section, sub string) bool {
	m := c.Request.Method
	get := m == http.MethodGet || m == http.MethodHead
	switch {
	case section == "settings" && sub == "" && (get || m == http.MethodPost),
		section == "delete" && sub == "" && m == http.MethodPost,
		section == "members", section == "tokens":
	default:
		return false
	}
	p, ok := u.viewer(c)
	if !ok {
		return true
	}
	g, err := u.projects.GroupByPath(c.Request.Context(), p, path)
	if err != nil {
		writeError(c, err)
		return true
	}
	switch section {
	case "settings":
		if get {
			u.groupSettings(c, p, g, http.StatusOK, groupForm(g), admin.NewForm())
		} else {
			u.updateGroup(c, p, g)
		}
	case "delete":
		u.deleteGroup(c, p, g)
	case "members":
		u.members(c, p, u.groupSubject(c, p, g), sub)
	case "tokens":
		u.deployTokens(c, p, u.groupSubject(c, p, g), sub)
	}
	return true
}

func groupForm(g projects.Group) admin.Form {
	f := admin.NewForm("name", g.Name, "description", g.Description, "visibility", g.Visibility,
		"terraform_module_duplicate_exception_regex", g.Settings.DuplicateException)
	if g.Settings.DuplicatesAllowed {
		f.Values["terraform_module_duplicates_allowed"] = "true"
	}
	return f
}

func (u *UI) groupFrame(c *gin.Context, p *policies.Principal, g projects.Group, title, current string) admin.Frame {
	crumbs := crumbsOf(u.chain(c.Request.Context(), g))
	return admin.Frame{Chrome: u.chrome(c, title+" · "+g.FullPath), Heading: g.Name, Crumbs: crumbs, Nav: groupNav(g, u.projects.Authorizer(), p), Current: current}
}

func (u *UI) groupSettings(c *gin.Context, p *policies.Principal, g projects.Group, status int, f, del admin.Form) {
	ctx := c.Request.Context()
	authz := u.projects.Authorizer()
	subs, err := u.projects.Subgroups(ctx, p, g)
	if err != nil {
		writeError(c, err)
		return
	}
	prs, err := u.projects.ListProjects(ctx, p, &g, "", 100, 0)
	if err != nil {
		writeError(c, err)
		return
	}
	render(c, status, admin.GroupSettingsPage(admin.GroupSettings{Frame: u.groupFrame(c, p, g, "Settings", "settings"), Group: g, Form: f, DeleteForm: del,
		CanEdit: authz.Can(p, policies.AdminGroup, g.Resource()), CanDelete: authz.Can(p, policies.DeleteGroup, g.Resource()),
		CanCreate: authz.Can(p, policies.CreateProject, g.Resource()) || authz.Can(p, policies.CreateSubgroup, g.Resource()),
		Subgroups: subs, Projects: prs}))
}

func (u *UI) updateGroup(c *gin.Context, p *policies.Principal, g projects.Group) {
	f := formOf(c, "name", "description", "visibility", "terraform_module_duplicate_exception_regex", "terraform_module_duplicates_allowed")
	dups := f.V("terraform_module_duplicates_allowed") == "true"
	re := f.V("terraform_module_duplicate_exception_regex")
	name, desc, vis := f.V("name"), f.V("description"), f.V("visibility")
	out, err := u.projects.UpdateGroup(c.Request.Context(), p, g, projects.GroupUpdate{Name: &name, Description: &desc, Visibility: &vis,
		DuplicatesAllowed: &dups, DuplicateException: &re})
	if err != nil {
		if u.formFailed(c, err, &f, "name", "description", "visibility", "terraform_module_duplicate_exception_regex") {
			u.groupSettings(c, p, g, http.StatusUnprocessableEntity, f, admin.NewForm())
		}
		return
	}
	u.done(c, views.GroupURL(out.FullPath)+"/-/settings", "Settings of "+out.FullPath+" were saved.")
}

func (u *UI) deleteGroup(c *gin.Context, p *policies.Principal, g projects.Group) {
	del := formOf(c, "confirm")
	if u.projects.Authorizer().Can(p, policies.DeleteGroup, g.Resource()) && del.V("confirm") != g.FullPath {
		del.Errors["confirm"] = "Type " + g.FullPath + " exactly to confirm."
		u.groupSettings(c, p, g, http.StatusUnprocessableEntity, groupForm(g), del)
		return
	}
	if err := u.projects.DeleteGroup(c.Request.Context(), p, g); err != nil {
		u.refused(c, err)
		return
	}
	u.done(c, "/dashboard", "Group "+g.FullPath+" was deleted.")
}

// groupSubject describes a group for the shared members and token pages.
func (u *UI) groupSubject(c *gin.Context, p *policies.Principal, g projects.Group) subject {
	chain := u.chain(c.Request.Context(), g)
	return subject{
		target: projects.GroupTarget(g), base: views.GroupURL(g.FullPath), path: g.FullPath, inherit: chain[:len(chain)-1],
		frame: func(title, current string) admin.Frame { return u.groupFrame(c, p, g, title, current) },
	}
}
