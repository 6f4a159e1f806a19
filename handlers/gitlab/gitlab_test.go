package gitlab_test

import (
	"bytes"
	"encoding/json"
	"errors"
	"net/http"
	"path/filepath"
	"regexp"
	"slices"
	"strings"
	"testing"
	"time"

	gitlab "gitlab.com/gitlab-org/api/client-go"

	"github.com/cairn-registry/cairn/internal/testenv"
	"github.com/cairn-registry/cairn/internal/testserver"
)

func TestMain(m *testing.M) { testenv.Main(m) }

// cairn is a running server with a bootstrapped administrator.
type cairn struct {
	srv   *testserver.Server
	admin *gitlab.Client
}

func startCairn(t *testing.T) *cairn {
	t.Helper()
	s := testserver.Start(t)
	return &cairn{srv: s, admin: s.GitLab(t, s.AdminToken)}
}

// TestGitLabAPILifecycle drives users, groups, projects, members, deploy
// tokens, personal access tokens and trust rules through client-go.
func TestGitLabAPILifecycle(t *testing.T) {
	t.Parallel()
	c := startCairn(t)
	alice, aliceToken := c.srv.CreateUser(t, "alice")
	bob, bobToken := c.srv.CreateUser(t, "bob")
	ac, bc := c.srv.GitLab(t, aliceToken), c.srv.GitLab(t, bobToken)

	me, _, err := ac.Users.CurrentUser()
	if err != nil || me.ID != alice.ID || me.Username != "alice" || me.State != "active" || me.Email != "alice@example.com" {
		t.Fatalf("GET /user as alice = %+v, %v; want alice, active, with her email", me, err)
	}

	// Groups: alice creates acme (and owns it), then acme/net beneath it.
	acme, resp, err := ac.Groups.CreateGroup(&gitlab.CreateGroupOptions{Name: gitlab.Ptr("Acme"), Path: gitlab.Ptr("acme"),
		Visibility: gitlab.Ptr(gitlab.PrivateVisibility), Description: gitlab.Ptr("Acme Corp")})
	testserver.WantStatus(t, "POST /groups acme", resp, err, http.StatusCreated)
	net, resp, err := ac.Groups.CreateGroup(&gitlab.CreateGroupOptions{Name: gitlab.Ptr("Networking"), Path: gitlab.Ptr("net"),
		ParentID: gitlab.Ptr(acme.ID)})
	testserver.WantStatus(t, "POST /groups acme/net", resp, err, http.StatusCreated)
	if net.FullPath != "acme/net" || net.ParentID != acme.ID || net.FullName != "Acme / Networking" || net.Visibility != gitlab.PrivateVisibility {
		t.Fatalf("subgroup = %+v; want full_path acme/net under %d, full_name \"Acme / Networking\", private", net, acme.ID)
	}
	for _, ref := range []any{net.ID, "acme/net"} {
		g, _, err := ac.Groups.GetGroup(ref, nil)
		if err != nil || g.ID != net.ID {
			t.Fatalf("GET /groups/%v = %+v, %v; want group %d", ref, g, err, net.ID)
		}
	}
	subs, resp, err := ac.Groups.ListSubGroups("acme", nil)
	if err != nil || len(subs) != 1 || subs[0].ID != net.ID || resp.CurrentPage != 1 || resp.NextPage != 0 {
		t.Fatalf("GET /groups/acme/subgroups = %v (page %d, next %d), %v; want only acme/net on the one page", subs, testserver.Status(resp), resp.NextPage, err)
	}

	// Projects: acme/net/vpc, read back by id and by encoded path.
	vpc, resp, err := ac.Projects.CreateProject(&gitlab.CreateProjectOptions{Name: gitlab.Ptr("VPC"), Path: gitlab.Ptr("vpc"),
		NamespaceID: gitlab.Ptr(net.ID), Description: gitlab.Ptr("network modules")})
	testserver.WantStatus(t, "POST /projects", resp, err, http.StatusCreated)
	if vpc.PathWithNamespace != "acme/net/vpc" || vpc.NameWithNamespace != "Acme / Networking / VPC" ||
		vpc.WebURL != c.srv.URL+"/acme/net/vpc" || vpc.Visibility != gitlab.PrivateVisibility ||
		vpc.Namespace == nil || vpc.Namespace.ID != net.ID || vpc.Namespace.FullPath != "acme/net" || vpc.Namespace.Kind != "group" {
		t.Fatalf("created project = %+v (namespace %+v); want acme/net/vpc in group %d, private", vpc, vpc.Namespace, net.ID)
	}
	for _, ref := range []any{vpc.ID, "acme/net/vpc"} {
		p, _, err := ac.Projects.GetProject(ref, nil)
		if err != nil || p.ID != vpc.ID {
			t.Fatalf("GET /projects/%v = %+v, %v; want project %d", ref, p, err, vpc.ID)
		}
	}
	if _, resp, err := bc.Projects.GetProject("acme/net/vpc", nil); !errors.Is(err, gitlab.ErrNotFound) {
		t.Fatalf("bob, no member, GET private project = %v, %v; want 404", testserver.Status(resp), err)
	}

	// Partial updates keep what they do not name.
	up, _, err := ac.Projects.EditProject(vpc.ID, &gitlab.EditProjectOptions{Description: gitlab.Ptr("VPC modules")})
	if err != nil || up.Description != "VPC modules" || up.Name != "VPC" || up.Visibility != gitlab.PrivateVisibility {
		t.Fatalf("PUT /projects/:id description = %+v, %v; want the new description, name and visibility kept", up, err)
	}
	ug, _, err := ac.Groups.UpdateGroup("acme", &gitlab.UpdateGroupOptions{Name: gitlab.Ptr("Acme Inc")})
	if err != nil || ug.Name != "Acme Inc" || ug.Description != "Acme Corp" {
		t.Fatalf("PUT /groups/acme name = %+v, %v; want the new name and the description kept", ug, err)
	}

	// Members: bob joins acme as developer, becomes maintainer, leaves.
	m, resp, err := ac.GroupMembers.AddGroupMember("acme", &gitlab.AddGroupMemberOptions{UserID: gitlab.Ptr(bob.ID),
		AccessLevel: gitlab.Ptr(gitlab.DeveloperPermissions)})
	testserver.WantStatus(t, "POST /groups/acme/members", resp, err, http.StatusCreated)
	if m.ID != bob.ID || m.Username != "bob" || m.AccessLevel != gitlab.DeveloperPermissions || m.State != "active" {
		t.Fatalf("added member = %+v; want bob, developer, active", m)
	}
	if _, _, err := bc.Projects.GetProject("acme/net/vpc", nil); err != nil {
		t.Fatalf("bob, developer of acme, GET acme/net/vpc: %v; want the inherited role to show it", err)
	}
	_, resp, err = ac.GroupMembers.AddGroupMember("acme", &gitlab.AddGroupMemberOptions{UserID: gitlab.Ptr(bob.ID),
		AccessLevel: gitlab.Ptr(gitlab.DeveloperPermissions)})
	testserver.WantStatus(t, "POST /groups/acme/members again", resp, err, http.StatusConflict)
	m, _, err = ac.GroupMembers.EditGroupMember("acme", bob.ID, &gitlab.EditGroupMemberOptions{AccessLevel: gitlab.Ptr(gitlab.MaintainerPermissions)})
	if err != nil || m.AccessLevel != gitlab.MaintainerPermissions {
		t.Fatalf("PUT /groups/acme/members/bob = %+v, %v; want maintainer", m, err)
	}
	members, _, err := ac.Groups.ListGroupMembers("acme", nil)
	if err != nil {
		t.Fatal(err)
	}
	levels := map[string]gitlab.AccessLevelValue{}
	for _, m := range members {
		levels[m.Username] = m.AccessLevel
	}
	if len(levels) != 2 || levels["alice"] != gitlab.OwnerPermissions || levels["bob"] != gitlab.MaintainerPermissions {
		t.Fatalf("GET /groups/acme/members = %v; want alice owner and bob maintainer", levels)
	}
	hresp, body := c.srv.Raw(t, "GET", "/api/v4/groups/acme/members?per_page=1", map[string]string{"PRIVATE-TOKEN": aliceToken}, "")
	next := "<" + c.srv.URL + "/api/v4/groups/acme/members?page=2&per_page=1>; rel=\"next\""
	if hresp.StatusCode != http.StatusOK || hresp.Header.Get("X-Next-Page") != "2" || hresp.Header.Get("X-Total") != "2" ||
		!strings.Contains(hresp.Header.Get("Link"), next) {
		t.Fatalf("GET members?per_page=1 = %d, X-Next-Page %q, X-Total %q, Link %q %s; want page 2 of 2 linked as %s",
			hresp.StatusCode, hresp.Header.Get("X-Next-Page"), hresp.Header.Get("X-Total"), hresp.Header.Get("Link"), body, next)
	}

	if gm, _, err := ac.GroupMembers.GetGroupMember("acme", bob.ID); err != nil || gm.AccessLevel != gitlab.MaintainerPermissions {
		t.Fatalf("GET /groups/acme/members/bob = %+v, %v; want maintainer", gm, err)
	}
	resp, err = ac.GroupMembers.RemoveGroupMember("acme", bob.ID, nil)
	testserver.WantStatus(t, "DELETE /groups/acme/members/bob", resp, err, http.StatusNoContent)
	if _, _, err := bc.Projects.GetProject(vpc.ID, nil); !errors.Is(err, gitlab.ErrNotFound) {
		t.Fatalf("bob, removed, GET acme/net/vpc: %v; want 404", err)
	}

	// Project deploy token: the secret once, never in the list; revoked, it stops working.
	dt, resp, err := ac.DeployTokens.CreateProjectDeployToken("acme/net/vpc", &gitlab.CreateProjectDeployTokenOptions{
		Name: gitlab.Ptr("ci"), Scopes: &[]string{"read_package_registry"}, ExpiresAt: gitlab.Ptr(time.Now().Add(48 * time.Hour))})
	testserver.WantStatus(t, "POST /projects/acme%2Fnet%2Fvpc/deploy_tokens", resp, err, http.StatusCreated)
	if !strings.HasPrefix(dt.Token, "cairndt-") || dt.Username == "" || dt.ExpiresAt == nil || dt.Revoked {
		t.Fatalf("created deploy token = %+v; want the cairndt- secret, a username and the expiry", dt)
	}
	dts, _, err := ac.DeployTokens.ListProjectDeployTokens(vpc.ID, nil)
	if err != nil || len(dts) != 1 || dts[0].ID != dt.ID || dts[0].Token != "" {
		t.Fatalf("GET deploy_tokens = %+v, %v; want the one token without its secret", dts, err)
	}
	if _, body := c.srv.Raw(t, "GET", "/api/v4/projects/acme%2Fnet%2Fvpc/deploy_tokens", map[string]string{"PRIVATE-TOKEN": aliceToken}, ""); bytes.Contains(body, []byte(`"token"`)) {
		t.Fatalf("deploy token list carries a token field: %s", body)
	}
	deployHeader := map[string]string{"DEPLOY-TOKEN": dt.Token}
	if resp, body := c.srv.Raw(t, "GET", "/api/v4/projects/acme%2Fnet%2Fvpc", deployHeader, ""); resp.StatusCode != http.StatusOK {
		t.Fatalf("deploy token GET its project = %d %s, want 200", resp.StatusCode, body)
	}
	resp, err = ac.DeployTokens.DeleteProjectDeployToken(vpc.ID, dt.ID)
	testserver.WantStatus(t, "DELETE deploy token", resp, err, http.StatusNoContent)
	if resp, body := c.srv.Raw(t, "GET", "/api/v4/projects/acme%2Fnet%2Fvpc", deployHeader, ""); resp.StatusCode != http.StatusUnauthorized {
		t.Fatalf("revoked deploy token GET its project = %d %s, want 401", resp.StatusCode, body)
	}
	if dts, _, err := ac.DeployTokens.ListProjectDeployTokens(vpc.ID, nil); err != nil || len(dts) != 1 || !dts[0].Revoked {
		t.Fatalf("deploy tokens after revoking = %+v, %v; want it listed as revoked", dts, err)
	}

	// Personal access tokens: listed without secrets, revoked by id or by itself.
	expires := gitlab.ISOTime(time.Now().AddDate(0, 1, 0).UTC().Truncate(24 * time.Hour))
	scratch, resp, err := c.admin.Users.CreatePersonalAccessToken(alice.ID, &gitlab.CreatePersonalAccessTokenOptions{
		Name: gitlab.Ptr("scratch"), Scopes: &[]string{"read_api"}, ExpiresAt: &expires})
	testserver.WantStatus(t, "POST /users/:id/personal_access_tokens", resp, err, http.StatusCreated)
	if scratch.ExpiresAt == nil || time.Time(*scratch.ExpiresAt).Format(time.DateOnly) != time.Time(expires).Format(time.DateOnly) ||
		scratch.UserID != alice.ID || !scratch.Active {
		t.Fatalf("created PAT = %+v; want alice's, active, expiring %s", scratch, time.Time(expires).Format(time.DateOnly))
	}
	pats, _, err := ac.PersonalAccessTokens.ListPersonalAccessTokens(nil)
	if err != nil {
		t.Fatal(err)
	}
	names := []string{}
	for _, p := range pats {
		if p.Token != "" || p.UserID != alice.ID {
			t.Fatalf("alice's token list holds %+v; want only hers, without secrets", p)
		}
		names = append(names, p.Name)
	}
	if !slices.Equal(names, []string{"alice-api", "scratch"}) {
		t.Fatalf("alice's tokens = %v, want [alice-api scratch]", names)
	}
	sc := c.srv.GitLab(t, scratch.Token)
	if _, _, err := sc.Users.CurrentUser(); err != nil {
		t.Fatalf("GET /user with the new token: %v", err)
	}
	resp, err = ac.PersonalAccessTokens.RevokePersonalAccessTokenByID(scratch.ID)
	testserver.WantStatus(t, "DELETE /personal_access_tokens/:id", resp, err, http.StatusNoContent)
	_, resp, err = sc.Users.CurrentUser()
	testserver.WantStatus(t, "GET /user with a revoked token", resp, err, http.StatusUnauthorized)

	selfTok, _, err := ac.Users.CreatePersonalAccessTokenForCurrentUser(&gitlab.CreatePersonalAccessTokenForCurrentUserOptions{
		Name: gitlab.Ptr("self"), Scopes: &[]string{"api"}})
	if err != nil {
		t.Fatalf("POST /user/personal_access_tokens: %v", err)
	}
	st := c.srv.GitLab(t, selfTok.Token)
	if got, _, err := st.PersonalAccessTokens.GetSinglePersonalAccessToken(); err != nil || got.ID != selfTok.ID {
		t.Fatalf("GET /personal_access_tokens/self = %+v, %v; want token %d", got, err, selfTok.ID)
	}
	resp, err = st.PersonalAccessTokens.RevokePersonalAccessTokenSelf()
	testserver.WantStatus(t, "DELETE /personal_access_tokens/self", resp, err, http.StatusNoContent)
	_, resp, err = st.Users.CurrentUser()
	testserver.WantStatus(t, "GET /user after revoking itself", resp, err, http.StatusUnauthorized)

	// Cairn's own endpoints, through client-go's generic request.
	settings := map[string]any{}
	doJSON(t, ac, http.MethodPut, "groups/acme/package_settings", map[string]any{"terraform_module_duplicate_exception_regex": "-beta$"}, &settings, http.StatusOK)
	if settings["terraform_module_duplicates_allowed"] != false || settings["terraform_module_duplicate_exception_regex"] != "-beta$" {
		t.Fatalf("PUT package_settings = %v; want duplicates refused except -beta$", settings)
	}
	if g, _, err := ac.Groups.GetGroup("acme", nil); err != nil || g.Name != "Acme Inc" || g.Description != "Acme Corp" {
		t.Fatalf("group after PUT package_settings = %+v, %v; want name and description untouched", g, err)
	}
	rule := map[string]any{}
	doJSON(t, ac, http.MethodPost, "projects/acme%2Fnet%2Fvpc/ci_trust_rules", map[string]any{
		"issuer": "https://gitlab.example.com", "audience": "https://cairn.example.com",
		"conditions": []map[string]string{{"claim": "project_path", "op": "equals", "value": "acme/vpc"}},
	}, &rule, http.StatusCreated)
	var rules []map[string]any
	doJSON(t, ac, http.MethodGet, "projects/acme%2Fnet%2Fvpc/ci_trust_rules", nil, &rules, http.StatusOK)
	if len(rules) != 1 || rules[0]["issuer"] != "https://gitlab.example.com" || rules[0]["id"] != rule["id"] {
		t.Fatalf("GET ci_trust_rules = %v; want the one rule just created (%v)", rules, rule)
	}
	doJSON(t, ac, http.MethodDelete, "projects/acme%2Fnet%2Fvpc/ci_trust_rules/"+jsonNumber(rule["id"]), nil, nil, http.StatusNoContent)
	doJSON(t, ac, http.MethodGet, "projects/acme%2Fnet%2Fvpc/ci_trust_rules", nil, &rules, http.StatusOK)
	if len(rules) != 0 {
		t.Fatalf("GET ci_trust_rules after DELETE = %v, want none", rules)
	}

	// Wire shapes.
	for _, g := range []struct{ name, path, token string }{
		{"user", "/api/v4/user", aliceToken},
		{"group", "/api/v4/groups/acme%2Fnet", aliceToken},
		{"project", "/api/v4/projects/acme%2Fnet%2Fvpc", aliceToken},
		{"members", "/api/v4/groups/acme/members", aliceToken},
		{"deploy_tokens", "/api/v4/projects/acme%2Fnet%2Fvpc/deploy_tokens", aliceToken},
	} {
		resp, body := c.srv.Raw(t, "GET", g.path, map[string]string{"PRIVATE-TOKEN": g.token}, "")
		if resp.StatusCode != http.StatusOK {
			t.Fatalf("GET %s = %d %s, want 200", g.path, resp.StatusCode, body)
		}
		golden(t, g.name, normalize(t, body, c.srv.URL))
	}

	// Pagination: one group a page until X-Next-Page is empty.
	var seen []string
	opt := &gitlab.ListGroupsOptions{ListOptions: gitlab.ListOptions{PerPage: 1, Page: 1}}
	for {
		page, resp, err := c.admin.Groups.ListGroups(opt)
		if err != nil {
			t.Fatal(err)
		}
		if len(page) > 1 || resp.ItemsPerPage != 1 || resp.CurrentPage != opt.Page {
			t.Fatalf("GET /groups?page=%d&per_page=1 = %d groups (X-Per-Page %d, X-Page %d)", opt.Page, len(page), resp.ItemsPerPage, resp.CurrentPage)
		}
		for _, g := range page {
			seen = append(seen, g.FullPath)
		}
		if resp.NextPage == 0 {
			break
		}
		if opt.Page = resp.NextPage; opt.Page > 10 {
			t.Fatal("pagination does not end")
		}
	}
	if slices.Sort(seen); !slices.Equal(seen, []string{"acme", "acme/net"}) {
		t.Fatalf("paged through groups %v, want [acme acme/net]", seen)
	}
	// Deleting answers 202 like GitLab.
	resp, err = ac.Projects.DeleteProject("acme/net/vpc", nil)
	testserver.WantStatus(t, "DELETE /projects/acme%2Fnet%2Fvpc", resp, err, http.StatusAccepted)
	if _, _, err := ac.Projects.GetProject(vpc.ID, nil); !errors.Is(err, gitlab.ErrNotFound) {
		t.Fatalf("GET deleted project: %v, want 404", err)
	}
	resp, err = ac.Groups.DeleteGroup("acme/net", nil)
	testserver.WantStatus(t, "DELETE /groups/acme%2Fnet", resp, err, http.StatusAccepted)

	// Every change left an audit event naming its actor.
	for _, e := range []struct{ action, object, actor string }{
		{"create", "user", "root"},
		{"create", "personal_access_token", "root"},
		{"create", "group", "alice"},
		{"update", "group", "alice"},
		{"delete", "group", "alice"},
		{"create", "project", "alice"},
		{"update", "project", "alice"},
		{"delete", "project", "alice"},
		{"add", "group_member", "alice"},
		{"update", "group_member", "alice"},
		{"remove", "group_member", "alice"},
		{"create", "deploy_token", "alice"},
		{"revoke", "deploy_token", "alice"},
		{"create", "personal_access_token", "alice"},
		{"revoke", "personal_access_token", "alice"},
		{"create", "job_trust_rule", "alice"},
		{"delete", "job_trust_rule", "alice"},
	} {
		if n := c.srv.AuditEvents(t, e.action, e.object, e.actor); n == 0 {
			t.Errorf("no audit event %s %s by %s", e.action, e.object, e.actor)
		}
	}
}

// TestGitLabAPIRefusals checks who is told 400, 401, 403, 404 and 409.
func TestGitLabAPIRefusals(t *testing.T) {
	t.Parallel()
	c := startCairn(t)
	alice, aliceToken := c.srv.CreateUser(t, "alice")
	bob, bobToken := c.srv.CreateUser(t, "bob")
	carol, carolToken := c.srv.CreateUser(t, "carol")
	ac, bc, cc, anon := c.srv.GitLab(t, aliceToken), c.srv.GitLab(t, bobToken), c.srv.GitLab(t, carolToken), c.srv.GitLab(t, "")

	acme, _, err := ac.Groups.CreateGroup(&gitlab.CreateGroupOptions{Name: gitlab.Ptr("Acme"), Path: gitlab.Ptr("acme")})
	if err != nil {
		t.Fatal(err)
	}
	vpc, _, err := ac.Projects.CreateProject(&gitlab.CreateProjectOptions{Path: gitlab.Ptr("vpc"), NamespaceID: gitlab.Ptr(acme.ID)})
	if err != nil {
		t.Fatal(err)
	}
	if _, _, err := ac.ProjectMembers.AddProjectMember(vpc.ID, &gitlab.AddProjectMemberOptions{UserID: carol.ID,
		AccessLevel: gitlab.Ptr(gitlab.GuestPermissions)}); err != nil {
		t.Fatalf("adding carol as guest: %v", err)
	}

	for _, tc := range []struct {
		name string
		call func() (*gitlab.Response, error)
		want int
		// message, if set, must appear in the error body.
		message string
	}{
		{"no member reads a private project", func() (*gitlab.Response, error) {
			_, r, err := bc.Projects.GetProject("acme/vpc", nil)
			return r, err
		}, http.StatusNotFound, ""},
		{"anonymous reads a private project", func() (*gitlab.Response, error) {
			_, r, err := anon.Projects.GetProject(vpc.ID, nil)
			return r, err
		}, http.StatusUnauthorized, ""},
		{"anonymous asks who it is", func() (*gitlab.Response, error) {
			_, r, err := anon.Users.CurrentUser()
			return r, err
		}, http.StatusUnauthorized, ""},
		{"guest creates a deploy token", func() (*gitlab.Response, error) {
			_, r, err := cc.DeployTokens.CreateProjectDeployToken(vpc.ID, &gitlab.CreateProjectDeployTokenOptions{
				Name: gitlab.Ptr("x"), Scopes: &[]string{"read_package_registry"}})
			return r, err
		}, http.StatusForbidden, ""},
		{"guest edits the project", func() (*gitlab.Response, error) {
			_, r, err := cc.Projects.EditProject(vpc.ID, &gitlab.EditProjectOptions{Description: gitlab.Ptr("x")})
			return r, err
		}, http.StatusForbidden, ""},
		{"non-admin creates a user", func() (*gitlab.Response, error) {
			_, r, err := ac.Users.CreateUser(&gitlab.CreateUserOptions{Username: gitlab.Ptr("mallory"), Email: gitlab.Ptr("m@example.com")})
			return r, err
		}, http.StatusForbidden, ""},
		{"non-admin lists users", func() (*gitlab.Response, error) {
			_, r, err := bc.Users.ListUsers(nil)
			return r, err
		}, http.StatusForbidden, ""},
		{"non-admin reads another user", func() (*gitlab.Response, error) {
			_, r, err := bc.Users.GetUser(alice.ID, gitlab.GetUsersOptions{})
			return r, err
		}, http.StatusNotFound, ""},
		{"non-admin blocks a user", func() (*gitlab.Response, error) {
			err := bc.Users.BlockUser(alice.ID)
			return responseOf(err), err
		}, http.StatusForbidden, ""},
		{"invalid group path", func() (*gitlab.Response, error) {
			_, r, err := ac.Groups.CreateGroup(&gitlab.CreateGroupOptions{Name: gitlab.Ptr("Bad"), Path: gitlab.Ptr("-bad")})
			return r, err
		}, http.StatusBadRequest, "path"},
		{"duplicate group path", func() (*gitlab.Response, error) {
			_, r, err := bc.Groups.CreateGroup(&gitlab.CreateGroupOptions{Name: gitlab.Ptr("Acme"), Path: gitlab.Ptr("acme")})
			return r, err
		}, http.StatusConflict, "has already been taken"},
		{"duplicate project path", func() (*gitlab.Response, error) {
			_, r, err := ac.Projects.CreateProject(&gitlab.CreateProjectOptions{Path: gitlab.Ptr("vpc"), NamespaceID: gitlab.Ptr(acme.ID)})
			return r, err
		}, http.StatusConflict, "has already been taken"},
		{"duplicate username", func() (*gitlab.Response, error) {
			_, r, err := c.admin.Users.CreateUser(&gitlab.CreateUserOptions{Username: gitlab.Ptr("alice"), Email: gitlab.Ptr("a2@example.com")})
			return r, err
		}, http.StatusConflict, "has already been taken"},
		{"project without a namespace", func() (*gitlab.Response, error) {
			_, r, err := ac.Projects.CreateProject(&gitlab.CreateProjectOptions{Path: gitlab.Ptr("lonely")})
			return r, err
		}, http.StatusBadRequest, "namespace_id"},
		{"member without access_level", func() (*gitlab.Response, error) {
			_, r, err := ac.GroupMembers.AddGroupMember("acme", &gitlab.AddGroupMemberOptions{UserID: gitlab.Ptr(bob.ID)})
			return r, err
		}, http.StatusBadRequest, "access_level"},
		{"member with an unknown access_level", func() (*gitlab.Response, error) {
			_, r, err := ac.GroupMembers.AddGroupMember("acme", &gitlab.AddGroupMemberOptions{UserID: gitlab.Ptr(bob.ID),
				AccessLevel: gitlab.Ptr(gitlab.AccessLevelValue(35))})
			return r, err
		}, http.StatusBadRequest, "access_level"},
		{"PAT expiring in the past", func() (*gitlab.Response, error) {
			past := gitlab.ISOTime(time.Now().AddDate(0, 0, -2))
			_, r, err := c.admin.Users.CreatePersonalAccessToken(bob.ID, &gitlab.CreatePersonalAccessTokenOptions{
				Name: gitlab.Ptr("old"), Scopes: &[]string{"api"}, ExpiresAt: &past})
			return r, err
		}, http.StatusBadRequest, "expires_at"},
		{"PAT with an unknown scope", func() (*gitlab.Response, error) {
			_, r, err := c.admin.Users.CreatePersonalAccessToken(bob.ID, &gitlab.CreatePersonalAccessTokenOptions{
				Name: gitlab.Ptr("sudo"), Scopes: &[]string{"sudo"}})
			return r, err
		}, http.StatusBadRequest, "scope"},
		{"PRIVATE-TOKEN and JOB-TOKEN together", func() (*gitlab.Response, error) {
			_, r, err := ac.Users.CurrentUser(gitlab.WithHeader("JOB-TOKEN", "eyJhbGciOiJSUzI1NiJ9.e30.c2ln"))
			return r, err
		}, http.StatusBadRequest, "Found more than one set of credentials"},
	} {
		t.Run(tc.name, func(t *testing.T) {
			resp, err := tc.call()
			testserver.WantStatus(t, tc.name, resp, err, tc.want)
			if tc.message != "" && (err == nil || !strings.Contains(err.Error(), tc.message)) {
				t.Fatalf("%s: error %v, want a message containing %q", tc.name, err, tc.message)
			}
		})
	}

	t.Run("invalid PRIVATE-TOKEN", func(t *testing.T) {
		resp, body := c.srv.Raw(t, "GET", "/api/v4/user", map[string]string{"PRIVATE-TOKEN": "cairnpat-not-a-real-token"}, "")
		if resp.StatusCode != http.StatusUnauthorized || !strings.HasPrefix(resp.Header.Get("WWW-Authenticate"), "Bearer") {
			t.Fatalf("GET /user with an unknown token = %d (WWW-Authenticate %q) %s; want 401 with a Bearer challenge",
				resp.StatusCode, resp.Header.Get("WWW-Authenticate"), body)
		}
	})

	t.Run("non-integer per_page", func(t *testing.T) {
		resp, body := c.srv.Raw(t, "GET", "/api/v4/groups?per_page=many", map[string]string{"PRIVATE-TOKEN": aliceToken}, "")
		if resp.StatusCode != http.StatusBadRequest || !bytes.Contains(body, []byte("per_page")) {
			t.Fatalf("GET /groups?per_page=many = %d %s; want 400 naming per_page", resp.StatusCode, body)
		}
	})

	t.Run("form-encoded body", func(t *testing.T) {
		resp, body := c.srv.Raw(t, "POST", "/api/v4/groups", map[string]string{"PRIVATE-TOKEN": aliceToken,
			"Content-Type": "application/x-www-form-urlencoded"}, "path=formed&name=Form+Group&visibility=internal")
		if resp.StatusCode != http.StatusCreated || !bytes.Contains(body, []byte(`"full_name":"Form Group"`)) ||
			!bytes.Contains(body, []byte(`"visibility":"internal"`)) {
			t.Fatalf("POST /groups form-encoded = %d %s; want 201, the name and visibility applied", resp.StatusCode, body)
		}
		resp, body = c.srv.Raw(t, "POST", "/api/v4/user/personal_access_tokens", map[string]string{"PRIVATE-TOKEN": aliceToken,
			"Content-Type": "application/x-www-form-urlencoded"}, "name=formed&scopes=read_api&scopes=api&expires_at=2099-01-02")
		if resp.StatusCode != http.StatusCreated || !bytes.Contains(body, []byte(`"scopes":["read_api","api"]`)) ||
			!bytes.Contains(body, []byte(`"expires_at":"2099-01-02"`)) {
			t.Fatalf("POST /user/personal_access_tokens form-encoded = %d %s; want 201, both scopes and the date", resp.StatusCode, body)
		}
	})

	t.Run("malformed JSON body", func(t *testing.T) {
		resp, body := c.srv.Raw(t, "POST", "/api/v4/groups", map[string]string{"PRIVATE-TOKEN": aliceToken}, `{"path": 12}`)
		if resp.StatusCode != http.StatusBadRequest || !bytes.Contains(body, []byte("path")) {
			t.Fatalf("POST /groups with a numeric path = %d %s; want 400 naming path", resp.StatusCode, body)
		}
	})

	t.Run("blocked user's token", func(t *testing.T) {
		if _, _, err := cc.Users.CurrentUser(); err != nil {
			t.Fatalf("carol before blocking: %v", err)
		}
		if err := c.admin.Users.BlockUser(carol.ID); err != nil {
			t.Fatalf("POST /users/:id/block: %v", err)
		}
		_, resp, err := cc.Users.CurrentUser()
		testserver.WantStatus(t, "GET /user as blocked carol", resp, err, http.StatusUnauthorized)
		if u, _, err := c.admin.Users.GetUser(carol.ID, gitlab.GetUsersOptions{}); err != nil || u.State != "blocked" {
			t.Fatalf("GET /users/carol = %+v, %v; want state blocked", u, err)
		}
		if err := c.admin.Users.UnblockUser(carol.ID); err != nil {
			t.Fatalf("POST /users/:id/unblock: %v", err)
		}
		if _, _, err := cc.Users.CurrentUser(); err != nil {
			t.Fatalf("carol after unblocking: %v", err)
		}
		if c.srv.AuditEvents(t, "block", "user", "root") == 0 || c.srv.AuditEvents(t, "unblock", "user", "root") == 0 {
			t.Fatal("blocking and unblocking left no audit events")
		}
	})
}

// responseOf digs the response out of an error from a call that returns
// only an error (BlockUser).
func responseOf(err error) *gitlab.Response {
	var er *gitlab.ErrorResponse
	if errors.As(err, &er) {
		return &gitlab.Response{Response: er.Response}
	}
	return nil
}

// doJSON sends a request to one of Cairn's own endpoints through
// client-go's generic request and decodes the answer into out.
func doJSON(t *testing.T, gl *gitlab.Client, method, path string, body, out any, want int) {
	t.Helper()
	req, err := gl.NewRequest(method, path, body, nil)
	if err != nil {
		t.Fatal(err)
	}
	resp, err := gl.Do(req, out)
	testserver.WantStatus(t, method+" "+path, resp, err, want)
}

func jsonNumber(v any) string {
	b, _ := json.Marshal(v)
	return string(b)
}

var timestamp = regexp.MustCompile(`^\d{4}-\d{2}-\d{2}(T[0-9:.]+(Z|[+-]\d{2}:\d{2}))?$`)

// normalize replaces what changes between runs (times, the server's URL)
// so a response can be compared with a golden file.
func normalize(t *testing.T, body []byte, baseURL string) []byte {
	t.Helper()
	var v any
	if err := json.Unmarshal(body, &v); err != nil {
		t.Fatalf("response is not JSON: %v: %s", err, body)
	}
	var walk func(any) any
	walk = func(v any) any {
		switch x := v.(type) {
		case map[string]any:
			for k, e := range x {
				x[k] = walk(e)
			}
		case []any:
			for i, e := range x {
				x[i] = walk(e)
			}
		case string:
			if timestamp.MatchString(x) {
				return "<time>"
			}
			return strings.ReplaceAll(x, baseURL, "https://cairn.example")
		}
		return v
	}
	var out bytes.Buffer
	enc := json.NewEncoder(&out)
	enc.SetEscapeHTML(false)
	enc.SetIndent("", "  ")
	if err := enc.Encode(walk(v)); err != nil {
		t.Fatal(err)
	}
	return out.Bytes()
}

// golden compares got with testdata/<name>.json (rewritten with -update).
func golden(t *testing.T, name string, got []byte) {
	t.Helper()
	testenv.Golden(t, filepath.Join("testdata", name+".json"), got)
}
