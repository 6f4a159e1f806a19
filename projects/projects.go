package projects

import (
	"context"
	"strconv"
	"strings"

	"github.com/jackc/pgx/v5"

	"github.com/cairn-registry/cairn/audit"
	"github.com/cairn-registry/cairn/policies"
	"github.com/cairn-registry/cairn/queries"
)

// ProjectInput creates or updates a project.
type ProjectInput struct {
	// NamespaceID or NamespacePath names the group (GitLab's namespace_id).
	NamespaceID   int64
	NamespacePath string
	Path          string
	Name          string
	Description   string
	Visibility    string
}

// CreateProject creates a project in a group (maintainer+ of the group).
func (s *Service) CreateProject(ctx context.Context, p *policies.Principal, in ProjectInput) (queries.Project, error) {
	if in.Path == "" && in.Name != "" {
		in.Path = strings.ToLower(strings.ReplaceAll(strings.TrimSpace(in.Name), " ", "-"))
	}
	if in.NamespaceID == 0 && in.NamespacePath == "" {
		return queries.Project{}, invalid("namespace_id is required: projects live in a group")
	}
	ref := in.NamespacePath
	if in.NamespaceID != 0 {
		ref = strconv.FormatInt(in.NamespaceID, 10)
	}
	g, r, err := s.FindGroup(ctx, p, ref)
	if err != nil {
		return queries.Project{}, err
	}
	if err := s.authz.Check(p, policies.CreateProject, r); err != nil {
		return queries.Project{}, err
	}
	if err := ValidatePath(in.Path, false); err != nil {
		return queries.Project{}, err
	}
	if in.Name == "" {
		in.Name = in.Path
	}
	vis, err := ParseVisibility(in.Visibility)
	if err != nil {
		return queries.Project{}, err
	}
	if vis.Rank() > policies.Visibility(g.Visibility).Rank() {
		return queries.Project{}, invalid("visibility %s is not allowed since the group has %s visibility", vis, g.Visibility)
	}
	fullPath := g.FullPath + "/" + in.Path
	var out queries.Project
	err = s.tx(ctx, func(q *queries.Queries, tx pgx.Tx) error {
		taken, err := q.SiblingPathTaken(ctx, queries.SiblingPathTakenParams{ParentID: &g.ID, Path: in.Path})
		if err != nil {
			return err
		}
		if taken {
			return conflict("path %q has already been taken", fullPath)
		}
		out, err = q.CreateProject(ctx, queries.CreateProjectParams{GroupID: g.ID, Path: in.Path, Name: in.Name,
			FullPath: fullPath, Description: in.Description, Visibility: string(vis)})
		if err != nil {
			return uniqueConflict(err, "path %q has already been taken", fullPath)
		}
		return audit.Record(ctx, tx, p, "create", "project", out.ID, nil, out)
	})
	return out, err
}

// FindProject resolves a numeric id or full path and checks p may see it.
func (s *Service) FindProject(ctx context.Context, p *policies.Principal, idOrPath string) (queries.Project, policies.Resource, error) {
	var pr queries.Project
	var err error
	if id, perr := strconv.ParseInt(idOrPath, 10, 64); perr == nil {
		pr, err = s.q().GetProject(ctx, id)
	} else {
		pr, err = s.q().GetProjectByPath(ctx, strings.Trim(idOrPath, "/"))
	}
	if err != nil {
		return pr, policies.Resource{}, notFound(p, err)
	}
	r, err := s.projectResource(ctx, pr)
	if err != nil {
		return pr, r, err
	}
	if err := s.authz.Check(p, policies.ReadProject, r); err != nil {
		return pr, r, err
	}
	return pr, r, nil
}

// ListProjects lists visible projects, optionally within one group.
func (s *Service) ListProjects(ctx context.Context, p *policies.Principal, groupRef, search string, limit, offset int) ([]queries.Project, error) {
	var gid *int64
	if groupRef != "" {
		g, _, err := s.FindGroup(ctx, p, groupRef)
		if err != nil {
			return nil, err
		}
		gid = &g.ID
	}
	var sp *string
	if search != "" {
		sp = &search
	}
	rows, err := visiblePage(func(off, lim int32) ([]queries.ListProjectsRow, error) {
		return s.q().ListProjects(ctx, queries.ListProjectsParams{GroupID: gid, Search: sp, Lim: lim, Off: off})
	}, func(row queries.ListProjectsRow) bool {
		r := policies.ProjectResourceOf(row.Project.ID, policies.Visibility(row.Project.Visibility), row.GroupTraversalIds)
		return s.authz.Check(p, policies.ReadProject, r) == nil
	}, limit, offset)
	if err != nil {
		return nil, err
	}
	out := make([]queries.Project, len(rows))
	for i, row := range rows {
		out[i] = row.Project
	}
	return out, nil
}

// ProjectUpdate changes some of a project's settings; nil leaves one as it is.
type ProjectUpdate struct {
	Name        *string
	Description *string
	Visibility  *string
}

// UpdateProject changes name, description or visibility (maintainer+);
// fields left nil are not touched (atomically, in SQL).
func (s *Service) UpdateProject(ctx context.Context, p *policies.Principal, idOrPath string, in ProjectUpdate) (queries.Project, error) {
	pr, r, err := s.FindProject(ctx, p, idOrPath)
	if err != nil {
		return pr, err
	}
	if err := s.authz.Check(p, policies.AdminProject, r); err != nil {
		return pr, err
	}
	if in.Name != nil && *in.Name == "" {
		return pr, invalid("name can't be blank")
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
			return pr, invalid("visibility %s is not allowed since the group has %s visibility", vis, g.Visibility)
		}
		v := string(vis)
		in.Visibility = &v
	}
	var out queries.Project
	err = s.tx(ctx, func(q *queries.Queries, tx pgx.Tx) error {
		out, err = q.UpdateProject(ctx, queries.UpdateProjectParams{ID: pr.ID, Name: in.Name, Description: in.Description, Visibility: in.Visibility})
		if err != nil {
			return err
		}
		return audit.Record(ctx, tx, p, "update", "project", pr.ID, pr, out)
	})
	return out, err
}

// DeleteProject deletes a project and its modules (owner).
func (s *Service) DeleteProject(ctx context.Context, p *policies.Principal, idOrPath string) error {
	pr, r, err := s.FindProject(ctx, p, idOrPath)
	if err != nil {
		return err
	}
	if err := s.authz.Check(p, policies.DeleteProject, r); err != nil {
		return err
	}
	return s.tx(ctx, func(q *queries.Queries, tx pgx.Tx) error {
		if err := q.DeleteProject(ctx, pr.ID); err != nil {
			return err
		}
		return audit.Record(ctx, tx, p, "delete", "project", pr.ID, pr, nil)
	})
}
