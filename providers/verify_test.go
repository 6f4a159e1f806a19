package providers

import (
	"testing"

	"github.com/cairn-registry/cairn/errs"
	"github.com/cairn-registry/cairn/providers/providertest"
)

// TestPublishChecks covers the publish-time verification: key ids are
// computed from the key, signatures verify over SHA256SUMS with the right
// key only, SHA256SUMS lines are checked, and a platform must be listed.
func TestPublishChecks(t *testing.T) {
	k := providertest.NewKey(t, "acme")
	other := providertest.NewKey(t, "other")
	_, id, err := ParseKey(k.Armor)
	if err != nil || id != k.ID {
		t.Fatalf("ParseKey = %s, %v; want %s", id, err, k.ID)
	}
	if _, _, err := ParseKey("not a key"); errs.FieldOf(err) != "ascii-armor" {
		t.Fatalf("ParseKey of garbage = %v", err)
	}
	rel := providertest.Build(t, k, "dummy", "1.0.0", 0, "linux_amd64")
	key := Key{KeyID: k.ID, ASCIIArmor: k.Armor}
	if err := verifySignature(key, rel.Shasums, rel.Signature); err != nil {
		t.Fatal(err)
	}
	if err := verifySignature(key, rel.Shasums, other.Sign(t, rel.Shasums)); errs.FieldOf(err) != "shasums-sig" {
		t.Fatalf("signature by another key = %v", err)
	}
	if err := verifySignature(key, append(rel.Shasums, 'x'), rel.Signature); err == nil {
		t.Fatal("signature over other content verified")
	}
	sums, err := checkShasums(rel.Shasums)
	if err != nil {
		t.Fatal(err)
	}
	p := rel.Platforms[0]
	if err := listed(sums, p.Filename, p.Sha256); err != nil {
		t.Fatal(err)
	}
	if err := listed(sums, "other.zip", p.Sha256); err == nil {
		t.Fatal("an unlisted file passed")
	}
	if _, err := checkShasums([]byte("nonsense\n")); errs.FieldOf(err) != "shasums" {
		t.Fatalf("bad SHA256SUMS = %v", err)
	}
}
