// Package modules publishes and serves Terraform module versions: uploads
// are streamed into the blob store while being validated, metadata is
// extracted once, and a version becomes visible only when its blob is
// durable and its row committed. Lookups go through the tenancy service's
// authorization, and "latest" is always decided by modules/version.
package modules

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"regexp"
	"slices"
	"time"
	"unique"

	"github.com/jackc/pgx/v5"
	"github.com/jackc/pgx/v5/pgxpool"
	"golang.org/x/sync/singleflight"

	"github.com/cairn-registry/cairn/blobs"
	"github.com/cairn-registry/cairn/errs"
	"github.com/cairn-registry/cairn/internal/cache"
	"github.com/cairn-registry/cairn/modules/archive"
	"github.com/cairn-registry/cairn/modules/version"
	"github.com/cairn-registry/cairn/policies"
	"github.com/cairn-registry/cairn/projects"
	"github.com/cairn-registry/cairn/queries"
)

// Publishing refuses with errs kinds; the field says which part of the
// upload is at fault, so each surface can word it its own way:
//   - Invalid "name": name or system do not match GitLab's pattern;
//   - Invalid "version": not a strict semantic version (or empty);
//   - Invalid "file": missing, not an archive, or an archive that breaks a rule;
//   - TooLarge "file": over the upload limit;
//   - Conflict "version": this version exists in the project;
//   - Conflict "name": the name belongs to another project of the namespace.

var namePattern = regexp.MustCompile(`^[-a-z0-9]+$`)

// ValidName reports whether name/system match GitLab's
// \A[-a-z0-9]+\/[-a-z0-9]+\z.
func ValidName(name, system string) bool {
	return namePattern.MatchString(name) && namePattern.MatchString(system)
}

// Service is the module registry.
type Service struct {
	db        *pgxpool.Pool
	blobs     blobs.Store
	tenancy   *projects.Service
	authz     *policies.Authorizer
	links     *Links
	maxUpload int64
	limits    archive.Limits
	counter   *downloadCounter
	lookups   *cache.Cache[string, []*Module]
	// systems are the systems of each namespace/name (Systems).
	systems *cache.Cache[string, []string]
	// rankings are searches' ranked matches per query (ranked.go).
	rankings      *cache.Cache[string, []rankedMatch]
	rankingFlight singleflight.Group
	// overviews are catalog statistics and highlights per scope.
	overviews *cache.Cache[string, any]
	// autoPublish publishes Terrareg uploads at once.
	autoPublish bool
	// analytics buffers Terrareg's module analytics (analytics.go);
	// gitProviders are CAIRN_GIT_PROVIDERS.
	analytics    analyticsBuffer
	gitProviders []GitProvider
}

// New returns the module service; maxUpload bounds one archive in bytes and
// links signs archive URLs.
func New(db *pgxpool.Pool, store blobs.Store, tenancy *projects.Service, links *Links, maxUpload int64) *Service {
	lim := archive.DefaultLimits()
	if lim.MaxTotalSize < maxUpload {
		lim.MaxTotalSize = maxUpload
	}
	return &Service{db: db, blobs: store, tenancy: tenancy, authz: tenancy.Authorizer(), links: links, maxUpload: maxUpload, limits: lim,
		counter: newDownloadCounter(), lookups: cache.New[string, []*Module](lookupTTL, maxCachedLookups),
		systems:   cache.New[string, []string](lookupTTL, maxCachedLookups),
		rankings:  cache.New[string, []rankedMatch](rankedTTL, maxRankedQueries),
		overviews: cache.New[string, any](overviewTTL, maxOverview)}
}

// Blobs is the store archives live in.
func (s *Service) Blobs() blobs.Store { return s.blobs }

// Provider is a provider a version requires (from its required_providers).
type Provider struct {
	Name    string `json:"name"`
	Source  string `json:"source"`
	Version string `json:"version"`
}

// Version is one published version as lookups return it (metadata, which
// can be large, is read separately with Metadata).
type Version struct {
	ID            int64      `json:"id"`
	Version       string     `json:"version"`
	IsPrerelease  bool       `json:"is_prerelease"`
	BlobKey       string     `json:"blob_key"`
	ArchiveFormat string     `json:"archive_format"`
	Sha256        string     `json:"sha256"`
	Size          int64      `json:"size"`
	Providers     []Provider `json:"providers"`
	PublishedBy   string     `json:"published_by"`
	// Published is false for a version uploaded through Terrareg's upload
	// path until it is published (see Service.PublishVersion).
	Published bool      `json:"published"`
	CreatedAt time.Time `json:"created_at"`
}

// Module is a module and its versions as every read surface sees it.
type Module struct {
	ID                int64
	ProjectID         int64
	NamespaceID       int64
	Name              string
	System            string
	Namespace         string // top-level group path
	ProjectPath       string
	ProjectVisibility string
	CreatedAt         time.Time
	// Versions are the published versions, in publication order: what
	// every read surface serves.
	Versions []Version
	// Unpublished are the versions awaiting publication (Terrareg's
	// upload), shown to maintainers only.
	Unpublished []Version
	// Settings are Terrareg's module provider settings.
	Settings Settings
	// Redirected reports that the lookup's address is one the module was
	// moved away from (a redirect still in place).
	Redirected bool
	Resource   policies.Resource

	// ordered, when set (lookups set it once, as cached modules are never
	// changed), holds SortedVersions and Latest so hot paths do not parse
	// and sort versions per request.
	ordered *versionOrder
}

type versionOrder struct {
	sorted    []Version
	latest    Version
	hasLatest bool
}

// WithUnpublished returns a copy of m whose Versions also hold the
// unpublished ones (for maintainers' lists).
func (m *Module) WithUnpublished() *Module {
	all := *m
	all.Versions = append(slices.Clone(m.Versions), m.Unpublished...)
	all.ordered = nil
	return &all
}

// order computes m's version order once; m must not change afterwards.
func (m *Module) order() {
	o := &versionOrder{sorted: m.sortVersions()}
	o.latest, o.hasLatest = m.latestVersion()
	m.ordered = o
}

// Settings are Terrareg's per-module-provider settings (nil: unset).
type Settings struct {
	GitProviderID         *int64
	RepoBaseURLTemplate   *string
	RepoCloneURLTemplate  *string
	RepoBrowseURLTemplate *string
	GitTagFormat          *string
	GitPath               *string
	ArchiveGitPath        bool
	Verified              bool
}

// modulesFromRows assembles the modules of a lookup from its rows (one per
// version, grouped by module). Identical provider lists are decoded once
// and shared, as are the small repeated strings: cached lookups stay small.
func modulesFromRows(rows []queries.ModulesInNamespaceRow) ([]*Module, error) {
	var mods []*Module
	providers := map[string][]Provider{}
	for _, row := range rows {
		if len(mods) == 0 || mods[len(mods)-1].ID != row.ID {
			mods = append(mods, &Module{ID: row.ID, ProjectID: row.ProjectID, NamespaceID: row.NamespaceID, Name: row.Name, System: row.System,
				Namespace: row.NamespacePath, ProjectPath: row.ProjectPath, ProjectVisibility: row.ProjectVisibility, CreatedAt: row.CreatedAt,
				Resource:   policies.ProjectResourceOf(row.ProjectID, policies.Visibility(row.ProjectVisibility), row.GroupTraversalIds),
				Redirected: row.Redirected,
				Settings: Settings{GitProviderID: row.GitProviderID, RepoBaseURLTemplate: row.RepoBaseUrlTemplate,
					RepoCloneURLTemplate: row.RepoCloneUrlTemplate, RepoBrowseURLTemplate: row.RepoBrowseUrlTemplate,
					GitTagFormat: row.GitTagFormat, GitPath: row.GitPath, ArchiveGitPath: row.ArchiveGitPath, Verified: row.Verified}})
		}
		if row.VersionID == nil {
			continue // a module without versions
		}
		m := mods[len(mods)-1]
		provs, ok := providers[string(row.Providers)]
		if !ok {
			if err := json.Unmarshal(row.Providers, &provs); err != nil {
				return nil, fmt.Errorf("module %d version %d providers: %w", row.ID, *row.VersionID, err)
			}
			providers[string(row.Providers)] = provs
		}
		v := Version{ID: *row.VersionID, Version: unique.Make(*row.Version).Value(), IsPrerelease: *row.IsPrerelease,
			BlobKey: *row.BlobKey, ArchiveFormat: unique.Make(*row.ArchiveFormat).Value(), Sha256: *row.Sha256, Size: *row.Size,
			Providers: provs, PublishedBy: unique.Make(*row.PublishedBy).Value(), Published: *row.Published, CreatedAt: *row.VersionCreatedAt}
		if v.Published {
			m.Versions = append(m.Versions, v)
		} else {
			m.Unpublished = append(m.Unpublished, v)
		}
	}
	for _, m := range mods {
		m.order()
	}
	return mods, nil
}

// AnyVersion returns one version of m by its exact string, published or
// not (for maintainers: publish, delete, details).
func (m *Module) AnyVersion(v string) (Version, bool) {
	if mv, ok := m.Version(v); ok {
		return mv, true
	}
	for _, mv := range m.Unpublished {
		if mv.Version == v {
			return mv, true
		}
	}
	return Version{}, false
}

// LatestRelease is Terrareg's latest: the newest published version that
// is not a pre-release ("beta" versions never become latest there).
func (m *Module) LatestRelease() (Version, bool) {
	vs, byString := m.parsed()
	var out []version.Version
	for _, v := range vs {
		if !byString[v.String()].IsPrerelease {
			out = append(out, v)
		}
	}
	latest, ok := version.Latest(out, false)
	if !ok {
		return Version{}, false
	}
	return byString[latest.String()], true
}

// parsed returns m's versions parsed (unparseable ones skipped) and a map
// back from each parsed version's string to its Version.
func (m *Module) parsed() ([]version.Version, map[string]Version) {
	vs := make([]version.Version, 0, len(m.Versions))
	byString := make(map[string]Version, len(m.Versions))
	for _, v := range m.Versions {
		if pv, err := version.Parse(v.Version); err == nil {
			vs = append(vs, pv)
			byString[pv.String()] = v
		}
	}
	return vs, byString
}

// Latest returns the latest version by semantic-version order (releases
// above pre-releases), or false when there is none.
func (m *Module) Latest() (Version, bool) {
	if m.ordered != nil {
		return m.ordered.latest, m.ordered.hasLatest
	}
	return m.latestVersion()
}

func (m *Module) latestVersion() (Version, bool) {
	vs, byString := m.parsed()
	latest, ok := version.Latest(vs, false)
	if !ok {
		return Version{}, false
	}
	return byString[latest.String()], true
}

// SortedVersions returns the versions newest first by semantic version.
func (m *Module) SortedVersions() []Version {
	if m.ordered != nil {
		return slices.Clone(m.ordered.sorted)
	}
	return m.sortVersions()
}

func (m *Module) sortVersions() []Version {
	vs, byString := m.parsed()
	version.SortDescending(vs)
	out := make([]Version, len(vs))
	for i, v := range vs {
		out[i] = byString[v.String()]
	}
	return out
}

// Version returns one version of m by its exact string.
func (m *Module) Version(v string) (Version, bool) {
	for _, mv := range m.Versions {
		if mv.Version == v {
			return mv, true
		}
	}
	return Version{}, false
}

// Find resolves namespace/name/system to the module p may read, searching
// every project of the namespace's group tree, in one query. Missing and
// unreadable look the same (policies.NotFound) unless p can see the project
// but lacks package read access (403).
func (s *Service) Find(ctx context.Context, p *policies.Principal, namespace, name, system string) (*Module, error) {
	mods, err := s.lookup(ctx, namespace, name, system)
	if err != nil {
		return nil, err
	}
	var firstRefusal error
	for _, m := range mods {
		if err := s.authz.Check(p, policies.ReadPackage, m.Resource); err != nil {
			if firstRefusal == nil || errors.Is(err, policies.ErrForbidden) {
				firstRefusal = err
			}
			continue
		}
		return m, nil
	}
	if firstRefusal != nil {
		return nil, firstRefusal
	}
	return nil, policies.NotFound(p)
}

// FindInProject resolves a module of one project (GitLab's project-level
// routes) that p may read.
func (s *Service) FindInProject(ctx context.Context, p *policies.Principal, proj projects.Project, name, system string) (*Module, error) {
	if err := s.authz.Check(p, policies.ReadPackage, proj.Resource()); err != nil {
		return nil, err
	}
	q := queries.New(s.db)
	mod, err := q.GetModuleInProject(ctx, queries.GetModuleInProjectParams{ProjectID: proj.ID, Name: name, System: system})
	if errors.Is(err, pgx.ErrNoRows) {
		return nil, errs.ErrNotFound
	} else if err != nil {
		return nil, err
	}
	ns, err := q.GetGroup(ctx, mod.NamespaceID)
	if err != nil {
		return nil, err
	}
	mods, err := s.lookup(ctx, ns.FullPath, name, system)
	if err != nil {
		return nil, err
	}
	for _, m := range mods {
		if m.ID == mod.ID {
			return m, nil
		}
	}
	return nil, errs.ErrNotFound
}

// Metadata returns a version's extracted metadata (JSON), or nil.
func (s *Service) Metadata(ctx context.Context, versionID int64) (json.RawMessage, error) {
	return queries.New(s.db).GetVersionMetadata(ctx, versionID)
}

// CountDownload adds one download of a version to today's counter. Counts
// are buffered in memory and written in batches (see RunCounter).
func (s *Service) CountDownload(versionID int64) { s.counter.add(versionID) }

// DownloadSummary counts a module's downloads over the last week, month
// and year, and in total.
type DownloadSummary struct {
	Week, Month, Year, Total int64
}

// DownloadSummary aggregates a module's downloads.
func (s *Service) DownloadSummary(ctx context.Context, moduleID int64) (DownloadSummary, error) {
	r, err := queries.New(s.db).ModuleDownloadSummary(ctx, moduleID)
	return DownloadSummary{Week: r.Week, Month: r.Month, Year: r.Year, Total: r.Total}, err
}

// fileError is a refused upload file.
func fileError(format string, args ...any) error {
	return errs.Field(errs.Invalid, "file", format, args...)
}
