package terrareg

import (
	"errors"
	"fmt"
	"net/http"
	"path"
	"strings"
	"time"

	"github.com/gin-gonic/gin"

	"github.com/cairn-registry/cairn/blobs"
	"github.com/cairn-registry/cairn/modules"
	"github.com/cairn-registry/cairn/modules/metadata"
)

// trmPathEntry lists a submodule or an example. href is the part's UI page
// (/modules/<ns>/<name>/<provider>/<version>/submodule/<path>, or
// .../example/<path>), as in Terrareg.
type trmPathEntry struct {
	Path string `json:"path"`
	Href string `json:"href"`
}

// submodules is GET .../:version/submodules.
func (t *terraregModules) submodules(c *gin.Context) {
	mod, v, m, ok := t.docs(c, false)
	if !ok {
		return
	}
	out := []trmPathEntry{}
	for _, sm := range m.Submodules {
		out = append(out, trmPathEntry{Path: sm.Path, Href: trmUIVersionPath(mod, v) + "/submodule/" + trmEscapePath(sm.Path)})
	}
	c.JSON(http.StatusOK, out)
}

// examples is GET .../:version/examples.
func (t *terraregModules) examples(c *gin.Context) {
	mod, v, m, ok := t.docs(c, false)
	if !ok {
		return
	}
	out := []trmPathEntry{}
	for _, ex := range m.Examples {
		out = append(out, trmPathEntry{Path: ex.Path, Href: trmUIVersionPath(mod, v) + "/example/" + trmEscapePath(ex.Path)})
	}
	c.JSON(http.StatusOK, out)
}

// trmPartDetails is Terrareg's submodule or example details.
type trmPartDetails struct {
	trmSpecWithModules
	DisplaySourceURL           *string  `json:"display_source_url"`
	SecurityFailures           int      `json:"security_failures"`
	SecurityResults            []any    `json:"security_results"`
	GraphURL                   string   `json:"graph_url"`
	UsageExample               string   `json:"usage_example"`
	TerraformVersionConstraint *string  `json:"terraform_version_constraint"`
	CostAnalysis               *trmCost `json:"cost_analysis,omitempty"`
}

// trmCost is Terrareg's Infracost estimate of an example; Cairn runs no
// Infracost, so the cost is always null.
type trmCost struct {
	YearlyCost *string `json:"yearly_cost"`
}

// partDetails describes a submodule (graphKind "submodule") or an example
// (graphKind "example"). calls are the module calls to show.
func (t *terraregModules) partDetails(c *gin.Context, mod *modules.Module, v modules.Version, m *metadata.Module,
	p metadata.Part, calls []metadata.ModuleCall, graphKind string) {
	spec, err := trmSpecOf(p, calls, c.Query("output") == "html")
	if err != nil {
		trmInternalError(c, err)
		return
	}
	constraint := modules.TerraformVersionConstraint(p)
	if constraint == "" {
		constraint = modules.TerraformVersionConstraint(m.Root)
	}
	d := trmPartDetails{
		trmSpecWithModules:         spec,
		DisplaySourceURL:           trmOptional(t.browseURL(mod, m, v, p.Path)),
		GraphURL:                   trmUIVersionPath(mod, v) + "/graph/" + graphKind + "/" + trmEscapePath(p.Path),
		UsageExample:               trmPartUsage(p, t.address(mod), v.Version),
		TerraformVersionConstraint: trmOptional(constraint),
	}
	if graphKind == "example" {
		d.CostAnalysis = &trmCost{}
	}
	c.JSON(http.StatusOK, d)
}

// trmPartUsage is the usage example of submodule or example p: a module
// block calling address//p.Path with p's required inputs, named after the
// module as the root's is. metadata.UsageExample takes an address whose host
// has a port (127.0.0.1:8443/acme/vpc/aws//modules/x) for a URL and would
// name the block after the directory ("modules"), so the block is generated
// for the module's address and its source then pointed at the part, when
// the part's path needs no HCL escaping (archive paths practically never do).
func trmPartUsage(p metadata.Part, address, version string) string {
	m := &metadata.Module{Root: p}
	full := address + "//" + p.Path
	plain := func(r rune) bool {
		return r == '.' || r == '_' || r == '/' || r == '-' || (r >= 'a' && r <= 'z') || (r >= 'A' && r <= 'Z') || (r >= '0' && r <= '9')
	}
	if strings.ContainsFunc(p.Path, func(r rune) bool { return !plain(r) }) {
		return m.UsageExample(full, version)
	}
	return strings.Replace(m.UsageExample(address, version), `"`+address+`"`, `"`+full+`"`, 1)
}

// submoduleDetails is GET .../:version/submodules/details/*submodule.
func (t *terraregModules) submoduleDetails(c *gin.Context) {
	mod, v, m, ok := t.docs(c, false)
	if !ok {
		return
	}
	sm, ok := modules.Submodule(m, c.Param("submodule"))
	if !ok {
		trmNotFound(c)
		return
	}
	t.partDetails(c, mod, v, m, sm, sm.ModuleCalls, "submodule")
}

// exampleDetails is GET .../:version/examples/details/*example. The
// example's calls of its own module ("../..") are shown as calls of the
// registry address, as its files are (see exampleFile).
func (t *terraregModules) exampleDetails(c *gin.Context) {
	mod, v, m, ok := t.docs(c, false)
	if !ok {
		return
	}
	ex, ok := modules.Example(m, c.Param("example"))
	if !ok {
		trmNotFound(c)
		return
	}
	t.partDetails(c, mod, v, m, ex.Part, modules.RegistryCalls(ex.Part, t.address(mod), v.Version), "example")
}

// readme is GET .../:version/readme_html: the root README as rendered
// (markdown.Render, sanitized) once, at upload (metadata.Part.ReadmeHTML),
// as a JSON string; null without a README.
func (t *terraregModules) readme(c *gin.Context) {
	_, _, m, ok := t.docs(c, false)
	if !ok {
		return
	}
	trmStoredReadme(c, m.Root)
}

// submoduleReadme is GET .../:version/submodules/readme_html/*submodule.
func (t *terraregModules) submoduleReadme(c *gin.Context) {
	_, _, m, ok := t.docs(c, false)
	if !ok {
		return
	}
	sm, ok := modules.Submodule(m, c.Param("submodule"))
	if !ok {
		trmNotFound(c)
		return
	}
	trmStoredReadme(c, sm)
}

// exampleReadme is GET .../:version/examples/readme_html/*example.
func (t *terraregModules) exampleReadme(c *gin.Context) {
	_, _, m, ok := t.docs(c, false)
	if !ok {
		return
	}
	ex, ok := modules.Example(m, c.Param("example"))
	if !ok {
		trmNotFound(c)
		return
	}
	trmStoredReadme(c, ex.Part)
}

// trmStoredReadme answers a README as Terrareg does: the HTML rendered at upload
// as a JSON string, or null when there is no README. Serving HTML inside JSON
// (not as text/html) also means a browser opening the URL never renders it.
func trmStoredReadme(c *gin.Context, p metadata.Part) {
	if strings.TrimSpace(p.Readme) == "" {
		c.JSON(http.StatusOK, nil)
		return
	}
	c.JSON(http.StatusOK, p.ReadmeHTML)
}

// trmFileEntry is one file of an example.
type trmFileEntry struct {
	Filename    string `json:"filename"`
	Path        string `json:"path"`
	ContentHref string `json:"content_href"`
}

// exampleFileList is GET .../:version/examples/filelist/*example: the
// example's files, main.tf first. An unknown example is 404 (Terrareg
// answers an empty list).
func (t *terraregModules) exampleFileList(c *gin.Context) {
	mod, v, m, ok := t.docs(c, false)
	if !ok {
		return
	}
	ex, ok := modules.Example(m, c.Param("example"))
	if !ok {
		trmNotFound(c)
		return
	}
	out := []trmFileEntry{}
	for _, f := range modules.ExampleFiles(ex) {
		full := ex.Path + "/" + f.Path
		out = append(out, trmFileEntry{Filename: path.Base(f.Path), Path: full,
			ContentHref: trmVersionPath(mod, v) + "/examples/file/" + trmEscapePath(full)})
	}
	c.JSON(http.StatusOK, out)
}

// exampleFile is GET .../:version/examples/file/*path (the path from the
// archive root, "examples/basic/main.tf"): the file as a JSON string, with
// the relative module sources of .tf files pointing at the registry
// (modules.ExampleFileContent) and the text HTML-escaped, as Terrareg's UI
// inserts it into the page as HTML. An unknown file is 404 (Terrareg answers
// 200 with a message).
func (t *terraregModules) exampleFile(c *gin.Context) {
	mod, v, m, ok := t.docs(c, false)
	if !ok {
		return
	}
	ex, f, ok := modules.ExampleFile(m, c.Param("path"))
	if !ok {
		trmNotFound(c)
		return
	}
	c.JSON(http.StatusOK, trmHTMLText.Replace(modules.ExampleFileContent(ex, f, t.address(mod), v.Version)))
}

// variableTemplate is GET .../:version/variable_template: Terrareg's usage
// builder (modules.VariableTemplate); additional_help is escaped text, or
// rendered Markdown with ?output=html.
func (t *terraregModules) variableTemplate(c *gin.Context) {
	_, _, m, ok := t.docs(c, false)
	if !ok {
		return
	}
	html := c.Query("output") == "html"
	vars := modules.VariableTemplate(m)
	for i := range vars {
		help, err := trmDescription(vars[i].AdditionalHelp, html)
		if err != nil {
			trmInternalError(c, err)
			return
		}
		vars[i].AdditionalHelp = help
	}
	c.JSON(http.StatusOK, vars)
}

// trmReadmeNames are the names the root README is served under.
var trmReadmeNames = map[string]bool{"readme.md": true, "readme.markdown": true, "readme": true}

// file is GET .../:version/files/*path, Terrareg's additional tab files, as
// HTML in a JSON string: the root README, and the CHANGELOG (rendered at
// upload) and LICENSE (escaped, preformatted) that additional_tab_files
// lists; anything else is 404.
func (t *terraregModules) file(c *gin.Context) {
	_, _, m, ok := t.docs(c, false)
	if !ok {
		return
	}
	name := strings.TrimPrefix(path.Clean("/"+c.Param("path")), "/")
	root := m.Root
	switch {
	case trmReadmeNames[strings.ToLower(name)] && strings.TrimSpace(root.Readme) != "":
		trmStoredReadme(c, root)
	case root.ChangelogFile != "" && name == root.ChangelogFile && root.ChangelogHTML != "":
		c.JSON(http.StatusOK, root.ChangelogHTML)
	case root.LicenseFile != "" && name == root.LicenseFile && root.License != "":
		c.JSON(http.StatusOK, "<pre>"+trmHTMLText.Replace(root.License)+"</pre>")
	default:
		trmNotFound(c)
	}
}

// graph serves .../:version/graph/data (kind ""), .../graph/data/submodule/
// *path and .../graph/data/example/*path: modules.GraphOf, with Terrareg's
// full_resource_names and full_module_names arguments.
func (t *terraregModules) graph(kind string) gin.HandlerFunc {
	return func(c *gin.Context) {
		_, _, m, ok := t.docs(c, true)
		if !ok {
			return
		}
		partPath := ""
		switch kind {
		case "submodule":
			sm, ok := modules.Submodule(m, c.Param("path"))
			if !ok {
				trmNotFound(c)
				return
			}
			partPath = sm.Path
		case "example":
			ex, ok := modules.Example(m, c.Param("path"))
			if !ok {
				trmNotFound(c)
				return
			}
			partPath = ex.Path
		}
		g, ok := modules.GraphOf(m, partPath, modules.GraphOptions{
			FullResourceNames: trmTruthy(c.Query("full_resource_names")),
			FullModuleNames:   trmTruthy(c.Query("full_module_names")),
		})
		if !ok {
			trmNotFound(c)
			return
		}
		c.JSON(http.StatusOK, g)
	}
}

// sourceZip is GET .../:version/source.zip: the version's archive as a zip,
// stored, never encoded on request (modules.Service.SourceZip: the zip built
// at publish, the upload itself when it was a zip, or — for a version
// published before zips were built — the zip made on its first request).
// Like the protocol's archive file, a GET is redirected to the object store
// when it can presign; otherwise the blob is streamed (with Range support).
func (t *terraregModules) sourceZip(c *gin.Context) {
	mod, v, ok := t.findVersion(c, false)
	if !ok {
		return
	}
	ctx := c.Request.Context()
	key, err := t.svc.SourceZip(ctx, v)
	if err != nil {
		trmInternalError(c, err)
		return
	}
	name := fmt.Sprintf("%s-%s-%s.zip", mod.Name, mod.System, v.Version)
	if c.Request.Method == http.MethodGet {
		u, err := t.svc.Blobs().PresignGet(ctx, key, time.Minute, name)
		if err == nil {
			c.Redirect(http.StatusFound, u)
			return
		}
		if !errors.Is(err, blobs.ErrPresignUnsupported) {
			trmInternalError(c, err)
			return
		}
	}
	obj, info, err := t.svc.Blobs().Get(ctx, key)
	if err != nil {
		trmInternalError(c, err)
		return
	}
	defer obj.Close()
	c.Header("Content-Type", "application/zip")
	c.Header("Content-Disposition", fmt.Sprintf(`attachment; filename="%s"`, name))
	c.Header("Cache-Control", "private, no-store")
	http.ServeContent(c.Writer, c.Request, "", info.ModTime, obj)
}
