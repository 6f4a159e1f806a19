package blobs

import (
	"context"
	"errors"
	"fmt"
	"io"
	"io/fs"
	"os"
	"path/filepath"
	"strings"
	"time"
)

// FS stores objects as files under a root directory. A put writes a temporary
// file in the same file system, syncs it and renames it into place, so a
// reader sees either nothing or the whole object.
type FS struct {
	root string
}

// NewFS returns a store rooted at dir, creating it if needed.
func NewFS(dir string) (*FS, error) {
	for _, d := range []string{filepath.Join(dir, "objects"), filepath.Join(dir, "tmp")} {
		if err := os.MkdirAll(d, 0o750); err != nil {
			return nil, fmt.Errorf("blob store: %w", err)
		}
	}
	s := &FS{root: dir}
	// Leftovers of puts interrupted by a crash are never readable. A
	// starting process has no put in flight, and replicas never share a
	// filesystem store, so every one of them is a leftover.
	if _, err := s.purgeTemp(0); err != nil {
		return nil, fmt.Errorf("blob store: %w", err)
	}
	return s, nil
}

// PurgeTemp implements Store: temporary files of puts begun (last written)
// more than olderThan ago.
func (s *FS) PurgeTemp(ctx context.Context, olderThan time.Duration) (int, error) {
	return s.purgeTemp(olderThan)
}

func (s *FS) purgeTemp(olderThan time.Duration) (int, error) {
	dir := filepath.Join(s.root, "tmp")
	ents, err := os.ReadDir(dir)
	if err != nil {
		return 0, fmt.Errorf("blob tmp: %w", err)
	}
	n := 0
	for _, e := range ents {
		info, err := e.Info()
		if err != nil || !info.Mode().IsRegular() || time.Since(info.ModTime()) < olderThan {
			continue // gone meanwhile, not ours, or possibly in flight
		}
		if err := os.Remove(filepath.Join(dir, e.Name())); err == nil {
			n++
		} else if !errors.Is(err, os.ErrNotExist) {
			return n, fmt.Errorf("blob tmp: %w", err)
		}
	}
	return n, nil
}

// List implements Store by walking the directories under objects/ that
// can hold keys with prefix.
func (s *FS) List(ctx context.Context, prefix string, fn func(Info) error) error {
	if err := CheckPrefix(prefix); err != nil {
		return err
	}
	objects := filepath.Join(s.root, "objects")
	start := objects
	if i := strings.LastIndex(prefix, "/"); i >= 0 {
		start = filepath.Join(objects, filepath.FromSlash(prefix[:i]))
	}
	err := filepath.WalkDir(start, func(p string, d fs.DirEntry, err error) error {
		if err != nil {
			if errors.Is(err, os.ErrNotExist) {
				return nil // the prefix names no directory, or it was removed meanwhile
			}
			return err
		}
		if err := ctx.Err(); err != nil {
			return err
		}
		rel, err := filepath.Rel(objects, p)
		if err != nil {
			return err
		}
		key := filepath.ToSlash(rel)
		if d.IsDir() {
			// Descend only where keys with the prefix can be.
			if p != start && !strings.HasPrefix(key+"/", prefix) && !strings.HasPrefix(prefix, key+"/") {
				return fs.SkipDir
			}
			return nil
		}
		if !d.Type().IsRegular() || !strings.HasPrefix(key, prefix) || CheckKey(key) != nil {
			return nil
		}
		info, err := d.Info()
		if errors.Is(err, os.ErrNotExist) {
			return nil // deleted meanwhile
		} else if err != nil {
			return err
		}
		return fn(Info{Key: key, Size: info.Size(), ModTime: info.ModTime()})
	})
	if err != nil {
		return fmt.Errorf("blob list %s: %w", prefix, err)
	}
	return nil
}

func (s *FS) path(key string) string {
	return filepath.Join(s.root, "objects", filepath.FromSlash(key))
}

// Put implements Store.
func (s *FS) Put(ctx context.Context, key string, r io.Reader, opt PutOptions) (Info, error) {
	if err := CheckKey(key); err != nil {
		return Info{}, err
	}
	tmp, err := os.CreateTemp(filepath.Join(s.root, "tmp"), "put-*")
	if err != nil {
		return Info{}, fmt.Errorf("blob put %s: %w", key, err)
	}
	defer os.Remove(tmp.Name()) // no-op after a successful rename
	m := newMeter(ctxReader{ctx, r}, opt.MaxSize)
	if _, err := io.Copy(tmp, m); err != nil {
		tmp.Close()
		return Info{}, fmt.Errorf("blob put %s: %w", key, err)
	}
	if opt.Size > 0 && m.n != opt.Size {
		tmp.Close()
		return Info{}, fmt.Errorf("blob put %s: got %d bytes, expected %d: %w", key, m.n, opt.Size, io.ErrUnexpectedEOF)
	}
	if err := tmp.Sync(); err != nil {
		tmp.Close()
		return Info{}, fmt.Errorf("blob put %s: %w", key, err)
	}
	if err := tmp.Close(); err != nil {
		return Info{}, fmt.Errorf("blob put %s: %w", key, err)
	}
	if err := ctx.Err(); err != nil {
		return Info{}, fmt.Errorf("blob put %s: %w", key, err)
	}
	dst := s.path(key)
	if err := os.MkdirAll(filepath.Dir(dst), 0o750); err != nil {
		return Info{}, fmt.Errorf("blob put %s: %w", key, err)
	}
	if err := os.Rename(tmp.Name(), dst); err != nil {
		return Info{}, fmt.Errorf("blob put %s: %w", key, err)
	}
	syncDir(filepath.Dir(dst))
	st, err := os.Stat(dst)
	if err != nil {
		return Info{}, fmt.Errorf("blob put %s: %w", key, err)
	}
	return Info{Key: key, Size: m.n, SHA256: m.sum(), ContentType: opt.ContentType, ModTime: st.ModTime()}, nil
}

// syncDir makes a rename durable; failures only weaken durability.
func syncDir(dir string) {
	if d, err := os.Open(dir); err == nil {
		_ = d.Sync()
		d.Close()
	}
}

// Get implements Store.
func (s *FS) Get(ctx context.Context, key string) (Object, Info, error) {
	if err := CheckKey(key); err != nil {
		return nil, Info{}, err
	}
	f, err := os.Open(s.path(key))
	if errors.Is(err, os.ErrNotExist) {
		return nil, Info{}, fmt.Errorf("blob %s: %w", key, ErrNotFound)
	} else if err != nil {
		return nil, Info{}, fmt.Errorf("blob get %s: %w", key, err)
	}
	st, err := f.Stat()
	if err != nil {
		f.Close()
		return nil, Info{}, fmt.Errorf("blob get %s: %w", key, err)
	}
	return f, Info{Key: key, Size: st.Size(), ModTime: st.ModTime()}, nil
}

// Stat implements Store.
func (s *FS) Stat(ctx context.Context, key string) (Info, error) {
	if err := CheckKey(key); err != nil {
		return Info{}, err
	}
	st, err := os.Stat(s.path(key))
	if errors.Is(err, os.ErrNotExist) {
		return Info{}, fmt.Errorf("blob %s: %w", key, ErrNotFound)
	} else if err != nil {
		return Info{}, fmt.Errorf("blob stat %s: %w", key, err)
	}
	return Info{Key: key, Size: st.Size(), ModTime: st.ModTime()}, nil
}

// Delete implements Store.
func (s *FS) Delete(ctx context.Context, key string) error {
	if err := CheckKey(key); err != nil {
		return err
	}
	if err := os.Remove(s.path(key)); err != nil && !errors.Is(err, os.ErrNotExist) {
		return fmt.Errorf("blob delete %s: %w", key, err)
	}
	return nil
}

// PresignGet implements Store: files are served by Cairn itself.
func (s *FS) PresignGet(context.Context, string, time.Duration, string) (string, error) {
	return "", ErrPresignUnsupported
}

// Ping implements Store: the root must exist and be writable.
func (s *FS) Ping(ctx context.Context) error {
	f, err := os.CreateTemp(filepath.Join(s.root, "tmp"), "ping-*")
	if err != nil {
		return fmt.Errorf("blob store not writable: %w", err)
	}
	f.Close()
	return os.Remove(f.Name())
}
