package projects

import (
	"context"
	"errors"
	"regexp"
	"strconv"
	"strings"

	"github.com/jackc/pgx/v5"

	"github.com/cairn-registry/cairn/audit"
	"github.com/cairn-registry/cairn/policies"
	"github.com/cairn-registry/cairn/queries"
)

// GroupInput creates or updates a group.
type GroupInput struct {
	ParentID    *int64
	Path        string
	Name        string
	Description string
	Visibility  string
	// Package settings (nil: unchanged on update, GitLab defaults on create).
	DuplicatesAllowed  *bool
	DuplicateException *string
}

// CreateGroup creates a top-level group (any user; the creator becomes its
// owner) or a subgroup (maintainer+ of the parent).
func (s *Service) CreateGroup(ctx context.Context, p *policies.Principal, in GroupInput) (queries.Group, error) {
	var parent *queries.Group
	if in.ParentID != nil {
		g, err := s.q().GetGroup(ctx, *in.ParentID)
		if err != nil {
			return queries.Group{}, notFound(p, err)
		}
		r, err := s.groupResource(ctx, g)
		if err != nil {
			return queries.Group{}, err
		}
		if err := s.authz.Check(p, policies.CreateSubgroup, r); err != nil {
			return queries.Group{}, err
		}
		parent = &g
	} else if err := s.authz.CheckInstance(p, policies.CreateNamespace); err != nil {
		return queries.Group{}, err
	}
	if err := ValidatePath(in.Path, parent == nil); err != nil {
		return queries.Group{}, err
	}
	if in.DuplicateException != nil {
		if _, err := regexp.Compile(*in.DuplicateException); err != nil {
			return queries.Group{}, invalid("terraform_module_duplicate_exception_regex is not a valid regular expression: %v", err)
		}
	}
	if in.Name == "" {
		in.Name = in.Path
	}
	vis, err := ParseVisibility(in.Visibility)
	if err != nil {
		return queries.Group{}, err
	}
	fullPath := in.Path
	if parent != nil {
		if vis.Rank() > policies.Visibility(parent.Visibility).Rank() {
			return queries.Group{}, invalid("visibility %s is not allowed since the parent group has %s visibility", vis, parent.Visibility)
		}
		fullPath = parent.FullPath + "/" + in.Path
	}
	var g queries.Group
	var owner *queries.Member
	err = s.tx(ctx, func(q *queries.Queries, tx pgx.Tx) error {
		taken, err := q.SiblingPathTaken(ctx, queries.SiblingPathTakenParams{ParentID: in.ParentID, Path: in.Path})
		if err != nil {
			return err
		}
		if taken {
			return conflict("path %q has already been taken", fullPath)
		}
		g, err = q.CreateGroup(ctx, queries.CreateGroupParams{ParentID: in.ParentID, Path: in.Path, Name: in.Name,
			FullPath: fullPath, Description: in.Description, Visibility: string(vis)})
		if err != nil {
			return uniqueConflict(err, "path %q has already been taken", fullPath)
		}
		if in.DuplicatesAllowed != nil || in.DuplicateException != nil {
			if g, err = q.UpdateGroup(ctx, queries.UpdateGroupParams{ID: g.ID,
				DuplicatesAllowed: in.DuplicatesAllowed, DuplicateException: in.DuplicateException}); err != nil {
				return err
			}
		}
		if p.Kind == policies.User && parent == nil {
			m, err := q.UpsertGroupMember(ctx, queries.UpsertGroupMemberParams{UserID: p.UserID, GroupID: &g.ID, AccessLevel: 50})
			if err != nil {
				return err
			}
			owner = &m
		}
		return audit.Record(ctx, tx, p, "create", "group", g.ID, nil, g)
	})
	if err == nil && owner != nil {
		// Only once committed: the enforcer must never run ahead of the database.
		err = s.enf.ApplyMember("add", owner.UserID, owner.GroupID, owner.ProjectID, owner.AccessLevel)
	}
	return g, err
}

// uniqueConflict turns a unique-violation into a conflict error.
func uniqueConflict(err error, format string, args ...any) error {
	if err != nil && strings.Contains(err.Error(), "SQLSTATE 23505") {
		return conflict(format, args...)
	}
	return err
}

// FindGroup resolves a numeric id or a full path (as GitLab's :id).
func (s *Service) FindGroup(ctx context.Context, p *policies.Principal, idOrPath string) (queries.Group, policies.Resource, error) {
	var g queries.Group
	var err error
	if id, perr := strconv.ParseInt(idOrPath, 10, 64); perr == nil {
		g, err = s.q().GetGroup(ctx, id)
	} else {
		g, err = s.q().GetGroupByPath(ctx, strings.Trim(idOrPath, "/"))
	}
	if err != nil {
		return g, policies.Resource{}, notFound(p, err)
	}
	r, err := s.groupResource(ctx, g)
	if err != nil {
		return g, r, err
	}
	if err := s.authz.Check(p, policies.ReadGroup, r); err != nil {
		return g, r, err
	}
	return g, r, nil
}

// ListGroups lists the groups p can see.
func (s *Service) ListGroups(ctx context.Context, p *policies.Principal, search string, topLevelOnly bool, limit, offset int) ([]queries.Group, error) {
	var sp *string
	if search != "" {
		sp = &search
	}
	return visiblePage(func(off, lim int32) ([]queries.Group, error) {
		return s.q().ListGroups(ctx, queries.ListGroupsParams{TopLevelOnly: topLevelOnly, Search: sp, Lim: lim, Off: off})
	}, func(g queries.Group) bool { return s.canSeeGroup(ctx, p, g) }, limit, offset)
}

// Subgroups lists the visible direct subgroups of a group.
func (s *Service) Subgroups(ctx context.Context, p *policies.Principal, idOrPath string) ([]queries.Group, error) {
	g, _, err := s.FindGroup(ctx, p, idOrPath)
	if err != nil {
		return nil, err
	}
	rows, err := s.q().ListSubgroups(ctx, &g.ID)
	if err != nil {
		return nil, err
	}
	out := []queries.Group{}
	for _, sg := range rows {
		if s.canSeeGroup(ctx, p, sg) {
			out = append(out, sg)
		}
	}
	return out, nil
}

func (s *Service) canSeeGroup(ctx context.Context, p *policies.Principal, g queries.Group) bool {
	r, err := s.groupResource(ctx, g)
	return err == nil && s.authz.Check(p, policies.ReadGroup, r) == nil
}

// listBatch is how many rows list pages read at a time before filtering.
const listBatch = 200

// visiblePage returns the page (limit items after skipping offset) of the
// rows p may see, reading rows in batches until the page is full or the
// rows run out: visibility is decided by the authorizer, row by row.
func visiblePage[T any](fetch func(off, lim int32) ([]T, error), visible func(T) bool, limit, offset int) ([]T, error) {
	out := []T{}
	for off := int32(0); len(out) < limit; off += listBatch {
		rows, err := fetch(off, listBatch)
		if err != nil {
			return nil, err
		}
		for _, row := range rows {
			if len(out) == limit {
				break
			}
			if !visible(row) {
				continue
			}
			if offset > 0 {
				offset--
				continue
			}
			out = append(out, row)
		}
		if len(rows) < listBatch {
			break
		}
	}
	return out, nil
}

// GroupUpdate changes some of a group's settings; nil leaves one as it is.
type GroupUpdate struct {
	Name               *string
	Description        *string
	Visibility         *string
	DuplicatesAllowed  *bool
	DuplicateException *string
}

// UpdateGroup changes a group's name, description, visibility and package
// settings (owner). Fields left nil are not touched (atomically, in SQL).
func (s *Service) UpdateGroup(ctx context.Context, p *policies.Principal, idOrPath string, in GroupUpdate) (queries.Group, error) {
	g, r, err := s.FindGroup(ctx, p, idOrPath)
	if err != nil {
		return g, err
	}
	if err := s.authz.Check(p, policies.AdminGroup, r); err != nil {
		return g, err
	}
	if in.Name != nil && *in.Name == "" {
		return g, invalid("name can't be blank")
	}
	if in.Visibility != nil {
		vis, err := ParseVisibility(*in.Visibility)
		if err != nil {
			return g, err
		}
		if err := s.checkGroupVisibility(ctx, g, vis); err != nil {
			return g, err
		}
		v := string(vis)
		in.Visibility = &v
	}
	if in.DuplicateException != nil {
		if _, err := regexp.Compile(*in.DuplicateException); err != nil {
			return g, invalid("terraform_module_duplicate_exception_regex is not a valid regular expression: %v", err)
		}
	}
	var out queries.Group
	err = s.tx(ctx, func(q *queries.Queries, tx pgx.Tx) error {
		out, err = q.UpdateGroup(ctx, queries.UpdateGroupParams{ID: g.ID, Name: in.Name, Description: in.Description,
			Visibility: in.Visibility, DuplicatesAllowed: in.DuplicatesAllowed, DuplicateException: in.DuplicateException})
		if err != nil {
			return err
		}
		return audit.Record(ctx, tx, p, "update", "group", g.ID, g, out)
	})
	return out, err
}

// checkGroupVisibility keeps a group no more visible than its parent and no
// less visible than its subgroups and projects.
func (s *Service) checkGroupVisibility(ctx context.Context, g queries.Group, vis policies.Visibility) error {
	if g.ParentID != nil {
		parent, err := s.q().GetGroup(ctx, *g.ParentID)
		if err != nil {
			return err
		}
		if vis.Rank() > policies.Visibility(parent.Visibility).Rank() {
			return invalid("visibility %s is not allowed since the parent group has %s visibility", vis, parent.Visibility)
		}
	}
	maxChild, err := s.q().GroupDescendantVisibility(ctx, g.ID)
	if err != nil {
		return err
	}
	if int(maxChild) > vis.Rank() {
		return invalid("visibility %s is not allowed since a subgroup or project has a higher visibility", vis)
	}
	return nil
}

// DeleteGroup deletes a group with its subgroups, projects and modules (owner).
func (s *Service) DeleteGroup(ctx context.Context, p *policies.Principal, idOrPath string) error {
	g, r, err := s.FindGroup(ctx, p, idOrPath)
	if err != nil {
		return err
	}
	if err := s.authz.Check(p, policies.DeleteGroup, r); err != nil {
		return err
	}
	return s.tx(ctx, func(q *queries.Queries, tx pgx.Tx) error {
		if err := q.DeleteGroup(ctx, g.ID); err != nil {
			return err
		}
		return audit.Record(ctx, tx, p, "delete", "group", g.ID, g, nil)
	})
}

// GroupAncestors returns the group and its ancestors, nearest first.
func (s *Service) GroupAncestors(ctx context.Context, id int64) ([]queries.GroupAncestorsRow, error) {
	rows, err := s.q().GroupAncestors(ctx, id)
	if errors.Is(err, pgx.ErrNoRows) {
		return nil, nil
	}
	return rows, err
}
