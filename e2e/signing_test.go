package e2e

import (
	"bytes"
	"io"
	"net/http"
	"net/url"
	"strconv"
	"strings"
	"testing"
	"time"

	"github.com/cairn-registry/cairn/tokens"
)

// Rotating the download signing key while the server runs: links signed
// before keep working until they expire, new links name the new key and
// work, and no restart is needed.
func TestSigningKeyRotation(t *testing.T) {
	t.Parallel()
	r := startRegistry(t)
	var g struct{ ID int64 }
	r.api(r.admin, "POST", "/groups", map[string]any{"path": "acme", "name": "acme"}, &g)
	r.api(r.admin, "POST", "/projects", map[string]any{"path": "vpc", "namespace_id": g.ID}, &struct{}{})
	do := func(method, path, token string, body []byte) (*http.Response, []byte) {
		t.Helper()
		req, _ := http.NewRequest(method, r.proc.URL+path, bytes.NewReader(body))
		if token != "" {
			req.Header.Set("Authorization", "Bearer "+token)
		}
		resp, err := r.proc.Client(t).Do(req)
		if err != nil {
			t.Fatalf("%s %s: %v", method, path, err)
		}
		defer resp.Body.Close()
		b, _ := io.ReadAll(resp.Body)
		return resp, b
	}
	if resp, b := do("PUT", "/api/v4/projects/acme%2Fvpc/packages/terraform/modules/vpc/aws/1.0.0/file", r.admin, goodModule); resp.StatusCode != 201 {
		t.Fatalf("upload = %d %s", resp.StatusCode, b)
	}
	// archiveURL resolves the module and returns the signed archive path
	// and the key id its token names.
	archiveURL := func() (string, int64) {
		t.Helper()
		resp, b := do("GET", "/v1/modules/acme/vpc/aws/1.0.0/download", r.admin, nil)
		get := resp.Header.Get("X-Terraform-Get")
		if resp.StatusCode != 204 || get == "" {
			t.Fatalf("download = %d %s X-Terraform-Get %q", resp.StatusCode, b, get)
		}
		u, err := url.Parse(get)
		if err != nil {
			t.Fatal(err)
		}
		kid, ok := tokens.TokenKeyID(u.Query().Get("token"))
		if !ok {
			t.Fatalf("archive token names no key id: %s", get)
		}
		return u.RequestURI(), kid
	}
	fetch := func(what, path string) {
		t.Helper()
		resp, b := do("GET", path, "", nil)
		if resp.StatusCode != 200 || !bytes.Equal(b, goodModule) {
			t.Fatalf("%s: GET archive = %d %q", what, resp.StatusCode, b)
		}
	}

	oldURL, oldKid := archiveURL()
	fetch("before rotation", oldURL)

	out, err := runCairn(t, r.env, "admin", "rotate-signing-key")
	if err != nil {
		t.Fatalf("admin rotate-signing-key: %v\n%s", err, out)
	}
	lines := strings.Split(strings.TrimSpace(out), "\n")
	newKid, err := strconv.ParseInt(lines[len(lines)-1], 10, 64)
	if err != nil || newKid == oldKid {
		t.Fatalf("rotate-signing-key did not print a new key id last (old %d):\n%s", oldKid, out)
	}

	fetch("a link signed before the rotation", oldURL)
	deadline := time.Now().Add(10 * time.Second)
	for {
		path, kid := archiveURL()
		if kid == newKid {
			fetch("a link signed with the new key", path)
			break
		}
		if kid != oldKid {
			t.Fatalf("link signed with key %d; want %d (old) or %d (new)", kid, oldKid, newKid)
		}
		if time.Now().After(deadline) {
			t.Fatalf("the running server still signs with key %d 10s after the rotation", kid)
		}
		time.Sleep(50 * time.Millisecond)
	}
	// Rotating again at once retires nothing: the previous keys' links may
	// still be live.
	if out, err := runCairn(t, r.env, "admin", "rotate-signing-key"); err != nil {
		t.Fatalf("second rotate-signing-key: %v\n%s", err, out)
	}
	fetch("a link signed two rotations ago", oldURL)
}
