package ui

import (
	"context"
	"net/http"
	"net/url"
	"runtime/debug"
	"strings"
	"time"

	"github.com/gin-gonic/gin"

	"github.com/cairn-registry/cairn/audit"
	"github.com/cairn-registry/cairn/config"
	"github.com/cairn-registry/cairn/errs"
	"github.com/cairn-registry/cairn/handlers/middleware"
	"github.com/cairn-registry/cairn/policies"
	"github.com/cairn-registry/cairn/users"
	"github.com/cairn-registry/cairn/views"
	"github.com/cairn-registry/cairn/views/admin"
)

// registerAdmin mounts the administration area, /admin, for instance
// administrators; everyone else gets the 404 page.
func (u *UI) registerAdmin(r *gin.Engine) {
	a := r.Group("/admin", u.adminOnly)
	a.GET("", func(c *gin.Context) { c.Redirect(http.StatusSeeOther, "/admin/users") })
	a.GET("/users", u.adminUsers)
	a.POST("/users", u.adminCreateUser)
	a.GET("/users/:username", u.adminUser)
	a.POST("/users/:username/block", u.adminBlock)
	a.POST("/users/:username/admin", u.adminSetAdmin)
	a.POST("/users/:username/password", u.adminPassword)
	a.POST("/users/:username/sessions", u.adminEndSessions)
	a.GET("/user-groups", u.adminUserGroups)
	a.POST("/user-groups", u.adminCreateUserGroup)
	a.GET("/user-groups/:name", u.adminUserGroup)
	a.POST("/user-groups/:name/delete", u.adminDeleteUserGroup)
	a.POST("/user-groups/:name/members", u.adminAddUserGroupMember)
	a.POST("/user-groups/:name/members/:username/remove", u.adminRemoveUserGroupMember)
	a.POST("/user-groups/:name/permissions", u.adminSetPermission)
	a.POST("/user-groups/:name/permissions/:ns/delete", u.adminDeletePermission)
	a.GET("/audit", u.adminAudit)
	a.GET("/system", u.adminSystem)
}

// adminOnly answers anyone but an instance administrator with the 404 page
// (anonymous visitors too: the area's existence is not advertised).
func (u *UI) adminOnly(c *gin.Context) {
	p := middleware.Principal(c)
	if p.Kind != policies.User || u.projects.Authorizer().CheckInstance(p, policies.AdminInstance) != nil {
		NotFound(c)
		return
	}
	c.Next()
}

var adminNav = []admin.NavItem{{ID: "users", Label: "Users", URL: "/admin/users"}, {ID: "user-groups", Label: "User groups", URL: "/admin/user-groups"},
	{ID: "audit", Label: "Audit log", URL: "/admin/audit"}, {ID: "system", Label: "System", URL: "/admin/system"}}

func (u *UI) adminFrame(c *gin.Context, title, current string, more ...views.Crumb) admin.Frame {
	crumbs := append([]views.Crumb{{Label: "Admin", URL: "/admin"}}, more...)
	return admin.Frame{Chrome: u.chrome(c, title+" · Admin"), Heading: title, Nav: adminNav, Current: current, Crumbs: crumbs}
}

const usersPerPage = 25

func (u *UI) adminUsers(c *gin.Context) {
	u.showAdminUsers(c, http.StatusOK, admin.NewForm())
}

func (u *UI) showAdminUsers(c *gin.Context, status int, f admin.Form) {
	p := middleware.Principal(c)
	q := strings.TrimSpace(c.Query("q"))
	page, off := pageArgs(c, usersPerPage)
	list, err := u.users.ListUsers(c.Request.Context(), p, q, usersPerPage+1, off)
	if err != nil {
		writeError(c, err)
		return
	}
	more := len(list) > usersPerPage
	if more {
		list = list[:usersPerPage]
	}
	prev, next := pageLinks(c, page, more)
	render(c, status, admin.UsersPage(admin.AdminUsers{Frame: u.adminFrame(c, "Users", "users"), Q: q, Users: list, Prev: prev, Next: next, PageNo: page, Form: f}))
}

func (u *UI) adminCreateUser(c *gin.Context) {
	p := middleware.Principal(c)
	f := formOf(c, "username", "name", "email", "admin")
	f.Values["password"] = c.PostForm("password")
	usr, err := u.users.CreateUser(c.Request.Context(), p, users.UserInput{Username: f.V("username"), Name: f.V("name"), Email: f.V("email"),
		Password: f.V("password"), Admin: f.V("admin") == "true"})
	if err != nil {
		f.Values["password"] = ""
		if u.formFailed(c, err, &f, "username", "name", "email", "password") {
			u.showAdminUsers(c, http.StatusUnprocessableEntity, f)
		}
		return
	}
	u.done(c, "/admin/users/"+url.PathEscape(usr.Username), "User "+usr.Username+" was created.")
}

// adminTarget is the user named in the path.
func (u *UI) adminTarget(c *gin.Context) (*policies.Principal, users.User, bool) {
	p := middleware.Principal(c)
	usr, err := u.users.UserByUsername(c.Request.Context(), p, c.Param("username"))
	if err != nil {
		writeError(c, err)
		return p, usr, false
	}
	return p, usr, true
}

func (u *UI) adminUser(c *gin.Context) {
	u.showAdminUser(c, http.StatusOK, admin.NewForm())
}

func (u *UI) showAdminUser(c *gin.Context, status int, f admin.Form) {
	p, usr, ok := u.adminTarget(c)
	if !ok {
		return
	}
	ss, err := u.users.Sessions(c.Request.Context(), p, usr.ID)
	if err != nil {
		writeError(c, err)
		return
	}
	fr := u.adminFrame(c, usr.Name, "users", views.Crumb{Label: "Users", URL: "/admin/users"}, views.Crumb{Label: usr.Username, URL: "/admin/users/" + url.PathEscape(usr.Username)})
	render(c, status, admin.UserPage(admin.AdminUser{Frame: fr, User: usr, Sessions: len(ss), Form: f}))
}

func (u *UI) adminBlock(c *gin.Context) {
	p, usr, ok := u.adminTarget(c)
	if !ok {
		return
	}
	block := c.PostForm("blocked") == "true"
	if _, err := u.users.SetBlocked(c.Request.Context(), p, usr.ID, block); err != nil {
		u.refused(c, err)
		return
	}
	msg := usr.Username + " was unblocked."
	if block {
		msg = usr.Username + " was blocked and signed out everywhere."
	}
	u.done(c, "/admin/users/"+url.PathEscape(usr.Username), msg)
}

// adminSetAdmin makes the user an administrator or takes the role away.
func (u *UI) adminSetAdmin(c *gin.Context) {
	p, usr, ok := u.adminTarget(c)
	if !ok {
		return
	}
	makeAdmin := c.PostForm("admin") == "true"
	if _, err := u.users.SetAdmin(c.Request.Context(), p, usr.ID, makeAdmin); err != nil {
		u.refused(c, err)
		return
	}
	msg := usr.Username + " is no longer an administrator."
	if makeAdmin {
		msg = usr.Username + " is now an administrator."
	}
	u.done(c, "/admin/users/"+url.PathEscape(usr.Username), msg)
}

// adminPassword sets a user's password. users.SetPassword is the
// command line's (no principal), so the administrator check is made first.
func (u *UI) adminPassword(c *gin.Context) {
	p, usr, ok := u.adminTarget(c)
	if !ok {
		return
	}
	if err := u.projects.Authorizer().CheckInstance(p, policies.AdminInstance); err != nil {
		u.refused(c, err)
		return
	}
	f := admin.NewForm()
	if _, err := u.users.SetPassword(c.Request.Context(), usr.Username, c.PostForm("password")); err != nil {
		if u.formFailed(c, err, &f, "password") {
			u.showAdminUser(c, http.StatusUnprocessableEntity, f)
		}
		return
	}
	u.done(c, "/admin/users/"+url.PathEscape(usr.Username), "The password of "+usr.Username+" was set.")
}

func (u *UI) adminEndSessions(c *gin.Context) {
	p, usr, ok := u.adminTarget(c)
	if !ok {
		return
	}
	keep := ""
	if usr.ID == p.UserID {
		keep = u.sessions.GetString(c.Request.Context(), keySession)
	}
	if _, err := u.users.EndSessions(c.Request.Context(), p, usr.ID, keep); err != nil {
		u.refused(c, err)
		return
	}
	u.done(c, "/admin/users/"+url.PathEscape(usr.Username), usr.Username+" was signed out everywhere.")
}

func (u *UI) adminUserGroups(c *gin.Context) {
	u.showUserGroups(c, http.StatusOK, admin.NewForm())
}

func (u *UI) showUserGroups(c *gin.Context, status int, f admin.Form) {
	gs, err := u.users.ListUserGroups(c.Request.Context(), middleware.Principal(c))
	if err != nil {
		writeError(c, err)
		return
	}
	render(c, status, admin.UserGroupsPage(admin.AdminUserGroups{Frame: u.adminFrame(c, "User groups", "user-groups"), Groups: gs, Form: f}))
}

func (u *UI) adminCreateUserGroup(c *gin.Context) {
	f := formOf(c, "name", "site_admin")
	g, err := u.users.CreateUserGroup(c.Request.Context(), middleware.Principal(c), f.V("name"), f.V("site_admin") == "true")
	if err != nil {
		if u.formFailed(c, err, &f, "name") {
			u.showUserGroups(c, http.StatusUnprocessableEntity, f)
		}
		return
	}
	u.done(c, "/admin/user-groups/"+url.PathEscape(g.Name), "User group "+g.Name+" was created.")
}

func ugPath(name string) string { return "/admin/user-groups/" + url.PathEscape(name) }

func (u *UI) adminUserGroup(c *gin.Context) {
	u.showUserGroup(c, http.StatusOK, admin.NewForm(), admin.NewForm("permission", users.PermissionModify))
}

func (u *UI) showUserGroup(c *gin.Context, status int, mf, pf admin.Form) {
	ctx := c.Request.Context()
	p := middleware.Principal(c)
	name := c.Param("name")
	gs, err := u.users.ListUserGroups(ctx, p)
	if err != nil {
		writeError(c, err)
		return
	}
	var g *users.UserGroup
	for i := range gs {
		if strings.EqualFold(gs[i].Name, name) {
			g = &gs[i]
		}
	}
	if g == nil {
		NotFound(c)
		return
	}
	members, err := u.users.ListUserGroupMembers(ctx, p, g.Name)
	if err != nil {
		writeError(c, err)
		return
	}
	namespaces, err := u.projects.ListGroups(ctx, p, "", true, 500, 0)
	if err != nil {
		writeError(c, err)
		return
	}
	fr := u.adminFrame(c, g.Name, "user-groups", views.Crumb{Label: "User groups", URL: "/admin/user-groups"}, views.Crumb{Label: g.Name, URL: ugPath(g.Name)})
	render(c, status, admin.UserGroupPage(admin.AdminUserGroup{Frame: fr, Group: *g, Members: members, Namespaces: namespaces, MemberForm: mf, PermForm: pf}))
}

func (u *UI) adminDeleteUserGroup(c *gin.Context) {
	name := c.Param("name")
	if err := u.users.DeleteUserGroup(c.Request.Context(), middleware.Principal(c), name); err != nil {
		u.refused(c, err)
		return
	}
	u.done(c, "/admin/user-groups", "User group "+name+" was deleted.")
}

func (u *UI) adminAddUserGroupMember(c *gin.Context) {
	name := c.Param("name")
	f := formOf(c, "username")
	if _, err := u.users.AddUserGroupMember(c.Request.Context(), middleware.Principal(c), name, f.V("username")); err != nil {
		if u.formFailed(c, err, &f, "username") {
			u.showUserGroup(c, http.StatusUnprocessableEntity, f, admin.NewForm("permission", users.PermissionModify))
		}
		return
	}
	u.done(c, ugPath(name), f.V("username")+" was added to "+name+".")
}

func (u *UI) adminRemoveUserGroupMember(c *gin.Context) {
	name := c.Param("name")
	if err := u.users.RemoveUserGroupMember(c.Request.Context(), middleware.Principal(c), name, c.Param("username")); err != nil {
		u.refused(c, err)
		return
	}
	u.done(c, ugPath(name), c.Param("username")+" was removed from "+name+".")
}

func (u *UI) adminSetPermission(c *gin.Context) {
	name := c.Param("name")
	f := formOf(c, "namespace", "permission")
	if _, err := u.users.SetUserGroupPermission(c.Request.Context(), middleware.Principal(c), name, f.V("namespace"), f.V("permission")); err != nil {
		if u.formFailed(c, err, &f, "namespace", "permission") {
			u.showUserGroup(c, http.StatusUnprocessableEntity, admin.NewForm(), f)
		}
		return
	}
	u.done(c, ugPath(name), name+" now has "+f.V("permission")+" on "+f.V("namespace")+".")
}

func (u *UI) adminDeletePermission(c *gin.Context) {
	name, ns := c.Param("name"), c.Param("ns")
	if err := u.users.DeleteUserGroupPermission(c.Request.Context(), middleware.Principal(c), name, ns); err != nil {
		u.refused(c, err)
		return
	}
	u.done(c, ugPath(name), name+" no longer has a permission on "+ns+".")
}

const eventsPerPage = 25

// auditDate is the form's date format (an <input type="date">'s value).
const auditDate = "2006-01-02"

// adminAudit is the audit log: a free-text search, exact filters by user,
// action and object type, and a date range (from and to, both inclusive,
// in UTC), all in the URL so that a filtered page can be shared.
func (u *UI) adminAudit(c *gin.Context) {
	f := admin.NewForm()
	for _, k := range []string{"q", "actor", "action", "object_type", "since", "until"} {
		f.Values[k] = strings.TrimSpace(c.Query(k))
	}
	oldest := c.Query("order") == "oldest"
	page, off := pageArgs(c, eventsPerPage)
	aq := audit.Query{Offset: off, Limit: eventsPerPage, Search: f.V("q"), Actor: f.V("actor"), Action: f.V("action"),
		ObjectType: f.V("object_type"), OldestFirst: oldest}
	if v := f.V("since"); v != "" {
		t, err := time.Parse(auditDate, v)
		if err != nil {
			f.Errors["since"] = "Enter a date as YYYY-MM-DD."
		}
		aq.Since = t
	}
	if v := f.V("until"); v != "" {
		t, err := time.Parse(auditDate, v)
		if err != nil {
			f.Errors["until"] = "Enter a date as YYYY-MM-DD."
		}
		aq.Until = t.AddDate(0, 0, 1) // the whole day
	}
	fr := u.adminFrame(c, "Audit log", "audit")
	if len(f.Errors) > 0 {
		render(c, http.StatusUnprocessableEntity, admin.AuditPage(admin.AdminAudit{Frame: fr, Q: f.V("q"), Oldest: oldest, PageNo: page}, f))
		return
	}
	res, err := u.manage.Audit.List(c.Request.Context(), middleware.Principal(c), aq)
	if err != nil {
		if errs.KindOf(err) == errs.Invalid && errs.FieldOf(err) == "until" {
			f.Errors["until"] = errs.Message(err)
			render(c, http.StatusUnprocessableEntity, admin.AuditPage(admin.AdminAudit{Frame: fr, Q: f.V("q"), Oldest: oldest, PageNo: page}, f))
			return
		}
		if errs.KindOf(err) == errs.Invalid {
			NotFound(c)
			return
		}
		writeError(c, err)
		return
	}
	prev, next := pageLinks(c, page, int64(off+len(res.Events)) < res.Filtered)
	render(c, http.StatusOK, admin.AuditPage(admin.AdminAudit{Frame: fr, Q: f.V("q"), Oldest: oldest, Page: res, Prev: prev, Next: next, PageNo: page}, f))
}

func (u *UI) adminSystem(c *gin.Context) {
	s := admin.AdminSystem{Frame: u.adminFrame(c, "System", "system"), Version: buildVersion()}
	ctx, cancel := context.WithTimeout(c.Request.Context(), 3*time.Second)
	defer cancel()
	for _, name := range sortedKeys(u.manage.Ready) {
		s.Checks = append(s.Checks, admin.ReadyCheck{Name: name, OK: u.manage.Ready[name].Ping(ctx) == nil})
	}
	for _, v := range config.Vars {
		val, set := u.manage.Settings[v.Env]
		st := admin.Setting{Env: v.Env, Default: v.Default, Help: v.Help, Value: val}
		if !set {
			st.Value = v.Default
		}
		if set && val != "" && secretVar(v.Env) {
			st.Masked, st.Value = true, ""
		}
		s.Config = append(s.Config, st)
	}
	render(c, http.StatusOK, admin.SystemPage(s))
}

// secretVar reports whether a variable's value is a secret (or may carry
// one, as a database URL's password).
func secretVar(env string) bool {
	for _, w := range []string{"SECRET", "PASSWORD", "_KEY", "DATABASE_URL"} {
		if strings.Contains(env, w) {
			return true
		}
	}
	return false
}

func sortedKeys[V any](m map[string]V) []string {
	out := make([]string, 0, len(m))
	for k := range m {
		out = append(out, k)
	}
	for i := 1; i < len(out); i++ {
		for j := i; j > 0 && out[j] < out[j-1]; j-- {
			out[j], out[j-1] = out[j-1], out[j]
		}
	}
	return out
}

// buildVersion is the running binary's version as the build recorded it.
func buildVersion() string {
	bi, ok := debug.ReadBuildInfo()
	if !ok {
		return "unknown"
	}
	v := bi.Main.Version
	for _, s := range bi.Settings {
		if s.Key == "vcs.revision" && len(s.Value) >= 12 {
			v += " (" + s.Value[:12] + ")"
		}
	}
	if v == "" {
		v = "dev"
	}
	return v
}
