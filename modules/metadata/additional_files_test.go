package metadata

import (
	"encoding/json"
	"strings"
	"testing"
	"testing/fstest"
)

// TestExtractAdditionalFiles: the root's CHANGELOG and LICENSE are kept (names matched
// case-insensitively, the preferred one when several), never a submodule's or an example's,
// and omitted from the JSON when absent.
func TestExtractAdditionalFiles(t *testing.T) {
	fsys := fstest.MapFS{
		"main.tf":                    {Data: []byte(`output "x" { value = 1 }`)},
		"ChangeLog.MD":               {Data: []byte("# Changes\n\n## 1.0.0\n")},
		"changelog":                  {Data: []byte("not preferred")},
		"License.txt":                {Data: []byte("not preferred")},
		"LICENSE":                    {Data: []byte("MIT <you>\x00\n")},
		"modules/sub/main.tf":        {Data: []byte(`output "y" { value = 2 }`)},
		"modules/sub/CHANGELOG.md":   {Data: []byte("# sub changes")},
		"modules/sub/LICENSE":        {Data: []byte("sub licence")},
		"examples/basic/main.tf":     {Data: []byte(`module "m" { source = "../.." }`)},
		"examples/basic/LICENSE.txt": {Data: []byte("example licence")},
	}
	m, err := Extract(fsys, Limits{})
	if err != nil {
		t.Fatal(err)
	}
	if m.Root.Changelog != "# Changes\n\n## 1.0.0\n" || m.Root.ChangelogFile != "ChangeLog.MD" {
		t.Errorf("root changelog = %q from %q", m.Root.Changelog, m.Root.ChangelogFile)
	}
	if m.Root.License != "MIT <you>\n" || m.Root.LicenseFile != "LICENSE" {
		t.Errorf("root license = %q from %q", m.Root.License, m.Root.LicenseFile)
	}
	if m.Root.ChangelogHTML != "" {
		t.Errorf("Extract rendered the changelog: %q", m.Root.ChangelogHTML)
	}
	for _, p := range append(m.Submodules, m.Examples[0].Part) {
		if p.Changelog != "" || p.License != "" || p.ChangelogFile != "" || p.LicenseFile != "" {
			t.Errorf("%s kept additional files: %+v", p.Path, p)
		}
	}

	// Absent (or blank) files leave no trace in the stored JSON.
	m, err = Extract(fstest.MapFS{
		"main.tf":   {Data: []byte(`output "x" { value = 1 }`)},
		"CHANGELOG": {Data: []byte(" \n")},
	}, Limits{})
	if err != nil {
		t.Fatal(err)
	}
	b, _ := json.Marshal(m)
	for _, key := range []string{"changelog", "license"} {
		if strings.Contains(string(b), `"`+key) {
			t.Errorf("JSON without additional files mentions %s: %s", key, b)
		}
	}
}

// TestExtractAdditionalFilesLimits: an oversized LICENSE is skipped like any other file.
func TestExtractAdditionalFilesLimits(t *testing.T) {
	m, err := Extract(fstest.MapFS{
		"main.tf":      {Data: []byte(`output "x" { value = 1 }`)},
		"LICENSE.md":   {Data: []byte(strings.Repeat("x", 200))},
		"CHANGELOG.md": {Data: []byte("# ok")},
	}, Limits{MaxFileSize: 100})
	if err != nil {
		t.Fatal(err)
	}
	if m.Root.License != "" || !m.Truncated {
		t.Errorf("oversized license kept (%d bytes) or not marked truncated (%v)", len(m.Root.License), m.Truncated)
	}
	if m.Root.Changelog != "# ok" {
		t.Errorf("changelog = %q", m.Root.Changelog)
	}
}
