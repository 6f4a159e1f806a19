package tokens

import (
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
		fparts[0] + "." + parts[1] + "." + parts[2], // longer expiry, old signature
		parts[0] + "." + fparts[1] + "." + parts[2], // other principal, old signature
		parts[0] + "." + parts[1] + "." + strings.ToUpper(parts[2]),
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
