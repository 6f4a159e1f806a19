package providers

import (
	"context"
	"encoding/json"
	"errors"
	"io"
	"sort"
	"time"

	"github.com/jackc/pgx/v5"

	"github.com/cairn-registry/cairn/errs"
	"github.com/cairn-registry/cairn/modules"
	"github.com/cairn-registry/cairn/modules/version"
	"github.com/cairn-registry/cairn/policies"
	"github.com/cairn-registry/cairn/projects"
	"github.com/cairn-registry/cairn/queries"
)

// Registry modules are the TFE API's view of Cairn modules: a module
// created there exists (status "pending") before its first version, and a
// version announced there waits for its upload, which arrives on a link
// without credentials; the principal that announced it is kept with it.
// Published versions are ordinary Cairn modules (modules.Service).

// Module statuses (TFE's words).
const (
	StatusPending         = "pending"
	StatusOK              = "ok"
	StatusIngressFailed   = "reg_ingress_failed"
	StatusIngressRequired = "reg_ingress_req_failed"
)

// ModuleVersionStatus is one version of a registry module and its status.
type ModuleVersionStatus struct {
	ID      int64  `json:"id"`
	Version string `json:"version"`
	Status  string `json:"status"`
	Error   string `json:"error"`
}

// RegistryModule is a module as the TFE API shows it.
type RegistryModule struct {
	Namespace, Name, System string
	ProjectID               int64
	ProjectPath             string
	CreatedAt, UpdatedAt    time.Time
	// Versions are published versions (ok) and announced uploads.
	Versions []ModuleVersionStatus
	Resource policies.Resource
	rowID    int64
	module   *modules.Module
}

// Status is the module's overall status: ok once a version is published.
func (m *RegistryModule) Status() string {
	for _, v := range m.Versions {
		if v.Status == StatusOK {
			return StatusOK
		}
	}
	return StatusPending
}

// Version returns one version's status.
func (m *RegistryModule) Version(v string) (ModuleVersionStatus, bool) {
	for _, x := range m.Versions {
		if x.Version == v {
			return x, true
		}
	}
	return ModuleVersionStatus{}, false
}

// Modules is the module service registry modules publish through; set once
// at start (SetModules).
func (s *Service) SetModules(m *modules.Service) { s.modules = m }

// CreateRegistryModule records namespace/name/system in its owning project
// (projectPath, or <namespace>/<name> created on demand).
func (s *Service) CreateRegistryModule(ctx context.Context, p *policies.Principal, namespace, name, system, projectPath string) (*RegistryModule, error) {
	if !modules.ValidName(name, system) {
		return nil, errs.Field(errs.Invalid, "name", "name and provider may contain only lower-case letters, digits and '-'")
	}
	if existing, err := s.RegistryModule(ctx, p, namespace, name, system); err == nil && len(existing.Versions) > 0 {
		return nil, errs.Field(errs.Conflict, "name", "module %s/%s/%s already exists", namespace, name, system)
	}
	proj, err := s.OwningProject(ctx, p, namespace, name, projectPath)
	if err != nil {
		return nil, err
	}
	if err := s.authz.Check(p, policies.CreatePackage, proj.Resource()); err != nil {
		return nil, err
	}
	if _, err := queries.New(s.db).CreateRegistryModule(ctx, queries.CreateRegistryModuleParams{ProjectID: proj.ID,
		NamespaceID: proj.NamespaceID(), Name: name, System: system}); err != nil {
		return nil, err
	}
	return s.RegistryModule(ctx, p, namespace, name, system)
}

// RegistryModule reads namespace/name/system: published versions and
// announced uploads.
func (s *Service) RegistryModule(ctx context.Context, p *policies.Principal, namespace, name, system string) (*RegistryModule, error) {
	var out *RegistryModule
	mod, err := s.modules.Find(ctx, p, namespace, name, system)
	switch {
	case err == nil:
		out = &RegistryModule{Namespace: mod.Namespace, Name: mod.Name, System: mod.System, ProjectID: mod.ProjectID,
			ProjectPath: mod.ProjectPath, CreatedAt: mod.CreatedAt, UpdatedAt: mod.CreatedAt, Resource: mod.Resource, module: mod}
		for _, v := range mod.Versions {
			out.Versions = append(out.Versions, ModuleVersionStatus{ID: v.ID, Version: v.Version, Status: StatusOK})
			if v.CreatedAt.After(out.UpdatedAt) {
				out.UpdatedAt = v.CreatedAt
			}
		}
	case errs.Is(err, errs.NotFound), errs.Is(err, errs.Unauthenticated):
	default:
		return nil, err
	}
	rows, err := queries.New(s.db).ListRegistryModules(ctx, queries.ListRegistryModulesParams{Namespace: namespace, Name: &name, System: &system})
	if err != nil {
		return nil, err
	}
	for _, r := range rows {
		res := policies.ProjectResourceOf(r.ProjectID, policies.Visibility(r.ProjectVisibility), r.GroupTraversalIds)
		if out != nil && out.ProjectID != r.ProjectID {
			continue
		}
		if out == nil {
			if err := s.authz.Check(p, policies.ReadPackage, res); err != nil {
				return nil, err
			}
			out = &RegistryModule{Namespace: r.NamespacePath, Name: r.Name, System: r.System, ProjectID: r.ProjectID,
				ProjectPath: r.ProjectPath, CreatedAt: r.CreatedAt, UpdatedAt: r.CreatedAt, Resource: res}
		}
		out.rowID = r.ID
		var ups []ModuleVersionStatus
		_ = json.Unmarshal(r.Uploads, &ups)
		for _, u := range ups {
			if _, published := out.Version(u.Version); !published {
				out.Versions = append(out.Versions, u)
			}
		}
	}
	if out == nil {
		return nil, policies.NotFound(p)
	}
	sortStatuses(out.Versions)
	return out, nil
}

func sortStatuses(vs []ModuleVersionStatus) {
	sort.SliceStable(vs, func(i, j int) bool {
		a, errA := version.Parse(vs[i].Version)
		b, errB := version.Parse(vs[j].Version)
		if errA != nil || errB != nil {
			return vs[i].Version < vs[j].Version
		}
		return version.Compare(a, b) > 0
	})
}

// RegistryModules lists the modules of namespace p may read, published or
// only created, by name and system.
func (s *Service) RegistryModules(ctx context.Context, p *policies.Principal, namespace string) ([]*RegistryModule, error) {
	g, err := s.namespace(ctx, p, namespace)
	if err != nil {
		return nil, err
	}
	seen := map[string]bool{}
	out := []*RegistryModule{}
	for off := 0; ; {
		page, err := s.modules.Search(ctx, p, modules.SearchQuery{Namespaces: []string{g.FullPath}, Offset: off, Limit: modules.MaxPageSize})
		if err != nil {
			return nil, err
		}
		for _, o := range page.Modules {
			if seen[o.Name+"/"+o.System] {
				continue
			}
			seen[o.Name+"/"+o.System] = true
			if m, err := s.RegistryModule(ctx, p, g.FullPath, o.Name, o.System); err == nil {
				out = append(out, m)
			}
		}
		if !page.More {
			break
		}
		off += len(page.Modules)
	}
	rows, err := queries.New(s.db).ListRegistryModules(ctx, queries.ListRegistryModulesParams{Namespace: g.FullPath})
	if err != nil {
		return nil, err
	}
	for _, r := range rows {
		if seen[r.Name+"/"+r.System] {
			continue
		}
		seen[r.Name+"/"+r.System] = true
		if m, err := s.RegistryModule(ctx, p, g.FullPath, r.Name, r.System); err == nil {
			out = append(out, m)
		}
	}
	sort.Slice(out, func(i, j int) bool {
		if out[i].Name != out[j].Name {
			return out[i].Name < out[j].Name
		}
		return out[i].System < out[j].System
	})
	return out, nil
}

// CreateModuleVersion announces a version of a registry module and returns
// the id its upload link names.
func (s *Service) CreateModuleVersion(ctx context.Context, p *policies.Principal, namespace, name, system, ver string) (*RegistryModule, int64, error) {
	m, err := s.RegistryModule(ctx, p, namespace, name, system)
	if err != nil {
		return nil, 0, err
	}
	if err := s.authz.Check(p, policies.CreatePackage, m.Resource); err != nil {
		return nil, 0, err
	}
	v, err := version.Parse(ver)
	if err != nil {
		return nil, 0, errs.Field(errs.Invalid, "version", "version %q is not a semantic version (MAJOR.MINOR.PATCH, no 'v'): %v", ver, err)
	}
	if st, ok := m.Version(v.String()); ok && st.Status == StatusOK {
		return nil, 0, errs.Field(errs.Conflict, "version", "version %s of %s/%s/%s already exists", v, namespace, name, system)
	}
	q := queries.New(s.db)
	if m.rowID == 0 {
		proj, err := s.tenancy.ProjectByID(ctx, p, m.ProjectID)
		if err != nil {
			return nil, 0, err
		}
		row, err := q.CreateRegistryModule(ctx, queries.CreateRegistryModuleParams{ProjectID: m.ProjectID, NamespaceID: proj.NamespaceID(), Name: name, System: system})
		if err != nil {
			return nil, 0, err
		}
		m.rowID = row.ID
	}
	who, err := json.Marshal(p)
	if err != nil {
		return nil, 0, err
	}
	up, err := q.CreateModuleUpload(ctx, queries.CreateModuleUploadParams{RegistryModuleID: m.rowID, Version: v.String(), Principal: who})
	if err != nil {
		return nil, 0, err
	}
	m, err = s.RegistryModule(ctx, p, namespace, name, system)
	return m, up.ID, err
}

// UploadModule publishes the archive of an announced version (authorised
// by its upload link) as the principal that announced it; the version's
// status becomes ok, or reg_ingress_failed with the reason.
func (s *Service) UploadModule(ctx context.Context, uploadID int64, body io.Reader, size int64) error {
	q := queries.New(s.db)
	up, err := q.GetModuleUploadForUpdate(ctx, uploadID)
	if errors.Is(err, pgx.ErrNoRows) {
		return errs.E(errs.Forbidden, "upload link is invalid or has expired")
	} else if err != nil {
		return err
	}
	if up.Status == StatusOK {
		return errs.Field(errs.Conflict, "version", "version %s is already uploaded", up.Version)
	}
	var p policies.Principal
	if err := json.Unmarshal(up.Principal, &p); err != nil {
		return err
	}
	rows, err := s.registryRow(ctx, up.RegistryModuleID)
	if err != nil {
		return err
	}
	proj, err := s.tenancy.ProjectByID(ctx, &p, rows.ProjectID)
	if err != nil {
		return err
	}
	_, err = s.modules.Publish(ctx, &p, proj, modules.PublishInput{Name: rows.Name, System: rows.System, Version: up.Version, Body: body, Size: size})
	status, msg := StatusOK, ""
	if err != nil {
		status, msg = StatusIngressFailed, errs.Message(err)
	}
	if serr := q.SetModuleUploadStatus(context.WithoutCancel(ctx), queries.SetModuleUploadStatusParams{ID: up.ID, Status: status, Error: msg}); serr != nil && err == nil {
		err = serr
	}
	return err
}

func (s *Service) registryRow(ctx context.Context, id int64) (queries.TfeRegistryModule, error) {
	out, err := queries.New(s.db).GetRegistryModuleByID(ctx, id)
	if errors.Is(err, pgx.ErrNoRows) {
		return out, errs.ErrNotFound
	}
	return out, err
}

// DeleteRegistryModule deletes versions of namespace/name (every system
// when system is empty, every version when ver is empty); emptied modules
// disappear (maintainers and above).
func (s *Service) DeleteRegistryModule(ctx context.Context, p *policies.Principal, namespace, name, system, ver string) error {
	systems := []string{system}
	if system == "" {
		list, err := s.RegistryModules(ctx, p, namespace)
		if err != nil {
			return err
		}
		systems = nil
		for _, m := range list {
			if m.Name == name {
				systems = append(systems, m.System)
			}
		}
		if len(systems) == 0 {
			return policies.NotFound(p)
		}
	}
	for _, sys := range systems {
		m, err := s.RegistryModule(ctx, p, namespace, name, sys)
		if err != nil {
			return err
		}
		if err := s.authz.Check(p, policies.DestroyPackage, m.Resource); err != nil {
			return err
		}
		if ver != "" {
			if _, ok := m.Version(ver); !ok {
				return errs.ErrNotFound
			}
		}
		var proj projects.Project
		if m.module != nil {
			if proj, err = s.tenancy.ProjectByID(ctx, p, m.ProjectID); err != nil {
				return err
			}
			for _, v := range m.module.Versions {
				if ver != "" && v.Version != ver {
					continue
				}
				if err := s.modules.DeleteVersion(ctx, p, proj, v.ID); err != nil && !errs.Is(err, errs.NotFound) {
					return err
				}
			}
		}
		if m.rowID != 0 {
			q := queries.New(s.db)
			var vp *string
			if ver != "" {
				vp = &ver
			}
			if err := q.DeleteModuleUploads(ctx, queries.DeleteModuleUploadsParams{RegistryModuleID: m.rowID, Version: vp}); err != nil {
				return err
			}
			left := 0
			for _, v := range m.Versions {
				if ver != "" && v.Version != ver {
					left++
				}
			}
			if left == 0 {
				if err := q.DeleteRegistryModule(ctx, m.rowID); err != nil {
					return err
				}
			}
		}
	}
	return nil
}
