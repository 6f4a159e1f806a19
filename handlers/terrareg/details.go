package terrareg

import (
	"encoding/json"
	"net/http"
	"net/url"
	"path"
	"sort"
	"strings"

	"github.com/gin-gonic/gin"

	"github.com/cairn-registry/cairn/handlers/middleware"
	"github.com/cairn-registry/cairn/modules"
	"github.com/cairn-registry/cairn/modules/metadata"
)

// trmSpec is one part of a version (root, submodule or example) in the
// registry's details shape, plus Cairn's diagnostics: the problems met
// while reading the part's files (unparseable HCL, a bad terrareg.json,
// files skipped by limits), which Terrareg has no field for.
type trmSpec struct {
	Path                 string                        `json:"path"`
	Readme               string                        `json:"readme"`
	Empty                bool                          `json:"empty"`
	Inputs               []trmInput                    `json:"inputs"`
	Outputs              []trmOutput                   `json:"outputs"`
	Dependencies         []metadata.ModuleCall         `json:"dependencies"`
	ProviderDependencies []metadata.ProviderDependency `json:"provider_dependencies"`
	Resources            []trmResource                 `json:"resources"`
	Diagnostics          []metadata.Diagnostic         `json:"diagnostics"`
}

// trmSpecWithModules adds every module call, local ones included, as
// Terrareg does for the root of a version and for submodule and example
// details.
type trmSpecWithModules struct {
	trmSpec
	Modules []trmModuleCall `json:"modules"`
}

type trmInput struct {
	Name        string          `json:"name"`
	Type        string          `json:"type"`
	Description string          `json:"description"`
	Default     json.RawMessage `json:"default"`
	Required    bool            `json:"required"`
}

type trmOutput struct {
	Name        string `json:"name"`
	Description string `json:"description"`
}

// trmResource is a resource as terraform-docs describes it (all seven
// keys): version is the provider's pinned version, else "latest";
// description (from a comment above the resource in terraform-docs) is
// null, Cairn does not read comments.
type trmResource struct {
	Type        string  `json:"type"`
	Name        string  `json:"name"`
	Provider    string  `json:"provider"`
	Source      string  `json:"source"`
	Mode        string  `json:"mode"`
	Version     string  `json:"version"`
	Description *string `json:"description"`
}

// trmResourceVersion is terraform-docs' resource version: the last
// constraint of the provider when it pins one version, else "latest".
func trmResourceVersion(p metadata.Part, provider string) string {
	for _, d := range p.ProviderDependencies {
		if d.Name != provider || d.Version == "" {
			continue
		}
		cs := strings.Split(d.Version, ",")
		last := strings.TrimSpace(cs[len(cs)-1])
		last = strings.TrimSpace(strings.TrimPrefix(last, "="))
		if last != "" && last[0] >= '0' && last[0] <= '9' && !strings.ContainsAny(last, "<>~! ") {
			return last
		}
	}
	return "latest"
}

// trmModuleCall is one of Terrareg's module calls (root.modules).
type trmModuleCall struct {
	Name        string  `json:"name"`
	Source      string  `json:"source"`
	Version     string  `json:"version"`
	Description *string `json:"description"`
}

// trmSpecOf describes part p; html selects the output=html rendering of
// descriptions. calls are the module calls to show (an example's point at
// the registry). The README is the Markdown source, HTML-escaped as
// Terrareg sanitises it; readme_html serves it rendered.
func trmSpecOf(p metadata.Part, calls []metadata.ModuleCall, html bool) (trmSpecWithModules, error) {
	s := trmSpec{
		Path:                 p.Path,
		Readme:               trmHTMLText.Replace(p.Readme),
		Empty:                p.Empty,
		Inputs:               []trmInput{},
		Outputs:              []trmOutput{},
		Dependencies:         modules.Dependencies(metadata.Part{ModuleCalls: calls}),
		ProviderDependencies: modules.ProviderDependencies(p),
		Resources:            []trmResource{},
		Diagnostics:          p.Diagnostics,
	}
	for _, in := range p.Inputs {
		d, err := trmDescription(in.Description, html)
		if err != nil {
			return trmSpecWithModules{}, err
		}
		s.Inputs = append(s.Inputs, trmInput{Name: in.Name, Type: in.Type, Description: d, Default: in.Default, Required: in.Required})
	}
	for _, out := range p.Outputs {
		d, err := trmDescription(out.Description, html)
		if err != nil {
			return trmSpecWithModules{}, err
		}
		s.Outputs = append(s.Outputs, trmOutput{Name: out.Name, Description: d})
	}
	for _, r := range p.Resources {
		s.Resources = append(s.Resources, trmResource{Type: r.Type, Name: r.Name, Provider: r.Provider,
			Source: modules.ResourceSource(p, r), Mode: r.Mode, Version: trmResourceVersion(p, r.Provider)})
	}
	mc := make([]trmModuleCall, 0, len(calls))
	for _, c := range calls {
		mc = append(mc, trmModuleCall{Name: c.Name, Source: c.Source, Version: c.Version})
	}
	return trmSpecWithModules{trmSpec: s, Modules: mc}, nil
}

// trmProviderFields are Terrareg's module provider settings. Cairn has no
// git integration: the git fields hold Terrareg's defaults, and the
// repository templates come from the version's terrareg.json (null when
// absent or not an http(s)/ssh/git URL).
type trmProviderFields struct {
	ModuleProviderID      string  `json:"module_provider_id"`
	GitProviderID         *int64  `json:"git_provider_id"`
	GitTagFormat          string  `json:"git_tag_format"`
	GitPath               *string `json:"git_path"`
	ArchiveGitPath        bool    `json:"archive_git_path"`
	RepoBaseURLTemplate   *string `json:"repo_base_url_template"`
	RepoCloneURLTemplate  *string `json:"repo_clone_url_template"`
	RepoBrowseURLTemplate *string `json:"repo_browse_url_template"`
}

// Settings made through Terrareg's create and settings endpoints (stored per
// module provider) take precedence over terrareg.json.
func trmProviderFieldsOf(mod *modules.Module, cfg *metadata.TerraregConfig) trmProviderFields {
	f := trmProviderFields{ModuleProviderID: mod.Namespace + "/" + mod.Name + "/" + mod.System, GitTagFormat: "{version}"}
	if cfg != nil {
		f.RepoBaseURLTemplate = trmURLTemplate(cfg.RepoBaseURL)
		f.RepoCloneURLTemplate = trmURLTemplate(cfg.RepoCloneURL)
		f.RepoBrowseURLTemplate = trmURLTemplate(cfg.RepoBrowseURL)
	}
	st := mod.Settings
	f.GitProviderID = st.GitProviderID
	f.GitPath = st.GitPath
	f.ArchiveGitPath = st.ArchiveGitPath
	if st.GitTagFormat != nil {
		f.GitTagFormat = *st.GitTagFormat
	}
	for _, o := range []struct {
		set *string
		out **string
	}{{st.RepoBaseURLTemplate, &f.RepoBaseURLTemplate}, {st.RepoCloneURLTemplate, &f.RepoCloneURLTemplate},
		{st.RepoBrowseURLTemplate, &f.RepoBrowseURLTemplate}} {
		if o.set != nil {
			*o.out = trmURLTemplate(*o.set)
		}
	}
	return f
}

func trmURLTemplate(s string) *string {
	if !modules.SafeRepoURL(s) {
		return nil
	}
	return &s
}

// trmProviderDetails is Terrareg's answer for a module provider without a
// release to show (only pre-releases).
type trmProviderDetails struct {
	ID        string   `json:"id"`
	Namespace string   `json:"namespace"`
	Name      string   `json:"name"`
	Provider  string   `json:"provider"`
	Verified  bool     `json:"verified"`
	Trusted   bool     `json:"trusted"`
	Versions  []string `json:"versions"`
	trmProviderSource
	trmProviderFields
}

// trmLink is one of Terrareg's custom links.
type trmLink struct {
	Text string `json:"text"`
	URL  string `json:"url"`
}

// trmVersionDetails is Terrareg's module version details: the registry's
// details plus what Terrareg's UI reads. Owner, description and downloads
// (the module's, every version) are modules.VersionInfo's, as in search
// results; Terrareg's null stands for an empty owner or description.
// providers are the systems the module name is published for.
type trmVersionDetails struct {
	ID          string             `json:"id"`
	Owner       *string            `json:"owner"`
	Namespace   string             `json:"namespace"`
	Name        string             `json:"name"`
	Version     string             `json:"version"`
	Provider    string             `json:"provider"`
	Description *string            `json:"description"`
	Source      *string            `json:"source"`
	PublishedAt *string            `json:"published_at"`
	Downloads   int64              `json:"downloads"`
	Verified    bool               `json:"verified"`
	Trusted     bool               `json:"trusted"`
	Internal    bool               `json:"internal"`
	Root        trmSpecWithModules `json:"root"`
	Submodules  []trmSpec          `json:"submodules"`
	Providers   []string           `json:"providers"`
	Versions    []string           `json:"versions"`
	trmProviderSource
	trmProviderFields
	VersionCompatibility           string            `json:"version_compatibility,omitempty"`
	PublishedAtDisplay             string            `json:"published_at_display"`
	DisplaySourceURL               *string           `json:"display_source_url"`
	TerraformExampleVersionString  string            `json:"terraform_example_version_string"`
	TerraformExampleVersionComment []string          `json:"terraform_example_version_comment"`
	Beta                           bool              `json:"beta"`
	Published                      bool              `json:"published"`
	SecurityFailures               int               `json:"security_failures"`
	SecurityResults                []any             `json:"security_results"`
	AdditionalTabFiles             map[string]string `json:"additional_tab_files"`
	CustomLinks                    []trmLink         `json:"custom_links"`
	GraphURL                       string            `json:"graph_url"`
	TerraformVersionConstraint     *string           `json:"terraform_version_constraint"`
	ModuleExtractionUpToDate       bool              `json:"module_extraction_up_to_date"`
	UsageExample                   string            `json:"usage_example"`
}

// trmReleases lists the versions Terrareg's details show: newest first,
// without pre-releases ("beta" versions in Terrareg).
func trmReleases(mod *modules.Module) []string {
	out := []string{}
	for _, v := range mod.SortedVersions() {
		if !v.IsPrerelease {
			out = append(out, v.Version)
		}
	}
	return out
}

// providerDetails is GET /v1/terrareg/modules/:ns/:name/:provider: the
// latest version's details, or the provider's own when it has no version.
// Latest is Terrareg's (modules.Module.LatestRelease): the newest published
// version that is not a pre-release.
func (t *terraregModules) providerDetails(c *gin.Context) {
	mod, ok := t.find(c)
	if !ok {
		return
	}
	latest, ok := mod.LatestRelease()
	if !ok {
		c.JSON(http.StatusOK, trmProviderDetails{ID: mod.Namespace + "/" + mod.Name + "/" + mod.System,
			Namespace: mod.Namespace, Name: mod.Name, Provider: mod.System, Versions: trmReleases(mod), Verified: mod.Settings.Verified,
			trmProviderFields: trmProviderFieldsOf(mod, nil)})
		return
	}
	t.writeVersionDetails(c, mod, latest)
}

// versionDetails is GET /v1/terrareg/modules/:ns/:name/:provider/:version
// (?output=html renders variable and output descriptions).
func (t *terraregModules) versionDetails(c *gin.Context) {
	mod, v, ok := t.findVersion(c, true)
	if !ok {
		return
	}
	t.writeVersionDetails(c, mod, v)
}

func (t *terraregModules) writeVersionDetails(c *gin.Context, mod *modules.Module, v modules.Version) {
	ctx := c.Request.Context()
	m, err := t.svc.Docs(ctx, v)
	if err != nil {
		trmInternalError(c, err)
		return
	}
	info, err := t.svc.VersionInfo(ctx, v)
	if err != nil {
		trmInternalError(c, err)
		return
	}
	figures, err := t.svc.VersionFigures(ctx, []int64{v.ID})
	if err != nil {
		trmInternalError(c, err)
		return
	}
	systems, err := t.svc.Systems(ctx, middleware.Principal(c), mod.Namespace, mod.Name)
	if err != nil {
		trmInternalError(c, err)
		return
	}
	html := c.Query("output") == "html"
	root, err := trmSpecOf(m.Root, m.Root.ModuleCalls, html)
	if err != nil {
		trmInternalError(c, err)
		return
	}
	root.Modules = append(root.Modules, trmNestedCalls(m)...)
	subs := make([]trmSpec, 0, len(m.Submodules))
	for _, sm := range m.Submodules {
		// Terrareg renders submodule descriptions as Markdown source.
		s, err := trmSpecOf(sm, sm.ModuleCalls, false)
		if err != nil {
			trmInternalError(c, err)
			return
		}
		subs = append(subs, s.trmSpec)
	}
	latest, _ := mod.Latest()
	d := trmVersionDetails{
		ID:                             mod.Namespace + "/" + mod.Name + "/" + mod.System + "/" + v.Version,
		Owner:                          trmOptional(info.Owner),
		Namespace:                      mod.Namespace,
		Name:                           mod.Name,
		Version:                        v.Version,
		Provider:                       mod.System,
		Description:                    trmOptional(info.Description),
		Source:                         trmOptional(t.sourceURL(mod, m, v, "")),
		PublishedAt:                    trmTime(v.CreatedAt),
		Downloads:                      figures[v.ID].Downloads,
		Root:                           root,
		Submodules:                     subs,
		Providers:                      systems,
		Versions:                       trmReleases(mod),
		trmProviderFields:              trmProviderFieldsOf(mod, m.Terrareg),
		PublishedAtDisplay:             v.CreatedAt.UTC().Format("January 02, 2006"),
		DisplaySourceURL:               trmOptional(t.browseURL(mod, m, v, "")),
		TerraformExampleVersionString:  v.Version,
		TerraformExampleVersionComment: trmVersionComment(v, latest),
		Verified:                       mod.Settings.Verified,
		Beta:                           v.IsPrerelease,
		Published:                      v.Published,
		AdditionalTabFiles:             trmAdditionalTabFiles(m.Root),
		CustomLinks:                    trmCustomLinks(m),
		GraphURL:                       trmUIVersionPath(mod, v) + "/graph",
		TerraformVersionConstraint:     trmOptional(modules.TerraformVersionConstraint(m.Root)),
		ModuleExtractionUpToDate:       true,
		UsageExample:                   m.UsageExample(t.address(mod), v.Version),
	}
	if target := c.Query("target_terraform_version"); target != "" {
		d.VersionCompatibility = versionCompatibility(modules.TerraformVersionConstraint(m.Root), target)
	}
	c.JSON(http.StatusOK, d)
}

// trmVersionComment is Terrareg's warning above the version line of usage
// examples for versions a constraint would not pick.
func trmVersionComment(v, latest modules.Version) []string {
	switch {
	case v.IsPrerelease:
		return []string{"This version of the module is a beta version.", "To use this version, it must be pinned in Terraform"}
	case v.ID != latest.ID:
		return []string{"This version of the module is not the latest version.", "To use this specific version, it must be pinned in Terraform"}
	}
	return []string{}
}

// trmCustomLinks offers terrareg.json's issues_url as a link; Terrareg's
// custom links are instance configuration Cairn does not have.
func trmCustomLinks(m *metadata.Module) []trmLink {
	links := []trmLink{}
	if m.Terrareg != nil && modules.SafeRepoURL(m.Terrareg.IssuesURL) {
		links = append(links, trmLink{Text: "Issues", URL: m.Terrareg.IssuesURL})
	}
	return links
}

func trmOptional(s string) *string {
	if s == "" {
		return nil
	}
	return &s
}

func (t *terraregModules) repoFields(mod *modules.Module, v modules.Version, dir string) modules.RepoFields {
	return modules.RepoFields{Namespace: mod.Namespace, Module: mod.Name, Provider: mod.System, Tag: v.Version, Path: dir}
}

// repoTemplates are the version's repository URL templates
// (modules.Service.RepoTemplates: settings, git provider, terrareg.json).
func (t *terraregModules) repoTemplates(mod *modules.Module, m *metadata.Module) (base, browse string) {
	var jsonBase, jsonBrowse string
	if m.Terrareg != nil {
		jsonBase, jsonBrowse = m.Terrareg.RepoBaseURL, m.Terrareg.RepoBrowseURL
	}
	return t.svc.RepoTemplates(mod.Settings, jsonBase, jsonBrowse)
}

// sourceURL is the module's repository, "" (Terrareg's null) when no
// repository URL is set.
func (t *terraregModules) sourceURL(mod *modules.Module, m *metadata.Module, v modules.Version, dir string) string {
	base, _ := t.repoTemplates(mod, m)
	return modules.RepoURL(base, t.repoFields(mod, v, dir))
}

// browseURL links to dir at this version in the repository browser, else
// to the repository (sourceURL).
func (t *terraregModules) browseURL(mod *modules.Module, m *metadata.Module, v modules.Version, dir string) string {
	_, browse := t.repoTemplates(mod, m)
	if u := modules.RepoURL(browse, t.repoFields(mod, v, dir)); u != "" {
		return u
	}
	return t.sourceURL(mod, m, v, dir)
}

// trmVersionEntry is one entry of Terrareg's version list.
type trmVersionEntry struct {
	Version   string `json:"version"`
	Published bool   `json:"published"`
	Beta      bool   `json:"beta"`
}

// versions is GET /v1/terrareg/modules/:ns/:name/:provider/versions: the
// versions newest first, pre-releases only with ?include-beta=true,
// versions awaiting publication only with ?include-unpublished=true and
// only for maintainers (MODIFY).
func (t *terraregModules) versions(c *gin.Context) {
	mod, ok := t.find(c)
	if !ok {
		return
	}
	beta := trmTruthy(c.Query("include-beta"))
	list := mod
	if trmTruthy(c.Query("include-unpublished")) && len(mod.Unpublished) > 0 && t.svc.CanMaintain(middleware.Principal(c), mod) {
		list = mod.WithUnpublished()
	}
	out := []trmVersionEntry{}
	for _, v := range list.SortedVersions() {
		if v.IsPrerelease && !beta {
			continue
		}
		out = append(out, trmVersionEntry{Version: v.Version, Published: v.Published, Beta: v.IsPrerelease})
	}
	c.JSON(http.StatusOK, out)
}

// trmIntegration is one of Terrareg's integration URLs.
type trmIntegration struct {
	Method      *string `json:"method"`
	URL         string  `json:"url"`
	Description string  `json:"description"`
	Notes       string  `json:"notes"`
}

// integrations is GET /v1/terrareg/modules/:ns/:name/:provider/integrations.
// Cairn publishes through GitLab's upload endpoint, which publishes as it
// stores, so the list has that one entry; Terrareg's import, hook and
// publish URLs have no counterpart. URLs are paths, as in Terrareg, with
// ${version} for the version.
func (t *terraregModules) integrations(c *gin.Context) {
	mod, ok := t.find(c)
	if !ok {
		return
	}
	put := http.MethodPut
	c.JSON(http.StatusOK, []trmIntegration{{
		Method: &put,
		URL: "/api/v4/projects/" + url.PathEscape(mod.ProjectPath) + "/packages/terraform/modules/" +
			url.PathEscape(mod.Name) + "/" + url.PathEscape(mod.System) + "/${version}/file",
		Description: "Create module version using source archive",
		Notes: "Send the module as a .tar.gz or .zip archive, as the request body (curl --upload-file) or a multipart " +
			"'file' field, with a PRIVATE-TOKEN, DEPLOY-TOKEN or JOB-TOKEN header. The version is published " +
			"as soon as the upload succeeds.",
	}})
}

// trmNestedCalls are the module calls made inside the root's local module
// calls, as Terrareg lists them from terraform's modules.json: named
// "<parent>.<child>" (deeper levels likewise), a local child's source
// resolved against its parent's ("./modules/a" calling "../b" is
// "./modules/b"), with the version of the parent call. Cairn reads only the
// archive, so the calls inside the submodules it holds (modules/<name>)
// are followed; calls of remote modules are not opened.
func trmNestedCalls(m *metadata.Module) []trmModuleCall {
	parts := map[string]metadata.Part{}
	for _, sm := range m.Submodules {
		parts[sm.Path] = sm
	}
	var out []trmModuleCall
	var walk func(prefix, source, ver string, depth int)
	walk = func(prefix, source, ver string, depth int) {
		if depth > 8 || !(strings.HasPrefix(source, "./") || strings.HasPrefix(source, "../")) {
			return
		}
		part, ok := parts[path.Clean(source)]
		if !ok {
			return
		}
		for _, c := range part.ModuleCalls {
			src := c.Source
			if strings.HasPrefix(src, "./") || strings.HasPrefix(src, "../") {
				src = "./" + path.Clean(path.Join(source, src))
			}
			key := prefix + "." + c.Name
			out = append(out, trmModuleCall{Name: key, Source: src, Version: ver})
			walk(key, src, ver, depth+1)
		}
	}
	for _, c := range m.Root.ModuleCalls {
		walk(c.Name, c.Source, c.Version, 0)
	}
	sort.SliceStable(out, func(i, j int) bool { return out[i].Name < out[j].Name })
	return out
}

// trmAdditionalTabFiles is Terrareg's additional_tab_files: the root's
// CHANGELOG and LICENSE, by tab name, when the upload had them.
func trmAdditionalTabFiles(root metadata.Part) map[string]string {
	tabs := map[string]string{}
	if strings.TrimSpace(root.Changelog) != "" && root.ChangelogFile != "" {
		tabs["Changelog"] = root.ChangelogFile
	}
	if strings.TrimSpace(root.License) != "" && root.LicenseFile != "" {
		tabs["License"] = root.LicenseFile
	}
	return tabs
}
