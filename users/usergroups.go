package users

import (
	"context"
	"errors"
	"strings"
	"unicode"
	"unicode/utf8"

	"github.com/jackc/pgx/v5"

	"github.com/cairn-registry/cairn/audit"
	"github.com/cairn-registry/cairn/errs"
	"github.com/cairn-registry/cairn/policies"
	"github.com/cairn-registry/cairn/queries"
)

// Terrareg user groups are named after SSO groups and grant their members
// MODIFY (maintainer) or FULL (owner) on namespaces, or site administration.
// Only site administrators manage them. Every change is written in one
// transaction with its audit event; afterwards this replica reloads its
// user-group grants at once, and the other replicas follow the NOTIFY that
// the tables' triggers send.

// Terrareg's namespace permission types.
const (
	PermissionFull   = "FULL"
	PermissionModify = "MODIFY"
)

// maxUserGroupName bounds a user group's name (an SSO group name), in characters.
const maxUserGroupName = 128

// missing is the not-found refusal for a named thing a site administrator
// referred to (user group, namespace, user, permission): its field names
// the thing, its message is Terrareg's ("User group does not exist.").
func missing(field, what string) error {
	return errs.Field(errs.NotFound, field, "%s does not exist.", what)
}

// UserGroup is a Terrareg user group with its namespace permissions.
type UserGroup struct {
	ID          int64
	Name        string
	SiteAdmin   bool
	Permissions []NamespacePermission
}

// NamespacePermission is a permission type on a namespace.
type NamespacePermission struct {
	Namespace  string `json:"namespace"`
	Permission string `json:"permission_type"`
}

// UserGroupPermission is one user group's permission on one namespace.
type UserGroupPermission struct {
	UserGroup  string `json:"user_group"`
	Namespace  string `json:"namespace"`
	Permission string `json:"permission_type"`
}

// UserGroupMember is a user in a user group.
type UserGroupMember struct {
	UserGroup string `json:"user_group"`
	UserID    int64  `json:"user_id"`
	Username  string `json:"username"`
	Name      string `json:"name"`
}

// userGroupView is what audit events record of a user group.
type userGroupView struct {
	ID          int64                 `json:"id"`
	Name        string                `json:"name"`
	SiteAdmin   bool                  `json:"site_admin"`
	Permissions []NamespacePermission `json:"namespace_permissions,omitempty"`
	Members     []string              `json:"members,omitempty"`
}

// ValidateUserGroupName checks a user group name: an SSO group name of 1 to
// 128 characters, without control characters or surrounding spaces.
func ValidateUserGroupName(name string) error {
	switch n := utf8.RuneCountInString(name); {
	case n == 0:
		return errs.Invalidf("user group name can't be blank")
	case n > maxUserGroupName:
		return errs.Invalidf("user group name is too long (maximum is %d characters)", maxUserGroupName)
	case !utf8.ValidString(name) || strings.ContainsFunc(name, unicode.IsControl):
		return errs.Invalidf("user group name contains invalid characters")
	case strings.TrimSpace(name) != name:
		return errs.Invalidf("user group name cannot start or end with spaces")
	}
	return nil
}

// ParsePermissionType validates a Terrareg namespace permission type.
func ParsePermissionType(t string) (string, error) {
	if t != PermissionFull && t != PermissionModify {
		return "", errs.Invalidf("Invalid namespace permission type")
	}
	return t, nil
}

// ListUserGroups lists every user group with its namespace permissions
// (site admin).
func (s *Service) ListUserGroups(ctx context.Context, p *policies.Principal) ([]UserGroup, error) {
	if err := s.authz.CheckInstance(p, policies.AdminInstance); err != nil {
		return nil, err
	}
	q := s.q()
	groups, err := q.ListUserGroups(ctx)
	if err != nil {
		return nil, err
	}
	perms, err := q.ListUserGroupPermissions(ctx, nil)
	if err != nil {
		return nil, err
	}
	byGroup := map[int64][]NamespacePermission{}
	for _, pr := range perms {
		byGroup[pr.UserGroupID] = append(byGroup[pr.UserGroupID], NamespacePermission{pr.Namespace, pr.Permission})
	}
	out := make([]UserGroup, 0, len(groups))
	for _, g := range groups {
		ps := byGroup[g.ID]
		if ps == nil {
			ps = []NamespacePermission{}
		}
		out = append(out, UserGroup{ID: g.ID, Name: g.Name, SiteAdmin: g.SiteAdmin, Permissions: ps})
	}
	return out, nil
}

// CreateUserGroup creates a user group (site admin). Names are unique
// regardless of case.
func (s *Service) CreateUserGroup(ctx context.Context, p *policies.Principal, name string, siteAdmin bool) (UserGroup, error) {
	if err := s.authz.CheckInstance(p, policies.AdminInstance); err != nil {
		return UserGroup{}, err
	}
	if err := ValidateUserGroupName(name); err != nil {
		return UserGroup{}, err
	}
	var g queries.UserGroup
	err := s.tx(ctx, func(q *queries.Queries, tx pgx.Tx) error {
		var err error
		g, err = q.CreateUserGroup(ctx, queries.CreateUserGroupParams{Name: name, SiteAdmin: siteAdmin})
		if err != nil {
			return errs.OnUnique(err, "name", "User group %q already exists", name)
		}
		return audit.Record(ctx, tx, p, "create", "user_group", g.ID, nil, userGroupView{ID: g.ID, Name: g.Name, SiteAdmin: g.SiteAdmin})
	})
	if err != nil {
		return UserGroup{}, err
	}
	// A new group has no members, so no grants change; reloading anyway
	// keeps every write path the same.
	return UserGroup{ID: g.ID, Name: g.Name, SiteAdmin: g.SiteAdmin, Permissions: []NamespacePermission{}}, s.userGroupsChanged(ctx)
}

// DeleteUserGroup deletes a user group with its permissions and
// memberships (site admin); its members lose what it granted.
func (s *Service) DeleteUserGroup(ctx context.Context, p *policies.Principal, name string) error {
	if err := s.authz.CheckInstance(p, policies.AdminInstance); err != nil {
		return err
	}
	err := s.tx(ctx, func(q *queries.Queries, tx pgx.Tx) error {
		g, err := userGroupByName(ctx, q, name)
		if err != nil {
			return err
		}
		old, err := userGroupSnapshot(ctx, q, g)
		if err != nil {
			return err
		}
		if err := q.DeleteUserGroup(ctx, g.ID); err != nil {
			return err
		}
		return audit.Record(ctx, tx, p, "delete", "user_group", g.ID, old, nil)
	})
	if err != nil {
		return err
	}
	return s.userGroupsChanged(ctx)
}

// SetUserGroupPermission grants a user group FULL or MODIFY on a namespace,
// replacing any permission it held there (site admin). The namespace must be
// a top-level group.
func (s *Service) SetUserGroupPermission(ctx context.Context, p *policies.Principal, groupName, namespace, permission string) (UserGroupPermission, error) {
	if err := s.authz.CheckInstance(p, policies.AdminInstance); err != nil {
		return UserGroupPermission{}, err
	}
	permission, err := ParsePermissionType(permission)
	if err != nil {
		return UserGroupPermission{}, err
	}
	var out UserGroupPermission
	err = s.tx(ctx, func(q *queries.Queries, tx pgx.Tx) error {
		ns, err := namespaceByPath(ctx, q, namespace)
		if err != nil {
			return err
		}
		g, err := userGroupByName(ctx, q, groupName)
		if err != nil {
			return err
		}
		// old stays an untyped nil when there was no permission, so the
		// event records NULL rather than JSON null.
		action, old := "create", any(nil)
		cur, err := q.GetUserGroupPermission(ctx, queries.GetUserGroupPermissionParams{UserGroupID: g.ID, GroupID: ns.ID})
		switch {
		case err == nil:
			action, old = "update", UserGroupPermission{UserGroup: g.Name, Namespace: ns.FullPath, Permission: cur.Permission}
		case !errors.Is(err, pgx.ErrNoRows):
			return err
		}
		row, err := q.UpsertUserGroupPermission(ctx, queries.UpsertUserGroupPermissionParams{UserGroupID: g.ID, GroupID: ns.ID, Permission: permission})
		if err != nil {
			return err
		}
		out = UserGroupPermission{UserGroup: g.Name, Namespace: ns.FullPath, Permission: row.Permission}
		return audit.Record(ctx, tx, p, action, "user_group_permission", g.ID, old, out)
	})
	if err != nil {
		return UserGroupPermission{}, err
	}
	return out, s.userGroupsChanged(ctx)
}

// DeleteUserGroupPermission removes a user group's permission on a
// namespace (site admin).
func (s *Service) DeleteUserGroupPermission(ctx context.Context, p *policies.Principal, groupName, namespace string) error {
	if err := s.authz.CheckInstance(p, policies.AdminInstance); err != nil {
		return err
	}
	err := s.tx(ctx, func(q *queries.Queries, tx pgx.Tx) error {
		ns, err := namespaceByPath(ctx, q, namespace)
		if err != nil {
			return err
		}
		g, err := userGroupByName(ctx, q, groupName)
		if err != nil {
			return err
		}
		cur, err := q.GetUserGroupPermission(ctx, queries.GetUserGroupPermissionParams{UserGroupID: g.ID, GroupID: ns.ID})
		if errors.Is(err, pgx.ErrNoRows) {
			return missing("permission", "Permission")
		} else if err != nil {
			return err
		}
		if _, err := q.DeleteUserGroupPermission(ctx, queries.DeleteUserGroupPermissionParams{UserGroupID: g.ID, GroupID: ns.ID}); err != nil {
			return err
		}
		old := UserGroupPermission{UserGroup: g.Name, Namespace: ns.FullPath, Permission: cur.Permission}
		return audit.Record(ctx, tx, p, "delete", "user_group_permission", g.ID, old, nil)
	})
	if err != nil {
		return err
	}
	return s.userGroupsChanged(ctx)
}

// ListUserGroupMembers lists a user group's members (site admin).
func (s *Service) ListUserGroupMembers(ctx context.Context, p *policies.Principal, groupName string) ([]UserGroupMember, error) {
	if err := s.authz.CheckInstance(p, policies.AdminInstance); err != nil {
		return nil, err
	}
	q := s.q()
	g, err := userGroupByName(ctx, q, groupName)
	if err != nil {
		return nil, err
	}
	rows, err := q.ListUserGroupMembers(ctx, g.ID)
	if err != nil {
		return nil, err
	}
	out := make([]UserGroupMember, 0, len(rows))
	for _, u := range rows {
		out = append(out, UserGroupMember{UserGroup: g.Name, UserID: u.ID, Username: u.Username, Name: u.Name})
	}
	return out, nil
}

// AddUserGroupMember puts a user in a user group (site admin). Terrareg
// fills user groups from SSO claims at login; Cairn's are managed here.
func (s *Service) AddUserGroupMember(ctx context.Context, p *policies.Principal, groupName, username string) (UserGroupMember, error) {
	if err := s.authz.CheckInstance(p, policies.AdminInstance); err != nil {
		return UserGroupMember{}, err
	}
	var out UserGroupMember
	err := s.tx(ctx, func(q *queries.Queries, tx pgx.Tx) error {
		g, err := userGroupByName(ctx, q, groupName)
		if err != nil {
			return err
		}
		u, err := userByName(ctx, q, username)
		if err != nil {
			return err
		}
		n, err := q.AddUserGroupMember(ctx, queries.AddUserGroupMemberParams{UserGroupID: g.ID, UserID: u.ID})
		if err != nil {
			return err
		}
		if n == 0 {
			return errs.Conflictf("User %q is already a member of user group %q", u.Username, g.Name)
		}
		out = UserGroupMember{UserGroup: g.Name, UserID: u.ID, Username: u.Username, Name: u.Name}
		return audit.Record(ctx, tx, p, "add", "user_group_member", g.ID, nil, out)
	})
	if err != nil {
		return UserGroupMember{}, err
	}
	return out, s.userGroupsChanged(ctx)
}

// RemoveUserGroupMember takes a user out of a user group (site admin).
func (s *Service) RemoveUserGroupMember(ctx context.Context, p *policies.Principal, groupName, username string) error {
	if err := s.authz.CheckInstance(p, policies.AdminInstance); err != nil {
		return err
	}
	err := s.tx(ctx, func(q *queries.Queries, tx pgx.Tx) error {
		g, err := userGroupByName(ctx, q, groupName)
		if err != nil {
			return err
		}
		u, err := userByName(ctx, q, username)
		if err != nil {
			return err
		}
		n, err := q.DeleteUserGroupMember(ctx, queries.DeleteUserGroupMemberParams{UserGroupID: g.ID, UserID: u.ID})
		if err != nil {
			return err
		}
		if n == 0 {
			return missing("username", "User group membership")
		}
		old := UserGroupMember{UserGroup: g.Name, UserID: u.ID, Username: u.Username, Name: u.Name}
		return audit.Record(ctx, tx, p, "remove", "user_group_member", g.ID, old, nil)
	})
	if err != nil {
		return err
	}
	return s.userGroupsChanged(ctx)
}

// userGroupsChanged brings this replica's enforcer up to date after a
// committed change (other replicas follow the tables' NOTIFY).
func (s *Service) userGroupsChanged(ctx context.Context) error {
	return s.enf.ReloadUserGroups(ctx, s.db)
}

func userGroupByName(ctx context.Context, q *queries.Queries, name string) (queries.UserGroup, error) {
	g, err := q.GetUserGroupByName(ctx, name)
	if errors.Is(err, pgx.ErrNoRows) {
		return g, missing("user_group", "User group")
	}
	return g, err
}

// namespaceByPath finds a top-level group; a subgroup is no namespace.
func namespaceByPath(ctx context.Context, q *queries.Queries, path string) (queries.Group, error) {
	g, err := q.GetGroupByPath(ctx, path)
	switch {
	case errors.Is(err, pgx.ErrNoRows) || err == nil && g.ParentID != nil:
		return queries.Group{}, missing("namespace", "Namespace")
	case err != nil:
		return queries.Group{}, err
	}
	return g, nil
}

func userByName(ctx context.Context, q *queries.Queries, username string) (queries.User, error) {
	u, err := q.GetUserByUsername(ctx, username)
	if errors.Is(err, pgx.ErrNoRows) {
		return u, missing("username", "User")
	}
	return u, err
}

// userGroupSnapshot is a user group as a deletion's audit event keeps it:
// with its permissions and members.
func userGroupSnapshot(ctx context.Context, q *queries.Queries, g queries.UserGroup) (userGroupView, error) {
	v := userGroupView{ID: g.ID, Name: g.Name, SiteAdmin: g.SiteAdmin}
	perms, err := q.ListUserGroupPermissions(ctx, &g.ID)
	if err != nil {
		return v, err
	}
	for _, pr := range perms {
		v.Permissions = append(v.Permissions, NamespacePermission{pr.Namespace, pr.Permission})
	}
	members, err := q.ListUserGroupMembers(ctx, g.ID)
	if err != nil {
		return v, err
	}
	for _, m := range members {
		v.Members = append(v.Members, m.Username)
	}
	return v, nil
}

// AuthStatus is what Terrareg's is_authenticated reports about a caller.
type AuthStatus struct {
	// Authenticated: the request carried a valid credential.
	Authenticated bool
	// SiteAdmin: the caller is a site administrator (the user flag or a
	// site-admin user group).
	SiteAdmin bool
	// NamespacePermissions maps a namespace to FULL or MODIFY.
	NamespacePermissions map[string]string
}

// AuthStatus describes the caller (any principal). A user's namespace
// permissions come from owner (FULL) and maintainer (MODIFY) memberships of
// top-level groups and from their user groups' grants; deploy tokens and CI
// jobs hold none. They describe the user: a token's scopes still narrow
// each request.
func (s *Service) AuthStatus(ctx context.Context, p *policies.Principal) (AuthStatus, error) {
	st := AuthStatus{Authenticated: p.Kind != policies.Anonymous, NamespacePermissions: map[string]string{}}
	if p.Kind != policies.User {
		return st, nil
	}
	st.SiteAdmin = s.authz.IsAdmin(p)
	rows, err := s.q().UserNamespacePermissions(ctx, p.UserID)
	if err != nil {
		return AuthStatus{}, err
	}
	for _, r := range rows {
		st.NamespacePermissions[r.Namespace] = r.Permission
	}
	return st, nil
}
