package tokens

import (
	"bytes"
	"context"
	"crypto/hmac"
	"crypto/rand"
	"crypto/sha256"
	"encoding/base64"
	"encoding/binary"
	"errors"
	"fmt"
	"hash"
	"log/slog"
	"slices"
	"strconv"
	"strings"
	"sync"
	"time"

	"github.com/jackc/pgx/v5"
	"github.com/jackc/pgx/v5/pgxpool"

	"github.com/cairn-registry/cairn/internal/pgnotify"
	"github.com/cairn-registry/cairn/queries"
)

// DownloadTTL is how long a signed archive URL stays valid: long enough for
// terraform to fetch right after resolving, short enough to be useless when
// it leaks into a log.
const DownloadTTL = 5 * time.Minute

// SigningKeyOverlap is how long a signing key keeps verifying after its
// successor was created: the token lifetime, plus a margin for replicas that
// pick the rotation up late (reload interval) and for clock skew between
// the database and the replicas. After that the key is retired.
const SigningKeyOverlap = DownloadTTL + 5*time.Minute

// legacyKeyID is the key that signed tokens before keys had ids: a token
// without a key id is checked against it (the migration that introduced
// rotation stored the original key under this id).
const legacyKeyID = 0

// keyReloadInterval bounds how stale a replica's key set may get if a
// notification is missed, and how often an unknown key id may trigger a
// reload (so forged ids cannot hammer the database).
const (
	keyReloadInterval = time.Minute
	unknownKeyReload  = time.Second
)

// signingKeysChannel is notified (by a trigger) whenever keys are added or
// retired.
const signingKeysChannel = "cairn_signing_keys"

// ErrBadDownloadToken: the signed URL was tampered with, is for another
// archive, or has expired.
var ErrBadDownloadToken = errors.New("download link is invalid or has expired")

// SigningKey is one download-URL signing key. Keys are ordered by ID; the
// newest signs, older ones only verify until retired.
type SigningKey struct {
	ID      int64
	Secret  []byte
	Created time.Time
}

// KeyLoader returns the current signing keys (download_signing_keys).
type KeyLoader func(ctx context.Context) ([]SigningKey, error)

// DownloadSigner signs and checks the opaque tokens in archive URLs. The one
// place download-URL signing is decided. A token binds one module version
// blob, the principal it was issued to (for audit) and an expiry, and names
// the key that signed it; it carries no reusable credential.
//
// Keys rotate (cairn admin rotate-signing-key): the newest key signs, older
// ones keep verifying for SigningKeyOverlap after their successor appeared.
// Every replica reloads its keys on notification, on a timer, and once when
// a token names a key it does not know.
type DownloadSigner struct {
	load KeyLoader // nil: a fixed key set
	now  func() time.Time

	mu         sync.RWMutex
	keys       []SigningKey // ascending ID
	lastReload time.Time
	reloadMu   sync.Mutex // one reload at a time

	macs macPool // HMACs of the signing key, reused
}

// NewDownloadSigner signs and verifies with one fixed key (id 0, the key
// tokens without a key id name).
func NewDownloadSigner(key []byte) *DownloadSigner {
	return &DownloadSigner{keys: []SigningKey{{ID: legacyKeyID, Secret: key}}, now: time.Now}
}

// NewKeyedDownloadSigner loads its keys with load, now and whenever Reload
// (or Follow, or an unknown key id) asks for them again.
func NewKeyedDownloadSigner(ctx context.Context, load KeyLoader) (*DownloadSigner, error) {
	s := &DownloadSigner{load: load, now: time.Now}
	if err := s.Reload(ctx); err != nil {
		return nil, err
	}
	return s, nil
}

// Reload replaces the key set with the loader's.
func (s *DownloadSigner) Reload(ctx context.Context) error {
	if s.load == nil {
		return nil
	}
	s.reloadMu.Lock()
	defer s.reloadMu.Unlock()
	return s.reloadLocked(ctx)
}

func (s *DownloadSigner) reloadLocked(ctx context.Context) error {
	// Bounded: reloadMu is held meanwhile, and a request that meets an
	// unknown key id waits for it.
	ctx, cancel := context.WithTimeout(ctx, 10*time.Second)
	defer cancel()
	keys, err := s.load(ctx)
	if err != nil {
		return fmt.Errorf("load download signing keys: %w", err)
	}
	if len(keys) == 0 {
		return errors.New("load download signing keys: there is none")
	}
	keys = slices.Clone(keys)
	slices.SortFunc(keys, func(a, b SigningKey) int { return cmpInt(a.ID, b.ID) })
	s.mu.Lock()
	s.keys = keys
	s.lastReload = s.now()
	s.mu.Unlock()
	return nil
}

func cmpInt(a, b int64) int {
	switch {
	case a < b:
		return -1
	case a > b:
		return 1
	}
	return 0
}

// KeyID is the id of the key new tokens are signed with.
func (s *DownloadSigner) KeyID() int64 {
	s.mu.RLock()
	defer s.mu.RUnlock()
	return s.keys[len(s.keys)-1].ID
}

// TokenKeyID returns the key id a token names (false for a token without
// one, signed before keys rotated, or a malformed one).
func TokenKeyID(token string) (int64, bool) {
	if strings.Count(token, ".") != 3 {
		return 0, false
	}
	kid, _, _ := strings.Cut(token, ".")
	id, err := strconv.ParseInt(kid, 10, 64)
	if err != nil || id < 0 || strconv.FormatInt(id, 10) != kid {
		return 0, false
	}
	return id, true
}

// Sign returns a token for blobKey issued to principal, valid for ttl,
// signed with the newest key: <key id>.<expiry>.<principal>.<mac>.
func (s *DownloadSigner) Sign(blobKey, principal string, ttl time.Duration) string {
	return string(s.AppendSign(make([]byte, 0, 128), blobKey, principal, ttl))
}

// AppendSign appends the token Sign would return to dst.
func (s *DownloadSigner) AppendSign(dst []byte, blobKey, principal string, ttl time.Duration) []byte {
	s.mu.RLock()
	key := s.keys[len(s.keys)-1]
	s.mu.RUnlock()
	var exp [8]byte
	binary.BigEndian.PutUint64(exp[:], uint64(s.now().Add(ttl).Unix()))
	start := len(dst)
	dst = strconv.AppendInt(dst, key.ID, 10)
	dst = append(dst, '.')
	dst = base64.RawURLEncoding.AppendEncode(dst, exp[:])
	dst = append(dst, '.')
	dst = base64.RawURLEncoding.AppendEncode(dst, []byte(principal))
	m := s.macs.get(key.Secret)
	macWrite(m, blobKey, dst[start:])
	var sum [sha256.Size]byte
	dst = append(dst, '.')
	dst = base64.RawURLEncoding.AppendEncode(dst, m.Sum(sum[:0]))
	s.macs.put(m)
	return dst
}

// Verify checks a token for blobKey and returns the principal it names.
func (s *DownloadSigner) Verify(blobKey, token string) (string, error) {
	i := strings.LastIndexByte(token, '.')
	if i < 0 {
		return "", ErrBadDownloadToken
	}
	payload, sig := token[:i], token[i+1:]
	var id int64
	switch strings.Count(payload, ".") {
	case 1: // signed before keys had ids
		id = legacyKeyID
	case 2:
		var ok bool
		if id, ok = TokenKeyID(token); !ok {
			return "", ErrBadDownloadToken
		}
		payload = payload[strings.IndexByte(payload, '.')+1:]
	default:
		return "", ErrBadDownloadToken
	}
	key, ok := s.verifyingKey(id)
	if !ok {
		return "", ErrBadDownloadToken
	}
	if !hmac.Equal([]byte(sig), []byte(mac(key, blobKey, token[:i]))) {
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

// verifyingKey returns key id's secret if it may still verify: it is known
// (after one reload if it was not) and not retired, i.e. it is the newest
// key or its successor appeared less than SigningKeyOverlap ago.
func (s *DownloadSigner) verifyingKey(id int64) ([]byte, bool) {
	key, known, retired := s.lookup(id)
	if !known && s.load != nil {
		// Another replica may have rotated and this one not heard yet:
		// reload once, at most every unknownKeyReload.
		s.reloadMu.Lock()
		s.mu.RLock()
		since := s.now().Sub(s.lastReload)
		stale := since >= unknownKeyReload || since < 0
		s.mu.RUnlock()
		if stale {
			ctx, cancel := context.WithTimeout(context.Background(), 5*time.Second)
			s.reloadLocked(ctx) // on failure the key stays unknown
			cancel()
		}
		s.reloadMu.Unlock()
		key, known, retired = s.lookup(id)
	}
	if !known || retired {
		return nil, false
	}
	return key, true
}

func (s *DownloadSigner) lookup(id int64) (secret []byte, known, retired bool) {
	s.mu.RLock()
	defer s.mu.RUnlock()
	i, ok := slices.BinarySearchFunc(s.keys, id, func(k SigningKey, id int64) int { return cmpInt(k.ID, id) })
	if !ok {
		return nil, false, false
	}
	if i+1 < len(s.keys) && !s.keys[i+1].Created.IsZero() && !s.now().Before(s.keys[i+1].Created.Add(SigningKeyOverlap)) {
		return nil, true, true
	}
	return s.keys[i].Secret, true, false
}

func mac(key []byte, blobKey, payload string) string {
	m := hmac.New(sha256.New, key)
	macWrite(m, blobKey, []byte(payload))
	return base64.RawURLEncoding.EncodeToString(m.Sum(nil))
}

func macWrite(m hash.Hash, blobKey string, payload []byte) {
	m.Write([]byte("cairn-download-v1\x00"))
	m.Write([]byte(blobKey))
	m.Write([]byte{0})
	m.Write(payload)
}

// macPool keeps keyed HMACs for reuse: hmac.New costs a key schedule (two
// hash blocks) and several allocations, Reset on a used one restores the
// saved pads.
type macPool struct{ p sync.Pool }

type pooledMAC struct {
	hash.Hash
	secret []byte // a copy of the key it was made with
}

func (mp *macPool) get(secret []byte) *pooledMAC {
	if m, ok := mp.p.Get().(*pooledMAC); ok && bytes.Equal(m.secret, secret) {
		m.Reset()
		return m
	}
	// One keyed with an older key is dropped.
	return &pooledMAC{Hash: hmac.New(sha256.New, secret), secret: slices.Clone(secret)}
}

func (mp *macPool) put(m *pooledMAC) { mp.p.Put(m) }

// OpenDownloadSigner is the signer every replica uses: its keys live in the
// database (download_signing_keys), shared by all replicas; a first key is
// created if there is none. Run Follow to pick up rotations.
func OpenDownloadSigner(ctx context.Context, pool *pgxpool.Pool) (*DownloadSigner, error) {
	if err := queries.New(pool).EnsureSigningKey(ctx, newSigningSecret()); err != nil {
		return nil, fmt.Errorf("download signing key: %w", err)
	}
	return NewKeyedDownloadSigner(ctx, func(ctx context.Context) ([]SigningKey, error) {
		rows, err := queries.New(pool).SigningKeys(ctx)
		if err != nil {
			return nil, err
		}
		keys := make([]SigningKey, len(rows))
		for i, r := range rows {
			keys[i] = SigningKey{ID: r.ID, Secret: r.Value, Created: r.CreatedAt}
		}
		return keys, nil
	})
}

// Follow keeps the keys current until ctx ends: reloaded when a rotation is
// announced (cairn_signing_keys), on reconnect, and every keyReloadInterval
// in case a notification was missed.
func (s *DownloadSigner) Follow(ctx context.Context, pool *pgxpool.Pool, log *slog.Logger) {
	reload := func(ctx context.Context) {
		if err := s.Reload(ctx); err != nil && ctx.Err() == nil {
			log.Warn("reloading download signing keys failed", "error", err)
		}
	}
	go func() {
		t := time.NewTicker(keyReloadInterval)
		defer t.Stop()
		for {
			select {
			case <-ctx.Done():
				return
			case <-t.C:
				reload(ctx)
			}
		}
	}()
	pgnotify.Follow(ctx, pool, log, []string{signingKeysChannel}, pgnotify.Handler{
		Connected: func(ctx context.Context) error { return s.Reload(ctx) },
		Notify:    func(string, string) { reload(ctx) },
	})
}

// RotateSigningKey adds a new download signing key, which every replica
// signs with as soon as it hears of it, and retires (deletes) the keys
// whose successor was created more than SigningKeyOverlap ago: no token
// they signed can still be valid. It returns the new key's id and how many
// keys were retired.
func RotateSigningKey(ctx context.Context, pool *pgxpool.Pool) (id int64, retired int64, err error) {
	err = pgx.BeginFunc(ctx, pool, func(tx pgx.Tx) error {
		q := queries.New(tx)
		if id, err = q.InsertSigningKey(ctx, newSigningSecret()); err != nil {
			return err
		}
		retired, err = q.RetireSigningKeys(ctx, SigningKeyOverlap.Seconds())
		return err
	})
	if err != nil {
		return 0, 0, fmt.Errorf("rotate download signing key: %w", err)
	}
	return id, retired, nil
}

func newSigningSecret() []byte {
	b := make([]byte, 32)
	if _, err := rand.Read(b); err != nil {
		panic(err) // crypto/rand never fails on supported platforms
	}
	return b
}
