package policies

import (
	"bufio"
	"context"
	_ "embed"
	"encoding/json"
	"fmt"
	"log/slog"
	"slices"
	"strconv"
	"strings"
	"sync"
	"sync/atomic"

	"github.com/casbin/casbin/v2"
	"github.com/casbin/casbin/v2/model"
	"github.com/jackc/pgx/v5/pgxpool"

	"github.com/cairn-registry/cairn/internal/pgnotify"
	"github.com/cairn-registry/cairn/queries"
)

//go:embed model.conf
var modelConf string

//go:embed policy.csv
var policyCSV string

// instanceDomain holds site-admin grants from Terrareg user groups.
const instanceDomain = "instance"

// Enforcer is casbin's SyncedEnforcer holding role → action policy and every
// membership as a grouping line. It is loaded once from PostgreSQL and kept
// current incrementally: the writer applies its own change at once, and
// every replica applies the changes PostgreSQL announces (LISTEN/NOTIFY).
// A full load builds a new casbin enforcer and swaps it in, so decisions
// never see a half-loaded state.
type Enforcer struct {
	cur atomic.Pointer[loaded]
	log *slog.Logger
}

// loaded is one casbin enforcer and the index of its grouping lines by
// subject, swapped in together. Grouping lines are [subject, scoped role]
// (model.conf): scopedRole names a role in a domain.
type loaded struct {
	*casbin.SyncedEnforcer
	domains *domainIndex
}

// domainIndex maps each subject to the domains where it has a grouping line
// (and the roles it holds there): search and lists need a user's domains on
// every request, and casbin would walk every role of the graph for them.
type domainIndex struct {
	mu sync.RWMutex
	m  map[string]map[string][]string // subject → domain → roles
}

func newDomainIndex(lines [][]string) *domainIndex {
	x := &domainIndex{m: map[string]map[string][]string{}}
	x.add(lines)
	return x
}

// add indexes grouping lines [subject, scoped role].
func (x *domainIndex) add(lines [][]string) {
	x.mu.Lock()
	defer x.mu.Unlock()
	for _, l := range lines {
		dom, role, ok := splitScopedRole(l[1])
		if !ok {
			continue
		}
		doms := x.m[l[0]]
		if doms == nil {
			doms = map[string][]string{}
			x.m[l[0]] = doms
		}
		if !slices.Contains(doms[dom], role) {
			doms[dom] = append(doms[dom], role)
		}
	}
}

// remove drops grouping lines from the index.
func (x *domainIndex) remove(lines [][]string) {
	x.mu.Lock()
	defer x.mu.Unlock()
	for _, l := range lines {
		dom, role, ok := splitScopedRole(l[1])
		if !ok {
			continue
		}
		doms := x.m[l[0]]
		roles := slices.DeleteFunc(doms[dom], func(r string) bool { return r == role })
		switch {
		case len(roles) > 0:
			doms[dom] = roles
		case doms != nil:
			delete(doms, dom)
			if len(doms) == 0 {
				delete(x.m, l[0])
			}
		}
	}
}

// of returns the domains where sub has a grouping line.
func (x *domainIndex) of(sub string) []string {
	x.mu.RLock()
	defer x.mu.RUnlock()
	out := make([]string, 0, len(x.m[sub]))
	for d := range x.m[sub] {
		out = append(out, d)
	}
	slices.Sort(out)
	return out
}

// NewEnforcer builds an enforcer with the embedded model and policy and no
// memberships.
func NewEnforcer(log *slog.Logger) (*Enforcer, error) {
	if log == nil {
		log = slog.Default()
	}
	e, err := newCasbin()
	if err != nil {
		return nil, err
	}
	en := &Enforcer{log: log}
	en.cur.Store(&loaded{e, newDomainIndex(nil)})
	return en, nil
}

func newCasbin() (*casbin.SyncedEnforcer, error) {
	m, err := model.NewModelFromString(modelConf)
	if err != nil {
		return nil, fmt.Errorf("casbin model: %w", err)
	}
	e, err := casbin.NewSyncedEnforcer(m)
	if err != nil {
		return nil, fmt.Errorf("casbin enforcer: %w", err)
	}
	e.EnableAutoSave(false)
	var rules [][]string
	sc := bufio.NewScanner(strings.NewReader(policyCSV))
	for sc.Scan() {
		line := strings.TrimSpace(sc.Text())
		if line == "" || strings.HasPrefix(line, "#") {
			continue
		}
		f := strings.Split(line, ",")
		if len(f) != 3 || strings.TrimSpace(f[0]) != "p" {
			return nil, fmt.Errorf("policy.csv: bad line %q", line)
		}
		rules = append(rules, []string{strings.TrimSpace(f[1]), strings.TrimSpace(f[2])})
	}
	if _, err := e.AddPolicies(rules); err != nil {
		return nil, err
	}
	return e, nil
}

// Load replaces every membership with what the database holds.
func (en *Enforcer) Load(ctx context.Context, db queries.DBTX) error {
	q := queries.New(db)
	members, err := q.AllMembers(ctx)
	if err != nil {
		return fmt.Errorf("load memberships: %w", err)
	}
	lines := make([][]string, 0, len(members))
	for _, m := range members {
		line, err := memberLine(m.UserID, m.GroupID, m.ProjectID, m.AccessLevel)
		if err != nil {
			return err
		}
		lines = append(lines, line)
	}
	ug, err := userGroupLines(ctx, q)
	if err != nil {
		return err
	}
	e, err := newCasbin()
	if err != nil {
		return err
	}
	lines = append(lines, ug...)
	if len(lines) > 0 {
		if _, err := e.AddGroupingPoliciesEx(lines); err != nil {
			return fmt.Errorf("load memberships: %w", err)
		}
	}
	en.cur.Store(&loaded{e, newDomainIndex(lines)})
	return nil
}

func memberLine(userID int64, groupID, projectID *int64, level int32) ([]string, error) {
	role, err := RoleForLevel(level)
	if err != nil {
		return nil, err
	}
	dom := ""
	switch {
	case groupID != nil:
		dom = GroupDomain(*groupID)
	case projectID != nil:
		dom = ProjectDomain(*projectID)
	default:
		return nil, fmt.Errorf("membership of user %d has neither group nor project", userID)
	}
	return []string{userSubject(userID), scopedRole(dom, string(role))}, nil
}

// scopedRole names role (or a Terrareg user group) within dom.
func scopedRole(dom, role string) string { return dom + "|" + role }

// splitScopedRole is scopedRole's inverse; ok is false for a name that is
// not scoped (a role of policy.csv).
func splitScopedRole(name string) (dom, role string, ok bool) { return strings.Cut(name, "|") }

// userGroupLines derives grouping lines from Terrareg user groups:
// u → dom|ug in each namespace the user group has a permission on,
// dom|ug → dom|role there, and u → instance|admin for site-admin groups.
func userGroupLines(ctx context.Context, q *queries.Queries) ([][]string, error) {
	grants, err := q.AllUserGroupGrants(ctx)
	if err != nil {
		return nil, fmt.Errorf("load user group permissions: %w", err)
	}
	var lines [][]string
	seen := map[string]bool{}
	add := func(l []string) {
		k := strings.Join(l, ",")
		if !seen[k] {
			seen[k] = true
			lines = append(lines, l)
		}
	}
	for _, g := range grants {
		role, err := RoleForTerrareg(g.Permission)
		if err != nil {
			return nil, err
		}
		dom := GroupDomain(g.GroupID)
		ug := scopedRole(dom, "ug:"+strconv.FormatInt(g.UserGroupID, 10))
		add([]string{userSubject(g.UserID), ug})
		add([]string{ug, scopedRole(dom, string(role))})
	}
	admins, err := q.SiteAdminUserGroupMembers(ctx)
	if err != nil {
		return nil, fmt.Errorf("load site admin user groups: %w", err)
	}
	for _, uid := range admins {
		add([]string{userSubject(uid), scopedRole(instanceDomain, roleAdmin)})
	}
	return lines, nil
}

// ApplyMember applies one membership change ("add" or "del").
func (en *Enforcer) ApplyMember(op string, userID int64, groupID, projectID *int64, level int32) error {
	line, err := memberLine(userID, groupID, projectID, level)
	if err != nil {
		return err
	}
	cur := en.cur.Load()
	switch op {
	case "add":
		if _, err = cur.AddGroupingPoliciesEx([][]string{line}); err == nil {
			cur.domains.add([][]string{line})
		}
	case "del":
		if _, err = cur.RemoveGroupingPolicy(line[0], line[1]); err == nil {
			cur.domains.remove([][]string{line})
		}
	default:
		err = fmt.Errorf("unknown membership change %q", op)
	}
	return err
}

// ReloadUserGroups replaces every line derived from Terrareg user groups.
func (en *Enforcer) ReloadUserGroups(ctx context.Context, db queries.DBTX) error {
	lines, err := userGroupLines(ctx, queries.New(db))
	if err != nil {
		return err
	}
	cur := en.cur.Load()
	all, err := cur.GetGroupingPolicy()
	if err != nil {
		return err
	}
	var old [][]string
	for _, l := range all {
		if strings.Contains(l[0], "|ug:") || strings.Contains(l[1], "|ug:") || strings.HasPrefix(l[1], instanceDomain+"|") {
			old = append(old, l)
		}
	}
	if len(old) > 0 {
		if _, err := cur.RemoveGroupingPolicies(old); err != nil {
			return err
		}
		cur.domains.remove(old)
	}
	if len(lines) > 0 {
		if _, err = cur.AddGroupingPoliciesEx(lines); err == nil {
			cur.domains.add(lines)
		}
	}
	return err
}

// enforce asks casbin whether sub holds, in dom, a role whose policy allows
// a. It walks the role graph (user → Terrareg user group → role) with
// casbin's role manager and checks the policy of each role scoped to dom by
// lookup, which is what the model's matcher expresses, without evaluating
// the matcher expression against every policy line.
func (en *Enforcer) enforce(sub, dom string, a Action) bool {
	e := en.cur.Load()
	roles, err := e.GetImplicitRolesForUser(sub)
	if err != nil {
		en.log.Error("casbin role lookup failed", "error", err)
		return false
	}
	for _, r := range roles {
		d, role, ok := splitScopedRole(r)
		if !ok || d != dom {
			continue
		}
		if ok, _ := e.HasPolicy(role, string(a)); ok {
			return true
		}
	}
	return false
}

func (en *Enforcer) roleAllows(r Role, a Action) bool {
	ok, _ := en.cur.Load().HasPolicy(string(r), string(a))
	return ok
}

func (en *Enforcer) isSiteAdmin(userID int64) bool {
	ok, _ := en.cur.Load().GetRoleManager().HasLink(userSubject(userID), scopedRole(instanceDomain, roleAdmin))
	return ok
}

// memberChange is the payload of the cairn_members notification.
type memberChange struct {
	Op          string `json:"op"`
	UserID      int64  `json:"user_id"`
	GroupID     *int64 `json:"group_id"`
	ProjectID   *int64 `json:"project_id"`
	AccessLevel int32  `json:"access_level"`
}

// Follow keeps the enforcer current with changes made by any replica until
// ctx ends. It reloads everything after (re)connecting, since notifications
// sent while disconnected are lost. ready is closed once the first load is
// done and the subscription active.
func (en *Enforcer) Follow(ctx context.Context, pool *pgxpool.Pool, ready chan<- struct{}) {
	var once sync.Once
	pgnotify.Follow(ctx, pool, en.log, []string{"cairn_members", "cairn_user_groups"}, pgnotify.Handler{
		Connected: func(ctx context.Context) error {
			if err := en.Load(ctx, pool); err != nil {
				return err
			}
			once.Do(func() { close(ready) })
			return nil
		},
		Notify: func(channel, payload string) {
			switch channel {
			case "cairn_members":
				var c memberChange
				if err := json.Unmarshal([]byte(payload), &c); err != nil {
					en.log.Error("bad membership notification", "payload", payload, "error", err)
					return
				}
				if err := en.ApplyMember(c.Op, c.UserID, c.GroupID, c.ProjectID, c.AccessLevel); err != nil {
					en.log.Error("apply membership notification", "error", err)
				}
			case "cairn_user_groups":
				if err := en.ReloadUserGroups(ctx, pool); err != nil {
					en.log.Error("reload user groups", "error", err)
				}
			}
		},
	})
}
