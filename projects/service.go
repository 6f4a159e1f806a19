// Package projects is Cairn's tenancy: users, nested groups, projects,
// memberships, Terrareg user groups, personal access and deploy tokens and
// CI trust rules. Every method takes the acting principal, asks the one
// authorization function (policies.Authorizer), validates, writes in one
// transaction with its audit event, and keeps the enforcer current.
package projects

import (
	"context"
	"errors"
	"fmt"
	"regexp"
	"strings"

	"github.com/jackc/pgx/v5"
	"github.com/jackc/pgx/v5/pgxpool"

	"github.com/cairn-registry/cairn/policies"
	"github.com/cairn-registry/cairn/queries"
)

// Domain errors beyond the policies refusals.
var (
	// ErrInvalid: the request is malformed; the message says why.
	ErrInvalid = errors.New("invalid")
	// ErrConflict: the change collides with existing state.
	ErrConflict = errors.New("conflict")
)

// Re-exported refusals, so callers need only this package's errors.
var (
	ErrNotFound        = policies.ErrNotFound
	ErrForbidden       = policies.ErrForbidden
	ErrUnauthenticated = policies.ErrUnauthenticated
)

func invalid(format string, args ...any) error {
	return fmt.Errorf("%w: %s", ErrInvalid, fmt.Sprintf(format, args...))
}

func conflict(format string, args ...any) error {
	return fmt.Errorf("%w: %s", ErrConflict, fmt.Sprintf(format, args...))
}

// Message is the human part of a domain error (without the kind prefix).
func Message(err error) string {
	s := err.Error()
	for _, k := range []error{ErrInvalid, ErrConflict} {
		s = strings.TrimPrefix(s, k.Error()+": ")
	}
	return s
}

// Service is the tenancy service.
type Service struct {
	db    *pgxpool.Pool
	authz *policies.Authorizer
	enf   *policies.Enforcer
	// credentialsChanged is called after a change that revokes or narrows
	// credentials (token revocation, blocking), so caches drop them at once.
	credentialsChanged func()
}

// OnCredentialsChanged registers the hook called after a token is revoked or
// a user blocked.
func (s *Service) OnCredentialsChanged(f func()) { s.credentialsChanged = f }

func (s *Service) credentialsDone(err error) error {
	if err == nil && s.credentialsChanged != nil {
		s.credentialsChanged()
	}
	return err
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

// GitLab's path rule: letters, digits, '_', '-', '.'; starts and ends with a
// letter, digit or '_' (no leading/trailing '.' or '-'); no '.git'/'.atom' suffix.
var pathPattern = regexp.MustCompile(`^[A-Za-z0-9_]([A-Za-z0-9_.-]*[A-Za-z0-9_])?$`)

var reservedPaths = map[string]bool{"api": true, "v1": true, "v2": true, "oauth": true, "static": true,
	"-": true, "admin": true, "login": true, "logout": true, "healthz": true, "readyz": true, "well-known": true}

// ValidatePath checks a group or project path segment.
func ValidatePath(p string, topLevel bool) error {
	switch {
	case p == "":
		return invalid("path can't be blank")
	case len(p) > 255:
		return invalid("path is too long (maximum is 255 characters)")
	case !pathPattern.MatchString(p) || strings.Contains(p, ".."):
		return invalid("path %q can contain only letters, digits, '_', '-' and '.'; it cannot start or end with '-' or '.', nor contain '..'", p)
	case strings.HasSuffix(strings.ToLower(p), ".git") || strings.HasSuffix(strings.ToLower(p), ".atom"):
		return invalid("path %q cannot end in .git or .atom", p)
	case topLevel && reservedPaths[strings.ToLower(p)]:
		return invalid("path %q is reserved", p)
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
		return "", invalid("visibility %q is not private, internal or public", v)
	}
	return vis, nil
}

// groupResource builds the decision's view of a group.
func (s *Service) groupResource(_ context.Context, g queries.Group) (policies.Resource, error) {
	if len(g.TraversalIds) == 0 {
		return policies.Resource{}, fmt.Errorf("group %d has no traversal ids", g.ID)
	}
	return policies.GroupResourceOf(policies.Visibility(g.Visibility), g.TraversalIds), nil
}

// projectResource builds the decision's view of a project.
func (s *Service) projectResource(ctx context.Context, p queries.Project) (policies.Resource, error) {
	g, err := s.q().GetGroup(ctx, p.GroupID)
	if err != nil {
		return policies.Resource{}, err
	}
	return policies.ProjectResourceOf(p.ID, policies.Visibility(p.Visibility), g.TraversalIds), nil
}

// ProjectResource exposes a project's decision view to other domain
// packages (modules), which then call Authorizer().Check.
func (s *Service) ProjectResource(ctx context.Context, p queries.Project) (policies.Resource, error) {
	return s.projectResource(ctx, p)
}

// notFound maps a missing row to the caller-appropriate refusal.
func notFound(p *policies.Principal, err error) error {
	if errors.Is(err, pgx.ErrNoRows) {
		return policies.NotFound(p)
	}
	return err
}
