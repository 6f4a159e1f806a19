package terrareg_test

import (
	"context"
	"encoding/json"
	"net/http"
	"reflect"
	"regexp"
	"strings"
	"testing"
	"time"

	"github.com/cairn-registry/cairn/internal/testenv"
	"github.com/cairn-registry/cairn/internal/testserver"
	gitlab "gitlab.com/gitlab-org/api/client-go"
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

// traCall is one request to Terrareg's administration API.
type traCall struct {
	method, path string
	// token is sent as X-Terrareg-ApiKey ("" is anonymous).
	token string
	body  string
}

// do sends the call and returns the status and the decoded JSON body.
func (tc traCall) do(t *testing.T, c *cairn) (int, any, []byte) {
	t.Helper()
	header := map[string]string{}
	if tc.token != "" {
		header["X-Terrareg-ApiKey"] = tc.token
	}
	resp, body := c.srv.Raw(t, tc.method, tc.path, header, tc.body)
	var v any
	if err := json.Unmarshal(body, &v); err != nil {
		t.Fatalf("%s %s = %d, body is not JSON: %v: %s", tc.method, tc.path, resp.StatusCode, err, body)
	}
	return resp.StatusCode, v, body
}

// expect sends the call and fails unless it answers code with want (a JSON
// document compared exactly; "" skips the body).
func (tc traCall) expect(t *testing.T, c *cairn, code int, want string) any {
	t.Helper()
	got, v, body := tc.do(t, c)
	if got != code {
		t.Fatalf("%s %s = %d %s; want %d %s", tc.method, tc.path, got, body, code, want)
	}
	if want != "" {
		var w any
		if err := json.Unmarshal([]byte(want), &w); err != nil {
			t.Fatalf("bad expected JSON %s: %v", want, err)
		}
		if !reflect.DeepEqual(v, w) {
			t.Fatalf("%s %s = %d %s; want %s", tc.method, tc.path, got, body, want)
		}
	}
	return v
}

// adminToken mints another api token for the bootstrapped root.
func (c *cairn) adminToken(t *testing.T) string {
	t.Helper()
	_, tok, err := c.srv.Bootstrap(context.Background(), "root")
	if err != nil {
		t.Fatal(err)
	}
	return tok
}

const (
	traGroups = "/v1/terrareg/user-groups"
	traAuth   = "/v1/terrareg/auth/admin/is_authenticated"
	traAudit  = "/v1/terrareg/audit-history"
)

// TestTerraregAdminLifecycle drives user groups, their permissions and
// members over HTTP, and checks what they grant on the GitLab surface and
// in is_authenticated.
func TestTerraregAdminLifecycle(t *testing.T) {
	t.Parallel()
	c := startCairn(t)
	root := c.adminToken(t)
	_, aliceToken := c.srv.CreateUser(t, "alice")
	_, bobToken := c.srv.CreateUser(t, "bob")
	ac := c.srv.GitLab(t, aliceToken)

	acme, _, err := c.admin.Groups.CreateGroup(&gitlab.CreateGroupOptions{Name: gitlab.Ptr("Acme"), Path: gitlab.Ptr("acme")})
	if err != nil {
		t.Fatal(err)
	}
	for _, p := range []string{"vpc", "web"} {
		if _, _, err := c.admin.Projects.CreateProject(&gitlab.CreateProjectOptions{Path: gitlab.Ptr(p), NamespaceID: gitlab.Ptr(acme.ID)}); err != nil {
			t.Fatal(err)
		}
	}

	traCall{"GET", traAuth, "", ""}.expect(t, c, http.StatusOK,
		`{"authenticated":false,"read_access":true,"site_admin":false,"namespace_permissions":{}}`)
	traCall{"GET", traAuth, aliceToken, ""}.expect(t, c, http.StatusOK,
		`{"authenticated":true,"read_access":true,"site_admin":false,"namespace_permissions":{}}`)
	traCall{"GET", traAuth, root, ""}.expect(t, c, http.StatusOK,
		`{"authenticated":true,"read_access":true,"site_admin":true,"namespace_permissions":{"acme":"FULL"}}`)

	// platform grants MODIFY on acme to alice.
	traCall{"GET", traGroups, root, ""}.expect(t, c, http.StatusOK, `[]`)
	traCall{"POST", traGroups, root, `{"name":"platform","site_admin":false}`}.expect(t, c, http.StatusCreated,
		`{"name":"platform","site_admin":false}`)
	traCall{"POST", traGroups + "/platform/permissions/acme", root, `{"permission_type":"MODIFY"}`}.expect(t, c, http.StatusCreated,
		`{"user_group":"platform","namespace":"acme","permission_type":"MODIFY"}`)
	traCall{"POST", traGroups + "/platform/members", root, `{"username":"alice"}`}.expect(t, c, http.StatusCreated,
		`{"user_group":"platform","username":"alice","name":"Alice"}`)
	traCall{"GET", traGroups + "/platform/members", root, ""}.expect(t, c, http.StatusOK,
		`[{"user_group":"platform","username":"alice","name":"Alice"}]`)
	traCall{"GET", traGroups, root, ""}.expect(t, c, http.StatusOK,
		`[{"name":"platform","site_admin":false,"namespace_permissions":[{"namespace":"acme","permission_type":"MODIFY"}]}]`)
	traCall{"GET", traAuth, aliceToken, ""}.expect(t, c, http.StatusOK,
		`{"authenticated":true,"read_access":true,"site_admin":false,"namespace_permissions":{"acme":"MODIFY"}}`)
	if _, _, err := ac.Projects.GetProject("acme/vpc", nil); err != nil {
		t.Fatalf("alice, MODIFY on acme, GET acme/vpc: %v", err)
	}
	resp, err := ac.Projects.DeleteProject("acme/web", nil)
	testserver.WantStatus(t, "alice, MODIFY on acme, DELETE acme/web", resp, err, http.StatusForbidden)

	// FULL replaces MODIFY: now alice may delete.
	traCall{"POST", traGroups + "/platform/permissions/acme", root, `{"permission_type":"FULL"}`}.expect(t, c, http.StatusCreated,
		`{"user_group":"platform","namespace":"acme","permission_type":"FULL"}`)
	traCall{"GET", traAuth, aliceToken, ""}.expect(t, c, http.StatusOK,
		`{"authenticated":true,"read_access":true,"site_admin":false,"namespace_permissions":{"acme":"FULL"}}`)
	resp, err = ac.Projects.DeleteProject("acme/web", nil)
	testserver.WantStatus(t, "alice, FULL on acme, DELETE acme/web", resp, err, http.StatusAccepted)

	// A site-admin user group makes bob an administrator.
	traCall{"POST", traGroups, root, `{"name":"sso/Cairn Admins","site_admin":true}`}.expect(t, c, http.StatusCreated,
		`{"name":"sso/Cairn Admins","site_admin":true}`)
	admins := traGroups + "/sso%2FCairn%20Admins"
	traCall{"POST", admins + "/members", root, `{"username":"bob"}`}.expect(t, c, http.StatusCreated, "")
	traCall{"GET", traAuth, bobToken, ""}.expect(t, c, http.StatusOK,
		`{"authenticated":true,"read_access":true,"site_admin":true,"namespace_permissions":{}}`)
	traCall{"GET", traGroups, bobToken, ""}.expect(t, c, http.StatusOK,
		`[{"name":"platform","site_admin":false,"namespace_permissions":[{"namespace":"acme","permission_type":"FULL"}]},`+
			`{"name":"sso/Cairn Admins","site_admin":true,"namespace_permissions":[]}]`)
	traCall{"DELETE", admins + "/members/bob", root, ""}.expect(t, c, http.StatusOK, `{}`)
	traCall{"GET", traGroups, bobToken, ""}.expect(t, c, http.StatusForbidden, "")
	traCall{"DELETE", admins, root, ""}.expect(t, c, http.StatusOK, `{}`)

	// Taking the permission, then the group, away.
	traCall{"DELETE", traGroups + "/platform/permissions/acme", root, ""}.expect(t, c, http.StatusOK, `{}`)
	traCall{"DELETE", traGroups + "/platform/permissions/acme", root, ""}.expect(t, c, http.StatusBadRequest,
		`{"message":"Permission does not exist."}`)
	traCall{"GET", traAuth, aliceToken, ""}.expect(t, c, http.StatusOK,
		`{"authenticated":true,"read_access":true,"site_admin":false,"namespace_permissions":{}}`)
	if _, resp, err := ac.Projects.GetProject("acme/vpc", nil); resp == nil || resp.StatusCode != http.StatusNotFound {
		t.Fatalf("alice without the permission GET acme/vpc = %v, %v; want 404", testserver.Status(resp), err)
	}
	traCall{"DELETE", traGroups + "/platform", root, ""}.expect(t, c, http.StatusOK, `{}`)
	traCall{"DELETE", traGroups + "/platform", root, ""}.expect(t, c, http.StatusBadRequest,
		`{"message":"User group does not exist."}`)
	traCall{"GET", traGroups, root, ""}.expect(t, c, http.StatusOK, `[]`)

	for _, e := range []struct{ action, object string }{
		{"create", "user_group"}, {"delete", "user_group"},
		{"create", "user_group_permission"}, {"update", "user_group_permission"}, {"delete", "user_group_permission"},
		{"add", "user_group_member"}, {"remove", "user_group_member"},
	} {
		if n := c.srv.AuditEvents(t, e.action, e.object, "root"); n == 0 {
			t.Errorf("no audit event %s %s by root", e.action, e.object)
		}
	}
}

// TestTerraregAdminRefusals checks who is told 400, 401 and 403, in
// Terrareg's {"message"} shape.
func TestTerraregAdminRefusals(t *testing.T) {
	t.Parallel()
	c := startCairn(t)
	root := c.adminToken(t)
	_, aliceToken := c.srv.CreateUser(t, "alice")
	acme, _, err := c.admin.Groups.CreateGroup(&gitlab.CreateGroupOptions{Name: gitlab.Ptr("Acme"), Path: gitlab.Ptr("acme")})
	if err != nil {
		t.Fatal(err)
	}
	if _, _, err := c.admin.Groups.CreateGroup(&gitlab.CreateGroupOptions{Name: gitlab.Ptr("Net"), Path: gitlab.Ptr("net"), ParentID: gitlab.Ptr(acme.ID)}); err != nil {
		t.Fatal(err)
	}
	traCall{"POST", traGroups, root, `{"name":"devs","site_admin":false}`}.expect(t, c, http.StatusCreated, "")

	adminOnly := []traCall{
		{"GET", traGroups, "", ""},
		{"POST", traGroups, "", `{"name":"x","site_admin":true}`},
		{"DELETE", traGroups + "/devs", "", ""},
		{"POST", traGroups + "/devs/permissions/acme", "", `{"permission_type":"FULL"}`},
		{"DELETE", traGroups + "/devs/permissions/acme", "", ""},
		{"GET", traGroups + "/devs/members", "", ""},
		{"POST", traGroups + "/devs/members", "", `{"username":"alice"}`},
		{"DELETE", traGroups + "/devs/members/alice", "", ""},
		{"GET", traAudit, "", ""},
	}
	for _, call := range adminOnly {
		t.Run("anonymous "+call.method+" "+call.path, func(t *testing.T) {
			code, v, body := call.do(t, c)
			if code != http.StatusUnauthorized || !hasMessage(v) {
				t.Fatalf("= %d %s; want 401 {\"message\"}", code, body)
			}
		})
		call.token = aliceToken
		t.Run("non-admin "+call.method+" "+call.path, func(t *testing.T) {
			code, v, body := call.do(t, c)
			if code != http.StatusForbidden || !hasMessage(v) {
				t.Fatalf("= %d %s; want 403 {\"message\"}", code, body)
			}
		})
	}
	traCall{"GET", traGroups + "/devs/members", root, ""}.expect(t, c, http.StatusOK, `[]`)

	resp, body := c.srv.Raw(t, "GET", traAuth, map[string]string{"X-Terrareg-ApiKey": "cairnpat-not-a-token"}, "")
	if resp.StatusCode != http.StatusUnauthorized {
		t.Fatalf("is_authenticated with an unknown key = %d %s; want 401", resp.StatusCode, body)
	}

	for _, tc := range []struct {
		name string
		call traCall
		// message is the whole message, or with a trailing "…" its start.
		message string
	}{
		{"duplicate name", traCall{"POST", traGroups, root, `{"name":"DEVS","site_admin":false}`}, `User group "DEVS" already exists`},
		{"site_admin missing", traCall{"POST", traGroups, root, `{"name":"ops"}`}, "site_admin must be true or false"},
		{"site_admin not a boolean", traCall{"POST", traGroups, root, `{"name":"ops","site_admin":"yes"}`}, "The request body must be a JSON object…"},
		{"blank name", traCall{"POST", traGroups, root, `{"name":"","site_admin":false}`}, "user group name can't be blank"},
		{"name too long", traCall{"POST", traGroups, root, `{"name":"` + strings.Repeat("x", 129) + `","site_admin":false}`}, "user group name is too long (maximum is 128 characters)"},
		{"no body", traCall{"POST", traGroups, root, ""}, "The request body must be a JSON object…"},
		{"unknown user group", traCall{"DELETE", traGroups + "/ops", root, ""}, "User group does not exist."},
		{"invalid permission type", traCall{"POST", traGroups + "/devs/permissions/acme", root, `{"permission_type":"ADMIN"}`}, "Invalid namespace permission type"},
		{"unknown namespace", traCall{"POST", traGroups + "/devs/permissions/globex", root, `{"permission_type":"FULL"}`}, "Namespace does not exist."},
		{"subgroup as namespace", traCall{"POST", traGroups + "/devs/permissions/acme%2Fnet", root, `{"permission_type":"FULL"}`}, "Namespace does not exist."},
		{"permission for an unknown group", traCall{"POST", traGroups + "/ops/permissions/acme", root, `{"permission_type":"FULL"}`}, "User group does not exist."},
		{"unknown user", traCall{"POST", traGroups + "/devs/members", root, `{"username":"mallory"}`}, "User does not exist."},
		{"no username", traCall{"POST", traGroups + "/devs/members", root, `{}`}, "username is required"},
		{"not a member", traCall{"DELETE", traGroups + "/devs/members/alice", root, ""}, "User group membership does not exist."},
		{"non-integer draw", traCall{"GET", traAudit + "?draw=x", root, ""}, "draw must be an integer"},
		{"negative start", traCall{"GET", traAudit + "?start=-1", root, ""}, "start must be…"},
		{"bad order", traCall{"GET", traAudit + "?order%5B0%5D%5Bdir%5D=up", root, ""}, "order[0][dir] must be asc or desc"},
	} {
		t.Run(tc.name, func(t *testing.T) {
			code, v, body := tc.call.do(t, c)
			msg, _ := v.(map[string]any)["message"].(string)
			prefix, isPrefix := strings.CutSuffix(tc.message, "…")
			if code != http.StatusBadRequest || isPrefix && !strings.HasPrefix(msg, prefix) || !isPrefix && msg != tc.message {
				t.Fatalf("%s %s = %d %s; want 400 {\"message\": %q}", tc.call.method, tc.call.path, code, body, tc.message)
			}
		})
	}
}

func hasMessage(v any) bool {
	m, ok := v.(map[string]any)
	s, _ := m["message"].(string)
	return ok && s != ""
}

var traObjectID = regexp.MustCompile(`^[a-z_]+:\d+$`)

// TestTerraregAuditHistory checks the audit history's datatables shape,
// paging, search and order.
func TestTerraregAuditHistory(t *testing.T) {
	t.Parallel()
	c := startCairn(t)
	root := c.adminToken(t)
	c.srv.CreateUser(t, "alice")
	if _, _, err := c.admin.Groups.CreateGroup(&gitlab.CreateGroupOptions{Name: gitlab.Ptr("Acme"), Path: gitlab.Ptr("acme")}); err != nil {
		t.Fatal(err)
	}
	for _, call := range []traCall{
		{"POST", traGroups, root, `{"name":"auditors","site_admin":false}`},
		{"POST", traGroups + "/auditors/permissions/acme", root, `{"permission_type":"MODIFY"}`},
		{"POST", traGroups + "/auditors/members", root, `{"username":"alice"}`},
	} {
		call.expect(t, c, http.StatusCreated, "")
	}

	v := traCall{"GET", traAudit + "?draw=3&start=0&length=2&search%5Bvalue%5D=USER_GROUP&order%5B0%5D%5Bdir%5D=desc", root, ""}.expect(t, c, http.StatusOK, "")
	page := v.(map[string]any)
	var keys []string
	for k := range page {
		keys = append(keys, k)
	}
	if len(page) != 4 || page["draw"] != 3.0 || page["recordsFiltered"] != 3.0 || page["recordsTotal"].(float64) <= 3 {
		t.Fatalf("audit page = %v (keys %v); want data, draw 3, recordsFiltered 3 of more recordsTotal", page, keys)
	}
	data := page["data"].([]any)
	if len(data) != 2 {
		t.Fatalf("data = %v; want 2 events (length=2)", data)
	}
	for _, row := range data {
		e := row.(map[string]any)
		if len(e) != 6 || e["username"] != "root" || !traObjectID.MatchString(e["object_id"].(string)) {
			t.Fatalf("event %v; want timestamp, username root, action, object_id type:id, old_value, new_value", e)
		}
		if _, err := time.Parse(time.RFC3339Nano, e["timestamp"].(string)); err != nil {
			t.Fatalf("event timestamp %v: %v", e["timestamp"], err)
		}
		nv, ok := e["new_value"].(string)
		if !ok || !json.Valid([]byte(nv)) || e["old_value"] != nil {
			t.Fatalf("event values %v → %v; want null → a string of JSON", e["old_value"], e["new_value"])
		}
	}
	first := data[0].(map[string]any)
	if first["action"] != "add" || !strings.HasPrefix(first["object_id"].(string), "user_group_member:") ||
		!strings.Contains(first["new_value"].(string), `"alice"`) {
		t.Fatalf("newest user group event = %v; want alice added", first)
	}

	// Oldest first, second page of one.
	v = traCall{"GET", traAudit + "?draw=4&start=1&length=1&search%5Bvalue%5D=user_group&order%5B0%5D%5Bdir%5D=asc", root, ""}.expect(t, c, http.StatusOK, "")
	data = v.(map[string]any)["data"].([]any)
	if len(data) != 1 || !strings.HasPrefix(data[0].(map[string]any)["object_id"].(string), "user_group_permission:") {
		t.Fatalf("second event oldest first = %v; want the permission grant", data)
	}

	// No arguments: datatables' defaults (10 newest, draw 0), everything counted.
	v = traCall{"GET", traAudit, root, ""}.expect(t, c, http.StatusOK, "")
	page = v.(map[string]any)
	if page["draw"] != 0.0 || page["recordsTotal"] != page["recordsFiltered"] || len(page["data"].([]any)) > 10 {
		t.Fatalf("audit page without arguments = %v; want draw 0, nothing filtered, at most 10 events", page)
	}
	// length=-1 is datatables' "All".
	v = traCall{"GET", traAudit + "?length=-1", root, ""}.expect(t, c, http.StatusOK, "")
	page = v.(map[string]any)
	if float64(len(page["data"].([]any))) != page["recordsTotal"] {
		t.Fatalf("length=-1 gave %d of %v events; want all", len(page["data"].([]any)), page["recordsTotal"])
	}
}
