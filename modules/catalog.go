package modules

import (
	"context"
	"fmt"
	"math"
	"slices"
	"strings"
	"time"

	"github.com/jackc/pgx/v5"
	"github.com/jackc/pgx/v5/pgconn"

	"github.com/cairn-registry/cairn/policies"
	"github.com/cairn-registry/cairn/queries"
)

// The catalog: lists, search, facets and statistics over the modules a
// principal may read. Visibility comes from
// policies.Authorizer.ReadableScope: applied in SQL by lists, so every page is
// one query, and in memory by searches, which rank once per query for
// everyone (ranked.go); either way a module p may not read is never counted,
// listed or shown. What a page shows of a
// module (description, owner, search document, download total) is kept
// current by triggers (migration 00005), so search needs nothing from the
// publish path.
//
// Cairn has no "verified" or "trusted" modules: Verified filters match
// nothing, every module is "contributed" in Terrareg's terms.

// MaxPageSize bounds one catalog page.
const MaxPageSize = 100

// Outline is a listed module: its address, latest version and what list
// pages show of it.
type Outline struct {
	ModuleID int64
	// Namespace is the top-level group's path; NamespaceName its name.
	Namespace     string
	NamespaceName string
	Name          string
	System        string
	// Version is the latest version, VersionID its id.
	Version     string
	VersionID   int64
	Description string
	Owner       string
	ProjectPath string
	PublishedAt time.Time
	// Downloads counts every download of every version.
	Downloads int64
}

func outlineOf(c queries.CatalogModule) Outline {
	return Outline{ModuleID: c.ID, Namespace: c.Namespace, NamespaceName: c.NamespaceName, Name: c.Name, System: c.System,
		Version: c.Version, VersionID: c.VersionID, Description: c.Description, Owner: c.Owner, ProjectPath: c.ProjectPath,
		PublishedAt: c.PublishedAt, Downloads: c.Downloads}
}

// SearchQuery selects and pages modules.
type SearchQuery struct {
	// Q is the search text; blank lists modules in address order.
	Q string
	// Namespaces, Providers (systems) and Name narrow the result; empty
	// matches all. Namespaces compare case-insensitively. Name applies to
	// lists only.
	Namespaces []string
	Providers  []string
	Name       string
	// Verified keeps verified modules only: none, in Cairn.
	Verified bool
	// Trusted and Contributed are Terrareg's namespace-trust filters: when
	// either is set, only the kinds set to true are kept. Cairn trusts no
	// namespace, so every module is contributed.
	Trusted, Contributed *bool
	// WithTotal asks lists to count every match (a second query); searches
	// always count.
	WithTotal bool
	// Offset and Limit page the result; Limit is clamped to 1..MaxPageSize.
	Offset, Limit int
}

// matchesNothing reports whether the filters exclude every Cairn module.
func (q SearchQuery) matchesNothing() bool {
	if q.Verified {
		return true
	}
	if q.Trusted != nil || q.Contributed != nil {
		return q.Contributed == nil || !*q.Contributed
	}
	return false
}

// Page is one page of a list or search.
type Page struct {
	Modules       []Outline
	Offset, Limit int
	// More is true when another page follows.
	More bool
	// Total counts every match, or is -1 when not counted.
	Total int
}

// scopeArgs is a policies.Scope as catalog queries take it (never nil
// arrays: PostgreSQL compares with NULL as unknown).
type scopeArgs struct {
	all, internal    bool
	projects, groups []int64
}

func argsOf(sc policies.Scope) scopeArgs {
	a := scopeArgs{all: sc.All, internal: sc.Internal, projects: sc.ProjectIDs, groups: sc.GroupIDs}
	if a.projects == nil {
		a.projects = []int64{}
	}
	if a.groups == nil {
		a.groups = []int64{}
	}
	return a
}

// plannedPerCall runs statements unprepared (pgx's describe-cached mode:
// still one round trip), so PostgreSQL plans each with its arguments. The
// catalog needs that: how many modules a scope or search word selects
// decides between index lookups and hash joins, and the generic plan of a
// prepared statement would guess (and page through ten thousand matches with
// index lookups).
type plannedPerCall struct{ db queries.DBTX }

func (d plannedPerCall) Exec(ctx context.Context, sql string, args ...any) (pgconn.CommandTag, error) {
	return d.db.Exec(ctx, sql, append([]any{pgx.QueryExecModeCacheDescribe}, args...)...)
}

func (d plannedPerCall) Query(ctx context.Context, sql string, args ...any) (pgx.Rows, error) {
	return d.db.Query(ctx, sql, append([]any{pgx.QueryExecModeCacheDescribe}, args...)...)
}

func (d plannedPerCall) QueryRow(ctx context.Context, sql string, args ...any) pgx.Row {
	return d.db.QueryRow(ctx, sql, append([]any{pgx.QueryExecModeCacheDescribe}, args...)...)
}

func (s *Service) catalog() *queries.Queries { return queries.New(plannedPerCall{s.db}) }

func clampPage(offset, limit int) (int, int) {
	return max(offset, 0), min(max(limit, 1), MaxPageSize)
}

func lowerAll(ss []string) []string {
	out := make([]string, 0, len(ss))
	for _, s := range ss {
		out = append(out, strings.ToLower(s))
	}
	return out
}

func nonNil(ss []string) []string {
	if ss == nil {
		return []string{}
	}
	return ss
}

// Search returns one page of the modules p may read that match q: ranked by
// relevance when q.Q has words (exact name, then name prefix, then text
// rank, then downloads), else in address order.
func (s *Service) Search(ctx context.Context, p *policies.Principal, q SearchQuery) (Page, error) {
	offset, limit := clampPage(q.Offset, q.Limit)
	page := Page{Modules: []Outline{}, Offset: offset, Limit: limit, Total: -1}
	sc := s.authz.ReadableScope(p)
	if sc.None || q.matchesNothing() {
		page.Total = 0
		return page, nil
	}
	if strings.TrimSpace(q.Q) == "" {
		return s.list(ctx, argsOf(sc), q, page)
	}
	list, err := s.ranked(ctx, q.Q, lowerAll(q.Namespaces), nonNil(q.Providers))
	if err != nil {
		return Page{}, fmt.Errorf("search modules: %w", err)
	}
	ids, total := readablePage(list, sc, offset, limit)
	page.Total = total
	page.More = offset+len(ids) < total
	if len(ids) == 0 {
		return page, nil
	}
	// By primary key: one plan fits every call, so it is prepared once
	// (planning per call, as the catalog's other queries are, costs more
	// than running it).
	rows, err := queries.New(s.db).CatalogModulesByID(ctx, ids)
	if err != nil {
		return Page{}, fmt.Errorf("search modules: %w", err)
	}
	byID := make(map[int64]queries.CatalogModule, len(rows))
	for _, r := range rows {
		byID[r.CatalogModule.ID] = r.CatalogModule
	}
	for _, id := range ids {
		// A module deleted since the ranking is left out of this page.
		if c, ok := byID[id]; ok {
			page.Modules = append(page.Modules, outlineOf(c))
		}
	}
	return page, nil
}

func (s *Service) list(ctx context.Context, a scopeArgs, q SearchQuery, page Page) (Page, error) {
	rows, err := s.catalog().CatalogList(ctx, queries.CatalogListParams{ScopeAll: a.all, ScopeInternal: a.internal,
		ScopeProjectIds: a.projects, ScopeGroupIds: a.groups, Namespaces: lowerAll(q.Namespaces), Name: q.Name,
		Systems: nonNil(q.Providers), RowOffset: int32(min(page.Offset, math.MaxInt32)), RowLimit: int32(page.Limit + 1)})
	if err != nil {
		return Page{}, fmt.Errorf("list modules: %w", err)
	}
	if len(rows) > page.Limit {
		rows, page.More = rows[:page.Limit], true
	}
	for _, r := range rows {
		page.Modules = append(page.Modules, outlineOf(r.CatalogModule))
	}
	switch {
	case !page.More && (len(rows) > 0 || page.Offset == 0):
		page.Total = page.Offset + len(rows)
	case q.WithTotal:
		n, err := s.catalog().CatalogCount(ctx, queries.CatalogCountParams{ScopeAll: a.all, ScopeInternal: a.internal,
			ScopeProjectIds: a.projects, ScopeGroupIds: a.groups, Namespaces: lowerAll(q.Namespaces), Name: q.Name,
			Systems: nonNil(q.Providers)})
		if err != nil {
			return Page{}, fmt.Errorf("count modules: %w", err)
		}
		page.Total = int(n)
	}
	return page, nil
}

// Facets counts what a search finds, per namespace and per provider.
type Facets struct {
	// Total counts every match.
	Total int64
	// Namespaces and Providers map each namespace path and system to its
	// matches.
	Namespaces map[string]int64
	Providers  map[string]int64
}

// Facets counts the modules p may read that a search for q finds (every
// module when q is blank), by namespace and system. The maps are shared:
// read-only.
func (s *Service) Facets(ctx context.Context, p *policies.Principal, q string) (Facets, error) {
	f := Facets{Namespaces: map[string]int64{}, Providers: map[string]int64{}}
	sc := s.authz.ReadableScope(p)
	if sc.None {
		return f, nil
	}
	if strings.TrimSpace(q) != "" {
		// What Search finds, counted from the same ranked list.
		list, err := s.ranked(ctx, q, []string{}, []string{})
		if err != nil {
			return Facets{}, fmt.Errorf("search facets: %w", err)
		}
		for _, m := range list {
			if sc.Readable(m.visibility, m.projectID, m.traversal) {
				f.Total++
				f.Namespaces[m.namespace]++
				f.Providers[m.system]++
			}
		}
		return f, nil
	}
	// Every readable module: an overview (shared, read-only maps).
	return overview(s, "facets", sc, func() (Facets, error) {
		a := argsOf(sc)
		rows, err := s.catalog().CatalogFacets(ctx, queries.CatalogFacetsParams{ScopeAll: a.all, ScopeInternal: a.internal,
			ScopeProjectIds: a.projects, ScopeGroupIds: a.groups})
		if err != nil {
			return Facets{}, fmt.Errorf("search facets: %w", err)
		}
		for _, r := range rows {
			f.Total += r.Modules
			f.Namespaces[r.Namespace] += r.Modules
			f.Providers[r.System] += r.Modules
		}
		return f, nil
	})
}

// Namespace is a namespace (top-level group) as the catalog lists it.
type Namespace struct {
	// Name is the group's path, DisplayName its name.
	Name        string
	DisplayName string
}

// Namespaces returns a page of the namespaces holding at least one module p
// may read, by path, and how many there are in all. limit <= 0 returns them
// all.
func (s *Service) Namespaces(ctx context.Context, p *policies.Principal, offset, limit int) ([]Namespace, int, error) {
	out := []Namespace{}
	sc := s.authz.ReadableScope(p)
	if sc.None {
		return out, 0, nil
	}
	rowLimit := int32(math.MaxInt32)
	if limit > 0 {
		rowLimit = int32(min(limit, math.MaxInt32))
	}
	a := argsOf(sc)
	params := queries.CatalogNamespacesParams{ScopeAll: a.all, ScopeInternal: a.internal, ScopeProjectIds: a.projects,
		ScopeGroupIds: a.groups, RowOffset: int32(min(max(offset, 0), math.MaxInt32)), RowLimit: rowLimit}
	rows, err := s.catalog().CatalogNamespaces(ctx, params)
	if err != nil {
		return nil, 0, fmt.Errorf("list namespaces: %w", err)
	}
	if len(rows) == 0 && params.RowOffset > 0 {
		params.RowOffset, params.RowLimit = 0, 1
		if rows, err = s.catalog().CatalogNamespaces(ctx, params); err != nil {
			return nil, 0, fmt.Errorf("list namespaces: %w", err)
		}
		if len(rows) == 0 {
			return out, 0, nil
		}
		return out, int(rows[0].Total), nil
	}
	total := 0
	for _, r := range rows {
		out = append(out, Namespace{Name: r.Namespace, DisplayName: r.DisplayName})
		total = int(r.Total)
	}
	return out, total, nil
}

// Stats are catalog totals.
type Stats struct {
	Namespaces, Modules, ModuleVersions, Downloads int64
}

// Stats totals the modules p may read: the namespaces holding one, the
// modules, their versions and downloads.
func (s *Service) Stats(ctx context.Context, p *policies.Principal) (Stats, error) {
	sc := s.authz.ReadableScope(p)
	if sc.None {
		return Stats{}, nil
	}
	return overview(s, "stats", sc, func() (Stats, error) {
		a := argsOf(sc)
		r, err := s.catalog().CatalogStats(ctx, queries.CatalogStatsParams{ScopeAll: a.all, ScopeInternal: a.internal,
			ScopeProjectIds: a.projects, ScopeGroupIds: a.groups})
		if err != nil {
			return Stats{}, fmt.Errorf("catalog stats: %w", err)
		}
		return Stats{Namespaces: r.Namespaces, Modules: r.Modules, ModuleVersions: r.ModuleVersions, Downloads: r.Downloads}, nil
	})
}

// Overviews (statistics, most recent, most downloaded) read every readable
// module: at 100,000 modules 50–100 ms each. They are cached per scope for
// overviewTTL, dropped with the lookups (every module change) and when this
// replica writes download counts.
const (
	overviewTTL = 30 * time.Second
	maxOverview = 1024
)

// found is an optional outline as the overview cache keeps it.
type found struct {
	outline Outline
	ok      bool
}

// overview returns kind for scope sc from the cache or fill.
func overview[T any](s *Service, kind string, sc policies.Scope, fill func() (T, error)) (T, error) {
	key := kind + "\x00" + scopeKey(sc)
	if v, ok := s.overviews.Get(key, time.Now()); ok {
		return v.(T), nil
	}
	gen := s.overviews.Generation()
	v, err := fill()
	if err != nil {
		return v, err
	}
	s.overviews.Put(gen, key, v, time.Now(), time.Time{})
	return v, nil
}

// scopeKey identifies what a scope may read.
func scopeKey(sc policies.Scope) string {
	p, g := slices.Clone(sc.ProjectIDs), slices.Clone(sc.GroupIDs)
	slices.Sort(p)
	slices.Sort(g)
	return fmt.Sprint(sc.All, sc.Internal, p, g)
}

// MostRecentlyPublished returns the module p may read whose latest version
// was published last, or false when p may read none.
func (s *Service) MostRecentlyPublished(ctx context.Context, p *policies.Principal) (Outline, bool, error) {
	sc := s.authz.ReadableScope(p)
	if sc.None {
		return Outline{}, false, nil
	}
	r, err := overview(s, "recent", sc, func() (found, error) {
		a := argsOf(sc)
		rows, err := s.catalog().CatalogMostRecent(ctx, queries.CatalogMostRecentParams{ScopeAll: a.all, ScopeInternal: a.internal,
			ScopeProjectIds: a.projects, ScopeGroupIds: a.groups})
		if err != nil || len(rows) == 0 {
			return found{}, err
		}
		return found{outlineOf(rows[0].CatalogModule), true}, nil
	})
	return r.outline, r.ok, err
}

// MostDownloadedThisWeek returns the module p may read downloaded most in
// the last seven days, or false when none was downloaded.
func (s *Service) MostDownloadedThisWeek(ctx context.Context, p *policies.Principal) (Outline, bool, error) {
	sc := s.authz.ReadableScope(p)
	if sc.None {
		return Outline{}, false, nil
	}
	r, err := overview(s, "downloaded", sc, func() (found, error) {
		a := argsOf(sc)
		rows, err := s.catalog().CatalogMostDownloadedThisWeek(ctx, queries.CatalogMostDownloadedThisWeekParams{ScopeAll: a.all,
			ScopeInternal: a.internal, ScopeProjectIds: a.projects, ScopeGroupIds: a.groups})
		if err != nil || len(rows) == 0 {
			return found{}, err
		}
		return found{outlineOf(rows[0].CatalogModule), true}, nil
	})
	return r.outline, r.ok, err
}

// VersionInfo is what a details page shows of one version beside its
// metadata (Docs).
type VersionInfo struct {
	// Description and Owner follow the rules of the search document:
	// terrareg.json's, else (Description) the README's first line of prose.
	Description string
	Owner       string
	// Downloads counts every download of the module.
	Downloads int64
	// Summary is the module's DownloadSummary (PageInfo only).
	Summary DownloadSummary
}

// VersionInfo reads what a details page shows of version v. The caller has
// authorised the module (Find).
func (s *Service) VersionInfo(ctx context.Context, v Version) (VersionInfo, error) {
	return s.versionInfo(ctx, v, false)
}

// PageInfo is VersionInfo with the module's DownloadSummary, in one query
// (a module page's head).
func (s *Service) PageInfo(ctx context.Context, v Version) (VersionInfo, error) {
	return s.versionInfo(ctx, v, true)
}

func (s *Service) versionInfo(ctx context.Context, v Version, summary bool) (VersionInfo, error) {
	r, err := queries.New(s.db).CatalogVersionInfo(ctx, queries.CatalogVersionInfoParams{VersionID: v.ID, WithSummary: summary})
	if err != nil {
		return VersionInfo{}, fmt.Errorf("version %d details: %w", v.ID, err)
	}
	info := VersionInfo{Description: r.Description, Owner: r.Owner, Downloads: r.Downloads}
	if summary {
		info.Summary = DownloadSummary{Week: r.Week, Month: r.Month, Year: r.Year, Total: r.Total}
	}
	return info, nil
}

// Narrowed pages q's modules of one namespace (and, if given, one name) in
// address order, and reports whether p may read any module there (a page
// past the last is still found): nothing readable means the namespace or
// module does not exist for p.
func (s *Service) Narrowed(ctx context.Context, p *policies.Principal, q SearchQuery, namespace, name string) (Page, bool, error) {
	q.Namespaces, q.Name, q.Q = []string{namespace}, name, ""
	page, err := s.Search(ctx, p, q)
	if err != nil || len(page.Modules) > 0 {
		return page, err == nil, err
	}
	if page.Offset > 0 {
		first, err := s.Search(ctx, p, SearchQuery{Namespaces: q.Namespaces, Name: q.Name, Limit: 1})
		return page, len(first.Modules) > 0, err
	}
	return page, false, nil
}

// VisibleNamespaces returns a page of every namespace (top-level group) p
// may see, with or without modules, by path (Terrareg's namespaces with
// only_published=false), and how many there are; limit 0 returns them all.
func (s *Service) VisibleNamespaces(ctx context.Context, p *policies.Principal, offset, limit int) ([]Namespace, int, error) {
	groups, err := s.tenancy.ListGroups(ctx, p, "", true, math.MaxInt32, 0)
	if err != nil {
		return nil, 0, fmt.Errorf("list namespaces: %w", err)
	}
	all := make([]Namespace, 0, len(groups))
	for _, g := range groups {
		all = append(all, Namespace{Name: g.FullPath, DisplayName: g.Name})
	}
	slices.SortFunc(all, func(a, b Namespace) int { return strings.Compare(strings.ToLower(a.Name), strings.ToLower(b.Name)) })
	page := all[min(max(offset, 0), len(all)):]
	if limit > 0 {
		page = page[:min(limit, len(page))]
	}
	return page, len(all), nil
}
