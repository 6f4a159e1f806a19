package gitlab_test

import (
	"context"
	"errors"
	"net/http"
	"testing"

	"github.com/jackc/pgx/v5"
	gitlab "gitlab.com/gitlab-org/api/client-go"

	"github.com/cairn-registry/cairn/internal/testserver"
)

// TestMaintainerCannotDemoteOwner: only owners (and administrators) may
// change or remove an owner, of a project or of a group; a maintainer —
// here one by inheritance from the group — is refused with 403 and nothing
// changes.
func TestMaintainerCannotDemoteOwner(t *testing.T) {
	t.Parallel()
	c := startCairn(t)
	_, oliviaToken := c.srv.CreateUser(t, "olivia") // creates acme: its owner
	max, maxToken := c.srv.CreateUser(t, "max")     // maintainer of acme
	gus, _ := c.srv.CreateUser(t, "gus")            // second owner of acme
	pam, _ := c.srv.CreateUser(t, "pam")            // owner of acme/vpc
	olivia, mc := c.srv.GitLab(t, oliviaToken), c.srv.GitLab(t, maxToken)

	acme, _, err := olivia.Groups.CreateGroup(&gitlab.CreateGroupOptions{Name: gitlab.Ptr("Acme"), Path: gitlab.Ptr("acme")})
	if err != nil {
		t.Fatal(err)
	}
	vpc, _, err := olivia.Projects.CreateProject(&gitlab.CreateProjectOptions{Path: gitlab.Ptr("vpc"), NamespaceID: gitlab.Ptr(acme.ID)})
	if err != nil {
		t.Fatal(err)
	}
	for _, m := range []struct {
		user  int64
		level gitlab.AccessLevelValue
	}{{max.ID, gitlab.MaintainerPermissions}, {gus.ID, gitlab.OwnerPermissions}} {
		if _, _, err := olivia.GroupMembers.AddGroupMember(acme.ID, &gitlab.AddGroupMemberOptions{UserID: gitlab.Ptr(m.user),
			AccessLevel: gitlab.Ptr(m.level)}); err != nil {
			t.Fatalf("adding user %d to acme: %v", m.user, err)
		}
	}
	addPam := func(gl *gitlab.Client) {
		t.Helper()
		_, resp, err := gl.ProjectMembers.AddProjectMember(vpc.ID, &gitlab.AddProjectMemberOptions{UserID: pam.ID,
			AccessLevel: gitlab.Ptr(gitlab.OwnerPermissions)})
		testserver.WantStatus(t, "owner adds pam as owner of acme/vpc", resp, err, http.StatusCreated)
	}
	addPam(olivia)

	// level is the direct membership as stored (0: none).
	level := func(column string, id, user int64) int32 {
		t.Helper()
		var n int32
		err := c.srv.Pool.QueryRow(context.Background(),
			`SELECT access_level FROM members WHERE `+column+` = $1 AND user_id = $2`, id, user).Scan(&n)
		if errors.Is(err, pgx.ErrNoRows) {
			return 0
		} else if err != nil {
			t.Fatal(err)
		}
		return n
	}
	projectLevel := func(user int64) int32 { return level("project_id", vpc.ID, user) }
	groupLevel := func(user int64) int32 { return level("group_id", acme.ID, user) }

	// The maintainer is refused each change, and nothing changes.
	for _, tc := range []struct {
		name string
		call func() (*gitlab.Response, error)
	}{
		{"demote a project owner", func() (*gitlab.Response, error) {
			_, r, err := mc.ProjectMembers.EditProjectMember(vpc.ID, pam.ID, &gitlab.EditProjectMemberOptions{
				AccessLevel: gitlab.Ptr(gitlab.GuestPermissions)})
			return r, err
		}},
		{"remove a project owner", func() (*gitlab.Response, error) {
			return mc.ProjectMembers.DeleteProjectMember(vpc.ID, pam.ID)
		}},
		{"demote a group owner", func() (*gitlab.Response, error) {
			_, r, err := mc.GroupMembers.EditGroupMember(acme.ID, gus.ID, &gitlab.EditGroupMemberOptions{
				AccessLevel: gitlab.Ptr(gitlab.GuestPermissions)})
			return r, err
		}},
		{"remove a group owner", func() (*gitlab.Response, error) {
			return mc.GroupMembers.RemoveGroupMember(acme.ID, gus.ID, nil)
		}},
	} {
		if resp, err := tc.call(); resp == nil || resp.StatusCode != http.StatusForbidden {
			t.Errorf("maintainer: %s = %v (%v), want 403", tc.name, testserver.Status(resp), err)
		}
	}
	if got := projectLevel(pam.ID); got != int32(gitlab.OwnerPermissions) {
		t.Errorf("pam on acme/vpc after the maintainer's attempts = %d, want owner (50)", got)
	}
	if got := groupLevel(gus.ID); got != int32(gitlab.OwnerPermissions) {
		t.Fatalf("gus on acme after the maintainer's attempts = %d, want owner (50)", got)
	}

	// An owner and an administrator can demote and remove owners.
	for _, who := range []struct {
		name string
		gl   *gitlab.Client
	}{{"owner", olivia}, {"admin", c.admin}} {
		if who.name == "admin" {
			addPam(olivia)
			if _, _, err := olivia.GroupMembers.EditGroupMember(acme.ID, gus.ID, &gitlab.EditGroupMemberOptions{
				AccessLevel: gitlab.Ptr(gitlab.OwnerPermissions)}); err != nil {
				t.Fatalf("owner re-promotes gus: %v", err)
			}
		}
		_, resp, err := who.gl.ProjectMembers.EditProjectMember(vpc.ID, pam.ID, &gitlab.EditProjectMemberOptions{
			AccessLevel: gitlab.Ptr(gitlab.GuestPermissions)})
		testserver.WantStatus(t, who.name+" demotes a project owner", resp, err, http.StatusOK)
		if got := projectLevel(pam.ID); got != int32(gitlab.GuestPermissions) {
			t.Fatalf("pam on acme/vpc after the %s demoted her = %d, want guest (10)", who.name, got)
		}
		resp, err = who.gl.ProjectMembers.DeleteProjectMember(vpc.ID, pam.ID)
		testserver.WantStatus(t, who.name+" removes a demoted project owner", resp, err, http.StatusNoContent)

		addPam(olivia)
		resp, err = who.gl.ProjectMembers.DeleteProjectMember(vpc.ID, pam.ID)
		testserver.WantStatus(t, who.name+" removes a project owner", resp, err, http.StatusNoContent)
		if got := projectLevel(pam.ID); got != 0 {
			t.Fatalf("pam on acme/vpc after the %s removed her = %d, want no membership", who.name, got)
		}

		_, resp, err = who.gl.GroupMembers.EditGroupMember(acme.ID, gus.ID, &gitlab.EditGroupMemberOptions{
			AccessLevel: gitlab.Ptr(gitlab.GuestPermissions)})
		testserver.WantStatus(t, who.name+" demotes a group owner", resp, err, http.StatusOK)
		if got := groupLevel(gus.ID); got != int32(gitlab.GuestPermissions) {
			t.Fatalf("gus on acme after the %s demoted him = %d, want guest (10)", who.name, got)
		}
	}
	// Removing a (current) group owner: the administrator, then an owner.
	for _, who := range []struct {
		name string
		gl   *gitlab.Client
	}{{"admin", c.admin}, {"owner", olivia}} {
		if _, _, err := olivia.GroupMembers.EditGroupMember(acme.ID, gus.ID, &gitlab.EditGroupMemberOptions{
			AccessLevel: gitlab.Ptr(gitlab.OwnerPermissions)}); err != nil {
			t.Fatalf("owner re-promotes gus: %v", err)
		}
		resp, err := who.gl.GroupMembers.RemoveGroupMember(acme.ID, gus.ID, nil)
		testserver.WantStatus(t, who.name+" removes a group owner", resp, err, http.StatusNoContent)
		if got := groupLevel(gus.ID); got != 0 {
			t.Fatalf("gus on acme after the %s removed him = %d, want no membership", who.name, got)
		}
		if _, _, err := olivia.GroupMembers.AddGroupMember(acme.ID, &gitlab.AddGroupMemberOptions{UserID: gitlab.Ptr(gus.ID),
			AccessLevel: gitlab.Ptr(gitlab.GuestPermissions)}); err != nil {
			t.Fatalf("owner re-adds gus: %v", err)
		}
	}

	// The namespace keeps its last owner, whoever asks.
	oliviaUser, _, err := olivia.Users.CurrentUser()
	if err != nil {
		t.Fatal(err)
	}
	resp, err := c.admin.GroupMembers.RemoveGroupMember(acme.ID, oliviaUser.ID, nil)
	testserver.WantStatus(t, "admin removes the last owner", resp, err, http.StatusBadRequest)
	if got := groupLevel(oliviaUser.ID); got != int32(gitlab.OwnerPermissions) {
		t.Fatalf("olivia on acme after removing the last owner was refused = %d, want owner (50)", got)
	}
}
