package providers

import (
	"archive/zip"
	"bufio"
	"bytes"
	"context"
	"errors"
	"fmt"
	"io"
	"strings"

	"github.com/google/uuid"
	"github.com/jackc/pgx/v5"
	"golang.org/x/mod/sumdb/dirhash"

	"github.com/cairn-registry/cairn/audit"
	"github.com/cairn-registry/cairn/blobs"
	"github.com/cairn-registry/cairn/errs"
	"github.com/cairn-registry/cairn/modules/version"
	"github.com/cairn-registry/cairn/policies"
	"github.com/cairn-registry/cairn/projects"
	"github.com/cairn-registry/cairn/queries"
)

// Refusals use errs kinds with the field at fault: "name", "namespace",
// "version", "key-id", "protocols", "os", "arch", "filename", "shasum",
// "shasums", "shasums-sig", "file"; Conflict for what exists already.

// OwningProject resolves the project a provider or a TFE-created module
// belongs to: projectPath when given, else <namespace>/<name>, created (as
// a private project) when missing and p may create it. The project is
// resolved first, so a CI job (which sees its project, not the groups
// above it) can publish into it.
func (s *Service) OwningProject(ctx context.Context, p *policies.Principal, namespace, name, projectPath string) (projects.Project, error) {
	path := projectPath
	if path == "" {
		path = namespace + "/" + name
	}
	proj, err := s.tenancy.ProjectByPath(ctx, p, path)
	if err == nil {
		if ns, _, _ := strings.Cut(proj.FullPath, "/"); !strings.EqualFold(ns, namespace) {
			return projects.Project{}, errs.Field(errs.Invalid, "project", "project %s is not in namespace %s", path, namespace)
		}
		return proj, nil
	}
	if projectPath != "" || !errs.Is(err, errs.NotFound) && !errs.Is(err, errs.Unauthenticated) {
		return projects.Project{}, err
	}
	g, gerr := s.namespace(ctx, p, namespace)
	if gerr != nil {
		return projects.Project{}, gerr
	}
	proj, err = s.tenancy.CreateProject(ctx, p, projects.ProjectInput{Group: g, Path: name, Name: name, Visibility: "private"})
	if errs.Is(err, errs.Conflict) { // created meanwhile
		return s.tenancy.ProjectByPath(ctx, p, g.FullPath+"/"+name)
	}
	return proj, err
}

// CreateInput creates a provider.
type CreateInput struct {
	Namespace, Name string
	// Project is the owning project's full path; empty: <namespace>/<name>.
	Project string
}

// Create creates a provider namespace/name in its owning project
// (developers and above of the project).
func (s *Service) Create(ctx context.Context, p *policies.Principal, in CreateInput) (*Provider, error) {
	if !namePattern.MatchString(in.Name) {
		return nil, errs.Field(errs.Invalid, "name", "provider name %q may contain only lower-case letters, digits and '-'", in.Name)
	}
	proj, err := s.OwningProject(ctx, p, in.Namespace, in.Name, in.Project)
	if err != nil {
		return nil, err
	}
	if err := s.authz.Check(p, policies.CreatePackage, proj.Resource()); err != nil {
		return nil, err
	}
	err = pgx.BeginFunc(ctx, s.db, func(tx pgx.Tx) error {
		q := queries.New(tx)
		row, err := q.CreateProvider(ctx, queries.CreateProviderParams{ProjectID: proj.ID, NamespaceID: proj.NamespaceID(), Name: in.Name})
		if err != nil {
			return errs.OnUnique(err, "name", "provider %s/%s already exists", in.Namespace, in.Name)
		}
		return audit.Record(ctx, tx, p, "create", "provider", row.ID, nil, map[string]string{"provider": in.Namespace + "/" + in.Name, "project": proj.FullPath})
	})
	s.forget()
	if err != nil {
		return nil, err
	}
	return s.Find(ctx, p, in.Namespace, in.Name)
}

// findFor returns a provider p may do a on.
func (s *Service) findFor(ctx context.Context, p *policies.Principal, a policies.Action, namespace, name string) (*Provider, error) {
	pr, err := s.Find(ctx, p, namespace, name)
	if err != nil {
		return nil, err
	}
	if err := s.authz.Check(p, a, pr.Resource); err != nil {
		return nil, err
	}
	return pr, nil
}

// VersionInput creates a version.
type VersionInput struct {
	Version   string
	KeyID     string
	Protocols []string
}

// CreateVersion announces a version; its files are uploaded next.
func (s *Service) CreateVersion(ctx context.Context, p *policies.Principal, namespace, name string, in VersionInput) (*Provider, Version, error) {
	pr, err := s.findFor(ctx, p, policies.CreatePackage, namespace, name)
	if err != nil {
		return nil, Version{}, err
	}
	v, err := version.Parse(in.Version)
	if err != nil {
		return nil, Version{}, errs.Field(errs.Invalid, "version", "version %q is not a semantic version (MAJOR.MINOR.PATCH, no 'v'): %v", in.Version, err)
	}
	if len(in.Protocols) == 0 {
		return nil, Version{}, errs.Field(errs.Invalid, "protocols", "protocols must list the plugin protocol versions the provider speaks (e.g. 5.0)")
	}
	for _, proto := range in.Protocols {
		if !protocolPattern.MatchString(proto) {
			return nil, Version{}, errs.Field(errs.Invalid, "protocols", "protocol %q is not MAJOR or MAJOR.MINOR", proto)
		}
	}
	if _, err := s.keyIn(ctx, pr.NamespaceID, in.KeyID); err != nil {
		if errs.Is(err, errs.NotFound) {
			return nil, Version{}, errs.Field(errs.Invalid, "key-id", "key-id %q is not a GPG key of namespace %s", in.KeyID, pr.Namespace)
		}
		return nil, Version{}, err
	}
	err = pgx.BeginFunc(ctx, s.db, func(tx pgx.Tx) error {
		q := queries.New(tx)
		row, err := q.CreateProviderVersion(ctx, queries.CreateProviderVersionParams{ProviderID: pr.ID, Version: v.String(),
			KeyID: strings.ToUpper(in.KeyID), Protocols: in.Protocols, PublishedBy: p.Name()})
		if err != nil {
			return errs.OnUnique(err, "version", "version %s of %s/%s already exists", v, pr.Namespace, pr.Name)
		}
		return audit.Record(ctx, tx, p, "create", "provider_version", row.ID, nil, map[string]string{"provider": pr.Namespace + "/" + pr.Name, "version": v.String()})
	})
	s.forget()
	if err != nil {
		return nil, Version{}, err
	}
	return s.reload(ctx, p, pr, v.String())
}

func (s *Service) reload(ctx context.Context, p *policies.Principal, pr *Provider, ver string) (*Provider, Version, error) {
	pr, err := s.Find(ctx, p, pr.Namespace, pr.Name)
	if err != nil {
		return nil, Version{}, err
	}
	v, ok := pr.Version(ver)
	if !ok {
		return nil, Version{}, errs.ErrNotFound
	}
	return pr, v, nil
}

// PlatformInput creates a platform.
type PlatformInput struct {
	OS, Arch, Filename, Shasum string
}

// CreatePlatform announces one os/arch zip of a version; its sha256 must
// be listed in the version's SHA256SUMS under its filename (checked now if
// SHA256SUMS is uploaded, else when it is).
func (s *Service) CreatePlatform(ctx context.Context, p *policies.Principal, namespace, name, ver string, in PlatformInput) (*Provider, Version, Platform, error) {
	pr, err := s.findFor(ctx, p, policies.CreatePackage, namespace, name)
	if err != nil {
		return nil, Version{}, Platform{}, err
	}
	v, ok := pr.Version(ver)
	if !ok {
		return nil, Version{}, Platform{}, errs.ErrNotFound
	}
	switch {
	case !platformPattern.MatchString(in.OS):
		return nil, Version{}, Platform{}, errs.Field(errs.Invalid, "os", "os %q is not a platform name (e.g. linux)", in.OS)
	case !platformPattern.MatchString(in.Arch):
		return nil, Version{}, Platform{}, errs.Field(errs.Invalid, "arch", "arch %q is not a platform name (e.g. amd64)", in.Arch)
	case !filenamePattern.MatchString(in.Filename):
		return nil, Version{}, Platform{}, errs.Field(errs.Invalid, "filename", "filename %q must be a plain file name ending in .zip", in.Filename)
	}
	in.Shasum = strings.ToLower(in.Shasum)
	if !sha256Pattern.MatchString(in.Shasum) {
		return nil, Version{}, Platform{}, errs.Field(errs.Invalid, "shasum", "shasum of %s must be 64 hex digits", in.Filename)
	}
	err = pgx.BeginFunc(ctx, s.db, func(tx pgx.Tx) error {
		q := queries.New(tx)
		locked, err := q.GetVersionForUpload(ctx, v.ID)
		if err != nil {
			return err
		}
		if locked.Shasums != nil {
			if err := listed(parseShasums(*locked.Shasums), in.Filename, in.Shasum); err != nil {
				return err
			}
		}
		_, err = q.CreatePlatform(ctx, queries.CreatePlatformParams{VersionID: v.ID, Os: in.OS, Arch: in.Arch, Filename: in.Filename, Sha256: in.Shasum})
		if err != nil {
			return errs.OnUnique(err, "os", "platform %s_%s of %s/%s %s already exists", in.OS, in.Arch, pr.Namespace, pr.Name, ver)
		}
		return nil
	})
	s.forget()
	if err != nil {
		return nil, Version{}, Platform{}, err
	}
	pr, v, err = s.reload(ctx, p, pr, ver)
	if err != nil {
		return nil, Version{}, Platform{}, err
	}
	pl, _ := v.Platform(in.OS, in.Arch)
	return pr, v, pl, nil
}

// parseShasums reads sha256sum output: "<hex>  <filename>" (or " *name").
func parseShasums(text string) map[string]string {
	out := map[string]string{}
	sc := bufio.NewScanner(strings.NewReader(text))
	for sc.Scan() {
		line := strings.TrimRight(sc.Text(), "\r")
		sum, file, ok := strings.Cut(line, " ")
		if !ok {
			continue
		}
		out[strings.TrimPrefix(strings.TrimLeft(file, " "), "*")] = strings.ToLower(sum)
	}
	return out
}

func checkShasums(text []byte) (map[string]string, error) {
	sums := map[string]string{}
	sc := bufio.NewScanner(bytes.NewReader(text))
	n := 0
	for sc.Scan() {
		n++
		line := strings.TrimRight(sc.Text(), "\r")
		if line == "" {
			continue
		}
		sum, file, ok := strings.Cut(line, " ")
		file = strings.TrimPrefix(strings.TrimLeft(file, " "), "*")
		if !ok || !sha256Pattern.MatchString(strings.ToLower(sum)) || file == "" {
			return nil, errs.Field(errs.Invalid, "shasums", "SHA256SUMS line %d is not \"<sha256>  <filename>\"", n)
		}
		sums[file] = strings.ToLower(sum)
	}
	if len(sums) == 0 {
		return nil, errs.Field(errs.Invalid, "shasums", "SHA256SUMS lists no file")
	}
	return sums, nil
}

func listed(sums map[string]string, filename, sha string) error {
	got, ok := sums[filename]
	if !ok {
		return errs.Field(errs.Invalid, "shasum", "%s is not listed in SHA256SUMS", filename)
	}
	if got != sha {
		return errs.Field(errs.Invalid, "shasum", "%s: sha256 %s does not match SHA256SUMS (%s)", filename, sha, got)
	}
	return nil
}

// readSmall reads at most limit bytes of body.
func readSmall(body io.Reader, limit int64, what string) ([]byte, error) {
	if body == nil {
		return nil, errs.Field(errs.Invalid, "file", "%s is missing", what)
	}
	b, err := io.ReadAll(io.LimitReader(body, limit+1))
	if err != nil {
		return nil, err
	}
	if int64(len(b)) > limit {
		return nil, errs.Field(errs.TooLarge, "file", "%s is larger than %d bytes", what, limit)
	}
	if len(b) == 0 {
		return nil, errs.Field(errs.Invalid, "file", "%s is empty", what)
	}
	return b, nil
}

// UploadShasums stores a version's SHA256SUMS (authorised by its upload
// link). Every announced platform must be listed in it, and a signature
// already uploaded must verify over it.
func (s *Service) UploadShasums(ctx context.Context, versionID int64, body io.Reader) error {
	b, err := readSmall(body, maxShasumsBytes, "SHA256SUMS")
	if err != nil {
		return err
	}
	sums, err := checkShasums(b)
	if err != nil {
		return err
	}
	key := BlobPrefix + uuid.NewString() + ".sha256sums"
	return s.storeSmall(ctx, key, b, func(q *queries.Queries, v queries.GetVersionForUploadRow) error {
		if v.ShasumsBlobKey != nil {
			return errs.Field(errs.Conflict, "shasums", "SHA256SUMS of version %s is already uploaded", v.Version)
		}
		plats, err := q.ListVersionPlatforms(ctx, v.ID)
		if err != nil {
			return err
		}
		for _, pl := range plats {
			if err := listed(sums, pl.Filename, pl.Sha256); err != nil {
				return err
			}
		}
		if v.ShasumsSigBlobKey != nil {
			sig, err := s.readBlob(ctx, *v.ShasumsSigBlobKey, maxSignatureBytes)
			if err != nil {
				return err
			}
			if err := s.verify(ctx, v.NamespaceID, v.KeyID, b, sig); err != nil {
				return err
			}
		}
		text := string(b)
		return q.SetVersionShasums(ctx, queries.SetVersionShasumsParams{ID: v.ID, Shasums: &text, BlobKey: &key})
	}, versionID)
}

// UploadSignature stores the detached signature of a version's SHA256SUMS
// (authorised by its upload link); it must verify with the version's key
// once SHA256SUMS is there.
func (s *Service) UploadSignature(ctx context.Context, versionID int64, body io.Reader) error {
	b, err := readSmall(body, maxSignatureBytes, "SHA256SUMS.sig")
	if err != nil {
		return err
	}
	key := BlobPrefix + uuid.NewString() + ".sig"
	return s.storeSmall(ctx, key, b, func(q *queries.Queries, v queries.GetVersionForUploadRow) error {
		if v.ShasumsSigBlobKey != nil {
			return errs.Field(errs.Conflict, "shasums-sig", "SHA256SUMS.sig of version %s is already uploaded", v.Version)
		}
		if v.Shasums != nil {
			if err := s.verify(ctx, v.NamespaceID, v.KeyID, []byte(*v.Shasums), b); err != nil {
				return err
			}
		}
		return q.SetVersionSignature(ctx, queries.SetVersionSignatureParams{ID: v.ID, BlobKey: &key})
	}, versionID)
}

func (s *Service) verify(ctx context.Context, namespaceID int64, keyID string, shasums, sig []byte) error {
	k, err := s.keyIn(ctx, namespaceID, keyID)
	if errs.Is(err, errs.NotFound) {
		return errs.Field(errs.Invalid, "key-id", "key %s is no longer a GPG key of the provider's namespace", keyID)
	} else if err != nil {
		return err
	}
	return verifySignature(k, shasums, sig)
}

// storeSmall puts b under key, then records it with record (in a
// transaction holding the version row); on any failure the blob is removed.
func (s *Service) storeSmall(ctx context.Context, key string, b []byte, record func(*queries.Queries, queries.GetVersionForUploadRow) error, versionID int64) error {
	if _, err := s.blobs.Put(ctx, key, bytes.NewReader(b), blobs.PutOptions{Size: int64(len(b)), ContentType: "application/octet-stream"}); err != nil {
		return err
	}
	err := pgx.BeginFunc(ctx, s.db, func(tx pgx.Tx) error {
		q := queries.New(tx)
		v, err := q.GetVersionForUpload(ctx, versionID)
		if errors.Is(err, pgx.ErrNoRows) {
			return errs.ErrNotFound
		} else if err != nil {
			return err
		}
		return record(q, v)
	})
	s.forget()
	if err != nil {
		_ = s.blobs.Delete(context.WithoutCancel(ctx), key)
	}
	return err
}

func (s *Service) readBlob(ctx context.Context, key string, limit int64) ([]byte, error) {
	obj, _, err := s.blobs.Get(ctx, key)
	if err != nil {
		return nil, err
	}
	defer obj.Close()
	return io.ReadAll(io.LimitReader(obj, limit))
}

// UploadBinary stores a platform's zip (authorised by its upload link): its
// sha256 must be the one announced, it must be a zip, and its h1: hash is
// computed for the network mirror.
func (s *Service) UploadBinary(ctx context.Context, platformID int64, body io.Reader, size int64) error {
	if body == nil || size == 0 {
		return errs.Field(errs.Invalid, "file", "the provider zip is missing")
	}
	if size > s.maxUpload {
		return errs.Field(errs.TooLarge, "file", "the provider zip is larger than the upload limit")
	}
	pl, err := queries.New(s.db).GetPlatformForUpload(ctx, platformID)
	if errors.Is(err, pgx.ErrNoRows) {
		return errs.ErrNotFound
	} else if err != nil {
		return err
	}
	if pl.BlobKey != nil {
		return errs.Field(errs.Conflict, "file", "%s is already uploaded", pl.Filename)
	}
	key := BlobPrefix + uuid.NewString() + ".zip"
	info, err := s.blobs.Put(ctx, key, body, blobs.PutOptions{MaxSize: s.maxUpload, ContentType: "application/zip"})
	if errors.Is(err, blobs.ErrTooLarge) {
		return errs.Field(errs.TooLarge, "file", "%s is larger than the upload limit", pl.Filename)
	} else if err != nil {
		return err
	}
	keep := false
	defer func() {
		if !keep {
			_ = s.blobs.Delete(context.WithoutCancel(ctx), key)
		}
	}()
	if info.SHA256 != pl.Sha256 {
		return errs.Field(errs.Invalid, "file", "%s: sha256 of the uploaded zip is %s, not %s as announced and listed in SHA256SUMS", pl.Filename, info.SHA256, pl.Sha256)
	}
	h1, err := s.zipHash(ctx, key, info.Size)
	if err != nil {
		return errs.Field(errs.Invalid, "file", "%s is not a valid zip archive: %v", pl.Filename, err)
	}
	err = pgx.BeginFunc(ctx, s.db, func(tx pgx.Tx) error {
		q := queries.New(tx)
		locked, err := q.GetPlatformForUpload(ctx, platformID)
		if err != nil {
			return err
		}
		if locked.BlobKey != nil {
			return errs.Field(errs.Conflict, "file", "%s is already uploaded", pl.Filename)
		}
		return q.SetPlatformBlob(ctx, queries.SetPlatformBlobParams{ID: pl.ID, BlobKey: &key, Size: info.Size, H1: h1})
	})
	s.forget()
	if err != nil {
		return err
	}
	keep = true
	return nil
}

// zipHash is terraform's "h1:" package hash of a zip (dirhash.Hash1 over
// its entries), read back from the store.
func (s *Service) zipHash(ctx context.Context, key string, size int64) (string, error) {
	obj, _, err := s.blobs.Get(ctx, key)
	if err != nil {
		return "", err
	}
	defer obj.Close()
	zr, err := zip.NewReader(blobs.ReaderAt(obj), size)
	if err != nil {
		return "", err
	}
	files := map[string]*zip.File{}
	names := []string{}
	for _, f := range zr.File {
		if strings.Contains(f.Name, "\n") {
			return "", fmt.Errorf("entry name %q contains a newline", f.Name)
		}
		names = append(names, f.Name)
		files[f.Name] = f
	}
	if len(names) == 0 {
		return "", errors.New("the archive is empty")
	}
	return dirhash.Hash1(names, func(name string) (io.ReadCloser, error) { return files[name].Open() })
}

// Delete removes a provider and all its files (maintainers and above).
func (s *Service) Delete(ctx context.Context, p *policies.Principal, namespace, name string) error {
	pr, err := s.findFor(ctx, p, policies.DestroyPackage, namespace, name)
	if err != nil {
		return err
	}
	var keys []string
	err = pgx.BeginFunc(ctx, s.db, func(tx pgx.Tx) error {
		q := queries.New(tx)
		if err := q.LockProviderName(ctx, fmt.Sprintf("provider:%d", pr.ID)); err != nil {
			return err
		}
		if keys, err = q.ProviderBlobKeys(ctx, pr.ID); err != nil {
			return err
		}
		if err := q.DeleteProvider(ctx, pr.ID); err != nil {
			return err
		}
		return audit.Record(ctx, tx, p, "delete", "provider", pr.ID, map[string]string{"provider": pr.Namespace + "/" + pr.Name}, nil)
	})
	s.forget()
	if err != nil {
		return err
	}
	return s.deleteBlobs(ctx, keys)
}

// DeleteVersion removes one version and its files (maintainers and above).
func (s *Service) DeleteVersion(ctx context.Context, p *policies.Principal, namespace, name, ver string) error {
	pr, err := s.findFor(ctx, p, policies.DestroyPackage, namespace, name)
	if err != nil {
		return err
	}
	v, ok := pr.Version(ver)
	if !ok {
		return errs.ErrNotFound
	}
	var keys []string
	err = pgx.BeginFunc(ctx, s.db, func(tx pgx.Tx) error {
		q := queries.New(tx)
		if _, err := q.GetVersionForUpload(ctx, v.ID); err != nil {
			return err
		}
		if keys, err = q.VersionBlobKeys(ctx, v.ID); err != nil {
			return err
		}
		if err := q.DeleteProviderVersion(ctx, v.ID); err != nil {
			return err
		}
		return audit.Record(ctx, tx, p, "delete", "provider_version", v.ID, map[string]string{"provider": pr.Namespace + "/" + pr.Name, "version": ver}, nil)
	})
	s.forget()
	if err != nil {
		return err
	}
	return s.deleteBlobs(ctx, keys)
}

// DeletePlatform removes one platform and its zip (maintainers and above).
func (s *Service) DeletePlatform(ctx context.Context, p *policies.Principal, namespace, name, ver, os, arch string) error {
	pr, err := s.findFor(ctx, p, policies.DestroyPackage, namespace, name)
	if err != nil {
		return err
	}
	v, ok := pr.Version(ver)
	if !ok {
		return errs.ErrNotFound
	}
	pl, ok := v.Platform(os, arch)
	if !ok {
		return errs.ErrNotFound
	}
	var keys []string
	err = pgx.BeginFunc(ctx, s.db, func(tx pgx.Tx) error {
		q := queries.New(tx)
		locked, err := q.GetPlatformForUpload(ctx, pl.ID)
		if err != nil {
			return err
		}
		if locked.BlobKey != nil {
			keys = append(keys, *locked.BlobKey)
		}
		if err := q.DeletePlatform(ctx, pl.ID); err != nil {
			return err
		}
		return audit.Record(ctx, tx, p, "delete", "provider_platform", pl.ID, map[string]string{"provider": pr.Namespace + "/" + pr.Name, "version": ver, "platform": os + "_" + arch}, nil)
	})
	s.forget()
	if err != nil {
		return err
	}
	return s.deleteBlobs(ctx, keys)
}

func (s *Service) deleteBlobs(ctx context.Context, keys []string) error {
	var list []error
	for _, k := range keys {
		list = append(list, s.blobs.Delete(context.WithoutCancel(ctx), k))
	}
	return errors.Join(list...)
}
