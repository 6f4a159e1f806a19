package markdown

import (
	"os"
	"strings"
	"sync"
	"testing"
)

func render(t *testing.T, src string) string {
	t.Helper()
	out, err := Render([]byte(src))
	if err != nil {
		t.Fatalf("Render: %v", err)
	}
	return string(out)
}

func TestRenderGFM(t *testing.T) {
	tests := []struct {
		name string
		src  string
		want []string // substrings the HTML must contain
	}{
		{
			name: "table",
			src:  "| Name | Required |\n|:-----|:--------:|\n| `vpc_cidr` | yes |\n",
			want: []string{"<table>", "<th align=\"left\">Name</th>", "<th align=\"center\">Required</th>", "<td align=\"left\"><code>vpc_cidr</code></td>"},
		},
		{
			name: "fenced code keeps its language",
			src:  "```hcl\nmodule \"vpc\" {\n  source = \"acme/vpc/aws\"\n}\n```\n",
			want: []string{`<pre><code class="language-hcl">module &#34;vpc&#34; {`},
		},
		{
			name: "language with plus signs",
			src:  "```c++\nint main() {}\n```\n",
			want: []string{`<code class="language-c++">`},
		},
		{
			name: "heading ids are deterministic and deduplicated",
			src:  "# Usage\n\n## Inputs\n\n## Inputs\n\n### Required inputs_list\n",
			want: []string{`<h1 id="readme-usage">Usage</h1>`, `<h2 id="readme-inputs">Inputs</h2>`, `<h2 id="readme-inputs-1">Inputs</h2>`, `<h3 id="readme-required-inputs-list">`},
		},
		{
			name: "strikethrough",
			src:  "~~deprecated~~\n",
			want: []string{"<del>deprecated</del>"},
		},
		{
			name: "autolink",
			src:  "See https://registry.example.com/docs for more.\n",
			want: []string{`<a href="https://registry.example.com/docs" rel="nofollow noopener" target="_blank">https://registry.example.com/docs</a>`},
		},
		{
			name: "task list",
			src:  "- [x] done\n- [ ] todo\n",
			want: []string{`<input checked="" disabled="" type="checkbox"> done`, `<input disabled="" type="checkbox"> todo`},
		},
		{
			name: "relative link keeps nofollow",
			src:  "[inputs](#inputs) and [docs](docs/usage.md)\n",
			want: []string{`<a href="#readme-inputs" rel="nofollow">inputs</a>`, `<a href="docs/usage.md" rel="nofollow">docs</a>`},
		},
		{
			name: "relative images survive",
			src:  "![diagram](docs/diagram.png)\n",
			want: []string{`<img src="docs/diagram.png" alt="diagram">`},
		},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			got := render(t, tt.src)
			for _, w := range tt.want {
				if !strings.Contains(got, w) {
					t.Errorf("output lacks %q\ngot:\n%s", w, got)
				}
			}
		})
	}
}

func TestRenderStripsArbitraryClasses(t *testing.T) {
	got := render(t, "<p class=\"evil\">x</p>\n\n<code class=\"language-hcl bogus\">y</code>\n\n```hcl\" onmouseover=\"x\nz\n```\n")
	for _, bad := range []string{`class="evil"`, `bogus`, `onmouseover`} {
		if strings.Contains(got, bad) {
			t.Errorf("output contains %q\ngot:\n%s", bad, got)
		}
	}
}

func TestRenderHostileFixture(t *testing.T) {
	src, err := os.ReadFile("../metadata/testdata/fixtures/hostile/README.md")
	if err != nil {
		t.Fatal(err)
	}
	out, err := Render(src)
	if err != nil {
		t.Fatalf("Render: %v", err)
	}
	got := string(out)
	lower := strings.ToLower(got)
	for _, bad := range []string{"<script", "javascript:", "onerror", "onclick", "onmouseover", "<iframe", "<style", "data:text/html", "<form", "alert(1)", "display: none"} {
		if strings.Contains(lower, bad) {
			t.Errorf("sanitized output still contains %q\ngot:\n%s", bad, got)
		}
	}
	for _, want := range []string{
		`<a href="https://ok.example" rel="nofollow noopener" target="_blank">ok</a>`,
		`<h1 id="readme-hostile-module">Hostile module</h1>`,
		`<h2 id="readme-usage">Usage</h2>`,
		`<div>hover me</div>`,
	} {
		if !strings.Contains(got, want) {
			t.Errorf("safe content %q did not survive\ngot:\n%s", want, got)
		}
	}
}

func TestRenderConcurrent(t *testing.T) {
	const src = "# Title\n\n## Title\n\n```hcl\nx = 1\n```\n"
	want := render(t, src)
	var wg sync.WaitGroup
	for range 16 {
		wg.Add(1)
		go func() {
			defer wg.Done()
			out, err := Render([]byte(src))
			if err != nil || string(out) != want {
				t.Errorf("concurrent render differs: %v\n%s", err, out)
			}
		}()
	}
	wg.Wait()
}

func TestRenderEmpty(t *testing.T) {
	if got := render(t, ""); got != "" {
		t.Errorf("Render(\"\") = %q, want empty", got)
	}
}
