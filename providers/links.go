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
	tok := s.signer.Sign(blobKey, p.Name(), tokens.DownloadTTL)
	return fmt.Sprintf("%s%s/%s/%s?token=%s", s.publicURL, FilesPath, url.PathEscape(strings.TrimPrefix(blobKey, BlobPrefix)),
		url.PathEscape(filename), url.QueryEscape(tok))
}

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
