package users_test

import (
	"context"
	"encoding/json"
	"errors"
	"maps"
	"strings"
	"testing"
	"time"

	"github.com/cairn-registry/cairn/audit"
	"github.com/cairn-registry/cairn/errs"
	"github.com/cairn-registry/cairn/internal/testenv"
	"github.com/cairn-registry/cairn/policies"
	"github.com/cairn-registry/cairn/projects"
	"github.com/cairn-registry/cairn/users"
)

// TestUserGroupGrantsNamespacePermissions follows a user's rights on a
// namespace's projects as a user group grants FULL, then MODIFY, then is
// deleted; each decision is the service's own Authorizer.
func TestUserGroupGrantsNamespacePermissions(t *testing.T) {
	t.Parallel()
	ctx := context.Background()
	svc, admin := newService(t)
	alice := user(t, svc, admin, "alice")
	acme, err := svc.CreateGroup(ctx, admin, projects.GroupInput{Path: "acme"})
	if err != nil {
		t.Fatal(err)
	}
	for _, path := range []string{"vpc", "web", "dns"} {
		if _, err := svc.CreateProject(ctx, admin, projects.ProjectInput{Group: acme, Path: path}); err != nil {
			t.Fatal(err)
		}
	}
	if err := svc.deleteProject(ctx, alice, "acme/vpc"); !errors.Is(err, errs.ErrNotFound) {
		t.Fatalf("alice, in no user group, deletes acme/vpc: %v; want ErrNotFound", err)
	}

	g, err := svc.CreateUserGroup(ctx, admin, "platform-team", false)
	if err != nil || g.Name != "platform-team" || g.SiteAdmin {
		t.Fatalf("CreateUserGroup = %+v, %v; want platform-team, not site admin", g, err)
	}
	if _, err := svc.CreateUserGroup(ctx, admin, "Platform-Team", true); !errors.Is(err, errs.ErrConflict) {
		t.Fatalf("creating Platform-Team next to platform-team: %v; want ErrConflict (names ignore case)", err)
	}
	perm, err := svc.SetUserGroupPermission(ctx, admin, "platform-team", "acme", users.PermissionFull)
	if err != nil || perm != (users.UserGroupPermission{UserGroup: "platform-team", Namespace: "acme", Permission: "FULL"}) {
		t.Fatalf("SetUserGroupPermission FULL = %+v, %v; want platform-team FULL on acme", perm, err)
	}
	if _, err := svc.AddUserGroupMember(ctx, admin, "platform-team", "alice"); err != nil {
		t.Fatal(err)
	}
	if _, err := svc.AddUserGroupMember(ctx, admin, "platform-team", "alice"); !errors.Is(err, errs.ErrConflict) {
		t.Fatalf("adding alice twice: %v; want ErrConflict", err)
	}
	if err := svc.deleteProject(ctx, alice, "acme/vpc"); err != nil {
		t.Fatalf("alice, FULL on acme through platform-team, deletes acme/vpc: %v", err)
	}

	// MODIFY replaces FULL: packages yes, deleting projects no.
	if perm, err := svc.SetUserGroupPermission(ctx, admin, "platform-team", "acme", users.PermissionModify); err != nil || perm.Permission != "MODIFY" {
		t.Fatalf("SetUserGroupPermission MODIFY = %+v, %v; want MODIFY", perm, err)
	}
	groups, err := svc.ListUserGroups(ctx, admin)
	if err != nil || len(groups) != 1 || len(groups[0].Permissions) != 1 || groups[0].Permissions[0] != (users.NamespacePermission{Namespace: "acme", Permission: "MODIFY"}) {
		t.Fatalf("ListUserGroups = %+v, %v; want platform-team with only MODIFY on acme", groups, err)
	}
	web, err := svc.projectResource(ctx, admin, "acme/web")
	if err != nil {
		t.Fatal(err)
	}
	z := svc.Authorizer()
	for _, a := range []policies.Action{policies.ReadPackage, policies.CreatePackage, policies.DestroyPackage, policies.AdminProject} {
		if err := z.Check(alice, a, web); err != nil {
			t.Errorf("alice, MODIFY on acme, %s on acme/web: %v; want allowed", a, err)
		}
	}
	if err := svc.deleteProject(ctx, alice, "acme/web"); !errors.Is(err, errs.ErrForbidden) {
		t.Fatalf("alice, MODIFY on acme, deletes acme/web: %v; want ErrForbidden", err)
	}

	// Taking the permission away, then the group, leaves alice nothing.
	if err := svc.DeleteUserGroupPermission(ctx, admin, "platform-team", "acme"); err != nil {
		t.Fatal(err)
	}
	if err := z.Check(alice, policies.ReadProject, web); !errors.Is(err, errs.ErrNotFound) {
		t.Fatalf("alice after the permission is deleted reads acme/web: %v; want ErrNotFound", err)
	}
	if err := svc.DeleteUserGroupPermission(ctx, admin, "platform-team", "acme"); !isMissing(err, "Permission does not exist.") {
		t.Fatalf("deleting the permission twice: %v; want \"Permission does not exist.\"", err)
	}
	if _, err := svc.SetUserGroupPermission(ctx, admin, "platform-team", "acme", users.PermissionFull); err != nil {
		t.Fatal(err)
	}
	if err := svc.DeleteUserGroup(ctx, admin, "PLATFORM-TEAM"); err != nil {
		t.Fatalf("DeleteUserGroup by another case of its name: %v", err)
	}
	for _, a := range []policies.Action{policies.ReadProject, policies.DestroyPackage, policies.DeleteProject} {
		if err := z.Check(alice, a, web); !errors.Is(err, errs.ErrNotFound) {
			t.Errorf("alice after platform-team is deleted, %s on acme/web: %v; want ErrNotFound", a, err)
		}
	}
	if groups, err := svc.ListUserGroups(ctx, admin); err != nil || len(groups) != 0 {
		t.Fatalf("ListUserGroups after deleting = %+v, %v; want none", groups, err)
	}
}

func TestSiteAdminUserGroup(t *testing.T) {
	t.Parallel()
	ctx := context.Background()
	svc, admin := newService(t)
	bob := user(t, svc, admin, "bob")
	z := svc.Authorizer()
	if z.IsAdmin(bob) {
		t.Fatal("bob is an administrator before joining any user group")
	}
	if _, err := svc.CreateUserGroup(ctx, admin, "cairn-admins", true); err != nil {
		t.Fatal(err)
	}
	if _, err := svc.AddUserGroupMember(ctx, admin, "cairn-admins", "bob"); err != nil {
		t.Fatal(err)
	}
	if !z.IsAdmin(bob) {
		t.Fatal("bob, in a site-admin user group, is not an administrator")
	}
	if _, err := svc.ListUsers(ctx, bob, "", 20, 0); err != nil {
		t.Fatalf("bob, site admin through cairn-admins, lists users: %v", err)
	}
	if _, err := svc.CreateUserGroup(ctx, bob, "auditors", false); err != nil {
		t.Fatalf("bob, site admin through cairn-admins, creates a user group: %v", err)
	}
	members, err := svc.ListUserGroupMembers(ctx, admin, "cairn-admins")
	if err != nil || len(members) != 1 || members[0].Username != "bob" || members[0].UserID != bob.UserID {
		t.Fatalf("ListUserGroupMembers = %+v, %v; want bob", members, err)
	}
	if err := svc.RemoveUserGroupMember(ctx, admin, "cairn-admins", "bob"); err != nil {
		t.Fatal(err)
	}
	if z.IsAdmin(bob) {
		t.Fatal("bob is still an administrator after leaving cairn-admins")
	}
	if err := svc.RemoveUserGroupMember(ctx, admin, "cairn-admins", "bob"); !isMissing(err, "User group membership does not exist.") {
		t.Fatalf("removing bob twice: %v; want a MissingError", err)
	}
	if _, err := svc.AddUserGroupMember(ctx, admin, "cairn-admins", "bob"); err != nil {
		t.Fatal(err)
	}
	if err := svc.DeleteUserGroup(ctx, admin, "cairn-admins"); err != nil {
		t.Fatal(err)
	}
	if z.IsAdmin(bob) {
		t.Fatal("bob is still an administrator after cairn-admins is deleted")
	}
}

// TestUserGroupsFollowedByAnotherReplica checks that a second enforcer,
// following PostgreSQL's notifications as another replica does, sees user
// group changes made through this one.
func TestUserGroupsFollowedByAnotherReplica(t *testing.T) {
	t.Parallel()
	ctx, cancel := context.WithCancel(context.Background())
	defer cancel()
	pool := testenv.Pool(t)
	en, err := policies.NewEnforcer(nil)
	if err != nil {
		t.Fatal(err)
	}
	svc, admin := newFixture(t, pool, en)
	carol := user(t, svc, admin, "carol")

	other, err := policies.NewEnforcer(nil)
	if err != nil {
		t.Fatal(err)
	}
	ready := make(chan struct{})
	go other.Follow(ctx, pool, ready)
	select {
	case <-ready:
	case <-time.After(10 * time.Second):
		t.Fatal("the second enforcer did not load")
	}
	z := policies.NewAuthorizer(other)
	if _, err := svc.CreateUserGroup(ctx, admin, "ops", true); err != nil {
		t.Fatal(err)
	}
	if _, err := svc.AddUserGroupMember(ctx, admin, "ops", "carol"); err != nil {
		t.Fatal(err)
	}
	eventually(t, "the other replica sees carol as admin", func() bool { return z.IsAdmin(carol) })
	if err := svc.DeleteUserGroup(ctx, admin, "ops"); err != nil {
		t.Fatal(err)
	}
	eventually(t, "the other replica drops carol's admin rights", func() bool { return !z.IsAdmin(carol) })
}

func eventually(t *testing.T, what string, cond func() bool) {
	t.Helper()
	deadline := time.Now().Add(10 * time.Second)
	for !cond() {
		if time.Now().After(deadline) {
			t.Fatalf("timed out waiting until %s", what)
		}
		time.Sleep(20 * time.Millisecond)
	}
}

// field reads one member of a recorded JSON object.
func field(t *testing.T, raw json.RawMessage, name string) any {
	t.Helper()
	var m map[string]any
	if err := json.Unmarshal(raw, &m); err != nil {
		t.Fatalf("recorded value %s: %v", raw, err)
	}
	return m[name]
}

func isMissing(err error, msg string) bool {
	return errs.Is(err, errs.NotFound) && errs.FieldOf(err) != "" && errs.Message(err) == msg
}

// TestUserGroupRefusals: only site administrators manage user groups, and
// names, namespaces, users and permission types are checked.
func TestUserGroupRefusals(t *testing.T) {
	t.Parallel()
	ctx := context.Background()
	svc, admin := newService(t)
	dave := user(t, svc, admin, "dave")
	acme, err := svc.CreateGroup(ctx, admin, projects.GroupInput{Path: "acme"})
	if err != nil {
		t.Fatal(err)
	}
	if _, err := svc.CreateGroup(ctx, admin, projects.GroupInput{Path: "net", ParentID: &acme.ID}); err != nil {
		t.Fatal(err)
	}
	if _, err := svc.CreateUserGroup(ctx, admin, "devs", false); err != nil {
		t.Fatal(err)
	}
	readOnly := *admin
	readOnly.Scopes = []string{policies.ScopeReadAPI}

	for _, who := range []struct {
		name string
		p    *policies.Principal
		want error
	}{
		{"anonymous", policies.AnonymousPrincipal, errs.ErrUnauthenticated},
		{"a user", dave, errs.ErrForbidden},
		{"an admin's read_api token", &readOnly, errs.ErrForbidden},
	} {
		calls := map[string]func() error{
			"ListUserGroups": func() error { _, err := svc.ListUserGroups(ctx, who.p); return err },
			"CreateUserGroup": func() error {
				_, err := svc.CreateUserGroup(ctx, who.p, "x", true)
				return err
			},
			"DeleteUserGroup": func() error { return svc.DeleteUserGroup(ctx, who.p, "devs") },
			"SetUserGroupPermission": func() error {
				_, err := svc.SetUserGroupPermission(ctx, who.p, "devs", "acme", "FULL")
				return err
			},
			"DeleteUserGroupPermission": func() error { return svc.DeleteUserGroupPermission(ctx, who.p, "devs", "acme") },
			"ListUserGroupMembers":      func() error { _, err := svc.ListUserGroupMembers(ctx, who.p, "devs"); return err },
			"AddUserGroupMember": func() error {
				_, err := svc.AddUserGroupMember(ctx, who.p, "devs", "dave")
				return err
			},
			"RemoveUserGroupMember": func() error { return svc.RemoveUserGroupMember(ctx, who.p, "devs", "dave") },
			"ListAuditEvents": func() error {
				_, err := svc.audit.List(ctx, who.p, audit.Query{Limit: 10})
				return err
			},
		}
		for name, call := range calls {
			if err := call(); !errors.Is(err, who.want) {
				t.Errorf("%s as %s: %v; want %v", name, who.name, err, who.want)
			}
		}
	}
	if groups, _ := svc.ListUserGroups(ctx, admin); len(groups) != 1 || groups[0].SiteAdmin {
		t.Fatalf("user groups after refused calls = %+v; want only devs, unchanged", groups)
	}

	for _, tc := range []struct {
		name string
		call func() error
		// want is the error kind; msg, if set, the MissingError's message.
		want error
		msg  string
	}{
		{"blank name", func() error { _, err := svc.CreateUserGroup(ctx, admin, "", false); return err }, errs.ErrInvalid, ""},
		{"name of 129 characters", func() error {
			_, err := svc.CreateUserGroup(ctx, admin, strings.Repeat("é", 129), false)
			return err
		}, errs.ErrInvalid, ""},
		{"name with a newline", func() error { _, err := svc.CreateUserGroup(ctx, admin, "a\nb", false); return err }, errs.ErrInvalid, ""},
		{"unknown user group", func() error { return svc.DeleteUserGroup(ctx, admin, "nobody") }, errs.ErrNotFound, "User group does not exist."},
		{"unknown namespace", func() error {
			_, err := svc.SetUserGroupPermission(ctx, admin, "devs", "globex", "FULL")
			return err
		}, errs.ErrNotFound, "Namespace does not exist."},
		{"subgroup as namespace", func() error {
			_, err := svc.SetUserGroupPermission(ctx, admin, "devs", "acme/net", "FULL")
			return err
		}, errs.ErrNotFound, "Namespace does not exist."},
		{"unknown permission type", func() error {
			_, err := svc.SetUserGroupPermission(ctx, admin, "devs", "acme", "OWNER")
			return err
		}, errs.ErrInvalid, ""},
		{"lower-case permission type", func() error {
			_, err := svc.SetUserGroupPermission(ctx, admin, "devs", "acme", "full")
			return err
		}, errs.ErrInvalid, ""},
		{"unknown user", func() error { _, err := svc.AddUserGroupMember(ctx, admin, "devs", "erin"); return err }, errs.ErrNotFound, "User does not exist."},
		{"permission of an unknown user group", func() error { return svc.DeleteUserGroupPermission(ctx, admin, "nobody", "acme") }, errs.ErrNotFound, "User group does not exist."},
		{"audit page too long", func() error {
			_, err := svc.audit.List(ctx, admin, audit.Query{Limit: audit.MaxPage + 1})
			return err
		}, errs.ErrInvalid, ""},
	} {
		err := tc.call()
		if !errors.Is(err, tc.want) || tc.msg != "" && !isMissing(err, tc.msg) {
			t.Errorf("%s: %v; want %v %q", tc.name, err, tc.want, tc.msg)
		}
	}
	if _, err := svc.CreateUserGroup(ctx, admin, strings.Repeat("é", 128), false); err != nil {
		t.Errorf("a name of 128 characters: %v; want it accepted", err)
	}
}

// TestAuthStatus: Terrareg's namespace permissions of a user come from
// owner and maintainer memberships of namespaces and from user groups.
func TestAuthStatus(t *testing.T) {
	t.Parallel()
	ctx := context.Background()
	svc, admin := newService(t)
	erin := user(t, svc, admin, "erin")
	ids := map[string]int64{}
	for _, ns := range []string{"alpha", "beta", "gamma", "delta", "omega"} {
		g, err := svc.CreateGroup(ctx, admin, projects.GroupInput{Path: ns})
		if err != nil {
			t.Fatal(err)
		}
		ids[ns] = g.ID
	}
	sub, err := svc.CreateGroup(ctx, admin, projects.GroupInput{Path: "sub", ParentID: new(ids["omega"])})
	if err != nil {
		t.Fatal(err)
	}
	for ns, level := range map[string]int32{"alpha": 50, "beta": 40, "gamma": 30} {
		if _, err := svc.setMember(ctx, admin, ns, erin.UserID, level); err != nil {
			t.Fatal(err)
		}
	}
	// An owner of a subgroup holds nothing namespace-wide.
	if _, err := svc.setMember(ctx, admin, "omega/sub", erin.UserID, 50); err != nil {
		t.Fatalf("adding erin to %s: %v", sub.FullPath, err)
	}
	if _, err := svc.CreateUserGroup(ctx, admin, "sso:platform", false); err != nil {
		t.Fatal(err)
	}
	for ns, perm := range map[string]string{"beta": "FULL", "delta": "MODIFY"} {
		if _, err := svc.SetUserGroupPermission(ctx, admin, "sso:platform", ns, perm); err != nil {
			t.Fatal(err)
		}
	}
	if _, err := svc.AddUserGroupMember(ctx, admin, "sso:platform", "erin"); err != nil {
		t.Fatal(err)
	}

	st, err := svc.AuthStatus(ctx, erin)
	want := map[string]string{"alpha": "FULL", "beta": "FULL", "delta": "MODIFY"}
	if err != nil || !st.Authenticated || st.SiteAdmin || !maps.Equal(st.NamespacePermissions, want) {
		t.Fatalf("AuthStatus(erin) = %+v, %v; want authenticated, not admin, %v", st, err, want)
	}
	st, err = svc.AuthStatus(ctx, admin)
	if err != nil || !st.Authenticated || !st.SiteAdmin || len(st.NamespacePermissions) != 5 {
		t.Fatalf("AuthStatus(root) = %+v, %v; want an authenticated admin owning the 5 namespaces", st, err)
	}
	st, err = svc.AuthStatus(ctx, policies.AnonymousPrincipal)
	if err != nil || st.Authenticated || st.SiteAdmin || st.NamespacePermissions == nil || len(st.NamespacePermissions) != 0 {
		t.Fatalf("AuthStatus(anonymous) = %+v, %v; want unauthenticated with an empty map", st, err)
	}
}

// TestUserGroupAudit: every change leaves an event, and the history pages,
// searches and orders.
func TestUserGroupAudit(t *testing.T) {
	t.Parallel()
	ctx := context.Background()
	svc, admin := newService(t)
	user(t, svc, admin, "frank")
	if _, err := svc.CreateGroup(ctx, admin, projects.GroupInput{Path: "acme"}); err != nil {
		t.Fatal(err)
	}
	steps := []func() error{
		func() error { _, err := svc.CreateUserGroup(ctx, admin, "auditors", false); return err },
		func() error {
			_, err := svc.SetUserGroupPermission(ctx, admin, "auditors", "acme", "MODIFY")
			return err
		},
		func() error { _, err := svc.SetUserGroupPermission(ctx, admin, "auditors", "acme", "FULL"); return err },
		func() error { _, err := svc.AddUserGroupMember(ctx, admin, "auditors", "frank"); return err },
		func() error { return svc.RemoveUserGroupMember(ctx, admin, "auditors", "frank") },
		func() error { return svc.DeleteUserGroupPermission(ctx, admin, "auditors", "acme") },
		func() error { return svc.DeleteUserGroup(ctx, admin, "auditors") },
	}
	for i, step := range steps {
		if err := step(); err != nil {
			t.Fatalf("step %d: %v", i, err)
		}
	}
	page, err := svc.audit.List(ctx, admin, audit.Query{Limit: 100, Search: "USER_GROUP", OldestFirst: true})
	if err != nil {
		t.Fatal(err)
	}
	var got []string
	for _, e := range page.Events {
		got = append(got, e.Action+" "+e.ObjectType)
		if e.Actor != "root" {
			t.Errorf("event %s %s by %q, want root", e.Action, e.ObjectType, e.Actor)
		}
	}
	want := []string{"create user_group", "create user_group_permission", "update user_group_permission",
		"add user_group_member", "remove user_group_member", "delete user_group_permission", "delete user_group"}
	if strings.Join(got, ", ") != strings.Join(want, ", ") {
		t.Fatalf("user group events, oldest first = %v; want %v", got, want)
	}
	if page.Filtered != int64(len(want)) || page.Total <= page.Filtered {
		t.Fatalf("counts = total %d, filtered %d; want %d filtered of more in all", page.Total, page.Filtered, len(want))
	}
	if grant := page.Events[1]; grant.OldValue != nil || field(t, grant.NewValue, "permission_type") != "MODIFY" {
		t.Fatalf("first grant recorded %s → %s; want NULL → MODIFY", grant.OldValue, grant.NewValue)
	}
	upd := page.Events[2]
	if field(t, upd.OldValue, "permission_type") != "MODIFY" || field(t, upd.NewValue, "permission_type") != "FULL" {
		t.Fatalf("permission update recorded %s → %s; want MODIFY → FULL", upd.OldValue, upd.NewValue)
	}
	del := page.Events[6]
	if del.NewValue != nil || field(t, del.OldValue, "name") != "auditors" {
		t.Fatalf("deletion recorded %s → %s; want the group before, nothing after", del.OldValue, del.NewValue)
	}

	newest, err := svc.audit.List(ctx, admin, audit.Query{Limit: 2, Offset: 1, Search: "user_group"})
	if err != nil || len(newest.Events) != 2 || newest.Events[0].Action+" "+newest.Events[0].ObjectType != "delete user_group_permission" {
		t.Fatalf("second page of one newest first = %+v, %v; want delete user_group_permission first", newest.Events, err)
	}
	frank, err := svc.audit.List(ctx, admin, audit.Query{Limit: 100, Search: "Frank"})
	if err != nil || frank.Filtered != 3 {
		t.Fatalf("events mentioning frank = %d (%v); want his creation, joining and leaving", frank.Filtered, err)
	}
}
