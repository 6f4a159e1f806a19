package tlsca

import (
	"crypto/x509"
	"os"
	"path/filepath"
	"testing"
	"time"
)

func TestEnsureReusesCAAndCoversHosts(t *testing.T) {
	dir := t.TempDir()
	now := time.Now()
	m1, err := Ensure(dir, []string{"registry.example.test"}, now)
	if err != nil {
		t.Fatal(err)
	}
	if !m1.Created {
		t.Fatal("first Ensure did not report creating the CA")
	}
	ca1, _ := os.ReadFile(filepath.Join(dir, CAFile))
	m2, err := Ensure(dir, []string{"registry.example.test"}, now)
	if err != nil {
		t.Fatal(err)
	}
	ca2, _ := os.ReadFile(filepath.Join(dir, CAFile))
	if m2.Created || string(ca1) != string(ca2) {
		t.Fatal("second Ensure replaced the CA")
	}
	pool := x509.NewCertPool()
	pool.AppendCertsFromPEM(ca2)
	leaf, err := x509.ParseCertificate(m2.Cert.Certificate[0])
	if err != nil {
		t.Fatal(err)
	}
	for _, h := range []string{"localhost", "127.0.0.1", "::1", "registry.example.test"} {
		if _, err := leaf.Verify(x509.VerifyOptions{DNSName: h, Roots: pool}); err != nil {
			t.Errorf("certificate does not verify for %s against ca.pem: %v", h, err)
		}
	}
	// A new host name gets a new server certificate from the same CA.
	m3, err := Ensure(dir, []string{"other.example.test"}, now)
	if err != nil {
		t.Fatal(err)
	}
	leaf3, _ := x509.ParseCertificate(m3.Cert.Certificate[0])
	if _, err := leaf3.Verify(x509.VerifyOptions{DNSName: "other.example.test", Roots: pool}); err != nil {
		t.Fatalf("re-issued certificate does not verify: %v", err)
	}
	// Near expiry, the server certificate is renewed.
	m4, err := Ensure(dir, []string{"other.example.test"}, now.Add(380*24*time.Hour))
	if err != nil {
		t.Fatal(err)
	}
	leaf4, _ := x509.ParseCertificate(m4.Cert.Certificate[0])
	if !leaf4.NotAfter.After(leaf3.NotAfter) {
		t.Fatal("certificate near expiry was not renewed")
	}
	if st, _ := os.Stat(filepath.Join(dir, "ca-key.pem")); st.Mode().Perm() != 0o600 {
		t.Fatalf("CA key mode %v, want 0600", st.Mode().Perm())
	}
}
