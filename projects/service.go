// Package projects is Cairn's tenancy tree: nested groups (a top-level
// group is a Terraform namespace), projects, memberships, visibility and
// namespace settings. Every method takes the acting principal, asks the one
// authorization function (policies.Authorizer), validates, writes in one
// transaction with its audit event, and keeps the enforcer current.
// Lookups take ids or full paths explicitly; GitLab's "id or URL-encoded
// path" convention is parsed by its surface.
package projects

import (
	"context"
	"regexp"
	"strings"
	"time"

	"github.com/jackc/pgx/v5"
	"github.com/jackc/pgx/v5/pgxpool"

	"github.com/cairn-registry/cairn/errs"
	"github.com/cairn-registry/cairn/policies"
	"github.com/cairn-registry/cairn/queries"
)

// Service is the tenancy tree service.
type Service struct {
	db    *pgxpool.Pool
	authz *policies.Authorizer
	enf   *policies.Enforcer
	// orphaned receives the blob keys a committed deletion left
	// unreferenced (see OnBlobsOrphaned).
	orphaned func(ctx context.Context, keys []string)
}

// OnBlobsOrphaned registers fn, called once a project or group deletion has
// committed with the blob keys of every module version it removed, for fn
// to delete them from the store (projects itself holds no store). What fn
// fails to delete stays unreferenced, for the modules sweeper.
func (s *Service) OnBlobsOrphaned(fn func(ctx context.Context, keys []string)) { s.orphaned = fn }

// blobsOrphaned hands keys to the registered hook, if any.
func (s *Service) blobsOrphaned(ctx context.Context, keys []string) {
	if s.orphaned != nil && len(keys) > 0 {
		s.orphaned(context.WithoutCancel(ctx), keys)
	}
}

// lockBlobKeys locks the projects about to be deleted (one, or those of a
// group's tree) and their modules, so that no version can be added to them
// before the transaction ends, and returns every blob their versions
// reference.
func lockBlobKeys(ctx context.Context, q *queries.Queries, projectID, groupID *int64) ([]string, error) {
	ids, err := q.LockProjectsForDelete(ctx, queries.LockProjectsForDeleteParams{ProjectID: projectID, GroupID: groupID})
	if err != nil || len(ids) == 0 {
		return nil, err
	}
	if err := q.LockModulesOfProjects(ctx, ids); err != nil {
		return nil, err
	}
	rows, err := q.BlobKeysOfProjects(ctx, ids)
	if err != nil {
		return nil, err
	}
	keys := make([]string, 0, len(rows))
	for _, r := range rows {
		keys = append(keys, r.BlobKey)
		if r.ZipBlobKey != nil {
			keys = append(keys, *r.ZipBlobKey)
		}
	}
	return keys, nil
}

// New returns the service.
func New(db *pgxpool.Pool, enf *policies.Enforcer) *Service {
	return &Service{db: db, authz: policies.NewAuthorizer(enf), enf: enf}
}

// Authorizer is the decision function the service uses.
func (s *Service) Authorizer() *policies.Authorizer { return s.authz }

// tx runs fn in a transaction.
func (s *Service) tx(ctx context.Context, fn func(q *queries.Queries, tx pgx.Tx) error) error {
	return pgx.BeginFunc(ctx, s.db, func(tx pgx.Tx) error { return fn(queries.New(tx), tx) })
}

func (s *Service) q() *queries.Queries { return queries.New(s.db) }

// Group is a group of the tree; a top-level group is a namespace.
type Group struct {
	ID          int64     `json:"id"`
	ParentID    *int64    `json:"parent_id"`
	Path        string    `json:"path"`
	Name        string    `json:"name"`
	FullPath    string    `json:"full_path"`
	Description string    `json:"description"`
	Visibility  string    `json:"visibility"`
	CreatedAt   time.Time `json:"created_at"`
	UpdatedAt   time.Time `json:"updated_at"`
	Settings    Settings  `json:"package_settings"`
	// TraversalIDs are the ids from the top-level group down to this one.
	TraversalIDs []int64 `json:"traversal_ids"`
}

// Settings are a group's Terraform module settings (GitLab's namespace
// package settings): may a module name be published in more than one
// project of the namespace, and which names are the exception.
type Settings struct {
	DuplicatesAllowed  bool   `json:"terraform_module_duplicates_allowed"`
	DuplicateException string `json:"terraform_module_duplicate_exception_regex"`
}

// TopLevel reports whether g is a namespace.
func (g Group) TopLevel() bool { return g.ParentID == nil }

// Resource is g as the authorization decision sees it.
func (g Group) Resource() policies.Resource {
	return policies.GroupResourceOf(policies.Visibility(g.Visibility), g.TraversalIDs)
}

func groupOf(g queries.Group) Group {
	return Group{ID: g.ID, ParentID: g.ParentID, Path: g.Path, Name: g.Name, FullPath: g.FullPath,
		Description: g.Description, Visibility: g.Visibility, CreatedAt: g.CreatedAt, UpdatedAt: g.UpdatedAt,
		Settings: Settings{DuplicatesAllowed: g.TerraformModuleDuplicatesAllowed,
			DuplicateException: g.TerraformModuleDuplicateExceptionRegex},
		TraversalIDs: g.TraversalIds}
}

func groupsOf(rows []queries.Group) []Group {
	out := make([]Group, len(rows))
	for i, g := range rows {
		out[i] = groupOf(g)
	}
	return out
}

// Project is a project; it owns modules.
type Project struct {
	ID          int64     `json:"id"`
	GroupID     int64     `json:"group_id"`
	Path        string    `json:"path"`
	Name        string    `json:"name"`
	FullPath    string    `json:"full_path"`
	Description string    `json:"description"`
	Visibility  string    `json:"visibility"`
	CreatedAt   time.Time `json:"created_at"`
	UpdatedAt   time.Time `json:"updated_at"`
	// GroupTraversalIDs are the ids from the top-level group down to the
	// project's group.
	GroupTraversalIDs []int64 `json:"-"`
}

// Resource is the project as the authorization decision sees it.
func (p Project) Resource() policies.Resource {
	return policies.ProjectResourceOf(p.ID, policies.Visibility(p.Visibility), p.GroupTraversalIDs)
}

// NamespaceID is the id of the project's top-level group.
func (p Project) NamespaceID() int64 { return p.GroupTraversalIDs[0] }

func projectOf(p queries.Project, groupTraversal []int64) Project {
	return Project{ID: p.ID, GroupID: p.GroupID, Path: p.Path, Name: p.Name, FullPath: p.FullPath,
		Description: p.Description, Visibility: p.Visibility, CreatedAt: p.CreatedAt, UpdatedAt: p.UpdatedAt,
		GroupTraversalIDs: groupTraversal}
}

// GitLab's path rule: letters, digits, '_', '-', '.'; starts and ends with a
// letter, digit or '_' (no leading/trailing '.' or '-'); no '.git'/'.atom' suffix.
var pathPattern = regexp.MustCompile(`^[A-Za-z0-9_]([A-Za-z0-9_.-]*[A-Za-z0-9_])?$`)

// reservedPaths are top-level names that would shadow Cairn's own routes.
var reservedPaths = map[string]bool{"api": true, "v1": true, "v2": true, "oauth": true, "static": true,
	"-": true, "admin": true, "login": true, "logout": true, "healthz": true, "readyz": true, "well-known": true,
	"modules": true, "groups": true, "dashboard": true, "openid": true, "providers": true, "user": true, "metrics": true}

// ValidatePath checks a group or project path segment.
func ValidatePath(p string, topLevel bool) error {
	switch {
	case p == "":
		return errs.Field(errs.Invalid, "path", "path can't be blank")
	case len(p) > 255:
		return errs.Field(errs.Invalid, "path", "path is too long (maximum is 255 characters)")
	case !pathPattern.MatchString(p) || strings.Contains(p, ".."):
		return errs.Field(errs.Invalid, "path", "path %q can contain only letters, digits, '_', '-' and '.'; it cannot start or end with '-' or '.', nor contain '..'", p)
	case strings.HasSuffix(strings.ToLower(p), ".git") || strings.HasSuffix(strings.ToLower(p), ".atom"):
		return errs.Field(errs.Invalid, "path", "path %q cannot end in .git or .atom", p)
	case topLevel && reservedPaths[strings.ToLower(p)]:
		return errs.Field(errs.Invalid, "path", "path %q is reserved", p)
	}
	return nil
}

// ParseVisibility validates a visibility name ("" → private).
func ParseVisibility(v string) (policies.Visibility, error) {
	if v == "" {
		return policies.Private, nil
	}
	vis := policies.Visibility(strings.ToLower(v))
	if vis.Rank() < 0 {
		return "", errs.Field(errs.Invalid, "visibility", "visibility %q is not private, internal or public", v)
	}
	return vis, nil
}

// notFound maps a missing row to the caller-appropriate refusal.
func notFound(p *policies.Principal, err error) error {
	if errs.IsNoRows(err) {
		return policies.NotFound(p)
	}
	return err
}
