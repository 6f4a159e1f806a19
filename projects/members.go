package projects

import (
	"context"

	"github.com/jackc/pgx/v5"

	"github.com/cairn-registry/cairn/audit"
	"github.com/cairn-registry/cairn/errs"
	"github.com/cairn-registry/cairn/policies"
	"github.com/cairn-registry/cairn/queries"
)

// Member is a direct membership.
type Member struct {
	UserID      int64  `json:"user_id"`
	Username    string `json:"username"`
	Name        string `json:"name"`
	Blocked     bool   `json:"blocked"`
	AccessLevel int32  `json:"access_level"`
}

// Target is the group or project whose members or tokens are managed.
// Build it with GroupTarget or ProjectTarget from a looked-up resource.
type Target struct {
	GroupID, ProjectID *int64
	resource           policies.Resource
	topLevel           bool
}

// GroupTarget targets a group.
func GroupTarget(g Group) Target {
	id := g.ID
	return Target{GroupID: &id, resource: g.Resource(), topLevel: g.TopLevel()}
}

// ProjectTarget targets a project.
func ProjectTarget(p Project) Target {
	id := p.ID
	return Target{ProjectID: &id, resource: p.Resource()}
}

// Resource is the target as the authorization decision sees it.
func (t Target) Resource() policies.Resource { return t.resource }

// IsProject reports whether t is a project.
func (t Target) IsProject() bool { return t.ProjectID != nil }

func (t Target) manage() policies.Action {
	if t.IsProject() {
		return policies.ManageProjectMembers
	}
	return policies.ManageGroupMembers
}

func (t Target) objectType() string {
	if t.IsProject() {
		return "project_member"
	}
	return "group_member"
}

// ListMembers lists direct members (anyone who can see the target).
func (s *Service) ListMembers(ctx context.Context, p *policies.Principal, t Target) ([]Member, error) {
	out := []Member{}
	if t.IsProject() {
		rows, err := s.q().ListProjectMembers(ctx, t.ProjectID)
		if err != nil {
			return nil, err
		}
		for _, m := range rows {
			out = append(out, Member{m.UserID, m.Username, m.UserName, m.Blocked, m.AccessLevel})
		}
		return out, nil
	}
	rows, err := s.q().ListGroupMembers(ctx, t.GroupID)
	if err != nil {
		return nil, err
	}
	for _, m := range rows {
		out = append(out, Member{m.UserID, m.Username, m.UserName, m.Blocked, m.AccessLevel})
	}
	return out, nil
}

// GetMember returns one direct member.
func (s *Service) GetMember(ctx context.Context, p *policies.Principal, t Target, userID int64) (Member, error) {
	members, err := s.ListMembers(ctx, p, t)
	if err != nil {
		return Member{}, err
	}
	for _, m := range members {
		if m.UserID == userID {
			return m, nil
		}
	}
	return Member{}, errs.ErrNotFound
}

// SetMember adds a member or changes their access level. add=true refuses
// an existing membership (GitLab's POST), false requires one (PUT).
func (s *Service) SetMember(ctx context.Context, p *policies.Principal, t Target, userID int64, level int32, add bool) (Member, error) {
	if err := s.authz.Check(p, t.manage(), t.resource); err != nil {
		return Member{}, err
	}
	if _, err := policies.RoleForLevel(level); err != nil {
		return Member{}, errs.Field(errs.Invalid, "access_level", "access_level does not have a valid value: %v", err)
	}
	// Granting the owner role, or changing an owner's, is for owners (and
	// administrators) only, whatever manages the other members.
	owners := s.authz.Check(p, policies.ManageOwners, t.resource) == nil
	if level == policies.LevelOwner && !owners {
		return Member{}, errs.ErrForbidden
	}
	user, err := s.q().GetUser(ctx, userID)
	if err != nil {
		return Member{}, notFound(p, err)
	}
	var old *Member
	if cur, err := s.GetMember(ctx, p, t, userID); err == nil {
		old = &cur
	}
	if add && old != nil {
		return Member{}, errs.Field(errs.Conflict, "user_id", "Member already exists")
	}
	if !add && old == nil {
		return Member{}, errs.ErrNotFound
	}
	if old != nil && old.AccessLevel == policies.LevelOwner && !owners {
		return Member{}, errs.ErrForbidden
	}
	next := Member{userID, user.Username, user.Name, user.Blocked, level}
	err = s.tx(ctx, func(q *queries.Queries, tx pgx.Tx) error {
		// Decide again on the locked row: the membership may have changed
		// since it was read (promoted to owner, removed, added).
		cur, err := q.LockMemberLevel(ctx, queries.LockMemberLevelParams{UserID: userID, GroupID: t.GroupID, ProjectID: t.ProjectID})
		switch {
		case errs.IsNoRows(err) && !add:
			return errs.ErrNotFound
		case errs.IsNoRows(err):
			old = nil
		case err != nil:
			return err
		case add:
			return errs.Field(errs.Conflict, "user_id", "Member already exists")
		case cur == policies.LevelOwner && !owners:
			return errs.ErrForbidden
		default:
			old.AccessLevel = cur
		}
		if t.IsProject() {
			_, err = q.UpsertProjectMember(ctx, queries.UpsertProjectMemberParams{UserID: userID, ProjectID: t.ProjectID, AccessLevel: level})
		} else {
			_, err = q.UpsertGroupMember(ctx, queries.UpsertGroupMemberParams{UserID: userID, GroupID: t.GroupID, AccessLevel: level})
		}
		if err != nil {
			return err
		}
		if old != nil && old.AccessLevel == policies.LevelOwner && level != policies.LevelOwner && t.topLevel {
			if err := lastOwnerGuard(ctx, q, *t.GroupID); err != nil {
				return err
			}
		}
		return audit.Record(ctx, tx, p, map[bool]string{true: "add", false: "update"}[add], t.objectType(), userID, old, next)
	})
	if err != nil {
		return Member{}, err
	}
	if old != nil {
		s.enf.ApplyMember("del", userID, t.GroupID, t.ProjectID, old.AccessLevel)
	}
	s.enf.ApplyMember("add", userID, t.GroupID, t.ProjectID, level)
	return next, nil
}

// RemoveMember removes a direct membership.
func (s *Service) RemoveMember(ctx context.Context, p *policies.Principal, t Target, userID int64) error {
	if err := s.authz.Check(p, t.manage(), t.resource); err != nil {
		return err
	}
	old, err := s.GetMember(ctx, p, t, userID)
	if err != nil {
		return err
	}
	// Removing an owner is for owners (and administrators) only.
	owners := s.authz.Check(p, policies.ManageOwners, t.resource) == nil
	if old.AccessLevel == policies.LevelOwner && !owners {
		return errs.ErrForbidden
	}
	err = s.tx(ctx, func(q *queries.Queries, tx pgx.Tx) error {
		// Decide again on the locked row: it may have changed since it was read.
		cur, err := q.LockMemberLevel(ctx, queries.LockMemberLevelParams{UserID: userID, GroupID: t.GroupID, ProjectID: t.ProjectID})
		if errs.IsNoRows(err) {
			return errs.ErrNotFound
		} else if err != nil {
			return err
		}
		if cur == policies.LevelOwner && !owners {
			return errs.ErrForbidden
		}
		old.AccessLevel = cur
		if t.IsProject() {
			_, err = q.DeleteProjectMember(ctx, queries.DeleteProjectMemberParams{ProjectID: t.ProjectID, UserID: userID})
		} else {
			_, err = q.DeleteGroupMember(ctx, queries.DeleteGroupMemberParams{GroupID: t.GroupID, UserID: userID})
		}
		if err != nil {
			return err
		}
		if old.AccessLevel == policies.LevelOwner && t.topLevel {
			if err := lastOwnerGuard(ctx, q, *t.GroupID); err != nil {
				return err
			}
		}
		return audit.Record(ctx, tx, p, "remove", t.objectType(), userID, old, nil)
	})
	if err != nil {
		return err
	}
	return s.enf.ApplyMember("del", userID, t.GroupID, t.ProjectID, old.AccessLevel)
}

// lastOwnerGuard refuses a change (checked inside its transaction, after
// it) that left a namespace without an owner.
func lastOwnerGuard(ctx context.Context, q *queries.Queries, groupID int64) error {
	n, err := q.CountGroupOwners(ctx, &groupID)
	if err != nil {
		return err
	}
	if n == 0 {
		return errs.Invalidf("a group must keep at least one owner")
	}
	return nil
}
