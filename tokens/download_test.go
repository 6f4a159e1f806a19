package tokens

import (
	"context"
	"encoding/base64"
	"encoding/binary"
	"fmt"
	"slices"
	"strings"
	"testing"
	"time"
)

func TestDownloadSigner(t *testing.T) {
	now := time.Unix(1_800_000_000, 0)
	s := NewDownloadSigner([]byte("0123456789abcdef0123456789abcdef"))
	s.now = func() time.Time { return now }
	tok := s.Sign("modules/a.tar.gz", "alice", time.Minute)
	if who, err := s.Verify("modules/a.tar.gz", tok); err != nil || who != "alice" {
		t.Fatalf("Verify = %q, %v", who, err)
	}
	if _, err := s.Verify("modules/b.tar.gz", tok); err != ErrBadDownloadToken {
		t.Errorf("token accepted for another blob: %v", err)
	}
	parts := strings.Split(tok, ".")
	forged := s.Sign("modules/a.tar.gz", "mallory", time.Hour)
	fparts := strings.Split(forged, ".")
	for _, tampered := range []string{
		parts[0] + "." + fparts[1] + "." + parts[2] + "." + parts[3], // longer expiry, old signature
		parts[0] + "." + parts[1] + "." + fparts[2] + "." + parts[3], // other principal, old signature
		parts[0] + "." + parts[1] + "." + parts[2] + "." + strings.ToUpper(parts[3]),
		parts[1] + "." + parts[2] + "." + parts[3],         // key id dropped
		"1." + parts[1] + "." + parts[2] + "." + parts[3],  // unknown key id
		"00." + parts[1] + "." + parts[2] + "." + parts[3], // non-canonical key id
	} {
		if _, err := s.Verify("modules/a.tar.gz", tampered); err != ErrBadDownloadToken {
			t.Errorf("tampered token %q accepted: %v", tampered, err)
		}
	}
	other := NewDownloadSigner([]byte("another key of thirty-two bytes!"))
	other.now = s.now
	if _, err := other.Verify("modules/a.tar.gz", tok); err != ErrBadDownloadToken {
		t.Errorf("token accepted under another key: %v", err)
	}
	now = now.Add(2 * time.Minute)
	if _, err := s.Verify("modules/a.tar.gz", tok); err != ErrBadDownloadToken {
		t.Errorf("expired token accepted: %v", err)
	}
	for _, junk := range []string{"", ".", "a.b", "a.b.c.d", tok + "x"} {
		if _, err := s.Verify("modules/a.tar.gz", junk); err != ErrBadDownloadToken {
			t.Errorf("junk %q accepted: %v", junk, err)
		}
	}
}

// keyring is an in-memory key table, standing in for download_signing_keys.
type keyring struct {
	keys  []SigningKey
	loads int
}

func (k *keyring) load(context.Context) ([]SigningKey, error) {
	k.loads++
	return slices.Clone(k.keys), nil
}

func (k *keyring) add(id int64, at time.Time) {
	k.keys = append(k.keys, SigningKey{ID: id, Secret: []byte(fmt.Sprintf("secret-%032d", id)), Created: at})
}

// legacyToken is a token in the format used before rotation: no key id,
// signed with the original key (id 0).
func legacyToken(t *testing.T, key []byte, blobKey, principal string, exp time.Time) string {
	t.Helper()
	var e [8]byte
	binary.BigEndian.PutUint64(e[:], uint64(exp.Unix()))
	payload := base64.RawURLEncoding.EncodeToString(e[:]) + "." + base64.RawURLEncoding.EncodeToString([]byte(principal))
	return payload + "." + mac(key, blobKey, payload)
}

func TestDownloadSignerRotation(t *testing.T) {
	ctx := context.Background()
	now := time.Unix(1_800_000_000, 0)
	ring := &keyring{}
	ring.add(0, now.Add(-time.Hour)) // the pre-rotation key
	s, err := NewKeyedDownloadSigner(ctx, ring.load)
	if err != nil {
		t.Fatal(err)
	}
	s.now = func() time.Time { return now }
	const blob = "modules/a.tar.gz"

	legacy := legacyToken(t, ring.keys[0].Secret, blob, "alice", now.Add(DownloadTTL))
	if who, err := s.Verify(blob, legacy); err != nil || who != "alice" {
		t.Fatalf("pre-rotation token without key id: Verify = %q, %v", who, err)
	}
	old := s.Sign(blob, "alice", DownloadTTL)
	if id, ok := TokenKeyID(old); !ok || id != 0 {
		t.Fatalf("token %q names key %d, %v; want 0", old, id, ok)
	}
	long := s.Sign(blob, "alice", time.Hour) // outlives its key's overlap

	// Another replica rotates: key 1 is created now.
	ring.add(1, now)
	if err := s.Reload(ctx); err != nil {
		t.Fatal(err)
	}
	if s.KeyID() != 1 {
		t.Fatalf("signing key after rotation = %d, want 1", s.KeyID())
	}
	fresh := s.Sign(blob, "bob", DownloadTTL)
	if id, _ := TokenKeyID(fresh); id != 1 {
		t.Fatalf("new token %q names key %d, want 1", fresh, id)
	}
	now = now.Add(DownloadTTL - time.Second)
	for name, tok := range map[string]string{"legacy": legacy, "old": old, "new": fresh} {
		if _, err := s.Verify(blob, tok); err != nil {
			t.Errorf("%s token refused after rotation: %v", name, err)
		}
	}
	// A token signed with the new key verifies on a signer that only knows
	// the old one (a replica that missed the rotation): it reloads once.
	ring2 := &keyring{keys: slices.Clone(ring.keys[:1])}
	lagging, err := NewKeyedDownloadSigner(ctx, ring2.load)
	if err != nil {
		t.Fatal(err)
	}
	lagging.now = s.now
	ring2.keys = slices.Clone(ring.keys)
	if _, err := lagging.Verify(blob, fresh); err != nil {
		t.Fatalf("token with a key id unknown to the replica refused: %v", err)
	}
	if lagging.KeyID() != 1 {
		t.Fatalf("lagging replica signs with key %d after reload, want 1", lagging.KeyID())
	}

	// Past the overlap the old key is retired: even a token that has not
	// expired is refused.
	now = now.Add(SigningKeyOverlap)
	if _, err := s.Verify(blob, long); err != ErrBadDownloadToken {
		t.Fatalf("token of a retired key accepted: %v", err)
	}
	// Retired keys deleted from the table are refused too (after one reload).
	ring.keys = ring.keys[1:]
	if err := s.Reload(ctx); err != nil {
		t.Fatal(err)
	}
	loads := ring.loads
	if _, err := s.Verify(blob, long); err != ErrBadDownloadToken {
		t.Fatalf("token of a deleted key accepted: %v", err)
	}
	if _, err := s.Verify(blob, long); err != ErrBadDownloadToken {
		t.Fatalf("token of a deleted key accepted: %v", err)
	}
	if ring.loads-loads > 1 {
		t.Errorf("unknown key ids reloaded %d times in a row; want at most once per interval", ring.loads-loads)
	}
	if _, err := s.Verify(blob, s.Sign(blob, "carol", DownloadTTL)); err != nil {
		t.Fatalf("current key refused: %v", err)
	}
	// A key id is bound by the MAC: relabelling a token is refused.
	parts := strings.SplitN(fresh, ".", 2)
	if _, err := s.Verify(blob, "0."+parts[1]); err != ErrBadDownloadToken {
		t.Fatalf("relabelled token accepted: %v", err)
	}
}

// AppendSign appends exactly Sign's token, with the reused HMAC, and a
// rotated key is picked up at once.
func TestAppendSignMatchesSign(t *testing.T) {
	now := time.Unix(1_800_000_000, 0)
	keys := []SigningKey{{ID: 1, Secret: []byte("first-key-0123456789abcdef012345")}}
	s, err := NewKeyedDownloadSigner(context.Background(), func(context.Context) ([]SigningKey, error) { return slices.Clone(keys), nil })
	if err != nil {
		t.Fatal(err)
	}
	s.now = func() time.Time { return now }
	for round := range 2 {
		for i := range 3 {
			blob := fmt.Sprintf("providers/%d", i)
			tok := s.Sign(blob, "alice", time.Minute)
			want := tok[:strings.LastIndexByte(tok, '.')+1] + mac(keys[len(keys)-1].Secret, blob, tok[:strings.LastIndexByte(tok, '.')])
			got := s.AppendSign([]byte("prefix?token="), blob, "alice", time.Minute)
			if string(got) != "prefix?token="+want || tok != want {
				t.Fatalf("round %d: AppendSign = %q, Sign = %q, want %q", round, got, tok, want)
			}
			if id, _ := TokenKeyID(tok); id != keys[len(keys)-1].ID {
				t.Fatalf("round %d: signed with key %d", round, id)
			}
			if who, err := s.Verify(blob, tok); err != nil || who != "alice" {
				t.Fatalf("Verify = %q, %v", who, err)
			}
		}
		keys = append(keys, SigningKey{ID: 2, Secret: []byte("second-key-0123456789abcdef01234"), Created: now})
		if err := s.Reload(context.Background()); err != nil {
			t.Fatal(err)
		}
	}
}
