package providers

import (
	"bytes"
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"strings"
	"time"

	"github.com/ProtonMail/go-crypto/openpgp"
	"github.com/ProtonMail/go-crypto/openpgp/armor"
	"github.com/jackc/pgx/v5"

	"github.com/cairn-registry/cairn/audit"
	"github.com/cairn-registry/cairn/errs"
	"github.com/cairn-registry/cairn/policies"
	"github.com/cairn-registry/cairn/queries"
)

// Key is a GPG public key of a namespace. KeyID is computed from the key:
// the primary key's 64-bit id in 16 upper-case hex digits.
type Key struct {
	ID          int64
	NamespaceID int64
	Namespace   string
	KeyID       string
	ASCIIArmor  string
	CreatedAt   time.Time
	UpdatedAt   time.Time

	armorJSON []byte // ASCIIArmor as a JSON string, once encoded
}

// ArmorJSON is ASCIIArmor encoded as a JSON string (as encoding/json
// writes it); encoded once for keys served from the lookup cache. The
// caller must not modify it.
func (k Key) ArmorJSON() []byte {
	if k.armorJSON != nil {
		return k.armorJSON
	}
	b, _ := json.Marshal(k.ASCIIArmor)
	return b
}

// ParseKey reads one armoured public key and returns its key id.
func ParseKey(asciiArmor string) (openpgp.EntityList, string, error) {
	if strings.TrimSpace(asciiArmor) == "" {
		return nil, "", errs.Field(errs.Invalid, "ascii-armor", "ascii-armor is empty")
	}
	block, err := armor.Decode(strings.NewReader(asciiArmor))
	if err != nil {
		return nil, "", errs.Field(errs.Invalid, "ascii-armor", "ascii-armor is not an ASCII-armoured OpenPGP key: %v", err)
	}
	if block.Type != openpgp.PublicKeyType {
		return nil, "", errs.Field(errs.Invalid, "ascii-armor", "ascii-armor must be a PGP PUBLIC KEY BLOCK, not %q", block.Type)
	}
	list, err := openpgp.ReadArmoredKeyRing(strings.NewReader(asciiArmor))
	if err != nil {
		return nil, "", errs.Field(errs.Invalid, "ascii-armor", "ascii-armor is not a readable OpenPGP public key: %v", err)
	}
	if len(list) != 1 {
		return nil, "", errs.Field(errs.Invalid, "ascii-armor", "ascii-armor must hold exactly one key, not %d", len(list))
	}
	return list, fmt.Sprintf("%016X", list[0].PrimaryKey.KeyId), nil
}

func keyOf(id, nsID int64, ns, keyID, armor string, created, updated time.Time) Key {
	return Key{ID: id, NamespaceID: nsID, Namespace: ns, KeyID: keyID, ASCIIArmor: armor, CreatedAt: created, UpdatedAt: updated}
}

// AddKey adds an armoured public key to namespace (developers and above of
// the namespace group).
func (s *Service) AddKey(ctx context.Context, p *policies.Principal, namespace, asciiArmor string) (Key, error) {
	g, err := s.namespace(ctx, p, namespace)
	if err != nil {
		return Key{}, err
	}
	if err := s.authz.Check(p, policies.CreatePackage, g.Resource()); err != nil {
		return Key{}, err
	}
	_, keyID, err := ParseKey(asciiArmor)
	if err != nil {
		return Key{}, err
	}
	var out queries.GpgKey
	err = pgx.BeginFunc(ctx, s.db, func(tx pgx.Tx) error {
		q := queries.New(tx)
		out, err = q.CreateGPGKey(ctx, queries.CreateGPGKeyParams{NamespaceID: g.ID, KeyID: keyID, AsciiArmor: asciiArmor})
		if err != nil {
			return errs.OnUnique(err, "key-id", "key %s already exists in namespace %s", keyID, g.FullPath)
		}
		return audit.Record(ctx, tx, p, "create", "gpg_key", out.ID, nil, map[string]string{"namespace": g.FullPath, "key_id": keyID})
	})
	s.forget()
	if err != nil {
		return Key{}, err
	}
	return keyOf(out.ID, out.NamespaceID, g.FullPath, out.KeyID, out.AsciiArmor, out.CreatedAt, out.UpdatedAt), nil
}

// Key returns a key of namespace (readers of the namespace group).
func (s *Service) Key(ctx context.Context, p *policies.Principal, namespace, keyID string) (Key, error) {
	g, err := s.namespace(ctx, p, namespace)
	if err != nil {
		return Key{}, err
	}
	return s.keyIn(ctx, g.ID, keyID)
}

func (s *Service) keyIn(ctx context.Context, namespaceID int64, keyID string) (Key, error) {
	ck, now := keyKey(namespaceID, keyID), time.Now()
	if k, ok := s.keys.Get(ck, now); ok {
		if k.ID == 0 {
			return Key{}, errs.ErrNotFound
		}
		return k, nil
	}
	gen := s.keys.Generation()
	r, err := queries.New(s.db).GetGPGKey(ctx, queries.GetGPGKeyParams{NamespaceID: namespaceID, KeyID: strings.ToUpper(keyID)})
	if errors.Is(err, pgx.ErrNoRows) {
		s.keys.Put(gen, ck, Key{}, now, time.Time{})
		return Key{}, errs.ErrNotFound
	} else if err != nil {
		return Key{}, err
	}
	k := keyOf(r.ID, r.NamespaceID, r.NamespacePath, r.KeyID, r.AsciiArmor, r.CreatedAt, r.UpdatedAt)
	k.armorJSON = k.ArmorJSON()
	s.keys.Put(gen, ck, k, now, time.Time{})
	return k, nil
}

// Keys lists the keys of the namespaces p may see among those named.
func (s *Service) Keys(ctx context.Context, p *policies.Principal, namespaces []string) ([]Key, error) {
	ids := []int64{}
	for _, ns := range namespaces {
		g, err := s.namespace(ctx, p, ns)
		if err != nil {
			continue
		}
		ids = append(ids, g.ID)
	}
	rows, err := queries.New(s.db).ListGPGKeys(ctx, ids)
	if err != nil {
		return nil, err
	}
	out := make([]Key, len(rows))
	for i, r := range rows {
		out[i] = keyOf(r.ID, r.NamespaceID, r.NamespacePath, r.KeyID, r.AsciiArmor, r.CreatedAt, r.UpdatedAt)
	}
	return out, nil
}

// DeleteKey removes a key (maintainers and above of the namespace group).
// Versions it signed keep verifying for installers only while it exists,
// so deleting a key hides nothing already published: installers get the
// key from the version's own record.
func (s *Service) DeleteKey(ctx context.Context, p *policies.Principal, namespace, keyID string) error {
	g, err := s.namespace(ctx, p, namespace)
	if err != nil {
		return err
	}
	k, err := s.keyIn(ctx, g.ID, keyID)
	if err != nil {
		return err
	}
	if err := s.authz.Check(p, policies.DestroyPackage, g.Resource()); err != nil {
		return err
	}
	defer s.forget()
	return pgx.BeginFunc(ctx, s.db, func(tx pgx.Tx) error {
		if err := queries.New(tx).DeleteGPGKey(ctx, k.ID); err != nil {
			return err
		}
		return audit.Record(ctx, tx, p, "delete", "gpg_key", k.ID, map[string]string{"namespace": g.FullPath, "key_id": k.KeyID}, nil)
	})
}

// SigningKey is the key installers check a version against (the
// version's key-id in the provider's namespace); false when it was deleted.
func (s *Service) SigningKey(ctx context.Context, pr *Provider, v Version) (Key, bool, error) {
	k, err := s.keyIn(ctx, pr.NamespaceID, v.KeyID)
	if errs.Is(err, errs.NotFound) {
		return Key{}, false, nil
	}
	return k, err == nil, err
}

// verifySignature checks sig (binary or armoured detached signature) over
// shasums with key.
func verifySignature(key Key, shasums, sig []byte) error {
	ring, _, err := ParseKey(key.ASCIIArmor)
	if err != nil {
		return err
	}
	_, err = openpgp.CheckDetachedSignature(ring, bytes.NewReader(shasums), bytes.NewReader(sig), nil)
	if err != nil && bytes.HasPrefix(bytes.TrimSpace(sig), []byte("-----BEGIN")) {
		_, err = openpgp.CheckArmoredDetachedSignature(ring, bytes.NewReader(shasums), bytes.NewReader(sig), nil)
	}
	if err != nil {
		return errs.Field(errs.Invalid, "shasums-sig", "SHA256SUMS.sig does not verify over SHA256SUMS with key %s: %v", key.KeyID, err)
	}
	return nil
}
