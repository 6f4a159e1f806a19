package projects

import (
	"context"
	"regexp"

	"github.com/jackc/pgx/v5"

	"github.com/cairn-registry/cairn/audit"
	"github.com/cairn-registry/cairn/errs"
	"github.com/cairn-registry/cairn/policies"
	"github.com/cairn-registry/cairn/queries"
)

// GroupInput creates a group.
type GroupInput struct {
	ParentID    *int64
	Path        string
	Name        string
	Description string
	Visibility  string
	// Package settings (nil: GitLab's defaults).
	DuplicatesAllowed  *bool
	DuplicateException *string
}

func checkException(re *string) error {
	if re == nil {
		return nil
	}
	if _, err := regexp.Compile(*re); err != nil {
		return errs.Field(errs.Invalid, "terraform_module_duplicate_exception_regex",
			"terraform_module_duplicate_exception_regex is not a valid regular expression: %v", err)
	}
	return nil
}

// CreateGroup creates a top-level group (any user; the creator becomes its
// owner) or a subgroup (maintainer+ of the parent).
func (s *Service) CreateGroup(ctx context.Context, p *policies.Principal, in GroupInput) (Group, error) {
	var parent *Group
	if in.ParentID != nil {
		row, err := s.q().GetGroup(ctx, *in.ParentID)
		if err != nil {
			return Group{}, notFound(p, err)
		}
		g := groupOf(row)
		if err := s.authz.Check(p, policies.CreateSubgroup, g.Resource()); err != nil {
			return Group{}, err
		}
		parent = &g
	} else if err := s.authz.CheckInstance(p, policies.CreateNamespace); err != nil {
		return Group{}, err
	}
	if err := ValidatePath(in.Path, parent == nil); err != nil {
		return Group{}, err
	}
	if err := checkException(in.DuplicateException); err != nil {
		return Group{}, err
	}
	if in.Name == "" {
		in.Name = in.Path
	}
	vis, err := ParseVisibility(in.Visibility)
	if err != nil {
		return Group{}, err
	}
	fullPath := in.Path
	if parent != nil {
		if vis.Rank() > policies.Visibility(parent.Visibility).Rank() {
			return Group{}, errs.Field(errs.Invalid, "visibility", "visibility %s is not allowed since the parent group has %s visibility", vis, parent.Visibility)
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
			return errs.Field(errs.Conflict, "path", "path %q has already been taken", fullPath)
		}
		g, err = q.CreateGroup(ctx, queries.CreateGroupParams{ParentID: in.ParentID, Path: in.Path, Name: in.Name,
			FullPath: fullPath, Description: in.Description, Visibility: string(vis)})
		if err != nil {
			return errs.OnUnique(err, "path", "path %q has already been taken", fullPath)
		}
		if in.DuplicatesAllowed != nil || in.DuplicateException != nil {
			if g, err = q.UpdateGroup(ctx, queries.UpdateGroupParams{ID: g.ID,
				DuplicatesAllowed: in.DuplicatesAllowed, DuplicateException: in.DuplicateException}); err != nil {
				return err
			}
		}
		if p.Kind == policies.User && parent == nil {
			m, err := q.UpsertGroupMember(ctx, queries.UpsertGroupMemberParams{UserID: p.UserID, GroupID: &g.ID, AccessLevel: policies.LevelOwner})
			if err != nil {
				return err
			}
			owner = &m
		}
		return audit.Record(ctx, tx, p, "create", "group", g.ID, nil, groupOf(g))
	})
	if err == nil && owner != nil {
		// Only once committed: the enforcer must never run ahead of the database.
		err = s.enf.ApplyMember("add", owner.UserID, owner.GroupID, owner.ProjectID, owner.AccessLevel)
	}
	return groupOf(g), err
}

// GroupByID returns a group p may see.
func (s *Service) GroupByID(ctx context.Context, p *policies.Principal, id int64) (Group, error) {
	row, err := s.q().GetGroup(ctx, id)
	return s.visibleGroup(p, row, err)
}

// GroupByPath returns a group p may see by its full path (any case).
func (s *Service) GroupByPath(ctx context.Context, p *policies.Principal, fullPath string) (Group, error) {
	row, err := s.q().GetGroupByPath(ctx, fullPath)
	return s.visibleGroup(p, row, err)
}

func (s *Service) visibleGroup(p *policies.Principal, row queries.Group, err error) (Group, error) {
	if err != nil {
		return Group{}, notFound(p, err)
	}
	g := groupOf(row)
	if err := s.authz.Check(p, policies.ReadGroup, g.Resource()); err != nil {
		return Group{}, err
	}
	return g, nil
}

// ListGroups lists the groups p can see.
func (s *Service) ListGroups(ctx context.Context, p *policies.Principal, search string, topLevelOnly bool, limit, offset int) ([]Group, error) {
	var sp *string
	if search != "" {
		sp = &search
	}
	return visiblePage(func(off, lim int32) ([]Group, error) {
		rows, err := s.q().ListGroups(ctx, queries.ListGroupsParams{TopLevelOnly: topLevelOnly, Search: sp, Lim: lim, Off: off})
		return groupsOf(rows), err
	}, func(g Group) bool { return s.authz.Can(p, policies.ReadGroup, g.Resource()) }, limit, offset)
}

// Subgroups lists the visible direct subgroups of g (which p may see).
func (s *Service) Subgroups(ctx context.Context, p *policies.Principal, g Group) ([]Group, error) {
	rows, err := s.q().ListSubgroups(ctx, &g.ID)
	if err != nil {
		return nil, err
	}
	out := []Group{}
	for _, sg := range groupsOf(rows) {
		if s.authz.Can(p, policies.ReadGroup, sg.Resource()) {
			out = append(out, sg)
		}
	}
	return out, nil
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
func (s *Service) UpdateGroup(ctx context.Context, p *policies.Principal, g Group, in GroupUpdate) (Group, error) {
	if err := s.authz.Check(p, policies.AdminGroup, g.Resource()); err != nil {
		return g, err
	}
	if in.Name != nil && *in.Name == "" {
		return g, errs.Field(errs.Invalid, "name", "name can't be blank")
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
	if err := checkException(in.DuplicateException); err != nil {
		return g, err
	}
	var out queries.Group
	err := s.tx(ctx, func(q *queries.Queries, tx pgx.Tx) error {
		var err error
		out, err = q.UpdateGroup(ctx, queries.UpdateGroupParams{ID: g.ID, Name: in.Name, Description: in.Description,
			Visibility: in.Visibility, DuplicatesAllowed: in.DuplicatesAllowed, DuplicateException: in.DuplicateException})
		if err != nil {
			return err
		}
		return audit.Record(ctx, tx, p, "update", "group", g.ID, g, groupOf(out))
	})
	if err != nil {
		return g, err
	}
	return groupOf(out), nil
}

// checkGroupVisibility keeps a group no more visible than its parent and no
// less visible than its subgroups and projects.
func (s *Service) checkGroupVisibility(ctx context.Context, g Group, vis policies.Visibility) error {
	if g.ParentID != nil {
		parent, err := s.q().GetGroup(ctx, *g.ParentID)
		if err != nil {
			return err
		}
		if vis.Rank() > policies.Visibility(parent.Visibility).Rank() {
			return errs.Field(errs.Invalid, "visibility", "visibility %s is not allowed since the parent group has %s visibility", vis, parent.Visibility)
		}
	}
	maxChild, err := s.q().GroupDescendantVisibility(ctx, g.ID)
	if err != nil {
		return err
	}
	if int(maxChild) > vis.Rank() {
		return errs.Field(errs.Invalid, "visibility", "visibility %s is not allowed since a subgroup or project has a higher visibility", vis)
	}
	return nil
}

// DeleteGroup deletes a group with its subgroups, projects and modules (owner).
func (s *Service) DeleteGroup(ctx context.Context, p *policies.Principal, g Group) error {
	if err := s.authz.Check(p, policies.DeleteGroup, g.Resource()); err != nil {
		return err
	}
	var keys []string
	err := s.tx(ctx, func(q *queries.Queries, tx pgx.Tx) error {
		var err error
		if keys, err = lockBlobKeys(ctx, q, nil, &g.ID); err != nil {
			return err
		}
		if err := q.DeleteGroup(ctx, g.ID); err != nil {
			return err
		}
		return audit.Record(ctx, tx, p, "delete", "group", g.ID, g, nil)
	})
	if err != nil {
		return err
	}
	s.blobsOrphaned(ctx, keys)
	return nil
}

// Ancestors returns the group with id and its ancestors, nearest first
// (no authorization: for describing what p already sees).
func (s *Service) Ancestors(ctx context.Context, id int64) ([]Group, error) {
	rows, err := s.q().GroupAncestors(ctx, id)
	if err != nil {
		return nil, err
	}
	out := make([]Group, len(rows))
	for i, r := range rows {
		out[i] = groupOf(queries.Group(r))
	}
	return out, nil
}
