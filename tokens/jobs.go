package tokens

import (
	"bytes"
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"net"
	"net/http"
	"net/url"
	"path"
	"slices"
	"strconv"
	"strings"
	"sync"
	"time"

	"github.com/coreos/go-oidc/v3/oidc"
	jose "github.com/go-jose/go-jose/v4"
)

// Job tokens are OIDC ID tokens minted by a CI platform (GitLab CI
// id_tokens, GitHub Actions) that a project trusts through trust rules; see
// docs/ARCHITECTURE.md, "Tenancy and authorization".

// ErrInvalidJobToken is wrapped by every reason a job token is refused; the
// HTTP layer answers 401 and logs the full text.
var ErrInvalidJobToken = errors.New("invalid job token")

// ErrIssuerUnavailable is wrapped, together with ErrInvalidJobToken, when a
// trusted issuer's discovery document cannot be fetched: worth logging as an
// operational problem rather than as a bad credential.
var ErrIssuerUnavailable = errors.New("job token issuer unavailable")

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

// Validate reports whether r can be stored and used. A rule needs at least
// one condition: issuers such as gitlab.com and GitHub Actions mint tokens
// for every project they host, and Cairn's public URL, the conventional
// audience, is no secret, so issuer and audience alone would trust anyone.
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
	return nil
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
// from PostgreSQL. Verify tries them in the order returned.
type RuleSource interface {
	TrustRulesForIssuer(ctx context.Context, issuer string) ([]TrustRule, error)
}

// Job is a verified CI job: the identity a job token grants.
type Job struct {
	ProjectID int64
	RuleID    int64
	Issuer    string
	Subject   string
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
	now    func() time.Time

	mu      sync.Mutex
	issuers map[string]*issuerState
}

// issuerState is what is known about one issuer; guarded by JobVerifier.mu.
type issuerState struct {
	verifier *oidc.IDTokenVerifier // last successful discovery; nil before
	err      error                 // why the last discovery failed
	next     time.Time             // when to discover again
	fetching chan struct{}         // closed when the running discovery ends
}

// NewJobVerifier returns a verifier that fetches discovery documents and key
// sets with client (nil: a client with a 10s timeout). Redirects are not
// followed.
func NewJobVerifier(client *http.Client) *JobVerifier {
	var c http.Client
	if client != nil {
		c = *client
	} else {
		c.Timeout = defaultHTTPTimeout
	}
	base := c.Transport
	if base == nil {
		base = http.DefaultTransport
	}
	c.Transport = &cooldownTransport{base: base, recent: map[string]cachedResponse{}}
	c.CheckRedirect = func(*http.Request, []*http.Request) error { return http.ErrUseLastResponse }
	return &JobVerifier{client: &c, now: time.Now, issuers: map[string]*issuerState{}}
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
// CI job of the first rule it satisfies. The token's iss only selects rules;
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
		return nil, fmt.Errorf("%w: %w: issuer %q: %w", ErrInvalidJobToken, ErrIssuerUnavailable, iss, err)
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

	var reasons []string
	for _, r := range trusted {
		if !slices.Contains(tok.Audience, r.Audience) {
			continue
		}
		if err := r.match(claims); err != nil {
			reasons = append(reasons, fmt.Sprintf("rule %d: %v", r.ID, err))
			continue
		}
		return &Job{
			ProjectID: r.ProjectID,
			RuleID:    r.ID,
			Issuer:    tok.Issuer,
			Subject:   tok.Subject,
			Claims:    claims,
			Expiry:    tok.Expiry,
		}, nil
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

// discover fetches issuer's discovery document and records the outcome in s.
func (v *JobVerifier) discover(ctx context.Context, issuer string, s *issuerState) {
	ctx, cancel := context.WithTimeout(ctx, discoveryTimeout)
	defer cancel()
	// The provider keeps the client for its key set's later fetches.
	p, err := oidc.NewProvider(oidc.ClientContext(ctx, v.client), issuer)

	v.mu.Lock()
	defer v.mu.Unlock()
	if err != nil {
		s.err = fmt.Errorf("discovery failed: %w", err)
		s.next = v.now().Add(discoveryRetry)
	} else {
		// SkipClientIDCheck: one token may be checked against several rules'
		// audiences; Verify requires one of them to be in aud.
		s.verifier = p.Verifier(&oidc.Config{SkipClientIDCheck: true, Now: v.now})
		s.err = nil
		s.next = v.now().Add(discoveryTTL)
	}
	close(s.fetching)
	s.fetching = nil
}

// cooldownTransport replays a URL's last successful GET response for
// fetchCooldown instead of asking the issuer again.
type cooldownTransport struct {
	base http.RoundTripper

	mu     sync.Mutex
	recent map[string]cachedResponse
}

type cachedResponse struct {
	at     time.Time
	header http.Header
	body   []byte
}

func (t *cooldownTransport) RoundTrip(req *http.Request) (*http.Response, error) {
	if req.Method != http.MethodGet {
		return t.base.RoundTrip(req)
	}
	key := req.URL.String()
	t.mu.Lock()
	c, ok := t.recent[key]
	t.mu.Unlock()
	if ok && time.Since(c.at) < fetchCooldown {
		return c.response(req), nil
	}

	resp, err := t.base.RoundTrip(req)
	if err != nil || resp.StatusCode != http.StatusOK {
		return resp, err
	}
	body, err := io.ReadAll(io.LimitReader(resp.Body, maxFetchBody+1))
	resp.Body.Close()
	if err != nil {
		return nil, err
	}
	if len(body) > maxFetchBody {
		return nil, fmt.Errorf("%s: response larger than %d bytes", key, maxFetchBody)
	}
	c = cachedResponse{at: time.Now(), header: resp.Header.Clone(), body: body}
	t.mu.Lock()
	for k, old := range t.recent {
		if time.Since(old.at) >= fetchCooldown {
			delete(t.recent, k)
		}
	}
	t.recent[key] = c
	t.mu.Unlock()
	return c.response(req), nil
}

func (c cachedResponse) response(req *http.Request) *http.Response {
	return &http.Response{
		Status:        "200 OK",
		StatusCode:    http.StatusOK,
		Proto:         "HTTP/1.1",
		ProtoMajor:    1,
		ProtoMinor:    1,
		Header:        c.header.Clone(),
		Body:          io.NopCloser(bytes.NewReader(c.body)),
		ContentLength: int64(len(c.body)),
		Request:       req,
	}
}
