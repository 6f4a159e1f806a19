package ui

import (
	"context"
	"encoding/json"
	"net/http"
	"net/url"
	"strconv"
	"strings"
	"time"

	"github.com/gin-gonic/gin"

	"github.com/cairn-registry/cairn/errs"
	"github.com/cairn-registry/cairn/gitimport"
	"github.com/cairn-registry/cairn/jobs"
	"github.com/cairn-registry/cairn/modules"
	"github.com/cairn-registry/cairn/policies"
	"github.com/cairn-registry/cairn/projects"
	"github.com/cairn-registry/cairn/views"
	"github.com/cairn-registry/cairn/views/admin"
)

// importWait bounds how long the "Import tag" form waits for its job; after
// it the page says the import is still running.
const importWait = 60 * time.Second

// repository serves <project>/-/repository: a module's repository settings
// (gitimport), its webhook URLs and secret, "Import tag" and the webhook
// deliveries. sub is "" (the page, ?module=name/system) or
// <name>/<system>/{settings,secret,import,deliveries/<id>/redeliver}.
func (u *UI) repository(c *gin.Context, p *policies.Principal, pr projects.Project, sub string) {
	get := c.Request.Method == http.MethodGet || c.Request.Method == http.MethodHead
	if sub == "" && get {
		name, system, _ := strings.Cut(c.Query("module"), "/")
		var mod *modules.Module
		if name == "" {
			if known := u.projectModules(c.Request.Context(), p, pr); len(known) > 0 {
				name, system, _ = strings.Cut(known[0].Value, "/")
			}
		}
		if name != "" {
			m, err := u.modules.FindInProject(c.Request.Context(), p, pr, name, system)
			if err != nil && !errs.Is(err, errs.NotFound) {
				u.refused(c, err)
				return
			}
			mod = m
		}
		page := admin.Repository{Query: admin.NewForm("name", name, "system", system)}
		if mod != nil {
			page.Form = settingsForm(mod)
		} else if name != "" {
			page.Query.Errors["name"] = "The project has no module " + name + "/" + system + "."
		}
		u.showRepository(c, p, pr, mod, http.StatusOK, page)
		return
	}
	if c.Request.Method != http.MethodPost {
		NotFound(c)
		return
	}
	parts := strings.SplitN(sub, "/", 3)
	if len(parts) != 3 {
		NotFound(c)
		return
	}
	mod, err := u.modules.FindInProject(c.Request.Context(), p, pr, parts[0], parts[1])
	if err != nil {
		u.refused(c, err)
		return
	}
	switch action := parts[2]; {
	case action == "settings":
		u.saveRepository(c, p, pr, mod)
	case action == "secret":
		u.regenerateSecret(c, p, pr, mod)
	case action == "import":
		u.importTag(c, p, pr, mod)
	case strings.HasPrefix(action, "deliveries/") && strings.HasSuffix(action, "/redeliver"):
		id, err := strconv.ParseInt(strings.TrimSuffix(strings.TrimPrefix(action, "deliveries/"), "/redeliver"), 10, 64)
		if err != nil {
			NotFound(c)
			return
		}
		res, err := u.manage.Imports.Redeliver(c.Request.Context(), p, mod, id)
		if err != nil {
			u.refused(c, err)
			return
		}
		u.done(c, repositoryURL(pr, mod), "The delivery was redelivered: "+res.Outcome+joinNote(res.Message)+".")
	default:
		NotFound(c)
	}
}

func joinNote(msg string) string {
	if msg == "" {
		return ""
	}
	return " (" + msg + ")"
}

func repositoryURL(pr projects.Project, mod *modules.Module) string {
	return views.ProjectURL(pr.FullPath) + "/-/repository?module=" + url.QueryEscape(mod.Name+"/"+mod.System)
}

// projectModules are the modules of pr with published versions, as
// name/system choices.
func (u *UI) projectModules(ctx context.Context, p *policies.Principal, pr projects.Project) []admin.Option {
	pkgs, err := u.modules.ListPackages(ctx, p, pr, 500, 0)
	if err != nil {
		return nil
	}
	var out []admin.Option
	seen := map[string]bool{}
	for _, k := range pkgs {
		v := k.Name + "/" + k.System
		if !seen[v] {
			seen[v] = true
			out = append(out, admin.Option{Value: v, Label: v})
		}
	}
	return out
}

func settingsForm(mod *modules.Module) admin.Form {
	s := func(p *string) string {
		if p == nil {
			return ""
		}
		return *p
	}
	st := mod.Settings
	return admin.NewForm("clone_url", s(st.RepoCloneURLTemplate), "browse_url", s(st.RepoBrowseURLTemplate),
		"tag_format", s(st.GitTagFormat), "git_path", s(st.GitPath))
}

// showRepository renders the page for mod (nil: none chosen) with page's
// forms; the rest is filled here.
func (u *UI) showRepository(c *gin.Context, p *policies.Principal, pr projects.Project, mod *modules.Module, status int, page admin.Repository) {
	ctx := c.Request.Context()
	page.Frame = u.projectFrame(c, p, pr, "Repository", "repository")
	page.Project = pr
	page.Modules = u.projectModules(ctx, p, pr)
	page.Module = mod
	for _, f := range []*admin.Form{&page.Form, &page.ImportForm, &page.Query} {
		if f.Values == nil {
			*f = admin.NewForm()
		}
	}
	if mod != nil {
		imp := u.manage.Imports
		st, err := imp.Status(ctx, p, mod)
		if err != nil {
			u.refused(c, err)
			return
		}
		page.Status = st
		if page.Deliveries, err = imp.Deliveries(ctx, p, mod); err != nil {
			writeError(c, err)
			return
		}
		if js, err := imp.ListJobs(ctx, p, mod); err == nil {
			if len(js) > 10 {
				js = js[:10]
			}
			page.Jobs = js
		}
		base := u.site.URL + "/v1/terrareg/modules/" + url.PathEscape(mod.Namespace) + "/" + url.PathEscape(mod.Name) + "/" + url.PathEscape(mod.System) + "/hooks/"
		page.Hooks = []admin.Option{{Label: "GitHub", Value: base + "github"}, {Label: "GitLab", Value: base + "gitlab"}, {Label: "Bitbucket", Value: base + "bitbucket"}}
		page.Action = views.ProjectURL(pr.FullPath) + "/-/repository/" + url.PathEscape(mod.Name) + "/" + url.PathEscape(mod.System)
	}
	if page.Secret != "" {
		c.Header("Cache-Control", "no-store")
		wholePage(c)
	}
	render(c, status, admin.RepositoryPage(page))
}

// saveRepository saves the repository settings and the HTTPS token; the
// first save with a repository makes the webhook secret, shown this once.
func (u *UI) saveRepository(c *gin.Context, p *policies.Principal, pr projects.Project, mod *modules.Module) {
	ctx := c.Request.Context()
	f := formOf(c, "clone_url", "browse_url", "tag_format", "git_path", "username", "remove_token")
	token := c.PostForm("token") // never shown again, not even on a refusal
	failed := func(err error) {
		field := errs.FieldOf(err)
		if u.formFailed(c, err, &f, "clone_url", "browse_url", "tag_format", "git_path", "username", "token") {
			switch field {
			case "repo_url":
				f.Errors["clone_url"], f.Errors[""] = f.Errors[""], ""
			case "git_tag_format", "format":
				f.Errors["tag_format"], f.Errors[""] = f.Errors[""], ""
			case "secret":
				f.Errors["token"], f.Errors[""] = f.Errors[""], ""
			}
			if f.Errors[""] == "" {
				delete(f.Errors, "")
			}
			u.showRepository(c, p, pr, mod, http.StatusUnprocessableEntity, admin.Repository{Form: f})
		}
	}
	clone, browse, format, path := f.V("clone_url"), f.V("browse_url"), f.V("tag_format"), f.V("git_path")
	if err := u.modules.UpdateSettings(ctx, p, mod, modules.SettingsInput{RepoCloneURLTemplate: &clone, RepoBrowseURLTemplate: &browse,
		GitTagFormat: &format, GitPath: &path}); err != nil {
		failed(err)
		return
	}
	imp := u.manage.Imports
	switch {
	case token != "":
		if err := imp.SetCredential(ctx, p, mod, f.V("username"), token); err != nil {
			failed(err)
			return
		}
	case f.V("remove_token") == "true":
		if err := imp.SetCredential(ctx, p, mod, "", ""); err != nil {
			failed(err)
			return
		}
	}
	if clone != "" {
		secret, created, err := imp.EnsureWebhookSecret(ctx, p, mod)
		if err != nil {
			failed(err)
			return
		}
		if created {
			// Shown on this answer only: no redirect.
			if saved, err := u.modules.FindInProject(ctx, p, pr, mod.Name, mod.System); err == nil {
				mod = saved
			}
			c.Header("Cache-Control", "no-store")
			u.showRepository(c, p, pr, mod, http.StatusOK, admin.Repository{Form: settingsForm(mod), Secret: secret,
				Notice: "The repository settings of " + mod.Name + "/" + mod.System + " were saved."})
			return
		}
	}
	u.done(c, repositoryURL(pr, mod), "The repository settings of "+mod.Name+"/"+mod.System+" were saved.")
}

// regenerateSecret makes a new webhook secret and shows it once.
func (u *UI) regenerateSecret(c *gin.Context, p *policies.Principal, pr projects.Project, mod *modules.Module) {
	secret, err := u.manage.Imports.RegenerateWebhookSecret(c.Request.Context(), p, mod)
	if err != nil {
		u.refused(c, err)
		return
	}
	u.showRepository(c, p, pr, mod, http.StatusOK, admin.Repository{Form: settingsForm(mod), Secret: secret,
		Notice: "A new webhook secret was made: deliveries signed with the old one are now refused."})
}

// importTag imports a tag (or a version) through gitimport, as Terrareg's
// import endpoint does, and waits a while for the outcome.
func (u *UI) importTag(c *gin.Context, p *policies.Principal, pr projects.Project, mod *modules.Module) {
	f := formOf(c, "tag")
	in := gitimport.ImportInput{GitTag: f.V("tag")}
	if v := f.V("tag"); v != "" && v[0] >= '0' && v[0] <= '9' {
		in = gitimport.ImportInput{Version: v}
	}
	fail := func(msg string) {
		f.Errors["tag"] = msg
		u.showRepository(c, p, pr, mod, http.StatusUnprocessableEntity, admin.Repository{Form: settingsForm(mod), ImportForm: f})
	}
	imp := u.manage.Imports
	job, err := imp.Import(c.Request.Context(), p, mod, in)
	if err != nil {
		if errs.KindOf(err) == errs.Invalid || errs.KindOf(err) == errs.Conflict {
			fail(errs.Message(err))
			return
		}
		u.refused(c, err)
		return
	}
	ctx, cancel := context.WithTimeout(c.Request.Context(), importWait)
	defer cancel()
	done, err := imp.Wait(ctx, job.ID)
	switch {
	case err != nil && !done.Done():
		u.done(c, repositoryURL(pr, mod), "The import of "+f.V("tag")+" is still running (job "+strconv.FormatInt(job.ID, 10)+").")
	case done.State == jobs.Succeeded:
		var res gitimport.Result
		_ = json.Unmarshal(done.Result, &res)
		msg := "Imported " + mod.Name + "/" + mod.System + " " + res.Version + " from tag " + res.Tag + "."
		if res.Outcome == "exists" {
			msg = "Version " + res.Version + " already exists; nothing was imported."
		}
		u.done(c, repositoryURL(pr, mod), msg)
	default:
		fail(done.Error)
	}
}
