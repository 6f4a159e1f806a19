package projects

import (
	"context"
	"strings"

	"github.com/jackc/pgx/v5"

	"github.com/cairn-registry/cairn/audit"
	"github.com/cairn-registry/cairn/errs"
	"github.com/cairn-registry/cairn/policies"
	"github.com/cairn-registry/cairn/queries"
)

// ProjectInput creates a project in Group (which p may see).
type ProjectInput struct {
	Group       Group
	Path        string
	Name        string
	Description string
	Visibility  string
}

// CreateProject creates a project in a group (maintainer+ of the group).
func (s *Service) CreateProject(ctx context.Context, p *policies.Principal, in ProjectInput) (Project, error) {
	g := in.Group
	if err := s.authz.Check(p, policies.CreateProject, g.Resource()); err != nil {
		return Project{}, err
	}
	if in.Path == "" && in.Name != "" {
		in.Path = strings.ToLower(strings.ReplaceAll(strings.TrimSpace(in.Name), " ", "-"))
	}
	if err := ValidatePath(in.Path, false); err != nil {
		return Project{}, err
	}
	if in.Name == "" {
		in.Name = in.Path
	}
	vis, err := ParseVisibility(in.Visibility)
	if err != nil {
		return Project{}, err
	}
	if vis.Rank() > policies.Visibility(g.Visibility).Rank() {
		return Project{}, errs.Field(errs.Invalid, "visibility", "visibility %s is not allowed since the group has %s visibility", vis, g.Visibility)
	}
	fullPath := g.FullPath + "/" + in.Path
	var out queries.Project
	err = s.tx(ctx, func(q *queries.Queries, tx pgx.Tx) error {
		taken, err := q.SiblingPathTaken(ctx, queries.SiblingPathTakenParams{ParentID: &g.ID, Path: in.Path})
		if err != nil {
			return err
		}
		if taken {
			return errs.Field(errs.Conflict, "path", "path %q has already been taken", fullPath)
		}
		out, err = q.CreateProject(ctx, queries.CreateProjectParams{GroupID: g.ID, Path: in.Path, Name: in.Name,
			FullPath: fullPath, Description: in.Description, Visibility: string(vis)})
		if err != nil {
			return errs.OnUnique(err, "path", "path %q has already been taken", fullPath)
		}
		return audit.Record(ctx, tx, p, "create", "project", out.ID, nil, projectOf(out, g.TraversalIDs))
	})
	if err != nil {
		return Project{}, err
	}
	return projectOf(out, g.TraversalIDs), nil
}

// ProjectByID returns a project p may see.
func (s *Service) ProjectByID(ctx context.Context, p *policies.Principal, id int64) (Project, error) {
	row, err := s.q().GetProject(ctx, id)
	return s.visibleProject(ctx, p, row, err)
}

// ProjectByPath returns a project p may see by its full path (any case).
func (s *Service) ProjectByPath(ctx context.Context, p *policies.Principal, fullPath string) (Project, error) {
	row, err := s.q().GetProjectByPath(ctx, fullPath)
	return s.visibleProject(ctx, p, row, err)
}

func (s *Service) visibleProject(ctx context.Context, p *policies.Principal, row queries.Project, err error) (Project, error) {
	if err != nil {
		return Project{}, notFound(p, err)
	}
	g, err := s.q().GetGroup(ctx, row.GroupID)
	if err != nil {
		return Project{}, err
	}
	pr := projectOf(row, g.TraversalIds)
	if err := s.authz.Check(p, policies.ReadProject, pr.Resource()); err != nil {
		return Project{}, err
	}
	return pr, nil
}

// ListProjects lists visible projects, everywhere or directly in group
// (nil: everywhere).
func (s *Service) ListProjects(ctx context.Context, p *policies.Principal, group *Group, search string, limit, offset int) ([]Project, error) {
	var gid *int64
	if group != nil {
		gid = &group.ID
	}
	var sp *string
	if search != "" {
		sp = &search
	}
	return visiblePage(func(off, lim int32) ([]Project, error) {
		rows, err := s.q().ListProjects(ctx, queries.ListProjectsParams{GroupID: gid, Search: sp, Lim: lim, Off: off})
		out := make([]Project, len(rows))
		for i, row := range rows {
			out[i] = projectOf(row.Project, row.GroupTraversalIds)
		}
		return out, err
	}, func(pr Project) bool { return s.authz.Can(p, policies.ReadProject, pr.Resource()) }, limit, offset)
}

// ProjectUpdate changes some of a project's settings; nil leaves one as it is.
type ProjectUpdate struct {
	Name        *string
	Description *string
	Visibility  *string
}

// UpdateProject changes name, description or visibility (maintainer+);
// fields left nil are not touched (atomically, in SQL).
func (s *Service) UpdateProject(ctx context.Context, p *policies.Principal, pr Project, in ProjectUpdate) (Project, error) {
	if err := s.authz.Check(p, policies.AdminProject, pr.Resource()); err != nil {
		return pr, err
	}
	if in.Name != nil && *in.Name == "" {
		return pr, errs.Field(errs.Invalid, "name", "name can't be blank")
	}
	if in.Visibility != nil {
		vis, err := ParseVisibility(*in.Visibility)
		if err != nil {
			return pr, err
		}
		g, err := s.q().GetGroup(ctx, pr.GroupID)
		if err != nil {
			return pr, err
		}
		if vis.Rank() > policies.Visibility(g.Visibility).Rank() {
			return pr, errs.Field(errs.Invalid, "visibility", "visibility %s is not allowed since the group has %s visibility", vis, g.Visibility)
		}
		v := string(vis)
		in.Visibility = &v
	}
	var out queries.Project
	err := s.tx(ctx, func(q *queries.Queries, tx pgx.Tx) error {
		var err error
		out, err = q.UpdateProject(ctx, queries.UpdateProjectParams{ID: pr.ID, Name: in.Name, Description: in.Description, Visibility: in.Visibility})
		if err != nil {
			return err
		}
		return audit.Record(ctx, tx, p, "update", "project", pr.ID, pr, projectOf(out, pr.GroupTraversalIDs))
	})
	if err != nil {
		return pr, err
	}
	return projectOf(out, pr.GroupTraversalIDs), nil
}

// DeleteProject deletes a project and its modules (owner).
func (s *Service) DeleteProject(ctx context.Context, p *policies.Principal, pr Project) error {
	if err := s.authz.Check(p, policies.DeleteProject, pr.Resource()); err != nil {
		return err
	}
	var keys []string
	err := s.tx(ctx, func(q *queries.Queries, tx pgx.Tx) error {
		var err error
		if keys, err = lockBlobKeys(ctx, q, &pr.ID, nil); err != nil {
			return err
		}
		if err := q.DeleteProject(ctx, pr.ID); err != nil {
			return err
		}
		return audit.Record(ctx, tx, p, "delete", "project", pr.ID, pr, nil)
	})
	if err != nil {
		return err
	}
	s.blobsOrphaned(ctx, keys)
	return nil
}
