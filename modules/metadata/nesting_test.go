package metadata

import (
	"strings"
	"testing"
	"testing/fstest"
)

func TestNestingExceeds(t *testing.T) {
	deep := func(open, close string, n int) string {
		return strings.Repeat(open, n) + strings.Repeat(close, n)
	}
	tests := []struct {
		name string
		src  string
		want bool
	}{
		{"flat", "a = 1\nb = [1, 2, {c = 3}]\n", false},
		{"brackets at the limit", "x = " + deep("[", "]", 10), false},
		{"brackets beyond", "x = " + deep("[", "]", 11), true},
		{"unclosed brackets", "x = " + strings.Repeat("(", 11), true},
		{"closers in strings cannot hide depth", "x = " + strings.Repeat(`["]"`, 11), true},
		{"brackets in strings are not nesting", `x = "` + strings.Repeat("[", 50) + `"`, false},
		{"brackets in comments are not nesting", "# " + strings.Repeat("{", 50) + "\n/* " + strings.Repeat("(", 50) + " */\n// " + strings.Repeat("[", 50), false},
		{"escaped quotes stay inside the string", `x = "\"` + strings.Repeat("[", 50) + `"`, false},
		{"escaped template sequences are text", `x = "` + strings.Repeat("$${", 50) + `"`, false},
		{"template sequences nest", "x = " + strings.Repeat(`"${`, 6), true},
		{"heredoc body is text", "x = <<EOT\n" + strings.Repeat("[", 50) + "\nEOT\ny = 1\n", false},
		{"heredoc templates nest", "x = <<-EOT\n  " + strings.Repeat("${[", 6) + "\n  EOT\n", true},
		{"heredoc ends at its marker", "x = <<EOT\n[\n  EOT\ny = " + deep("{", "}", 9) + "\n", false},
		{"json", `{"variable": {"a": {"default": [[[1]]]}}}`, false},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			if got := nestingExceeds([]byte(tt.src), 10); got != tt.want {
				t.Errorf("nestingExceeds(%.60q) = %v, want %v", tt.src, got, tt.want)
			}
		})
	}
}

// Without the nesting guard each of these overflows the parser's stack, which kills the process.
func TestExtractDeeplyNested(t *testing.T) {
	for name, src := range map[string]string{
		"tuple":     "x = " + strings.Repeat("[", 500000),
		"default":   "variable \"a\" { default = " + strings.Repeat("[", 300000) + strings.Repeat("]", 300000) + " }",
		"blocks":    strings.Repeat("a {", 300000),
		"templates": "x = \"" + strings.Repeat("${\"", 300000),
		"json":      "{\"variable\": " + strings.Repeat("[", 500000),
	} {
		t.Run(name, func(t *testing.T) {
			file := "main.tf"
			if name == "json" {
				file = "main.tf.json"
			}
			fsys := fstest.MapFS{
				file:           {Data: []byte(src)},
				"variables.tf": {Data: []byte(`variable "kept" {}`)},
			}
			m, err := Extract(fsys, DefaultLimits())
			if err != nil {
				t.Fatal(err)
			}
			if _, ok := findInput(m.Root, "kept"); !ok {
				t.Errorf("the sound file was not parsed: %+v", m.Root.Inputs)
			}
			var flagged bool
			for _, d := range m.Root.Diagnostics {
				flagged = flagged || (d.File == file && d.Summary == "Configuration nested too deeply")
			}
			if !flagged {
				t.Errorf("no nesting diagnostic for %s: %+v", file, m.Root.Diagnostics)
			}
		})
	}
}

func TestRewriteDeeplyNested(t *testing.T) {
	src := "x = \"" + strings.Repeat("${\"", 300000) + "\nmodule \"vpc\" {\n  source = \"../..\"\n}\n"
	if got := RewriteExampleSource(src, "examples/a", testAddress, "1.0.0"); got != src {
		t.Error("content after an absurdly nested string was rewritten; it should be left alone")
	}
}
