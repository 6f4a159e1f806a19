package tokens

import (
	"crypto/hmac"
	"crypto/sha256"
	"encoding/base64"
	"encoding/binary"
	"errors"
	"strings"
	"time"
)

// DownloadTTL is how long a signed archive URL stays valid: long enough for
// terraform to fetch right after resolving, short enough to be useless when
// it leaks into a log.
const DownloadTTL = 5 * time.Minute

// ErrBadDownloadToken: the signed URL was tampered with, is for another
// archive, or has expired.
var ErrBadDownloadToken = errors.New("download link is invalid or has expired")

// DownloadSigner signs and checks the opaque tokens in archive URLs. The one
// place download-URL signing is decided. A token binds one module version
// blob, the principal it was issued to (for audit) and an expiry; it carries
// no reusable credential.
type DownloadSigner struct {
	key []byte
	now func() time.Time
}

// NewDownloadSigner uses key (shared by every replica through the database).
func NewDownloadSigner(key []byte) *DownloadSigner {
	return &DownloadSigner{key: key, now: time.Now}
}

// Sign returns a token for blobKey issued to principal, valid for ttl.
func (s *DownloadSigner) Sign(blobKey, principal string, ttl time.Duration) string {
	var exp [8]byte
	binary.BigEndian.PutUint64(exp[:], uint64(s.now().Add(ttl).Unix()))
	payload := base64.RawURLEncoding.EncodeToString(exp[:]) + "." + base64.RawURLEncoding.EncodeToString([]byte(principal))
	return payload + "." + s.mac(blobKey, payload)
}

// Verify checks a token for blobKey and returns the principal it names.
func (s *DownloadSigner) Verify(blobKey, token string) (string, error) {
	i := strings.LastIndexByte(token, '.')
	if i < 0 {
		return "", ErrBadDownloadToken
	}
	payload, sig := token[:i], token[i+1:]
	if !hmac.Equal([]byte(sig), []byte(s.mac(blobKey, payload))) {
		return "", ErrBadDownloadToken
	}
	expPart, principalPart, ok := strings.Cut(payload, ".")
	if !ok {
		return "", ErrBadDownloadToken
	}
	exp, err := base64.RawURLEncoding.DecodeString(expPart)
	if err != nil || len(exp) != 8 {
		return "", ErrBadDownloadToken
	}
	if s.now().Unix() >= int64(binary.BigEndian.Uint64(exp)) {
		return "", ErrBadDownloadToken
	}
	who, err := base64.RawURLEncoding.DecodeString(principalPart)
	if err != nil {
		return "", ErrBadDownloadToken
	}
	return string(who), nil
}

func (s *DownloadSigner) mac(blobKey, payload string) string {
	m := hmac.New(sha256.New, s.key)
	m.Write([]byte("cairn-download-v1\x00"))
	m.Write([]byte(blobKey))
	m.Write([]byte{0})
	m.Write([]byte(payload))
	return base64.RawURLEncoding.EncodeToString(m.Sum(nil))
}
