package modules

import (
	"encoding/json"
	"fmt"
	"os"
	"reflect"
	"strings"
	"testing"
	"time"

	"github.com/cairn-registry/cairn/modules/metadata"
)

// fixture extracts one of metadata's fixture modules.
func fixture(t *testing.T, name string) *metadata.Module {
	t.Helper()
	m, err := metadata.Extract(os.DirFS("metadata/testdata/fixtures/"+name), metadata.DefaultLimits())
	if err != nil {
		t.Fatal(err)
	}
	return m
}

func TestPartLookups(t *testing.T) {
	m := fixture(t, "complete")
	for _, tc := range []struct {
		path string
		want string // "" = not found
	}{
		{"modules/subnets", "modules/subnets"},
		{"/modules/subnets/", "modules/subnets"},
		{"modules//routes", "modules/routes"},
		{"modules/x/../routes", "modules/routes"},
		{"modules/nope", ""},
		{"examples/basic", ""}, // an example is not a submodule
		{"", ""},
		{"/", ""},
	} {
		sm, ok := Submodule(m, tc.path)
		if got := map[bool]string{true: sm.Path}[ok]; got != tc.want {
			t.Errorf("Submodule(%q) = %q, want %q", tc.path, got, tc.want)
		}
	}
	for _, tc := range []struct{ path, want string }{
		{"examples/basic", "examples/basic"},
		{"/examples/complete", "examples/complete"},
		{"modules/subnets", ""},
		{"examples", ""},
		{"../examples/basic", "examples/basic"}, // cleaned like a URL path: cannot climb out
	} {
		ex, ok := Example(m, tc.path)
		if got := map[bool]string{true: ex.Path}[ok]; got != tc.want {
			t.Errorf("Example(%q) = %q, want %q", tc.path, got, tc.want)
		}
	}
}

func TestExampleFile(t *testing.T) {
	m := fixture(t, "complete")
	for _, tc := range []struct {
		path, example, file string
	}{
		{"examples/basic/main.tf", "examples/basic", "main.tf"},
		{"/examples/complete/scripts/check.sh", "examples/complete", "scripts/check.sh"},
		{"examples/complete/notes.log", "", ""}, // not an example file type
		{"examples/basic/nope.tf", "", ""},
		{"examples/basic", "", ""},
		{"main.tf", "", ""},
		{"examples/basic/../complete/main.tf", "examples/complete", "main.tf"},
	} {
		ex, f, ok := ExampleFile(m, tc.path)
		if !ok {
			if tc.example != "" {
				t.Errorf("ExampleFile(%q) not found, want %s %s", tc.path, tc.example, tc.file)
			}
			continue
		}
		if ex.Path != tc.example || f.Path != tc.file {
			t.Errorf("ExampleFile(%q) = %s %s, want %s %s", tc.path, ex.Path, f.Path, tc.example, tc.file)
		}
	}
}

func TestExampleFilesMainFirst(t *testing.T) {
	ex := metadata.Example{Files: []metadata.ExampleFile{{Path: "README.md"}, {Path: "a.tf"}, {Path: "main.tf"}, {Path: "scripts/main.tf"}}}
	var got []string
	for _, f := range ExampleFiles(ex) {
		got = append(got, f.Path)
	}
	if want := []string{"main.tf", "README.md", "a.tf", "scripts/main.tf"}; !reflect.DeepEqual(got, want) {
		t.Fatalf("order = %v, want %v", got, want)
	}
	if ex.Files[0].Path != "README.md" {
		t.Fatal("ExampleFiles reordered its argument")
	}
}

func TestExampleFileContent(t *testing.T) {
	m := fixture(t, "complete")
	const addr = "registry.example.com/acme/vpc/aws"
	ex, f, _ := ExampleFile(m, "examples/basic/main.tf")
	got := ExampleFileContent(ex, f, addr, "1.4.0")
	for _, want := range []string{
		"source  = \"" + addr + "\"\n  version = \"1.4.0\"\n",
		"source  = \"" + addr + "//modules/subnets\"\n  version = \"1.4.0\"\n",
	} {
		if !strings.Contains(got, want) {
			t.Errorf("rewritten main.tf lacks %q:\n%s", want, got)
		}
	}
	if strings.Contains(got, `"../..`) {
		t.Errorf("a relative source survived:\n%s", got)
	}
	// Other files are shown as stored, even when they mention a module source.
	ex, f, _ = ExampleFile(m, "examples/basic/terraform.tfvars")
	if got := ExampleFileContent(ex, f, addr, "1.4.0"); got != f.Content {
		t.Errorf("tfvars changed:\n%s", got)
	}
	md := metadata.ExampleFile{Path: "README.md", Content: "module \"x\" {\n  source = \"../..\"\n}\n"}
	if got := ExampleFileContent(ex, md, addr, "1.4.0"); got != md.Content {
		t.Errorf("README changed:\n%s", got)
	}
}

func TestRegistryCalls(t *testing.T) {
	p := metadata.Part{Path: "examples/complete", ModuleCalls: []metadata.ModuleCall{
		{Name: "vpc", Source: "../../"},
		{Name: "routes", Source: "../../modules/routes"},
		{Name: "other_example", Source: "../basic"},
		{Name: "outside", Source: "../../../elsewhere"},
		{Name: "remote", Source: "terraform-aws-modules/s3-bucket/aws", Version: "~> 4.0"},
	}}
	got := RegistryCalls(p, "r.example/acme/vpc/aws", "1.0.0")
	want := []metadata.ModuleCall{
		{Name: "vpc", Source: "r.example/acme/vpc/aws", Version: "1.0.0"},
		{Name: "routes", Source: "r.example/acme/vpc/aws//modules/routes", Version: "1.0.0"},
		{Name: "other_example", Source: "../basic"},
		{Name: "outside", Source: "../../../elsewhere"},
		{Name: "remote", Source: "terraform-aws-modules/s3-bucket/aws", Version: "~> 4.0"},
	}
	if !reflect.DeepEqual(got, want) {
		t.Fatalf("RegistryCalls =\n%+v\nwant\n%+v", got, want)
	}
	if p.ModuleCalls[0].Source != "../../" {
		t.Fatal("RegistryCalls changed its argument")
	}
}

func TestDependenciesAndProviders(t *testing.T) {
	m := fixture(t, "complete")
	deps := Dependencies(m.Root)
	if len(deps) != 1 || deps[0].Name != "flow_logs_bucket" || deps[0].Version != "~> 4.0" {
		t.Errorf("Dependencies = %+v, want only the registry module flow_logs_bucket", deps)
	}
	var names []string
	for _, d := range ProviderDependencies(m.Root) {
		names = append(names, d.Name)
	}
	if want := []string{"aws", "random"}; !reflect.DeepEqual(names, want) {
		t.Errorf("ProviderDependencies = %v, want %v (no built-in terraform)", names, want)
	}
	for _, r := range m.Root.Resources {
		want := map[string]string{"aws": "hashicorp/aws", "random": "hashicorp/random", "terraform": "terraform.io/builtin/terraform"}[r.Provider]
		if got := ResourceSource(m.Root, r); got != want {
			t.Errorf("ResourceSource(%s.%s) = %q, want %q", r.Type, r.Name, got, want)
		}
	}
	if got := TerraformVersionConstraint(m.Root); got != ">= 1.3" {
		t.Errorf("TerraformVersionConstraint = %q", got)
	}
	two := metadata.Part{RequiredVersion: []string{">= 1.3", "< 2.0"}}
	if got := TerraformVersionConstraint(two); got != ">= 1.3, < 2.0" {
		t.Errorf("TerraformVersionConstraint of two = %q", got)
	}
}

func TestVariableTemplate(t *testing.T) {
	m := fixture(t, "complete")
	vars := VariableTemplate(m)
	byName := map[string]TemplateVariable{}
	var order []string
	for _, v := range vars {
		byName[v.Name] = v
		order = append(order, v.Name)
	}
	// terrareg.json's entries first, as written, with Terrareg's defaults.
	if order[0] != "name" || order[1] != "enable_nat_gateway" {
		t.Fatalf("template entries not first: %v", order)
	}
	if v := byName["name"]; v.Type != "text" || !v.QuoteValue || !v.Required || v.AdditionalHelp != "Lower-case, used as a resource prefix" || string(v.DefaultValue) != "null" {
		t.Errorf("name = %+v", v)
	}
	if v := byName["enable_nat_gateway"]; v.Type != "boolean" || !v.QuoteValue || v.Required || string(v.DefaultValue) != "true" {
		t.Errorf("enable_nat_gateway = %+v (quote_value defaults to true when the template omits it)", v)
	}
	// Then every other root input, generated.
	if len(vars) != 2+len(m.Root.Inputs)-2 {
		t.Errorf("%d variables, want the 2 template entries and %d generated", len(vars), len(m.Root.Inputs)-2)
	}
	for name, want := range map[string]TemplateVariable{
		"az_count":             {Type: "number", QuoteValue: false, Required: false, DefaultValue: json.RawMessage("3")},
		"private_subnet_cidrs": {Type: "list", QuoteValue: true, Required: true, DefaultValue: json.RawMessage("null")},
		"reserved_ports":       {Type: "list", QuoteValue: false, DefaultValue: json.RawMessage("[22,443]")},
		"tags":                 {Type: "text", QuoteValue: false, DefaultValue: json.RawMessage("{}")},
		"flow_logs":            {Type: "text", QuoteValue: false, DefaultValue: json.RawMessage(`{"enabled":false}`)},
		"cidr_block":           {Type: "text", QuoteValue: true, DefaultValue: json.RawMessage(`"10.0.0.0/16"`)},
		"owner_team":           {Type: "text", QuoteValue: true, Required: true, DefaultValue: json.RawMessage("null")},
	} {
		got := byName[name]
		if got.Type != want.Type || got.QuoteValue != want.QuoteValue || got.Required != want.Required || string(got.DefaultValue) != string(want.DefaultValue) {
			t.Errorf("%s = %+v (default %s), want %+v (default %s)", name, got, got.DefaultValue, want, want.DefaultValue)
		}
	}
	if byName["cidr_block"].AdditionalHelp != "IPv4 CIDR block of the VPC." {
		t.Errorf("generated help is not the description: %q", byName["cidr_block"].AdditionalHelp)
	}
}

func TestVariableTemplateLenient(t *testing.T) {
	m := &metadata.Module{Root: metadata.Part{Inputs: []metadata.Input{
		{Name: "a", Type: "string", Required: true, Default: json.RawMessage("null")},
		{Name: "b", Type: "bool", Default: json.RawMessage("false")},
	}}}
	m.Terrareg = &metadata.TerraregConfig{VariableTemplate: json.RawMessage(
		`[{"name":"b","type":7,"required":"no","quote_value":false,"default_value":[1]},"junk",{"type":"text"},{"name":""},{"name":"extra","additional_help":"<b>x</b>"}]`)}
	got := VariableTemplate(m)
	want := []TemplateVariable{
		{Name: "b", Type: "text", QuoteValue: false, Required: true, DefaultValue: json.RawMessage("[1]")},
		{Name: "extra", Type: "text", AdditionalHelp: "<b>x</b>", QuoteValue: true, Required: true, DefaultValue: json.RawMessage("null")},
		{Name: "a", Type: "text", QuoteValue: true, Required: true, DefaultValue: json.RawMessage("null")},
	}
	if !reflect.DeepEqual(got, want) {
		t.Fatalf("VariableTemplate =\n%+v\nwant\n%+v", got, want)
	}
	// No template, no inputs: an empty list, not null.
	if got := VariableTemplate(&metadata.Module{}); got == nil || len(got) != 0 {
		t.Fatalf("empty module template = %#v", got)
	}
}

func TestBuilderType(t *testing.T) {
	for _, tc := range []struct {
		in    string
		typ   string
		quote bool
	}{
		{"string", "text", true},
		{"", "text", true},
		{"any", "text", true},
		{"bool", "boolean", false},
		{"number", "number", false},
		{"list(string)", "list", true},
		{"list(number)", "list", false},
		{"set(number)", "list", false},
		{"list( bool )", "list", false},
		{"map(string)", "text", false},
		{"object({ a = string })", "text", false},
		{"tuple([string, number])", "text", false},
	} {
		typ, quote := builderType(tc.in)
		if typ != tc.typ || quote != tc.quote {
			t.Errorf("builderType(%q) = %s %v, want %s %v", tc.in, typ, quote, tc.typ, tc.quote)
		}
	}
}

func TestRepoURL(t *testing.T) {
	f := RepoFields{Namespace: "acme", Module: "vpc", Provider: "aws", Tag: "1.0.0+build.1", Path: "modules/subnets"}
	for _, tc := range []struct{ tmpl, want string }{
		{"https://git.example.com/{namespace}/{module}-{provider}/tree/{tag}/{path}", "https://git.example.com/acme/vpc-aws/tree/1.0.0+build.1/modules/subnets"},
		{"https://git.example.com/x?ref={tag_uri_encoded}", "https://git.example.com/x?ref=1.0.0+build.1"},
		{"ssh://git@git.example.com/{namespace}/{module}.git", "ssh://git@git.example.com/acme/vpc.git"},
		{"HTTP://git.example.com/{unknown}", "HTTP://git.example.com/{unknown}"},
		{"javascript:alert(1)//", ""},
		{"JavaScript://%0aalert(1)", ""},
		{"data:text/html,<script>", ""},
		{"//git.example.com/x", ""},
		{"git.example.com/x", ""},
		{"https://", ""},
		{"https://x.example/\"onmouseover=alert(1)", ""},
		{"", ""},
	} {
		if got := RepoURL(tc.tmpl, f); got != tc.want {
			t.Errorf("RepoURL(%q) = %q, want %q", tc.tmpl, got, tc.want)
		}
	}
	// A placeholder cannot smuggle in a scheme either.
	if got := RepoURL("{path}", RepoFields{Path: "javascript://x"}); got != "" {
		t.Errorf("template starting with a placeholder rendered %q", got)
	}
}

// nodeIDs lists the graph's nodes as "id<parent" for compact comparison.
func nodeIDs(g Graph) []string {
	var out []string
	for _, n := range g.Nodes {
		s := n.Data.ID
		if n.Data.Parent != "" {
			s += "<" + n.Data.Parent
		}
		out = append(out, s)
	}
	return out
}

func TestGraphOfRoot(t *testing.T) {
	m := fixture(t, "complete")
	g, ok := GraphOf(m, "", GraphOptions{})
	if !ok {
		t.Fatal("no root graph")
	}
	ids := nodeIDs(g)
	for _, want := range []string{
		"root",
		"aws_vpc.this<root",
		"data.aws_region.current<root",
		"module.public_subnets",
		"module.public_subnets.aws_subnet.this<module.public_subnets",
		"module.private_subnets.aws_subnet.this<module.private_subnets",
		"module.routes.aws_route.nat<module.routes",
		"module.flow_logs_bucket",
	} {
		if !contains(ids, want) {
			t.Errorf("graph lacks node %s; nodes: %v", want, ids)
		}
	}
	counts := map[string]int{}
	labels := map[string]string{}
	types := map[string]string{}
	for _, n := range g.Nodes {
		counts[n.Data.ID] = n.Data.ChildCount
		labels[n.Data.ID] = n.Data.Label
		types[n.Data.ID] = n.Data.Type
	}
	if counts["root"] != len(m.Root.Resources) || counts["module.routes"] != 6 || counts["module.flow_logs_bucket"] != 0 {
		t.Errorf("child counts root %d routes %d bucket %d", counts["root"], counts["module.routes"], counts["module.flow_logs_bucket"])
	}
	if labels["root"] != "Root Module" || labels["data.aws_region.current"] != "(data) aws_region.current" ||
		labels["module.public_subnets"] != "public_subnets" || labels["module.public_subnets.aws_subnet.this"] != "aws_subnet.this" {
		t.Errorf("labels: %v", labels)
	}
	if types["root"] != "module" || types["aws_vpc.this"] != "resource" || types["data.aws_region.current"] != "data" {
		t.Errorf("types: %v", types)
	}
	var edges []string
	for _, e := range g.Edges {
		edges = append(edges, e.Data.ID+":"+e.Data.Source+">"+e.Data.Target+":"+strings.Join(e.Classes, ","))
	}
	want := []string{
		"root.module.flow_logs_bucket:module.flow_logs_bucket>root:module.flow_logs_bucket-root",
		"root.module.private_subnets:module.private_subnets>root:module.private_subnets-root",
		"root.module.public_subnets:module.public_subnets>root:module.public_subnets-root",
		"root.module.routes:module.routes>root:module.routes-root",
	}
	if !reflect.DeepEqual(edges, want) {
		t.Errorf("edges =\n%v\nwant\n%v", edges, want)
	}

	full, _ := GraphOf(m, "", GraphOptions{FullResourceNames: true, FullModuleNames: true})
	for _, n := range full.Nodes {
		if n.Data.ID != "root" && n.Data.Label != n.Data.ID {
			t.Errorf("full names: %s labelled %q", n.Data.ID, n.Data.Label)
		}
	}
}

func TestGraphOfExampleAndSubmodule(t *testing.T) {
	m := fixture(t, "complete")
	g, ok := GraphOf(m, "examples/complete", GraphOptions{})
	if !ok {
		t.Fatal("no example graph")
	}
	ids := nodeIDs(g)
	// The example calls the root module ("../../"), whose own calls are expanded in turn.
	for _, want := range []string{"module.vpc", "module.vpc.aws_vpc.this<module.vpc", "module.vpc.module.routes",
		"module.vpc.module.routes.aws_route.nat<module.vpc.module.routes", "module.routes.aws_route.nat<module.routes"} {
		if !contains(ids, want) {
			t.Errorf("example graph lacks %s; nodes: %v", want, ids)
		}
	}
	var nested bool
	for _, e := range g.Edges {
		if e.Data.Source == "module.vpc" && e.Data.Target == "module.vpc.module.routes" && e.Classes[0] == "module-module" {
			nested = true
		}
	}
	if !nested {
		t.Errorf("no module-module edge from module.vpc to module.vpc.module.routes: %+v", g.Edges)
	}
	if _, ok := GraphOf(m, "modules/subnets", GraphOptions{}); !ok {
		t.Error("no submodule graph")
	}
	if _, ok := GraphOf(m, "modules/nope", GraphOptions{}); ok {
		t.Error("graph of a missing part")
	}
}

func TestGraphBounded(t *testing.T) {
	// a calls itself and b; b calls a: expansion stops at the cycle.
	m := &metadata.Module{Root: metadata.Part{ModuleCalls: []metadata.ModuleCall{{Name: "a", Source: "./modules/a"}}},
		Submodules: []metadata.Part{
			{Path: "modules/a", Resources: []metadata.Resource{{Type: "t", Name: "x", Mode: "managed"}},
				ModuleCalls: []metadata.ModuleCall{{Name: "self", Source: "./"}, {Name: "b", Source: "../b"}}},
			{Path: "modules/b", ModuleCalls: []metadata.ModuleCall{{Name: "a", Source: "../a"}, {Name: "up", Source: "../.."}}},
		}}
	g, _ := GraphOf(m, "", GraphOptions{})
	want := []string{"root", "module.a", "module.a.t.x<module.a", "module.a.module.self", "module.a.module.b",
		"module.a.module.b.module.a", "module.a.module.b.module.up"}
	if got := nodeIDs(g); !reflect.DeepEqual(got, want) {
		t.Fatalf("cyclic graph =\n%v\nwant\n%v", got, want)
	}

	// A chain of submodules each calling the next ten times would be 10^8
	// nodes deep down; the node cap stops it early.
	chain := &metadata.Module{}
	calls := func(target string) []metadata.ModuleCall {
		var out []metadata.ModuleCall
		for i := range 10 {
			out = append(out, metadata.ModuleCall{Name: fmt.Sprintf("c%d", i), Source: target})
		}
		return out
	}
	chain.Root.ModuleCalls = calls("./modules/m0")
	for i := range 8 {
		chain.Submodules = append(chain.Submodules, metadata.Part{Path: fmt.Sprintf("modules/m%d", i),
			Resources: []metadata.Resource{{Type: "t", Name: "r", Mode: "managed"}}, ModuleCalls: calls(fmt.Sprintf("../m%d", i+1))})
	}
	start := time.Now()
	g, _ = GraphOf(chain, "", GraphOptions{})
	if len(g.Nodes) != graphMaxNodes {
		t.Fatalf("%d nodes, want the cap %d", len(g.Nodes), graphMaxNodes)
	}
	if d := time.Since(start); d > time.Second {
		t.Fatalf("capped graph took %s", d)
	}
}

func contains(list []string, s string) bool {
	for _, x := range list {
		if x == s {
			return true
		}
	}
	return false
}

func TestNormalise(t *testing.T) {
	m := &metadata.Module{Submodules: []metadata.Part{{Path: "modules/a", Inputs: []metadata.Input{{Name: "x"}}}},
		Examples: []metadata.Example{{Part: metadata.Part{Path: "examples/a"}}}}
	normalise(m)
	b, _ := json.Marshal(m)
	if strings.Contains(string(b), ":null") && !strings.Contains(string(b), `"default":null`) {
		t.Fatalf("nil slices left: %s", b)
	}
	if strings.Count(string(b), ":null") != 2 { // the input's default and the absent terrareg.json
		t.Fatalf("want null only for the missing default and terrareg.json: %s", b)
	}
}
