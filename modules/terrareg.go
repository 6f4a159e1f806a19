package modules

import (
	"context"
	"errors"
	"fmt"
	"io"
	"strconv"
	"strings"

	"github.com/jackc/pgx/v5"

	"github.com/cairn-registry/cairn/audit"
	"github.com/cairn-registry/cairn/errs"
	"github.com/cairn-registry/cairn/policies"
	"github.com/cairn-registry/cairn/projects"
	"github.com/cairn-registry/cairn/queries"
)

// Terrareg's module provider life cycle: create (the module lives in project
// <namespace>/<name>, created on demand), settings, moves with redirects,
// upload (unpublished until published unless auto-publish), publish and
// deletion. Permissions are policy actions: MODIFY (maintainer) publishes,
// uploads and changes settings; FULL (owner) creates and deletes module
// providers and versions and manages redirects.
//
// Refusals are errs kinds; a NotFound with field "namespace" means the
// namespace does not exist for p, with field "module" the module provider,
// with field "version" the version, with field "redirect" the redirect
// (Terrareg answers each with its own 400).

// SetTerraregAutoPublish publishes Terrareg uploads at once
// (CAIRN_TERRAREG_AUTO_PUBLISH).
func (s *Service) SetTerraregAutoPublish(on bool) { s.autoPublish = on }

// TerraregAutoPublish reports CAIRN_TERRAREG_AUTO_PUBLISH.
func (s *Service) TerraregAutoPublish() bool { return s.autoPublish }

var (
	errNoNamespace = errs.Field(errs.NotFound, "namespace", "Namespace does not exist")
	errNoProvider  = errs.Field(errs.NotFound, "module", "Module provider does not exist")
	errNoVersion   = errs.Field(errs.NotFound, "version", "Module version does not exist")
)

// SettingsInput is Terrareg's module provider settings; nil leaves a field
// as it is, a pointer to "" unsets a text field.
type SettingsInput struct {
	GitProviderID         *string
	RepoBaseURLTemplate   *string
	RepoCloneURLTemplate  *string
	RepoBrowseURLTemplate *string
	GitTagFormat          *string
	GitPath               *string
	ArchiveGitPath        *bool
	Verified              *bool
	// Move: the new namespace, module name or provider (nil: unchanged).
	Namespace, Name, System *string
}

func (in SettingsInput) moves() bool {
	return in.Namespace != nil || in.Name != nil || in.System != nil
}

// params validates the settings as Terrareg does and returns the update.
func (in SettingsInput) params(id int64, providers []GitProvider) (queries.UpdateModuleSettingsParams, error) {
	u := queries.UpdateModuleSettingsParams{ID: id, ArchiveGitPath: in.ArchiveGitPath, Verified: in.Verified}
	if in.GitProviderID != nil {
		// An id of a configured git provider (CAIRN_GIT_PROVIDERS), or ""
		// for none.
		if *in.GitProviderID != "" {
			gid, err := strconv.ParseInt(*in.GitProviderID, 10, 64)
			found := false
			for _, g := range providers {
				found = found || (err == nil && g.ID == gid)
			}
			if !found {
				return u, errs.Field(errs.Invalid, "git_provider_id", "Git provider does not exist.")
			}
			u.GitProviderID = &gid
		}
		u.SetGitProvider = true
	}
	for _, f := range []struct {
		label string
		in    *string
		set   *bool
		out   **string
	}{
		{"Repository base URL", in.RepoBaseURLTemplate, &u.SetRepoBase, &u.RepoBaseUrlTemplate},
		{"Repository clone URL", in.RepoCloneURLTemplate, &u.SetRepoClone, &u.RepoCloneUrlTemplate},
		{"Repository browse URL", in.RepoBrowseURLTemplate, &u.SetRepoBrowse, &u.RepoBrowseUrlTemplate},
	} {
		if f.in == nil {
			continue
		}
		*f.set = true
		if *f.in == "" {
			continue
		}
		if err := checkURLTemplate(*f.in); err != nil {
			return u, errs.Field(errs.Invalid, "repo_url", "%s: %s", f.label, errs.Message(err))
		}
		v := *f.in
		*f.out = &v
	}
	if in.GitTagFormat != nil {
		u.SetGitTagFormat = true
		if *in.GitTagFormat != "" {
			v := *in.GitTagFormat
			u.GitTagFormat = &v
		}
	}
	if in.GitPath != nil {
		u.SetGitPath = true
		if *in.GitPath != "" {
			v := *in.GitPath
			u.GitPath = &v
		}
	}
	return u, nil
}

// checkURLTemplate refuses what Terrareg cannot parse as a repository URL
// and what Cairn would not link to (SafeRepoURL).
func checkURLTemplate(t string) error {
	if !strings.Contains(t, "://") {
		return errs.Invalidf("No scheme provided in URL.")
	}
	if !SafeRepoURL(t) {
		return errs.Invalidf("URL scheme must be one of http, https, ssh, git.")
	}
	return nil
}

// namespaceFor resolves a namespace p may see.
func (s *Service) namespaceFor(ctx context.Context, p *policies.Principal, ns string) (projects.Group, error) {
	g, err := s.tenancy.GroupByPath(ctx, p, ns)
	if err == nil && !g.TopLevel() {
		err = errs.ErrNotFound
	}
	if err == nil {
		return g, nil
	}
	switch errs.KindOf(err) {
	case errs.NotFound, errs.Forbidden:
		return g, errNoNamespace
	default:
		return g, err
	}
}

// moduleProject returns project <namespace>/<name>, creating it (with the
// namespace's visibility) when missing.
func (s *Service) moduleProject(ctx context.Context, p *policies.Principal, ns projects.Group, name string) (projects.Project, error) {
	proj, err := s.tenancy.ProjectByPath(ctx, p, ns.FullPath+"/"+name)
	if errs.KindOf(err) != errs.NotFound {
		return proj, err
	}
	return s.tenancy.CreateProject(ctx, p, projects.ProjectInput{Group: ns, Path: name, Name: name, Visibility: ns.Visibility})
}

// FindProvider resolves a module provider for a Terrareg write: missing or
// invisible is errNoNamespace or errNoProvider (anonymous callers get
// Unauthenticated), and the caller must be allowed action a on it.
func (s *Service) FindProvider(ctx context.Context, p *policies.Principal, a policies.Action, ns, name, system string) (*Module, error) {
	mod, err := s.Find(ctx, p, ns, name, system)
	if errs.Is(err, errs.NotFound) {
		if _, nerr := s.namespaceFor(ctx, p, ns); nerr != nil {
			return nil, nerr
		}
		return nil, errNoProvider
	}
	if err != nil {
		return nil, err
	}
	if a != "" {
		if err := s.authz.Check(p, a, mod.Resource); err != nil {
			return nil, err
		}
	}
	return mod, nil
}

// CreateProvider creates an empty module provider namespace/name/system
// (FULL) in project <namespace>/<name>, with Terrareg's settings.
func (s *Service) CreateProvider(ctx context.Context, p *policies.Principal, namespace, name, system string, in SettingsInput) (int64, error) {
	if p.Kind == policies.Anonymous {
		return 0, errs.ErrUnauthenticated
	}
	ns, err := s.namespaceFor(ctx, p, namespace)
	if err != nil {
		return 0, err
	}
	if err := s.authz.Check(p, policies.CreateModule, ns.Resource()); err != nil {
		return 0, err
	}
	if !ValidName(name, system) {
		return 0, errs.Field(errs.Invalid, "name", "Module name/provider is invalid")
	}
	in.Namespace, in.Name, in.System = nil, nil, nil
	upd, err := in.params(0, s.gitProviders)
	if err != nil {
		return 0, err
	}
	if err := s.addressFree(ctx, queries.New(s.db), ns.ID, name, system, 0); err != nil {
		return 0, err
	}
	proj, err := s.moduleProject(ctx, p, ns, name)
	if err != nil {
		return 0, err
	}
	var id int64
	err = pgx.BeginFunc(ctx, s.db, func(tx pgx.Tx) error {
		q := queries.New(tx)
		if err := q.LockModuleName(ctx, fmt.Sprintf("module:%d/%s/%s", ns.ID, name, system)); err != nil {
			return err
		}
		if err := s.addressFree(ctx, q, ns.ID, name, system, 0); err != nil {
			return err
		}
		mod, err := q.CreateModule(ctx, queries.CreateModuleParams{ProjectID: proj.ID, NamespaceID: ns.ID, Name: name, System: system})
		if err != nil {
			return errs.OnUnique(err, "module", "Module provider already exists")
		}
		upd.ID = mod.ID
		if _, err := q.UpdateModuleSettings(ctx, upd); err != nil {
			return err
		}
		id = mod.ID
		return audit.Record(ctx, tx, p, "create", "module_provider", mod.ID, nil,
			map[string]string{"module": namespace + "/" + name + "/" + system, "project": proj.FullPath})
	})
	if err != nil {
		return 0, err
	}
	s.ForgetLookups()
	return id, nil
}

// addressFree refuses an address held by another module or a redirect.
func (s *Service) addressFree(ctx context.Context, q *queries.Queries, namespaceID int64, name, system string, exclude int64) error {
	at, err := q.ModuleAtAddress(ctx, queries.ModuleAtAddressParams{NamespaceID: namespaceID, Name: name, System: system, ExcludeID: exclude})
	if err != nil {
		return err
	}
	switch {
	case at.Module && exclude == 0:
		return errs.Field(errs.Conflict, "module", "Module provider already exists")
	case at.Module:
		return errs.Field(errs.Conflict, "module", "A module/provider already exists with the same name in the namespace")
	case at.Redirect && exclude == 0:
		return errs.Field(errs.Conflict, "module", "A module provider redirect exists with the same name in the namespace")
	}
	return nil
}

// DeleteProvider deletes a module provider with its versions and redirects
// (FULL); the archives go once the deletion is committed.
func (s *Service) DeleteProvider(ctx context.Context, p *policies.Principal, mod *Module) error {
	if err := s.authz.Check(p, policies.DestroyModule, mod.Resource); err != nil {
		return err
	}
	var keys []string
	err := pgx.BeginFunc(ctx, s.db, func(tx pgx.Tx) error {
		q := queries.New(tx)
		gone, err := q.DeleteModuleVersionsOf(ctx, mod.ID)
		if err != nil {
			return err
		}
		for _, g := range gone {
			keys = append(keys, g.BlobKey)
			if g.ZipBlobKey != nil {
				keys = append(keys, *g.ZipBlobKey)
			}
		}
		if err := q.DeleteModuleByID(ctx, mod.ID); err != nil {
			return err
		}
		return audit.Record(ctx, tx, p, "delete", "module_provider", mod.ID,
			map[string]string{"module": mod.Namespace + "/" + mod.Name + "/" + mod.System, "project": mod.ProjectPath}, nil)
	})
	if err != nil {
		return err
	}
	s.ForgetLookups()
	var errList []error
	for _, k := range keys {
		errList = append(errList, s.blobs.Delete(context.WithoutCancel(ctx), k))
	}
	return errors.Join(errList...)
}

// UpdateSettings changes a module provider's settings (MODIFY) and moves it
// when in names a new namespace (FULL there), name or provider: the old
// address becomes a redirect. A refusal changes nothing.
func (s *Service) UpdateSettings(ctx context.Context, p *policies.Principal, mod *Module, in SettingsInput) error {
	if err := s.authz.Check(p, policies.UpdateModule, mod.Resource); err != nil {
		return err
	}
	upd, err := in.params(mod.ID, s.gitProviders)
	if err != nil {
		return err
	}
	var move *moveTarget
	if in.moves() {
		if move, err = s.moveTarget(ctx, p, mod, in); err != nil {
			return err
		}
	}
	err = pgx.BeginFunc(ctx, s.db, func(tx pgx.Tx) error {
		q := queries.New(tx)
		if _, err := q.UpdateModuleSettings(ctx, upd); err != nil {
			return err
		}
		if move == nil {
			return audit.Record(ctx, tx, p, "update", "module_provider", mod.ID, nil, in)
		}
		if err := q.LockModuleName(ctx, fmt.Sprintf("module:%d/%s/%s", move.ns.ID, move.name, move.system)); err != nil {
			return err
		}
		if err := s.addressFree(ctx, q, move.ns.ID, move.name, move.system, mod.ID); err != nil {
			return err
		}
		// A case-only change of the name keeps the address (names are
		// matched exactly, namespaces case-insensitively): no redirect.
		if !move.sameAddress {
			if err := q.CreateModuleRedirect(ctx, queries.CreateModuleRedirectParams{ModuleID: mod.ID,
				NamespaceID: mod.NamespaceID, Name: mod.Name, System: mod.System}); err != nil {
				return err
			}
		}
		if err := q.DeleteModuleRedirectAt(ctx, queries.DeleteModuleRedirectAtParams{NamespaceID: move.ns.ID,
			Name: move.name, System: move.system}); err != nil {
			return err
		}
		if err := q.MoveModule(ctx, queries.MoveModuleParams{ID: mod.ID, ProjectID: move.projectID, NamespaceID: move.ns.ID,
			Name: move.name, System: move.system}); err != nil {
			return errs.OnUnique(err, "module", "A module/provider already exists with the same name in the namespace")
		}
		return audit.Record(ctx, tx, p, "move", "module_provider", mod.ID,
			map[string]string{"module": mod.Namespace + "/" + mod.Name + "/" + mod.System},
			map[string]string{"module": move.ns.FullPath + "/" + move.name + "/" + move.system})
	})
	if err != nil {
		return err
	}
	s.ForgetLookups()
	return nil
}

type moveTarget struct {
	ns           projects.Group
	name, system string
	projectID    int64
	sameAddress  bool
}

// moveTarget checks a move before anything is written; only the target
// project may be created (on demand) before the move's transaction.
func (s *Service) moveTarget(ctx context.Context, p *policies.Principal, mod *Module, in SettingsInput) (*moveTarget, error) {
	t := &moveTarget{name: mod.Name, system: mod.System, projectID: mod.ProjectID}
	if in.Name != nil {
		t.name = *in.Name
	}
	if in.System != nil {
		t.system = *in.System
	}
	if !ValidName(t.name, t.system) {
		return nil, errs.Field(errs.Invalid, "name", "Module name/provider is invalid")
	}
	nsPath := mod.Namespace
	if in.Namespace != nil {
		nsPath = *in.Namespace
	}
	ns, err := s.namespaceFor(ctx, p, nsPath)
	if err == nil && ns.ID != mod.NamespaceID {
		err = s.authz.Check(p, policies.CreateModule, ns.Resource())
	}
	if err != nil {
		if k := errs.KindOf(err); k != errs.NotFound && k != errs.Forbidden && k != errs.Unauthenticated {
			return nil, err
		}
		return nil, errs.Field(errs.Invalid, "namespace",
			"A namespace of the provided name either does not exist, or you do not have modify permissions to it")
	}
	t.ns = ns
	t.sameAddress = ns.ID == mod.NamespaceID && t.name == mod.Name && t.system == mod.System
	if err := s.addressFree(ctx, queries.New(s.db), ns.ID, t.name, t.system, mod.ID); err != nil {
		return nil, err
	}
	if ns.ID != mod.NamespaceID {
		proj, err := s.moduleProject(ctx, p, ns, t.name)
		if err != nil {
			return nil, err
		}
		t.projectID = proj.ID
	}
	return t, nil
}

// Redirect is an address a module was moved away from.
type Redirect struct {
	ID        int64
	Namespace string
	Name      string
	System    string
}

// Redirects lists the addresses that still lead to mod.
func (s *Service) Redirects(ctx context.Context, mod *Module) ([]Redirect, error) {
	rows, err := queries.New(s.db).ListModuleRedirects(ctx, mod.ID)
	if err != nil {
		return nil, err
	}
	out := make([]Redirect, len(rows))
	for i, r := range rows {
		out[i] = Redirect{ID: r.ID, Namespace: r.Namespace, Name: r.Name, System: r.System}
	}
	return out, nil
}

// DeleteRedirect removes one of mod's redirects (FULL): its old address
// stops resolving.
func (s *Service) DeleteRedirect(ctx context.Context, p *policies.Principal, mod *Module, id int64) error {
	if err := s.authz.Check(p, policies.ManageRedirects, mod.Resource); err != nil {
		return err
	}
	err := pgx.BeginFunc(ctx, s.db, func(tx pgx.Tx) error {
		q := queries.New(tx)
		n, err := q.DeleteModuleRedirect(ctx, queries.DeleteModuleRedirectParams{ID: id, ModuleID: mod.ID})
		if err != nil {
			return err
		}
		if n == 0 {
			return errs.Field(errs.NotFound, "redirect", "Module provider redirect does not exist")
		}
		return audit.Record(ctx, tx, p, "delete", "module_provider_redirect", id, map[string]int64{"module_provider": mod.ID}, nil)
	})
	if err != nil {
		return err
	}
	s.ForgetLookups()
	return nil
}

// Upload stores a version uploaded through Terrareg's upload path (MODIFY):
// into the module's project, or project <namespace>/<name> (created on
// demand) for a new module provider; unpublished unless auto-publish.
func (s *Service) Upload(ctx context.Context, p *policies.Principal, namespace, name, system, ver string, body io.Reader, size int64) (Version, error) {
	if p.Kind == policies.Anonymous {
		return Version{}, errs.ErrUnauthenticated
	}
	var proj projects.Project
	mod, err := s.Find(ctx, p, namespace, name, system)
	switch {
	case err == nil && !mod.Redirected:
		if err := s.authz.Check(p, policies.PublishPackage, mod.Resource); err != nil {
			return Version{}, err
		}
		if proj, err = s.tenancy.ProjectByID(ctx, p, mod.ProjectID); err != nil {
			return Version{}, err
		}
	case err == nil || errs.Is(err, errs.NotFound):
		ns, err := s.namespaceFor(ctx, p, namespace)
		if err != nil {
			return Version{}, err
		}
		if err := s.authz.Check(p, policies.PublishPackage, ns.Resource()); err != nil {
			return Version{}, err
		}
		if !ValidName(name, system) {
			return Version{}, errs.Field(errs.Invalid, "name", "Module name/provider is invalid")
		}
		if proj, err = s.moduleProject(ctx, p, ns, name); err != nil {
			return Version{}, err
		}
	default:
		return Version{}, err
	}
	return s.Publish(ctx, p, proj, PublishInput{Name: name, System: system, Version: ver, Body: body, Size: size, Unpublished: !s.autoPublish})
}

// PublishVersion publishes an uploaded version (MODIFY): it joins the
// version lists and may become latest. Publishing twice is no change.
func (s *Service) PublishVersion(ctx context.Context, p *policies.Principal, mod *Module, ver string) error {
	if err := s.authz.Check(p, policies.PublishPackage, mod.Resource); err != nil {
		return err
	}
	v, ok := mod.AnyVersion(ver)
	if !ok {
		return errNoVersion
	}
	if v.Published {
		return nil
	}
	err := pgx.BeginFunc(ctx, s.db, func(tx pgx.Tx) error {
		q := queries.New(tx)
		if _, err := q.PublishModuleVersion(ctx, v.ID); err != nil {
			return err
		}
		if err := s.refreshLatest(ctx, q, mod.ID); err != nil {
			return err
		}
		return audit.Record(ctx, tx, p, "publish", "module_version", v.ID,
			map[string]string{"module": mod.Namespace + "/" + mod.Name + "/" + mod.System, "version": v.Version}, nil)
	})
	if err != nil {
		return err
	}
	s.ForgetLookups()
	return nil
}

// DeleteModuleVersion deletes one version through Terrareg (FULL); the
// module provider stays, even without versions, as in Terrareg.
func (s *Service) DeleteModuleVersion(ctx context.Context, p *policies.Principal, mod *Module, ver string) error {
	if err := s.authz.Check(p, policies.DestroyModule, mod.Resource); err != nil {
		return err
	}
	v, ok := mod.AnyVersion(ver)
	if !ok {
		return errNoVersion
	}
	var keys []string
	err := pgx.BeginFunc(ctx, s.db, func(tx pgx.Tx) error {
		q := queries.New(tx)
		deleted, err := q.DeleteModuleVersion(ctx, v.ID)
		if errors.Is(err, pgx.ErrNoRows) {
			return errNoVersion
		} else if err != nil {
			return err
		}
		keys = []string{deleted.BlobKey}
		if deleted.ZipBlobKey != nil {
			keys = append(keys, *deleted.ZipBlobKey)
		}
		if err := s.refreshLatest(ctx, q, mod.ID); err != nil {
			return err
		}
		return audit.Record(ctx, tx, p, "delete", "module_version", v.ID,
			map[string]string{"module": mod.Namespace + "/" + mod.Name + "/" + mod.System, "version": v.Version}, nil)
	})
	if err != nil {
		return err
	}
	s.ForgetLookups()
	var errList []error
	for _, k := range keys {
		errList = append(errList, s.blobs.Delete(context.WithoutCancel(ctx), k))
	}
	return errors.Join(errList...)
}

// CanMaintain reports whether p may see mod's unpublished versions.
func (s *Service) CanMaintain(p *policies.Principal, mod *Module) bool {
	return s.authz.Can(p, policies.PublishPackage, mod.Resource)
}

// NamespaceEmpty reports whether a namespace holds no module.
func (s *Service) NamespaceEmpty(ctx context.Context, namespaceID int64) (bool, error) {
	n, err := queries.New(s.db).NamespaceModuleCount(ctx, namespaceID)
	return n == 0, err
}

// DeleteNamespace deletes an empty namespace (FULL): one holding a module
// is refused (Conflict) with Terrareg's message.
func (s *Service) DeleteNamespace(ctx context.Context, p *policies.Principal, g projects.Group) error {
	if err := s.authz.Check(p, policies.DeleteGroup, g.Resource()); err != nil {
		return err
	}
	empty, err := s.NamespaceEmpty(ctx, g.ID)
	if err != nil {
		return err
	}
	if !empty {
		return errs.Field(errs.Conflict, "namespace", "Namespace cannot be deleted as it contains modules")
	}
	if err := s.tenancy.DeleteGroup(ctx, p, g); err != nil {
		return err
	}
	s.ForgetLookups()
	return nil
}
