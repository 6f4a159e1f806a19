package modules

import (
	"context"
	"errors"
	"fmt"
	"time"

	"github.com/jackc/pgx/v5"

	"github.com/cairn-registry/cairn/audit"
	"github.com/cairn-registry/cairn/errs"
	"github.com/cairn-registry/cairn/policies"
	"github.com/cairn-registry/cairn/projects"
	"github.com/cairn-registry/cairn/queries"
)

// Package is a module version of a project, as package lists show it.
type Package struct {
	ID        int64
	Name      string
	System    string
	Version   string
	CreatedAt time.Time
}

// ListPackages lists a project's module versions (package readers).
func (s *Service) ListPackages(ctx context.Context, p *policies.Principal, proj projects.Project, limit, offset int) ([]Package, error) {
	if err := s.authz.Check(p, policies.ReadPackage, proj.Resource()); err != nil {
		return nil, err
	}
	rows, err := queries.New(s.db).ListProjectModuleVersions(ctx, queries.ListProjectModuleVersionsParams{ProjectID: proj.ID, Lim: int32(limit), Off: int32(offset)})
	if err != nil {
		return nil, err
	}
	out := make([]Package, len(rows))
	for i, r := range rows {
		out[i] = Package{ID: r.ID, Name: r.Name, System: r.System, Version: r.Version, CreatedAt: r.CreatedAt}
	}
	return out, nil
}

// DeleteVersion removes one version of proj (maintainer+): its row, then —
// once the deletion is committed — its archive and the zip built from it. The latest version is
// recomputed and a module left without versions disappears.
func (s *Service) DeleteVersion(ctx context.Context, p *policies.Principal, proj projects.Project, versionID int64) error {
	r := proj.Resource()
	if err := s.authz.Check(p, policies.ReadPackage, r); err != nil {
		return err
	}
	v, err := queries.New(s.db).GetProjectModuleVersion(ctx, queries.GetProjectModuleVersionParams{ProjectID: proj.ID, ID: versionID})
	if errors.Is(err, pgx.ErrNoRows) {
		return errs.ErrNotFound
	} else if err != nil {
		return err
	}
	if err := s.authz.Check(p, policies.DestroyPackage, r); err != nil {
		return err
	}
	// The blobs are read from the deleted row, so a zip recorded after v
	// was read (a first source.zip request converting it) is deleted too.
	var blobKeys []string
	err = pgx.BeginFunc(ctx, s.db, func(tx pgx.Tx) error {
		q := queries.New(tx)
		deleted, err := q.DeleteModuleVersion(ctx, v.ID)
		if err != nil {
			return err
		}
		blobKeys = []string{deleted.BlobKey}
		if deleted.ZipBlobKey != nil {
			blobKeys = append(blobKeys, *deleted.ZipBlobKey)
		}
		if err := s.refreshLatest(ctx, q, v.ModuleID); err != nil {
			return err
		}
		if err := q.DeleteModuleIfEmpty(ctx, v.ModuleID); err != nil {
			return err
		}
		return audit.Record(ctx, tx, p, "delete", "module_version", v.ID,
			map[string]string{"module": fmt.Sprintf("%s/%s", v.Name, v.System), "version": v.Version, "project": proj.FullPath}, nil)
	})
	if err != nil {
		return err
	}
	s.forgetNamespace(namespaceOf(proj.FullPath))
	// The row is gone, so nothing serves the blobs any more; a failure here
	// only leaves an unreferenced object.
	var errList []error
	for _, key := range blobKeys {
		errList = append(errList, s.blobs.Delete(context.WithoutCancel(ctx), key))
	}
	return errors.Join(errList...)
}
