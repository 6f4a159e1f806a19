// Package policies decides who may do what. One function, Authorizer.Check,
// answers "may principal P do action A on resource R" for every surface:
// casbin maps roles to actions inside a domain (a group or project), the
// caller's memberships are inherited down the group tree, and visibility and
// token scopes are applied in the same decision. Refusals follow one rule:
// anonymous → ErrUnauthenticated (401), cannot see → ErrNotFound (404),
// sees but may not → ErrForbidden (403).
package policies

import (
	"fmt"
	"slices"
	"strconv"
	"strings"

	"github.com/cairn-registry/cairn/errs"
)

// Refusals returned by Check: the errs sentinels of their kinds, named here
// too. Each surface maps them to its own error body.
var (
	ErrUnauthenticated = errs.ErrUnauthenticated
	ErrForbidden       = errs.ErrForbidden
	ErrNotFound        = errs.ErrNotFound
)

// Action is something done to a resource (see policy.csv).
type Action string

// Actions on groups, projects and packages.
const (
	ReadGroup            Action = "read_group"
	ReadProject          Action = "read_project"
	ReadPackage          Action = "read_package"
	CreatePackage        Action = "create_package"
	DestroyPackage       Action = "destroy_package"
	AdminProject         Action = "admin_project"
	ManageProjectMembers Action = "manage_project_members"
	ManageProjectTokens  Action = "manage_project_tokens"
	CreateProject        Action = "create_project"
	CreateSubgroup       Action = "create_subgroup"
	DeleteProject        Action = "delete_project"
	AdminGroup           Action = "admin_group"
	ManageGroupMembers   Action = "manage_group_members"
	ManageGroupTokens    Action = "manage_group_tokens"
	DeleteGroup          Action = "delete_group"
	// Terrareg's module provider actions: MODIFY (maintainer) publishes
	// versions and changes settings; FULL (owner) creates and deletes
	// module providers and versions and manages redirects.
	PublishPackage  Action = "publish_package"
	UpdateModule    Action = "update_module"
	CreateModule    Action = "create_module"
	DestroyModule   Action = "destroy_module"
	ManageRedirects Action = "manage_redirects"
)

// ManageOwners grants, changes or removes the owner role (owners only).
const ManageOwners Action = "manage_owners"

// Instance-wide actions (no domain).
const (
	// AdminInstance covers user management and instance settings.
	AdminInstance Action = "admin_instance"
	// CreateNamespace creates a top-level group.
	CreateNamespace Action = "create_namespace"
)

// Actions on a user account (CheckUser): the user themself or an admin.
const (
	ReadUser         Action = "read_user"
	ManageUserTokens Action = "manage_user_tokens"
)

// Pseudo-roles of instance and account decisions (see policy.csv).
const (
	roleUser  = "user"
	roleSelf  = "self"
	roleAdmin = "admin"
)

func isRead(a Action) bool {
	return a == ReadGroup || a == ReadProject || a == ReadPackage || a == ReadUser
}

// Role is a membership role; the access levels are GitLab's.
type Role string

// Roles, lowest first.
const (
	Guest      Role = "guest"
	Reporter   Role = "reporter"
	Developer  Role = "developer"
	Maintainer Role = "maintainer"
	Owner      Role = "owner"
)

// GitLab's access levels of the roles.
const (
	LevelGuest      int32 = 10
	LevelReporter   int32 = 20
	LevelDeveloper  int32 = 30
	LevelMaintainer int32 = 40
	LevelOwner      int32 = 50
)

// RoleForLevel maps a GitLab access level (10..50) to its role.
func RoleForLevel(level int32) (Role, error) {
	switch level {
	case LevelGuest:
		return Guest, nil
	case LevelReporter:
		return Reporter, nil
	case LevelDeveloper:
		return Developer, nil
	case LevelMaintainer:
		return Maintainer, nil
	case LevelOwner:
		return Owner, nil
	}
	return "", fmt.Errorf("access level %d is not one of 10, 20, 30, 40, 50", level)
}

// RoleForTerrareg maps a Terrareg namespace permission to a role:
// MODIFY → maintainer, FULL → owner.
func RoleForTerrareg(permission string) (Role, error) {
	switch permission {
	case "MODIFY":
		return Maintainer, nil
	case "FULL":
		return Owner, nil
	}
	return "", fmt.Errorf("permission %q is not MODIFY or FULL", permission)
}

// Visibility of a group or project.
type Visibility string

// Visibilities, least visible first.
const (
	Private  Visibility = "private"
	Internal Visibility = "internal"
	Public   Visibility = "public"
)

// Rank orders visibilities (private 0 < internal 1 < public 2); -1 if unknown.
func (v Visibility) Rank() int {
	switch v {
	case Private:
		return 0
	case Internal:
		return 1
	case Public:
		return 2
	}
	return -1
}

// Kind says how a principal authenticated.
type Kind int

// Principal kinds.
const (
	Anonymous Kind = iota
	User
	DeployToken
	Job
)

func (k Kind) String() string {
	return [...]string{"anonymous", "user", "deploy_token", "job"}[k]
}

// Token scopes.
const (
	ScopeAPI                  = "api"
	ScopeReadAPI              = "read_api"
	ScopeReadPackageRegistry  = "read_package_registry"
	ScopeWritePackageRegistry = "write_package_registry"
)

// PATScopes and DeployTokenScopes list the scopes each token kind accepts.
var (
	PATScopes         = []string{ScopeAPI, ScopeReadAPI, ScopeReadPackageRegistry, ScopeWritePackageRegistry}
	DeployTokenScopes = []string{ScopeReadPackageRegistry, ScopeWritePackageRegistry}
)

// Principal is who is asking.
type Principal struct {
	Kind     Kind
	UserID   int64
	Username string
	// Admin is a site administrator (the user flag, or a site-admin
	// Terrareg user group).
	Admin bool
	// Scopes restrict a token; nil means unrestricted (a browser session).
	Scopes []string
	// TokenID is the personal access or deploy token used, if any.
	TokenID int64
	// DeployDomain is the group or project a deploy token belongs to.
	DeployDomain string
	// JobProjectIDs are the projects a CI job may act for: each has a trust
	// rule the job's token satisfies. A job acts on no other project.
	JobProjectIDs []int64
}

// Name is how the principal appears in audit events and logs.
func (p *Principal) Name() string {
	switch p.Kind {
	case User:
		return p.Username
	case DeployToken:
		return "deploy-token:" + p.Username
	case Job:
		if len(p.JobProjectIDs) == 1 {
			return "ci-job:project-" + strconv.FormatInt(p.JobProjectIDs[0], 10)
		}
		ids := make([]string, len(p.JobProjectIDs))
		for i, id := range p.JobProjectIDs {
			ids[i] = strconv.FormatInt(id, 10)
		}
		return "ci-job:projects-" + strings.Join(ids, ",")
	}
	return "anonymous"
}

// AnonymousPrincipal is the principal of a request without credentials.
var AnonymousPrincipal = &Principal{Kind: Anonymous}

// ResourceKind tells groups from projects.
type ResourceKind int

// Resource kinds.
const (
	GroupResource ResourceKind = iota
	ProjectResource
)

// Resource is a group or project as the decision needs it.
type Resource struct {
	Kind       ResourceKind
	ID         int64
	Visibility Visibility
	// Domains lists the resource's own domain, then each ancestor group's,
	// nearest first: ["p:12", "g:7", "g:3"].
	Domains []string
}

// GroupResourceOf describes a group from its traversal ids (top-level
// group first, the group itself last).
func GroupResourceOf(vis Visibility, traversal []int64) Resource {
	r := Resource{Kind: GroupResource, Visibility: vis}
	if len(traversal) > 0 {
		r.ID = traversal[len(traversal)-1]
	}
	for i := len(traversal) - 1; i >= 0; i-- {
		r.Domains = append(r.Domains, GroupDomain(traversal[i]))
	}
	return r
}

// ProjectResourceOf describes a project in the group whose traversal ids
// are given.
func ProjectResourceOf(projectID int64, vis Visibility, groupTraversal []int64) Resource {
	r := Resource{Kind: ProjectResource, ID: projectID, Visibility: vis, Domains: []string{ProjectDomain(projectID)}}
	for i := len(groupTraversal) - 1; i >= 0; i-- {
		r.Domains = append(r.Domains, GroupDomain(groupTraversal[i]))
	}
	return r
}

// GroupDomain and ProjectDomain name casbin domains.
func GroupDomain(id int64) string { return "g:" + strconv.FormatInt(id, 10) }

// ProjectDomain names a project's casbin domain.
func ProjectDomain(id int64) string { return "p:" + strconv.FormatInt(id, 10) }

func userSubject(id int64) string { return "u:" + strconv.FormatInt(id, 10) }

// scopeActions says which actions each token scope permits.
func scopeAllows(scope string, a Action) bool {
	switch scope {
	case ScopeAPI:
		return true
	case ScopeReadAPI:
		return isRead(a)
	case ScopeReadPackageRegistry:
		return isRead(a)
	case ScopeWritePackageRegistry:
		return a == CreatePackage || a == ReadGroup || a == ReadProject
	}
	return false
}

// Authorizer answers authorization questions from the enforcer's state.
type Authorizer struct {
	e *Enforcer
}

// NewAuthorizer returns the decision function over e.
func NewAuthorizer(e *Enforcer) *Authorizer { return &Authorizer{e: e} }

// Check decides whether p may do a on r; nil means yes.
func (z *Authorizer) Check(p *Principal, a Action, r Resource) error {
	if z.allowed(p, a, r) && z.scoped(p, a) {
		return nil
	}
	if p.Kind == Anonymous {
		return errs.ErrUnauthenticated
	}
	see := ReadGroup
	if r.Kind == ProjectResource {
		see = ReadProject
	}
	if !z.allowed(p, see, r) {
		return errs.ErrNotFound
	}
	return errs.ErrForbidden
}

// Can is Check as a yes/no, for pages that hide controls; services still
// call Check on every change.
func (z *Authorizer) Can(p *Principal, a Action, r Resource) bool {
	return z.Check(p, a, r) == nil
}

// CheckInstance decides instance-wide actions: the pseudo-role "user" is
// any signed-in user, "admin" a site administrator (policy.csv).
func (z *Authorizer) CheckInstance(p *Principal, a Action) error {
	if p.Kind == Anonymous {
		return errs.ErrUnauthenticated
	}
	if z.scoped(p, a) && z.pseudoRolesAllow(p, a, false) {
		return nil
	}
	return errs.ErrForbidden
}

// CheckUser decides actions on the account of userID: the pseudo-role
// "self" is the user themself, "admin" a site administrator. A refused
// read is not found (accounts are not listed to others), a refused change
// forbidden.
func (z *Authorizer) CheckUser(p *Principal, a Action, userID int64) error {
	if p.Kind == Anonymous {
		return errs.ErrUnauthenticated
	}
	if z.scoped(p, a) && z.pseudoRolesAllow(p, a, p.Kind == User && p.UserID == userID) {
		return nil
	}
	if isRead(a) {
		return errs.ErrNotFound
	}
	return errs.ErrForbidden
}

// pseudoRolesAllow asks policy.csv whether one of p's pseudo-roles may do a.
func (z *Authorizer) pseudoRolesAllow(p *Principal, a Action, self bool) bool {
	if p.Kind != User {
		return false
	}
	roles := []string{roleUser}
	if self {
		roles = append(roles, roleSelf)
	}
	if z.isAdmin(p) {
		roles = append(roles, roleAdmin)
	}
	for _, r := range roles {
		if z.e.roleAllows(Role(r), a) {
			return true
		}
	}
	return false
}

// NotFound is the refusal for a resource that does not exist: anonymous
// callers are asked to authenticate (a private resource looks the same).
func NotFound(p *Principal) error {
	if p.Kind == Anonymous {
		return errs.ErrUnauthenticated
	}
	return errs.ErrNotFound
}

// IsAdmin reports whether p is a site administrator.
func (z *Authorizer) IsAdmin(p *Principal) bool { return z.isAdmin(p) }

func (z *Authorizer) isAdmin(p *Principal) bool {
	return p.Kind == User && (p.Admin || z.e.isSiteAdmin(p.UserID))
}

func (z *Authorizer) scoped(p *Principal, a Action) bool {
	if p.Scopes == nil {
		return p.Kind == User || p.Kind == Anonymous || p.Kind == Job && jobAction(a)
	}
	return slices.ContainsFunc(p.Scopes, func(s string) bool { return scopeAllows(s, a) })
}

// jobAction limits what a CI job may do at all.
func jobAction(a Action) bool {
	return isRead(a) || a == CreatePackage
}

// allowed ignores scopes: may this identity do a on r? Internal resources
// are readable by signed-in users; a CI job is not one, and reads only what
// it may act for (and public resources).
func (z *Authorizer) allowed(p *Principal, a Action, r Resource) bool {
	if isRead(a) {
		switch r.Visibility {
		case Public:
			return true
		case Internal:
			if p.Kind == User {
				return true
			}
		}
	}
	switch p.Kind {
	case User:
		if z.isAdmin(p) {
			return true
		}
		sub := userSubject(p.UserID)
		for _, dom := range r.Domains {
			if z.e.enforce(sub, dom, a) {
				return true
			}
		}
	case DeployToken:
		if slices.Contains(r.Domains, p.DeployDomain) {
			role := Reporter
			if slices.Contains(p.Scopes, ScopeWritePackageRegistry) {
				role = Developer
			}
			return z.e.roleAllows(role, a)
		}
	case Job:
		// As a developer of each project it may act for, and only on the
		// project itself (not its groups).
		if r.Kind == ProjectResource && len(r.Domains) > 0 &&
			slices.ContainsFunc(p.JobProjectIDs, func(id int64) bool { return r.Domains[0] == ProjectDomain(id) }) {
			return z.e.roleAllows(Developer, a)
		}
	}
	return false
}
