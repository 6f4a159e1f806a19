package ui

import (
	"net/http"
	"net/url"
	"strconv"
	"strings"
	"time"

	"github.com/gin-gonic/gin"

	"github.com/cairn-registry/cairn/errs"
	"github.com/cairn-registry/cairn/policies"
	"github.com/cairn-registry/cairn/projects"
	"github.com/cairn-registry/cairn/tokens"
	"github.com/cairn-registry/cairn/views"
	"github.com/cairn-registry/cairn/views/admin"
)

// subject is a group or project as the members and deploy token pages see
// it.
type subject struct {
	target projects.Target
	// base is its page (/groups/acme or /acme/infra); path its full path.
	base, path string
	// inherit are the groups whose members it inherits, root first.
	inherit []projects.Group
	frame   func(title, current string) admin.Frame
}

func (s subject) manageMembers() policies.Action {
	if s.target.IsProject() {
		return policies.ManageProjectMembers
	}
	return policies.ManageGroupMembers
}

// members serves <base>/-/members[/<user id>[/remove] | /suggest].
func (u *UI) members(c *gin.Context, p *policies.Principal, s subject, sub string) {
	get := c.Request.Method == http.MethodGet || c.Request.Method == http.MethodHead
	switch {
	case sub == "" && get:
		u.showMembers(c, p, s, http.StatusOK, admin.NewForm("access_level", "30"))
	case sub == "suggest" && get:
		u.suggestUsers(c, p)
	case sub == "" && c.Request.Method == http.MethodPost:
		u.addMember(c, p, s)
	case c.Request.Method == http.MethodPost:
		idStr, action, _ := strings.Cut(sub, "/")
		id, err := strconv.ParseInt(idStr, 10, 64)
		if err != nil || (action != "" && action != "remove") {
			NotFound(c)
			return
		}
		u.changeMember(c, p, s, id, action == "remove")
	default:
		NotFound(c)
	}
}

func (u *UI) showMembers(c *gin.Context, p *policies.Principal, s subject, status int, f admin.Form) {
	ctx := c.Request.Context()
	authz := u.projects.Authorizer()
	list, err := u.projects.ListMembers(ctx, p, s.target)
	if err != nil {
		writeError(c, err)
		return
	}
	m := admin.Members{Frame: s.frame("Members", "members"), Action: s.base + "/-/members", Form: f,
		CanManage: authz.Can(p, s.manageMembers(), s.target.Resource()),
		CanOwners: authz.Can(p, policies.ManageOwners, s.target.Resource())}
	owners := 0
	for _, mb := range list {
		if mb.AccessLevel == policies.LevelOwner {
			owners++
		}
	}
	lastOwnerMatters := !s.target.IsProject() && len(s.inherit) == 0
	for _, mb := range list {
		row := admin.MemberRow{Member: mb, Editable: true}
		switch {
		case mb.AccessLevel == policies.LevelOwner && !m.CanOwners:
			row.Editable, row.Reason = false, "Only owners can change or remove an owner."
		case mb.AccessLevel == policies.LevelOwner && owners == 1 && lastOwnerMatters:
			row.Editable, row.Reason = false, "A group must keep at least one owner: add another owner first."
		}
		m.Members = append(m.Members, row)
	}
	for _, g := range s.inherit {
		ms, err := u.projects.ListMembers(ctx, p, projects.GroupTarget(g))
		if err != nil {
			writeError(c, err)
			return
		}
		for _, mb := range ms {
			m.Inherited = append(m.Inherited, admin.Inherited{Member: mb, From: g.FullPath, FromURL: views.GroupURL(g.FullPath) + "/-/members"})
		}
	}
	render(c, status, admin.MembersPage(m))
}

// suggestUsers offers usernames while typing: administrators search every
// user; others see an exact match only (user lists are the admins').
func (u *UI) suggestUsers(c *gin.Context, p *policies.Principal) {
	q := strings.TrimSpace(c.Query("username"))
	names := []string{}
	if q != "" {
		if us, err := u.users.ListUsers(c.Request.Context(), p, q, 10, 0); err == nil {
			for _, x := range us {
				names = append(names, x.Username)
			}
		} else if x, err := u.users.UserByUsername(c.Request.Context(), p, q); err == nil {
			names = append(names, x.Username)
		}
	}
	render(c, http.StatusOK, admin.Suggestions(names))
}

func (u *UI) addMember(c *gin.Context, p *policies.Principal, s subject) {
	ctx := c.Request.Context()
	f := formOf(c, "username", "access_level")
	level, _ := strconv.Atoi(f.V("access_level"))
	usr, err := u.users.UserByUsername(ctx, p, f.V("username"))
	if errs.KindOf(err) == errs.NotFound {
		err = errs.Field(errs.NotFound, "username", "There is no user %q.", f.V("username"))
	}
	if err == nil {
		_, err = u.projects.SetMember(ctx, p, s.target, usr.ID, int32(level), true)
		if errs.FieldOf(err) == "user_id" {
			err = errs.Field(errs.KindOf(err), "username", "%s is already a member.", usr.Username)
		}
	}
	if err != nil {
		if u.formFailed(c, err, &f, "username", "access_level") {
			u.showMembers(c, p, s, http.StatusUnprocessableEntity, f)
		}
		return
	}
	u.done(c, s.base+"/-/members", usr.Username+" was added as "+admin.RoleName(int32(level))+".")
}

func (u *UI) changeMember(c *gin.Context, p *policies.Principal, s subject, userID int64, remove bool) {
	ctx := c.Request.Context()
	var err error
	msg := "The member was removed."
	if remove {
		err = u.projects.RemoveMember(ctx, p, s.target, userID)
	} else {
		level, _ := strconv.Atoi(c.PostForm("access_level"))
		var m projects.Member
		m, err = u.projects.SetMember(ctx, p, s.target, userID, int32(level), false)
		msg = m.Username + " is now " + admin.RoleName(int32(level)) + "."
	}
	if err != nil {
		u.refused(c, err)
		return
	}
	u.done(c, s.base+"/-/members", msg)
}

// deployTokens serves <base>/-/tokens[/<id>/revoke].
func (u *UI) deployTokens(c *gin.Context, p *policies.Principal, s subject, sub string) {
	get := c.Request.Method == http.MethodGet || c.Request.Method == http.MethodHead
	switch {
	case sub == "" && get:
		u.showDeployTokens(c, p, s, http.StatusOK, admin.NewForm("read_package_registry", "true"), "", tokens.DeployToken{})
	case sub == "" && c.Request.Method == http.MethodPost:
		u.createDeployToken(c, p, s)
	case c.Request.Method == http.MethodPost && strings.HasSuffix(sub, "/revoke"):
		id, err := strconv.ParseInt(strings.TrimSuffix(sub, "/revoke"), 10, 64)
		if err != nil {
			NotFound(c)
			return
		}
		if err := u.tokens.RevokeDeployToken(c.Request.Context(), p, s.target, id); err != nil {
			u.refused(c, err)
			return
		}
		u.done(c, s.base+"/-/tokens", "The deploy token was revoked.")
	default:
		NotFound(c)
	}
}

func (u *UI) showDeployTokens(c *gin.Context, p *policies.Principal, s subject, status int, f admin.Form, secret string, created tokens.DeployToken) {
	list, err := u.tokens.ListDeployTokens(c.Request.Context(), p, s.target)
	if err != nil {
		writeError(c, err)
		return
	}
	d := admin.DeployTokens{Frame: s.frame("Deploy tokens", "tokens"), Action: s.base + "/-/tokens", Tokens: list, Form: f}
	if secret != "" {
		project := "<project>"
		if s.target.IsProject() {
			project = url.PathEscape(s.path)
		}
		d.Secret, d.SecretFor, d.Username = secret, created.Name, created.Username
		d.Upload = "curl --fail-with-body --header \"DEPLOY-TOKEN: " + secret + "\" --upload-file module.tgz \\\n  \"" + u.site.URL +
			"/api/v4/projects/" + project + "/packages/terraform/modules/<name>/<system>/<version>/file\""
		c.Header("Cache-Control", "no-store")
		wholePage(c)
	}
	render(c, status, admin.DeployTokensPage(d))
}

// wholePage makes htmx swap the whole main area with the answer (a page
// that shows more than the form that was sent, e.g. a new secret).
func wholePage(c *gin.Context) {
	if c.GetHeader("HX-Request") == "true" {
		c.Header("HX-Retarget", "main")
		c.Header("HX-Reselect", "main")
		c.Header("HX-Reswap", "outerHTML")
	}
}

// expiry parses an optional yyyy-mm-dd date (end of that day, UTC).
func expiry(f *admin.Form) (*time.Time, bool) {
	v := f.V("expires_at")
	if v == "" {
		return nil, true
	}
	t, err := time.Parse("2006-01-02", v)
	if err != nil {
		f.Errors["expires_at"] = "Enter a date as YYYY-MM-DD."
		return nil, false
	}
	t = t.Add(24*time.Hour - time.Second)
	return &t, true
}

// scopesOf reads the scopes checkboxes into the form and returns them.
func scopesOf(c *gin.Context, f *admin.Form) []string {
	scopes := c.PostFormArray("scopes")
	for _, sc := range scopes {
		f.Values[sc] = "true"
	}
	return scopes
}

func (u *UI) createDeployToken(c *gin.Context, p *policies.Principal, s subject) {
	f := formOf(c, "name", "expires_at")
	scopes := scopesOf(c, &f)
	exp, ok := expiry(&f)
	if !ok {
		u.showDeployTokens(c, p, s, http.StatusUnprocessableEntity, f, "", tokens.DeployToken{})
		return
	}
	secret, tok, err := u.tokens.CreateDeployToken(c.Request.Context(), p, s.target, tokens.DeployTokenInput{Name: f.V("name"), Scopes: scopes, ExpiresAt: exp})
	if err != nil {
		if u.formFailed(c, err, &f, "name", "scopes", "expires_at") {
			u.showDeployTokens(c, p, s, http.StatusUnprocessableEntity, f, "", tokens.DeployToken{})
		}
		return
	}
	u.showDeployTokens(c, p, s, http.StatusCreated, admin.NewForm("read_package_registry", "true"), secret, tok)
}
