package tokens

import (
	"context"
	"crypto/subtle"
	"encoding/json"
	"errors"
	"fmt"
	"strings"
	"sync"
	"time"

	"github.com/jackc/pgx/v5"

	"github.com/cairn-registry/cairn/internal/cache"
	"github.com/cairn-registry/cairn/policies"
	"github.com/cairn-registry/cairn/queries"
)

// Resolver turns a presented credential into a principal.
type Resolver struct {
	db   queries.DBTX
	jobs *JobVerifier
	now  func() time.Time
	// touched remembers when this replica last recorded a token's use, so
	// last_used_at costs a write at most once a minute per token.
	touched sync.Map // "pat:<id>" / "dt:<id>" → time.Time
	cache   *cache.Cache[string, *policies.Principal]
}

const touchEvery = time.Minute

// touch runs write if the token was not touched by this replica recently.
func (r *Resolver) touch(ctx context.Context, key string, write func() error) error {
	now := r.now()
	if last, ok := r.touched.Load(key); ok && now.Sub(last.(time.Time)) < touchEvery {
		return nil
	}
	r.touched.Store(key, now)
	return write()
}

// NewResolver resolves credentials against db, verifying job tokens with jobs.
func NewResolver(db queries.DBTX, jobs *JobVerifier) *Resolver {
	return &Resolver{db: db, jobs: jobs, now: time.Now,
		cache: cache.New[string, *policies.Principal](credentialTTL, maxCachedCredentials)}
}

// Resolve returns the principal for c: anonymous for no credential, or
// ErrInvalidCredentials (wrapped with the reason, for logs only).
func (r *Resolver) Resolve(ctx context.Context, c Credential) (*policies.Principal, error) {
	switch c.Source {
	case None:
		return policies.AnonymousPrincipal, nil
	case PrivateTokenHeader:
		return r.pat(ctx, c.Secret, "")
	case DeployTokenHeader:
		return r.deploy(ctx, c.Secret, "")
	case JobTokenHeader:
		return r.job(ctx, c.Secret)
	case Basic:
		switch {
		case c.Username == JobTokenUsername:
			return r.job(ctx, c.Secret)
		case strings.HasPrefix(c.Secret, DeployPrefix):
			return r.deploy(ctx, c.Secret, c.Username)
		default:
			return r.pat(ctx, c.Secret, c.Username)
		}
	case Bearer, TerraregAPIKey:
		switch {
		case strings.HasPrefix(c.Secret, PATPrefix):
			return r.pat(ctx, c.Secret, "")
		case strings.HasPrefix(c.Secret, DeployPrefix):
			return r.deploy(ctx, c.Secret, "")
		case c.Source == Bearer && LooksLikeJWT(c.Secret):
			return r.job(ctx, c.Secret)
		}
	}
	return nil, fmt.Errorf("%w: unrecognised token", ErrInvalidCredentials)
}

func (r *Resolver) expired(at *time.Time) bool {
	return at != nil && !r.now().Before(*at)
}

// cacheUntil is the expiry bound of a cached token (zero: none).
func cacheUntil(expires *time.Time) time.Time {
	if expires == nil {
		return time.Time{}
	}
	return *expires
}

func (r *Resolver) pat(ctx context.Context, secret, username string) (*policies.Principal, error) {
	if !strings.HasPrefix(secret, PATPrefix) {
		return nil, fmt.Errorf("%w: not a personal access token", ErrInvalidCredentials)
	}
	h := Hash(secret)
	key := string(h)
	gen := r.cache.Generation()
	if p, ok := r.cache.Get(key, r.now()); ok {
		if username != "" && !strings.EqualFold(username, p.Username) {
			return nil, fmt.Errorf("%w: basic auth user does not own the token", ErrInvalidCredentials)
		}
		return p, nil
	}
	t, err := queries.New(r.db).GetPersonalAccessTokenByHash(ctx, h)
	if errors.Is(err, pgx.ErrNoRows) {
		return nil, fmt.Errorf("%w: unknown personal access token", ErrInvalidCredentials)
	} else if err != nil {
		return nil, err
	}
	switch {
	case subtle.ConstantTimeCompare(t.TokenHash, h) != 1:
		return nil, fmt.Errorf("%w: hash mismatch", ErrInvalidCredentials)
	case t.Revoked:
		return nil, fmt.Errorf("%w: personal access token %d is revoked", ErrInvalidCredentials, t.ID)
	case r.expired(t.ExpiresAt):
		return nil, fmt.Errorf("%w: personal access token %d expired", ErrInvalidCredentials, t.ID)
	case t.Blocked:
		return nil, fmt.Errorf("%w: user %s is blocked", ErrInvalidCredentials, t.Username)
	case username != "" && !strings.EqualFold(username, t.Username):
		return nil, fmt.Errorf("%w: basic auth user does not own the token", ErrInvalidCredentials)
	}
	if err := r.touch(ctx, fmt.Sprint("pat:", t.ID), func() error { return queries.New(r.db).TouchPersonalAccessToken(ctx, t.ID) }); err != nil {
		return nil, err
	}
	p := &policies.Principal{Kind: policies.User, UserID: t.UserID, Username: t.Username,
		Admin: t.IsAdmin, Scopes: nonNil(t.Scopes), TokenID: t.ID}
	r.cache.Put(gen, key, p, r.now(), cacheUntil(t.ExpiresAt))
	return p, nil
}

func (r *Resolver) deploy(ctx context.Context, secret, username string) (*policies.Principal, error) {
	if !strings.HasPrefix(secret, DeployPrefix) {
		return nil, fmt.Errorf("%w: not a deploy token", ErrInvalidCredentials)
	}
	h := Hash(secret)
	key := string(h)
	gen := r.cache.Generation()
	if p, ok := r.cache.Get(key, r.now()); ok {
		if username != "" && subtle.ConstantTimeCompare([]byte(username), []byte(p.Username)) != 1 {
			return nil, fmt.Errorf("%w: basic auth user does not match the deploy token", ErrInvalidCredentials)
		}
		return p, nil
	}
	t, err := queries.New(r.db).GetDeployTokenByHash(ctx, h)
	if errors.Is(err, pgx.ErrNoRows) {
		return nil, fmt.Errorf("%w: unknown deploy token", ErrInvalidCredentials)
	} else if err != nil {
		return nil, err
	}
	switch {
	case subtle.ConstantTimeCompare(t.TokenHash, h) != 1:
		return nil, fmt.Errorf("%w: hash mismatch", ErrInvalidCredentials)
	case t.Revoked:
		return nil, fmt.Errorf("%w: deploy token %d is revoked", ErrInvalidCredentials, t.ID)
	case r.expired(t.ExpiresAt):
		return nil, fmt.Errorf("%w: deploy token %d expired", ErrInvalidCredentials, t.ID)
	case username != "" && subtle.ConstantTimeCompare([]byte(username), []byte(t.Username)) != 1:
		return nil, fmt.Errorf("%w: basic auth user does not match the deploy token", ErrInvalidCredentials)
	}
	if err := r.touch(ctx, fmt.Sprint("dt:", t.ID), func() error { return queries.New(r.db).TouchDeployToken(ctx, t.ID) }); err != nil {
		return nil, err
	}
	p := &policies.Principal{Kind: policies.DeployToken, Username: t.Username, Scopes: nonNil(t.Scopes), TokenID: t.ID}
	if t.GroupID != nil {
		p.DeployDomain = policies.GroupDomain(*t.GroupID)
	} else if t.ProjectID != nil {
		p.DeployDomain = policies.ProjectDomain(*t.ProjectID)
	}
	r.cache.Put(gen, key, p, r.now(), cacheUntil(t.ExpiresAt))
	return p, nil
}

func (r *Resolver) job(ctx context.Context, raw string) (*policies.Principal, error) {
	if r.jobs == nil || !LooksLikeJWT(raw) {
		return nil, fmt.Errorf("%w: not a job token", ErrInvalidCredentials)
	}
	j, err := r.jobs.Verify(ctx, raw, dbRules{r.db})
	if err != nil {
		return nil, fmt.Errorf("%w: %w", ErrInvalidCredentials, err)
	}
	return &policies.Principal{Kind: policies.Job, JobProjectIDs: j.ProjectIDs, Username: j.Subject}, nil
}

func nonNil(s []string) []string {
	if s == nil {
		return []string{}
	}
	return s
}

// ConditionJSON is how a claim condition is stored and sent over the API.
type ConditionJSON struct {
	Claim string `json:"claim"`
	Op    string `json:"op"`
	Value string `json:"value"`
}

// dbRules reads trust rules from PostgreSQL.
type dbRules struct{ db queries.DBTX }

func (d dbRules) TrustRulesForIssuer(ctx context.Context, issuer string) ([]TrustRule, error) {
	rows, err := queries.New(d.db).ListTrustRulesForIssuer(ctx, issuer)
	if err != nil {
		return nil, err
	}
	out := make([]TrustRule, 0, len(rows))
	for _, row := range rows {
		rule, err := RuleFromRow(row)
		if err != nil {
			return nil, err
		}
		out = append(out, rule)
	}
	return out, nil
}

// RuleFromRow decodes a stored trust rule.
func RuleFromRow(row queries.JobTrustRule) (TrustRule, error) {
	var conds []ConditionJSON
	if err := json.Unmarshal(row.Conditions, &conds); err != nil {
		return TrustRule{}, fmt.Errorf("trust rule %d: bad conditions: %w", row.ID, err)
	}
	rule := TrustRule{ID: row.ID, ProjectID: row.ProjectID, Issuer: row.Issuer, Audience: row.Audience,
		Description: row.Description, CreatedAt: row.CreatedAt}
	for _, c := range conds {
		rule.Conditions = append(rule.Conditions, ClaimCondition{Claim: c.Claim, Op: c.Op, Value: c.Value})
	}
	return rule, nil
}
