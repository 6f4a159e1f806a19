// Package modules publishes and serves Terraform module versions: uploads
// are streamed into the blob store while being validated, metadata is
// extracted once, and a version becomes visible only when its blob is
// durable and its row committed. Lookups go through the tenancy service's
// authorization, and "latest" is always decided by modules/version.
package modules

import (
	"context"
	"errors"
	"fmt"
	"regexp"
	"strings"

	"github.com/jackc/pgx/v5"
	"github.com/jackc/pgx/v5/pgxpool"

	"github.com/cairn-registry/cairn/blobs"
	"github.com/cairn-registry/cairn/modules/archive"
	"github.com/cairn-registry/cairn/modules/version"
	"github.com/cairn-registry/cairn/policies"
	"github.com/cairn-registry/cairn/projects"
	"github.com/cairn-registry/cairn/queries"
)

// Errors beyond the tenancy refusals (projects.ErrNotFound etc.).
var (
	// ErrInvalidName: name or system do not match GitLab's pattern (422).
	ErrInvalidName = errors.New("Validation failed: Name is invalid")
	// ErrInvalid: a bad version, missing file or bad archive (400); the
	// message says which.
	ErrInvalid = errors.New("invalid upload")
	// ErrTooLarge: the archive exceeds the upload limit (400).
	ErrTooLarge = errors.New("File is too large")
	// ErrDuplicate: the version or name is already taken (403, GitLab's status).
	ErrDuplicate = errors.New("duplicate module")
)

// Message is the human part of an error from this package.
func Message(err error) string {
	s := err.Error()
	for _, k := range []error{ErrInvalid, ErrDuplicate} {
		s = strings.TrimPrefix(s, k.Error()+": ")
	}
	return s
}

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
	maxUpload int64
	limits    archive.Limits
}

// New returns the module service; maxUpload bounds one archive in bytes.
func New(db *pgxpool.Pool, store blobs.Store, tenancy *projects.Service, maxUpload int64) *Service {
	lim := archive.DefaultLimits()
	if lim.MaxTotalSize < maxUpload {
		lim.MaxTotalSize = maxUpload
	}
	return &Service{db: db, blobs: store, tenancy: tenancy, authz: tenancy.Authorizer(), maxUpload: maxUpload, limits: lim}
}

// Blobs is the store archives live in.
func (s *Service) Blobs() blobs.Store { return s.blobs }

// Module is one module version set as every read surface sees it.
type Module struct {
	queries.ModulesInNamespaceRow
	Namespace string
	Versions  []queries.ModuleVersion // in the order stored
	Resource  policies.Resource
}

// Latest returns the latest version by semantic-version order (releases
// above pre-releases), or false when there is none.
func (m *Module) Latest() (queries.ModuleVersion, bool) {
	vs := make([]version.Version, 0, len(m.Versions))
	byString := map[string]queries.ModuleVersion{}
	for _, v := range m.Versions {
		pv, err := version.Parse(v.Version)
		if err != nil {
			continue
		}
		vs = append(vs, pv)
		byString[pv.String()] = v
	}
	latest, ok := version.Latest(vs, false)
	if !ok {
		return queries.ModuleVersion{}, false
	}
	return byString[latest.String()], true
}

// SortedVersions returns the versions newest first by semantic version.
func (m *Module) SortedVersions() []queries.ModuleVersion {
	vs := make([]version.Version, 0, len(m.Versions))
	byString := map[string]queries.ModuleVersion{}
	for _, v := range m.Versions {
		if pv, err := version.Parse(v.Version); err == nil {
			vs = append(vs, pv)
			byString[pv.String()] = v
		}
	}
	version.SortDescending(vs)
	out := make([]queries.ModuleVersion, len(vs))
	for i, v := range vs {
		out[i] = byString[v.String()]
	}
	return out
}

// Find resolves namespace/name/system to the module p may read, searching
// every project of the namespace's group tree. Missing and unreadable look
// the same (policies.NotFound) unless p can see the project but lacks
// package read access (403).
func (s *Service) Find(ctx context.Context, p *policies.Principal, namespace, name, system string) (*Module, error) {
	q := queries.New(s.db)
	ns, err := q.GetGroupByPath(ctx, namespace)
	if err != nil || ns.ParentID != nil || strings.Contains(namespace, "/") {
		return nil, policies.NotFound(p)
	}
	rows, err := q.ModulesInNamespace(ctx, queries.ModulesInNamespaceParams{NamespaceID: ns.ID, Name: name, System: system})
	if err != nil {
		return nil, err
	}
	var firstRefusal error
	for _, row := range rows {
		proj, err := q.GetProject(ctx, row.ProjectID)
		if err != nil {
			return nil, err
		}
		r, err := s.tenancy.ProjectResource(ctx, proj)
		if err != nil {
			return nil, err
		}
		if err := s.authz.Check(p, policies.ReadPackage, r); err != nil {
			if firstRefusal == nil || errors.Is(err, policies.ErrForbidden) {
				firstRefusal = err
			}
			continue
		}
		versions, err := q.ListModuleVersions(ctx, row.ID)
		if err != nil {
			return nil, err
		}
		return &Module{ModulesInNamespaceRow: row, Namespace: ns.FullPath, Versions: versions, Resource: r}, nil
	}
	if firstRefusal != nil {
		return nil, firstRefusal
	}
	return nil, policies.NotFound(p)
}

// FindInProject resolves a module of one project (GitLab's project-level
// routes); the project is given by id or full path.
func (s *Service) FindInProject(ctx context.Context, p *policies.Principal, projectRef, name, system string) (*Module, error) {
	proj, r, err := s.tenancy.FindProject(ctx, p, projectRef)
	if err != nil {
		return nil, err
	}
	if err := s.authz.Check(p, policies.ReadPackage, r); err != nil {
		return nil, err
	}
	q := queries.New(s.db)
	m, err := q.GetModuleInProject(ctx, queries.GetModuleInProjectParams{ProjectID: proj.ID, Name: name, System: system})
	if errors.Is(err, pgx.ErrNoRows) {
		return nil, policies.ErrNotFound
	} else if err != nil {
		return nil, err
	}
	ns, err := q.GetGroup(ctx, m.NamespaceID)
	if err != nil {
		return nil, err
	}
	versions, err := q.ListModuleVersions(ctx, m.ID)
	if err != nil {
		return nil, err
	}
	row := queries.ModulesInNamespaceRow{ID: m.ID, ProjectID: m.ProjectID, NamespaceID: m.NamespaceID, Name: m.Name,
		System: m.System, LatestVersionID: m.LatestVersionID, CreatedAt: m.CreatedAt, ProjectPath: proj.FullPath,
		ProjectVisibility: proj.Visibility, ProjectGroupID: proj.GroupID}
	return &Module{ModulesInNamespaceRow: row, Namespace: ns.FullPath, Versions: versions, Resource: r}, nil
}

// Version returns one version of m by its exact string.
func (m *Module) Version(v string) (queries.ModuleVersion, bool) {
	for _, mv := range m.Versions {
		if mv.Version == v {
			return mv, true
		}
	}
	return queries.ModuleVersion{}, false
}

// CountDownload adds one download of a version to today's counter.
func (s *Service) CountDownload(ctx context.Context, versionID int64) error {
	return queries.New(s.db).CountDownload(ctx, versionID)
}

// DownloadSummary aggregates a module's downloads.
func (s *Service) DownloadSummary(ctx context.Context, moduleID int64) (queries.ModuleDownloadSummaryRow, error) {
	return queries.New(s.db).ModuleDownloadSummary(ctx, moduleID)
}

func invalidf(format string, args ...any) error {
	return fmt.Errorf("%w: %s", ErrInvalid, fmt.Sprintf(format, args...))
}

// ArchiveByToken finds a version for the archive endpoint, which terraform
// calls without credentials: valid(blobKey) checks the signed token. Unknown
// modules and bad tokens are indistinguishable (policies.ErrForbidden).
func (s *Service) ArchiveByToken(ctx context.Context, namespace, name, system, ver string, valid func(blobKey string) bool) (queries.ModuleVersion, *Module, error) {
	q := queries.New(s.db)
	ns, err := q.GetGroupByPath(ctx, namespace)
	if err != nil || ns.ParentID != nil {
		return queries.ModuleVersion{}, nil, policies.ErrForbidden
	}
	rows, err := q.ModulesInNamespace(ctx, queries.ModulesInNamespaceParams{NamespaceID: ns.ID, Name: name, System: system})
	if err != nil {
		return queries.ModuleVersion{}, nil, err
	}
	for _, row := range rows {
		v, err := q.GetModuleVersion(ctx, queries.GetModuleVersionParams{ModuleID: row.ID, Version: ver})
		if errors.Is(err, pgx.ErrNoRows) {
			continue
		} else if err != nil {
			return queries.ModuleVersion{}, nil, err
		}
		if valid(v.BlobKey) {
			return v, &Module{ModulesInNamespaceRow: row, Namespace: ns.FullPath}, nil
		}
	}
	return queries.ModuleVersion{}, nil, policies.ErrForbidden
}
