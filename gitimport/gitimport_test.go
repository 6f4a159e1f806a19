package gitimport

import (
	"bytes"
	"strings"
	"testing"
)

func TestTagFormat(t *testing.T) {
	for _, tc := range []struct {
		format, version, tag string
	}{
		{"", "1.2.3", "1.2.3"},
		{"v{version}", "1.2.3", "v1.2.3"},
		{"v{version}", "1.2.3-rc.1", "v1.2.3-rc.1"},
		{"release-{major}.{minor}.{patch}", "1.2.3", "release-1.2.3"},
		{"r{major}", "4.0.0", "r4"},
	} {
		f, err := parseTagFormat(&tc.format)
		if err != nil {
			t.Fatal(err)
		}
		tag, err := f.tag(tc.version)
		if err != nil || tag != tc.tag {
			t.Errorf("%q.tag(%s) = %q, %v; want %q", tc.format, tc.version, tag, err, tc.tag)
		}
		if v, ok := f.version(tc.tag); !ok || v != tc.version {
			t.Errorf("%q.version(%s) = %q, %v; want %q", tc.format, tc.tag, v, ok, tc.version)
		}
	}
	f, _ := parseTagFormat(ptr("v{version}"))
	for _, tag := range []string{"not-a-version", "1.0.0", "v1.0", "xv1.0.0", "v1.0.0x"} {
		if v, ok := f.version(tag); ok {
			t.Errorf("v{version} matched %q as %s", tag, v)
		}
	}
	if _, err := f.tag("nope"); err == nil {
		t.Error("an invalid version made a tag")
	}
	r, _ := parseTagFormat(ptr("r{major}"))
	if _, err := r.tag("4.1.0"); err == nil {
		t.Error("r{major} expressed 4.1.0")
	}
	if _, err := parseTagFormat(ptr("release")); err == nil {
		t.Error("a format without a placeholder was accepted")
	}
}

func ptr(s string) *string { return &s }

func TestSealer(t *testing.T) {
	key := bytes.Repeat([]byte{7}, 32)
	s, err := newSealer(key)
	if err != nil {
		t.Fatal(err)
	}
	sealed := s.seal([]byte("token"), 1, "credential")
	if bytes.Contains(sealed, []byte("token")) {
		t.Fatal("sealed value holds the plaintext")
	}
	if got, err := s.open(sealed, 1, "credential"); err != nil || string(got) != "token" {
		t.Fatalf("open = %q, %v", got, err)
	}
	// Bound to the module and the purpose.
	if _, err := s.open(sealed, 2, "credential"); err == nil {
		t.Error("opened under another module id")
	}
	if _, err := s.open(sealed, 1, "webhook"); err == nil {
		t.Error("opened as another purpose")
	}
	other, _ := newSealer(bytes.Repeat([]byte{8}, 32))
	if _, err := other.open(sealed, 1, "credential"); err == nil {
		t.Error("opened under another key")
	}
	if _, err := newSealer(key[:16]); err == nil {
		t.Error("a 16-byte key was accepted")
	}
}

func TestCheckRepoURL(t *testing.T) {
	for _, bad := range []string{"file:///etc/passwd", "http://example.com/r.git", "ssh://git@example.com/r.git",
		"git@example.com:r.git", "https://user:pw@example.com/r.git", "/local/path", "https://example.com/r.git?x=1"} {
		if _, err := checkRepoURL(bad); err == nil {
			t.Errorf("%s accepted", bad)
		}
	}
	if _, err := checkRepoURL("https://example.com/acme/r.git"); err != nil {
		t.Error(err)
	}
	if got := renderURL("https://git.example.com/{namespace}/{module}-{provider}.git", "acme", "vpc", "aws"); !strings.HasSuffix(got, "/acme/vpc-aws.git") {
		t.Errorf("renderURL = %s", got)
	}
}
