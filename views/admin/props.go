// Package admin holds the management pages: groups, projects, members,
// tokens, CI trust rules, publishing from the browser, the user's settings
// and the instance administration area (/admin).
package admin

import (
	"encoding/json"
	"strconv"
	"strings"
	"time"

	"github.com/cairn-registry/cairn/audit"
	"github.com/cairn-registry/cairn/modules"
	"github.com/cairn-registry/cairn/projects"
	"github.com/cairn-registry/cairn/tokens"
	"github.com/cairn-registry/cairn/users"
	"github.com/cairn-registry/cairn/views"
)

// Form is a form's submitted values and the messages to show beside its
// fields ("" key: the form as a whole).
type Form struct {
	Values map[string]string
	Errors map[string]string
}

// V is a submitted value.
func (f Form) V(k string) string { return f.Values[k] }

// E is the message for field k.
func (f Form) E(k string) string { return f.Errors[k] }

// Checked reports whether a checkbox or radio value was submitted.
func (f Form) Checked(k, v string) bool { return f.Values[k] == v }

// NewForm is a form pre-filled with values.
func NewForm(kv ...string) Form {
	f := Form{Values: map[string]string{}, Errors: map[string]string{}}
	for i := 0; i+1 < len(kv); i += 2 {
		f.Values[kv[i]] = kv[i+1]
	}
	return f
}

// Frame is what every management page shows around its content.
type Frame struct {
	Chrome  views.Chrome
	Crumbs  []views.Crumb
	Heading string
	// Nav are the sections of the thing being managed; Current is the id of
	// this page's.
	Nav     []NavItem
	Current string
}

// NavItem is one section link.
type NavItem struct{ ID, Label, URL string }

// Option is one choice of a select.
type Option struct{ Value, Label string }

// Visibilities are the visibility choices.
var Visibilities = []Option{{"private", "Private"}, {"internal", "Internal (signed-in users)"}, {"public", "Public"}}

// Roles are the member roles, lowest first.
var Roles = []Option{{"10", "Guest"}, {"20", "Reporter"}, {"30", "Developer"}, {"40", "Maintainer"}, {"50", "Owner"}}

// RoleName names an access level.
func RoleName(level int32) string {
	for _, r := range Roles {
		if r.Value == strconv.Itoa(int(level)) {
			return r.Label
		}
	}
	return strconv.Itoa(int(level))
}

// NewGroup is the form creating a group (or subgroup).
type NewGroup struct {
	Frame
	Form Form
	// Parents are the groups a subgroup may be created in.
	Parents []projects.Group
}

// GroupSettings is a group's settings page.
type GroupSettings struct {
	Frame
	Group      projects.Group
	Form       Form
	CanEdit    bool
	CanDelete  bool
	Subgroups  []projects.Group
	Projects   []projects.Project
	DeleteForm Form
	CanCreate  bool
}

// NewProject is the form creating a project.
type NewProject struct {
	Frame
	Form   Form
	Groups []projects.Group
}

// ProjectSettings is a project's settings page with its module versions.
type ProjectSettings struct {
	Frame
	Project           projects.Project
	Form              Form
	CanEdit           bool
	CanDelete         bool
	CanDeleteVersions bool
	Versions          []modules.Package
	Prev, Next        string
	PageNo            int
	DeleteForm        Form
}

// Members is the members page of a group or project.
type Members struct {
	Frame
	// Action is the members page's URL (forms post below it).
	Action    string
	Members   []MemberRow
	Inherited []Inherited
	CanManage bool
	// CanOwners: the viewer may grant, change or remove the owner role.
	CanOwners bool
	Form      Form
}

// MemberRow is a direct member and what the viewer may do to it.
type MemberRow struct {
	projects.Member
	Editable bool
	// Reason explains a disabled control.
	Reason string
}

// Inherited is a member of an ancestor group.
type Inherited struct {
	projects.Member
	From, FromURL string
}

// DeployTokens is the deploy tokens page of a group or project.
type DeployTokens struct {
	Frame
	Action string
	Tokens []tokens.DeployToken
	Form   Form
	// Secret is a token just created, shown once.
	Secret    string
	SecretFor string
	Username  string
	Upload    string
}

// CI is a project's CI trust rules page.
type CI struct {
	Frame
	Project   projects.Project
	Rules     []tokens.TrustRule
	Form      Form
	Conds     []Cond
	PublicURL string
	GitLabCI  string
	GitHub    string
}

// Cond is one claim condition row of the trust rule form.
type Cond struct{ Claim, Op, Value string }

// Publish is the form publishing a version from the browser.
type Publish struct {
	Frame
	Project projects.Project
	Form    Form
	MaxSize int64
}

// Dashboard is the signed-in user's start page.
type Dashboard struct {
	Frame
	Groups    []projects.Group
	Projects  []projects.Project
	Recent    []Recent
	CanCreate bool
	// Prev and Next page the groups and projects lists.
	Prev, Next string
	PageNo     int
}

// Recent is a recently published version in one of the user's projects.
type Recent struct {
	Project projects.Project
	modules.Package
}

// UserSettings is the user's profile, tokens and sessions.
type UserSettings struct {
	Frame
	User     users.User
	Tokens   []tokens.PersonalAccessToken
	Logins   []tokens.PersonalAccessToken
	Sessions []SessionRow
	Form     Form
	Secret   string
}

// SessionRow is a session with whether it is this one.
type SessionRow struct {
	users.Session
	Current bool
}

// AdminUsers is the admin list of users.
type AdminUsers struct {
	Frame
	Q          string
	Users      []users.User
	Prev, Next string
	PageNo     int
	Form       Form
}

// AdminUser is one user in the admin area.
type AdminUser struct {
	Frame
	User     users.User
	Sessions int
	Form     Form
}

// AdminUserGroups lists user groups.
type AdminUserGroups struct {
	Frame
	Groups []users.UserGroup
	Form   Form
}

// AdminUserGroup is one user group: members and namespace permissions.
type AdminUserGroup struct {
	Frame
	Group      users.UserGroup
	Members    []users.UserGroupMember
	Namespaces []projects.Group
	MemberForm Form
	PermForm   Form
}

// AdminAudit is the audit log.
type AdminAudit struct {
	Frame
	Q          string
	Oldest     bool
	Page       audit.Page
	Prev, Next string
	PageNo     int
}

// AdminSystem is the system page.
type AdminSystem struct {
	Frame
	Version string
	Checks  []ReadyCheck
	Config  []Setting
}

// ReadyCheck is one readiness check.
type ReadyCheck struct {
	Name string
	OK   bool
}

// Setting is one configuration variable.
type Setting struct {
	Env, Value, Default, Help string
	Masked                    bool
}

// Date formats a time, "" for nil.
func Date(t *time.Time) string {
	if t == nil {
		return ""
	}
	return t.UTC().Format("2006-01-02 15:04 UTC")
}

// When formats a time.
func When(t time.Time) string { return t.UTC().Format("2006-01-02 15:04 UTC") }

// Scopes joins scopes.
func Scopes(s []string) string { return strings.Join(s, ", ") }

// PrettyJSON indents an audit value ("" for none).
func PrettyJSON(raw json.RawMessage) string {
	if len(raw) == 0 || string(raw) == "null" {
		return ""
	}
	var v any
	if err := json.Unmarshal(raw, &v); err != nil {
		return string(raw)
	}
	b, _ := json.MarshalIndent(v, "", "  ")
	return string(b)
}

func itoa(n int) string      { return strconv.Itoa(n) }
func i64(n int64) string     { return strconv.FormatInt(n, 10) }
func lvl(n int32) string     { return strconv.Itoa(int(n)) }
func sizeMiB(n int64) string { return strconv.FormatInt(n>>20, 10) + " MiB" }
func has(s []string, v string) bool {
	for _, x := range s {
		if x == v {
			return true
		}
	}
	return false
}

// TokenRow is a token as the token tables show it.
type TokenRow struct {
	ID                    int64
	Name, Prefix, Extra   string
	Scopes                []string
	CreatedAt             time.Time
	LastUsedAt, ExpiresAt *time.Time
	Revoked, Expired      bool
}

func deployRows(ts []tokens.DeployToken) []TokenRow {
	out := make([]TokenRow, 0, len(ts))
	now := time.Now()
	for _, t := range ts {
		out = append(out, TokenRow{ID: t.ID, Name: t.Name, Prefix: t.Prefix, Extra: "username " + t.Username, Scopes: t.Scopes, CreatedAt: t.CreatedAt,
			LastUsedAt: t.LastUsedAt, ExpiresAt: t.ExpiresAt, Revoked: t.Revoked, Expired: tokens.Expired(t.ExpiresAt, now)})
	}
	return out
}

func patRows(ts []tokens.PersonalAccessToken) []TokenRow {
	out := make([]TokenRow, 0, len(ts))
	now := time.Now()
	for _, t := range ts {
		out = append(out, TokenRow{ID: t.ID, Name: t.Name, Prefix: t.Prefix, Scopes: t.Scopes, CreatedAt: t.CreatedAt,
			LastUsedAt: t.LastUsedAt, ExpiresAt: t.ExpiresAt, Revoked: t.Revoked, Expired: tokens.Expired(t.ExpiresAt, now)})
	}
	return out
}
