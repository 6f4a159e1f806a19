package blobs

import (
	"context"
	"errors"
	"fmt"
	"io"
	"mime"
	"net/url"
	"time"

	"github.com/minio/minio-go/v7"
	"github.com/minio/minio-go/v7/pkg/credentials"
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
		return Info{}, fmt.Errorf("blob put %s: %w", key, err)
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
		return nil, Info{}, fmt.Errorf("blob get %s: %w", key, err)
	}
	st, err := obj.Stat()
	if err != nil {
		obj.Close()
		if notFound(err) {
			return nil, Info{}, fmt.Errorf("blob %s: %w", key, ErrNotFound)
		}
		return nil, Info{}, fmt.Errorf("blob get %s: %w", key, err)
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
		return Info{}, fmt.Errorf("blob stat %s: %w", key, err)
	}
	return Info{Key: key, Size: st.Size, ContentType: st.ContentType, ModTime: st.LastModified}, nil
}

// Delete implements Store.
func (s *S3) Delete(ctx context.Context, key string) error {
	if err := CheckKey(key); err != nil {
		return err
	}
	if err := s.client.RemoveObject(ctx, s.bucket, key, minio.RemoveObjectOptions{}); err != nil && !notFound(err) {
		return fmt.Errorf("blob delete %s: %w", key, err)
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

// Ping implements Store.
func (s *S3) Ping(ctx context.Context) error {
	ok, err := s.client.BucketExists(ctx, s.bucket)
	if err != nil {
		return fmt.Errorf("s3 unreachable: %w", err)
	}
	if !ok {
		return fmt.Errorf("s3 bucket %s is missing", s.bucket)
	}
	return nil
}
