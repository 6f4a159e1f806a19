package metadata

import (
	"bytes"
	"encoding/json"
	"errors"
	"io/fs"
	"os"
	"path/filepath"
	"reflect"
	"strings"
	"testing"
	"testing/fstest"

	"github.com/cairn-registry/cairn/internal/testenv"
)

func extractFixture(t *testing.T, name string) *Module {
	t.Helper()
	m, err := Extract(os.DirFS(filepath.Join("testdata", "fixtures", name)), DefaultLimits())
	if err != nil {
		t.Fatalf("Extract(%s): %v", name, err)
	}
	return m
}

func encode(t *testing.T, v any) []byte {
	t.Helper()
	var buf bytes.Buffer
	enc := json.NewEncoder(&buf)
	enc.SetEscapeHTML(false)
	enc.SetIndent("", "  ")
	if err := enc.Encode(v); err != nil {
		t.Fatalf("encode: %v", err)
	}
	return buf.Bytes()
}

func TestExtractGolden(t *testing.T) {
	for _, name := range []string{"complete", "broken", "hostile"} {
		t.Run(name, func(t *testing.T) {
			got := encode(t, extractFixture(t, name))
			testenv.Golden(t, filepath.Join("testdata", "golden", name+".json"), got)
		})
	}
}

func TestExtractRoundTrip(t *testing.T) {
	for _, name := range []string{"complete", "broken", "hostile"} {
		t.Run(name, func(t *testing.T) {
			m := extractFixture(t, name)
			b, err := json.Marshal(m)
			if err != nil {
				t.Fatal(err)
			}
			var back Module
			if err := json.Unmarshal(b, &back); err != nil {
				t.Fatal(err)
			}
			if !reflect.DeepEqual(m, &back) {
				t.Errorf("Module changed through JSON:\nbefore: %s\nafter:  %s", encode(t, m), encode(t, &back))
			}
			again, err := json.Marshal(&back)
			if err != nil {
				t.Fatal(err)
			}
			if !bytes.Equal(b, again) {
				t.Errorf("second encoding differs from the first")
			}
		})
	}
}

func findInput(p Part, name string) (Input, bool) {
	for _, in := range p.Inputs {
		if in.Name == name {
			return in, true
		}
	}
	return Input{}, false
}

func TestExtractComplete(t *testing.T) {
	m := extractFixture(t, "complete")

	inputs := []struct {
		name, typ, def string
		required       bool
		sensitive      bool
	}{
		{"name", "string", "null", true, false},
		{"cidr_block", "string", `"10.0.0.0/16"`, false, false},
		{"ipv6_cidr_block", "string", "null", false, false},
		{"az_count", "number", "3", false, false},
		{"enable_nat_gateway", "bool", "true", false, false},
		{"public_subnet_cidrs", "list(string)", `["10.0.0.0/24","10.0.1.0/24","10.0.2.0/24"]`, false, false},
		{"private_subnet_cidrs", "list(string)", "null", true, false},
		{"reserved_ports", "set(number)", "[22,443]", false, false},
		{"tags", "map(string)", "{}", false, false},
		{"dhcp_options", "tuple([string, number, bool])", `["ec2.internal",24,false]`, false, false},
		{"extra_config", "any", "null", false, false},
		{"vpn_pre_shared_key", "string", "null", false, true},
		{"admin_password", "string", "null", true, true},
		{"owner_team", "", "null", true, false},
		{"flow_logs", "", `{"enabled":false}`, false, false},
	}
	for _, want := range inputs {
		got, ok := findInput(m.Root, want.name)
		if !ok {
			t.Errorf("input %q missing", want.name)
			continue
		}
		if want.typ != "" && got.Type != want.typ {
			t.Errorf("input %q: type %q, want %q", want.name, got.Type, want.typ)
		}
		if string(got.Default) != want.def {
			t.Errorf("input %q: default %s, want %s", want.name, got.Default, want.def)
		}
		if got.Required != want.required || got.Sensitive != want.sensitive {
			t.Errorf("input %q: required=%v sensitive=%v, want %v %v", want.name, got.Required, got.Sensitive, want.required, want.sensitive)
		}
	}
	if fl, _ := findInput(m.Root, "flow_logs"); !strings.HasPrefix(fl.Type, "object({") || !strings.Contains(fl.Type, `optional(string, "ALL")`) {
		t.Errorf("flow_logs type = %q, want the object type as written", fl.Type)
	}
	for i := 1; i < len(m.Root.Inputs); i++ {
		if m.Root.Inputs[i-1].Name >= m.Root.Inputs[i].Name {
			t.Errorf("inputs not sorted by name: %q before %q", m.Root.Inputs[i-1].Name, m.Root.Inputs[i].Name)
		}
	}

	if got, want := m.Providers(), []string{"aws", "random"}; !reflect.DeepEqual(got, want) {
		t.Errorf("Providers() = %q, want %q", got, want)
	}
	if got := len(m.Submodules); got != 2 || m.Submodules[0].Path != "modules/routes" || m.Submodules[1].Path != "modules/subnets" {
		t.Errorf("submodules = %+v, want modules/routes and modules/subnets", m.Submodules)
	}
	if len(m.Examples) != 2 || m.Examples[0].Path != "examples/basic" || m.Examples[1].Path != "examples/complete" {
		t.Fatalf("examples = %d, want examples/basic and examples/complete", len(m.Examples))
	}
	var files []string
	for _, f := range m.Examples[1].Files {
		files = append(files, f.Path)
	}
	if want := []string{"README.md", "main.tf", "scripts/check.sh", "terraform.tfvars", "variables.tf", "versions.tf"}; !reflect.DeepEqual(files, want) {
		t.Errorf("examples/complete files = %q, want %q", files, want)
	}
	if m.Terrareg == nil || m.Terrareg.Owner != "Network Platform Team" {
		t.Errorf("terrareg = %+v, want terrareg.json (not .terrareg.json) read", m.Terrareg)
	}
	if m.Truncated {
		t.Error("Truncated set for a small module")
	}
	if len(m.Root.Diagnostics) != 0 {
		t.Errorf("unexpected diagnostics: %+v", m.Root.Diagnostics)
	}
}

func TestExtractBroken(t *testing.T) {
	m := extractFixture(t, "broken")
	if _, ok := findInput(m.Root, "bucket_name"); !ok {
		t.Error("variables.tf parsed but bucket_name missing")
	}
	if _, ok := findInput(m.Root, "versioning"); !ok {
		t.Error("variables.tf parsed but versioning missing")
	}
	var mainErr, terraregErr bool
	for _, d := range m.Root.Diagnostics {
		if d.Severity == "error" && d.File == "main.tf" && d.Line > 0 {
			mainErr = true
		}
		if d.Severity == "error" && d.File == "terrareg.json" {
			terraregErr = true
		}
	}
	if !mainErr {
		t.Errorf("no error diagnostic for main.tf: %+v", m.Root.Diagnostics)
	}
	if !terraregErr || m.Terrareg != nil {
		t.Errorf("broken terrareg.json: config %+v, diagnostics %+v; want nil and an error", m.Terrareg, m.Root.Diagnostics)
	}
}

func TestExtractLayout(t *testing.T) {
	fsys := fstest.MapFS{
		"main.tf":                         {Data: []byte(`variable "a" {}`)},
		"ReadMe.MD":                       {Data: []byte("# root")},
		"README":                          {Data: []byte("less preferred")},
		"modules/net/README.markdown":     {Data: []byte("docs only")},
		"modules/empty/notes.txt":         {Data: []byte("no terraform, no readme")},
		"modules/.hidden/main.tf":         {Data: []byte(`variable "x" {}`)},
		"modules/json/main.tf.json":       {Data: []byte(`{"variable": {"region": {"type": "string", "default": "eu"}}}`)},
		"modules/nested/deeper/main.tf":   {Data: []byte(`variable "x" {}`)},
		"examples/one/main.tf":            {Data: []byte(`module "m" { source = "../.." }`)},
		"examples/one/.terraform/x.tf":    {Data: []byte(`hidden`)},
		"examples/one/.hidden.sh":         {Data: []byte(`hidden`)},
		"examples/one/image.png":          {Data: []byte("\x89PNG")},
		"examples/one/data.json":          {Data: []byte("{\"bin\": \"\x00\"}")},
		"examples/one/conf/settings.yaml": {Data: []byte("a: 1\n")},
		"examples/one/Makefile":           {Data: []byte("all:\n")},
		"examples/docs-only/README.md":    {Data: []byte("# docs")},
		"examples/nothing/script.sh":      {Data: []byte("echo no terraform")},
		"other/main.tf":                   {Data: []byte(`variable "x" {}`)},
	}
	m, err := Extract(fsys, DefaultLimits())
	if err != nil {
		t.Fatal(err)
	}
	if m.Root.Readme != "# root" {
		t.Errorf("root readme = %q, want the .md one matched case-insensitively", m.Root.Readme)
	}
	var subs []string
	for _, p := range m.Submodules {
		subs = append(subs, p.Path)
	}
	if want := []string{"modules/json", "modules/net"}; !reflect.DeepEqual(subs, want) {
		t.Errorf("submodules = %q, want %q", subs, want)
	}
	if net := m.Submodules[1]; !net.Empty || net.Readme != "docs only" {
		t.Errorf("modules/net = %+v, want empty with its README", net)
	}
	if js := m.Submodules[0]; js.Empty || len(js.Inputs) != 1 || string(js.Inputs[0].Default) != `"eu"` {
		t.Errorf("modules/json = %+v, want region from .tf.json", js)
	}
	var examples []string
	for _, e := range m.Examples {
		examples = append(examples, e.Path)
	}
	if want := []string{"examples/docs-only", "examples/one"}; !reflect.DeepEqual(examples, want) {
		t.Errorf("examples = %q, want %q", examples, want)
	}
	var files []string
	for _, f := range m.Examples[1].Files {
		files = append(files, f.Path)
	}
	if want := []string{"conf/settings.yaml", "main.tf"}; !reflect.DeepEqual(files, want) {
		t.Errorf("example files = %q, want %q (hidden, binary and unknown kinds left out)", files, want)
	}
	if mc := m.Examples[1].ModuleCalls; len(mc) != 1 || mc[0].Source != "../.." {
		t.Errorf("example module calls = %+v, want the raw ../.. source", mc)
	}
}

func TestExtractNoRootTerraform(t *testing.T) {
	m, err := Extract(fstest.MapFS{"README.md": {Data: []byte("# just docs")}}, Limits{})
	if err != nil {
		t.Fatal(err)
	}
	if !m.Root.Empty || m.Root.Inputs == nil || m.Submodules == nil || m.Examples == nil || m.Root.Diagnostics == nil {
		t.Errorf("root = %+v; want Empty and non-nil slices", m.Root)
	}
	if got := encode(t, m.Root); !bytes.Contains(got, []byte(`"inputs": []`)) {
		t.Errorf("empty slices must encode as [], got %s", got)
	}
}

func TestExtractLimits(t *testing.T) {
	big := strings.Repeat("# padding\n", 200) // 2000 bytes
	fsys := fstest.MapFS{
		"main.tf":                 {Data: []byte(`variable "root" {}`)},
		"README.md":               {Data: []byte("# root")},
		"huge.tf":                 {Data: []byte(big + `variable "huge" {}`)},
		"modules/a/main.tf":       {Data: []byte(`variable "a" {}`)},
		"modules/b/main.tf":       {Data: []byte(`variable "b" {}`)},
		"examples/x/main.tf":      {Data: []byte(`variable "x" {}`)},
		"examples/x/terraform.sh": {Data: []byte(big)},
	}
	tests := []struct {
		name     string
		lim      Limits
		check    func(t *testing.T, m *Module)
		truncate bool
	}{
		{
			name:     "generous",
			lim:      Limits{MaxFiles: 100, MaxFileSize: 1 << 20, MaxTotalSize: 1 << 20},
			truncate: false,
			check: func(t *testing.T, m *Module) {
				if len(m.Root.Inputs) != 2 || len(m.Submodules) != 2 || len(m.Examples) != 1 || len(m.Examples[0].Files) != 2 {
					t.Errorf("want everything read: %s", encode(t, m))
				}
			},
		},
		{
			name:     "file size",
			lim:      Limits{MaxFiles: 100, MaxFileSize: 1000, MaxTotalSize: 1 << 20},
			truncate: true,
			check: func(t *testing.T, m *Module) {
				if _, ok := findInput(m.Root, "huge"); ok {
					t.Error("huge.tf read despite MaxFileSize")
				}
				if _, ok := findInput(m.Root, "root"); !ok {
					t.Error("main.tf skipped")
				}
				if len(m.Examples) != 1 || len(m.Examples[0].Files) != 1 {
					t.Errorf("example files = %+v, want only main.tf", m.Examples)
				}
				var warned bool
				for _, d := range m.Root.Diagnostics {
					warned = warned || (d.Summary == "File skipped" && d.File == "huge.tf")
				}
				if !warned {
					t.Errorf("no skip warning for huge.tf: %+v", m.Root.Diagnostics)
				}
			},
		},
		{
			name:     "file count serves the root first",
			lim:      Limits{MaxFiles: 4, MaxFileSize: 1 << 20, MaxTotalSize: 1 << 20},
			truncate: true,
			check: func(t *testing.T, m *Module) {
				if len(m.Root.Inputs) != 2 || m.Root.Readme == "" {
					t.Errorf("root incomplete: %+v", m.Root)
				}
				if len(m.Submodules) != 1 || m.Submodules[0].Path != "modules/a" || len(m.Examples) != 0 {
					t.Errorf("want only modules/a after the root, got %d submodules, %d examples", len(m.Submodules), len(m.Examples))
				}
			},
		},
		{
			name:     "total size",
			lim:      Limits{MaxFiles: 100, MaxFileSize: 1 << 20, MaxTotalSize: 2100},
			truncate: true,
			check: func(t *testing.T, m *Module) {
				if len(m.Root.Inputs) != 2 {
					t.Errorf("root inputs = %+v", m.Root.Inputs)
				}
				if len(m.Examples) != 1 || len(m.Examples[0].Files) != 1 {
					t.Errorf("the big example script should not fit: %+v", m.Examples)
				}
			},
		},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			m, err := Extract(fsys, tt.lim)
			if err != nil {
				t.Fatal(err)
			}
			if m.Truncated != tt.truncate {
				t.Errorf("Truncated = %v, want %v", m.Truncated, tt.truncate)
			}
			tt.check(t, m)
		})
	}
}

func TestDefaultLimits(t *testing.T) {
	if got := (Limits{}).withDefaults(); got != DefaultLimits() {
		t.Errorf("zero Limits = %+v, want defaults %+v", got, DefaultLimits())
	}
	if got := (Limits{MaxFiles: 3}).withDefaults(); got.MaxFiles != 3 || got.MaxFileSize != DefaultLimits().MaxFileSize {
		t.Errorf("partial Limits = %+v", got)
	}
}

func TestExtractTextSafeForJSONB(t *testing.T) {
	fsys := fstest.MapFS{
		"main.tf":   {Data: []byte("variable \"a\" {\n  description = \"nul\\u0000here \xff\"\n  default = {\"k\\u0000\" = \"v\\u0000\"}\n}\n")},
		"README.md": {Data: []byte("bad \x00 byte \xfe")},
	}
	m, err := Extract(fsys, DefaultLimits())
	if err != nil {
		t.Fatal(err)
	}
	b, err := json.Marshal(m)
	if err != nil {
		t.Fatal(err)
	}
	if bytes.Contains(b, []byte(`\u0000`)) {
		t.Errorf("encoded module holds \\u0000, which jsonb rejects: %s", b)
	}
	if !json.Valid(b) || !strings.Contains(m.Root.Readme, "\uFFFD") {
		t.Errorf("readme = %q, want invalid UTF-8 replaced", m.Root.Readme)
	}
}

func TestExtractListError(t *testing.T) {
	_, err := Extract(errFS{}, DefaultLimits())
	if err == nil || !errors.Is(err, fs.ErrPermission) {
		t.Errorf("Extract on an unlistable fs: err = %v, want a wrapped permission error", err)
	}
}

type errFS struct{}

func (errFS) Open(name string) (fs.File, error) {
	return nil, &fs.PathError{Op: "open", Path: name, Err: fs.ErrPermission}
}

func TestTerrareg(t *testing.T) {
	tests := []struct {
		name      string
		in        string
		want      *TerraregConfig
		diagnosis string // substring of a diagnostic detail, "" for none
	}{
		{
			name: "known keys only",
			in:   `{"owner":"a","description":"d","issues_url":"https://x/issues","secret":"s","variable_template":[ {"name": "n", "help": "<b>"} ]}`,
			want: &TerraregConfig{Owner: "a", Description: "d", IssuesURL: "https://x/issues", VariableTemplate: json.RawMessage(`[{"name":"n","help":"\u003cb\u003e"}]`)},
		},
		{
			name:      "wrong type dropped",
			in:        `{"owner": 5, "description": "kept"}`,
			want:      &TerraregConfig{Description: "kept"},
			diagnosis: `"owner" must be a string`,
		},
		{
			name:      "template must be an array",
			in:        `{"variable_template": {"name": "x"}}`,
			want:      &TerraregConfig{},
			diagnosis: "must be a JSON array",
		},
		{
			name: "null template is absent",
			in:   `{"variable_template": null}`,
			want: &TerraregConfig{},
		},
		{
			name:      "syntax error",
			in:        "{\n\"owner\": }",
			diagnosis: "invalid character",
		},
		{
			name:      "not an object",
			in:        `["owner"]`,
			diagnosis: "cannot unmarshal",
		},
		{
			name:      "null document",
			in:        `null`,
			diagnosis: "must hold a JSON object",
		},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			got, diags := parseTerrareg("terrareg.json", []byte(tt.in))
			if !reflect.DeepEqual(got, tt.want) {
				t.Errorf("config = %s, want %s", encode(t, got), encode(t, tt.want))
			}
			var details []string
			for _, d := range diags {
				details = append(details, d.Detail)
			}
			joined := strings.Join(details, "\n")
			if tt.diagnosis == "" && len(diags) > 0 || !strings.Contains(joined, tt.diagnosis) {
				t.Errorf("diagnostics = %q, want one containing %q", details, tt.diagnosis)
			}
		})
	}
	if _, diags := parseTerrareg("terrareg.json", []byte("{\n\n\"owner\": }")); len(diags) != 1 || diags[0].Line != 3 {
		t.Errorf("syntax error diagnostic = %+v, want line 3", diags)
	}
}
