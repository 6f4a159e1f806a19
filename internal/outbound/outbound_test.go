package outbound

import (
	"context"
	"crypto/tls"
	"crypto/x509"
	"errors"
	"fmt"
	"io"
	"net"
	"net/http"
	"net/http/httptest"
	"net/netip"
	"strings"
	"sync/atomic"
	"testing"
	"time"
)

// server starts an HTTP server on 127.0.0.1 that counts its requests.
func server(t *testing.T, h http.HandlerFunc) (*httptest.Server, *atomic.Int32) {
	t.Helper()
	var hits atomic.Int32
	srv := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		hits.Add(1)
		h(w, r)
	}))
	t.Cleanup(srv.Close)
	return srv, &hits
}

func ok(w http.ResponseWriter, _ *http.Request) { io.WriteString(w, "ok") }

func mustAllow(t *testing.T, s string) Policy {
	t.Helper()
	p, err := ParseAllow(s)
	if err != nil {
		t.Fatalf("ParseAllow(%q): %v", s, err)
	}
	return p
}

// localhostURL turns http://127.0.0.1:PORT into http://localhost:PORT.
func localhostURL(srv *httptest.Server) string {
	return strings.Replace(srv.URL, "127.0.0.1", "localhost", 1)
}

// fakeLookup resolves names from a table, so tests need no DNS.
func fakeLookup(table map[string][]string) Option {
	return func(o *options) {
		o.lookup = func(_ context.Context, _, host string) ([]netip.Addr, error) {
			ss, found := table[host]
			if !found {
				return nil, &net.DNSError{Err: "not in test table", Name: host, IsNotFound: true}
			}
			var addrs []netip.Addr
			for _, s := range ss {
				addrs = append(addrs, netip.MustParseAddr(s))
			}
			return addrs, nil
		}
	}
}

func TestRefused(t *testing.T) {
	srv, hits := server(t, ok)
	port := srv.URL[strings.LastIndex(srv.URL, ":")+1:]
	cases := []struct {
		name   string
		allow  string
		url    string
		lookup map[string][]string
		kind   string
	}{
		{"loopback IP, no allow-list", "", srv.URL, nil, "loopback"},
		{"loopback name, no allow-list", "", localhostURL(srv), nil, "loopback"},
		{"other CIDR allowed", "10.0.0.0/8,192.168.0.0/16", srv.URL, nil, "loopback"},
		{"name allowed, not the IP", "localhost", srv.URL, nil, "loopback"},
		{"IP allowed, not this name", "127.0.0.1", "http://evil.test:" + port,
			map[string][]string{"evil.test": {"127.0.0.2"}}, "loopback"},
		{"name resolving to metadata", "", "http://metadata.test/latest/meta-data/",
			map[string][]string{"metadata.test": {"169.254.169.254"}}, "cloud metadata"},
		{"name resolving to mapped private", "", "http://mapped.test:" + port,
			map[string][]string{"mapped.test": {"::ffff:10.0.0.1"}}, "private"},
		{"public and private answers mixed", "", "http://mixed.test:" + port,
			map[string][]string{"mixed.test": {"8.8.8.8", "127.0.0.1"}}, "loopback"},
		{"IPv6 metadata literal", "", "http://[fd00:ec2::254]/", nil, "cloud metadata"},
		{"mapped literal", "", "http://[::ffff:169.254.169.254]/", nil, "cloud metadata"},
	}
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			var opts []Option
			if tc.lookup != nil {
				opts = append(opts, fakeLookup(tc.lookup))
			}
			resp, err := New(mustAllow(t, tc.allow), opts...).Get(tc.url)
			if err == nil {
				resp.Body.Close()
				t.Fatalf("GET %s succeeded, want it refused", tc.url)
			}
			t.Log(err)
			if !errors.Is(err, ErrForbiddenAddress) {
				t.Fatalf("error %v is not ErrForbiddenAddress", err)
			}
			var ae *AddressError
			if !errors.As(err, &ae) || ae.Kind != tc.kind {
				t.Fatalf("error %v: want an AddressError of kind %q", err, tc.kind)
			}
			if !strings.Contains(err.Error(), tc.kind) || !strings.Contains(err.Error(), ae.Host) {
				t.Errorf("error %q does not name the host %q and the kind %q", err, ae.Host, tc.kind)
			}
		})
	}
	if n := hits.Load(); n != 0 {
		t.Errorf("server saw %d requests, want none", n)
	}
}

func TestAllowed(t *testing.T) {
	srv, _ := server(t, ok)
	port := srv.URL[strings.LastIndex(srv.URL, ":")+1:]
	cases := []struct {
		name   string
		allow  string
		url    string
		lookup map[string][]string
	}{
		{"IP", "127.0.0.1", srv.URL, nil},
		{"CIDR", "127.0.0.0/8", srv.URL, nil},
		{"mapped CIDR", "::ffff:127.0.0.0/104", srv.URL, nil},
		{"host name", "localhost", localhostURL(srv), nil},
		{"host name, other case", " LocalHost ", localhostURL(srv), nil},
		// The fake name is not in DNS: success proves the checked address is
		// the one dialed, without a second resolution.
		{"IP behind a name", "127.0.0.1", "http://gitlab.internal.test:" + port,
			map[string][]string{"gitlab.internal.test": {"127.0.0.1"}}},
		{"name allowed, any address", "gitlab.internal.test", "http://gitlab.internal.test:" + port,
			map[string][]string{"gitlab.internal.test": {"127.0.0.1", "10.255.255.1"}}},
	}
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			var opts []Option
			if tc.lookup != nil {
				opts = append(opts, fakeLookup(tc.lookup))
			}
			resp, err := New(mustAllow(t, tc.allow), opts...).Get(tc.url)
			if err != nil {
				t.Fatalf("GET %s with allow-list %q: %v", tc.url, tc.allow, err)
			}
			defer resp.Body.Close()
			b, err := io.ReadAll(resp.Body)
			if err != nil || string(b) != "ok" {
				t.Fatalf("body %q, %v", b, err)
			}
		})
	}
}

func TestClassify(t *testing.T) {
	cases := []struct {
		addr, kind string
	}{
		{"127.0.0.1", "loopback"},
		{"127.255.255.254", "loopback"},
		{"::1", "loopback"},
		{"0.0.0.0", "unspecified"},
		{"::", "unspecified"},
		{"0.1.2.3", "this-network"},
		{"10.0.0.1", "private"},
		{"172.16.0.1", "private"},
		{"172.31.255.255", "private"},
		{"192.168.1.1", "private"},
		{"fc00::1", "unique-local"},
		{"fdff:ffff::1", "unique-local"},
		{"169.254.0.1", "link-local"},
		{"fe80::1", "link-local"},
		{"fe80::1%eth0", "link-local"},
		{"169.254.169.254", "cloud metadata"},
		{"fd00:ec2::254", "cloud metadata"},
		{"100.64.0.1", "shared (CGNAT)"},
		{"100.127.255.255", "shared (CGNAT)"},
		{"224.0.0.1", "multicast"},
		{"239.255.255.250", "multicast"},
		{"ff02::1", "multicast"},
		{"255.255.255.255", "broadcast"},
		{"192.0.0.170", "IETF protocol assignment"},
		{"198.18.0.1", "benchmarking"},
		{"198.19.255.255", "benchmarking"},
		{"240.0.0.1", "reserved"},
		{"::ffff:169.254.169.254", "cloud metadata"},
		{"::ffff:10.0.0.1", "private"},
		{"::ffff:127.0.0.1", "loopback"},
		{"::ffff:0.0.0.0", "unspecified"},
		{"::ffff:100.64.0.1", "shared (CGNAT)"},
		{"::127.0.0.1", "IPv4-compatible"},
		{"64:ff9b::a9fe:a9fe", "NAT64 cloud metadata"},
		{"64:ff9b::7f00:1", "NAT64 loopback"},
		{"64:ff9b:1::1", "local-use NAT64"},
		{"2002:a00:1::", "6to4 private"},
		{"fec0::1", "site-local"},
		// Public.
		{"8.8.8.8", ""},
		{"1.1.1.1", ""},
		{"172.32.0.1", ""},
		{"100.128.0.1", ""},
		{"198.20.0.1", ""},
		{"192.0.1.1", ""},
		{"2001:4860:4860::8888", ""},
		{"2606:4700:4700::1111", ""},
		{"::ffff:8.8.8.8", ""},
		{"64:ff9b::808:808", ""},
	}
	for _, tc := range cases {
		if got := Classify(netip.MustParseAddr(tc.addr)); got != tc.kind {
			t.Errorf("Classify(%s) = %q, want %q", tc.addr, got, tc.kind)
		}
	}
	if got := Classify(netip.Addr{}); got == "" {
		t.Error("the zero Addr classified as public")
	}
}

func TestRedirectNotFollowed(t *testing.T) {
	var followed atomic.Int32
	srv, _ := server(t, func(w http.ResponseWriter, r *http.Request) {
		if r.URL.Path == "/next" {
			followed.Add(1)
			return
		}
		http.Redirect(w, r, "/next", http.StatusFound)
	})
	resp, err := New(mustAllow(t, "127.0.0.1")).Get(srv.URL + "/start")
	if err != nil {
		t.Fatal(err)
	}
	resp.Body.Close()
	if resp.StatusCode != http.StatusFound || resp.Header.Get("Location") != "/next" {
		t.Fatalf("got %d Location %q, want the 302 itself", resp.StatusCode, resp.Header.Get("Location"))
	}
	if followed.Load() != 0 {
		t.Fatal("the redirect was followed")
	}
}

func TestBodyBounded(t *testing.T) {
	cases := []struct {
		status  int
		size    int
		max     int64 // 0: the default
		tooBig  bool
		chunked bool
	}{
		{http.StatusInternalServerError, 2048, 1024, true, false},
		{http.StatusOK, 2048, 1024, true, false},
		{http.StatusOK, 2048, 1024, true, true},
		{http.StatusNotFound, 1025, 1024, true, true},
		{http.StatusOK, 1024, 1024, false, false},
		{http.StatusInternalServerError, 1024, 1024, false, true},
		{http.StatusOK, DefaultMaxBody + 1, 0, true, false},
		{http.StatusOK, DefaultMaxBody, 0, false, true},
	}
	for _, tc := range cases {
		t.Run(fmt.Sprintf("%d/%d/max%d/chunked=%v", tc.status, tc.size, tc.max, tc.chunked), func(t *testing.T) {
			srv, _ := server(t, func(w http.ResponseWriter, _ *http.Request) {
				if !tc.chunked {
					w.Header().Set("Content-Length", fmt.Sprint(tc.size))
				}
				w.WriteHeader(tc.status)
				if tc.chunked {
					w.(http.Flusher).Flush() // headers out without a length: chunked
				}
				w.Write([]byte(strings.Repeat("x", tc.size)))
			})
			resp, err := New(mustAllow(t, "127.0.0.1"), WithMaxBody(tc.max)).Get(srv.URL)
			if err != nil {
				t.Fatal(err)
			}
			defer resp.Body.Close()
			if resp.StatusCode != tc.status {
				t.Fatalf("status %d, want %d", resp.StatusCode, tc.status)
			}
			b, err := io.ReadAll(resp.Body)
			if tc.tooBig {
				if !errors.Is(err, ErrBodyTooLarge) {
					t.Fatalf("read %d bytes, err %v; want ErrBodyTooLarge", len(b), err)
				}
				limit := tc.max
				if limit == 0 {
					limit = DefaultMaxBody
				}
				if int64(len(b)) > limit {
					t.Fatalf("read %d bytes, more than the limit %d", len(b), limit)
				}
				if _, err := resp.Body.Read(make([]byte, 1)); !errors.Is(err, ErrBodyTooLarge) {
					t.Fatalf("a later read returned %v, want ErrBodyTooLarge again", err)
				}
			} else if err != nil || len(b) != tc.size {
				t.Fatalf("read %d bytes, err %v; want %d bytes", len(b), err, tc.size)
			}
		})
	}
}

func TestSchemeRefused(t *testing.T) {
	for _, u := range []string{"ftp://127.0.0.1/x", "file:///etc/passwd", "gopher://127.0.0.1:70/", "ws://127.0.0.1/"} {
		resp, err := New(mustAllow(t, "127.0.0.1")).Get(u)
		if err == nil {
			resp.Body.Close()
			t.Errorf("GET %s succeeded", u)
			continue
		}
		if !errors.Is(err, ErrUnsupportedScheme) {
			t.Errorf("GET %s: %v, want ErrUnsupportedScheme", u, err)
		}
	}
}

func TestTimeout(t *testing.T) {
	release := make(chan struct{})
	srv, _ := server(t, func(w http.ResponseWriter, r *http.Request) {
		select {
		case <-release:
		case <-r.Context().Done():
		}
	})
	defer close(release)
	start := time.Now()
	resp, err := New(mustAllow(t, "127.0.0.1"), WithTimeout(100*time.Millisecond)).Get(srv.URL)
	if err == nil {
		resp.Body.Close()
		t.Fatal("request did not time out")
	}
	if d := time.Since(start); d > 5*time.Second {
		t.Fatalf("timed out after %v", d)
	}
}

func TestTLSAndTransportDefaults(t *testing.T) {
	srv := httptest.NewUnstartedServer(http.HandlerFunc(ok))
	srv.EnableHTTP2 = true
	srv.StartTLS()
	t.Cleanup(srv.Close)
	roots := x509.NewCertPool()
	roots.AddCert(srv.Certificate())
	c := New(mustAllow(t, "127.0.0.1"), WithTLSConfig(&tls.Config{RootCAs: roots, MinVersion: tls.VersionTLS10}))

	resp, err := c.Get(srv.URL)
	if err != nil {
		t.Fatal(err)
	}
	resp.Body.Close()
	if resp.ProtoMajor != 2 {
		t.Errorf("protocol %s, want HTTP/2", resp.Proto)
	}

	tr := c.Transport.(*transport).base
	if tr.Proxy != nil {
		t.Error("the transport uses a proxy")
	}
	if tr.TLSClientConfig.MinVersion != tls.VersionTLS12 {
		t.Errorf("TLS min version %x, want 1.2", tr.TLSClientConfig.MinVersion)
	}
	if c.Timeout != 15*time.Second {
		t.Errorf("default timeout %v, want 15s", c.Timeout)
	}
}

func TestParseAllow(t *testing.T) {
	bad := []string{
		"http://x",
		"https://gitlab.example.com",
		"x:80",
		"10.0.0.1:80",
		"[::1]:80",
		"[::1]",
		"10.0.0.0/33",
		"::1/129",
		"example.com/path",
		"*.example.com",
		"exa mple.com",
		"10.0.0",
		"good.example, bad:1",
	}
	for _, s := range bad {
		_, err := ParseAllow(s)
		if err == nil {
			t.Errorf("ParseAllow(%q) succeeded", s)
			continue
		}
		entry := strings.TrimSpace(s[strings.LastIndex(s, ",")+1:])
		if !strings.Contains(err.Error(), fmt.Sprintf("%q", entry)) {
			t.Errorf("ParseAllow(%q) error %q does not name the entry", s, err)
		}
	}
	for _, s := range []string{"x:80", "10.0.0.1:80"} {
		if _, err := ParseAllow(s); err == nil || !strings.Contains(err.Error(), "port") {
			t.Errorf("ParseAllow(%q) error %v does not mention the port", s, err)
		}
	}

	if p := mustAllow(t, ""); p.String() != "" || p.Allowed("localhost") || p.Allowed("127.0.0.1") {
		t.Errorf("empty allow-list allows something: %q", p)
	}
	p := mustAllow(t, " 10.1.0.0/16 ,, Gitlab.Example.COM. ,127.0.0.1,  ,fd00::/8,10.1.2.3/8 ")
	if got, want := p.String(), "10.1.0.0/16,127.0.0.1,fd00::/8,10.0.0.0/8,gitlab.example.com"; got != want {
		t.Errorf("String() = %q, want %q", got, want)
	}
	allowed := []string{"gitlab.example.com", "GITLAB.example.com.", "gitlab.example.com:443", "10.1.200.3",
		"127.0.0.1", "127.0.0.1:8080", "::ffff:127.0.0.1", "[fd12::1]:443", "fd12::1", "10.9.9.9"}
	for _, h := range allowed {
		if !p.Allowed(h) {
			t.Errorf("Allowed(%q) = false", h)
		}
	}
	for _, h := range []string{"example.com", "gitlab.example.com.evil", "127.0.0.2", "localhost", "fc00::1", "11.0.0.1", ""} {
		if p.Allowed(h) {
			t.Errorf("Allowed(%q) = true", h)
		}
	}
}
