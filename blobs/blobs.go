// Package blobs stores module archives and other immutable files. One Store
// interface has a filesystem and an S3 backend; both pass the same compliance
// suite (package blobs/blobstest). Keys are chosen by Cairn, never by users.
//
// Writes are atomic: an object becomes readable only once it has been
// written completely; a put that fails or is cancelled half-way leaves
// nothing readable under the key (and any earlier object there untouched).
// Nothing here holds a whole object in memory.
package blobs

import (
	"context"
	"crypto/sha256"
	"encoding/hex"
	"errors"
	"fmt"
	"hash"
	"io"
	"regexp"
	"strings"
	"sync"
	"time"
)

// Sentinel errors.
var (
	// ErrNotFound means no object exists under the key.
	ErrNotFound = errors.New("blob not found")
	// ErrPresignUnsupported means the backend cannot hand out direct URLs;
	// callers serve the bytes themselves behind a Cairn-signed URL.
	ErrPresignUnsupported = errors.New("blob store cannot presign URLs")
	// ErrInvalidKey means the key is not of the allowed form.
	ErrInvalidKey = errors.New("invalid blob key")
	// ErrTooLarge means a put exceeded its size limit.
	ErrTooLarge = errors.New("blob exceeds size limit")
)

// Info describes a stored object.
type Info struct {
	Key         string
	Size        int64
	SHA256      string // hex; computed by Put (callers record it)
	ContentType string
	ModTime     time.Time
}

// PutOptions tune one put.
type PutOptions struct {
	// Size is the exact length when known (> 0); 0 or less means unknown.
	Size int64
	// MaxSize rejects the put with ErrTooLarge once more bytes arrive; 0 = no limit.
	MaxSize     int64
	ContentType string
}

// Object is an open object; it supports Seek so Range requests can be served.
type Object interface {
	io.ReadSeekCloser
}

// Store is the blob store every surface uses.
type Store interface {
	// Put streams r under key and returns its size and sha256.
	Put(ctx context.Context, key string, r io.Reader, opt PutOptions) (Info, error)
	// Get opens the object for reading.
	Get(ctx context.Context, key string) (Object, Info, error)
	// Stat describes the object without reading it.
	Stat(ctx context.Context, key string) (Info, error)
	// Delete removes the object; deleting a missing key is not an error.
	Delete(ctx context.Context, key string) error
	// PresignGet returns a URL that reads the object directly until expiry,
	// suggesting filename for the download, or ErrPresignUnsupported.
	PresignGet(ctx context.Context, key string, expiry time.Duration, filename string) (string, error)
	// Ping checks that the store is reachable (for readiness).
	Ping(ctx context.Context) error
	// List calls fn for every object whose key starts with prefix (a plain
	// string prefix: "modules/a" matches "modules/a/b" and "modules/ab"),
	// in no particular order, until fn returns an error, which List
	// returns. Info carries Key, Size and ModTime. fn may delete the key it
	// is given; objects put or deleted during the listing may or may not
	// be seen.
	List(ctx context.Context, prefix string, fn func(Info) error) error
	// PurgeTemp removes what puts interrupted by a crash left behind and
	// no reader can see (temporary files, incomplete multipart uploads),
	// if begun more than olderThan ago; it returns how many it removed.
	PurgeTemp(ctx context.Context, olderThan time.Duration) (int, error)
}

// CheckPrefix validates a List prefix: empty, or a key, or a key followed
// by a slash.
func CheckPrefix(prefix string) error {
	if prefix == "" {
		return nil
	}
	if err := CheckKey(strings.TrimSuffix(prefix, "/")); err != nil {
		return fmt.Errorf("%w: prefix %q", ErrInvalidKey, prefix)
	}
	return nil
}

var keyPattern = regexp.MustCompile(`^[a-z0-9][a-z0-9._-]*(/[a-z0-9][a-z0-9._-]*)*$`)

// CheckKey validates a key: lower-case segments of [a-z0-9._-] separated by
// slashes, no empty, dot-only or leading-dot segment.
func CheckKey(key string) error {
	if len(key) == 0 || len(key) > 512 || !keyPattern.MatchString(key) {
		return fmt.Errorf("%w: %q", ErrInvalidKey, key)
	}
	for _, seg := range strings.Split(key, "/") {
		if strings.Trim(seg, ".") == "" {
			return fmt.Errorf("%w: %q", ErrInvalidKey, key)
		}
	}
	return nil
}

// meter hashes and counts what passes through it and enforces a size limit.
type meter struct {
	r     io.Reader
	h     hash.Hash
	n     int64
	limit int64
}

func newMeter(r io.Reader, limit int64) *meter { return &meter{r: r, h: sha256.New(), limit: limit} }

func (m *meter) Read(p []byte) (int, error) {
	n, err := m.r.Read(p)
	m.h.Write(p[:n])
	m.n += int64(n)
	if m.limit > 0 && m.n > m.limit {
		return n, ErrTooLarge
	}
	return n, err
}

func (m *meter) sum() string { return hex.EncodeToString(m.h.Sum(nil)) }

// ctxReader fails reads once ctx is done, so a cancelled put stops promptly.
type ctxReader struct {
	ctx context.Context
	r   io.Reader
}

func (c ctxReader) Read(p []byte) (int, error) {
	if err := c.ctx.Err(); err != nil {
		return 0, err
	}
	return c.r.Read(p)
}

// ReaderAt reads an object at offsets (archive/zip needs it). Files and S3
// objects already can; any other object is read through Seek, serialised.
func ReaderAt(obj Object) io.ReaderAt {
	if ra, ok := obj.(io.ReaderAt); ok {
		return ra
	}
	return &seekReaderAt{obj: obj}
}

type seekReaderAt struct {
	mu  sync.Mutex
	obj Object
}

func (s *seekReaderAt) ReadAt(p []byte, off int64) (int, error) {
	s.mu.Lock()
	defer s.mu.Unlock()
	if _, err := s.obj.Seek(off, io.SeekStart); err != nil {
		return 0, err
	}
	n, err := io.ReadFull(s.obj, p)
	if err == io.ErrUnexpectedEOF {
		err = io.EOF // a short read at the end, as io.ReaderAt reports it
	}
	return n, err
}
