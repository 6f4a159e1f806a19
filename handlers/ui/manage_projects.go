package ui

import (
	"net/http"
	"net/url"
	"strconv"
	"strings"

	"github.com/gin-gonic/gin"

	"github.com/cairn-registry/cairn/errs"
	"github.com/cairn-registry/cairn/modules"
	"github.com/cairn-registry/cairn/policies"
	"github.com/cairn-registry/cairn/projects"
	"github.com/cairn-registry/cairn/tokens"
	"github.com/cairn-registry/cairn/views"
	"github.com/cairn-registry/cairn/views/admin"
)

func (u *UI) newProjectPage(c *gin.Context) {
	p, ok := u.viewer(c)
	if !ok {
		return
	}
	u.showNewProject(c, p, http.StatusOK, admin.NewForm("visibility", "private", "group", c.Query("group")))
}

func (u *UI) showNewProject(c *gin.Context, p *policies.Principal, status int, f admin.Form) {
	groups := u.creatableGroups(c, p, policies.CreateProject)
	if len(groups) == 0 {
		NotFound(c)
		return
	}
	render(c, status, admin.NewProjectPage(admin.NewProject{Frame: admin.Frame{Chrome: u.chrome(c, "New project"), Heading: "New project",
		Crumbs: []views.Crumb{{Label: "Dashboard", URL: "/dashboard"}, {Label: "New project", URL: "/-/projects/new"}}}, Form: f, Groups: groups}))
}

func (u *UI) createProject(c *gin.Context) {
	p, ok := u.viewer(c)
	if !ok {
		return
	}
	ctx := c.Request.Context()
	f := formOf(c, "group", "name", "path", "visibility", "description")
	g, err := u.projects.GroupByPath(ctx, p, f.V("group"))
	if err != nil {
		u.refused(c, err)
		return
	}
	pr, err := u.projects.CreateProject(ctx, p, projects.ProjectInput{Group: g, Path: f.V("path"), Name: f.V("name"), Description: f.V("description"), Visibility: f.V("visibility")})
	if err != nil {
		if u.formFailed(c, err, &f, "name", "path", "visibility", "description") {
			u.showNewProject(c, p, http.StatusUnprocessableEntity, f)
		}
		return
	}
	u.done(c, views.ProjectURL(pr.FullPath)+"/-/settings", "Project "+pr.FullPath+" was created.")
}

// projectNav is the sections of a project's management.
func projectNav(pr projects.Project, authz *policies.Authorizer, p *policies.Principal, repository bool) []admin.NavItem {
	base := views.ProjectURL(pr.FullPath)
	r := pr.Resource()
	nav := []admin.NavItem{{ID: "overview", Label: "Overview", URL: base}, {ID: "settings", Label: "Settings", URL: base + "/-/settings"},
		{ID: "members", Label: "Members", URL: base + "/-/members"}}
	if authz.Can(p, policies.ManageProjectTokens, r) {
		nav = append(nav, admin.NavItem{ID: "tokens", Label: "Deploy tokens", URL: base + "/-/tokens"})
	}
	if authz.Can(p, policies.AdminProject, r) {
		nav = append(nav, admin.NavItem{ID: "ci", Label: "CI", URL: base + "/-/ci"})
	}
	if authz.Can(p, policies.CreatePackage, r) {
		nav = append(nav, admin.NavItem{ID: "publish", Label: "Publish", URL: base + "/-/publish"})
	}
	if repository && authz.Can(p, policies.UpdateModule, r) {
		nav = append(nav, admin.NavItem{ID: "repository", Label: "Repository", URL: base + "/-/repository"})
	}
	return nav
}

// projectSection serves /<project path>/-/<section>[/sub].
func (u *UI) projectSection(c *gin.Context, path, section, sub string) bool {
	m := c.Request.Method
	get := m == http.MethodGet || m == http.MethodHead
	post := m == http.MethodPost
	switch {
	case section == "settings" && sub == "" && (get || post),
		section == "delete" && sub == "" && post,
		section == "versions" && post,
		section == "members", section == "tokens", section == "ci",
		section == "publish" && sub == "" && (get || post),
		section == "repository" && u.manage.Imports != nil:
	default:
		return false
	}
	p, ok := u.viewer(c)
	if !ok {
		return true
	}
	pr, err := u.projects.ProjectByPath(c.Request.Context(), p, path)
	if err != nil {
		writeError(c, err)
		return true
	}
	switch section {
	case "settings":
		if get {
			u.projectSettings(c, p, pr, http.StatusOK, projectForm(pr), admin.NewForm())
		} else {
			u.updateProject(c, p, pr)
		}
	case "delete":
		u.deleteProject(c, p, pr)
	case "versions":
		u.deleteVersion(c, p, pr, sub)
	case "members":
		u.members(c, p, u.projectSubject(c, p, pr), sub)
	case "tokens":
		u.deployTokens(c, p, u.projectSubject(c, p, pr), sub)
	case "ci":
		u.ci(c, p, pr, sub)
	case "repository":
		u.repository(c, p, pr, sub)
	case "publish":
		if get {
			u.showPublish(c, p, pr, http.StatusOK, admin.NewForm())
		} else {
			u.publish(c, p, pr)
		}
	}
	return true
}

func projectForm(pr projects.Project) admin.Form {
	return admin.NewForm("name", pr.Name, "description", pr.Description, "visibility", pr.Visibility)
}

func (u *UI) projectFrame(c *gin.Context, p *policies.Principal, pr projects.Project, title, current string) admin.Frame {
	crumbs := []views.Crumb{{Label: "Dashboard", URL: "/dashboard"}}
	if g, err := u.projects.GroupByID(c.Request.Context(), p, pr.GroupID); err == nil {
		crumbs = crumbsOf(u.chain(c.Request.Context(), g))
	}
	crumbs = append(crumbs, views.Crumb{Label: pr.Name, URL: views.ProjectURL(pr.FullPath)})
	return admin.Frame{Chrome: u.chrome(c, title+" · "+pr.FullPath), Heading: pr.Name, Crumbs: crumbs, Nav: projectNav(pr, u.projects.Authorizer(), p, u.manage.Imports != nil), Current: current}
}

func (u *UI) projectSubject(c *gin.Context, p *policies.Principal, pr projects.Project) subject {
	s := subject{target: projects.ProjectTarget(pr), base: views.ProjectURL(pr.FullPath), path: pr.FullPath,
		frame: func(title, current string) admin.Frame { return u.projectFrame(c, p, pr, title, current) }}
	if g, err := u.projects.GroupByID(c.Request.Context(), p, pr.GroupID); err == nil {
		s.inherit = u.chain(c.Request.Context(), g)
	}
	return s
}

const versionsPerPage = 20

func (u *UI) projectSettings(c *gin.Context, p *policies.Principal, pr projects.Project, status int, f, del admin.Form) {
	authz := u.projects.Authorizer()
	page, off := pageArgs(c, versionsPerPage)
	vs, err := u.modules.ListPackages(c.Request.Context(), p, pr, versionsPerPage+1, off)
	if err != nil && errs.KindOf(err) != errs.Forbidden {
		writeError(c, err)
		return
	}
	more := len(vs) > versionsPerPage
	if more {
		vs = vs[:versionsPerPage]
	}
	prev, next := pageLinks(c, page, more)
	r := pr.Resource()
	render(c, status, admin.ProjectSettingsPage(admin.ProjectSettings{Frame: u.projectFrame(c, p, pr, "Settings", "settings"), Project: pr, Form: f, DeleteForm: del,
		CanEdit: authz.Can(p, policies.AdminProject, r), CanDelete: authz.Can(p, policies.DeleteProject, r), CanDeleteVersions: authz.Can(p, policies.DestroyPackage, r),
		Versions: vs, Prev: prev, Next: next, PageNo: page}))
}

func (u *UI) updateProject(c *gin.Context, p *policies.Principal, pr projects.Project) {
	f := formOf(c, "name", "description", "visibility")
	name, desc, vis := f.V("name"), f.V("description"), f.V("visibility")
	out, err := u.projects.UpdateProject(c.Request.Context(), p, pr, projects.ProjectUpdate{Name: &name, Description: &desc, Visibility: &vis})
	if err != nil {
		if u.formFailed(c, err, &f, "name", "description", "visibility") {
			u.projectSettings(c, p, pr, http.StatusUnprocessableEntity, f, admin.NewForm())
		}
		return
	}
	u.done(c, views.ProjectURL(out.FullPath)+"/-/settings", "Settings of "+out.FullPath+" were saved.")
}

func (u *UI) deleteProject(c *gin.Context, p *policies.Principal, pr projects.Project) {
	del := formOf(c, "confirm")
	if u.projects.Authorizer().Can(p, policies.DeleteProject, pr.Resource()) && del.V("confirm") != pr.FullPath {
		del.Errors["confirm"] = "Type " + pr.FullPath + " exactly to confirm."
		u.projectSettings(c, p, pr, http.StatusUnprocessableEntity, projectForm(pr), del)
		return
	}
	if err := u.projects.DeleteProject(c.Request.Context(), p, pr); err != nil {
		u.refused(c, err)
		return
	}
	u.done(c, "/dashboard", "Project "+pr.FullPath+" was deleted.")
}

// deleteVersion serves POST <project>/-/versions/<id>/delete.
func (u *UI) deleteVersion(c *gin.Context, p *policies.Principal, pr projects.Project, sub string) {
	idStr, ok := strings.CutSuffix(sub, "/delete")
	id, err := strconv.ParseInt(idStr, 10, 64)
	if !ok || err != nil {
		NotFound(c)
		return
	}
	if err := u.modules.DeleteVersion(c.Request.Context(), p, pr, id); err != nil {
		u.refused(c, err)
		return
	}
	u.done(c, views.ProjectURL(pr.FullPath)+"/-/settings#versions", "The version was deleted.")
}

// ci serves <project>/-/ci[/<id>/delete].
func (u *UI) ci(c *gin.Context, p *policies.Principal, pr projects.Project, sub string) {
	switch {
	case sub == "" && (c.Request.Method == http.MethodGet || c.Request.Method == http.MethodHead):
		f := admin.NewForm("audience", u.site.URL)
		u.showCI(c, p, pr, http.StatusOK, f, []admin.Cond{{Claim: "project_path", Op: tokens.OpEquals}, {Claim: "ref_type", Op: tokens.OpEquals, Value: "tag"}})
	case sub == "" && c.Request.Method == http.MethodPost:
		u.createRule(c, p, pr)
	case c.Request.Method == http.MethodPost && strings.HasSuffix(sub, "/delete"):
		id, err := strconv.ParseInt(strings.TrimSuffix(sub, "/delete"), 10, 64)
		if err != nil {
			NotFound(c)
			return
		}
		if err := u.tokens.DeleteTrustRule(c.Request.Context(), p, pr, id); err != nil {
			u.refused(c, err)
			return
		}
		u.done(c, views.ProjectURL(pr.FullPath)+"/-/ci", "The trust rule was deleted.")
	default:
		NotFound(c)
	}
}

func (u *UI) showCI(c *gin.Context, p *policies.Principal, pr projects.Project, status int, f admin.Form, conds []admin.Cond) {
	rules, err := u.tokens.ListTrustRules(c.Request.Context(), p, pr)
	if err != nil {
		writeError(c, err)
		return
	}
	upload := u.site.URL + "/api/v4/projects/" + url.PathEscape(pr.FullPath) + "/packages/terraform/modules/" + exampleName(pr) + "/aws/"
	render(c, status, admin.CIPage(admin.CI{Frame: u.projectFrame(c, p, pr, "CI", "ci"), Project: pr, Rules: rules, Form: f, Conds: conds,
		PublicURL: u.site.URL, GitLabCI: gitlabJob(u.site.URL, upload), GitHub: githubWorkflow(u.site.URL, upload)}))
}

// exampleName is a module name for the snippets: the project's path in
// the characters module names allow.
func exampleName(pr projects.Project) string {
	var b strings.Builder
	for _, r := range strings.ToLower(pr.Path) {
		if (r >= 'a' && r <= 'z') || (r >= '0' && r <= '9') || r == '-' {
			b.WriteRune(r)
		} else {
			b.WriteByte('-')
		}
	}
	if b.Len() == 0 {
		return "module"
	}
	return b.String()
}

func gitlabJob(public, upload string) string {
	return `publish-module:
  image: alpine:3
  id_tokens:
    CAIRN_ID_TOKEN:
      aud: ` + public + `
  rules:
    - if: $CI_COMMIT_TAG
  script:
    - apk add --no-cache curl tar
    - tar czf /tmp/module.tgz --exclude=.git .
    - >
      curl --fail-with-body --header "JOB-TOKEN: $CAIRN_ID_TOKEN" --upload-file /tmp/module.tgz
      "` + upload + `${CI_COMMIT_TAG#v}/file"
`
}

func githubWorkflow(public, upload string) string {
	return `on: { push: { tags: ["v*"] } }
permissions: { id-token: write, contents: read }
jobs:
  publish:
    runs-on: ubuntu-latest
    steps:
      - uses: actions/checkout@v4
      - run: |
          ID_TOKEN=$(curl -sS -H "Authorization: bearer $ACTIONS_ID_TOKEN_REQUEST_TOKEN" \
            "$ACTIONS_ID_TOKEN_REQUEST_URL&audience=` + public + `" | jq -r .value)
          tar czf /tmp/module.tgz --exclude=.git .
          curl --fail-with-body -H "JOB-TOKEN: $ID_TOKEN" --upload-file /tmp/module.tgz \
            "` + upload + `${GITHUB_REF_NAME#v}/file"
`
}

func (u *UI) createRule(c *gin.Context, p *policies.Principal, pr projects.Project) {
	f := formOf(c, "issuer", "audience", "description")
	claims, ops, values := c.PostFormArray("claim"), c.PostFormArray("op"), c.PostFormArray("value")
	var conds []admin.Cond
	for i := range claims {
		cd := admin.Cond{Claim: strings.TrimSpace(claims[i]), Op: tokens.OpEquals}
		if i < len(ops) {
			cd.Op = ops[i]
		}
		if i < len(values) {
			cd.Value = strings.TrimSpace(values[i])
		}
		conds = append(conds, cd)
	}
	// Adding or removing a condition row re-shows the form.
	if c.PostForm("add") != "" {
		u.showCI(c, p, pr, http.StatusOK, f, append(conds, admin.Cond{Op: tokens.OpEquals}))
		return
	}
	if rm := c.PostForm("remove"); rm != "" {
		if i, err := strconv.Atoi(rm); err == nil && i >= 0 && i < len(conds) {
			conds = append(conds[:i], conds[i+1:]...)
		}
		u.showCI(c, p, pr, http.StatusOK, f, conds)
		return
	}
	in := tokens.TrustRuleInput{Issuer: f.V("issuer"), Audience: f.V("audience"), Description: f.V("description")}
	for _, cd := range conds {
		if cd.Claim == "" && cd.Value == "" {
			continue
		}
		in.Conditions = append(in.Conditions, tokens.ConditionJSON{Claim: cd.Claim, Op: cd.Op, Value: cd.Value})
	}
	if _, err := u.tokens.CreateTrustRule(c.Request.Context(), p, pr, in); err != nil {
		if u.formFailed(c, err, &f, "issuer", "audience", "description") {
			u.showCI(c, p, pr, http.StatusUnprocessableEntity, f, conds)
		}
		return
	}
	u.done(c, views.ProjectURL(pr.FullPath)+"/-/ci", "The trust rule was created: jobs from "+in.Issuer+" may now publish here.")
}

func (u *UI) showPublish(c *gin.Context, p *policies.Principal, pr projects.Project, status int, f admin.Form) {
	if !u.projects.Authorizer().Can(p, policies.CreatePackage, pr.Resource()) {
		u.refused(c, errs.ErrForbidden)
		return
	}
	render(c, status, admin.PublishPage(admin.Publish{Frame: u.projectFrame(c, p, pr, "Publish", "publish"), Project: pr, Form: f, MaxSize: u.maxUpload()}))
}

func (u *UI) maxUpload() int64 {
	if u.manage.MaxUpload > 0 {
		return u.manage.MaxUpload
	}
	return 1 << 30
}

// publish takes a version from the browser through modules.Publish, the
// upload path of the APIs, so refusals are theirs.
func (u *UI) publish(c *gin.Context, p *policies.Principal, pr projects.Project) {
	c.Request.Body = http.MaxBytesReader(c.Writer, c.Request.Body, u.maxUpload()+maxForm)
	f := admin.NewForm()
	fh, ferr := c.FormFile("file")
	for _, n := range []string{"name", "system", "version"} {
		f.Values[n] = strings.TrimSpace(c.PostForm(n))
	}
	in := modules.PublishInput{Name: f.V("name"), System: f.V("system"), Version: f.V("version"), Size: -1}
	if ferr == nil {
		file, err := fh.Open()
		if err != nil {
			writeError(c, err)
			return
		}
		defer file.Close()
		in.Body, in.Size = file, fh.Size
	} else if strings.Contains(ferr.Error(), "too large") {
		f.Errors["file"] = "The archive is larger than the upload limit."
		u.showPublish(c, p, pr, http.StatusUnprocessableEntity, f)
		return
	}
	v, err := u.modules.Publish(c.Request.Context(), p, pr, in)
	if err != nil {
		if in.Body == nil && errs.KindOf(err) != errs.Forbidden && errs.FieldOf(err) == "" {
			f.Errors["file"] = "Choose an archive (.tar.gz or .zip)."
			u.showPublish(c, p, pr, http.StatusUnprocessableEntity, f)
			return
		}
		if u.formFailed(c, err, &f, "file", "name", "system", "version") {
			u.showPublish(c, p, pr, http.StatusUnprocessableEntity, f)
		}
		return
	}
	u.done(c, views.ProjectURL(pr.FullPath)+"/-/settings#versions", "Published "+in.Name+"/"+in.System+" "+v.Version+".")
}
