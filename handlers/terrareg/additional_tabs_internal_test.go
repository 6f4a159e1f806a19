package terrareg

import (
	"encoding/json"
	"testing"

	"github.com/cairn-registry/cairn/modules/metadata"
)

// TestAdditionalTabFiles: additional_tab_files names the root's CHANGELOG and LICENSE only when
// the upload had them, and is {} otherwise.
func TestAdditionalTabFiles(t *testing.T) {
	for _, tc := range []struct {
		root metadata.Part
		want string
	}{
		{metadata.Part{}, `{}`},
		{metadata.Part{Changelog: "# c", ChangelogFile: "CHANGELOG.md", License: "MIT", LicenseFile: "LICENSE"},
			`{"Changelog":"CHANGELOG.md","License":"LICENSE"}`},
		{metadata.Part{License: "MIT", LicenseFile: "license.txt"}, `{"License":"license.txt"}`},
		{metadata.Part{Changelog: " \n", ChangelogFile: "CHANGELOG"}, `{}`},
	} {
		b, _ := json.Marshal(trmAdditionalTabFiles(tc.root))
		if string(b) != tc.want {
			t.Errorf("additional_tab_files = %s, want %s", b, tc.want)
		}
	}
}
