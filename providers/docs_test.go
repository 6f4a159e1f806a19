package providers

import (
	"testing"

	"github.com/cairn-registry/cairn/errs"
)

// TestDocPlace maps docs/ paths (tfplugindocs layout) to category and
// slug, and refuses anything else.
func TestDocPlace(t *testing.T) {
	for _, c := range []struct{ path, category, slug string }{
		{"docs/index.md", "overview", "index"},
		{"docs/index.html.md", "overview", "index"},
		{"docs/resources/thing.md", "resources", "thing"},
		{"docs/data-sources/thing.html.md", "data-sources", "thing"},
		{"docs/guides/getting-started.md", "guides", "getting-started"},
		{"docs/functions/upper.md", "functions", "upper"},
	} {
		cat, slug, err := docPlace(c.path)
		if err != nil || cat != c.category || slug != c.slug {
			t.Errorf("docPlace(%q) = %q, %q, %v", c.path, cat, slug, err)
		}
	}
	for _, bad := range []string{"docs/../x.md", "../docs/index.md", "/docs/index.md", "docs\\index.md", "docs/resources/x.txt",
		"docs/other.md", "docs/resources/sub/x.md", "docs/other/x.md", "index.md", "docs/resources/.md", "docs//index.md"} {
		if _, _, err := docPlace(bad); !errs.Is(err, errs.Invalid) {
			t.Errorf("docPlace(%q) = %v, want invalid", bad, err)
		}
	}
}

// TestFrontMatter splits YAML front matter from the markdown.
func TestFrontMatter(t *testing.T) {
	for _, c := range []struct{ in, head, body string }{
		{"---\npage_title: x\n---\n# T\n", "\npage_title: x", "# T\n"},
		{"# no front matter\n", "", "# no front matter\n"},
		{"---\nunterminated\n", "", "---\nunterminated\n"},
		{"--- not yaml\n", "", "--- not yaml\n"},
	} {
		head, body := frontMatter(c.in)
		if head != c.head || body != c.body {
			t.Errorf("frontMatter(%q) = %q, %q", c.in, head, body)
		}
	}
}
