package modules

import (
	"archive/tar"
	"bytes"
	"compress/gzip"
	"context"
	"encoding/json"
	"slices"
	"testing"

	"github.com/jackc/pgx/v5/pgxpool"

	"github.com/cairn-registry/cairn/blobs"
	"github.com/cairn-registry/cairn/internal/testenv"
	"github.com/cairn-registry/cairn/policies"
	"github.com/cairn-registry/cairn/projects"
	"github.com/cairn-registry/cairn/tokens"
	"github.com/cairn-registry/cairn/users"
)

func TestMain(m *testing.M) { testenv.Main(m) }

// catalogFixture is a module service on a fresh database with an
// administrator.
type catalogFixture struct {
	t       *testing.T
	db      *pgxpool.Pool
	svc     *Service
	tenancy *projects.Service
	admin   *policies.Principal
}

func newCatalogFixture(t *testing.T) *catalogFixture {
	t.Helper()
	db := testenv.Pool(t)
	en, err := policies.NewEnforcer(nil)
	if err != nil {
		t.Fatal(err)
	}
	tenancy := projects.New(db, en)
	u, err := users.New(db, en).EnsureAdmin(context.Background(), "root")
	if err != nil {
		t.Fatal(err)
	}
	store, err := blobs.NewFS(t.TempDir())
	if err != nil {
		t.Fatal(err)
	}
	links := NewLinks(tokens.NewDownloadSigner([]byte("test-signing-key")), "http://cairn.test")
	return &catalogFixture{t: t, db: db, svc: New(db, store, tenancy, links, 10<<20), tenancy: tenancy,
		admin: &policies.Principal{Kind: policies.User, UserID: u.ID, Username: u.Username, Admin: true}}
}

// project creates namespace/path (and the namespace when new) with a
// visibility for both.
func (f *catalogFixture) project(namespace, path, visibility string) {
	f.t.Helper()
	ctx := context.Background()
	g, err := f.tenancy.GroupByPath(ctx, f.admin, namespace)
	if err != nil {
		if g, err = f.tenancy.CreateGroup(ctx, f.admin, projects.GroupInput{Path: namespace, Name: namespace, Visibility: "public"}); err != nil {
			f.t.Fatal(err)
		}
	}
	if _, err := f.tenancy.CreateProject(ctx, f.admin, projects.ProjectInput{Group: g, Path: path, Visibility: visibility}); err != nil {
		f.t.Fatal(err)
	}
}

// publish uploads a one-file module whose terrareg.json says description.
func (f *catalogFixture) publish(project, name, system, version, description string) Version {
	f.t.Helper()
	cfg, _ := json.Marshal(map[string]string{"description": description})
	var buf bytes.Buffer
	gz := gzip.NewWriter(&buf)
	tw := tar.NewWriter(gz)
	for _, file := range []struct{ name, body string }{{"main.tf", "output \"x\" { value = 1 }\n"}, {"terrareg.json", string(cfg)}} {
		tw.WriteHeader(&tar.Header{Name: file.name, Mode: 0o644, Size: int64(len(file.body)), Typeflag: tar.TypeReg})
		tw.Write([]byte(file.body))
	}
	tw.Close()
	gz.Close()
	proj, err := f.tenancy.ProjectByPath(context.Background(), f.admin, project)
	if err != nil {
		f.t.Fatal(err)
	}
	v, err := f.svc.Publish(context.Background(), f.admin, proj, PublishInput{Name: name, System: system,
		Version: version, Body: &buf, Size: int64(buf.Len())})
	if err != nil {
		f.t.Fatalf("publish %s %s/%s %s: %v", project, name, system, version, err)
	}
	return Version{ID: v.ID, Version: v.Version}
}

// search returns the addresses (namespace/name/system) a search finds.
func (f *catalogFixture) search(p *policies.Principal, q SearchQuery) []string {
	f.t.Helper()
	if q.Limit == 0 {
		q.Limit = MaxPageSize
	}
	page, err := f.svc.Search(context.Background(), p, q)
	if err != nil {
		f.t.Fatal(err)
	}
	out := []string{}
	for _, o := range page.Modules {
		out = append(out, o.Namespace+"/"+o.Name+"/"+o.System)
	}
	return out
}

func (f *catalogFixture) exec(sql string, args ...any) {
	f.t.Helper()
	if _, err := f.db.Exec(context.Background(), sql, args...); err != nil {
		f.t.Fatalf("%s: %v", sql, err)
	}
}

// TestSearchDocumentFollowsWrites checks that what search matches follows
// every write that changes it: a new latest version, metadata rewritten in
// place, a renamed namespace, a project made private.
func TestSearchDocumentFollowsWrites(t *testing.T) {
	t.Parallel()
	f := newCatalogFixture(t)
	anon := policies.AnonymousPrincipal
	f.project("acme", "net", "public")
	f.publish("acme/net", "vpc", "aws", "1.0.0", "Builds a classic network")
	if got := f.search(anon, SearchQuery{Q: "classic"}); !slices.Equal(got, []string{"acme/vpc/aws"}) {
		t.Fatalf("search classic = %v after the first publish", got)
	}

	// A pre-release is not the latest: the document keeps 1.0.0's words.
	f.publish("acme/net", "vpc", "aws", "2.0.0-rc1", "Builds a shiny network")
	if got := f.search(anon, SearchQuery{Q: "shiny"}); len(got) != 0 {
		t.Errorf("search shiny = %v, but 2.0.0-rc1 is not the latest version", got)
	}
	v2 := f.publish("acme/net", "vpc", "aws", "2.0.0", "Builds a modern network")
	if got := f.search(anon, SearchQuery{Q: "classic"}); len(got) != 0 {
		t.Errorf("search classic = %v, want nothing once 2.0.0 is the latest", got)
	}
	if got := f.search(anon, SearchQuery{Q: "modern"}); !slices.Equal(got, []string{"acme/vpc/aws"}) {
		t.Errorf("search modern = %v after publishing 2.0.0", got)
	}

	f.exec(`UPDATE module_versions SET metadata = jsonb_set(metadata, '{terrareg,description}', '"Builds a rewritten network"') WHERE id = $1`, v2.ID)
	if got := f.search(anon, SearchQuery{Q: "rewritten"}); !slices.Equal(got, []string{"acme/vpc/aws"}) {
		t.Errorf("search rewritten = %v after the latest version's metadata changed", got)
	}

	f.exec(`UPDATE groups SET path = 'acme-corp', full_path = 'acme-corp' WHERE full_path = 'acme'`)
	f.exec(`UPDATE projects SET full_path = 'acme-corp/net' WHERE full_path = 'acme/net'`)
	if got := f.search(anon, SearchQuery{Q: "corp"}); !slices.Equal(got, []string{"acme-corp/vpc/aws"}) {
		t.Errorf("search corp = %v after the namespace was renamed", got)
	}
	if got := f.search(anon, SearchQuery{Namespaces: []string{"ACME-Corp"}}); !slices.Equal(got, []string{"acme-corp/vpc/aws"}) {
		t.Errorf("list namespace ACME-Corp = %v after the namespace was renamed", got)
	}

	private := "private"
	net, err := f.tenancy.ProjectByPath(context.Background(), f.admin, "acme-corp/net")
	if err != nil {
		t.Fatal(err)
	}
	if _, err := f.tenancy.UpdateProject(context.Background(), f.admin, net, projects.ProjectUpdate{Visibility: &private}); err != nil {
		t.Fatal(err)
	}
	if got := f.search(anon, SearchQuery{Q: "network"}); len(got) != 0 {
		t.Errorf("anonymous search network = %v after the project became private", got)
	}
	if got := f.search(f.admin, SearchQuery{Q: "network"}); !slices.Equal(got, []string{"acme-corp/vpc/aws"}) {
		t.Errorf("admin search network = %v after the project became private", got)
	}
}

// TestDownloadTotalsFollowCounts checks module_download_totals against the
// per-day rows through flushes (new rows and added counts) and a deleted
// version.
func TestDownloadTotalsFollowCounts(t *testing.T) {
	t.Parallel()
	f := newCatalogFixture(t)
	ctx := context.Background()
	f.project("acme", "net", "public")
	a1 := f.publish("acme/net", "vpc", "aws", "1.0.0", "")
	a2 := f.publish("acme/net", "vpc", "aws", "1.1.0", "")
	b1 := f.publish("acme/net", "dns", "aws", "1.0.0", "")
	check := func(when string, want map[string]int64) {
		t.Helper()
		page, err := f.svc.Search(ctx, policies.AnonymousPrincipal, SearchQuery{Limit: MaxPageSize})
		if err != nil {
			t.Fatal(err)
		}
		if len(page.Modules) != len(want) {
			t.Fatalf("%s: %d modules listed, want %d", when, len(page.Modules), len(want))
		}
		for _, o := range page.Modules {
			sum, err := f.svc.DownloadSummary(ctx, o.ModuleID)
			if err != nil {
				t.Fatal(err)
			}
			if o.Downloads != want[o.Name] || sum.Total != want[o.Name] {
				t.Errorf("%s: %s has %d downloads listed and %d summed, want %d", when, o.Name, o.Downloads, sum.Total, want[o.Name])
			}
		}
	}
	count := func(v Version, n int) {
		for range n {
			f.svc.CountDownload(v.ID)
		}
	}
	count(a1, 2)
	count(a2, 3)
	if err := f.svc.FlushDownloads(ctx); err != nil {
		t.Fatal(err)
	}
	check("first flush", map[string]int64{"vpc": 5, "dns": 0})
	count(a1, 1)
	count(b1, 4)
	if err := f.svc.FlushDownloads(ctx); err != nil {
		t.Fatal(err)
	}
	check("second flush", map[string]int64{"vpc": 6, "dns": 4})
	f.exec(`DELETE FROM module_versions WHERE id = $1`, a1.ID)
	check("after deleting 1.0.0", map[string]int64{"vpc": 3, "dns": 4})
}

// TestSearchPaging checks More and Total on lists and searches, and the
// filters that exclude everything.
func TestSearchPaging(t *testing.T) {
	t.Parallel()
	f := newCatalogFixture(t)
	ctx := context.Background()
	f.project("acme", "net", "public")
	for _, name := range []string{"a-net", "b-net", "c-net", "d-net", "e-net"} {
		f.publish("acme/net", name, "aws", "1.0.0", "")
	}
	yes, no := true, false
	for _, tc := range []struct {
		name  string
		q     SearchQuery
		count int
		more  bool
		total int
	}{
		{"first list page", SearchQuery{Limit: 2}, 2, true, -1},
		{"first list page counted", SearchQuery{Limit: 2, WithTotal: true}, 2, true, 5},
		{"last list page", SearchQuery{Offset: 4, Limit: 2}, 1, false, 5},
		{"past the list", SearchQuery{Offset: 9, Limit: 2}, 0, false, -1},
		{"past the list counted", SearchQuery{Offset: 9, Limit: 2, WithTotal: true}, 0, false, 5},
		{"first search page", SearchQuery{Q: "net", Limit: 2}, 2, true, 5},
		{"last search page", SearchQuery{Q: "net", Offset: 4, Limit: 2}, 1, false, 5},
		{"past the search", SearchQuery{Q: "net", Offset: 9, Limit: 2}, 0, false, 5},
		{"limit clamped", SearchQuery{Q: "net", Limit: -3}, 1, true, 5},
		{"verified", SearchQuery{Q: "net", Verified: true}, 0, false, 0},
		{"trusted only", SearchQuery{Trusted: &yes}, 0, false, 0},
		{"contributed", SearchQuery{Contributed: &yes, Limit: 10}, 5, false, 5},
		{"neither", SearchQuery{Trusted: &no, Contributed: &no}, 0, false, 0},
	} {
		page, err := f.svc.Search(ctx, policies.AnonymousPrincipal, tc.q)
		if err != nil {
			t.Fatal(err)
		}
		if len(page.Modules) != tc.count || page.More != tc.more || page.Total != tc.total {
			t.Errorf("%s: %d modules, more %v, total %d; want %d, %v, %d", tc.name, len(page.Modules), page.More, page.Total,
				tc.count, tc.more, tc.total)
		}
	}
	// A token that may not read packages sees nothing anywhere.
	writeOnly := &policies.Principal{Kind: policies.User, UserID: f.admin.UserID, Scopes: []string{}}
	if got := f.search(writeOnly, SearchQuery{}); len(got) != 0 {
		t.Errorf("a principal without read scope lists %v", got)
	}
	stats, err := f.svc.Stats(ctx, writeOnly)
	if err != nil || stats != (Stats{}) {
		t.Errorf("a principal without read scope gets stats %+v, %v", stats, err)
	}
	nss, total, err := f.svc.Namespaces(ctx, policies.AnonymousPrincipal, 5, 1)
	if err != nil || len(nss) != 0 || total != 1 {
		t.Errorf("namespaces past the end = %v, %d, %v; want none of 1", nss, total, err)
	}
}

// TestPublishedVersionCounts checks the per-module count of published
// versions the statistics sum (migration 00070) through every kind of
// change: publish, unpublish and publish again, delete one, delete a
// module, and a bulk insert of many.
func TestPublishedVersionCounts(t *testing.T) {
	f := newCatalogFixture(t)
	ctx := context.Background()
	f.project("acme", "net", "public")
	for _, v := range []string{"1.0.0", "1.1.0", "1.2.0"} {
		f.publish("acme/net", "vpc", "aws", v, "network")
	}
	f.publish("acme/net", "dns", "aws", "0.1.0", "names")
	check := func(step string, want int64) {
		t.Helper()
		var bad int64
		if err := f.db.QueryRow(ctx, `SELECT count(*) FROM terraform_modules m
			WHERE m.published_versions <> (SELECT count(*) FROM module_versions v WHERE v.module_id = m.id AND v.published)`).Scan(&bad); err != nil {
			t.Fatal(err)
		}
		f.svc.ForgetLookups() // what the cairn_modules notification of raw SQL does
		stats, err := f.svc.Stats(ctx, f.admin)
		if err != nil {
			t.Fatal(err)
		}
		if bad != 0 || stats.ModuleVersions != want {
			t.Fatalf("%s: %d modules miscounted, statistics say %d versions, want %d", step, bad, stats.ModuleVersions, want)
		}
	}
	check("after publishing", 4)
	f.exec("UPDATE module_versions SET published = false WHERE version = '1.1.0'")
	check("after unpublishing one", 3)
	f.exec("UPDATE module_versions SET published = true WHERE version = '1.1.0'")
	check("after publishing it again", 4)
	f.exec("DELETE FROM module_versions WHERE version = '1.0.0'")
	check("after deleting one", 3)
	f.exec(`INSERT INTO module_versions (module_id, version, is_prerelease, blob_key, archive_format, sha256, size, published)
		SELECT m.id, '2.' || k || '.0', false, 'k' || k, 'tgz', 's', 1, k % 2 = 0
		FROM terraform_modules m CROSS JOIN generate_series(0, 9) k`)
	check("after a bulk insert", 3+2*5)
	f.exec("DELETE FROM terraform_modules WHERE name = 'dns'")
	check("after deleting a module", 2+5)
}
