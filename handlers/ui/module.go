package ui

import (
	"encoding/json"
	"net/http"
	"net/url"
	"strings"

	"github.com/gin-gonic/gin"
	"golang.org/x/sync/errgroup"

	"github.com/cairn-registry/cairn/handlers/middleware"
	"github.com/cairn-registry/cairn/modules"
	"github.com/cairn-registry/cairn/modules/metadata"
	"github.com/cairn-registry/cairn/views"
)

// found is a module version as the viewer may read it.
type found struct {
	mod  *modules.Module
	v    modules.Version
	docs *metadata.Module
}

// findModule resolves :ns/:name/:system and version ("" for the latest)
// through modules.Service.Find as the viewer; missing and hidden answer the
// same 404 page.
func (u *UI) findModule(c *gin.Context, version string) (found, bool) {
	ctx := c.Request.Context()
	mod, err := u.modules.Find(ctx, middleware.Principal(c), c.Param("ns"), c.Param("name"), c.Param("system"))
	if err != nil {
		writeError(c, err)
		return found{}, false
	}
	var v modules.Version
	var ok bool
	if version == "" {
		v, ok = mod.Latest()
	} else {
		v, ok = mod.Version(version)
	}
	if !ok {
		NotFound(c)
		return found{}, false
	}
	m, err := u.docs.docs(ctx, u.modules, v)
	if err != nil {
		writeError(c, err)
		return found{}, false
	}
	return found{mod: mod, v: v, docs: m}, true
}

// moduleBase is the page of a module (its latest version).
func moduleBase(mod *modules.Module) string {
	return "/modules/" + url.PathEscape(mod.Namespace) + "/" + url.PathEscape(mod.Name) + "/" + url.PathEscape(mod.System)
}

// moduleLatest is /modules/:ns/:name/:system: the latest version, or — for
// the version picker without scripts — a redirect to ?version's page.
func (u *UI) moduleLatest(c *gin.Context) {
	if v := c.Query("version"); v != "" {
		f, ok := u.findModule(c, v)
		if !ok {
			return
		}
		to := moduleBase(f.mod) + "/" + url.PathEscape(f.v.Version)
		if part := c.Query("part"); strings.HasPrefix(part, "submodule/") || strings.HasPrefix(part, "example/") {
			to += "/" + views.EscapePath(part)
		}
		if tab := c.Query("tab"); tab != "" {
			to += "?tab=" + url.QueryEscape(tab)
		}
		c.Redirect(http.StatusSeeOther, to)
		return
	}
	f, ok := u.findModule(c, "")
	if !ok {
		return
	}
	u.modulePage(c, f, "", "")
}

// moduleVersion is /modules/:ns/:name/:system/:version.
func (u *UI) moduleVersion(c *gin.Context) {
	f, ok := u.findModule(c, c.Param("version"))
	if !ok {
		return
	}
	u.modulePage(c, f, "", "")
}

// submodule is .../:version/submodule/*path.
func (u *UI) submodule(c *gin.Context) {
	f, ok := u.findModule(c, c.Param("version"))
	if !ok {
		return
	}
	u.modulePage(c, f, "submodule", strings.Trim(c.Param("path"), "/"))
}

// example is .../:version/example/*path.
func (u *UI) example(c *gin.Context) {
	f, ok := u.findModule(c, c.Param("version"))
	if !ok {
		return
	}
	u.modulePage(c, f, "example", strings.Trim(c.Param("path"), "/"))
}

// address is the module's registry address with a host terraform accepts.
func (u *UI) address(mod *modules.Module) string {
	return u.site.TerraformHost + "/" + mod.Namespace + "/" + mod.Name + "/" + mod.System
}

// modulePage renders the page of the root (kind ""), a submodule or an
// example of f. Only the selected tab's content is computed; an htmx tab
// switch gets the tabbed region only, the usage builder its output only.
func (u *UI) modulePage(c *gin.Context, f found, kind, partPath string) {
	ctx, p := c.Request.Context(), middleware.Principal(c)
	mod, v, m := f.mod, f.v, f.docs
	latest, _ := mod.Latest()
	page := views.ModulePage{
		Namespace: mod.Namespace, Name: mod.Name, System: mod.System, Version: v.Version,
		Prerelease: v.IsPrerelease, Latest: v.ID == latest.ID, Address: u.address(mod),
		Base: moduleBase(mod), PublishedAt: v.CreatedAt, ProjectPath: mod.ProjectPath, Kind: "module",
	}
	page.VersionBase = page.Base + "/" + url.PathEscape(v.Version)
	page.Here = page.VersionBase
	for _, x := range mod.SortedVersions() {
		page.Versions = append(page.Versions, views.VersionOption{Version: x.Version, Prerelease: x.IsPrerelease, Latest: x.ID == latest.ID})
	}

	part := m.Root
	var example *metadata.Example
	switch kind {
	case "submodule":
		sm, ok := modules.Submodule(m, partPath)
		if !ok {
			NotFound(c)
			return
		}
		part = sm
	case "example":
		ex, ok := modules.Example(m, partPath)
		if !ok {
			NotFound(c)
			return
		}
		example, part = &ex, ex.Part
	}
	if kind != "" {
		page.Kind, page.PartPath = kind, part.Path
		page.Here = page.PartURL(kind, part.Path)
	}
	page.Part = part
	page.Part.ReadmeHTML = demoteHeadings(part.ReadmeHTML)
	if strings.TrimSpace(part.Readme) == "" {
		page.Part.ReadmeHTML = ""
	}
	page.Part.ChangelogHTML = demoteHeadings(part.ChangelogHTML)
	if strings.TrimSpace(part.Changelog) == "" {
		page.Part.ChangelogHTML = ""
	}
	page.RequiredTerraform = modules.TerraformVersionConstraint(part)
	if page.RequiredTerraform == "" {
		page.RequiredTerraform = modules.TerraformVersionConstraint(m.Root)
	}
	page.SourceURL = u.sourceURL(mod, m, v, part.Path)
	switch kind {
	case "":
		page.Usage = m.UsageExample(page.Address, v.Version)
	case "submodule":
		page.Usage = partUsage(part, page.Address, v.Version)
	case "example":
		page.Usage = exampleUsage(*example, page.Address, v.Version)
	}

	// Tabs, in Terrareg's order; the first with content is the default.
	tab := func(id, label string, n int) views.Tab {
		return views.Tab{ID: id, Label: label, Count: n, URL: page.Here + "?tab=" + id}
	}
	if kind == "example" {
		page.Tabs = append(page.Tabs, tab("files", "Files", len(example.Files)))
	}
	page.Tabs = append(page.Tabs, tab("readme", "README", -1), tab("inputs", "Inputs", len(part.Inputs)),
		tab("outputs", "Outputs", len(part.Outputs)), tab("resources", "Resources", len(part.Resources)))
	calls := modules.Dependencies(part)
	if kind == "example" {
		calls = modules.RegistryCalls(part, page.Address, v.Version)
	}
	providers := modules.ProviderDependencies(part)
	page.Tabs = append(page.Tabs, tab("dependencies", "Dependencies", len(calls)+len(providers)))
	if kind == "" {
		page.Tabs = append(page.Tabs, tab("submodules", "Submodules", len(m.Submodules)),
			tab("examples", "Examples", len(m.Examples)), tab("builder", "Usage builder", -1))
		// The root's additional files, as Terrareg's additional tabs, when present.
		if page.Part.ChangelogHTML != "" {
			page.Tabs = append(page.Tabs, tab("changelog", "Changelog", -1))
		}
		if strings.TrimSpace(page.Part.License) != "" {
			page.Tabs = append(page.Tabs, tab("license", "License", -1))
		}
	}
	page.Tab = c.Query("tab")
	if !hasTab(page.Tabs, page.Tab) {
		page.Tab = page.Tabs[0].ID
		if page.Tab == "readme" && page.Part.ReadmeHTML == "" {
			page.Tab = "inputs"
		}
	}

	switch page.Tab {
	case "dependencies":
		page.Calls, page.Providers = calls, providers
	case "submodules":
		for _, sm := range m.Submodules {
			page.Submodules = append(page.Submodules, sm.Path)
		}
	case "examples":
		for _, ex := range m.Examples {
			page.Examples = append(page.Examples, ex.Path)
		}
	case "files":
		for _, ef := range modules.ExampleFiles(*example) {
			content := modules.ExampleFileContent(*example, ef, page.Address, v.Version)
			page.ExampleFiles = append(page.ExampleFiles, views.ExampleFileView{Path: ef.Path, HTML: u.highlight.html(ef.Path, content)})
		}
	case "builder":
		page.Builder = builder(c, page.Here, page.Address, mod.Name, v.Version, m)
		if fragmentFor(c, "builder-output") {
			render(c, http.StatusOK, views.BuilderOutput(page.Builder.HCL))
			return
		}
	}
	if fragmentFor(c, "tabbed") {
		render(c, http.StatusOK, views.TabSwitch(page))
		return
	}

	// What the page head shows beside the documentation, read at once.
	var info modules.VersionInfo
	g, gctx := errgroup.WithContext(ctx)
	g.Go(func() (err error) { info, err = u.modules.PageInfo(gctx, v); return })
	g.Go(func() (err error) { page.Systems, err = u.modules.Systems(gctx, p, mod.Namespace, mod.Name); return })
	if err := g.Wait(); err != nil {
		writeError(c, err)
		return
	}
	page.Description, page.Owner, page.Downloads = views.PlainText(info.Description), info.Owner, info.Summary
	render(c, http.StatusOK, views.Module(u.chrome(c, page.Title()), page))
}

func hasTab(tabs []views.Tab, id string) bool {
	for _, t := range tabs {
		if t.ID == id {
			return true
		}
	}
	return false
}

// demoteHeadings moves a README's headings one level down (h1 → h2, ...),
// so the page keeps one <h1>. The HTML was sanitised at upload; "<h1" can
// only be a tag there (text has its < escaped).
var demoteHeadings = strings.NewReplacer(
	"<h5", "<h6", "</h5>", "</h6>", "<h4", "<h5", "</h4>", "</h5>", "<h3", "<h4", "</h3>", "</h4>",
	"<h2", "<h3", "</h2>", "</h3>", "<h1", "<h2", "</h1>", "</h2>").Replace

// sourceURL is the module's repository at dir (terrareg.json's
// repo_browse_url, else repo_base_url), else its project's page.
func (u *UI) sourceURL(mod *modules.Module, m *metadata.Module, v modules.Version, dir string) string {
	if m.Terrareg != nil {
		f := modules.RepoFields{Namespace: mod.Namespace, Module: mod.Name, Provider: mod.System, Tag: v.Version, Path: dir}
		if s := modules.RepoURL(m.Terrareg.RepoBrowseURL, f); s != "" {
			return s
		}
		if s := modules.RepoURL(m.Terrareg.RepoBaseURL, f); s != "" {
			return s
		}
	}
	return u.site.URL + views.ProjectURL(mod.ProjectPath)
}

// partUsage is a submodule's usage example: the root's snippet for the
// part's inputs, its source pointed at address//path.
func partUsage(p metadata.Part, address, version string) string {
	m := &metadata.Module{Root: p}
	return strings.Replace(m.UsageExample(address, version), views.HCLString(address), views.HCLString(address+"//"+p.Path), 1)
}

// exampleUsage is an example's main.tf as users copy it (the example's
// module sources pointing at the registry), else the root's snippet.
func exampleUsage(ex metadata.Example, address, version string) string {
	for _, f := range modules.ExampleFiles(ex) {
		if f.Path == "main.tf" {
			return modules.ExampleFileContent(ex, f, address, version)
		}
	}
	return partUsage(ex.Part, address, version)
}

// graph serves .../:version/graph (kind ""), .../graph/submodule/*path and
// .../graph/example/*path: the part's resource graph, drawn in the
// browser from modules.GraphOf (embedded as data, no request of its own).
func (u *UI) graph(kind string) gin.HandlerFunc {
	return func(c *gin.Context) {
		f, ok := u.findModule(c, c.Param("version"))
		if !ok {
			return
		}
		partPath := ""
		switch kind {
		case "submodule":
			sm, ok := modules.Submodule(f.docs, strings.Trim(c.Param("path"), "/"))
			if !ok {
				NotFound(c)
				return
			}
			partPath = sm.Path
		case "example":
			ex, ok := modules.Example(f.docs, strings.Trim(c.Param("path"), "/"))
			if !ok {
				NotFound(c)
				return
			}
			partPath = ex.Path
		}
		g, ok := modules.GraphOf(f.docs, partPath, modules.GraphOptions{})
		if !ok {
			NotFound(c)
			return
		}
		data, err := json.Marshal(g)
		if err != nil {
			writeError(c, err)
			return
		}
		mod := f.mod
		page := views.ModulePage{Namespace: mod.Namespace, Name: mod.Name, System: mod.System, Version: f.v.Version, Kind: "module",
			Base: moduleBase(mod)}
		page.VersionBase = page.Base + "/" + url.PathEscape(f.v.Version)
		page.Here = page.VersionBase
		if kind != "" {
			page.Kind, page.PartPath = kind, partPath
			page.Here = page.PartURL(kind, partPath)
		}
		ch := u.chrome(c, "Graph · "+page.Title())
		ch.Scripts = []string{"cytoscape-3.35.0.min.js", "graph.js"}
		render(c, http.StatusOK, views.Graph(ch, views.GraphPage{Module: page, Data: string(data), Graph: g}))
	}
}
