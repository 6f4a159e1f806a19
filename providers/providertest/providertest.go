// Package providertest builds provider releases for tests: a GPG key,
// goreleaser-style zips, SHA256SUMS, its detached signature and the
// manifest, as `goreleaser release` and `gpg --detach-sign` make them.
package providertest

import (
	"archive/zip"
	"bytes"
	"crypto/sha256"
	"encoding/hex"
	"fmt"
	"os"
	"path/filepath"
	"sort"
	"testing"

	"github.com/ProtonMail/go-crypto/openpgp"
	"github.com/ProtonMail/go-crypto/openpgp/armor"
	"github.com/ProtonMail/go-crypto/openpgp/packet"
)

// Key is a test signing key.
type Key struct {
	Entity *openpgp.Entity
	// Armor is the ASCII-armoured public key; ID its 16 upper-case hex id.
	Armor string
	ID    string
}

// NewKey generates an RSA signing key.
func NewKey(t testing.TB, name string) *Key {
	t.Helper()
	e, err := openpgp.NewEntity(name, "test", name+"@example.com", &packet.Config{Algorithm: packet.PubKeyAlgoRSA, RSABits: 2048})
	if err != nil {
		t.Fatal(err)
	}
	var buf bytes.Buffer
	w, err := armor.Encode(&buf, openpgp.PublicKeyType, nil)
	if err != nil {
		t.Fatal(err)
	}
	if err := e.Serialize(w); err != nil {
		t.Fatal(err)
	}
	w.Close()
	return &Key{Entity: e, Armor: buf.String(), ID: fmt.Sprintf("%016X", e.PrimaryKey.KeyId)}
}

// Sign returns the binary detached signature of data.
func (k *Key) Sign(t testing.TB, data []byte) []byte {
	t.Helper()
	var sig bytes.Buffer
	if err := openpgp.DetachSign(&sig, k.Entity, bytes.NewReader(data), nil); err != nil {
		t.Fatal(err)
	}
	return sig.Bytes()
}

// Platform is one built zip.
type Platform struct {
	OS, Arch, Filename string
	Zip                []byte
	Sha256             string
}

// Release is a built release.
type Release struct {
	Type, Version string
	Platforms     []Platform
	Shasums       []byte
	Signature     []byte
	Manifest      []byte
}

// Build makes a release of terraform-provider-<typ> <version> for each
// "os_arch", the zip holding an executable terraform-provider-<typ>_v<version>
// (padding bytes of filler make it larger).
func Build(t testing.TB, key *Key, typ, version string, padding int, platforms ...string) *Release {
	t.Helper()
	r := &Release{Type: typ, Version: version}
	sums := map[string]string{}
	for _, pl := range platforms {
		var osName, arch string
		for i := range pl {
			if pl[i] == '_' {
				osName, arch = pl[:i], pl[i+1:]
				break
			}
		}
		var buf bytes.Buffer
		zw := zip.NewWriter(&buf)
		hdr := &zip.FileHeader{Name: "terraform-provider-" + typ + "_v" + version, Method: zip.Deflate}
		hdr.SetMode(0o755)
		f, err := zw.CreateHeader(hdr)
		if err != nil {
			t.Fatal(err)
		}
		fmt.Fprintf(f, "#!/bin/sh\necho terraform-provider-%s %s %s\n", typ, version, pl)
		if padding > 0 {
			// Incompressible filler, deterministic per platform.
			h := sha256.Sum256([]byte(pl))
			for n := 0; n < padding; n += len(h) {
				h = sha256.Sum256(h[:])
				f.Write(h[:])
			}
		}
		if err := zw.Close(); err != nil {
			t.Fatal(err)
		}
		sum := sha256.Sum256(buf.Bytes())
		name := fmt.Sprintf("terraform-provider-%s_%s_%s_%s.zip", typ, version, osName, arch)
		r.Platforms = append(r.Platforms, Platform{OS: osName, Arch: arch, Filename: name, Zip: buf.Bytes(), Sha256: hex.EncodeToString(sum[:])})
		sums[name] = hex.EncodeToString(sum[:])
	}
	names := make([]string, 0, len(sums))
	for n := range sums {
		names = append(names, n)
	}
	sort.Strings(names)
	var s bytes.Buffer
	for _, n := range names {
		fmt.Fprintf(&s, "%s  %s\n", sums[n], n)
	}
	r.Shasums = s.Bytes()
	r.Signature = key.Sign(t, r.Shasums)
	r.Manifest = []byte(`{"version":1,"metadata":{"protocol_versions":["5.0"]}}`)
	return r
}

// Prefix is the release files' common prefix.
func (r *Release) Prefix() string { return fmt.Sprintf("terraform-provider-%s_%s", r.Type, r.Version) }

// WriteDir writes the release as goreleaser leaves it in dist/.
func (r *Release) WriteDir(t testing.TB, dir string) {
	t.Helper()
	files := map[string][]byte{
		r.Prefix() + "_SHA256SUMS":     r.Shasums,
		r.Prefix() + "_SHA256SUMS.sig": r.Signature,
		r.Prefix() + "_manifest.json":  r.Manifest,
	}
	for _, p := range r.Platforms {
		files[p.Filename] = p.Zip
	}
	for name, b := range files {
		if err := os.WriteFile(filepath.Join(dir, name), b, 0o644); err != nil {
			t.Fatal(err)
		}
	}
}
