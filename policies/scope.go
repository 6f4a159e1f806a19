package policies

import (
	"slices"
	"strconv"
	"strings"
)

// Scope is the set of projects whose packages a principal may read, in a
// form a list or search query can apply in SQL: nothing when None; every
// project when All; otherwise public projects, internal ones when Internal,
// and those in ProjectIDs or below a group in GroupIDs. It is derived from
// the same memberships and rules as Check, so lists agree with lookups.
type Scope struct {
	None       bool
	All        bool
	Internal   bool
	ProjectIDs []int64
	GroupIDs   []int64
}

// ReadableScope returns what p may read packages of.
func (z *Authorizer) ReadableScope(p *Principal) Scope {
	if !z.scoped(p, ReadPackage) {
		return Scope{None: true}
	}
	switch p.Kind {
	case User:
		if z.isAdmin(p) {
			return Scope{All: true}
		}
		s := Scope{Internal: true}
		sub := userSubject(p.UserID)
		for _, dom := range z.e.cur.Load().domains.of(sub) { // each once
			if z.e.enforce(sub, dom, ReadPackage) {
				s.add(dom)
			}
		}
		return s
	case DeployToken:
		s := Scope{}
		if z.e.roleAllows(Reporter, ReadPackage) {
			s.add(p.DeployDomain)
		}
		return s
	case Job:
		// Not a signed-in user: internal projects only when it may act for them.
		return Scope{ProjectIDs: slices.Clone(p.JobProjectIDs)}
	}
	return Scope{}
}

func (s *Scope) add(dom string) {
	kind, id, ok := strings.Cut(dom, ":")
	n, err := strconv.ParseInt(id, 10, 64)
	if !ok || err != nil {
		return
	}
	switch kind {
	case "g":
		s.GroupIDs = append(s.GroupIDs, n)
	case "p":
		s.ProjectIDs = append(s.ProjectIDs, n)
	}
}

// Readable reports whether the scope includes a project of visibility vis
// in the group whose traversal ids are given (top-level group first). It is
// the rule of SQL's cairn_scope_readable (migration 00005), for lists
// filtered in memory; TestScopeReadableAgreesWithSQL keeps the two equal.
func (s Scope) Readable(vis Visibility, projectID int64, groupTraversal []int64) bool {
	switch {
	case s.None:
		return false
	case s.All, vis == Public, s.Internal && vis == Internal:
		return true
	case slices.Contains(s.ProjectIDs, projectID):
		return true
	}
	for _, g := range groupTraversal {
		if slices.Contains(s.GroupIDs, g) {
			return true
		}
	}
	return false
}
