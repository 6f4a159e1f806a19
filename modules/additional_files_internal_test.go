package modules

import (
	"strings"
	"testing"

	"github.com/cairn-registry/cairn/modules/metadata"
)

// TestWantedAdditionalFiles: the collector keeps the root's CHANGELOG and LICENSE, not those of
// submodules.
func TestWantedAdditionalFiles(t *testing.T) {
	for p, want := range map[string]bool{
		"CHANGELOG.md":            true,
		"changelog":               true,
		"LICENSE":                 true,
		"License.txt":             true,
		"LICENSE.md":              true,
		"modules/sub/LICENSE":     false,
		"modules/sub/CHANGELOG":   false,
		"nested/dir/CHANGELOG.md": false,
	} {
		if got := wanted(p); got != want {
			t.Errorf("wanted(%q) = %v, want %v", p, got, want)
		}
	}
}

// TestRenderChangelog: the root's CHANGELOG is rendered and sanitised with the READMEs.
func TestRenderChangelog(t *testing.T) {
	m := &metadata.Module{Root: metadata.Part{Changelog: "# 1.0.0\n\n<script>alert(1)</script>\n\n- fixed"}}
	if err := renderReadmes(m); err != nil {
		t.Fatal(err)
	}
	h := m.Root.ChangelogHTML
	if !strings.Contains(h, "1.0.0</h1>") || !strings.Contains(h, "<li>fixed</li>") || strings.Contains(h, "<script") {
		t.Errorf("changelog HTML = %q", h)
	}
	m.Root.Changelog = ""
	if err := renderReadmes(m); err != nil || m.Root.ChangelogHTML != "" {
		t.Errorf("without a changelog: %q, %v", m.Root.ChangelogHTML, err)
	}
}
