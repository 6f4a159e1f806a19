package metadata

import (
	"bytes"
	"cmp"
	"encoding/json"
	"fmt"
	"reflect"
	"regexp"
	"slices"
	"strings"
	"testing"
	"testing/fstest"
	"unicode/utf8"
)

// knownParserPanic is the panic of terraform-config-inspect on a top-level
// block it declares in its schema but does not handle: see
// TestExtractTopLevelBlockPanic.
var knownParserPanic = regexp.MustCompile(`^unhandled block type "(required_providers|component)"$`)

// keptVariables is a sound file beside the fuzzed one: whatever the fuzzed
// file holds, this one must still be read.
const keptVariables = "variable \"kept\" {\n  type    = string\n  default = \"k\"\n}\n"

// FuzzExtract feeds fuzzed Terraform (native syntax, or JSON when asJSON)
// to Extract as the root module's main file, next to a sound variables.tf,
// with the default limits, and checks what Extract promises: no error, no
// panic escaping the parsers or caught from them, the sound file read, the
// documented shape (slices never nil and sorted), text safe for jsonb, JSON
// that round-trips, and the same result every time.
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
		fsys := fstest.MapFS{
			name:           {Data: src},
			"variables.tf": {Data: []byte(keptVariables)},
		}
		m, err := Extract(fsys, DefaultLimits())
		if err != nil {
			t.Fatalf("Extract: %v", err)
		}
		checkModule(t, m, name)

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

// checkModule checks the Module extracted from a root holding the file name
// (fuzzed) and variables.tf.
func checkModule(t *testing.T, m *Module, name string) {
	t.Helper()
	p := m.Root
	if p.Path != "" || p.Empty || m.Truncated || m.Terrareg != nil || len(m.Submodules) != 0 || len(m.Examples) != 0 {
		t.Errorf("unexpected module shape: path %q, empty %v, truncated %v, terrareg %v, %d submodules, %d examples",
			p.Path, p.Empty, m.Truncated, m.Terrareg, len(m.Submodules), len(m.Examples))
	}
	for _, d := range p.Diagnostics {
		if d.Summary == "Configuration could not be inspected" {
			if knownParserPanic.MatchString(d.Detail) {
				return // see TestExtractTopLevelBlockPanic
			}
			t.Fatalf("a parser panicked: %s", d.Detail)
		}
	}
	if _, ok := findInput(p, "kept"); !ok {
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
		if d.Severity != "error" && d.Severity != "warning" || d.File != "" && d.File != name && d.File != "variables.tf" {
			t.Errorf("diagnostic with severity %q in file %q", d.Severity, d.File)
		}
	}
	for _, r := range p.Resources {
		if r.Mode != "managed" && r.Mode != "data" || r.File != name && r.File != "variables.tf" {
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

// TestExtractTopLevelBlockPanic comes from FuzzExtract. terraform-config-
// inspect lists "required_providers" and "component" as top-level blocks in
// its schema but has no case for them, so a file holding one at the top
// level (Terraform itself rejects that) makes it panic. inspect recovers:
// the upload goes through and the directory gets a diagnostic, but loses
// all its details, those of its other files included. If this test fails
// after an upgrade of terraform-config-inspect, the bug is fixed upstream:
// expect the inputs here and drop knownParserPanic.
func TestExtractTopLevelBlockPanic(t *testing.T) {
	for block, src := range map[string]string{
		"required_providers": "required_providers {\n  aws = {}\n}\n",
		"component":          "component \"x\" {}\n",
	} {
		t.Run(block, func(t *testing.T) {
			m, err := Extract(fstest.MapFS{
				"main.tf":      {Data: []byte(src)},
				"variables.tf": {Data: []byte(keptVariables)},
			}, DefaultLimits())
			if err != nil {
				t.Fatal(err)
			}
			want := []Diagnostic{{
				Severity: "error",
				Summary:  "Configuration could not be inspected",
				Detail:   fmt.Sprintf("unhandled block type %q", block),
			}}
			if !reflect.DeepEqual(m.Root.Diagnostics, want) || len(m.Root.Inputs) != 0 {
				t.Errorf("inputs %+v, diagnostics %+v; want no inputs and %+v", m.Root.Inputs, m.Root.Diagnostics, want)
			}
			if !knownParserPanic.MatchString(want[0].Detail) {
				t.Errorf("knownParserPanic does not match %q", want[0].Detail)
			}
		})
	}
}
