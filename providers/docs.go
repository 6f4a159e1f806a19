package providers

import (
	"archive/tar"
	"bytes"
	"compress/gzip"
	"context"
	"errors"
	"io"
	"path"
	"strings"
	"unicode/utf8"

	"github.com/jackc/pgx/v5"
	"go.yaml.in/yaml/v3"

	"github.com/cairn-registry/cairn/audit"
	"github.com/cairn-registry/cairn/errs"
	"github.com/cairn-registry/cairn/policies"
	"github.com/cairn-registry/cairn/queries"
)

// Provider docs are the docs/ tree of a release in tfplugindocs layout:
// docs/index.md (the overview) and docs/{resources,data-sources,guides,
// functions}/<slug>.md. They are uploaded as one tar.gz of that tree
// (entries named docs/...) and replace the version's docs as a whole.

// Limits on a docs upload.
const (
	MaxDocsBytes = 2 << 20 // uncompressed, all files together
	MaxDocsFiles = 500
)

// DocCategories are the categories of provider docs, in display order.
var DocCategories = []string{"overview", "guides", "resources", "data-sources", "functions"}

// Doc is one page of a version's docs; Content is empty in lists.
type Doc struct {
	ID          int64
	VersionID   int64
	Category    string
	Slug        string
	Title       string
	Subcategory string
	Path        string
	Content     string
}

// Body is the doc's markdown without its YAML front matter.
func (d Doc) Body() string {
	_, body := frontMatter(d.Content)
	return body
}

// frontMatter splits "---\n<yaml>\n---\n<body>" into its YAML and body.
func frontMatter(text string) (string, string) {
	rest, ok := strings.CutPrefix(strings.TrimLeft(text, "\ufeff"), "---")
	if !ok {
		return "", text
	}
	rest = strings.TrimLeft(rest, " \t")
	if !strings.HasPrefix(rest, "\n") && !strings.HasPrefix(rest, "\r\n") {
		return "", text
	}
	for _, sep := range []string{"\n---\n", "\n---\r\n", "\r\n---\r\n"} {
		if head, body, ok := strings.Cut(rest, sep); ok {
			return head, body
		}
	}
	if head, ok := strings.CutSuffix(strings.TrimRight(rest, "\r\n"), "\n---"); ok {
		return head, ""
	}
	return "", text
}

// docPlace maps a path of the docs tree to its category and slug.
func docPlace(name string) (category, slug string, err error) {
	if strings.Contains(name, "\\") || strings.HasPrefix(name, "/") || path.Clean(name) != name {
		return "", "", errs.Field(errs.Invalid, "docs", "docs: %q is not a clean relative path", name)
	}
	for _, part := range strings.Split(name, "/") {
		if part == ".." || part == "." {
			return "", "", errs.Field(errs.Invalid, "docs", "docs: %q leaves the docs tree", name)
		}
	}
	rest, ok := strings.CutPrefix(name, "docs/")
	if !ok {
		return "", "", errs.Field(errs.Invalid, "docs", "docs: %q is not under docs/", name)
	}
	if !strings.HasSuffix(rest, ".md") {
		return "", "", errs.Field(errs.Invalid, "docs", "docs: %q is not a markdown (.md) file", name)
	}
	dir, file := path.Split(rest)
	slug = strings.TrimSuffix(strings.TrimSuffix(file, ".md"), ".html")
	switch dir {
	case "":
		if slug != "index" {
			return "", "", errs.Field(errs.Invalid, "docs", "docs: %q: only index.md may be at the top of docs/", name)
		}
		category = "overview"
	case "resources/", "data-sources/", "guides/", "functions/":
		category = strings.TrimSuffix(dir, "/")
	default:
		return "", "", errs.Field(errs.Invalid, "docs", "docs: %q is not in index.md, resources/, data-sources/, guides/ or functions/", name)
	}
	if slug == "" || strings.HasPrefix(slug, ".") {
		return "", "", errs.Field(errs.Invalid, "docs", "docs: %q has no name", name)
	}
	return category, slug, nil
}

// ReadDocsArchive reads a tar.gz of a docs/ tree, refusing paths outside
// it, files other than .md, and more than MaxDocsFiles files or
// MaxDocsBytes bytes.
func ReadDocsArchive(body io.Reader) ([]Doc, error) {
	if body == nil {
		return nil, errs.Field(errs.Invalid, "docs", "the docs archive is missing")
	}
	gz, err := gzip.NewReader(body)
	if err != nil {
		return nil, errs.Field(errs.Invalid, "docs", "the docs archive is not a tar.gz: %v", err)
	}
	tr := tar.NewReader(gz)
	var docs []Doc
	seen := map[string]bool{}
	var total int64
	for {
		h, err := tr.Next()
		if errors.Is(err, io.EOF) {
			break
		} else if err != nil {
			return nil, errs.Field(errs.Invalid, "docs", "the docs archive is not a tar.gz: %v", err)
		}
		name := strings.TrimPrefix(h.Name, "./")
		if h.Typeflag == tar.TypeDir {
			continue // nothing is written to disk; files' paths are checked
		}
		if h.Typeflag != tar.TypeReg {
			return nil, errs.Field(errs.Invalid, "docs", "docs: %q is not a regular file", h.Name)
		}
		category, slug, err := docPlace(name)
		if err != nil {
			return nil, err
		}
		if len(docs) == MaxDocsFiles {
			return nil, errs.Field(errs.TooLarge, "docs", "docs: more than %d files", MaxDocsFiles)
		}
		total += h.Size
		if h.Size < 0 || total > MaxDocsBytes {
			return nil, errs.Field(errs.TooLarge, "docs", "docs: more than %d bytes in all", MaxDocsBytes)
		}
		b, err := io.ReadAll(io.LimitReader(tr, h.Size+1))
		if err != nil {
			return nil, errs.Field(errs.Invalid, "docs", "docs: %q: %v", name, err)
		}
		if int64(len(b)) != h.Size {
			return nil, errs.Field(errs.Invalid, "docs", "docs: %q is truncated", name)
		}
		if !utf8.Valid(b) || bytes.IndexByte(b, 0) >= 0 {
			return nil, errs.Field(errs.Invalid, "docs", "docs: %q is not UTF-8 text", name)
		}
		key := category + "/" + slug
		if seen[key] {
			return nil, errs.Field(errs.Invalid, "docs", "docs: %q duplicates %s %s", name, category, slug)
		}
		seen[key] = true
		d := Doc{Category: category, Slug: slug, Title: slug, Path: name, Content: string(b)}
		if head, _ := frontMatter(d.Content); head != "" {
			var fm struct {
				PageTitle   string `yaml:"page_title"`
				Subcategory string `yaml:"subcategory"`
			}
			if yaml.Unmarshal([]byte(head), &fm) == nil {
				if t := strings.TrimSpace(fm.PageTitle); t != "" {
					d.Title = t
				}
				d.Subcategory = strings.TrimSpace(fm.Subcategory)
			}
		}
		docs = append(docs, d)
	}
	return docs, nil
}

// UploadDocs replaces the docs of a version with the tar.gz in body (the
// same permission as announcing a platform of it). It returns how many
// pages were stored.
func (s *Service) UploadDocs(ctx context.Context, p *policies.Principal, namespace, name, ver string, body io.Reader) (int, error) {
	pr, err := s.findFor(ctx, p, policies.CreatePackage, namespace, name)
	if err != nil {
		return 0, err
	}
	v, ok := pr.Version(ver)
	if !ok {
		return 0, errs.ErrNotFound
	}
	docs, err := ReadDocsArchive(body)
	if err != nil {
		return 0, err
	}
	err = pgx.BeginFunc(ctx, s.db, func(tx pgx.Tx) error {
		q := queries.New(tx)
		if _, err := q.GetVersionForUpload(ctx, v.ID); errors.Is(err, pgx.ErrNoRows) {
			return errs.ErrNotFound
		} else if err != nil {
			return err
		}
		if err := q.DeleteProviderDocs(ctx, v.ID); err != nil {
			return err
		}
		for _, d := range docs {
			var sub *string
			if d.Subcategory != "" {
				sub = &d.Subcategory
			}
			if err := q.CreateProviderDoc(ctx, queries.CreateProviderDocParams{VersionID: v.ID, Category: d.Category, Slug: d.Slug,
				Title: d.Title, Subcategory: sub, Path: d.Path, Content: d.Content}); err != nil {
				return err
			}
		}
		return audit.Record(ctx, tx, p, "upload_docs", "provider_version", v.ID, nil,
			map[string]any{"provider": pr.Namespace + "/" + pr.Name, "version": ver, "docs": len(docs)})
	})
	if err != nil {
		return 0, err
	}
	return len(docs), nil
}

// readableVersion returns the provider and complete version versionID if p
// may read it; anything else is not found (no existence leak).
func (s *Service) readableVersion(ctx context.Context, p *policies.Principal, versionID int64) (*Provider, Version, error) {
	owner, err := queries.New(s.db).ProviderVersionOwner(ctx, versionID)
	if errors.Is(err, pgx.ErrNoRows) {
		return nil, Version{}, errs.ErrNotFound
	} else if err != nil {
		return nil, Version{}, err
	}
	pr, err := s.Find(ctx, p, owner.NamespacePath, owner.ProviderName)
	if err != nil {
		if errs.Is(err, errs.NotFound) || errs.Is(err, errs.Forbidden) || errs.Is(err, errs.Unauthenticated) {
			return nil, Version{}, errs.ErrNotFound
		}
		return nil, Version{}, err
	}
	v, ok := pr.Version(owner.Version)
	if !ok || !v.Complete() {
		return nil, Version{}, errs.ErrNotFound
	}
	return pr, v, nil
}

// Docs lists the docs (without content) of the version versionID if p may
// read it.
func (s *Service) Docs(ctx context.Context, p *policies.Principal, versionID int64) ([]Doc, error) {
	if _, _, err := s.readableVersion(ctx, p, versionID); err != nil {
		return nil, err
	}
	rows, err := queries.New(s.db).ListProviderDocs(ctx, versionID)
	if err != nil {
		return nil, err
	}
	out := make([]Doc, 0, len(rows))
	for _, r := range rows {
		out = append(out, Doc{ID: r.ID, VersionID: r.VersionID, Category: r.Category, Slug: r.Slug, Title: r.Title,
			Subcategory: deref(r.Subcategory), Path: r.Path})
	}
	return out, nil
}

// Doc returns one doc with its content, with its provider and version, if
// p may read them.
func (s *Service) Doc(ctx context.Context, p *policies.Principal, id int64) (*Provider, Version, Doc, error) {
	row, err := queries.New(s.db).GetProviderDoc(ctx, id)
	if errors.Is(err, pgx.ErrNoRows) {
		return nil, Version{}, Doc{}, errs.ErrNotFound
	} else if err != nil {
		return nil, Version{}, Doc{}, err
	}
	pr, v, err := s.readableVersion(ctx, p, row.VersionID)
	if err != nil {
		return nil, Version{}, Doc{}, err
	}
	return pr, v, Doc{ID: row.ID, VersionID: row.VersionID, Category: row.Category, Slug: row.Slug, Title: row.Title,
		Subcategory: deref(row.Subcategory), Path: row.Path, Content: row.Content}, nil
}

func deref(s *string) string {
	if s == nil {
		return ""
	}
	return *s
}
