package views

import (
	"encoding/json"
	"fmt"
	"net/url"
	"strconv"
	"strings"
	"time"

	"github.com/cairn-registry/cairn/modules"
	"github.com/cairn-registry/cairn/modules/metadata"
	"github.com/cairn-registry/cairn/projects"
)

// Landing is what the landing page shows.
type Landing struct {
	// Host is the registry host as terraform accepts it in a source.
	Host string
	// URL is the public base URL.
	URL     string
	Stats   modules.Stats
	Recent  *modules.Outline
	Popular *modules.Outline
}

// Facet is one namespace or system a search can be narrowed to.
type Facet struct {
	Name     string
	Count    int64
	Selected bool
	// URL toggles the facet on the current search.
	URL string
}

// SearchPage is a list or search of modules.
type SearchPage struct {
	Heading string
	// Action is the path the search form and its live updates go to.
	Action string
	Q      string
	// Namespaces and Systems are the selected filters.
	Namespaces []string
	Systems    []string
	// NamespaceFacets and SystemFacets are shown beside the results; empty
	// on a namespace's or a module's page.
	NamespaceFacets []Facet
	SystemFacets    []Facet
	// NamespaceFacetsMore and SystemFacetsMore count the facets left out
	// (only the largest are listed, and every selected one).
	NamespaceFacetsMore, SystemFacetsMore int
	Page                                  modules.Page
	// Total counts every result, -1 when unknown.
	Total int64
	// Prev and Next are the neighbouring pages' URLs, "" when none.
	Prev, Next string
	PageNo     int
}

// Tab is one section of a module page.
type Tab struct {
	ID    string
	Label string
	// Count is shown after the label when >= 0.
	Count int
	URL   string
}

// VersionOption is one entry of the version picker.
type VersionOption struct {
	Version    string
	Prerelease bool
	Latest     bool
}

// Label is how the picker shows the version.
func (v VersionOption) Label() string {
	switch {
	case v.Latest:
		return v.Version + " (latest)"
	case v.Prerelease:
		return v.Version + " (pre-release)"
	}
	return v.Version
}

// Builder is the usage builder: a form of a module's inputs and the HCL it
// makes.
type Builder struct {
	// Action is the module page the form is sent to (tab=builder).
	Action string
	Fields []BuilderField
	// HCL is the module block for the values entered so far.
	HCL string
}

// BuilderField is one input of the usage builder.
type BuilderField struct {
	modules.TemplateVariable
	// Value is what the visitor entered.
	Value string
	// Default is the default value as HCL, "" when there is none.
	Default string
}

// FieldID is the form control's id.
func (f BuilderField) FieldID() string { return "var-" + f.Name }

// FieldName is the form control's name.
func (f BuilderField) FieldName() string { return "var." + f.Name }

// ExampleFileView is an example file, highlighted on the server.
type ExampleFileView struct {
	Path string
	// HTML is the highlighted file (escaped by the highlighter).
	HTML string
}

// ModulePage is a module version, a submodule or an example of it.
type ModulePage struct {
	Namespace, Name, System string
	Version                 string
	Prerelease              bool
	Latest                  bool
	// Address is the registry source address (host/ns/name/system).
	Address string
	// Base is the page of the module ("/modules/ns/name/system"), VersionBase
	// the page of this version.
	Base, VersionBase string
	// Kind is "module", "submodule" or "example"; PartPath the part's path.
	Kind     string
	PartPath string
	// Here is this page's path (without the query).
	Here        string
	Versions    []VersionOption
	PublishedAt time.Time
	Downloads   modules.DownloadSummary
	Description string
	Owner       string
	SourceURL   string
	ProjectPath string
	// Systems are the other systems the module is published for.
	Systems []string
	Usage   string
	// RequiredTerraform is the terraform version constraint, "" for none.
	RequiredTerraform string

	Tabs []Tab
	Tab  string

	Part         metadata.Part
	Calls        []metadata.ModuleCall
	Providers    []metadata.ProviderDependency
	Submodules   []string
	Examples     []string
	ExampleFiles []ExampleFileView
	Builder      Builder
	Diagnostics  int
}

// Title is the page's title.
func (m ModulePage) Title() string {
	t := m.Namespace + "/" + m.Name + "/" + m.System + " " + m.Version
	if m.Kind != "module" {
		t = m.PartPath + " · " + t
	}
	return t
}

// PartURL is the page of a submodule or example of this version.
func (m ModulePage) PartURL(kind, p string) string {
	return m.VersionBase + "/" + kind + "/" + EscapePath(p)
}

// GraphURL is the graph page of this version's root, submodule or example
// (the graph_url Terrareg's API answers).
func (m ModulePage) GraphURL() string {
	if m.Kind == "module" || m.Kind == "" {
		return m.VersionBase + "/graph"
	}
	return m.VersionBase + "/graph/" + m.Kind + "/" + EscapePath(m.PartPath)
}

// GraphPage draws a version's resource graph.
type GraphPage struct {
	Module ModulePage
	// Data is modules.Graph as JSON, for the drawing script.
	Data  string
	Graph modules.Graph
}

// GroupPage is a group: its subgroups, projects and modules.
type GroupPage struct {
	Group      projects.Group
	Parents    []Crumb
	Subgroups  []projects.Group
	Projects   []projects.Project
	Modules    []modules.Outline
	Namespace  bool
	ModuleHost string
}

// Crumb is one link of a breadcrumb trail.
type Crumb struct {
	Label, URL string
}

// ProjectPage is a project: its modules and versions and how to publish.
type ProjectPage struct {
	Project projects.Project
	Parents []Crumb
	// Modules are the project's modules, each with its versions.
	Modules []ProjectModule
	// PublicURL is Cairn's public URL (the audience of job tokens).
	PublicURL string
	// Example names the module the publish snippets upload.
	ExampleName, ExampleSystem string
}

// ProjectModule is one module of a project.
type ProjectModule struct {
	Name, System, Namespace string
	Versions                []modules.Package
}

// URL is the module's page.
func (m ProjectModule) URL() string {
	return "/modules/" + url.PathEscape(m.Namespace) + "/" + url.PathEscape(m.Name) + "/" + url.PathEscape(m.System)
}

// EscapePath escapes each segment of a slash-separated path.
func EscapePath(p string) string {
	segs := strings.Split(p, "/")
	for i, s := range segs {
		segs[i] = url.PathEscape(s)
	}
	return strings.Join(segs, "/")
}

// ModuleURL is the page of a listed module.
func ModuleURL(o modules.Outline) string {
	return "/modules/" + url.PathEscape(o.Namespace) + "/" + url.PathEscape(o.Name) + "/" + url.PathEscape(o.System)
}

// NamespaceURL is the page of a namespace's modules.
func NamespaceURL(ns string) string { return "/modules/" + url.PathEscape(ns) }

// GroupURL is the page of a group.
func GroupURL(fullPath string) string { return "/groups/" + EscapePath(fullPath) }

// ProjectURL is the page of a project.
func ProjectURL(fullPath string) string { return "/" + EscapePath(fullPath) }

// Date formats a time as a date.
func Date(t time.Time) string {
	if t.IsZero() {
		return ""
	}
	return t.UTC().Format("2 January 2006")
}

// ISO formats a time for a <time datetime>.
func ISO(t time.Time) string { return t.UTC().Format(time.RFC3339) }

// Count formats a number with thousands separators.
func Count(n int64) string {
	s := strconv.FormatInt(n, 10)
	if n < 0 {
		return s
	}
	var b strings.Builder
	for i, r := range s {
		if i > 0 && (len(s)-i)%3 == 0 {
			b.WriteByte(',')
		}
		b.WriteRune(r)
	}
	return b.String()
}

// Plural is "1 module" or "3 modules".
func Plural(n int64, one, many string) string {
	if n == 1 {
		return "1 " + one
	}
	return Count(n) + " " + many
}

// DefaultValue shows an input's default (JSON) as Terraform would write it,
// "" when the input has none.
func DefaultValue(in metadata.Input) string {
	if in.Required || len(in.Default) == 0 || string(in.Default) == "null" {
		return ""
	}
	if in.Sensitive {
		return "(sensitive)"
	}
	return JSONAsHCL(in.Default)
}

// JSONAsHCL writes a JSON value in HCL's syntax (objects with = and
// unquoted keys where possible).
func JSONAsHCL(raw json.RawMessage) string {
	var v any
	if err := json.Unmarshal(raw, &v); err != nil {
		return string(raw)
	}
	var b strings.Builder
	writeHCL(&b, v, "")
	return b.String()
}

func writeHCL(b *strings.Builder, v any, indent string) {
	switch x := v.(type) {
	case nil:
		b.WriteString("null")
	case bool:
		b.WriteString(strconv.FormatBool(x))
	case float64:
		b.WriteString(strconv.FormatFloat(x, 'f', -1, 64))
	case string:
		b.WriteString(HCLString(x))
	case []any:
		if len(x) == 0 {
			b.WriteString("[]")
			return
		}
		b.WriteString("[")
		for i, e := range x {
			if i > 0 {
				b.WriteString(", ")
			}
			writeHCL(b, e, indent)
		}
		b.WriteString("]")
	case map[string]any:
		if len(x) == 0 {
			b.WriteString("{}")
			return
		}
		keys := make([]string, 0, len(x))
		for k := range x {
			keys = append(keys, k)
		}
		sortStrings(keys)
		b.WriteString("{\n")
		for _, k := range keys {
			b.WriteString(indent + "  ")
			if identifier(k) {
				b.WriteString(k)
			} else {
				b.WriteString(HCLString(k))
			}
			b.WriteString(" = ")
			writeHCL(b, x[k], indent+"  ")
			b.WriteString("\n")
		}
		b.WriteString(indent + "}")
	default:
		fmt.Fprint(b, x)
	}
}

func sortStrings(s []string) {
	for i := 1; i < len(s); i++ {
		for j := i; j > 0 && s[j] < s[j-1]; j-- {
			s[j], s[j-1] = s[j-1], s[j]
		}
	}
}

func identifier(s string) bool {
	if s == "" {
		return false
	}
	for i, r := range s {
		ok := r == '_' || (r >= 'a' && r <= 'z') || (r >= 'A' && r <= 'Z') || (i > 0 && (r == '-' || (r >= '0' && r <= '9')))
		if !ok {
			return false
		}
	}
	return true
}

// HCLString quotes s as an HCL string literal: backslashes, quotes and
// control characters escaped, and template sequences (${, %{) doubled so
// they stay literal.
func HCLString(s string) string {
	var b strings.Builder
	b.WriteByte('"')
	for i := 0; i < len(s); i++ {
		c := s[i]
		switch c {
		case '\\':
			b.WriteString(`\\`)
		case '"':
			b.WriteString(`\"`)
		case '\n':
			b.WriteString(`\n`)
		case '\r':
			b.WriteString(`\r`)
		case '\t':
			b.WriteString(`\t`)
		case '$', '%':
			if i+1 < len(s) && s[i+1] == '{' {
				b.WriteByte(c)
			}
			b.WriteByte(c)
		default:
			if c < 0x20 {
				fmt.Fprintf(&b, `\u%04x`, c)
			} else {
				b.WriteByte(c)
			}
		}
	}
	b.WriteByte('"')
	return b.String()
}

// PageTitle is a page's title with the page number after the first.
func PageTitle(title string, page int) string {
	if page > 1 {
		return fmt.Sprintf("%s (page %d)", title, page)
	}
	return title
}
