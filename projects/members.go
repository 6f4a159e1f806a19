package projects

import (
	"context"
	"errors"

	"github.com/jackc/pgx/v5"

	"github.com/cairn-registry/cairn/audit"
	"github.com/cairn-registry/cairn/policies"
	"github.com/cairn-registry/cairn/queries"
)

// Member is a membership as the API shows it.
type Member struct {
	UserID      int64
	Username    string
	Name        string
	Blocked     bool
	AccessLevel int32
}

// MemberTarget names the group or project whose members are managed.
type MemberTarget struct {
	Project bool
	Ref     string // id or full path
}

type target struct {
	groupID, projectID *int64
	manage             policies.Action
	resource           policies.Resource
	objectType         string
}

func (s *Service) resolveTarget(ctx context.Context, p *policies.Principal, t MemberTarget) (target, error) {
	if t.Project {
		pr, r, err := s.FindProject(ctx, p, t.Ref)
		if err != nil {
			return target{}, err
		}
		return target{projectID: &pr.ID, manage: policies.ManageProjectMembers, resource: r, objectType: "project_member"}, nil
	}
	g, r, err := s.FindGroup(ctx, p, t.Ref)
	if err != nil {
		return target{}, err
	}
	return target{groupID: &g.ID, manage: policies.ManageGroupMembers, resource: r, objectType: "group_member"}, nil
}

// ListMembers lists direct members (anyone who can see the target).
func (s *Service) ListMembers(ctx context.Context, p *policies.Principal, t MemberTarget) ([]Member, error) {
	tg, err := s.resolveTarget(ctx, p, t)
	if err != nil {
		return nil, err
	}
	out := []Member{}
	if tg.projectID != nil {
		rows, err := s.q().ListProjectMembers(ctx, tg.projectID)
		if err != nil {
			return nil, err
		}
		for _, m := range rows {
			out = append(out, Member{m.UserID, m.Username, m.UserName, m.Blocked, m.AccessLevel})
		}
		return out, nil
	}
	rows, err := s.q().ListGroupMembers(ctx, tg.groupID)
	if err != nil {
		return nil, err
	}
	for _, m := range rows {
		out = append(out, Member{m.UserID, m.Username, m.UserName, m.Blocked, m.AccessLevel})
	}
	return out, nil
}

// GetMember returns one direct member.
func (s *Service) GetMember(ctx context.Context, p *policies.Principal, t MemberTarget, userID int64) (Member, error) {
	members, err := s.ListMembers(ctx, p, t)
	if err != nil {
		return Member{}, err
	}
	for _, m := range members {
		if m.UserID == userID {
			return m, nil
		}
	}
	return Member{}, ErrNotFound
}

// SetMember adds a member or changes their access level. add=true refuses
// an existing membership (GitLab's POST), false requires one (PUT).
func (s *Service) SetMember(ctx context.Context, p *policies.Principal, t MemberTarget, userID int64, level int32, add bool) (Member, error) {
	tg, err := s.resolveTarget(ctx, p, t)
	if err != nil {
		return Member{}, err
	}
	if err := s.authz.Check(p, tg.manage, tg.resource); err != nil {
		return Member{}, err
	}
	if _, err := policies.RoleForLevel(level); err != nil {
		return Member{}, invalid("access_level does not have a valid value: %v", err)
	}
	// Only owners (or admins) may grant owner.
	if level == 50 && s.authz.Check(p, policies.AdminGroup, tg.resource) != nil && !s.authz.IsAdmin(p) {
		return Member{}, ErrForbidden
	}
	user, err := s.q().GetUser(ctx, userID)
	if errors.Is(err, pgx.ErrNoRows) {
		return Member{}, ErrNotFound
	} else if err != nil {
		return Member{}, err
	}
	var old *Member
	if cur, err := s.GetMember(ctx, p, t, userID); err == nil {
		old = &cur
	}
	if add && old != nil {
		return Member{}, conflict("Member already exists")
	}
	if !add && old == nil {
		return Member{}, ErrNotFound
	}
	err = s.tx(ctx, func(q *queries.Queries, tx pgx.Tx) error {
		var err error
		if tg.projectID != nil {
			_, err = q.UpsertProjectMember(ctx, queries.UpsertProjectMemberParams{UserID: userID, ProjectID: tg.projectID, AccessLevel: level})
		} else {
			_, err = q.UpsertGroupMember(ctx, queries.UpsertGroupMemberParams{UserID: userID, GroupID: tg.groupID, AccessLevel: level})
		}
		if err != nil {
			return err
		}
		if old != nil && old.AccessLevel == 50 && level != 50 && tg.topLevel() {
			if err := lastOwnerGuard(ctx, q, *tg.groupID); err != nil {
				return err
			}
		}
		return audit.Record(ctx, tx, p, map[bool]string{true: "add", false: "update"}[add], tg.objectType, userID, old, Member{userID, user.Username, user.Name, user.Blocked, level})
	})
	if err != nil {
		return Member{}, err
	}
	if old != nil {
		s.enf.ApplyMember("del", userID, tg.groupID, tg.projectID, old.AccessLevel)
	}
	s.enf.ApplyMember("add", userID, tg.groupID, tg.projectID, level)
	return Member{userID, user.Username, user.Name, user.Blocked, level}, nil
}

// RemoveMember removes a direct membership.
func (s *Service) RemoveMember(ctx context.Context, p *policies.Principal, t MemberTarget, userID int64) error {
	tg, err := s.resolveTarget(ctx, p, t)
	if err != nil {
		return err
	}
	if err := s.authz.Check(p, tg.manage, tg.resource); err != nil {
		return err
	}
	old, err := s.GetMember(ctx, p, t, userID)
	if err != nil {
		return err
	}
	err = s.tx(ctx, func(q *queries.Queries, tx pgx.Tx) error {
		if tg.projectID != nil {
			_, err = q.DeleteProjectMember(ctx, queries.DeleteProjectMemberParams{ProjectID: tg.projectID, UserID: userID})
		} else {
			_, err = q.DeleteGroupMember(ctx, queries.DeleteGroupMemberParams{GroupID: tg.groupID, UserID: userID})
		}
		if err != nil {
			return err
		}
		if old.AccessLevel == 50 && tg.topLevel() {
			if err := lastOwnerGuard(ctx, q, *tg.groupID); err != nil {
				return err
			}
		}
		return audit.Record(ctx, tx, p, "remove", tg.objectType, userID, old, nil)
	})
	if err != nil {
		return err
	}
	return s.enf.ApplyMember("del", userID, tg.groupID, tg.projectID, old.AccessLevel)
}

// topLevel reports whether the target is a top-level group (a namespace),
// which must always keep an owner; subgroups inherit owners from above.
func (t target) topLevel() bool { return t.groupID != nil && len(t.resource.Domains) == 1 }

// lastOwnerGuard refuses a change (checked inside its transaction, after
// it) that left a namespace without an owner.
func lastOwnerGuard(ctx context.Context, q *queries.Queries, groupID int64) error {
	n, err := q.CountGroupOwners(ctx, &groupID)
	if err != nil {
		return err
	}
	if n == 0 {
		return invalid("a group must keep at least one owner")
	}
	return nil
}
