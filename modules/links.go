package modules

import (
	"context"
	"fmt"
	"net/url"

	"github.com/cairn-registry/cairn/errs"
	"github.com/cairn-registry/cairn/policies"
	"github.com/cairn-registry/cairn/tokens"
)

// ArchivePath is where archives are served: GitLab's module file route,
// <ArchivePath>/<ns>/<name>/<system>/<version>/file?token=...
const ArchivePath = "/api/v4/packages/terraform/modules/v1"

// Links is the one place archive URLs are made and checked: terraform
// fetches the X-Terraform-Get URL without credentials, so the URL carries a
// short-lived HMAC token bound to the archive's blob and naming the
// principal it was issued to.
type Links struct {
	signer    *tokens.DownloadSigner
	publicURL string
}

// NewLinks signs with signer; URLs are absolute under publicURL.
func NewLinks(signer *tokens.DownloadSigner, publicURL string) *Links {
	return &Links{signer: signer, publicURL: publicURL}
}

// ArchiveURL is the signed, short-lived URL of v's archive for p, with
// go-getter's archive hint (the path has no extension).
func (s *Service) ArchiveURL(p *policies.Principal, mod *Module, v Version) string {
	hint := "tgz"
	if v.ArchiveFormat == "zip" {
		hint = "zip"
	}
	tok := s.links.signer.Sign(v.BlobKey, p.Name(), tokens.DownloadTTL)
	return fmt.Sprintf("%s%s/%s/%s/%s/%s/file?token=%s&archive=%s", s.links.publicURL, ArchivePath,
		url.PathEscape(mod.Namespace), url.PathEscape(mod.Name), url.PathEscape(mod.System), url.PathEscape(v.Version),
		url.QueryEscape(tok), hint)
}

// ArchiveByToken finds the version an archive URL names, for the archive
// endpoint: unknown modules and bad, expired or misplaced tokens are
// indistinguishable (errs.ErrForbidden).
func (s *Service) ArchiveByToken(ctx context.Context, namespace, name, system, ver, token string) (Version, *Module, error) {
	mods, err := s.lookup(ctx, namespace, name, system)
	if err != nil {
		return Version{}, nil, err
	}
	for _, m := range mods {
		if v, ok := m.Version(ver); ok {
			if _, err := s.links.signer.Verify(v.BlobKey, token); err == nil {
				return v, m, nil
			}
		}
	}
	return Version{}, nil, errs.Wrap(errs.Forbidden, tokens.ErrBadDownloadToken, "%s", tokens.ErrBadDownloadToken.Error())
}

// ArchiveName is the file name an archive is served under.
func ArchiveName(mod *Module, v Version) string {
	ext := ".tar.gz"
	if v.ArchiveFormat == "zip" {
		ext = ".zip"
	}
	return fmt.Sprintf("%s-%s-%s%s", mod.Name, mod.System, v.Version, ext)
}
