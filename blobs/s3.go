package blobs

import (
	"context"
	"errors"
	"fmt"
	"io"
	"mime"
	"net"
	"net/url"
	"syscall"
	"time"

	"github.com/minio/minio-go/v7"
	"github.com/minio/minio-go/v7/pkg/credentials"

	"github.com/cairn-registry/cairn/errs"
)

// s3PartSize bounds the memory one streaming put holds: minio-go buffers one
// part at a time when the length is unknown (its default would be 512 MiB).
const s3PartSize = 16 << 20

// S3Config locates a bucket on an S3-compatible server.
type S3Config struct {
	Endpoint  string // host[:port]
	Bucket    string
	Region    string
	AccessKey string
	SecretKey string
	UseTLS    bool
	// Presign lets PresignGet hand out direct object-store URLs.
	Presign bool
}

// S3 stores objects in one bucket of an S3-compatible server (MinIO, AWS S3,
// ...). S3 itself makes puts atomic: an object appears only when its upload
// completes, and an aborted multipart upload leaves nothing behind.
type S3 struct {
	client  *minio.Client
	bucket  string
	presign bool
}

// NewS3 connects and creates the bucket if it does not exist.
func NewS3(ctx context.Context, cfg S3Config) (*S3, error) {
	client, err := minio.New(cfg.Endpoint, &minio.Options{
		Creds:        credentials.NewStaticV4(cfg.AccessKey, cfg.SecretKey, ""),
		Secure:       cfg.UseTLS,
		Region:       cfg.Region,
		BucketLookup: minio.BucketLookupPath,
	})
	if err != nil {
		return nil, fmt.Errorf("s3 client for %s: %w", cfg.Endpoint, err)
	}
	s := &S3{client: client, bucket: cfg.Bucket, presign: cfg.Presign}
	ok, err := client.BucketExists(ctx, cfg.Bucket)
	if err != nil {
		return nil, fmt.Errorf("s3 bucket %s at %s: %w", cfg.Bucket, cfg.Endpoint, err)
	}
	if !ok {
		err := client.MakeBucket(ctx, cfg.Bucket, minio.MakeBucketOptions{Region: cfg.Region})
		if err != nil && minio.ToErrorResponse(err).Code != "BucketAlreadyOwnedByYou" {
			return nil, fmt.Errorf("create s3 bucket %s: %w", cfg.Bucket, err)
		}
	}
	return s, nil
}

func notFound(err error) bool {
	code := minio.ToErrorResponse(err).Code
	return code == "NoSuchKey" || code == "NotFound"
}

// s3Error wraps a failed operation; when the server could not be reached
// or answered that it cannot serve (5xx), the error is errs.Unavailable so
// every surface answers 503 rather than 500.
func s3Error(op, key string, err error) error {
	err = fmt.Errorf("%s %s: %w", op, key, err)
	if unreachable(err) {
		return errs.Wrap(errs.Unavailable, err, "the object store is unavailable")
	}
	return err
}

func unreachable(err error) bool {
	if errors.Is(err, context.Canceled) || errors.Is(err, ErrTooLarge) {
		return false
	}
	var resp minio.ErrorResponse
	if errors.As(err, &resp) {
		return resp.StatusCode >= 500
	}
	var netErr net.Error
	var urlErr *url.Error
	return errors.As(err, &netErr) || errors.As(err, &urlErr) || errors.Is(err, context.DeadlineExceeded) ||
		errors.Is(err, io.EOF) || errors.Is(err, io.ErrUnexpectedEOF) ||
		errors.Is(err, syscall.ECONNREFUSED) || errors.Is(err, syscall.ECONNRESET) || errors.Is(err, syscall.EPIPE)
}

// Put implements Store.
func (s *S3) Put(ctx context.Context, key string, r io.Reader, opt PutOptions) (Info, error) {
	if err := CheckKey(key); err != nil {
		return Info{}, err
	}
	m := newMeter(ctxReader{ctx, r}, opt.MaxSize)
	size := opt.Size
	if size <= 0 {
		size = -1
	}
	ct := opt.ContentType
	if ct == "" {
		ct = "application/octet-stream"
	}
	up, err := s.client.PutObject(ctx, s.bucket, key, m, size, minio.PutObjectOptions{
		ContentType: ct,
		PartSize:    s3PartSize,
	})
	if err != nil {
		if errors.Is(err, ErrTooLarge) || m.limit > 0 && m.n > m.limit {
			return Info{}, fmt.Errorf("blob put %s: %w", key, ErrTooLarge)
		}
		return Info{}, s3Error("blob put", key, err)
	}
	return Info{Key: key, Size: up.Size, SHA256: m.sum(), ContentType: ct, ModTime: up.LastModified}, nil
}

// Get implements Store.
func (s *S3) Get(ctx context.Context, key string) (Object, Info, error) {
	if err := CheckKey(key); err != nil {
		return nil, Info{}, err
	}
	obj, err := s.client.GetObject(ctx, s.bucket, key, minio.GetObjectOptions{})
	if err != nil {
		return nil, Info{}, s3Error("blob get", key, err)
	}
	st, err := obj.Stat()
	if err != nil {
		obj.Close()
		if notFound(err) {
			return nil, Info{}, fmt.Errorf("blob %s: %w", key, ErrNotFound)
		}
		return nil, Info{}, s3Error("blob get", key, err)
	}
	return obj, Info{Key: key, Size: st.Size, ContentType: st.ContentType, ModTime: st.LastModified}, nil
}

// Stat implements Store.
func (s *S3) Stat(ctx context.Context, key string) (Info, error) {
	if err := CheckKey(key); err != nil {
		return Info{}, err
	}
	st, err := s.client.StatObject(ctx, s.bucket, key, minio.StatObjectOptions{})
	if err != nil {
		if notFound(err) {
			return Info{}, fmt.Errorf("blob %s: %w", key, ErrNotFound)
		}
		return Info{}, s3Error("blob stat", key, err)
	}
	return Info{Key: key, Size: st.Size, ContentType: st.ContentType, ModTime: st.LastModified}, nil
}

// Delete implements Store.
func (s *S3) Delete(ctx context.Context, key string) error {
	if err := CheckKey(key); err != nil {
		return err
	}
	if err := s.client.RemoveObject(ctx, s.bucket, key, minio.RemoveObjectOptions{}); err != nil && !notFound(err) {
		return s3Error("blob delete", key, err)
	}
	return nil
}

// PresignGet implements Store.
func (s *S3) PresignGet(ctx context.Context, key string, expiry time.Duration, filename string) (string, error) {
	if !s.presign {
		return "", ErrPresignUnsupported
	}
	if err := CheckKey(key); err != nil {
		return "", err
	}
	params := url.Values{}
	if filename != "" {
		params.Set("response-content-disposition", mime.FormatMediaType("attachment", map[string]string{"filename": filename}))
	}
	u, err := s.client.PresignedGetObject(ctx, s.bucket, key, expiry, params)
	if err != nil {
		return "", fmt.Errorf("presign %s: %w", key, err)
	}
	return u.String(), nil
}

// List implements Store.
func (s *S3) List(ctx context.Context, prefix string, fn func(Info) error) error {
	if err := CheckPrefix(prefix); err != nil {
		return err
	}
	// Cancelling stops minio-go's listing goroutine when fn stops early.
	ctx, cancel := context.WithCancel(ctx)
	defer cancel()
	for obj := range s.client.ListObjects(ctx, s.bucket, minio.ListObjectsOptions{Prefix: prefix, Recursive: true}) {
		if obj.Err != nil {
			return fmt.Errorf("blob list %s: %w", prefix, obj.Err)
		}
		if CheckKey(obj.Key) != nil {
			continue // not an object Cairn wrote
		}
		if err := fn(Info{Key: obj.Key, Size: obj.Size, ContentType: obj.ContentType, ModTime: obj.LastModified}); err != nil {
			return fmt.Errorf("blob list %s: %w", prefix, err)
		}
	}
	return ctx.Err()
}

// PurgeTemp implements Store: S3 makes puts atomic and minio-go aborts the
// multipart upload of a put that fails, so only a crash mid-upload leaves
// invisible parts behind. Those are the server's to expire: MinIO does so
// itself (stale uploads expiry), AWS S3 with a bucket lifecycle rule
// (AbortIncompleteMultipartUpload), which operators should set. MinIO
// cannot list them bucket-wide, so Cairn does not try.
func (s *S3) PurgeTemp(context.Context, time.Duration) (int, error) { return 0, nil }

// Ping implements Store.
func (s *S3) Ping(ctx context.Context) error {
	ok, err := s.client.BucketExists(ctx, s.bucket)
	if err != nil {
		return s3Error("s3 ping", s.bucket, err)
	}
	if !ok {
		return fmt.Errorf("s3 bucket %s is missing", s.bucket)
	}
	return nil
}
