// Package outbound is the one HTTP client every outbound fetch of Cairn goes
// through (OIDC discovery and key sets of CI issuers, SSO, git imports,
// webhooks). Those URLs are chosen, directly or indirectly, by users, so a
// plain client would let anyone make Cairn fetch http://169.254.169.254/,
// http://127.0.0.1:<port>/ or any private address (SSRF). The client built by
// New resolves every host itself, refuses loopback, private, link-local and
// other non-public addresses unless the operator's allow-list
// (CAIRN_OUTBOUND_ALLOW) names them, dials the checked address literally so
// DNS cannot be re-bound between check and connect, follows no redirects,
// ignores proxy settings and bounds every response body.
package outbound

import (
	"context"
	"crypto/tls"
	"errors"
	"fmt"
	"io"
	"net"
	"net/http"
	"net/netip"
	"slices"
	"strings"
	"time"
)

// DefaultTimeout bounds a whole request, body included, unless WithTimeout says otherwise.
const DefaultTimeout = 15 * time.Second

// DefaultMaxBody is how many bytes of a response body may be read unless WithMaxBody says otherwise.
const DefaultMaxBody = 1 << 20

// ErrForbiddenAddress is matched (errors.Is) by every connection the policy refuses; see AddressError.
var ErrForbiddenAddress = errors.New("outbound: forbidden address")

// ErrBodyTooLarge is returned by a response body read that goes past the client's limit.
var ErrBodyTooLarge = errors.New("outbound: response body too large")

// ErrUnsupportedScheme is returned, before any dialing, for a URL whose scheme is not http or https.
var ErrUnsupportedScheme = errors.New("outbound: unsupported URL scheme")

// AddressError is the error of a refused connection: which host, which address and which kind.
type AddressError struct {
	// Host is the host of the request URL, a name or an IP literal.
	Host string
	// Addr is the refused address (Host itself, or one it resolved to).
	// Error leaves it out for names so that errors shown to users do not
	// reveal internal DNS; log it when needed.
	Addr netip.Addr
	// Kind says why Addr is refused, e.g. "loopback" or "private".
	Kind string
}

// Error says which host and which kind of address was refused.
func (e *AddressError) Error() string {
	if a, err := netip.ParseAddr(e.Host); err == nil && a.WithZone("").Unmap() == e.Addr {
		return fmt.Sprintf("outbound: connection to %s refused: forbidden %s address (not in CAIRN_OUTBOUND_ALLOW)", e.Host, e.Kind)
	}
	return fmt.Sprintf("outbound: connection to %s refused: it resolves to a forbidden %s address (not in CAIRN_OUTBOUND_ALLOW)", e.Host, e.Kind)
}

// Is makes errors.Is(err, ErrForbiddenAddress) true.
func (e *AddressError) Is(target error) bool { return target == ErrForbiddenAddress }

// Policy is the operator's allow-list of addresses and host names that may be fetched although not public; the zero value allows nothing.
type Policy struct {
	prefixes []netip.Prefix
	hosts    []string // lower case, no trailing dot
}

// ParseAllow parses CAIRN_OUTBOUND_ALLOW: comma-separated IP addresses, CIDRs and host names (exact, any case); "" allows nothing.
func ParseAllow(s string) (Policy, error) {
	var p Policy
	for _, entry := range strings.Split(s, ",") {
		entry = strings.TrimSpace(entry)
		if entry == "" {
			continue
		}
		if err := p.add(entry); err != nil {
			return Policy{}, err
		}
	}
	return p, nil
}

func (p *Policy) add(entry string) error {
	bad := func(why string) error {
		return fmt.Errorf("outbound allow-list entry %q: %s", entry, why)
	}
	switch {
	case strings.Contains(entry, "://"):
		return bad("has a scheme; give a bare IP address, CIDR or host name")
	case strings.ContainsAny(entry, "[]"):
		return bad("give IPv6 addresses without brackets and without a port")
	case strings.Contains(entry, "/"):
		pre, err := netip.ParsePrefix(entry)
		if err == nil {
			p.prefixes = append(p.prefixes, normalPrefix(pre))
			return nil
		}
		if _, aerr := netip.ParseAddr(entry[:strings.Index(entry, "/")]); aerr == nil {
			return bad("is not a valid CIDR: " + err.Error())
		}
		return bad("has a path; give a bare IP address, CIDR or host name")
	}
	if a, err := netip.ParseAddr(entry); err == nil {
		if a.Zone() != "" {
			return bad("IPv6 zones are not supported")
		}
		a = a.Unmap()
		p.prefixes = append(p.prefixes, netip.PrefixFrom(a, a.BitLen()))
		return nil
	}
	if strings.Contains(entry, ":") {
		return bad("has a port (or is a malformed IPv6 address); ports are not part of the allow-list syntax")
	}
	if strings.Contains(entry, "*") {
		return bad("wildcards are not supported; host names match exactly")
	}
	host := normalHost(entry)
	if !validHostName(host) {
		return bad("is not an IP address, CIDR or host name")
	}
	if !slices.Contains(p.hosts, host) {
		p.hosts = append(p.hosts, host)
	}
	return nil
}

// normalPrefix masks pre and turns an IPv4-mapped IPv6 prefix into IPv4.
func normalPrefix(pre netip.Prefix) netip.Prefix {
	a := pre.Addr()
	if a.Is4In6() && pre.Bits() >= 96 {
		return netip.PrefixFrom(a.Unmap(), pre.Bits()-96).Masked()
	}
	return pre.Masked()
}

func normalHost(h string) string { return strings.TrimSuffix(strings.ToLower(h), ".") }

// validHostName accepts letters, digits, '-', '_' and non-empty dot-separated
// labels, and rejects all-numeric last labels (a mistyped IP address).
func validHostName(h string) bool {
	if h == "" || len(h) > 253 {
		return false
	}
	labels := strings.Split(h, ".")
	for _, l := range labels {
		if l == "" || len(l) > 63 {
			return false
		}
		for _, c := range l {
			if !(c >= 'a' && c <= 'z' || c >= '0' && c <= '9' || c == '-' || c == '_') {
				return false
			}
		}
	}
	return strings.Trim(labels[len(labels)-1], "0123456789") != ""
}

// Allowed reports whether host (a name, an IP literal, optionally bracketed or with a port) is on the allow-list.
func (p Policy) Allowed(host string) bool {
	if h, _, err := net.SplitHostPort(host); err == nil {
		host = h
	}
	host = strings.TrimSuffix(strings.TrimPrefix(host, "["), "]")
	if a, err := netip.ParseAddr(host); err == nil {
		return p.AllowedAddr(a)
	}
	return p.allowedName(host)
}

// AllowedAddr reports whether a is inside an allow-listed address or CIDR.
func (p Policy) AllowedAddr(a netip.Addr) bool {
	a = a.WithZone("").Unmap()
	for _, pre := range p.prefixes {
		if pre.Contains(a) {
			return true
		}
	}
	return false
}

func (p Policy) allowedName(host string) bool {
	return slices.Contains(p.hosts, normalHost(host))
}

// String lists the allow-list in normalised ParseAllow syntax, for logs.
func (p Policy) String() string {
	s := make([]string, 0, len(p.prefixes)+len(p.hosts))
	for _, pre := range p.prefixes {
		if pre.IsSingleIP() {
			s = append(s, pre.Addr().String())
		} else {
			s = append(s, pre.String())
		}
	}
	return strings.Join(append(s, p.hosts...), ",")
}

type addrRange struct {
	prefix netip.Prefix
	kind   string
}

var (
	metadataAddrs = []netip.Addr{
		netip.MustParseAddr("169.254.169.254"), // AWS, GCP, Azure, OpenStack…
		netip.MustParseAddr("fd00:ec2::254"),   // AWS over IPv6
	}
	// forbidden is checked in order; the first match names the kind.
	forbidden = []addrRange{
		{netip.MustParsePrefix("0.0.0.0/32"), "unspecified"},
		{netip.MustParsePrefix("::/128"), "unspecified"},
		{netip.MustParsePrefix("255.255.255.255/32"), "broadcast"},
		{netip.MustParsePrefix("0.0.0.0/8"), "this-network"},
		{netip.MustParsePrefix("127.0.0.0/8"), "loopback"},
		{netip.MustParsePrefix("::1/128"), "loopback"},
		{netip.MustParsePrefix("10.0.0.0/8"), "private"},
		{netip.MustParsePrefix("172.16.0.0/12"), "private"},
		{netip.MustParsePrefix("192.168.0.0/16"), "private"},
		{netip.MustParsePrefix("fc00::/7"), "unique-local"},
		{netip.MustParsePrefix("169.254.0.0/16"), "link-local"},
		{netip.MustParsePrefix("fe80::/10"), "link-local"},
		{netip.MustParsePrefix("fec0::/10"), "site-local"},
		{netip.MustParsePrefix("100.64.0.0/10"), "shared (CGNAT)"},
		{netip.MustParsePrefix("224.0.0.0/4"), "multicast"},
		{netip.MustParsePrefix("ff00::/8"), "multicast"},
		{netip.MustParsePrefix("192.0.0.0/24"), "IETF protocol assignment"},
		{netip.MustParsePrefix("198.18.0.0/15"), "benchmarking"},
		{netip.MustParsePrefix("240.0.0.0/4"), "reserved"},
		{netip.MustParsePrefix("::/96"), "IPv4-compatible"},
		{netip.MustParsePrefix("64:ff9b:1::/48"), "local-use NAT64"},
	}
	nat64     = netip.MustParsePrefix("64:ff9b::/96") // embeds IPv4 in the last 32 bits
	sixToFour = netip.MustParsePrefix("2002::/16")    // embeds IPv4 in bits 16–47
)

// Classify returns the kind of a non-public address ("loopback", "private", "link-local", …), or "" for a public one.
func Classify(a netip.Addr) string {
	if !a.IsValid() {
		return "invalid"
	}
	a = a.WithZone("").Unmap()
	if slices.Contains(metadataAddrs, a) {
		return "cloud metadata"
	}
	for _, r := range forbidden {
		if r.prefix.Contains(a) {
			return r.kind
		}
	}
	if a.Is6() {
		b := a.As16()
		var v4 netip.Addr
		var via string
		switch {
		case nat64.Contains(a):
			v4, via = netip.AddrFrom4([4]byte(b[12:16])), "NAT64"
		case sixToFour.Contains(a):
			v4, via = netip.AddrFrom4([4]byte(b[2:6])), "6to4"
		}
		if v4.IsValid() {
			if k := Classify(v4); k != "" {
				return via + " " + k
			}
		}
	}
	return ""
}

// Option adjusts the client built by New.
type Option func(*options)

type options struct {
	timeout time.Duration
	maxBody int64
	tls     *tls.Config
	lookup  func(ctx context.Context, network, host string) ([]netip.Addr, error)
}

// WithTimeout sets the overall timeout of a request, body included (default 15s; non-positive keeps the default).
func WithTimeout(d time.Duration) Option {
	return func(o *options) {
		if d > 0 {
			o.timeout = d
		}
	}
}

// WithMaxBody sets how many bytes of a response body may be read (default 1 MiB; non-positive keeps the default).
func WithMaxBody(n int64) Option {
	return func(o *options) {
		if n > 0 {
			o.maxBody = n
		}
	}
}

// WithTLSConfig sets the TLS configuration (e.g. RootCAs for an internal CA); it is cloned and raised to TLS 1.2 at least.
func WithTLSConfig(c *tls.Config) Option {
	return func(o *options) { o.tls = c }
}

// New returns a client that enforces p on every connection, follows no redirects and bounds every response body.
func New(p Policy, opts ...Option) *http.Client {
	o := options{timeout: DefaultTimeout, maxBody: DefaultMaxBody, lookup: net.DefaultResolver.LookupNetIP}
	for _, opt := range opts {
		opt(&o)
	}
	tlsConf := &tls.Config{}
	if o.tls != nil {
		tlsConf = o.tls.Clone()
	}
	if tlsConf.MinVersion < tls.VersionTLS12 {
		tlsConf.MinVersion = tls.VersionTLS12
	}
	d := &dialer{
		policy: p,
		lookup: o.lookup,
		net:    net.Dialer{Timeout: 10 * time.Second, KeepAlive: 30 * time.Second},
	}
	base := &http.Transport{
		Proxy:                  nil, // a proxy would connect on our behalf, past the check
		DialContext:            d.dialContext,
		ForceAttemptHTTP2:      true,
		TLSClientConfig:        tlsConf,
		TLSHandshakeTimeout:    10 * time.Second,
		ResponseHeaderTimeout:  min(o.timeout, 10*time.Second),
		ExpectContinueTimeout:  time.Second,
		MaxIdleConns:           16,
		MaxIdleConnsPerHost:    4,
		IdleConnTimeout:        90 * time.Second,
		MaxResponseHeaderBytes: 64 << 10,
	}
	return &http.Client{
		Transport: &transport{base: base, maxBody: o.maxBody},
		Timeout:   o.timeout,
		CheckRedirect: func(*http.Request, []*http.Request) error {
			return http.ErrUseLastResponse
		},
	}
}

// transport refuses non-http(s) schemes and bounds every response body.
type transport struct {
	base    *http.Transport
	maxBody int64
}

func (t *transport) RoundTrip(req *http.Request) (*http.Response, error) {
	if s := req.URL.Scheme; s != "http" && s != "https" {
		if req.Body != nil {
			req.Body.Close()
		}
		return nil, fmt.Errorf("%w %q (only http and https)", ErrUnsupportedScheme, s)
	}
	resp, err := t.base.RoundTrip(req)
	if err != nil {
		return nil, err
	}
	if resp.Body != nil {
		resp.Body = &limitedBody{rc: resp.Body, left: t.maxBody, limit: t.maxBody}
	}
	return resp, nil
}

func (t *transport) CloseIdleConnections() { t.base.CloseIdleConnections() }

// limitedBody returns ErrBodyTooLarge once more than limit bytes are read.
type limitedBody struct {
	rc    io.ReadCloser
	left  int64
	limit int64
	err   error
}

func (b *limitedBody) Read(p []byte) (int, error) {
	if b.err != nil {
		return 0, b.err
	}
	if len(p) == 0 {
		return 0, nil
	}
	if b.left <= 0 {
		// At the limit: the body is fine only if nothing follows.
		var one [1]byte
		if n, err := io.ReadFull(b.rc, one[:]); n == 0 {
			return 0, err
		}
		b.err = fmt.Errorf("%w (more than %d bytes)", ErrBodyTooLarge, b.limit)
		return 0, b.err
	}
	if int64(len(p)) > b.left {
		p = p[:b.left]
	}
	n, err := b.rc.Read(p)
	b.left -= int64(n)
	return n, err
}

func (b *limitedBody) Close() error { return b.rc.Close() }

// dialer resolves, checks every address against the policy and dials the
// checked address literally.
type dialer struct {
	policy Policy
	lookup func(ctx context.Context, network, host string) ([]netip.Addr, error)
	net    net.Dialer
}

func (d *dialer) dialContext(ctx context.Context, network, address string) (net.Conn, error) {
	host, port, err := net.SplitHostPort(address)
	if err != nil {
		return nil, err
	}
	var addrs []netip.Addr
	nameAllowed := false
	if a, err := netip.ParseAddr(host); err == nil {
		addrs = []netip.Addr{a}
	} else {
		nameAllowed = d.policy.allowedName(host)
		ipNet := "ip"
		switch network {
		case "tcp4":
			ipNet = "ip4"
		case "tcp6":
			ipNet = "ip6"
		}
		addrs, err = d.lookup(ctx, ipNet, host)
		if err != nil {
			return nil, err
		}
		if len(addrs) == 0 {
			return nil, &net.DNSError{Err: "no addresses", Name: host, IsNotFound: true}
		}
	}
	// Every address must pass, so a name cannot mix a public answer with a
	// private one and hope the dialer picks the latter.
	for _, a := range addrs {
		if nameAllowed || d.policy.AllowedAddr(a) {
			continue
		}
		if kind := Classify(a); kind != "" {
			return nil, &AddressError{Host: host, Addr: a.WithZone("").Unmap(), Kind: kind}
		}
	}
	var firstErr error
	for _, a := range addrs {
		// Dial the checked address itself: no second resolution, no rebinding.
		conn, err := d.net.DialContext(ctx, network, net.JoinHostPort(a.Unmap().String(), port))
		if err == nil {
			return conn, nil
		}
		if firstErr == nil {
			firstErr = err
		}
		if ctx.Err() != nil {
			break
		}
	}
	return nil, firstErr
}
