package terrareg

import (
	"net/http"
	"net/url"
	"strings"

	"github.com/gin-gonic/gin"

	"github.com/cairn-registry/cairn/errs"
	"github.com/cairn-registry/cairn/handlers/middleware"
	"github.com/cairn-registry/cairn/modules"
	"github.com/cairn-registry/cairn/modules/markdown"
	"github.com/cairn-registry/cairn/modules/metadata"
	"github.com/cairn-registry/cairn/policies"
	"github.com/cairn-registry/cairn/projects"
)

// trmBase is where Terrareg's per-module read API lives.
const trmBase = "/v1/terrareg/modules"

// terraregModules serves Terrareg's read API for one module provider
// (Cairn's namespace/name/system) and its versions: details, versions,
// submodules, examples, READMEs, the usage builder, the resource graph and
// the source zip.
// https://github.com/MatthewJohn/terrareg (terrareg/server/api/terrareg_*.py)
//
// Every lookup is modules.Service.Find, so visibility and permissions apply
// as on every other surface, and a module the caller may not see is answered
// exactly like one that does not exist:
//   - anonymous callers get 401 (+ WWW-Authenticate) whether the module is
//     private or missing, Cairn's rule for anonymous refusals;
//   - authenticated callers get Terrareg's 400 "Namespace does not exist" when
//     no namespace of that name is visible to them, else 400 "Module provider
//     does not exist";
//   - a caller who can see the project but may not read its packages gets 403.
//
// Missing versions follow Terrareg: 404 {"errors":["Not Found"]} from the
// details and graph endpoints, 400 "Module version does not exist" from the
// others. A missing submodule, example, example file or file is 404.
type terraregModules struct {
	svc    *modules.Service
	groups *projects.Service
	site   middleware.Site
}

// register mounts Terrareg's per-module read endpoints.
func (t *terraregModules) register(r gin.IRouter, auth gin.HandlerFunc) {
	g := r.Group(trmBase+"/:ns/:name/:provider", auth)
	g.GET("", t.providerDetails)
	g.GET("/versions", t.versions)
	g.GET("/integrations", t.integrations)

	v := g.Group("/:version")
	v.GET("", t.versionDetails)
	v.GET("/submodules", t.submodules)
	v.GET("/submodules/details/*submodule", t.submoduleDetails)
	v.GET("/submodules/readme_html/*submodule", t.submoduleReadme)
	v.GET("/examples", t.examples)
	v.GET("/examples/details/*example", t.exampleDetails)
	v.GET("/examples/readme_html/*example", t.exampleReadme)
	v.GET("/examples/filelist/*example", t.exampleFileList)
	v.GET("/examples/file/*path", t.exampleFile)
	v.GET("/readme_html", t.readme)
	v.GET("/variable_template", t.variableTemplate)
	v.GET("/files/*path", t.file)
	v.GET("/source.zip", t.sourceZip)
	v.GET("/graph/data", t.graph(""))
	v.GET("/graph/data/submodule/*path", t.graph("submodule"))
	v.GET("/graph/data/example/*path", t.graph("example"))
}

// find resolves the module provider of the request, or answers the refusal.
func (t *terraregModules) find(c *gin.Context) (*modules.Module, bool) {
	p := middleware.Principal(c)
	mod, err := t.svc.Find(c.Request.Context(), p, c.Param("ns"), c.Param("name"), c.Param("provider"))
	if err != nil {
		t.lookupError(c, p, err)
		return nil, false
	}
	return mod, true
}

// lookupError answers a refused or failed module lookup (see terraregModules).
func (t *terraregModules) lookupError(c *gin.Context, p *policies.Principal, err error) {
	if errs.KindOf(err) != errs.NotFound {
		writeModuleError(c, err)
		return
	}
	visible, err := t.namespaceVisible(c, p)
	if err != nil {
		writeModuleError(c, err)
		return
	}
	msg := "Module provider does not exist"
	if !visible {
		msg = "Namespace does not exist"
	}
	badRequest(c, msg)
}

// namespaceVisible reports whether the request's namespace is a top-level
// group p may see. Only asked after a lookup found nothing, to pick
// Terrareg's message; a namespace p cannot see does not exist for p.
func (t *terraregModules) namespaceVisible(c *gin.Context, p *policies.Principal) (bool, error) {
	g, err := t.groups.GroupByPath(c.Request.Context(), p, c.Param("ns"))
	switch errs.KindOf(err) {
	case errs.Internal:
		if err != nil {
			return false, err
		}
		return g.TopLevel(), nil
	case errs.NotFound, errs.Unauthenticated, errs.Forbidden:
		return false, nil
	default:
		return false, err
	}
}

func trmInternalError(c *gin.Context, err error) { writeModuleError(c, err) }

// trmNotFound is Terrareg's 404.
func trmNotFound(c *gin.Context) {
	c.AbortWithStatusJSON(http.StatusNotFound, gin.H{"errors": []string{"Not Found"}})
}

// findVersion resolves the module and the :version of the request. A
// missing version is Terrareg's 404 when notFound404, else its 400.
func (t *terraregModules) findVersion(c *gin.Context, notFound404 bool) (*modules.Module, modules.Version, bool) {
	mod, ok := t.find(c)
	if !ok {
		return nil, modules.Version{}, false
	}
	v, ok := mod.Version(c.Param("version"))
	if !ok {
		// Maintainers see versions awaiting publication (published: false).
		if uv, found := mod.AnyVersion(c.Param("version")); found && t.svc.CanMaintain(middleware.Principal(c), mod) {
			return mod, uv, true
		}
		if notFound404 {
			trmNotFound(c)
		} else {
			c.AbortWithStatusJSON(http.StatusBadRequest, gin.H{"message": "Module version does not exist"})
		}
		return nil, modules.Version{}, false
	}
	return mod, v, true
}

// docs resolves module and version as findVersion does and reads what was
// extracted from the version's archive.
func (t *terraregModules) docs(c *gin.Context, notFound404 bool) (*modules.Module, modules.Version, *metadata.Module, bool) {
	mod, v, ok := t.findVersion(c, notFound404)
	if !ok {
		return nil, modules.Version{}, nil, false
	}
	m, err := t.svc.Docs(c.Request.Context(), v)
	if err != nil {
		trmInternalError(c, err)
		return nil, modules.Version{}, nil, false
	}
	return mod, v, m, true
}

// address is the module's registry address, host/namespace/name/provider.
func (t *terraregModules) address(mod *modules.Module) string {
	return t.site.Host + "/" + mod.Namespace + "/" + mod.Name + "/" + mod.System
}

// trmVersionPath is the API path of one version, each segment escaped.
func trmVersionPath(mod *modules.Module, v modules.Version) string {
	return trmBase + "/" + url.PathEscape(mod.Namespace) + "/" + url.PathEscape(mod.Name) + "/" +
		url.PathEscape(mod.System) + "/" + url.PathEscape(v.Version)
}

// trmUIVersionPath is the UI page of one version (Terrareg's view URL),
// /modules/<ns>/<name>/<provider>/<version>, each segment escaped.
func trmUIVersionPath(mod *modules.Module, v modules.Version) string {
	return "/modules/" + url.PathEscape(mod.Namespace) + "/" + url.PathEscape(mod.Name) + "/" +
		url.PathEscape(mod.System) + "/" + url.PathEscape(v.Version)
}

// trmEscapePath escapes each segment of a slash-separated archive path.
func trmEscapePath(p string) string {
	segs := strings.Split(p, "/")
	for i, s := range segs {
		segs[i] = url.PathEscape(s)
	}
	return strings.Join(segs, "/")
}

// trmHTMLText escapes text for use as HTML element content. Terrareg's UI puts
// descriptions, usage-builder help and example files into pages as HTML;
// Terrareg sanitises them, Cairn escapes them, so uploaded text can never
// become markup there. Quotes are left alone: they are harmless outside
// attributes and keep the text readable.
var trmHTMLText = strings.NewReplacer("&", "&amp;", "<", "&lt;", ">", "&gt;")

// trmMarkdown is markdown.Render as a string: the only HTML this
// surface serves.
func trmMarkdown(src string) (string, error) {
	out, err := markdown.Render([]byte(src))
	return string(out), err
}

// trmDescription formats a variable or output description for output=md (the
// text, escaped) or output=html (rendered Markdown).
func trmDescription(text string, html bool) (string, error) {
	if text == "" {
		return "", nil
	}
	if html {
		return trmMarkdown(text)
	}
	return trmHTMLText.Replace(text), nil
}

// trmTruthy reads Terrareg's boolean query arguments.
func trmTruthy(s string) bool {
	switch strings.ToLower(s) {
	case "1", "true", "yes", "on":
		return true
	}
	return false
}
