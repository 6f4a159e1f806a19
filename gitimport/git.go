package gitimport

import (
	"archive/tar"
	"bytes"
	"compress/gzip"
	"context"
	"encoding/binary"
	"errors"
	"fmt"
	"io"
	"net/http"
	"net/url"
	"os"
	"path"
	"path/filepath"
	"strings"
	"time"

	"github.com/go-git/go-billy/v5/osfs"
	"github.com/go-git/go-git/v5/plumbing"
	"github.com/go-git/go-git/v5/plumbing/cache"
	"github.com/go-git/go-git/v5/plumbing/filemode"
	"github.com/go-git/go-git/v5/plumbing/format/packfile"
	"github.com/go-git/go-git/v5/plumbing/object"
	"github.com/go-git/go-git/v5/plumbing/protocol/packp"
	"github.com/go-git/go-git/v5/plumbing/protocol/packp/capability"
	"github.com/go-git/go-git/v5/plumbing/protocol/packp/sideband"
	"github.com/go-git/go-git/v5/plumbing/storer"
	"github.com/go-git/go-git/v5/plumbing/transport"
	githttp "github.com/go-git/go-git/v5/plumbing/transport/http"
	"github.com/go-git/go-git/v5/storage/filesystem"

	"github.com/cairn-registry/cairn/internal/outbound"
)

// Limits bound one import.
type Limits struct {
	// Timeout bounds the whole fetch.
	Timeout time.Duration
	// MaxFetchBytes bounds the packfile (and every other response) read
	// from the repository.
	MaxFetchBytes int64
	// MaxObjects bounds how many objects the packfile may announce.
	MaxObjects uint32
	// MaxFiles and MaxBytes bound the module tree put in the archive
	// (the upload limit applies to the archive as well).
	MaxFiles int
	MaxBytes int64
}

// DefaultLimits are the limits of an import unless SetLimits says otherwise.
var DefaultLimits = Limits{Timeout: 5 * time.Minute, MaxFetchBytes: 256 << 20, MaxObjects: 200_000,
	MaxFiles: 20_000, MaxBytes: 512 << 20}

// importError is a failure that says what failed; it is shown to the user
// and never retried.
type importError struct{ msg string }

func (e *importError) Error() string { return e.msg }

func failf(format string, args ...any) error { return &importError{fmt.Sprintf(format, args...)} }

// checkRepoURL accepts https:// URLs without credentials only.
func checkRepoURL(raw string) (*url.URL, error) {
	u, err := url.Parse(raw)
	if err != nil || u.Host == "" || !strings.Contains(raw, "://") {
		return nil, failf("The repository URL %q is not an https:// URL", raw)
	}
	if u.Scheme != "https" {
		return nil, failf("The repository URL must use https:// (not %s://)", u.Scheme)
	}
	if u.User != nil {
		return nil, failf("The repository URL must not contain credentials; store a token for the module provider instead")
	}
	if u.RawQuery != "" || u.Fragment != "" {
		return nil, failf("The repository URL must not carry a query or fragment")
	}
	return u, nil
}

// fetched is a tag's commit, fetched (depth 1) into a temporary storage.
type fetched struct {
	store  *filesystem.Storage
	commit *object.Commit
}

// fetchTag fetches the commit tag points at, and nothing more (depth 1, no
// other refs, no submodules, no LFS objects), into dir.
func fetchTag(ctx context.Context, client *http.Client, repo *url.URL, auth *githttp.BasicAuth, tag, dir string, lim Limits) (*fetched, error) {
	tr := githttp.NewClientWithOptions(client, &githttp.ClientOptions{RedirectPolicy: githttp.NoFollowRedirects})
	ep, err := transport.NewEndpoint(repo.String())
	if err != nil {
		return nil, failf("The repository URL is invalid: %v", err)
	}
	var am transport.AuthMethod
	if auth != nil {
		am = auth
	}
	sess, err := tr.NewUploadPackSession(ep, am)
	if err != nil {
		return nil, describe(err, repo)
	}
	defer sess.Close()
	ar, err := sess.AdvertisedReferencesContext(ctx)
	if err != nil {
		return nil, describe(err, repo)
	}
	refs, err := ar.AllReferences()
	if err != nil {
		return nil, describe(err, repo)
	}
	ref, ok := refs[plumbing.NewTagReferenceName(tag)]
	if !ok || ref.Type() != plumbing.HashReference {
		return nil, failf("Tag %s was not found in the repository", tag)
	}
	want := ref.Hash()

	req := packp.NewUploadPackRequestFromCapabilities(ar.Capabilities)
	req.Wants = []plumbing.Hash{want}
	if ar.Capabilities.Supports(capability.Shallow) {
		req.Depth = packp.DepthCommits(1)
		if err := req.Capabilities.Set(capability.Shallow); err != nil {
			return nil, err
		}
	}
	if ar.Capabilities.Supports(capability.NoProgress) {
		_ = req.Capabilities.Set(capability.NoProgress)
	}
	resp, err := sess.UploadPack(ctx, req)
	if err != nil {
		return nil, describe(err, repo)
	}
	defer resp.Close()

	gitDir := filepath.Join(dir, "git")
	if err := os.Mkdir(gitDir, 0o700); err != nil {
		return nil, err
	}
	st := filesystem.NewStorageWithOptions(osfs.New(gitDir), cache.NewObjectLRUDefault(), filesystem.Options{})
	var pack io.Reader = resp
	switch {
	case req.Capabilities.Supports(capability.Sideband64k):
		pack = sideband.NewDemuxer(sideband.Sideband64k, resp)
	case req.Capabilities.Supports(capability.Sideband):
		pack = sideband.NewDemuxer(sideband.Sideband, resp)
	}
	pack, err = checkPackHeader(pack, lim.MaxObjects)
	if err != nil {
		return nil, describe(err, repo)
	}
	if err := packfile.UpdateObjectStorage(st, pack); err != nil {
		return nil, describe(err, repo)
	}
	commit, err := peelToCommit(st, want)
	if err != nil {
		return nil, failf("Tag %s does not point at a commit: %v", tag, err)
	}
	return &fetched{store: st, commit: commit}, nil
}

// errTooManyObjects is a packfile announcing more objects than allowed.
var errTooManyObjects = errors.New("too many objects")

// checkPackHeader reads the packfile header and refuses a pack announcing
// more than max objects before anything is stored.
func checkPackHeader(r io.Reader, max uint32) (io.Reader, error) {
	var hdr [12]byte
	if _, err := io.ReadFull(r, hdr[:]); err != nil {
		return nil, fmt.Errorf("reading the packfile: %w", err)
	}
	if string(hdr[:4]) != "PACK" {
		return nil, errors.New("the server did not send a packfile")
	}
	if n := binary.BigEndian.Uint32(hdr[8:12]); max > 0 && n > max {
		return nil, fmt.Errorf("%w: the repository sends %d objects (limit %d)", errTooManyObjects, n, max)
	}
	return io.MultiReader(bytes.NewReader(hdr[:]), r), nil
}

func peelToCommit(st storer.EncodedObjectStorer, h plumbing.Hash) (*object.Commit, error) {
	for range 10 {
		obj, err := object.GetObject(st, h)
		if err != nil {
			return nil, err
		}
		switch o := obj.(type) {
		case *object.Commit:
			return o, nil
		case *object.Tag:
			h = o.Target
		default:
			return nil, fmt.Errorf("it points at a %s", obj.Type())
		}
	}
	return nil, errors.New("too many nested tags")
}

// describe turns a transport failure into what the user should read.
func describe(err error, repo *url.URL) error {
	var ae *outbound.AddressError
	switch {
	case errors.As(err, &ae):
		return failf("The repository %s cannot be fetched: %s", repo.Host, strings.TrimPrefix(ae.Error(), "outbound: "))
	case errors.Is(err, outbound.ErrBodyTooLarge):
		return failf("The repository is too large to import (the fetch is limited)")
	case errors.Is(err, errTooManyObjects):
		return failf("The repository is too large to import: %s", strings.TrimPrefix(err.Error(), errTooManyObjects.Error()+": "))
	case errors.Is(err, transport.ErrAuthenticationRequired), errors.Is(err, transport.ErrAuthorizationFailed):
		return failf("Authentication failed for the repository %s", repo.Redacted())
	case errors.Is(err, transport.ErrRepositoryNotFound):
		return failf("The repository %s was not found (or the stored credentials cannot read it)", repo.Redacted())
	case errors.Is(err, transport.ErrEmptyRemoteRepository):
		return failf("The repository %s is empty", repo.Redacted())
	case errors.Is(err, context.DeadlineExceeded):
		return failf("Fetching the repository took too long")
	}
	// Network trouble and the like: worth retrying.
	return fmt.Errorf("fetching %s: %w", repo.Redacted(), err)
}

// writeArchive writes the tree below gitPath of commit as a tar.gz to w.
func writeArchive(w io.Writer, f *fetched, gitPath, tag string, lim Limits) error {
	tree, err := f.commit.Tree()
	if err != nil {
		return fmt.Errorf("reading the commit's tree: %w", err)
	}
	clean := strings.Trim(path.Clean("/"+gitPath), "/")
	if clean != "" {
		sub, err := tree.Tree(clean)
		if err != nil {
			return failf("The path %s does not exist in tag %s", clean, tag)
		}
		tree = sub
	}
	gz := gzip.NewWriter(w)
	tw := tar.NewWriter(gz)
	walker := object.NewTreeWalker(tree, true, nil)
	defer walker.Close()
	files := 0
	var total int64
	mtime := f.commit.Committer.When
	for {
		name, entry, err := walker.Next()
		if errors.Is(err, io.EOF) {
			break
		} else if err != nil {
			return fmt.Errorf("reading the tree: %w", err)
		}
		files++
		if files > lim.MaxFiles {
			return failf("The module is too large to import: more than %d files", lim.MaxFiles)
		}
		switch entry.Mode {
		case filemode.Dir:
			if err := tw.WriteHeader(&tar.Header{Typeflag: tar.TypeDir, Name: name + "/", Mode: 0o755, ModTime: mtime}); err != nil {
				return err
			}
		case filemode.Regular, filemode.Executable, filemode.Deprecated:
			blob, err := object.GetBlob(f.store, entry.Hash)
			if err != nil {
				return fmt.Errorf("reading %s: %w", name, err)
			}
			total += blob.Size
			if total > lim.MaxBytes {
				return failf("The module is too large to import: more than %d bytes", lim.MaxBytes)
			}
			mode := int64(0o644)
			if entry.Mode == filemode.Executable {
				mode = 0o755
			}
			if err := tw.WriteHeader(&tar.Header{Typeflag: tar.TypeReg, Name: name, Mode: mode, Size: blob.Size, ModTime: mtime}); err != nil {
				return err
			}
			r, err := blob.Reader()
			if err != nil {
				return err
			}
			_, err = io.Copy(tw, r)
			r.Close()
			if err != nil {
				return err
			}
		case filemode.Symlink:
			blob, err := object.GetBlob(f.store, entry.Hash)
			if err != nil {
				return fmt.Errorf("reading %s: %w", name, err)
			}
			if blob.Size > 4096 {
				return failf("The symbolic link %s is invalid", name)
			}
			r, err := blob.Reader()
			if err != nil {
				return err
			}
			target, err := io.ReadAll(r)
			r.Close()
			if err != nil {
				return err
			}
			if err := tw.WriteHeader(&tar.Header{Typeflag: tar.TypeSymlink, Name: name, Linkname: string(target), Mode: 0o777, ModTime: mtime}); err != nil {
				return err
			}
		default:
			// Submodules (gitlinks) are not fetched: left out.
		}
	}
	if err := tw.Close(); err != nil {
		return err
	}
	return gz.Close()
}
