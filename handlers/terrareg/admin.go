package terrareg

import (
	"context"
	"encoding/json"
	"net/http"
	"strconv"
	"time"

	"github.com/gin-gonic/gin"

	"github.com/cairn-registry/cairn/audit"
	"github.com/cairn-registry/cairn/handlers/middleware"
	"github.com/cairn-registry/cairn/policies"
	"github.com/cairn-registry/cairn/users"
)

// terraregAdminService is what Terrareg's administration endpoints need
// from the tenancy service.
type terraregAdminService interface {
	ListUserGroups(ctx context.Context, p *policies.Principal) ([]users.UserGroup, error)
	CreateUserGroup(ctx context.Context, p *policies.Principal, name string, siteAdmin bool) (users.UserGroup, error)
	DeleteUserGroup(ctx context.Context, p *policies.Principal, name string) error
	SetUserGroupPermission(ctx context.Context, p *policies.Principal, groupName, namespace, permission string) (users.UserGroupPermission, error)
	DeleteUserGroupPermission(ctx context.Context, p *policies.Principal, groupName, namespace string) error
	ListUserGroupMembers(ctx context.Context, p *policies.Principal, groupName string) ([]users.UserGroupMember, error)
	AddUserGroupMember(ctx context.Context, p *policies.Principal, groupName, username string) (users.UserGroupMember, error)
	RemoveUserGroupMember(ctx context.Context, p *policies.Principal, groupName, username string) error
	AuthStatus(ctx context.Context, p *policies.Principal) (users.AuthStatus, error)
}

// auditHistory is what the audit history endpoint needs.
type auditHistory interface {
	List(ctx context.Context, p *policies.Principal, q audit.Query) (audit.Page, error)
}

// terraregAdmin serves Terrareg's administration API: user groups and their
// namespace permissions, is_authenticated and the audit history, plus
// Cairn's own user-group membership endpoints (Terrareg fills user groups
// from SSO claims at login; Cairn has no SSO login yet, so administrators
// manage members).
// https://github.com/MatthewJohn/terrareg (terrareg/server/api/terrareg_auth_user_groups.py,
// terrareg_user_group.py, terrareg_user_group_namespace_permissions.py,
// terrareg_is_authenticated.py, terrareg_audit_history.py)
//
// Terrareg's session endpoints want a csrf_token in the JSON body. These
// are token-authenticated API calls (PRIVATE-TOKEN, Authorization: Bearer,
// X-Terrareg-ApiKey) and Cairn keeps no cookie session, so a cross-site
// request cannot carry the credential and no CSRF token is required.
//
// Everything but is_authenticated is for site administrators: anonymous
// callers get 401, others 403, in Flask's wording. Unknown user groups,
// namespaces (top-level groups), users and permissions are Terrareg's 400
// {"message": "... does not exist."}.
type terraregAdmin struct {
	svc   terraregAdminService
	audit auditHistory
}

// register mounts the administration endpoints.
func (t *terraregAdmin) register(r gin.IRouter, auth gin.HandlerFunc) {
	g := r.Group("/v1/terrareg", auth)
	g.GET("/auth/admin/is_authenticated", t.isAuthenticated)
	g.GET("/audit-history", t.auditHistory)
	g.GET("/user-groups", t.listUserGroups)
	g.POST("/user-groups", t.createUserGroup)
	g.DELETE("/user-groups/:user_group", t.deleteUserGroup)
	g.POST("/user-groups/:user_group/permissions/:namespace", t.setPermission)
	g.DELETE("/user-groups/:user_group/permissions/:namespace", t.deletePermission)
	g.GET("/user-groups/:user_group/members", t.listMembers)
	g.POST("/user-groups/:user_group/members", t.addMember)
	g.DELETE("/user-groups/:user_group/members/:username", t.removeMember)
}

// maxAdminBody bounds the JSON bodies of administration requests.
const maxAdminBody = 64 << 10

// decodeBody reads the request's JSON object into v, or answers 400.
func (t *terraregAdmin) decodeBody(c *gin.Context, v any) bool {
	if err := json.NewDecoder(http.MaxBytesReader(c.Writer, c.Request.Body, maxAdminBody)).Decode(v); err != nil {
		badRequest(c, "The request body must be a JSON object: "+err.Error())
		return false
	}
	return true
}

// traUserGroup is Terrareg's user group in lists.
type traUserGroup struct {
	Name        string              `json:"name"`
	SiteAdmin   bool                `json:"site_admin"`
	Permissions []traNamespacePerms `json:"namespace_permissions"`
}

type traNamespacePerms struct {
	Namespace      string `json:"namespace"`
	PermissionType string `json:"permission_type"`
}

// listUserGroups is GET /v1/terrareg/user-groups.
func (t *terraregAdmin) listUserGroups(c *gin.Context) {
	groups, err := t.svc.ListUserGroups(c.Request.Context(), middleware.Principal(c))
	if err != nil {
		writeModuleError(c, err)
		return
	}
	out := make([]traUserGroup, 0, len(groups))
	for _, g := range groups {
		perms := make([]traNamespacePerms, 0, len(g.Permissions))
		for _, p := range g.Permissions {
			perms = append(perms, traNamespacePerms{Namespace: p.Namespace, PermissionType: p.Permission})
		}
		out = append(out, traUserGroup{Name: g.Name, SiteAdmin: g.SiteAdmin, Permissions: perms})
	}
	c.JSON(http.StatusOK, out)
}

// createUserGroup is POST /v1/terrareg/user-groups {"name", "site_admin"}:
// 201 {"name", "site_admin"}. site_admin must be true or false, as in
// Terrareg; a name taken (ignoring case) is 400.
func (t *terraregAdmin) createUserGroup(c *gin.Context) {
	var body struct {
		Name      string `json:"name"`
		SiteAdmin *bool  `json:"site_admin"`
	}
	if !t.decodeBody(c, &body) {
		return
	}
	if body.SiteAdmin == nil {
		badRequest(c, "site_admin must be true or false")
		return
	}
	g, err := t.svc.CreateUserGroup(c.Request.Context(), middleware.Principal(c), body.Name, *body.SiteAdmin)
	if err != nil {
		writeModuleError(c, err)
		return
	}
	c.JSON(http.StatusCreated, gin.H{"name": g.Name, "site_admin": g.SiteAdmin})
}

// deleteUserGroup is DELETE /v1/terrareg/user-groups/:user_group: 200 {}.
func (t *terraregAdmin) deleteUserGroup(c *gin.Context) {
	if err := t.svc.DeleteUserGroup(c.Request.Context(), middleware.Principal(c), c.Param("user_group")); err != nil {
		writeModuleError(c, err)
		return
	}
	c.JSON(http.StatusOK, gin.H{})
}

// setPermission is POST /v1/terrareg/user-groups/:user_group/permissions/:namespace
// {"permission_type": "FULL"|"MODIFY"}: 201 {"user_group", "namespace",
// "permission_type"}. Unlike Terrareg, which refuses a second grant, it
// replaces the permission the user group held on the namespace.
func (t *terraregAdmin) setPermission(c *gin.Context) {
	var body struct {
		PermissionType string `json:"permission_type"`
	}
	if !t.decodeBody(c, &body) {
		return
	}
	p, err := t.svc.SetUserGroupPermission(c.Request.Context(), middleware.Principal(c), c.Param("user_group"), c.Param("namespace"), body.PermissionType)
	if err != nil {
		writeModuleError(c, err)
		return
	}
	c.JSON(http.StatusCreated, gin.H{"user_group": p.UserGroup, "namespace": p.Namespace, "permission_type": p.Permission})
}

// deletePermission is DELETE /v1/terrareg/user-groups/:user_group/permissions/:namespace: 200 {}.
func (t *terraregAdmin) deletePermission(c *gin.Context) {
	if err := t.svc.DeleteUserGroupPermission(c.Request.Context(), middleware.Principal(c), c.Param("user_group"), c.Param("namespace")); err != nil {
		writeModuleError(c, err)
		return
	}
	c.JSON(http.StatusOK, gin.H{})
}

// traMember is a user group member on Cairn's membership endpoints.
type traMember struct {
	UserGroup string `json:"user_group"`
	Username  string `json:"username"`
	Name      string `json:"name"`
}

// listMembers is GET /v1/terrareg/user-groups/:user_group/members (Cairn's own).
func (t *terraregAdmin) listMembers(c *gin.Context) {
	members, err := t.svc.ListUserGroupMembers(c.Request.Context(), middleware.Principal(c), c.Param("user_group"))
	if err != nil {
		writeModuleError(c, err)
		return
	}
	out := make([]traMember, 0, len(members))
	for _, m := range members {
		out = append(out, traMember{UserGroup: m.UserGroup, Username: m.Username, Name: m.Name})
	}
	c.JSON(http.StatusOK, out)
}

// addMember is POST /v1/terrareg/user-groups/:user_group/members
// {"username"} (Cairn's own): 201 with the member; already a member is 400.
func (t *terraregAdmin) addMember(c *gin.Context) {
	var body struct {
		Username string `json:"username"`
	}
	if !t.decodeBody(c, &body) {
		return
	}
	if body.Username == "" {
		badRequest(c, "username is required")
		return
	}
	m, err := t.svc.AddUserGroupMember(c.Request.Context(), middleware.Principal(c), c.Param("user_group"), body.Username)
	if err != nil {
		writeModuleError(c, err)
		return
	}
	c.JSON(http.StatusCreated, traMember{UserGroup: m.UserGroup, Username: m.Username, Name: m.Name})
}

// removeMember is DELETE /v1/terrareg/user-groups/:user_group/members/:username
// (Cairn's own): 200 {}.
func (t *terraregAdmin) removeMember(c *gin.Context) {
	if err := t.svc.RemoveUserGroupMember(c.Request.Context(), middleware.Principal(c), c.Param("user_group"), c.Param("username")); err != nil {
		writeModuleError(c, err)
		return
	}
	c.JSON(http.StatusOK, gin.H{})
}

// isAuthenticated is GET /v1/terrareg/auth/admin/is_authenticated, for any
// caller. read_access is always true: Cairn's read API answers anonymous
// callers too (with what is public), as Terrareg does by default
// (ALLOW_UNAUTHENTICATED_ACCESS).
func (t *terraregAdmin) isAuthenticated(c *gin.Context) {
	st, err := t.svc.AuthStatus(c.Request.Context(), middleware.Principal(c))
	if err != nil {
		writeModuleError(c, err)
		return
	}
	c.JSON(http.StatusOK, gin.H{
		"authenticated":         st.Authenticated,
		"read_access":           true,
		"site_admin":            st.SiteAdmin,
		"namespace_permissions": st.NamespacePermissions,
	})
}

// auditPageSize is datatables' default page length.
const auditPageSize = 10

// traAuditEvent is one row of the audit history.
type traAuditEvent struct {
	Timestamp string  `json:"timestamp"`
	Username  string  `json:"username"`
	Action    string  `json:"action"`
	ObjectID  string  `json:"object_id"`
	OldValue  *string `json:"old_value"`
	NewValue  *string `json:"new_value"`
}

// auditHistory is GET /v1/terrareg/audit-history with datatables'
// server-side arguments (draw, start, length, search[value],
// order[0][dir]): {"data", "draw", "recordsTotal", "recordsFiltered"}. Events
// are ordered by time only (order[0][column] is not read). object_id is
// "<type>:<id>" ("user_group:3"); old_value and new_value are the recorded
// JSON as strings, or null. draw is echoed as datatables specifies (Terrareg
// answers draw+1; datatables accepts both, dropping only older draws).
func (t *terraregAdmin) auditHistory(c *gin.Context) {
	draw, ok := queryInt(c, "draw", 0)
	if !ok {
		return
	}
	start, ok := queryInt(c, "start", 0)
	if !ok {
		return
	}
	length, ok := queryInt(c, "length", auditPageSize)
	if !ok {
		return
	}
	if length == -1 { // datatables' "All": as many as a page may hold
		length = audit.MaxPage
	}
	dir := c.DefaultQuery("order[0][dir]", "desc")
	if dir != "asc" && dir != "desc" {
		badRequest(c, "order[0][dir] must be asc or desc")
		return
	}
	page, err := t.audit.List(c.Request.Context(), middleware.Principal(c), audit.Query{
		Offset: start, Limit: length, Search: c.Query("search[value]"), OldestFirst: dir == "asc"})
	if err != nil {
		writeModuleError(c, err)
		return
	}
	data := make([]traAuditEvent, 0, len(page.Events))
	for _, e := range page.Events {
		data = append(data, traAuditEvent{
			Timestamp: e.Time.UTC().Format(time.RFC3339Nano),
			Username:  e.Actor,
			Action:    e.Action,
			ObjectID:  e.ObjectType + ":" + e.ObjectID,
			OldValue:  jsonString(e.OldValue),
			NewValue:  jsonString(e.NewValue),
		})
	}
	c.JSON(http.StatusOK, gin.H{"data": data, "draw": draw, "recordsTotal": page.Total, "recordsFiltered": page.Filtered})
}

// queryInt reads an optional integer query argument, or answers 400.
func queryInt(c *gin.Context, name string, def int) (int, bool) {
	v, ok := c.GetQuery(name)
	if !ok || v == "" {
		return def, true
	}
	n, err := strconv.Atoi(v)
	if err != nil {
		badRequest(c, name+" must be an integer")
		return 0, false
	}
	return n, true
}

func jsonString(b json.RawMessage) *string {
	if b == nil {
		return nil
	}
	s := string(b)
	return &s
}
