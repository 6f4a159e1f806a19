package markdown

import (
	"strings"
	"testing"
)

// TestRenderRemoteImages: an image is kept only when its source is a
// relative path (a file of the module); any other image would make readers'
// browsers fetch a URL the uploader chose, so it becomes its alt text.
func TestRenderRemoteImages(t *testing.T) {
	tests := []struct {
		name    string
		src     string
		want    []string
		notWant []string
	}{
		{"https image", "![diagram](https://tracker.example/d.png)\n",
			[]string{"<p>diagram</p>"}, []string{"<img", "tracker.example"}},
		{"http image", "![a](http://tracker.example/d.png)\n",
			[]string{"<p>a</p>"}, []string{"<img", "tracker.example"}},
		{"protocol-relative image", "![b](//tracker.example/d.png)\n",
			[]string{"<p>b</p>"}, []string{"<img", "tracker.example"}},
		// bluemonday percent-encodes the backslashes: a relative path, no host.
		{"backslash host image", `<img src="\\tracker.example/d.png" alt="c">` + "\n",
			[]string{`<img src="%5C%5Ctracker.example/d.png" alt="c">`}, []string{`src="\\`}},
		{"site-absolute image", "![d](/uploads/d.png)\n",
			[]string{"<p>d</p>"}, []string{"<img", "uploads"}},
		{"data image", "![e](data:image/png;base64,iVBORw0KGgo=)\n",
			[]string{"<p>e</p>"}, []string{"<img", "data:"}},
		{"raw html remote image", `<p>before <img src="https://tracker.example/p.gif" alt="pixel" width="1"> after</p>` + "\n",
			[]string{"before pixel after"}, []string{"<img", "tracker.example"}},
		{"whitespace before the scheme", "<img src=\"\t https://tracker.example/p.gif\" alt=\"f\">\n",
			[]string{"f"}, []string{"<img", "tracker.example"}},
		{"tab inside the scheme", "<img src=\"ht\ttps://tracker.example/p.gif\" alt=\"g\">\n",
			[]string{"g"}, []string{"<img", "tracker.example"}},
		{"upper-case scheme", "![h](HTTPS://tracker.example/d.png)\n",
			[]string{"<p>h</p>"}, []string{"<img", "tracker.example"}},
		{"image without a source", `<img alt="i">` + "\n",
			[]string{"i"}, []string{"<img"}},
		{"alt text is escaped", "![it's a (diagram)](https://tracker.example/d.png)\n",
			[]string{"<p>it&#39;s a (diagram)</p>"}, []string{"<img"}},
		{"image inside a link keeps the link", "[![badge](https://ci.example/badge.svg)](https://ci.example/)\n",
			[]string{`<a href="https://ci.example/" rel="nofollow noopener" target="_blank">badge</a>`}, []string{"<img", "badge.svg"}},
		{"relative image kept", "![diagram](docs/diagram.png)\n",
			[]string{`<img src="docs/diagram.png" alt="diagram">`}, nil},
		{"dot-relative image kept", "![diagram](./images/a.svg)\n",
			[]string{`<img src="./images/a.svg" alt="diagram">`}, nil},
		{"relative image with a colon later kept", "![x](img/a:b.png)\n",
			[]string{`<img src="img/a:b.png" alt="x">`}, nil},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			got := render(t, tt.src)
			for _, w := range tt.want {
				if !strings.Contains(got, w) {
					t.Errorf("output lacks %q\ngot:\n%s", w, got)
				}
			}
			for _, nw := range tt.notWant {
				if strings.Contains(got, nw) {
					t.Errorf("output holds %q\ngot:\n%s", nw, got)
				}
			}
			checkSafe(t, got)
		})
	}
}

// TestRenderIDPrefix: every id gets the readme- prefix, so a README cannot
// define ids that clobber the page's (window.x, document.getElementById),
// and in-page links follow.
func TestRenderIDPrefix(t *testing.T) {
	tests := []struct {
		name    string
		src     string
		want    []string
		notWant []string
	}{
		{"heading ids", "# Usage\n\n## Inputs\n\n## Inputs\n",
			[]string{`<h1 id="readme-usage">`, `<h2 id="readme-inputs">`, `<h2 id="readme-inputs-1">`}, []string{`id="usage"`, `id="inputs"`}},
		{"fragment links follow", "## Inputs\n\nSee [the inputs](#inputs) and [the second](#inputs-1).\n",
			[]string{`<a href="#readme-inputs" rel="nofollow">the inputs</a>`, `<a href="#readme-inputs-1" rel="nofollow">`}, []string{`href="#inputs"`}},
		{"raw html ids", `<div id="config">x</div><span id="currentUser">y</span>` + "\n",
			[]string{`<div id="readme-config">x</div>`, `<span id="readme-currentUser">y</span>`}, []string{`id="config"`, `id="currentUser"`}},
		{"raw html fragment link", `<a href="#config">go</a>` + "\n",
			[]string{`href="#readme-config"`}, []string{`href="#config"`}},
		{"table headers follow ids", `<table><tr><th id="h1">a</th></tr><tr><td headers="h1 h2">b</td></tr></table>` + "\n",
			[]string{`<th id="readme-h1">`, `headers="readme-h1 readme-h2"`}, nil},
		{"other documents' fragments untouched", "[usage](docs/usage.md#inputs) [site](https://example.com/#top)\n",
			[]string{`href="docs/usage.md#inputs"`, `href="https://example.com/#top"`}, []string{"readme-"}},
		{"a bare hash is left alone", `<a href="#">top</a>` + "\n",
			[]string{"top"}, []string{"readme-"}},
		{"non-ascii heading", "# Überblick\n\n[x](#überblick)\n",
			[]string{`id="readme-`, `href="#readme-`}, nil},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			got := render(t, tt.src)
			for _, w := range tt.want {
				if !strings.Contains(got, w) {
					t.Errorf("output lacks %q\ngot:\n%s", w, got)
				}
			}
			for _, nw := range tt.notWant {
				if strings.Contains(got, nw) {
					t.Errorf("output holds %q\ngot:\n%s", nw, got)
				}
			}
			checkSafe(t, got)
		})
	}
}
