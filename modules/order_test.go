package modules

import (
	"encoding/json"
	"slices"
	"testing"
	"time"

	"github.com/cairn-registry/cairn/queries"
)

// TestLookupOrderMatchesComputed checks that the version order a lookup
// computes once (Module.order) is what SortedVersions and Latest compute
// from scratch, and that WithUnpublished does not reuse it.
func TestLookupOrderMatchesComputed(t *testing.T) {
	var rows []queries.ModulesInNamespaceRow
	providers := json.RawMessage(`[{"name":"aws","source":"hashicorp/aws","version":">= 5.0"}]`)
	for i, v := range []string{"1.2.0", "1.10.0", "2.0.0-beta.1", "1.9.3", "not-semver", "0.1.0"} {
		id, version, pre, published := int64(i+1), v, v == "2.0.0-beta.1", v != "0.1.0"
		key, format, sha, by, size, at := "k", "tgz", "s", "", int64(1), time.Unix(int64(i), 0)
		rows = append(rows, queries.ModulesInNamespaceRow{ID: 7, Name: "vpc", System: "aws", VersionID: &id, Version: &version,
			IsPrerelease: &pre, BlobKey: &key, ArchiveFormat: &format, Sha256: &sha, Size: &size, Providers: providers,
			PublishedBy: &by, Published: &published, VersionCreatedAt: &at})
	}
	mods, err := modulesFromRows(rows)
	if err != nil || len(mods) != 1 {
		t.Fatalf("modulesFromRows = %v, %v", mods, err)
	}
	m := mods[0]
	if m.ordered == nil {
		t.Fatal("a looked-up module has no precomputed order")
	}
	fresh := &Module{Versions: m.Versions}
	names := func(vs []Version) []string {
		var out []string
		for _, v := range vs {
			out = append(out, v.Version)
		}
		return out
	}
	if got, want := names(m.SortedVersions()), names(fresh.SortedVersions()); !slices.Equal(got, want) ||
		!slices.Equal(want, []string{"2.0.0-beta.1", "1.10.0", "1.9.3", "1.2.0"}) {
		t.Fatalf("SortedVersions = %v, computed %v", got, want)
	}
	l1, ok1 := m.Latest()
	l2, ok2 := fresh.Latest()
	if l1.Version != l2.Version || ok1 != ok2 || l1.Version != "1.10.0" {
		t.Fatalf("Latest = %v %v, computed %v %v", l1.Version, ok1, l2.Version, ok2)
	}
	if &m.Versions[0].Providers[0] != &m.Versions[1].Providers[0] {
		t.Error("identical provider lists are not shared")
	}
	all := m.WithUnpublished()
	if got := names(all.SortedVersions()); !slices.Contains(got, "0.1.0") {
		t.Fatalf("WithUnpublished().SortedVersions() = %v, missing the unpublished 0.1.0", got)
	}
	if got := names(m.SortedVersions()); slices.Contains(got, "0.1.0") {
		t.Fatalf("WithUnpublished changed the cached module: %v", got)
	}
}
