package terrareg

import (
	"context"
	"encoding/json"
	"errors"
	"io"
	"net/http"
	"regexp"
	"strconv"
	"strings"

	"github.com/gin-gonic/gin"

	"github.com/cairn-registry/cairn/errs"
	"github.com/cairn-registry/cairn/handlers/middleware"
	"github.com/cairn-registry/cairn/modules"
	"github.com/cairn-registry/cairn/policies"
	"github.com/cairn-registry/cairn/projects"
)

// terraregWrite serves Terrareg's write API on Terrareg's paths:
// namespaces, module providers (create, delete, settings and moves,
// redirects) and versions (upload, publish, delete).
// https://github.com/MatthewJohn/terrareg (terrareg/server/api/terrareg_namespace*.py,
// terrareg_module_provider_*.py, module_version_upload.py, terrareg_module_version_*.py)
//
// Status codes and bodies are Terrareg's: {"status":"Success"} for
// publish, upload and version deletion, {"id"} for create, {} for settings,
// null for module provider and redirect deletion; 400 {"message"} for a
// namespace, module provider or version that does not exist and for
// invalid settings; Terrareg's 500 {"status":"Error","message"} for what
// Terrareg raises as its own errors (an upload it refuses, a namespace
// that is not empty). Authorization is policies' (MODIFY = maintainer,
// FULL = owner): Flask's 401 and 403.
type terraregWrite struct {
	svc    *modules.Service
	groups *projects.Service
	mods   *terraregModules
	// secrets generates a module provider's webhook secret when its
	// repository settings are first saved (nil: git imports are off).
	secrets webhookSecrets
}

// webhookSecrets is what the settings endpoint consumes of the git
// imports (gitimport.Service).
type webhookSecrets interface {
	EnsureWebhookSecret(ctx context.Context, p *policies.Principal, mod *modules.Module) (secret string, created bool, err error)
}

func (t *terraregWrite) register(r gin.IRouter, auth gin.HandlerFunc) {
	g := r.Group("/v1/terrareg", auth)
	g.POST("/namespaces", t.createNamespace)
	g.GET("/namespaces/:ns", t.namespaceDetails)
	g.POST("/namespaces/:ns", t.updateNamespace)
	g.DELETE("/namespaces/:ns", t.deleteNamespace)

	m := g.Group("/modules/:ns/:name/:provider")
	m.POST("/create", t.createProvider)
	m.DELETE("/delete", t.deleteProvider)
	m.POST("/settings", t.settings)
	m.GET("/redirects", t.redirects)
	m.DELETE("/redirects/:redirect", t.deleteRedirect)
	m.POST("/:version/upload", t.upload)
	m.POST("/:version/publish", t.publish)
	m.DELETE("/:version/delete", t.deleteVersion)
}

// trmStatusError is Terrareg's answer to its own errors: 500
// {"status":"Error","message"}.
func trmStatusError(c *gin.Context, msg string) {
	c.AbortWithStatusJSON(http.StatusInternalServerError, gin.H{"status": "Error", "message": msg})
}

// trmSuccess is {"status":"Success"}.
func trmSuccess(c *gin.Context) { c.JSON(http.StatusOK, gin.H{"status": "Success"}) }

// body decodes the JSON body (absent or empty is {}); false after a 400.
func body(c *gin.Context, into any) bool {
	b, err := io.ReadAll(io.LimitReader(c.Request.Body, 1<<20))
	if err != nil {
		badRequest(c, "The browser (or proxy) sent a request that this server could not understand.")
		return false
	}
	if len(strings.TrimSpace(string(b))) == 0 {
		return true
	}
	if err := json.Unmarshal(b, into); err != nil {
		badRequest(c, "Failed to decode JSON object: "+err.Error())
		return false
	}
	return true
}

// namespacePattern is Terrareg's namespace name rule.
var namespacePattern = regexp.MustCompile(`^[0-9a-zA-Z][0-9a-zA-Z-_]*[0-9A-Za-z]$`)

const invalidNamespaceName = "Namespace name is invalid - it can only contain alpha-numeric characters, hyphens and " +
	"underscores, and must start/end with an alphanumeric character. Sequential underscores are not allowed."

// createNamespace is POST /v1/terrareg/namespaces {"name", "display_name"}:
// a top-level group whose owner is the caller. Cairn's own "visibility"
// (private by default) may be given.
func (t *terraregWrite) createNamespace(c *gin.Context) {
	var in struct {
		Name        string `json:"name"`
		DisplayName string `json:"display_name"`
		Visibility  string `json:"visibility"`
	}
	if !body(c, &in) {
		return
	}
	if !namespacePattern.MatchString(in.Name) || strings.Contains(in.Name, "__") {
		c.AbortWithStatusJSON(http.StatusBadRequest, gin.H{"status": "Error", "message": invalidNamespaceName})
		return
	}
	g, err := t.groups.CreateGroup(c.Request.Context(), middleware.Principal(c), projects.GroupInput{
		Path: in.Name, Name: in.DisplayName, Visibility: in.Visibility})
	if err != nil {
		switch errs.KindOf(err) {
		case errs.Conflict:
			c.AbortWithStatusJSON(http.StatusBadRequest, gin.H{"status": "Error", "message": "A namespace already exists with this name"})
		case errs.Invalid:
			c.AbortWithStatusJSON(http.StatusBadRequest, gin.H{"status": "Error", "message": errs.Message(err)})
		default:
			writeModuleError(c, err)
		}
		return
	}
	c.JSON(http.StatusOK, namespaceBody(g))
}

func namespaceBody(g projects.Group) gin.H {
	return gin.H{"name": g.Path, "view_href": "/modules/" + g.Path, "display_name": displayName(g)}
}

// displayName is Terrareg's display name: null when none was given (Cairn's
// name defaults to the path).
func displayName(g projects.Group) *string {
	if g.Name == "" || g.Name == g.Path {
		return nil
	}
	return &g.Name
}

// namespace resolves :ns to a namespace p may see; false after Terrareg's 404.
func (t *terraregWrite) namespace(c *gin.Context) (projects.Group, bool) {
	p := middleware.Principal(c)
	g, err := t.groups.GroupByPath(c.Request.Context(), p, c.Param("ns"))
	if err == nil && !g.TopLevel() {
		err = errs.ErrNotFound
	}
	if err != nil {
		if k := errs.KindOf(err); k == errs.NotFound || k == errs.Forbidden {
			notFound(c)
		} else {
			writeModuleError(c, err)
		}
		return g, false
	}
	return g, true
}

// namespaceDetails is GET /v1/terrareg/namespaces/:ns.
func (t *terraregWrite) namespaceDetails(c *gin.Context) {
	g, ok := t.namespace(c)
	if !ok {
		return
	}
	c.JSON(http.StatusOK, gin.H{"is_auto_verified": false, "trusted": false, "display_name": displayName(g),
		"default_provider_source": nil})
}

// updateNamespace is POST /v1/terrareg/namespaces/:ns {"display_name"}
// (FULL). Renaming a namespace (a top-level group's path) is not offered.
func (t *terraregWrite) updateNamespace(c *gin.Context) {
	g, ok := t.namespace(c)
	if !ok {
		return
	}
	var in struct {
		Name        *string `json:"name"`
		DisplayName *string `json:"display_name"`
	}
	if !body(c, &in) {
		return
	}
	p := middleware.Principal(c)
	if in.Name != nil && *in.Name != g.Path {
		if err := t.groups.Authorizer().Check(p, policies.AdminGroup, g.Resource()); err != nil {
			writeModuleError(c, err)
			return
		}
		badRequest(c, "Renaming a namespace is not supported by Cairn")
		return
	}
	upd := projects.GroupUpdate{}
	if in.DisplayName != nil {
		name := *in.DisplayName
		if name == "" {
			name = g.Path
		}
		upd.Name = &name
	}
	g, err := t.groups.UpdateGroup(c.Request.Context(), p, g, upd)
	if err != nil {
		writeModuleError(c, err)
		return
	}
	out := namespaceBody(g)
	out["default_provider_source"] = nil
	c.JSON(http.StatusOK, out)
}

// deleteNamespace is DELETE /v1/terrareg/namespaces/:ns (FULL): only an
// empty namespace; 200 {}.
func (t *terraregWrite) deleteNamespace(c *gin.Context) {
	g, ok := t.namespace(c)
	if !ok {
		return
	}
	err := t.svc.DeleteNamespace(c.Request.Context(), middleware.Principal(c), g)
	if errs.Is(err, errs.Conflict) {
		trmStatusError(c, errs.Message(err))
		return
	} else if err != nil {
		writeModuleError(c, err)
		return
	}
	c.JSON(http.StatusOK, gin.H{})
}

// settingsBody is Terrareg's create and settings arguments.
type settingsBody struct {
	GitProviderID         *json.RawMessage `json:"git_provider_id"`
	RepoBaseURLTemplate   *string          `json:"repo_base_url_template"`
	RepoCloneURLTemplate  *string          `json:"repo_clone_url_template"`
	RepoBrowseURLTemplate *string          `json:"repo_browse_url_template"`
	GitTagFormat          *string          `json:"git_tag_format"`
	GitPath               *string          `json:"git_path"`
	ArchiveGitPath        *bool            `json:"archive_git_path"`
	Verified              *bool            `json:"verified"`
	Namespace             *string          `json:"namespace"`
	Module                *string          `json:"module"`
	Provider              *string          `json:"provider"`
}

func (b settingsBody) input() modules.SettingsInput {
	in := modules.SettingsInput{RepoBaseURLTemplate: b.RepoBaseURLTemplate, RepoCloneURLTemplate: b.RepoCloneURLTemplate,
		RepoBrowseURLTemplate: b.RepoBrowseURLTemplate, GitTagFormat: b.GitTagFormat, GitPath: b.GitPath,
		ArchiveGitPath: b.ArchiveGitPath, Verified: b.Verified, Namespace: b.Namespace, Name: b.Module, System: b.Provider}
	if b.GitProviderID != nil && string(*b.GitProviderID) != "null" {
		s := strings.Trim(string(*b.GitProviderID), `"`)
		in.GitProviderID = &s
	}
	return in
}

// writeRefusal answers a write refusal: Terrareg's 400 {"message"} for a
// missing namespace, module provider or version and invalid requests, else
// writeModuleError.
func writeRefusal(c *gin.Context, err error) {
	switch errs.KindOf(err) {
	case errs.NotFound:
		if errs.FieldOf(err) != "" {
			badRequest(c, errs.Message(err))
			return
		}
	case errs.Invalid, errs.Conflict:
		badRequest(c, errs.Message(err))
		return
	}
	writeModuleError(c, err)
}

// createProvider is POST .../:ns/:name/:provider/create (FULL): {"id"}.
func (t *terraregWrite) createProvider(c *gin.Context) {
	var b settingsBody
	if !body(c, &b) {
		return
	}
	ns, name, system := c.Param("ns"), c.Param("name"), c.Param("provider")
	_, err := t.svc.CreateProvider(c.Request.Context(), middleware.Principal(c), ns, name, system, b.input())
	if err != nil {
		writeRefusal(c, err)
		return
	}
	c.JSON(http.StatusOK, gin.H{"id": ns + "/" + name + "/" + system})
}

// provider resolves the module provider of a write (following redirects),
// checking action a; false after the refusal.
func (t *terraregWrite) provider(c *gin.Context, a policies.Action) (*modules.Module, bool) {
	mod, err := t.svc.FindProvider(c.Request.Context(), middleware.Principal(c), a, c.Param("ns"), c.Param("name"), c.Param("provider"))
	if err != nil {
		writeRefusal(c, err)
		return nil, false
	}
	return mod, true
}

// deleteProvider is DELETE .../delete (FULL): null.
func (t *terraregWrite) deleteProvider(c *gin.Context) {
	mod, ok := t.provider(c, policies.DestroyModule)
	if !ok {
		return
	}
	if err := t.svc.DeleteProvider(c.Request.Context(), middleware.Principal(c), mod); err != nil {
		writeRefusal(c, err)
		return
	}
	c.JSON(http.StatusOK, nil)
}

// settings is POST .../settings (MODIFY; moving to another namespace needs
// FULL there): {}, or {"webhook_secret"} when saving repository settings
// generated the module provider's webhook secret (shown this once).
func (t *terraregWrite) settings(c *gin.Context) {
	var b settingsBody
	if !body(c, &b) {
		return
	}
	mod, ok := t.provider(c, policies.UpdateModule)
	if !ok {
		return
	}
	ctx, p := c.Request.Context(), middleware.Principal(c)
	if err := t.svc.UpdateSettings(ctx, p, mod, b.input()); err != nil {
		writeRefusal(c, err)
		return
	}
	out := gin.H{}
	if t.secrets != nil && b.repositorySettings() {
		// The module provider as saved (it may have moved).
		saved := mod
		if b.moves() {
			m, err := t.svc.FindProvider(ctx, p, policies.UpdateModule, deref(b.Namespace, c.Param("ns")),
				deref(b.Module, c.Param("name")), deref(b.Provider, c.Param("provider")))
			if err != nil {
				writeRefusal(c, err)
				return
			}
			saved = m
		}
		secret, created, err := t.secrets.EnsureWebhookSecret(ctx, p, saved)
		if err != nil {
			writeModuleError(c, err)
			return
		}
		if created {
			out["webhook_secret"] = secret
		}
	}
	c.JSON(http.StatusOK, out)
}

// repositorySettings reports whether b sets a clone or base URL template.
func (b settingsBody) repositorySettings() bool {
	return (b.RepoCloneURLTemplate != nil && *b.RepoCloneURLTemplate != "") ||
		(b.RepoBaseURLTemplate != nil && *b.RepoBaseURLTemplate != "")
}

// moves reports whether b moves the module provider.
func (b settingsBody) moves() bool { return b.Namespace != nil || b.Module != nil || b.Provider != nil }

func deref(s *string, def string) string {
	if s == nil || *s == "" {
		return def
	}
	return *s
}

// redirects is GET .../redirects: [{"id","namespace","module","provider"}].
func (t *terraregWrite) redirects(c *gin.Context) {
	mod, ok := t.provider(c, "")
	if !ok {
		return
	}
	rs, err := t.svc.Redirects(c.Request.Context(), mod)
	if err != nil {
		writeModuleError(c, err)
		return
	}
	out := make([]gin.H, len(rs))
	for i, r := range rs {
		out[i] = gin.H{"id": r.ID, "namespace": r.Namespace, "module": r.Name, "provider": r.System}
	}
	c.JSON(http.StatusOK, out)
}

// deleteRedirect is DELETE .../redirects/:redirect (FULL): null. A
// redirect that does not exist is Terrareg's 200 {"status":"Error"}. Cairn
// does not track which address a download came through, so no redirect is
// "in use" and force (accepted) changes nothing.
func (t *terraregWrite) deleteRedirect(c *gin.Context) {
	var b struct {
		Force bool `json:"force"`
	}
	if !body(c, &b) {
		return
	}
	mod, ok := t.provider(c, policies.ManageRedirects)
	if !ok {
		return
	}
	id, perr := strconv.ParseInt(c.Param("redirect"), 10, 64)
	err := errs.Field(errs.NotFound, "redirect", "Module provider redirect does not exist")
	if perr == nil {
		err = t.svc.DeleteRedirect(c.Request.Context(), middleware.Principal(c), mod, id)
	}
	if errs.Is(err, errs.NotFound) && errs.FieldOf(err) == "redirect" {
		c.JSON(http.StatusOK, gin.H{"status": "Error", "message": errs.Message(err)})
		return
	} else if err != nil {
		writeRefusal(c, err)
		return
	}
	c.JSON(http.StatusOK, nil)
}

// upload is POST .../:version/upload (MODIFY): one multipart file (zip as
// Terrareg takes it, or tar.gz). The version is unpublished until
// .../publish unless CAIRN_TERRAREG_AUTO_PUBLISH. Terrareg answers a
// refused upload with its 500 {"status":"Error"}; Cairn does the same, and
// 413 for an archive over the limit.
func (t *terraregWrite) upload(c *gin.Context) {
	p := middleware.Principal(c)
	if p.Kind == policies.Anonymous {
		writeModuleError(c, errs.ErrUnauthenticated)
		return
	}
	mr, err := c.Request.MultipartReader()
	if err != nil {
		trmStatusError(c, "One file can be uploaded")
		return
	}
	part, err := mr.NextPart()
	for err == nil && part.FileName() == "" {
		part, err = mr.NextPart()
	}
	if err != nil {
		if errors.Is(err, io.EOF) {
			trmStatusError(c, "One file can be uploaded")
		} else {
			trmStatusError(c, "Error occurred - unable to read the upload")
		}
		return
	}
	defer part.Close()
	name := strings.ToLower(part.FileName())
	if !strings.HasSuffix(name, ".zip") && !strings.HasSuffix(name, ".tar.gz") && !strings.HasSuffix(name, ".tgz") {
		trmStatusError(c, "Error occurred - unknown file extension")
		return
	}
	_, err = t.svc.Upload(c.Request.Context(), p, c.Param("ns"), c.Param("name"), c.Param("provider"), c.Param("version"), part, -1)
	if err != nil {
		switch errs.KindOf(err) {
		case errs.Invalid, errs.Conflict:
			trmStatusError(c, errs.Message(err))
		case errs.TooLarge:
			c.AbortWithStatusJSON(http.StatusRequestEntityTooLarge, gin.H{"status": "Error", "message": errs.Message(err)})
		default:
			writeRefusal(c, err)
		}
		return
	}
	trmSuccess(c)
}

// publish is POST .../:version/publish (MODIFY): {"status":"Success"}.
func (t *terraregWrite) publish(c *gin.Context) {
	mod, ok := t.provider(c, policies.PublishPackage)
	if !ok {
		return
	}
	if err := t.svc.PublishVersion(c.Request.Context(), middleware.Principal(c), mod, c.Param("version")); err != nil {
		writeRefusal(c, err)
		return
	}
	trmSuccess(c)
}

// deleteVersion is DELETE .../:version/delete (FULL): {"status":"Success"}.
func (t *terraregWrite) deleteVersion(c *gin.Context) {
	mod, ok := t.provider(c, policies.DestroyModule)
	if !ok {
		return
	}
	if err := t.svc.DeleteModuleVersion(c.Request.Context(), middleware.Principal(c), mod, c.Param("version")); err != nil {
		writeRefusal(c, err)
		return
	}
	trmSuccess(c)
}
