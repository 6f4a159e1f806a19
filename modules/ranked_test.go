package modules

import (
	"context"
	"fmt"
	"log/slog"
	"slices"
	"testing"
	"time"

	"github.com/cairn-registry/cairn/policies"
	"github.com/cairn-registry/cairn/projects"
)

// TestScopeReadableAgreesWithSQL checks policies.Scope.Readable, which
// filters ranked searches in memory, against cairn_scope_readable, which
// filters lists in SQL, over every combination that matters.
func TestScopeReadableAgreesWithSQL(t *testing.T) {
	f := newCatalogFixture(t)
	scopes := []policies.Scope{
		{All: true}, {}, {Internal: true},
		{ProjectIDs: []int64{7}}, {GroupIDs: []int64{3}}, {GroupIDs: []int64{9}},
		{Internal: true, ProjectIDs: []int64{8, 7}, GroupIDs: []int64{5, 3}},
	}
	type project struct {
		vis       policies.Visibility
		id        int64
		traversal []int64
	}
	var cases []project
	for _, vis := range []policies.Visibility{policies.Public, policies.Internal, policies.Private} {
		for _, id := range []int64{7, 11} {
			for _, tr := range [][]int64{{3}, {1, 3}, {1, 2}, {9, 10, 11}, {}} {
				cases = append(cases, project{vis, id, tr})
			}
		}
	}
	n := 0
	for _, sc := range scopes {
		a := argsOf(sc)
		for _, c := range cases {
			var want bool
			if err := f.db.QueryRow(context.Background(), "SELECT cairn_scope_readable($1, $2, $3, $4, $5, $6, $7)",
				string(c.vis), c.id, c.traversal, a.all, a.internal, a.projects, a.groups).Scan(&want); err != nil {
				t.Fatal(err)
			}
			if got := sc.Readable(c.vis, c.id, c.traversal); got != want {
				t.Errorf("scope %+v, project %+v: Readable = %v, SQL says %v", sc, c, got, want)
			}
			n++
		}
	}
	if n != len(scopes)*30 {
		t.Fatalf("compared %d cases", n)
	}
	if (policies.Scope{None: true, All: true}).Readable(policies.Public, 1, nil) {
		t.Error("the empty scope reads a public project")
	}
}

// TestRankedSearchFollowsChanges checks that a cached ranking (and the
// cached statistics) never show what changed since: a module published after the first search is found
// at once, a project made private disappears for those who may no longer
// read it within a second (the cairn_modules notification), and a member
// still finds it; paging and totals come from the filtered list.
func TestRankedSearchFollowsChanges(t *testing.T) {
	f := newCatalogFixture(t)
	ctx, cancel := context.WithCancel(context.Background())
	defer cancel()
	go f.svc.Follow(ctx, f.db, slog.New(slog.DiscardHandler))
	f.project("acme", "net", "public")
	for i := range 5 {
		f.publish("acme/net", fmt.Sprintf("vpc-%d", i), "aws", "1.0.0", "network")
	}
	anon := policies.AnonymousPrincipal
	if got := f.search(anon, SearchQuery{Q: "vpc"}); len(got) != 5 {
		t.Fatalf("anonymous finds %v", got)
	}
	before, err := f.svc.Stats(ctx, anon)
	if err != nil || before.Modules != 5 {
		t.Fatalf("statistics = %+v, %v", before, err)
	}
	f.publish("acme/net", "vpc-9", "aws", "1.0.0", "network")
	if after, err := f.svc.Stats(ctx, anon); err != nil || after.Modules != 6 || after.ModuleVersions != 6 {
		t.Fatalf("statistics after a publish = %+v, %v (cached overview not dropped?)", after, err)
	}
	if got := f.search(anon, SearchQuery{Q: "vpc"}); !slices.Contains(got, "acme/vpc-9/aws") {
		t.Fatalf("a module published after the ranking was cached is missing: %v", got)
	}
	page, err := f.svc.Search(ctx, anon, SearchQuery{Q: "vpc", Offset: 4, Limit: 4})
	if err != nil || page.Total != 6 || len(page.Modules) != 2 || page.More {
		t.Fatalf("page 2 = %+v, %v", page, err)
	}
	// Facets count what the search finds, from the same ranking.
	facets := func(p *policies.Principal) Facets {
		t.Helper()
		fc, err := f.svc.Facets(ctx, p, "vpc")
		if err != nil {
			t.Fatal(err)
		}
		return fc
	}
	if fc := facets(anon); fc.Total != 6 || fc.Namespaces["acme"] != 6 || fc.Providers["aws"] != 6 {
		t.Fatalf("facets = %+v", fc)
	}

	pr, err := f.tenancy.ProjectByPath(ctx, f.admin, "acme/net")
	if err != nil {
		t.Fatal(err)
	}
	private := "private"
	if _, err := f.tenancy.UpdateProject(ctx, f.admin, pr, projects.ProjectUpdate{Visibility: &private}); err != nil {
		t.Fatal(err)
	}
	deadline := time.Now().Add(time.Second)
	for {
		got := f.search(anon, SearchQuery{Q: "vpc"})
		if len(got) == 0 {
			break
		}
		if time.Now().After(deadline) {
			t.Fatalf("a second after the project became private, anonymous still finds %v", got)
		}
		time.Sleep(10 * time.Millisecond)
	}
	if got := f.search(f.admin, SearchQuery{Q: "vpc"}); len(got) != 6 {
		t.Fatalf("the administrator finds %v", got)
	}
	if fc := facets(anon); fc.Total != 0 || len(fc.Namespaces) != 0 {
		t.Fatalf("anonymous facets after the project became private = %+v", fc)
	}
	if fc := facets(f.admin); fc.Total != 6 {
		t.Fatalf("administrator facets = %+v", fc)
	}
}

// TestLookupsForgetOneNamespace checks that a module change drops the cached
// lookups of its namespace only — every namespace it answers at, redirects
// included — whether this replica made it (publish) or another did (the
// cairn_modules notification, migration 00072).
func TestLookupsForgetOneNamespace(t *testing.T) {
	f := newCatalogFixture(t)
	ctx, cancel := context.WithCancel(context.Background())
	defer cancel()
	go f.svc.Follow(ctx, f.db, slog.New(slog.DiscardHandler))
	f.project("alpha", "net", "public")
	f.project("beta", "net", "public")
	f.project("gamma", "net", "public")
	f.publish("alpha/net", "vpc", "aws", "1.0.0", "a")
	f.publish("beta/net", "vpc", "aws", "1.0.0", "b")
	// gamma/old-vpc/aws redirects to alpha's module.
	f.exec(`INSERT INTO module_redirects (module_id, namespace_id, name, system)
		SELECT m.id, g.id, 'old-vpc', 'aws' FROM terraform_modules m, groups g
		WHERE m.name = 'vpc' AND m.namespace_key = 'alpha' AND g.path = 'gamma'`)
	cached := func(ns, name string) bool {
		_, ok := f.svc.lookups.Get(lookupKey(ns, name, "aws"), time.Now())
		return ok
	}
	fill := func() {
		t.Helper()
		// The redirect's own notification (every lookup dropped) has to
		// arrive before the lookups are cached again.
		time.Sleep(100 * time.Millisecond)
		for _, a := range [][2]string{{"Alpha", "vpc"}, {"beta", "vpc"}, {"gamma", "old-vpc"}} {
			if _, err := f.svc.Find(ctx, f.admin, a[0], a[1], "aws"); err != nil {
				t.Fatalf("find %s/%s: %v", a[0], a[1], err)
			}
		}
		if !cached("alpha", "vpc") || !cached("beta", "vpc") || !cached("gamma", "old-vpc") {
			t.Fatal("lookups not cached")
		}
	}
	waitGone := func(what string, gone func() bool) {
		t.Helper()
		for deadline := time.Now().Add(time.Second); !gone(); time.Sleep(10 * time.Millisecond) {
			if time.Now().After(deadline) {
				t.Fatalf("%s: still cached a second later", what)
			}
		}
	}

	// Another replica adds a version to alpha's module.
	fill()
	f.exec(`INSERT INTO module_versions (module_id, version, is_prerelease, blob_key, archive_format, sha256, size)
		SELECT id, '1.1.0', false, 'k', 'tgz', 's', 1 FROM terraform_modules WHERE namespace_key = 'alpha'`)
	waitGone("alpha's module after another replica's publish", func() bool { return !cached("alpha", "vpc") && !cached("gamma", "old-vpc") })
	if !cached("beta", "vpc") {
		t.Fatal("a publish in alpha dropped beta's lookup")
	}

	// This replica publishes in beta: dropped at once, alpha kept.
	fill()
	f.publish("beta/net", "vpc", "aws", "1.2.0", "b")
	if cached("beta", "vpc") {
		t.Fatal("this replica's publish left its namespace's lookup cached")
	}
	if !cached("alpha", "vpc") {
		t.Fatal("a publish in beta dropped alpha's lookup")
	}
	mod, err := f.svc.Find(ctx, f.admin, "beta", "vpc", "aws")
	if err != nil || len(mod.Versions) != 2 {
		t.Fatalf("beta's module after the publish: %v, %v", mod, err)
	}
}
