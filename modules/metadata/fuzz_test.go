package metadata

import (
	"bytes"
	"cmp"
	"encoding/json"
	"reflect"
	"slices"
	"strings"
	"testing"
	"testing/fstest"
	"unicode/utf8"

	"github.com/hashicorp/terraform-config-inspect/tfconfig"
)

// keptVariables is a sound file beside the fuzzed one: whatever the fuzzed
// file holds, this one must still be read.
const keptVariables = "variable \"kept\" {\n  type    = string\n  default = \"k\"\n}\n"

// FuzzExtract feeds fuzzed Terraform (native syntax, or JSON when asJSON)
// to Extract as the root module's main file, next to a sound variables.tf,
// with the default limits, and checks what Extract promises: no error, no
// panic escaping, none caught but from terraform-config-inspect, the sound
// file read, the documented shape (slices never nil and sorted), text safe
// for jsonb, JSON that round-trips, and the same result every time.
func FuzzExtract(f *testing.F) {
	for _, s := range []string{
		"variable \"name\" {\n  type        = string\n  description = \"Name of the VPC.\"\n}\n\noutput \"id\" {\n  value     = aws_vpc.this.id\n  sensitive = true\n}\n",
		"terraform {\n  required_version = \">= 1.5\"\n  required_providers {\n    aws = {\n      source  = \"hashicorp/aws\"\n      version = \"~> 5.0\"\n    }\n  }\n}\n\nresource \"aws_vpc\" \"this\" {\n  cidr_block = var.cidr\n}\n\ndata \"aws_region\" \"current\" {}\n",
		"module \"subnets\" {\n  source  = \"./modules/subnets\"\n  version = \"1.0.0\"\n  for_each = { for k, v in var.m : k => v if v != null }\n}\n",
		"variable \"m\" {\n  type = map(object({ a = optional(number, 1) }))\n  default = { x = { a = 2 }, \"\\u0000k\" = { a = 3 } }\n}\n",
		"locals {\n  doc = <<-EOT\n    ${var.name} %{ if true }yes%{ endif }\n  EOT\n}\n",
		"resource \"aws_s3_bucket\" \"logs\" {\n  bucket = var.bucket_name\n\nresource \"x\" {\n",
		"variable \"kept\" {\n  default = [1, 2.5e300, true, null, \"\\xff\"]\n}\nprovider \"google\" {\n  alias = \"west\"\n}\n",
	} {
		f.Add([]byte(s), false)
	}
	f.Add([]byte(`{"variable": {"region": {"type": "string", "default": "eu-west-1"}}, "output": {"id": {"value": "${aws_vpc.this.id}"}}}`), true)
	f.Add([]byte(`{"resource": {"aws_vpc": {"this": {"cidr_block": "10.0.0.0/16"}}}, "module": {"m": {"source": "../m"}}}`), true)
	f.Add([]byte(`{"variable": [`), true)
	f.Fuzz(func(t *testing.T, src []byte, asJSON bool) {
		name := "main.tf"
		if asJSON {
			name = "main.tf.json"
		}
		files := map[string][]byte{name: src, "variables.tf": []byte(keptVariables)}
		fsys := fstest.MapFS{}
		for file, b := range files {
			fsys[file] = &fstest.MapFile{Data: b}
		}
		m, err := Extract(fsys, DefaultLimits())
		if err != nil {
			t.Fatalf("Extract: %v", err)
		}
		checkModule(t, m, files)

		b, err := json.Marshal(m)
		if err != nil {
			t.Fatalf("json.Marshal: %v", err)
		}
		var back Module
		if err := json.Unmarshal(b, &back); err != nil {
			t.Fatalf("json.Unmarshal of the stored form: %v", err)
		}
		if !reflect.DeepEqual(m, &back) {
			t.Errorf("Module changed through JSON:\nbefore: %+v\nafter:  %+v", m, &back)
		}
		if again, err := json.Marshal(&back); err != nil || !bytes.Equal(b, again) {
			t.Errorf("second encoding differs from the first: %v", err)
		}

		m2, err := Extract(fsys, DefaultLimits())
		if err != nil {
			t.Fatalf("Extract again: %v", err)
		}
		if b2, _ := json.Marshal(m2); !bytes.Equal(b, b2) {
			t.Errorf("Extract gave different results for the same files:\n%s\n%s", b, b2)
		}
	})
}

// checkModule checks the Module extracted from a root holding files: one
// fuzzed and variables.tf.
func checkModule(t *testing.T, m *Module, files map[string][]byte) {
	t.Helper()
	p := m.Root
	tooLarge := false
	for _, b := range files {
		tooLarge = tooLarge || int64(len(b)) > DefaultLimits().MaxFileSize
	}
	if p.Path != "" || p.Empty || m.Truncated != tooLarge || m.Terrareg != nil || len(m.Submodules) != 0 || len(m.Examples) != 0 {
		t.Errorf("unexpected module shape: path %q, empty %v, truncated %v, terrareg %v, %d submodules, %d examples",
			p.Path, p.Empty, m.Truncated, m.Terrareg, len(m.Submodules), len(m.Examples))
	}
	panicked := false
	for _, d := range p.Diagnostics {
		if d.Summary == "Configuration could not be inspected" {
			if !tfconfigPanics(files) {
				t.Fatalf("inspect panicked (%s) on files terraform-config-inspect loads without panicking", d.Detail)
			}
			panicked = true // see TestExtractParserPanics
		}
	}
	if _, ok := findInput(p, "kept"); !ok && !panicked {
		t.Errorf("the sound variables.tf was not read: inputs %+v, diagnostics %+v", p.Inputs, p.Diagnostics)
	}

	if p.Inputs == nil || p.Outputs == nil || p.RequiredVersion == nil || p.ProviderDependencies == nil ||
		p.Resources == nil || p.ModuleCalls == nil || p.Diagnostics == nil {
		t.Errorf("a slice is nil: %+v", p)
	}
	byName := func(name func(int) string, n int) bool {
		for i := 1; i < n; i++ {
			if name(i-1) > name(i) {
				return false
			}
		}
		return true
	}
	if !byName(func(i int) string { return p.Inputs[i].Name }, len(p.Inputs)) ||
		!byName(func(i int) string { return p.Outputs[i].Name }, len(p.Outputs)) ||
		!byName(func(i int) string { return p.ProviderDependencies[i].Name }, len(p.ProviderDependencies)) ||
		!byName(func(i int) string { return p.ModuleCalls[i].Name }, len(p.ModuleCalls)) {
		t.Errorf("inputs, outputs, providers or module calls are not sorted by name: %+v", p)
	}
	if !slices.IsSortedFunc(p.Resources, func(a, b Resource) int {
		// Managed before data: the reverse of their names' order.
		return cmp.Or(cmp.Compare(b.Mode, a.Mode), cmp.Compare(a.Type, b.Type), cmp.Compare(a.Name, b.Name))
	}) {
		t.Errorf("resources are not sorted: %+v", p.Resources)
	}
	if len(p.Diagnostics) > maxDiagnosticsPerPart+1 {
		t.Errorf("%d diagnostics, more than the cap", len(p.Diagnostics))
	}
	if !slices.IsSortedFunc(p.Diagnostics, func(a, b Diagnostic) int {
		if a.Summary == "Further diagnostics omitted" || b.Summary == "Further diagnostics omitted" {
			return 0
		}
		return cmp.Or(cmp.Compare(a.File, b.File), cmp.Compare(a.Line, b.Line), cmp.Compare(a.Severity, b.Severity),
			cmp.Compare(a.Summary, b.Summary), cmp.Compare(a.Detail, b.Detail))
	}) {
		t.Errorf("diagnostics are not sorted: %+v", p.Diagnostics)
	}
	for _, d := range p.Diagnostics {
		if _, ok := files[d.File]; d.Severity != "error" && d.Severity != "warning" || d.File != "" && !ok {
			t.Errorf("diagnostic with severity %q in file %q", d.Severity, d.File)
		}
	}
	for _, r := range p.Resources {
		if _, ok := files[r.File]; r.Mode != "managed" && r.Mode != "data" || !ok {
			t.Errorf("resource %+v", r)
		}
	}
	for _, in := range p.Inputs {
		if !json.Valid(in.Default) {
			t.Errorf("input %q has a default that is not JSON: %q", in.Name, in.Default)
		}
	}
	walkStrings(reflect.ValueOf(m), func(s string) {
		if !utf8.ValidString(s) || strings.IndexByte(s, 0) >= 0 {
			t.Errorf("text PostgreSQL's jsonb would refuse: %q", s)
		}
	})
	if b, _ := json.Marshal(m); hasNULEscape(b) {
		t.Errorf("the stored form holds \\u0000, which jsonb refuses: %s", b)
	}
}

// tfconfigPanics reports whether terraform-config-inspect itself panics on
// the files inspect hands it, which explains a "Configuration could not be
// inspected" diagnostic; a panic it does not explain is in our code.
func tfconfigPanics(files map[string][]byte) (panicked bool) {
	safe := memFS{}
	for name, b := range files {
		if !nestingExceeds(b, maxNesting) {
			safe[name] = b
		}
	}
	defer func() {
		if recover() != nil {
			panicked = true
		}
	}()
	tfconfig.LoadModuleFromFilesystem(safe, ".")
	return false
}

// hasNULEscape reports whether the JSON text b escapes a NUL character
// (\u0000), which jsonb refuses; an escaped backslash followed by "u0000"
// is six harmless characters.
func hasNULEscape(b []byte) bool {
	for i := 0; ; i++ {
		j := bytes.Index(b[i:], []byte(`\u0000`))
		if j < 0 {
			return false
		}
		i += j
		backslashes := 1
		for k := i - 1; k >= 0 && b[k] == '\\'; k-- {
			backslashes++
		}
		if backslashes%2 == 1 {
			return true
		}
	}
}

// walkStrings calls fn with every string in v, including the contents of
// json.RawMessage values.
func walkStrings(v reflect.Value, fn func(string)) {
	switch v.Kind() {
	case reflect.Pointer, reflect.Interface:
		if !v.IsNil() {
			walkStrings(v.Elem(), fn)
		}
	case reflect.Struct:
		for i := range v.NumField() {
			if v.Type().Field(i).IsExported() {
				walkStrings(v.Field(i), fn)
			}
		}
	case reflect.Slice:
		if v.Type().Elem().Kind() == reflect.Uint8 {
			fn(string(v.Bytes()))
			return
		}
		for i := range v.Len() {
			walkStrings(v.Index(i), fn)
		}
	case reflect.String:
		fn(v.String())
	}
}

// TestExtractLiteralBackslashU0000 comes from FuzzExtract: a type written
// as the six characters \u0000 (not HCL, so kept as text) is stored with
// its backslash escaped, which jsonb accepts; only a NUL escape is refused.
func TestExtractLiteralBackslashU0000(t *testing.T) {
	m, err := Extract(fstest.MapFS{"main.tf": {Data: []byte(`variable"0" {  type={\u0000`)}}, DefaultLimits())
	if err != nil {
		t.Fatal(err)
	}
	if in, ok := findInput(m.Root, "0"); !ok || in.Type != `{\u0000` {
		t.Errorf("input 0 = %+v, %v; want the type kept as written", in, ok)
	}
	b, err := json.Marshal(m)
	if err != nil {
		t.Fatal(err)
	}
	if hasNULEscape(b) || !bytes.Contains(b, []byte(`"{\\u0000"`)) {
		t.Errorf("stored form: %s", b)
	}
	for in, want := range map[string]bool{`"\u0000"`: true, `"\\u0000"`: false, `"\\\u0000"`: true, `"a\\\\u0000"`: false, `"u0000"`: false} {
		if got := hasNULEscape([]byte(in)); got != want {
			t.Errorf("hasNULEscape(%s) = %v, want %v", in, got, want)
		}
	}
}

// TestExtractParserPanics comes from FuzzExtract: terraform-config-inspect
// panics on some invalid configurations, and inspect recovers. The upload
// goes through and the directory gets a diagnostic, but loses all its
// details, those of its other files included.
//   - It lists "required_providers" and "component" as top-level blocks in
//     its schema but has no case for them (Terraform rejects both there).
//   - When the HCL 2 parser fails, it retries with the legacy HCL 1 parser,
//     which indexes an empty list on some JSON-like input.
//
// If this test fails after an upgrade of terraform-config-inspect or
// hashicorp/hcl, a bug is fixed upstream: expect the inputs here instead.
func TestExtractParserPanics(t *testing.T) {
	for _, tt := range []struct {
		name, src, panic string
	}{
		{"required_providers", "required_providers {\n  aws = {}\n}\n", `unhandled block type "required_providers"`},
		{"component", "component \"x\" {}\n", `unhandled block type "component"`},
		{"legacy HCL", `{"vAriABle":{"":{"tYpe":{`, "runtime error: index out of range [0] with length 0"},
	} {
		t.Run(tt.name, func(t *testing.T) {
			files := map[string][]byte{"main.tf": []byte(tt.src), "variables.tf": []byte(keptVariables)}
			m, err := Extract(fstest.MapFS{
				"main.tf":      {Data: files["main.tf"]},
				"variables.tf": {Data: files["variables.tf"]},
			}, DefaultLimits())
			if err != nil {
				t.Fatal(err)
			}
			want := []Diagnostic{{Severity: "error", Summary: "Configuration could not be inspected", Detail: tt.panic}}
			if !reflect.DeepEqual(m.Root.Diagnostics, want) || len(m.Root.Inputs) != 0 {
				t.Errorf("inputs %+v, diagnostics %+v; want no inputs and %+v", m.Root.Inputs, m.Root.Diagnostics, want)
			}
			if !tfconfigPanics(files) {
				t.Errorf("terraform-config-inspect does not panic on these files")
			}
		})
	}
}

// TestExtractDeterministicAfterCleaning comes from FuzzExtract: names and
// map keys that differ only by a NUL are equal once cleaned, and the stored
// result used to depend on Go's map order: which value a default kept, and
// in which order equal names were listed.
func TestExtractDeterministicAfterCleaning(t *testing.T) {
	src := `variable "m" {
  default = { "\u0000b" = 3, "a\u0000" = 2, a = 1, "b\u0000" = 4 }
}
variable "v" {
  description = "one"
}
variable "v\u0000" {
  description = "two"
}
output "o" {
  value = 1
}
output "o\u0000" {
  value       = 2
  description = "x"
}
`
	fsys := fstest.MapFS{"main.tf": {Data: []byte(src)}}
	for range 20 {
		m, err := Extract(fsys, DefaultLimits())
		if err != nil {
			t.Fatal(err)
		}
		var got []string
		for _, in := range m.Root.Inputs {
			got = append(got, in.Name+"="+string(in.Default)+in.Description)
		}
		for _, o := range m.Root.Outputs {
			got = append(got, o.Name+":"+o.Description)
		}
		// The key that needed no cleaning wins, else the lowest; equal names keep the order
		// of the names as written.
		want := []string{`m={"a":1,"b":3}`, "v=nullone", "v=nulltwo", "o:", "o:x"}
		if !slices.Equal(got, want) {
			t.Fatalf("got %q, want %q", got, want)
		}
	}
}
