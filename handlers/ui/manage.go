package ui

import (
	"context"
	"net/http"
	"net/url"
	"strconv"
	"strings"

	"github.com/gin-gonic/gin"

	"github.com/cairn-registry/cairn/audit"
	"github.com/cairn-registry/cairn/errs"
	"github.com/cairn-registry/cairn/gitimport"
	"github.com/cairn-registry/cairn/handlers/middleware"
	"github.com/cairn-registry/cairn/policies"
	"github.com/cairn-registry/cairn/projects"
	"github.com/cairn-registry/cairn/views"
	"github.com/cairn-registry/cairn/views/admin"
)

// Pinger is a dependency the system page checks (the database, the blob
// store), as /readyz does.
type Pinger interface {
	Ping(ctx context.Context) error
}

// Manage is what the management pages need beyond the browse pages.
type Manage struct {
	Audit *audit.Service
	// Ready lists the dependencies the system page checks, by name.
	Ready map[string]Pinger
	// Settings are the configuration values the system page shows (by
	// variable name); nil shows only the defaults.
	Settings map[string]string
	// MaxUpload bounds an archive published from the browser.
	MaxUpload int64
	// Imports serves the projects' Repository pages (git imports); nil
	// hides them.
	Imports *gitimport.Service
}

// registerManage mounts the management pages. It runs before any other
// route is added: the pages below a group's or project's path
// (/groups/<path>/-/..., /<project path>/-/...) are dispatched by a
// middleware, since those paths have no fixed depth; the others are routes.
func (u *UI) registerManage(r *gin.Engine) {
	r.Use(u.manageDispatch)
	r.GET("/dashboard", u.dashboard)
	r.GET("/-/groups/new", u.newGroupPage)
	r.POST("/-/groups/new", u.createGroup)
	r.GET("/-/projects/new", u.newProjectPage)
	r.POST("/-/projects/new", u.createProject)
	u.registerSettings(r)
	u.registerAdmin(r)
}

// manageDispatch serves /groups/<group>/-/<section>[/...] and
// /<project>/-/<section>[/...].
func (u *UI) manageDispatch(c *gin.Context) {
	p := c.Request.URL.Path
	i := strings.Index(p, "/-/")
	if i <= 0 {
		c.Next()
		return
	}
	owner, rest := p[1:i], p[i+3:]
	section, sub, _ := strings.Cut(rest, "/")
	var h func(c *gin.Context, path, section, sub string) bool
	if g, ok := strings.CutPrefix(owner, "groups/"); ok {
		owner, h = g, u.groupSection
	} else {
		h = u.projectSection
	}
	if owner == "" || !h(c, owner, section, sub) {
		c.Next()
		return
	}
	c.Abort()
}

// viewer is the signed-in principal; anonymous visitors are sent to sign in
// (GET) or refused (anything else). ok is false when answered.
func (u *UI) viewer(c *gin.Context) (*policies.Principal, bool) {
	p := middleware.Principal(c)
	if p.Kind == policies.User {
		return p, true
	}
	if c.Request.Method == http.MethodGet || c.Request.Method == http.MethodHead {
		c.Abort()
		c.Redirect(http.StatusSeeOther, "/login?next="+url.QueryEscape(c.Request.URL.RequestURI()))
		return nil, false
	}
	NotFound(c)
	return nil, false
}

// refused answers a failed action: a refusal the viewer may know about
// (they can see the thing) is the 403 page, not the 404 page.
func (u *UI) refused(c *gin.Context, err error) {
	if errs.KindOf(err) == errs.Forbidden {
		c.Abort()
		render(c, http.StatusForbidden, views.Problem(u.chrome(c, "Not allowed"), "You are not allowed to do that",
			"Your role here does not allow this action. Ask an owner or maintainer if you need it."))
		return
	}
	// A refused action without a form to show again (422 is kept for
	// forms, which htmx swaps in place).
	if k := errs.KindOf(err); (k == errs.Invalid || k == errs.Conflict || k == errs.TooLarge) && errs.Message(err) != "" {
		status := http.StatusBadRequest
		if k == errs.Conflict {
			status = http.StatusConflict
		}
		c.Abort()
		render(c, status, views.Problem(u.chrome(c, "Not done"), "That could not be done", errs.Message(err)))
		return
	}
	writeError(c, err)
}

// formFailed fills f from a domain error with a message for a person and
// reports whether the form should be shown again (422); otherwise the error
// has been answered.
func (u *UI) formFailed(c *gin.Context, err error, f *admin.Form, fields ...string) bool {
	msg := errs.Message(err)
	switch errs.KindOf(err) {
	case errs.Invalid, errs.Conflict, errs.TooLarge:
	case errs.NotFound:
		// A named thing that does not exist (a user to add, a namespace).
		if errs.FieldOf(err) == "" {
			u.refused(c, err)
			return false
		}
	default:
		u.refused(c, err)
		return false
	}
	if msg == "" {
		msg = "That could not be saved."
	}
	field := errs.FieldOf(err)
	known := field == ""
	for _, k := range fields {
		if k == field {
			known = true
		}
	}
	if !known {
		field = ""
	}
	if f.Errors == nil {
		f.Errors = map[string]string{}
	}
	f.Errors[field] = msg
	return true
}

// done ends a successful action: a flash message and 303 to the next page
// (htmx follows with a full navigation).
func (u *UI) done(c *gin.Context, next, flash string) {
	if flash != "" {
		u.sessions.Put(c.Request.Context(), keyFlash, flash)
	}
	c.Abort()
	if c.GetHeader("HX-Request") == "true" {
		c.Header("HX-Redirect", next)
		c.Status(http.StatusOK)
		return
	}
	c.Redirect(http.StatusSeeOther, next)
}

// formOf is a form of the posted values named.
func formOf(c *gin.Context, names ...string) admin.Form {
	f := admin.NewForm()
	for _, n := range names {
		f.Values[n] = strings.TrimSpace(c.PostForm(n))
	}
	return f
}

// pageArgs reads ?page= (1-based) for lists of size per.
func pageArgs(c *gin.Context, per int) (page, offset int) {
	page, _ = strconv.Atoi(c.Query("page"))
	if page < 1 || page > 100000 {
		page = 1
	}
	return page, (page - 1) * per
}

// pageLinks are the previous and next pages' URLs of a list at page.
func pageLinks(c *gin.Context, page int, more bool) (prev, next string) {
	q := c.Request.URL.Query()
	link := func(n int) string {
		q.Set("page", strconv.Itoa(n))
		return c.Request.URL.Path + "?" + q.Encode()
	}
	if page > 1 {
		prev = link(page - 1)
	}
	if more {
		next = link(page + 1)
	}
	return prev, next
}

// crumbsOf is the breadcrumb trail of a group path's ancestors and itself.
func crumbsOf(chain []projects.Group) []views.Crumb {
	out := []views.Crumb{{Label: "Dashboard", URL: "/dashboard"}}
	for _, g := range chain {
		out = append(out, views.Crumb{Label: g.Name, URL: views.GroupURL(g.FullPath)})
	}
	return out
}

// chain is g's ancestors, root first, and g.
func (u *UI) chain(ctx context.Context, g projects.Group) []projects.Group {
	anc, err := u.projects.Ancestors(ctx, g.ID)
	if err != nil {
		return []projects.Group{g}
	}
	out := []projects.Group{}
	for _, a := range anc {
		if a.ID != g.ID {
			out = append(out, a)
		}
	}
	return append(out, g)
}

// canCreate reports whether p may create top-level groups.
func (u *UI) canCreate(p *policies.Principal) bool {
	return u.projects.Authorizer().CheckInstance(p, policies.CreateNamespace) == nil
}

// dashboardPerPage bounds each list of the dashboard.
const dashboardPerPage = 30

// dashboard is the signed-in user's start page.
func (u *UI) dashboard(c *gin.Context) {
	p, ok := u.viewer(c)
	if !ok {
		return
	}
	ctx := c.Request.Context()
	page, off := pageArgs(c, dashboardPerPage)
	groups, err := u.projects.ListGroups(ctx, p, "", false, dashboardPerPage+1, off)
	if err != nil {
		writeError(c, err)
		return
	}
	prs, err := u.projects.ListProjects(ctx, p, nil, "", dashboardPerPage+1, off)
	if err != nil {
		writeError(c, err)
		return
	}
	more := len(groups) > dashboardPerPage || len(prs) > dashboardPerPage
	groups, prs = groups[:min(len(groups), dashboardPerPage)], prs[:min(len(prs), dashboardPerPage)]
	d := admin.Dashboard{Frame: admin.Frame{Chrome: u.chrome(c, views.PageTitle("Dashboard", page)), Heading: "Dashboard"}, Groups: groups, Projects: prs,
		CanCreate: u.canCreate(p), PageNo: page}
	d.Prev, d.Next = pageLinks(c, page, more)
	for i, pr := range prs {
		if i == 10 {
			break
		}
		vs, err := u.modules.ListPackages(ctx, p, pr, 3, 0)
		if err != nil {
			continue
		}
		for _, v := range vs {
			d.Recent = append(d.Recent, admin.Recent{Project: pr, Package: v})
		}
	}
	sortRecent(d.Recent)
	if len(d.Recent) > 10 {
		d.Recent = d.Recent[:10]
	}
	render(c, http.StatusOK, admin.DashboardPage(d))
}

func sortRecent(rs []admin.Recent) {
	for i := 1; i < len(rs); i++ {
		for j := i; j > 0 && rs[j].CreatedAt.After(rs[j-1].CreatedAt); j-- {
			rs[j], rs[j-1] = rs[j-1], rs[j]
		}
	}
}
