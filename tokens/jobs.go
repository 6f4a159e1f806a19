package tokens

import (
	"bytes"
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"log/slog"
	"net"
	"net/http"
	"net/netip"
	"net/url"
	"path"
	"slices"
	"strconv"
	"strings"
	"sync"
	"time"

	"github.com/coreos/go-oidc/v3/oidc"
	jose "github.com/go-jose/go-jose/v4"

	"github.com/cairn-registry/cairn/internal/outbound"
)

// Job tokens are OIDC ID tokens minted by a CI platform (GitLab CI
// id_tokens, GitHub Actions) that a project trusts through trust rules; see
// docs/ARCHITECTURE.md, "Tenancy and authorization".

// ErrInvalidJobToken is wrapped by every reason a job token is refused; the
// HTTP layer answers 401 and logs the full text.
var ErrInvalidJobToken = errors.New("invalid job token")

// ErrIssuerUnavailable is wrapped, together with ErrInvalidJobToken, when a
// trusted issuer cannot be used: its discovery document or key set cannot be
// fetched, or is refused (an address not allowed by CAIRN_OUTBOUND_ALLOW, a
// jwks_uri off the issuer's host). The verifier logs the reason, once per
// discovery attempt; the error itself says only which issuer.
var ErrIssuerUnavailable = errors.New("issuer unavailable")

// Condition operators.
const (
	// OpEquals holds when the claim's string form equals Value exactly.
	OpEquals = "equals"
	// OpGlob holds when the claim's string form matches Value with path.Match
	// semantics: '*' and '?' never cross '/', and the whole value must match.
	OpGlob = "glob"
)

const (
	// maxJobTokenLen bounds what is parsed at all; CI ID tokens are a few KiB.
	maxJobTokenLen = 16 << 10
	// timeLeeway absorbs clock skew between the CI platform and Cairn for
	// nbf and iat. go-oidc itself allows five minutes for nbf, too lax here.
	timeLeeway = time.Minute
	// discoveryTTL is how long a discovered issuer is used before its
	// discovery document is fetched again (in the background).
	discoveryTTL = time.Hour
	// discoveryRetry is how long a failed discovery is remembered, so an
	// unreachable issuer is not asked again on every request.
	discoveryRetry = 30 * time.Second
	// discoveryTimeout bounds one discovery fetch.
	discoveryTimeout = 15 * time.Second
	// fetchCooldown is how long a successful GET is replayed instead of
	// repeated. go-oidc refetches the JWKS on every signature it cannot
	// verify; without this each forged token would cost a request to the
	// CI platform.
	fetchCooldown = 10 * time.Second
	// maxFetchBody bounds discovery documents and key sets.
	maxFetchBody = 1 << 20
	// defaultHTTPTimeout applies when NewJobVerifier is given no client.
	defaultHTTPTimeout = 10 * time.Second
)

// keySetUnavailable replaces every key set fetch error inside go-oidc's
// verification error, which would otherwise quote the response body.
const keySetUnavailable = "cairn: issuer key set unavailable"

// signingAlgs are the algorithms a job token may be signed with: asymmetric
// only. The verifier narrows them further to what the issuer advertises.
var signingAlgs = []jose.SignatureAlgorithm{
	jose.RS256, jose.RS384, jose.RS512,
	jose.PS256, jose.PS384, jose.PS512,
	jose.ES256, jose.ES384, jose.ES512,
	jose.EdDSA,
}

// TrustRule is one project's trust in a CI identity provider: a token from
// Issuer, addressed to Audience, whose claims meet every condition, acts as
// the project's CI job.
type TrustRule struct {
	ID        int64
	ProjectID int64
	// Issuer is the exact iss of accepted tokens, e.g. https://gitlab.example.com
	// or https://token.actions.githubusercontent.com.
	Issuer string
	// Audience must be among the token's aud; Cairn's public URL by convention.
	Audience string
	// Conditions must all hold.
	Conditions []ClaimCondition
	// Description says what the rule is for.
	Description string
	CreatedAt   time.Time
}

// ClaimCondition constrains one claim of a job token.
type ClaimCondition struct {
	// Claim is a top-level claim name, e.g. project_path, ref_type, ref, repository, sub.
	Claim string
	// Op is OpEquals or OpGlob.
	Op string
	// Value is the expected value or the glob pattern.
	Value string
}

// Validate reports whether c is a condition Verify can evaluate.
func (c ClaimCondition) Validate() error {
	if c.Claim == "" {
		return errors.New("condition: claim name is empty")
	}
	if c.Value == "" {
		return fmt.Errorf("condition on %q: value is empty", c.Claim)
	}
	switch c.Op {
	case OpEquals:
	case OpGlob:
		if _, err := path.Match(c.Value, ""); err != nil {
			return fmt.Errorf("condition on %q: invalid glob %q: %w", c.Claim, c.Value, err)
		}
	default:
		return fmt.Errorf("condition on %q: unknown operator %q (want %q or %q)", c.Claim, c.Op, OpEquals, OpGlob)
	}
	return nil
}

// RepositoryClaims are the claims that name the CI project or repository a
// token was minted for (GitLab's project_path, GitHub's repository, the
// subject of either) or its immutable id; a trust rule must pin one of them.
var RepositoryClaims = []string{"project_path", "repository", "sub", "project_id", "repository_id"}

// Validate reports whether r can be stored and used. Issuers such as
// gitlab.com and GitHub Actions mint tokens for every project they host, and
// Cairn's public URL, the conventional audience, is no secret: a rule must
// therefore pin the repository (ConstrainsRepository), or it would let any
// project on the issuer act for the rule's project.
func (r TrustRule) Validate() error {
	if err := validateIssuer(r.Issuer); err != nil {
		return err
	}
	if strings.TrimSpace(r.Audience) == "" {
		return errors.New("trust rule: audience is empty")
	}
	if len(r.Conditions) == 0 {
		return errors.New("trust rule: at least one claim condition is required")
	}
	for _, c := range r.Conditions {
		if err := c.Validate(); err != nil {
			return fmt.Errorf("trust rule: %w", err)
		}
	}
	if !slices.ContainsFunc(r.Conditions, ClaimCondition.ConstrainsRepository) {
		return errors.New(`trust rule: at least one condition must pin the repository: project_path, repository or sub ` +
			`with op "equals" or a "glob" whose first path segment has no wildcard ("acme/*" is accepted, "*/*" and "*" are not), ` +
			`or project_id or repository_id with op "equals"`)
	}
	return nil
}

// ConstrainsRepository reports whether c limits tokens to one repository or
// to the repositories of one namespace: a condition on a RepositoryClaims
// claim that is an exact match, or a glob whose first '/'-separated segment
// is literal, so a pattern can never reach other namespaces. Numeric ids
// only count with equals.
func (c ClaimCondition) ConstrainsRepository() bool {
	if !slices.Contains(RepositoryClaims, c.Claim) || c.Value == "" {
		return false
	}
	switch c.Op {
	case OpEquals:
		return true
	case OpGlob:
		if c.Claim == "project_id" || c.Claim == "repository_id" {
			return false
		}
		first, _, _ := strings.Cut(c.Value, "/")
		return first != "" && !strings.ContainsAny(first, `*?[\`)
	}
	return false
}

// validateIssuer accepts absolute https URLs, and plain http only on the
// loopback interface so tests can run a local issuer.
func validateIssuer(issuer string) error {
	u, err := url.Parse(issuer)
	if err != nil {
		return fmt.Errorf("trust rule: issuer %q: %w", issuer, err)
	}
	if u.Host == "" || u.User != nil || u.RawQuery != "" || u.Fragment != "" || u.Opaque != "" {
		return fmt.Errorf("trust rule: issuer %q must be an absolute URL without credentials, query or fragment", issuer)
	}
	switch u.Scheme {
	case "https":
		return nil
	case "http":
		host := u.Hostname()
		if host == "localhost" || net.ParseIP(host).IsLoopback() {
			return nil
		}
	}
	return fmt.Errorf("trust rule: issuer %q must be an https URL", issuer)
}

// RuleSource returns the trust rules naming an issuer; the caller reads them
// from PostgreSQL. Verify evaluates every one of them.
type RuleSource interface {
	TrustRulesForIssuer(ctx context.Context, issuer string) ([]TrustRule, error)
}

// Job is a verified CI job: the identity a job token grants. A token acts for
// each project that has a rule it satisfies, and for no other: a broad rule of
// one project never captures a token another project's rule admits.
type Job struct {
	// ProjectIDs are the projects with a matching rule, distinct, in the
	// order of their first matching rule; never empty.
	ProjectIDs []int64
	// RuleIDs are the matching rules.
	RuleIDs []int64
	Issuer  string
	Subject string
	// Claims are all claims of the token; numbers are json.Number.
	Claims map[string]any
	Expiry time.Time
}

// JobVerifier verifies CI ID tokens against trust rules. It discovers each
// trusted issuer once (and again hourly, in the background) and keeps its key
// set, which go-oidc refreshes when a token names an unknown key. It is safe
// for concurrent use.
type JobVerifier struct {
	client *http.Client
	policy outbound.Policy
	log    *slog.Logger
	now    func() time.Time

	mu      sync.Mutex
	issuers map[string]*issuerState
}

// issuerState is what is known about one issuer; guarded by JobVerifier.mu.
type issuerState struct {
	verifier *oidc.IDTokenVerifier // last successful discovery; nil before
	err      error                 // why the last discovery failed (no response bodies)
	next     time.Time             // when to discover again
	fetching chan struct{}         // closed when the running discovery ends
	keysLog  time.Time             // when a key set failure was last logged
}

// NewJobVerifier returns a verifier that fetches discovery documents and key
// sets with client, which should be outbound.New(policy) (nil: that client
// with a 10s timeout). policy is the operator's CAIRN_OUTBOUND_ALLOW: an
// issuer or key set served over plain http, or from a non-public IP literal,
// is used only when its host is on it. Redirects are not followed. Issuer
// failures are logged on logger (nil: discarded), without response bodies.
func NewJobVerifier(client *http.Client, policy outbound.Policy, logger *slog.Logger) *JobVerifier {
	if client == nil {
		client = outbound.New(policy, outbound.WithTimeout(defaultHTTPTimeout), outbound.WithMaxBody(maxFetchBody))
	}
	c := *client
	base := c.Transport
	if base == nil {
		base = http.DefaultTransport
	}
	c.Transport = &cooldownTransport{base: base, recent: map[string]cachedResponse{}}
	c.CheckRedirect = func(*http.Request, []*http.Request) error { return http.ErrUseLastResponse }
	if logger == nil {
		logger = slog.New(slog.DiscardHandler)
	}
	return &JobVerifier{client: &c, policy: policy, log: logger, now: time.Now, issuers: map[string]*issuerState{}}
}

// LooksLikeJWT reports whether s has the shape of a signed compact JWT:
// three non-empty base64url segments separated by dots. It tells job tokens
// from Cairn's own tokens; it proves nothing about s.
func LooksLikeJWT(s string) bool {
	segments := 0
	n := 0
	for i := 0; i < len(s); i++ {
		switch b := s[i]; {
		case b == '.':
			if n == 0 {
				return false
			}
			segments++
			n = 0
		case b >= 'A' && b <= 'Z', b >= 'a' && b <= 'z', b >= '0' && b <= '9', b == '-', b == '_':
			n++
		default:
			return false
		}
	}
	return segments == 2 && n > 0
}

// invalid builds an error wrapping ErrInvalidJobToken.
func invalid(format string, args ...any) error {
	return fmt.Errorf("%w: %s", ErrInvalidJobToken, fmt.Sprintf(format, args...))
}

// Verify checks raw against the trust rules for its issuer and returns the
// CI job of every rule it satisfies. The token's iss only selects rules;
// discovery is fetched solely for issuers that rules name, and the token's
// iss must equal a rule's issuer exactly. Every refusal wraps
// ErrInvalidJobToken; an error from rules is returned as is, because a
// database failure is not a bad credential.
func (v *JobVerifier) Verify(ctx context.Context, raw string, rules RuleSource) (*Job, error) {
	iss, err := peekIssuer(raw)
	if err != nil {
		return nil, invalid("malformed token: %v", err)
	}
	candidates, err := rules.TrustRulesForIssuer(ctx, iss)
	if err != nil {
		return nil, fmt.Errorf("load trust rules for issuer %q: %w", iss, err)
	}
	var trusted []TrustRule
	for _, r := range candidates {
		// Only well-formed rules for exactly this issuer; anything else the
		// source returned must not widen trust or trigger a fetch.
		if r.Issuer == iss && r.Validate() == nil {
			trusted = append(trusted, r)
		}
	}
	if len(trusted) == 0 {
		return nil, invalid("unknown issuer %q: no project trusts it", iss)
	}

	idv, err := v.verifierFor(ctx, iss)
	if err != nil {
		// The reason was logged by discover; response bodies stay out of it.
		return nil, fmt.Errorf("%w: %w: %q", ErrInvalidJobToken, ErrIssuerUnavailable, iss)
	}
	// go-oidc checks the signature against the issuer's keys and algorithms,
	// the exact issuer and the expiry. The audience is checked per rule below.
	tok, err := idv.Verify(ctx, raw)
	if err != nil {
		var expired *oidc.TokenExpiredError
		if errors.As(err, &expired) {
			if expired.Expiry.IsZero() {
				return nil, invalid("token expired: it has no exp claim")
			}
			return nil, invalid("token expired at %s", expired.Expiry.UTC().Format(time.RFC3339))
		}
		if strings.Contains(err.Error(), keySetUnavailable) {
			return nil, fmt.Errorf("%w: %w: %q: key set", ErrInvalidJobToken, ErrIssuerUnavailable, iss)
		}
		return nil, invalid("verification failed: %v", err)
	}
	var payload json.RawMessage
	if err := tok.Claims(&payload); err != nil {
		return nil, invalid("claims: %v", err)
	}
	claims, err := decodeClaims(payload)
	if err != nil {
		return nil, invalid("claims: %v", err)
	}
	if err := checkTimes(claims, v.now()); err != nil {
		return nil, err
	}

	// Every rule is evaluated: the token acts for each project whose own
	// rule it satisfies, so no rule, however early or broad, can take it
	// away from the project it was minted for.
	job := &Job{Issuer: tok.Issuer, Subject: tok.Subject, Claims: claims, Expiry: tok.Expiry}
	var reasons []string
	for _, r := range trusted {
		if !slices.Contains(tok.Audience, r.Audience) {
			continue
		}
		if err := r.match(claims); err != nil {
			reasons = append(reasons, fmt.Sprintf("rule %d: %v", r.ID, err))
			continue
		}
		job.RuleIDs = append(job.RuleIDs, r.ID)
		if !slices.Contains(job.ProjectIDs, r.ProjectID) {
			job.ProjectIDs = append(job.ProjectIDs, r.ProjectID)
		}
	}
	if len(job.ProjectIDs) > 0 {
		return job, nil
	}
	if len(reasons) == 0 {
		return nil, invalid("wrong audience %q: no trust rule for issuer %q expects it", tok.Audience, iss)
	}
	return nil, invalid("no trust rule matched: %s", strings.Join(reasons, "; "))
}

// peekIssuer reads the iss of a compact JWS without verifying anything.
func peekIssuer(raw string) (string, error) {
	if len(raw) > maxJobTokenLen {
		return "", fmt.Errorf("token longer than %d bytes", maxJobTokenLen)
	}
	if !LooksLikeJWT(raw) {
		return "", errors.New("not a compact JWT")
	}
	jws, err := jose.ParseSignedCompact(raw, signingAlgs)
	if err != nil {
		return "", err
	}
	var claims struct {
		Issuer string `json:"iss"`
	}
	if err := json.Unmarshal(jws.UnsafePayloadWithoutVerification(), &claims); err != nil {
		return "", fmt.Errorf("payload: %v", err)
	}
	if claims.Issuer == "" {
		return "", errors.New("no iss claim")
	}
	return claims.Issuer, nil
}

func decodeClaims(payload []byte) (map[string]any, error) {
	dec := json.NewDecoder(bytes.NewReader(payload))
	dec.UseNumber()
	var claims map[string]any
	if err := dec.Decode(&claims); err != nil {
		return nil, err
	}
	return claims, nil
}

// checkTimes refuses tokens that are not valid yet, with less leeway than
// go-oidc's five minutes for nbf; go-oidc has already checked exp.
func checkTimes(claims map[string]any, now time.Time) error {
	for _, c := range []struct{ name, problem string }{
		{"nbf", "not valid before"},
		{"iat", "issued in the future at"},
	} {
		v, ok := claims[c.name]
		if !ok {
			continue
		}
		n, ok := v.(json.Number)
		if !ok {
			return invalid("claim %q is not a number", c.name)
		}
		secs, err := n.Float64()
		if err != nil {
			return invalid("claim %q: %v", c.name, err)
		}
		at := time.Unix(int64(secs), 0)
		if at.After(now.Add(timeLeeway)) {
			return invalid("token %s %s (%s)", c.problem, at.UTC().Format(time.RFC3339), c.name)
		}
	}
	return nil
}

// match reports why claims fail r's conditions, or nil when all hold.
func (r TrustRule) match(claims map[string]any) error {
	for _, c := range r.Conditions {
		v, ok := claims[c.Claim]
		if !ok || v == nil {
			return fmt.Errorf("claim %q is missing", c.Claim)
		}
		s, ok := claimString(v)
		if !ok {
			return fmt.Errorf("claim %q is not a string, number or boolean", c.Claim)
		}
		if !c.holds(s) {
			return fmt.Errorf("claim %q = %q does not match %s %q", c.Claim, s, c.Op, c.Value)
		}
	}
	return nil
}

func (c ClaimCondition) holds(s string) bool {
	switch c.Op {
	case OpEquals:
		return s == c.Value
	case OpGlob:
		ok, err := path.Match(c.Value, s)
		return err == nil && ok
	}
	return false
}

// claimString is the string form conditions compare: strings as they are,
// numbers as written in the token, booleans as true/false.
func claimString(v any) (string, bool) {
	switch v := v.(type) {
	case string:
		return v, true
	case json.Number:
		return v.String(), true
	case bool:
		return strconv.FormatBool(v), true
	}
	return "", false
}

// verifierFor returns the go-oidc verifier for issuer, discovering it on
// first use. Concurrent callers share one discovery; a stale verifier keeps
// serving while it is refreshed, and a failure is remembered for
// discoveryRetry.
func (v *JobVerifier) verifierFor(ctx context.Context, issuer string) (*oidc.IDTokenVerifier, error) {
	v.mu.Lock()
	s := v.issuers[issuer]
	if s == nil {
		s = &issuerState{}
		v.issuers[issuer] = s
	}
	if s.fetching == nil && !v.now().Before(s.next) {
		s.fetching = make(chan struct{})
		go v.discover(context.WithoutCancel(ctx), issuer, s)
	}
	if s.verifier != nil {
		idv := s.verifier
		v.mu.Unlock()
		return idv, nil
	}
	fetching, lastErr := s.fetching, s.err
	v.mu.Unlock()
	if fetching == nil {
		return nil, lastErr
	}

	select {
	case <-ctx.Done():
		return nil, ctx.Err()
	case <-fetching:
	}
	v.mu.Lock()
	defer v.mu.Unlock()
	if s.verifier != nil {
		return s.verifier, nil
	}
	return nil, s.err
}

// discover fetches issuer's discovery document and records the outcome in
// s. An issuer whose address the outbound policy refuses is not contacted;
// one whose jwks_uri is not on its own host is refused before its key set is
// fetched. A failure is logged once, here, without any response body.
func (v *JobVerifier) discover(ctx context.Context, issuer string, s *issuerState) {
	ctx, cancel := context.WithTimeout(ctx, discoveryTimeout)
	defer cancel()
	idv, reason := v.discoverVerifier(ctx, issuer)

	v.mu.Lock()
	defer v.mu.Unlock()
	if idv == nil {
		v.log.Warn("job token issuer unavailable", "issuer", issuer, "reason", reason)
		s.err = errors.New(reason)
		s.next = v.now().Add(discoveryRetry)
	} else {
		s.verifier = idv
		s.err = nil
		s.next = v.now().Add(discoveryTTL)
	}
	close(s.fetching)
	s.fetching = nil
}

// discoverVerifier returns issuer's verifier, or nil and why not.
func (v *JobVerifier) discoverVerifier(ctx context.Context, issuer string) (*oidc.IDTokenVerifier, string) {
	iu, err := url.Parse(issuer)
	if err != nil {
		return nil, "issuer is not a URL"
	}
	if reason := v.refusedOrigin(iu); reason != "" {
		return nil, "issuer " + reason
	}
	p, err := oidc.NewProvider(oidc.ClientContext(ctx, v.client), issuer)
	if err != nil {
		return nil, "discovery failed: " + fetchFailure(err, "discovery document")
	}
	var doc struct {
		JWKSURI string   `json:"jwks_uri"`
		Algs    []string `json:"id_token_signing_alg_values_supported"`
	}
	if err := p.Claims(&doc); err != nil {
		return nil, "discovery failed: invalid discovery document"
	}
	ju, err := url.Parse(doc.JWKSURI)
	switch {
	case doc.JWKSURI == "":
		return nil, "discovery document has no jwks_uri"
	case err != nil || ju.Host == "" || ju.User != nil || ju.Opaque != "":
		return nil, "jwks_uri is not an absolute URL"
	case !sameOrigin(iu, ju):
		return nil, "jwks_uri is not on the issuer's own host and port"
	}
	if reason := v.refusedOrigin(ju); reason != "" {
		return nil, "jwks_uri " + reason
	}
	var algs []string
	for _, a := range doc.Algs {
		if slices.Contains(signingAlgs, jose.SignatureAlgorithm(a)) {
			algs = append(algs, a)
		}
	}
	// The key set keeps its context for its later fetches: the client, not
	// this discovery's deadline.
	keys := oidc.NewRemoteKeySet(oidc.ClientContext(context.Background(), v.client), ju.String())
	// SkipClientIDCheck: one token may be checked against several rules'
	// audiences; Verify requires one of them to be in aud.
	return oidc.NewVerifier(issuer, &keySet{remote: keys, issuer: issuer, v: v},
		&oidc.Config{SkipClientIDCheck: true, SupportedSigningAlgs: algs, Now: v.now}), ""
}

// refusedOrigin says why u may not be fetched at all ("" if it may): plain
// http, or a non-public IP literal, outside the outbound allow-list. Host
// names are checked after resolution by the outbound client.
func (v *JobVerifier) refusedOrigin(u *url.URL) string {
	switch u.Scheme {
	case "https":
	case "http":
		if !v.policy.Allowed(u.Host) {
			return "uses plain http on a host not in CAIRN_OUTBOUND_ALLOW"
		}
	default:
		return "is not an https URL"
	}
	if a, err := netip.ParseAddr(strings.Trim(u.Hostname(), "[]")); err == nil {
		if kind := outbound.Classify(a); kind != "" && !v.policy.AllowedAddr(a) {
			return "is a " + kind + " address not in CAIRN_OUTBOUND_ALLOW"
		}
	}
	return ""
}

// sameOrigin reports whether b is on a's host and port.
func sameOrigin(a, b *url.URL) bool {
	host := func(u *url.URL) string { return strings.TrimSuffix(strings.ToLower(u.Hostname()), ".") }
	port := func(u *url.URL) string {
		if p := u.Port(); p != "" {
			return p
		}
		if u.Scheme == "http" {
			return "80"
		}
		return "443"
	}
	return host(a) == host(b) && port(a) == port(b)
}

// fetchFailure describes a failed fetch of what without quoting anything the
// server sent: transport errors (refused addresses, timeouts, connection
// failures) as they are, a status by its code, anything else as invalid.
func fetchFailure(err error, what string) string {
	var mismatch *oidc.IssuerMismatchError
	var addr *outbound.AddressError
	var uerr *url.Error
	switch {
	case errors.As(err, &mismatch):
		return what + " names another issuer"
	case errors.As(err, &addr):
		return addr.Error()
	case errors.As(err, &uerr):
		// The connection's fate, from net/http and our transports;
		// cooldownTransport keeps bodies out. Not the URL: a jwks_uri is
		// part of what the issuer sent.
		return "fetching the " + what + ": " + uerr.Err.Error()
	case errors.Is(err, context.DeadlineExceeded):
		return "timed out"
	}
	if code := leadingStatus(err.Error()); code != "" {
		return what + " answered HTTP " + code
	}
	return "invalid " + what
}

// leadingStatus finds the status code go-oidc puts into its errors: at the
// start ("404 Not Found: ...") or after "get keys failed: ".
func leadingStatus(msg string) string {
	if _, rest, ok := strings.Cut(msg, "get keys failed: "); ok {
		msg = rest
	}
	if len(msg) >= 3 && strings.Trim(msg[:3], "0123456789") == "" && (len(msg) == 3 || msg[3] == ' ') {
		return msg[:3]
	}
	return ""
}

// keySet is go-oidc's remote key set with its fetch errors, which quote the
// response body, replaced by keySetUnavailable; the reason is logged here,
// at most once per discoveryRetry per issuer.
type keySet struct {
	remote *oidc.RemoteKeySet
	issuer string
	v      *JobVerifier
}

func (k *keySet) VerifySignature(ctx context.Context, jwt string) ([]byte, error) {
	payload, err := k.remote.VerifySignature(ctx, jwt)
	if err == nil {
		return payload, nil
	}
	// Only errors about the token itself pass; they quote nothing fetched.
	msg := err.Error()
	if msg == "failed to verify id token signature" || strings.HasPrefix(msg, "oidc: malformed jwt") {
		return nil, err
	}
	k.v.keySetFailed(k.issuer, fetchFailure(err, "key set"))
	return nil, errors.New(keySetUnavailable)
}

func (v *JobVerifier) keySetFailed(issuer, reason string) {
	v.mu.Lock()
	s := v.issuers[issuer]
	due := s != nil && v.now().Sub(s.keysLog) >= discoveryRetry
	if due {
		s.keysLog = v.now()
	}
	v.mu.Unlock()
	if due {
		v.log.Warn("job token issuer unavailable", "issuer", issuer, "reason", "key set: "+reason)
	}
}

// cooldownTransport replays a URL's last response for fetchCooldown instead
// of asking the issuer again. It never lets a server's words through: a
// response other than 200 reaches go-oidc, which quotes bodies in its errors,
// with no body, no headers and the standard status text, and a 200 response
// whose body is not JSON is an error that does not quote it.
type cooldownTransport struct {
	base http.RoundTripper

	mu     sync.Mutex
	recent map[string]cachedResponse
}

type cachedResponse struct {
	at     time.Time
	status int
	body   []byte
	err    error // a 200 response that was refused
}

func (t *cooldownTransport) RoundTrip(req *http.Request) (*http.Response, error) {
	if req.Method != http.MethodGet {
		return nil, fmt.Errorf("%s requests are not made to issuers", req.Method)
	}
	key := req.URL.String()
	t.mu.Lock()
	c, ok := t.recent[key]
	t.mu.Unlock()
	if ok && time.Since(c.at) < fetchCooldown {
		if c.err != nil {
			return nil, c.err
		}
		return c.response(req), nil
	}

	resp, err := t.base.RoundTrip(req)
	if err != nil {
		return nil, err
	}
	c = cachedResponse{at: time.Now(), status: resp.StatusCode}
	if resp.StatusCode == http.StatusOK {
		body, err := io.ReadAll(io.LimitReader(resp.Body, maxFetchBody+1))
		resp.Body.Close()
		switch {
		case err != nil:
			return nil, fmt.Errorf("reading the response: %w", err)
		case len(body) > maxFetchBody:
			c.err = fmt.Errorf("response larger than %d bytes", maxFetchBody)
		case !json.Valid(body):
			c.err = errors.New("response is not JSON")
		default:
			c.body = body
		}
	} else {
		io.Copy(io.Discard, io.LimitReader(resp.Body, maxFetchBody))
		resp.Body.Close()
	}
	t.mu.Lock()
	for k, old := range t.recent {
		if time.Since(old.at) >= fetchCooldown {
			delete(t.recent, k)
		}
	}
	t.recent[key] = c
	t.mu.Unlock()
	if c.err != nil {
		return nil, c.err
	}
	return c.response(req), nil
}

func (c cachedResponse) response(req *http.Request) *http.Response {
	h := http.Header{}
	if c.status == http.StatusOK {
		h.Set("Content-Type", "application/json")
	}
	return &http.Response{
		Status:        fmt.Sprintf("%d %s", c.status, http.StatusText(c.status)),
		StatusCode:    c.status,
		Proto:         "HTTP/1.1",
		ProtoMajor:    1,
		ProtoMinor:    1,
		Header:        h,
		Body:          io.NopCloser(bytes.NewReader(c.body)),
		ContentLength: int64(len(c.body)),
		Request:       req,
	}
}
