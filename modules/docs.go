package modules

import (
	"bytes"
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"net/url"
	"path"
	"sort"
	"strings"

	"github.com/google/uuid"
	"github.com/jackc/pgx/v5"
	"golang.org/x/sync/singleflight"

	"github.com/cairn-registry/cairn/blobs"
	"github.com/cairn-registry/cairn/errs"
	"github.com/cairn-registry/cairn/modules/archive"
	"github.com/cairn-registry/cairn/modules/markdown"
	"github.com/cairn-registry/cairn/modules/metadata"
	"github.com/cairn-registry/cairn/policies"
	"github.com/cairn-registry/cairn/queries"
)

// This file answers the documentation questions the read surfaces ask about
// one published version — which submodule or example a path names, what an
// example file looks like once its relative module sources point at the
// registry, the usage builder's variables, the resource graph — as plain
// functions over the metadata extracted at upload, so handlers stay thin.

// Docs returns what was extracted from version v's archive at upload, with
// its READMEs rendered (metadata.Part.ReadmeHTML). A version whose
// extraction stored nothing reads as a module without files.
func (s *Service) Docs(ctx context.Context, v Version) (*metadata.Module, error) {
	raw, err := s.Metadata(ctx, v.ID)
	if err != nil {
		return nil, err
	}
	m := &metadata.Module{}
	if len(raw) > 0 && !bytes.Equal(raw, []byte("null")) {
		if err := json.Unmarshal(raw, m); err != nil {
			return nil, fmt.Errorf("version %d metadata: %w", v.ID, err)
		}
		if m.ReadmeHTMLVersion != markdown.Version {
			// Published before READMEs were rendered at upload, or by an
			// older renderer: render once and store the result.
			if err := renderReadmes(m); err != nil {
				return nil, fmt.Errorf("version %d READMEs: %w", v.ID, err)
			}
			if b, err := json.Marshal(m); err == nil {
				// Best effort: on failure the next read renders again.
				_ = queries.New(s.db).SetVersionMetadata(ctx, queries.SetVersionMetadataParams{ID: v.ID, Metadata: b})
			}
		}
	}
	normalise(m)
	return m, nil
}

// normalise gives a decoded module the never-nil slices Extract promises, so
// older or hand-written rows encode as [] rather than null.
func normalise(m *metadata.Module) {
	normalisePart(&m.Root)
	if m.Submodules == nil {
		m.Submodules = []metadata.Part{}
	}
	for i := range m.Submodules {
		normalisePart(&m.Submodules[i])
	}
	if m.Examples == nil {
		m.Examples = []metadata.Example{}
	}
	for i := range m.Examples {
		normalisePart(&m.Examples[i].Part)
		if m.Examples[i].Files == nil {
			m.Examples[i].Files = []metadata.ExampleFile{}
		}
	}
}

func normalisePart(p *metadata.Part) {
	if p.Inputs == nil {
		p.Inputs = []metadata.Input{}
	}
	if p.Outputs == nil {
		p.Outputs = []metadata.Output{}
	}
	if p.RequiredVersion == nil {
		p.RequiredVersion = []string{}
	}
	if p.ProviderDependencies == nil {
		p.ProviderDependencies = []metadata.ProviderDependency{}
	}
	if p.Resources == nil {
		p.Resources = []metadata.Resource{}
	}
	if p.ModuleCalls == nil {
		p.ModuleCalls = []metadata.ModuleCall{}
	}
	if p.Diagnostics == nil {
		p.Diagnostics = []metadata.Diagnostic{}
	}
	for i, in := range p.Inputs {
		if len(in.Default) == 0 {
			p.Inputs[i].Default = json.RawMessage("null")
		}
	}
}

// Systems lists the systems (providers, in the registry protocol's and
// Terrareg's words) of the modules namespace/name that p may read and that
// have a published version, in order. Both steps are served from the
// lookup caches: the module page asks on every view.
func (s *Service) Systems(ctx context.Context, p *policies.Principal, namespace, name string) ([]string, error) {
	all, err := s.systemsNamed(ctx, namespace, name)
	if err != nil {
		return nil, err
	}
	out := []string{}
	for _, sys := range all {
		mods, err := s.lookup(ctx, namespace, name, sys)
		if err != nil {
			return nil, err
		}
		for _, m := range mods {
			if !m.Redirected && len(m.Versions) > 0 && s.authz.Can(p, policies.ReadPackage, m.Resource) {
				out = append(out, sys)
				break
			}
		}
	}
	return out, nil
}

// ArchiveLimits are the limits stored archives were validated with at
// upload; re-reading one (to re-encode it as zip) must not apply stricter ones.
func (s *Service) ArchiveLimits() archive.Limits { return s.limits }

// encodeZip is archive.WriteZip; tests count its calls.
var encodeZip = archive.WriteZip

// zipContentType is the content type zips are stored with (a presigned
// download answers with it).
const zipContentType = "application/zip"

// buildZip re-encodes the stored archive src as a zip stored under dst,
// streaming (encoder and store joined by a pipe; neither holds it whole).
// On error nothing is stored under dst.
func (s *Service) buildZip(ctx context.Context, src, dst string) error {
	obj, info, err := s.blobs.Get(ctx, src)
	if err != nil {
		return fmt.Errorf("building the source zip: %w", err)
	}
	defer obj.Close()
	pr, pw := io.Pipe()
	encoded := make(chan error, 1)
	go func() {
		err := encodeZip(pw, blobs.ReaderAt(obj), info.Size, s.limits)
		pw.CloseWithError(err) // nil: the store reads io.EOF
		encoded <- err
	}()
	_, putErr := s.blobs.Put(ctx, dst, pr, blobs.PutOptions{ContentType: zipContentType})
	// Unblocks the encoder when the store stopped reading early.
	pr.CloseWithError(errors.Join(putErr, errZipStopped))
	if err := errors.Join(<-encoded, putErr); err != nil {
		_ = s.blobs.Delete(context.WithoutCancel(ctx), dst)
		return fmt.Errorf("building the source zip: %w", err)
	}
	return nil
}

var errZipStopped = errors.New("source zip stopped")

// zipFlights joins concurrent first requests for one legacy version's zip.
var zipFlights singleflight.Group

// SourceZip is the blob key of version v's archive as a zip, for Terrareg's
// source.zip: the zip built at publish from a .tar.gz, or the upload itself
// when it was a zip. A .tar.gz version published before zips were built at
// publish is converted on its first request (concurrent first requests of a
// replica share one conversion) and the zip recorded, so it is encoded
// once; nothing is ever re-encoded per request.
func (s *Service) SourceZip(ctx context.Context, v Version) (string, error) {
	if v.ArchiveFormat == string(archive.Zip) {
		return v.BlobKey, nil
	}
	if key, err := s.recordedZip(ctx, v); key != "" || err != nil {
		return key, err
	}
	key, err, _ := zipFlights.Do(v.BlobKey, func() (any, error) {
		return s.convertZip(context.WithoutCancel(ctx), v)
	})
	if err != nil {
		return "", err
	}
	return key.(string), nil
}

// recordedZip reads the zip recorded for v, "" when there is none.
func (s *Service) recordedZip(ctx context.Context, v Version) (string, error) {
	key, err := queries.New(s.db).GetVersionZipBlobKey(ctx, v.ID)
	switch {
	case errors.Is(err, pgx.ErrNoRows):
		return "", errs.ErrNotFound // deleted since the lookup
	case err != nil:
		return "", err
	case key == nil:
		return "", nil
	}
	return *key, nil
}

// convertZip builds and records the zip of a version published without one.
func (s *Service) convertZip(ctx context.Context, v Version) (string, error) {
	// Another request of this replica may have finished a conversion
	// between our read and joining the flight.
	if key, err := s.recordedZip(ctx, v); key != "" || err != nil {
		return key, err
	}
	key := "modules/" + uuid.NewString() + ".zip"
	if err := s.buildZip(ctx, v.BlobKey, key); err != nil {
		return "", err
	}
	n, err := queries.New(s.db).SetVersionZipBlobKey(ctx, queries.SetVersionZipBlobKeyParams{ID: v.ID, ZipBlobKey: &key})
	if err != nil || n == 0 {
		// Not recorded (another replica was first, or the version is gone):
		// nothing would ever delete this one.
		_ = s.blobs.Delete(ctx, key)
		if err != nil {
			return "", err
		}
		if key, err := s.recordedZip(ctx, v); key != "" || err != nil {
			return key, err
		}
		return "", errs.ErrNotFound
	}
	return key, nil
}

// renderReadmes fills the ReadmeHTML of every part of m that has a README,
// and the ChangelogHTML of the root's CHANGELOG (markdown.Render: sanitised),
// and records the renderer's version, so that they are rendered once, not
// per request.
func renderReadmes(m *metadata.Module) error {
	parts := []*metadata.Part{&m.Root}
	for i := range m.Submodules {
		parts = append(parts, &m.Submodules[i])
	}
	for i := range m.Examples {
		parts = append(parts, &m.Examples[i].Part)
	}
	for _, p := range parts {
		p.ReadmeHTML = ""
		if strings.TrimSpace(p.Readme) == "" {
			continue
		}
		out, err := markdown.Render([]byte(p.Readme))
		if err != nil {
			return err
		}
		p.ReadmeHTML = string(out)
	}
	m.Root.ChangelogHTML = ""
	if strings.TrimSpace(m.Root.Changelog) != "" {
		out, err := markdown.Render([]byte(m.Root.Changelog))
		if err != nil {
			return err
		}
		m.Root.ChangelogHTML = string(out)
	}
	m.ReadmeHTMLVersion = markdown.Version
	return nil
}

// cleanPartPath turns a path from a URL ("/modules/vpc/", "modules//vpc")
// into the form metadata uses ("modules/vpc"); "" is the root.
func cleanPartPath(p string) string {
	p = path.Clean("/" + p)
	return strings.TrimPrefix(p, "/")
}

// Submodule finds the submodule at p ("modules/subnets").
func Submodule(m *metadata.Module, p string) (metadata.Part, bool) {
	p = cleanPartPath(p)
	for _, sm := range m.Submodules {
		if sm.Path == p && p != "" {
			return sm, true
		}
	}
	return metadata.Part{}, false
}

// Example finds the example at p ("examples/basic").
func Example(m *metadata.Module, p string) (metadata.Example, bool) {
	p = cleanPartPath(p)
	for _, ex := range m.Examples {
		if ex.Path == p && p != "" {
			return ex, true
		}
	}
	return metadata.Example{}, false
}

// ExampleFile finds an example file by its path from the archive root
// ("examples/basic/main.tf"), with the example it belongs to.
func ExampleFile(m *metadata.Module, p string) (metadata.Example, metadata.ExampleFile, bool) {
	p = cleanPartPath(p)
	for _, ex := range m.Examples {
		rel, ok := strings.CutPrefix(p, ex.Path+"/")
		if !ok || ex.Path == "" {
			continue
		}
		for _, f := range ex.Files {
			if f.Path == rel {
				return ex, f, true
			}
		}
	}
	return metadata.Example{}, metadata.ExampleFile{}, false
}

// ExampleFiles lists an example's files in the order Terrareg shows them:
// main.tf first, then by path.
func ExampleFiles(ex metadata.Example) []metadata.ExampleFile {
	files := append([]metadata.ExampleFile(nil), ex.Files...)
	sort.SliceStable(files, func(i, j int) bool {
		a, b := files[i].Path == "main.tf", files[j].Path == "main.tf"
		if a != b {
			return a
		}
		return files[i].Path < files[j].Path
	})
	return files
}

// ExampleFileContent is a file of ex as users should copy it: Terraform
// files get their relative module sources ("../..") replaced by the registry
// address at version (metadata.RewriteExampleSource); other files are shown
// as stored.
func ExampleFileContent(ex metadata.Example, f metadata.ExampleFile, address, version string) string {
	if strings.HasSuffix(strings.ToLower(f.Path), ".tf") {
		return metadata.RewriteExampleSource(f.Content, ex.Path, address, version)
	}
	return f.Content
}

// builtinProvider is the source address of Terraform's built-in provider,
// which nobody installs and registries leave out of dependency lists.
const builtinProvider = "terraform.io/builtin/terraform"

// ProviderDependencies are p's required providers without the built-in
// terraform provider.
func ProviderDependencies(p metadata.Part) []metadata.ProviderDependency {
	out := []metadata.ProviderDependency{}
	for _, d := range p.ProviderDependencies {
		if d.Source != builtinProvider {
			out = append(out, d)
		}
	}
	return out
}

// Dependencies are p's module calls that fetch another module (registry,
// VCS, HTTP sources); calls of directories in the same archive are not
// dependencies.
func Dependencies(p metadata.Part) []metadata.ModuleCall {
	out := []metadata.ModuleCall{}
	for _, c := range p.ModuleCalls {
		if !isLocalSource(c.Source) {
			out = append(out, c)
		}
	}
	return out
}

func isLocalSource(s string) bool {
	return strings.HasPrefix(s, "./") || strings.HasPrefix(s, "../")
}

// RegistryCalls are p's module calls as a copy of p made outside the
// archive would write them: a call of a directory of this module — the root
// ("../..") or a submodule ("../../modules/x") — becomes a call of address
// (or address//modules/x) at version, the rewrite ExampleFileContent applies
// to the files. Other calls are unchanged. Meant for examples, whose calls
// of their own module are relative.
func RegistryCalls(p metadata.Part, address, version string) []metadata.ModuleCall {
	out := make([]metadata.ModuleCall, 0, len(p.ModuleCalls))
	for _, c := range p.ModuleCalls {
		if isLocalSource(c.Source) {
			switch target := path.Join(p.Path, c.Source); {
			case target == ".":
				c.Source, c.Version = address, version
			case strings.HasPrefix(target, "modules/"):
				c.Source, c.Version = address+"//"+target, version
			}
		}
		out = append(out, c)
	}
	return out
}

// ResourceSource is the provider source address ("hashicorp/aws") behind a
// resource's provider local name in p, or "" when p does not declare it.
func ResourceSource(p metadata.Part, r metadata.Resource) string {
	for _, d := range p.ProviderDependencies {
		if d.Name == r.Provider {
			return d.Source
		}
	}
	return ""
}

// TerraformVersionConstraint joins p's required_version constraints, ""
// when there are none.
func TerraformVersionConstraint(p metadata.Part) string {
	return strings.Join(p.RequiredVersion, ", ")
}

// TemplateVariable is one entry of Terrareg's usage builder (the
// variable_template endpoint): a value the user is asked for, how to type
// it (text, number, boolean, list) and whether to quote it in HCL.
type TemplateVariable struct {
	Name           string          `json:"name"`
	Type           string          `json:"type"`
	AdditionalHelp string          `json:"additional_help"`
	QuoteValue     bool            `json:"quote_value"`
	Required       bool            `json:"required"`
	DefaultValue   json.RawMessage `json:"default_value"`
}

// VariableTemplate is Terrareg's usage builder for m: the entries of
// terrareg.json's variable_template as written (with Terrareg's defaults for
// the keys left out: type text, quoted, required, no default, no help),
// followed by one entry generated from every root input the template does
// not name — Terrareg's behaviour with AUTOGENERATE_USAGE_BUILDER_VARIABLES
// on, its default. Template entries without a name are skipped.
func VariableTemplate(m *metadata.Module) []TemplateVariable {
	out := []TemplateVariable{}
	named := map[string]bool{}
	if m.Terrareg != nil && len(m.Terrareg.VariableTemplate) > 0 {
		var entries []json.RawMessage
		if json.Unmarshal(m.Terrareg.VariableTemplate, &entries) == nil {
			for _, e := range entries {
				v, ok := templateEntry(e)
				if !ok {
					continue
				}
				named[v.Name] = true
				out = append(out, v)
			}
		}
	}
	for _, in := range m.Root.Inputs {
		if named[in.Name] {
			continue
		}
		typ, quote := builderType(in.Type)
		def := in.Default
		if len(def) == 0 {
			def = json.RawMessage("null")
		}
		out = append(out, TemplateVariable{Name: in.Name, Type: typ, AdditionalHelp: in.Description,
			QuoteValue: quote, Required: in.Required, DefaultValue: def})
	}
	return out
}

// templateEntry reads one variable_template entry leniently: a key of the
// wrong type counts as absent.
func templateEntry(raw json.RawMessage) (TemplateVariable, bool) {
	var fields map[string]json.RawMessage
	if json.Unmarshal(raw, &fields) != nil {
		return TemplateVariable{}, false
	}
	v := TemplateVariable{Type: "text", QuoteValue: true, Required: true, DefaultValue: json.RawMessage("null")}
	str := func(key string, dst *string) {
		var s string
		if json.Unmarshal(fields[key], &s) == nil {
			*dst = s
		}
	}
	boolean := func(key string, dst *bool) {
		var b bool
		if json.Unmarshal(fields[key], &b) == nil {
			*dst = b
		}
	}
	str("name", &v.Name)
	str("type", &v.Type)
	str("additional_help", &v.AdditionalHelp)
	boolean("quote_value", &v.QuoteValue)
	boolean("required", &v.Required)
	if d, ok := fields["default_value"]; ok && len(d) > 0 {
		v.DefaultValue = d
	}
	return v, v.Name != ""
}

// builderType maps a variable's Terraform type to the usage builder's input
// type and whether the value is quoted in HCL. Terrareg's mapping, extended
// to set(), object() and tuple(), which it quotes as text.
func builderType(t string) (typ string, quote bool) {
	t = strings.ReplaceAll(t, " ", "")
	switch {
	case t == "bool":
		return "boolean", false
	case t == "number":
		return "number", false
	case strings.HasPrefix(t, "list(") || strings.HasPrefix(t, "set("):
		elem := t[strings.IndexByte(t, '(')+1 : len(t)-1]
		return "list", elem != "number" && elem != "bool"
	case strings.HasPrefix(t, "map(") || strings.HasPrefix(t, "object(") || strings.HasPrefix(t, "tuple("):
		return "text", false
	default:
		return "text", true
	}
}

// RepoFields fill the placeholders of terrareg.json's repository URL
// templates.
type RepoFields struct {
	Namespace, Module, Provider string
	// Tag is the version's git tag; Cairn has no git, so the version.
	Tag string
	// Path is the directory within the repository ("" for the root).
	Path string
}

// RepoURL renders a repository URL template from terrareg.json, replacing
// {namespace}, {module}, {provider}, {tag}, {tag_uri_encoded} and {path} as
// Terrareg does. Templates come from uploaders and end up as links, so
// anything but an http(s), ssh or git URL renders as "".
func RepoURL(tmpl string, f RepoFields) string {
	if !SafeRepoURL(tmpl) {
		return ""
	}
	r := strings.NewReplacer(
		"{namespace}", f.Namespace,
		"{module}", f.Module,
		"{provider}", f.Provider,
		"{tag_uri_encoded}", url.PathEscape(f.Tag),
		"{tag}", f.Tag,
		"{path}", f.Path,
	)
	out := r.Replace(tmpl)
	if !SafeRepoURL(out) {
		return ""
	}
	return out
}

// SafeRepoURL reports whether u (a URL or URL template) is an absolute
// http, https, ssh or git URL, the only kinds offered as repository links.
func SafeRepoURL(u string) bool {
	if u == "" || strings.ContainsAny(u, " \t\r\n\\\"'<>`") {
		return false
	}
	scheme, rest, ok := strings.Cut(u, "://")
	if !ok || rest == "" {
		return false
	}
	switch strings.ToLower(scheme) {
	case "http", "https", "ssh", "git", "git+ssh":
		return true
	}
	return false
}

// Graph is the resource graph of a module version in the shape Terrareg's
// graph/data endpoints serve (Cytoscape elements): the module, its
// resources and data sources as children of the module that declares them,
// and one node per module call, linked to its caller.
type Graph struct {
	Nodes []GraphNode `json:"nodes"`
	Edges []GraphEdge `json:"edges"`
}

// GraphNode is one Cytoscape node.
type GraphNode struct {
	Data  GraphNodeData     `json:"data"`
	Style map[string]string `json:"style"`
}

// GraphNodeData identifies a node. IDs are Terraform's addresses ("root",
// "aws_vpc.this", "module.subnets.aws_subnet.this"); Parent is the module
// node a resource belongs to; Type ("module", "resource" or "data") is
// Cairn's addition so a client need not parse IDs.
type GraphNodeData struct {
	ID         string `json:"id"`
	Label      string `json:"label"`
	Type       string `json:"type"`
	ChildCount int    `json:"child_count"`
	Parent     string `json:"parent,omitempty"`
}

// GraphEdge links a module call to its caller.
type GraphEdge struct {
	Data    GraphEdgeData `json:"data"`
	Classes []string      `json:"classes"`
}

// GraphEdgeData is an edge's identity and ends.
type GraphEdgeData struct {
	ID     string `json:"id"`
	Source string `json:"source"`
	Target string `json:"target"`
}

// GraphOptions are Terrareg's full_resource_names and full_module_names.
type GraphOptions struct {
	// FullResourceNames labels resources with their full address.
	FullResourceNames bool
	// FullModuleNames labels modules with their full address.
	FullModuleNames bool
}

// Bounds on the graph: calls of local modules are expanded (their resources
// appear inside the call's node), but never more than graphMaxDepth calls
// deep, never into a module already being expanded, and never past
// graphMaxNodes nodes, so that a hostile archive cannot make it large.
const (
	graphMaxDepth = 8
	graphMaxNodes = 5000
)

// moduleStyle is the style Terrareg gives module nodes.
var moduleStyle = map[string]string{
	"color":            "#000000",
	"background-color": "#F8F7F9",
	"font-weight":      "bold",
	"text-valign":      "top",
}

// GraphOf builds the graph of the part of m at partPath ("" for the root,
// "modules/x", "examples/y"). A local module call ("./modules/x", "../..")
// that resolves to a part of the same archive is expanded; other calls are
// leaves. False when there is no such part.
func GraphOf(m *metadata.Module, partPath string, opt GraphOptions) (Graph, bool) {
	start, ok := partAt(m, cleanPartPath(partPath))
	if !ok {
		return Graph{}, false
	}
	g := &graphBuilder{m: m, opt: opt, children: map[string]int{},
		out: Graph{Nodes: []GraphNode{}, Edges: []GraphEdge{}}}
	g.add(GraphNodeData{ID: "root", Label: "Root Module", Type: "module"}, moduleStyle)
	g.walk(start, "", "root", map[string]bool{start.Path: true}, 0)
	for i := range g.out.Nodes {
		g.out.Nodes[i].Data.ChildCount = g.children[g.out.Nodes[i].Data.ID]
	}
	return g.out, true
}

// partAt finds the root, a submodule or an example by its exact path.
func partAt(m *metadata.Module, p string) (metadata.Part, bool) {
	if p == "" {
		return m.Root, true
	}
	if sm, ok := Submodule(m, p); ok {
		return sm, true
	}
	if ex, ok := Example(m, p); ok {
		return ex.Part, true
	}
	return metadata.Part{}, false
}

type graphBuilder struct {
	m        *metadata.Module
	opt      GraphOptions
	out      Graph
	children map[string]int
}

func (g *graphBuilder) full() bool { return len(g.out.Nodes) >= graphMaxNodes }

func (g *graphBuilder) add(d GraphNodeData, style map[string]string) {
	if style == nil {
		style = map[string]string{}
	}
	g.out.Nodes = append(g.out.Nodes, GraphNode{Data: d, Style: style})
	if d.Parent != "" {
		g.children[d.Parent]++
	}
}

// walk adds part p's resources under the module node parent (whose address
// prefix is prefix, "" for the root) and its module calls, expanding local
// ones. stack holds the parts being expanded, against cycles.
func (g *graphBuilder) walk(p metadata.Part, prefix, parent string, stack map[string]bool, depth int) {
	for _, r := range p.Resources {
		if g.full() {
			return
		}
		local := r.Type + "." + r.Name
		d := GraphNodeData{ID: prefix + local, Label: local, Type: "resource", Parent: parent}
		if r.Mode == "data" {
			d.ID = prefix + "data." + local
			d.Label = "(data) " + local
			d.Type = "data"
		}
		if g.opt.FullResourceNames {
			d.Label = d.ID
		}
		g.add(d, nil)
	}
	for _, c := range p.ModuleCalls {
		if g.full() {
			return
		}
		id := prefix + "module." + c.Name
		label := c.Name
		if g.opt.FullModuleNames {
			label = id
		}
		g.add(GraphNodeData{ID: id, Label: label, Type: "module"}, moduleStyle)
		if parent == "root" {
			g.out.Edges = append(g.out.Edges, GraphEdge{
				Data:    GraphEdgeData{ID: "root." + id, Source: id, Target: "root"},
				Classes: []string{id + "-root"},
			})
		} else {
			g.out.Edges = append(g.out.Edges, GraphEdge{
				Data:    GraphEdgeData{ID: parent + "." + id, Source: parent, Target: id},
				Classes: []string{"module-module"},
			})
		}
		target, ok := g.localTarget(p.Path, c.Source)
		if !ok || stack[target.Path] || depth+1 >= graphMaxDepth {
			continue
		}
		stack[target.Path] = true
		g.walk(target, id+".", id, stack, depth+1)
		delete(stack, target.Path)
	}
}

// localTarget resolves a module call's source, seen from the directory
// from, to a part of the same archive.
func (g *graphBuilder) localTarget(from, source string) (metadata.Part, bool) {
	if !isLocalSource(source) {
		return metadata.Part{}, false
	}
	target := path.Join(from, source)
	switch {
	case target == ".":
		target = ""
	case target == ".." || strings.HasPrefix(target, "../"):
		return metadata.Part{}, false // outside the archive
	}
	return partAt(g.m, target)
}
