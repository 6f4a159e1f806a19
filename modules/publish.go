package modules

import (
	"bufio"
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"io/fs"
	"path"
	"regexp"
	"strings"
	"testing/fstest"

	"github.com/google/uuid"
	"github.com/jackc/pgx/v5"

	"github.com/cairn-registry/cairn/blobs"
	"github.com/cairn-registry/cairn/errs"
	"github.com/cairn-registry/cairn/modules/archive"
	"github.com/cairn-registry/cairn/modules/metadata"
	"github.com/cairn-registry/cairn/modules/version"
	"github.com/cairn-registry/cairn/policies"
	"github.com/cairn-registry/cairn/projects"
	"github.com/cairn-registry/cairn/queries"
)

// PublishInput is one upload.
type PublishInput struct {
	Name    string
	System  string
	Version string
	// Body is the archive; nil when the request carried no file.
	Body io.Reader
	// Size is the declared length (Content-Length), or -1.
	Size int64
	// Unpublished stores the version unpublished (Terrareg's upload path):
	// absent from every read until Service.PublishVersion.
	Unpublished bool
}

// errTooLarge refuses an archive over the upload limit.
var errTooLarge = errs.Field(errs.TooLarge, "file", "the archive is larger than the upload limit")

// Publish validates and stores a module version in proj (which p may see).
// It returns only once the archive (and, for a .tar.gz, the zip built from
// it) is durable and the version row committed; on any failure nothing is
// left behind (both blobs are deleted and no row exists).
func (s *Service) Publish(ctx context.Context, p *policies.Principal, proj projects.Project, in PublishInput) (Version, error) {
	if err := s.authz.Check(p, policies.CreatePackage, proj.Resource()); err != nil {
		return Version{}, err
	}
	if !ValidName(in.Name, in.System) {
		return Version{}, errs.Field(errs.Invalid, "name", "name and system may contain only lower-case letters, digits and '-'")
	}
	v, err := version.Parse(in.Version)
	if errors.Is(err, version.ErrEmpty) {
		return Version{}, errs.Field(errs.Invalid, "version", "Version is empty.")
	} else if err != nil {
		return Version{}, errs.Field(errs.Invalid, "version", "%s", err.Error())
	}
	if in.Body == nil || in.Size == 0 {
		return Version{}, fileError("file is missing")
	}
	if in.Size > s.maxUpload {
		return Version{}, errTooLarge
	}
	chain, err := queries.New(s.db).GroupAncestors(ctx, proj.GroupID)
	if err != nil {
		return Version{}, err
	}
	namespace := chain[len(chain)-1]
	if err := s.checkDuplicates(ctx, queries.New(s.db), proj, namespace.ID, chain, in.Name, in.System, v.String()); err != nil {
		return Version{}, err
	}

	key := "modules/" + uuid.NewString()
	stored, files, err := s.store(ctx, key, in.Body)
	if err != nil {
		return Version{}, err
	}
	var zipKey *string
	keep := false
	defer func() {
		if !keep {
			// The request may be cancelled; clean up regardless.
			_ = s.blobs.Delete(context.WithoutCancel(ctx), key)
			if zipKey != nil {
				_ = s.blobs.Delete(context.WithoutCancel(ctx), *zipKey)
			}
		}
	}()
	// Terrareg's source.zip serves a zip: a .tar.gz gets one now, once, so
	// no request ever re-encodes it (an uploaded zip is served as stored).
	if stored.format == archive.TarGz {
		k := key + ".zip"
		zipKey = &k
		if err := s.buildZip(ctx, key, k); err != nil {
			return Version{}, err
		}
	}

	var meta json.RawMessage
	providers := json.RawMessage("[]")
	if m, err := metadata.Extract(files, metadata.DefaultLimits()); err == nil {
		// READMEs (and the CHANGELOG) are rendered once, here; a failure leaves them to the
		// first read (Docs renders what the stored version does not say
		// was rendered).
		if err := renderReadmes(m); err != nil {
			m.ReadmeHTMLVersion = 0
		}
		meta, _ = json.Marshal(m)
		list := []Provider{}
		for _, pd := range m.Root.ProviderDependencies {
			list = append(list, Provider{Name: pd.Name, Source: pd.Source, Version: pd.Version})
		}
		providers, _ = json.Marshal(list)
	}

	var out queries.ModuleVersion
	err = pgx.BeginFunc(ctx, s.db, func(tx pgx.Tx) error {
		q := queries.New(tx)
		if err := q.LockModuleName(ctx, fmt.Sprintf("module:%d/%s/%s", namespace.ID, in.Name, in.System)); err != nil {
			return err
		}
		if err := s.checkDuplicates(ctx, q, proj, namespace.ID, chain, in.Name, in.System, v.String()); err != nil {
			return err
		}
		mod, err := q.GetModuleInProject(ctx, queries.GetModuleInProjectParams{ProjectID: proj.ID, Name: in.Name, System: in.System})
		if errors.Is(err, pgx.ErrNoRows) {
			mod, err = q.CreateModule(ctx, queries.CreateModuleParams{ProjectID: proj.ID, NamespaceID: namespace.ID, Name: in.Name, System: in.System})
		}
		if err != nil {
			return err
		}
		out, err = q.CreateModuleVersion(ctx, queries.CreateModuleVersionParams{ModuleID: mod.ID, Version: v.String(),
			IsPrerelease: v.IsPrerelease(), BlobKey: key, ArchiveFormat: string(stored.format), Sha256: stored.info.SHA256,
			Size: stored.info.Size, Metadata: meta, Providers: providers, PublishedBy: p.Name(), ZipBlobKey: zipKey,
			Published: !in.Unpublished})
		if err != nil {
			return errs.OnUnique(err, "version", "version %s of %s/%s already exists in project %s", v, in.Name, in.System, proj.FullPath)
		}
		return s.refreshLatest(ctx, q, mod.ID)
	})
	if err != nil {
		return Version{}, err
	}
	keep = true
	s.forgetNamespace(namespaceOf(proj.FullPath)) // this replica sees its own publish at once
	return versionOf(out), nil
}

// versionOf describes a stored version row.
func versionOf(v queries.ModuleVersion) Version {
	var providers []Provider
	_ = json.Unmarshal(v.Providers, &providers)
	return Version{ID: v.ID, Version: v.Version, IsPrerelease: v.IsPrerelease, BlobKey: v.BlobKey, ArchiveFormat: v.ArchiveFormat,
		Sha256: v.Sha256, Size: v.Size, Providers: providers, PublishedBy: v.PublishedBy, Published: v.Published, CreatedAt: v.CreatedAt}
}

// refreshLatest records the latest version (semantic order) on the module.
func (s *Service) refreshLatest(ctx context.Context, q *queries.Queries, moduleID int64) error {
	versions, err := q.ListModuleVersions(ctx, moduleID)
	if err != nil {
		return err
	}
	m := &Module{}
	for _, v := range versions {
		m.Versions = append(m.Versions, Version{ID: v.ID, Version: v.Version})
	}
	var id *int64
	if latest, ok := m.Latest(); ok {
		id = &latest.ID
	}
	return q.SetLatestVersion(ctx, queries.SetLatestVersionParams{ID: moduleID, VersionID: id})
}

// checkDuplicates applies GitLab's rules: a version exists once per
// project's module; a name belongs to one project of the namespace unless
// the duplicates setting (read along the ancestor chain, nearest group with
// a non-default setting first) allows it.
func (s *Service) checkDuplicates(ctx context.Context, q *queries.Queries, proj projects.Project, namespaceID int64,
	chain []queries.GroupAncestorsRow, name, system, ver string) error {
	mod, err := q.GetModuleInProject(ctx, queries.GetModuleInProjectParams{ProjectID: proj.ID, Name: name, System: system})
	if err == nil {
		exists, err := q.VersionExists(ctx, queries.VersionExistsParams{ModuleID: mod.ID, Version: ver})
		if err != nil {
			return err
		}
		if exists {
			return errs.Field(errs.Conflict, "version", "version %s of %s/%s already exists in project %s", ver, name, system, proj.FullPath)
		}
	} else if !errors.Is(err, pgx.ErrNoRows) {
		return err
	}
	others, err := q.OtherProjectsWithModuleName(ctx, queries.OtherProjectsWithModuleNameParams{NamespaceID: namespaceID,
		Name: name, System: system, ProjectID: proj.ID})
	if err != nil {
		return err
	}
	if others > 0 && !duplicatesAllowed(chain, name+"/"+system) {
		return errs.Field(errs.Conflict, "name", "%s/%s is already published by another project of namespace %s", name, system, chain[len(chain)-1].FullPath)
	}
	return nil
}

func duplicatesAllowed(chain []queries.GroupAncestorsRow, fullName string) bool {
	for _, g := range chain {
		if !g.TerraformModuleDuplicatesAllowed && g.TerraformModuleDuplicateExceptionRegex == "" {
			continue
		}
		matches := false
		if g.TerraformModuleDuplicateExceptionRegex != "" {
			if re, err := regexp.Compile(g.TerraformModuleDuplicateExceptionRegex); err == nil {
				matches = re.MatchString(fullName)
			}
		}
		// The exception inverts the setting for matching names.
		return g.TerraformModuleDuplicatesAllowed != matches
	}
	return false
}

type storedArchive struct {
	info   blobs.Info
	format archive.Format
}

// store streams body into the blob store under key while validating it. A
// .tar.gz is validated in the same pass (through a pipe); a .zip, whose
// directory is at its end, is validated by reading the stored blob back. It
// returns the files metadata extraction needs. On error nothing is stored.
func (s *Service) store(ctx context.Context, key string, body io.Reader) (storedArchive, fs.FS, error) {
	br := bufio.NewReaderSize(body, 64<<10)
	head, err := br.Peek(4)
	if len(head) == 0 {
		if err != nil && !errors.Is(err, io.EOF) {
			return storedArchive{}, nil, err
		}
		return storedArchive{}, nil, fileError("file is missing")
	}
	format, err := archive.Sniff(head)
	if err != nil {
		return storedArchive{}, nil, fileError("%s", err.Error())
	}
	col := newCollector()
	opts := blobs.PutOptions{MaxSize: s.maxUpload, ContentType: "application/octet-stream"}
	switch format {
	case archive.TarGz:
		pr, pw := io.Pipe()
		scanDone := make(chan error, 1)
		go func() {
			_, err := archive.ScanTarGz(pr, s.limits, col.visit)
			pr.CloseWithError(errors.Join(err, errScanStopped))
			scanDone <- err
		}()
		info, putErr := s.blobs.Put(ctx, key, io.TeeReader(br, pw), opts)
		pw.CloseWithError(putErr)
		scanErr := <-scanDone
		if putErr == nil && scanErr == nil {
			return storedArchive{info, format}, col.fs(), nil
		}
		_ = s.blobs.Delete(context.WithoutCancel(ctx), key)
		return storedArchive{}, nil, uploadError(scanErr, putErr)
	default:
		info, err := s.blobs.Put(ctx, key, br, opts)
		if err != nil {
			return storedArchive{}, nil, uploadError(nil, err)
		}
		obj, _, err := s.blobs.Get(ctx, key)
		if err == nil {
			_, err = archive.ScanZip(blobs.ReaderAt(obj), info.Size, s.limits, col.visit)
			obj.Close()
		}
		if err != nil {
			_ = s.blobs.Delete(context.WithoutCancel(ctx), key)
			return storedArchive{}, nil, uploadError(err, nil)
		}
		return storedArchive{info, format}, col.fs(), nil
	}
}

var errScanStopped = errors.New("archive scan stopped")

// uploadError picks the error that explains a failed upload: a size limit,
// then an archive validation failure, then whatever else went wrong.
func uploadError(scanErr, putErr error) error {
	switch {
	case errors.Is(putErr, blobs.ErrTooLarge):
		return errTooLarge
	case errors.Is(scanErr, archive.ErrInvalid):
		return fileError("%s", scanErr.Error())
	case putErr != nil:
		return putErr
	default:
		return scanErr
	}
}

// collector keeps, in memory and within limits, the files metadata
// extraction reads: Terraform sources, READMEs, terrareg.json and example
// files of the root, modules/* and examples/*, and the root's CHANGELOG and
// LICENSE.
type collector struct {
	files fstest.MapFS
	total int64
}

const (
	collectMaxFile  = 1 << 20
	collectMaxTotal = 32 << 20
	collectMaxFiles = 4000
)

func newCollector() *collector { return &collector{files: fstest.MapFS{}} }

func (c *collector) visit(f archive.File) error {
	if !wanted(f.Path) || f.Size > collectMaxFile || c.total+f.Size > collectMaxTotal || len(c.files) >= collectMaxFiles {
		return nil
	}
	b, err := io.ReadAll(io.LimitReader(f.Open(), collectMaxFile+1))
	if err != nil {
		return err
	}
	c.total += int64(len(b))
	c.files[f.Path] = &fstest.MapFile{Data: b, Mode: 0o644}
	return nil
}

func (c *collector) fs() fs.FS { return c.files }

func wanted(p string) bool {
	parts := strings.Split(p, "/")
	// Examples keep their nested files (scripts/, fixtures/...); a module
	// directory is read only at its top level, as Terraform does.
	inExample := len(parts) >= 3 && parts[0] == "examples"
	if !(len(parts) == 1 || len(parts) == 3 && parts[0] == "modules" || inExample) {
		return false
	}
	base := strings.ToLower(parts[len(parts)-1])
	if strings.HasPrefix(base, "readme") || base == "terrareg.json" || base == ".terrareg.json" {
		return true
	}
	// The root's CHANGELOG and LICENSE are shown as additional tabs.
	if len(parts) == 1 && (strings.HasPrefix(base, "changelog") || strings.HasPrefix(base, "license")) {
		return true
	}
	switch path.Ext(base) {
	case ".tf", ".tfvars":
		return true
	case ".json":
		return strings.HasSuffix(base, ".tf.json") || inExample
	case ".md", ".sh", ".yaml", ".yml", ".txt":
		return inExample
	}
	return false
}
