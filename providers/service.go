// Package providers is Cairn's private provider registry: a provider
// namespace/type (the namespace is a top-level group) is owned by a
// project; a version carries its plugin protocols, the GPG key that signed
// it, a SHA256SUMS file and its detached signature; a platform is one
// os/arch zip. GPG public keys belong to namespaces.
//
// Everything is verified when it is published, never when it is installed:
// the signature must verify over SHA256SUMS with the version's key (a key
// of the provider's namespace), every platform's sha256 must be listed in
// SHA256SUMS under its filename, a zip must be a zip whose sha256 is the
// one announced. A refused upload stores nothing. A version is visible to
// installers only once it is complete (SHA256SUMS, signature and at least
// one platform zip).
package providers

import (
	"context"
	"encoding/json"
	"fmt"
	"regexp"
	"time"

	"github.com/jackc/pgx/v5/pgxpool"

	"github.com/cairn-registry/cairn/blobs"
	"github.com/cairn-registry/cairn/errs"
	"github.com/cairn-registry/cairn/internal/cache"
	"github.com/cairn-registry/cairn/modules"
	"github.com/cairn-registry/cairn/modules/version"
	"github.com/cairn-registry/cairn/policies"
	"github.com/cairn-registry/cairn/projects"
	"github.com/cairn-registry/cairn/queries"
	"github.com/cairn-registry/cairn/tokens"
)

// BlobPrefix is where provider files live in the blob store.
const BlobPrefix = "providers/"

// Limits on the small files of a release.
const (
	maxShasumsBytes   = 1 << 20
	maxSignatureBytes = 64 << 10
)

var (
	namePattern     = regexp.MustCompile(`^[a-z0-9][a-z0-9-]*$`)
	platformPattern = regexp.MustCompile(`^[a-z0-9][a-z0-9_]*$`)
	protocolPattern = regexp.MustCompile(`^[0-9]+(\.[0-9]+)?$`)
	filenamePattern = regexp.MustCompile(`^[A-Za-z0-9][A-Za-z0-9._+-]*\.zip$`)
	sha256Pattern   = regexp.MustCompile(`^[0-9a-f]{64}$`)
)

// Service is the provider registry.
type Service struct {
	db        *pgxpool.Pool
	blobs     blobs.Store
	tenancy   *projects.Service
	authz     *policies.Authorizer
	signer    *tokens.DownloadSigner
	publicURL string
	maxUpload int64
	modules   *modules.Service
	lookups   *cache.Cache[string, *Provider]
	keys      *cache.Cache[string, Key]
}

// New returns the provider service: files are stored in store (each at
// most maxUpload bytes) and served through URLs under publicURL signed by
// signer.
func New(db *pgxpool.Pool, store blobs.Store, tenancy *projects.Service, signer *tokens.DownloadSigner, publicURL string, maxUpload int64) *Service {
	return &Service{db: db, blobs: store, tenancy: tenancy, authz: tenancy.Authorizer(), signer: signer, publicURL: publicURL, maxUpload: maxUpload,
		lookups: cache.New[string, *Provider](lookupTTL, maxLookups), keys: cache.New[string, Key](lookupTTL, maxLookups)}
}

// Blobs is the store provider files live in.
func (s *Service) Blobs() blobs.Store { return s.blobs }

// Platform is one os/arch build of a version. BlobKey is nil until its zip
// has been uploaded and verified.
type Platform struct {
	ID        int64     `json:"id"`
	OS        string    `json:"os"`
	Arch      string    `json:"arch"`
	Filename  string    `json:"filename"`
	Sha256    string    `json:"sha256"`
	BlobKey   *string   `json:"blob_key"`
	Size      int64     `json:"size"`
	H1        string    `json:"h1"`
	CreatedAt time.Time `json:"created_at"`
}

// Uploaded reports whether the platform's zip is stored.
func (p Platform) Uploaded() bool { return p.BlobKey != nil }

// Version is one version of a provider with its platforms.
type Version struct {
	ID                int64      `json:"id"`
	Version           string     `json:"version"`
	KeyID             string     `json:"key_id"`
	Protocols         []string   `json:"protocols"`
	Shasums           *string    `json:"shasums"`
	ShasumsBlobKey    *string    `json:"shasums_blob_key"`
	ShasumsSigBlobKey *string    `json:"shasums_sig_blob_key"`
	PublishedBy       string     `json:"published_by"`
	CreatedAt         time.Time  `json:"created_at"`
	UpdatedAt         time.Time  `json:"updated_at"`
	Platforms         []Platform `json:"platforms"`
}

// ShasumsUploaded and SignatureUploaded report the version's files.
func (v Version) ShasumsUploaded() bool   { return v.ShasumsBlobKey != nil }
func (v Version) SignatureUploaded() bool { return v.ShasumsSigBlobKey != nil }

// Complete reports whether installers may see the version: SHA256SUMS, its
// signature and at least one platform zip are stored.
func (v Version) Complete() bool {
	if !v.ShasumsUploaded() || !v.SignatureUploaded() {
		return false
	}
	for _, p := range v.Platforms {
		if p.Uploaded() {
			return true
		}
	}
	return false
}

// Platform returns the version's os/arch platform.
func (v Version) Platform(os, arch string) (Platform, bool) {
	for _, p := range v.Platforms {
		if p.OS == os && p.Arch == arch {
			return p, true
		}
	}
	return Platform{}, false
}

// UploadedPlatforms are the platforms whose zip is stored.
func (v Version) UploadedPlatforms() []Platform {
	out := []Platform{}
	for _, p := range v.Platforms {
		if p.Uploaded() {
			out = append(out, p)
		}
	}
	return out
}

// Provider is a provider and all its versions.
type Provider struct {
	ID                int64
	ProjectID         int64
	NamespaceID       int64
	Namespace         string // top-level group path
	Name              string // the provider type
	ProjectPath       string
	ProjectVisibility string
	CreatedAt         time.Time
	UpdatedAt         time.Time
	Versions          []Version // in creation order
	Resource          policies.Resource
}

// Version returns one version by its exact string.
func (p *Provider) Version(v string) (Version, bool) {
	for _, pv := range p.Versions {
		if pv.Version == v {
			return pv, true
		}
	}
	return Version{}, false
}

// CompleteVersions are the versions installers see, newest first by
// semantic version.
func (p *Provider) CompleteVersions() []Version {
	return sortDescending(p.Versions, true)
}

// SortedVersions are all versions, newest first.
func (p *Provider) SortedVersions() []Version { return sortDescending(p.Versions, false) }

func sortDescending(in []Version, completeOnly bool) []Version {
	vs := []version.Version{}
	by := map[string]Version{}
	for _, v := range in {
		if completeOnly && !v.Complete() {
			continue
		}
		if pv, err := version.Parse(v.Version); err == nil {
			vs = append(vs, pv)
			by[pv.String()] = v
		}
	}
	version.SortDescending(vs)
	out := make([]Version, len(vs))
	for i, v := range vs {
		out[i] = by[v.String()]
	}
	return out
}

// Latest is the latest complete release (pre-releases only if nothing
// else), or false.
func (p *Provider) Latest() (Version, bool) {
	vs := []version.Version{}
	by := map[string]Version{}
	for _, v := range p.Versions {
		if pv, err := version.Parse(v.Version); err == nil && v.Complete() {
			vs = append(vs, pv)
			by[pv.String()] = v
		}
	}
	l, ok := version.Latest(vs, false)
	if !ok {
		l, ok = version.Latest(vs, true)
	}
	if !ok {
		return Version{}, false
	}
	return by[l.String()], true
}

func providerFromRow(row queries.ListProvidersRow) (*Provider, error) {
	p := &Provider{ID: row.ID, ProjectID: row.ProjectID, NamespaceID: row.NamespaceID, Namespace: row.NamespacePath, Name: row.Name,
		ProjectPath: row.ProjectPath, ProjectVisibility: row.ProjectVisibility, CreatedAt: row.CreatedAt, UpdatedAt: row.UpdatedAt,
		Resource: policies.ProjectResourceOf(row.ProjectID, policies.Visibility(row.ProjectVisibility), row.GroupTraversalIds)}
	if err := json.Unmarshal(row.Versions, &p.Versions); err != nil {
		return nil, fmt.Errorf("provider %d versions: %w", row.ID, err)
	}
	return p, nil
}

func (s *Service) load(ctx context.Context, namespace, name, q *string) ([]*Provider, error) {
	rows, err := queries.New(s.db).ListProviders(ctx, queries.ListProvidersParams{Namespace: namespace, Name: name, Q: q})
	if err != nil {
		return nil, err
	}
	out := make([]*Provider, 0, len(rows))
	for _, r := range rows {
		p, err := providerFromRow(r)
		if err != nil {
			return nil, err
		}
		out = append(out, p)
	}
	return out, nil
}

// Find returns namespace/name if p may read it. Missing and unreadable
// look the same unless p sees the project but may not read packages.
func (s *Service) Find(ctx context.Context, p *policies.Principal, namespace, name string) (*Provider, error) {
	pr, err := s.lookup(ctx, namespace, name)
	if err != nil {
		return nil, err
	}
	if pr == nil {
		return nil, policies.NotFound(p)
	}
	if err := s.authz.Check(p, policies.ReadPackage, pr.Resource); err != nil {
		return nil, err
	}
	return pr, nil
}

// ListQuery narrows List.
type ListQuery struct {
	// Namespace keeps one namespace's providers; Q those whose
	// "namespace/name" contains it (case-insensitive).
	Namespace, Q string
}

// List returns the providers p may read, by namespace then name.
func (s *Service) List(ctx context.Context, p *policies.Principal, q ListQuery) ([]*Provider, error) {
	var ns, text *string
	if q.Namespace != "" {
		ns = &q.Namespace
	}
	if q.Q != "" {
		text = &q.Q
	}
	all, err := s.load(ctx, ns, nil, text)
	if err != nil {
		return nil, err
	}
	out := []*Provider{}
	for _, pr := range all {
		if s.authz.Can(p, policies.ReadPackage, pr.Resource) {
			out = append(out, pr)
		}
	}
	return out, nil
}

// namespace resolves a top-level group p may see.
func (s *Service) namespace(ctx context.Context, p *policies.Principal, path string) (projects.Group, error) {
	g, err := s.tenancy.GroupByPath(ctx, p, path)
	if err != nil {
		return projects.Group{}, err
	}
	if !g.TopLevel() {
		return projects.Group{}, errs.Field(errs.Invalid, "namespace", "%s is not a top-level group", path)
	}
	return g, nil
}

// Can reports whether p may do a on r (for the permissions objects APIs
// show); every change still checks.
func (s *Service) Can(p *policies.Principal, a policies.Action, r policies.Resource) bool {
	return s.authz.Can(p, a, r)
}
