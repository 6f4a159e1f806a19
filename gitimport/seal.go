package gitimport

import (
	"crypto/aes"
	"crypto/cipher"
	"crypto/rand"
	"crypto/sha256"
	"errors"
	"fmt"
	"io"

	"golang.org/x/crypto/hkdf"
)

// sealer encrypts secrets at rest with AES-256-GCM under a key derived
// (HKDF-SHA256) from CAIRN_SECRET_KEY. Each sealed value is bound to what it
// is (module id and purpose) as additional data, so a value copied to
// another row or column does not open.
type sealer struct{ aead cipher.AEAD }

// hkdfInfo separates this key from any other derived from the same secret.
const hkdfInfo = "cairn git secrets v1"

func newSealer(secret []byte) (*sealer, error) {
	if len(secret) < 32 {
		return nil, errors.New("the secret key must be at least 32 bytes")
	}
	key := make([]byte, 32)
	if _, err := io.ReadFull(hkdf.New(sha256.New, secret, nil, []byte(hkdfInfo)), key); err != nil {
		return nil, err
	}
	block, err := aes.NewCipher(key)
	if err != nil {
		return nil, err
	}
	aead, err := cipher.NewGCM(block)
	if err != nil {
		return nil, err
	}
	return &sealer{aead: aead}, nil
}

func aad(moduleID int64, purpose string) []byte {
	return fmt.Appendf(nil, "cairn:module:%d:%s", moduleID, purpose)
}

// seal returns nonce || ciphertext.
func (s *sealer) seal(plain []byte, moduleID int64, purpose string) []byte {
	nonce := make([]byte, s.aead.NonceSize(), s.aead.NonceSize()+len(plain)+s.aead.Overhead())
	if _, err := rand.Read(nonce); err != nil {
		panic(err) // crypto/rand never fails on supported platforms
	}
	return s.aead.Seal(nonce, nonce, plain, aad(moduleID, purpose))
}

// errSealed is a sealed value that does not open: another key, or tampering.
var errSealed = errors.New("a stored secret cannot be decrypted (was CAIRN_SECRET_KEY changed?)")

func (s *sealer) open(sealed []byte, moduleID int64, purpose string) ([]byte, error) {
	n := s.aead.NonceSize()
	if len(sealed) < n+s.aead.Overhead() {
		return nil, errSealed
	}
	plain, err := s.aead.Open(nil, sealed[:n], sealed[n:], aad(moduleID, purpose))
	if err != nil {
		return nil, errSealed
	}
	return plain, nil
}
