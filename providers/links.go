package providers

import (
	"context"
	"fmt"
	"net/url"
	"strconv"
	"strings"
	"time"

	"github.com/cairn-registry/cairn/blobs"
	"github.com/cairn-registry/cairn/errs"
	"github.com/cairn-registry/cairn/policies"
	"github.com/cairn-registry/cairn/tokens"
)

// FilesPath is where provider files (SHA256SUMS, signature, zips) are
// served to holders of a signed URL: terraform fetches them without
// credentials. <FilesPath>/<blob>/<filename>?token=...
const FilesPath = "/v1/provider-files"

// UploadsPath is where upload links point: PUT <UploadsPath>/<kind>/<id>/file?token=...
// (go-tfe and curl -T send no credentials there).
const UploadsPath = "/api/v2/uploads"

// UploadTTL is how long an upload link stays valid.
const UploadTTL = time.Hour

// Upload kinds.
const (
	UploadShasums    = "shasums"
	UploadSignature  = "shasums-sig"
	UploadBinary     = "provider-binary"
	UploadModule     = "module-version"
	uploadBindingFmt = "upload:%s:%d"
)

// FileURL is the signed, short-lived URL of a stored provider file for p.
func (s *Service) FileURL(p *policies.Principal, blobKey, filename string) string {
	return string(s.AppendFileURL(make([]byte, 0, 256), p, blobKey, filename))
}

// AppendFileURL appends FileURL(p, blobKey, filename) to dst.
func (s *Service) AppendFileURL(dst []byte, p *policies.Principal, blobKey, filename string) []byte {
	dst = append(dst, s.publicURL...)
	dst = append(dst, FilesPath...)
	dst = append(dst, '/')
	dst = appendPathSegment(dst, strings.TrimPrefix(blobKey, BlobPrefix))
	dst = append(dst, '/')
	dst = appendPathSegment(dst, filename)
	dst = append(dst, "?token="...)
	// A token is [0-9A-Za-z._-]: nothing a query escapes.
	return s.signer.AppendSign(dst, blobKey, p.Name(), tokens.DownloadTTL)
}

// appendPathSegment appends url.PathEscape(seg) to dst, without the
// allocation when seg needs no escaping.
func appendPathSegment(dst []byte, seg string) []byte {
	for i := 0; i < len(seg); i++ {
		if !unreservedByte[seg[i]] {
			return append(dst, url.PathEscape(seg)...)
		}
	}
	return append(dst, seg...)
}

// unreservedByte: the characters no URL escaping touches (RFC 3986).
var unreservedByte = func() (t [256]bool) {
	for c := 0; c < 256; c++ {
		t[c] = 'a' <= c && c <= 'z' || 'A' <= c && c <= 'Z' || '0' <= c && c <= '9' || c == '-' || c == '_' || c == '.' || c == '~'
	}
	return t
}()

// File opens the stored file a signed URL names; a bad, expired or
// misplaced token and an unknown file are the same refusal (forbidden).
func (s *Service) File(ctx context.Context, blob, token string) (string, error) {
	key := BlobPrefix + blob
	if blobs.CheckKey(key) != nil {
		return "", errs.Wrap(errs.Forbidden, tokens.ErrBadDownloadToken, "%s", tokens.ErrBadDownloadToken.Error())
	}
	if _, err := s.signer.Verify(key, token); err != nil {
		return "", errs.Wrap(errs.Forbidden, tokens.ErrBadDownloadToken, "%s", tokens.ErrBadDownloadToken.Error())
	}
	return key, nil
}

// UploadURL is the absolute, signed upload link of kind for object id,
// issued to p (who was authorised to create it).
func (s *Service) UploadURL(p *policies.Principal, kind string, id int64) string {
	tok := s.signer.Sign(fmt.Sprintf(uploadBindingFmt, kind, id), p.Name(), UploadTTL)
	return fmt.Sprintf("%s%s/%s/%d/file?token=%s", s.publicURL, UploadsPath, kind, id, url.QueryEscape(tok))
}

// CheckUpload verifies an upload link's token for kind and id.
func (s *Service) CheckUpload(kind, id, token string) (int64, error) {
	n, err := strconv.ParseInt(id, 10, 64)
	if err != nil {
		return 0, errs.E(errs.Forbidden, "upload link is invalid or has expired")
	}
	if _, err := s.signer.Verify(fmt.Sprintf(uploadBindingFmt, kind, n), token); err != nil {
		return 0, errs.E(errs.Forbidden, "upload link is invalid or has expired")
	}
	return n, nil
}
