package tokens

import (
	"context"
	"encoding/json"
	"slices"
	"strconv"
	"strings"
	"time"

	"github.com/jackc/pgx/v5"
	"github.com/jackc/pgx/v5/pgxpool"

	"github.com/cairn-registry/cairn/audit"
	"github.com/cairn-registry/cairn/errs"
	"github.com/cairn-registry/cairn/policies"
	"github.com/cairn-registry/cairn/projects"
	"github.com/cairn-registry/cairn/queries"
)

// Service mints, lists and revokes personal access and deploy tokens and
// manages CI trust rules. Secrets are returned once and stored hashed;
// every change is written with its audit event, and revocations reach the
// credential cache at once.
type Service struct {
	db       *pgxpool.Pool
	authz    *policies.Authorizer
	resolver *Resolver
}

// NewService returns the token service; revocations are forgotten by resolver.
func NewService(db *pgxpool.Pool, authz *policies.Authorizer, resolver *Resolver) *Service {
	return &Service{db: db, authz: authz, resolver: resolver}
}

func (s *Service) tx(ctx context.Context, fn func(q *queries.Queries, tx pgx.Tx) error) error {
	return pgx.BeginFunc(ctx, s.db, func(tx pgx.Tx) error { return fn(queries.New(tx), tx) })
}

func (s *Service) q() *queries.Queries { return queries.New(s.db) }

// revoked drops cached credentials after a committed revocation.
func (s *Service) revoked(err error) error {
	if err == nil && s.resolver != nil {
		s.resolver.Forget()
	}
	return err
}

// PersonalAccessToken is a user's token, without its secret.
type PersonalAccessToken struct {
	ID         int64      `json:"id"`
	UserID     int64      `json:"user_id"`
	Name       string     `json:"name"`
	Prefix     string     `json:"prefix"`
	Scopes     []string   `json:"scopes"`
	ExpiresAt  *time.Time `json:"expires_at"`
	Revoked    bool       `json:"revoked"`
	LastUsedAt *time.Time `json:"last_used_at"`
	CreatedAt  time.Time  `json:"created_at"`
}

// Active reports whether t still works at now.
func (t PersonalAccessToken) Active(now time.Time) bool {
	return !t.Revoked && !Expired(t.ExpiresAt, now)
}

// Expired reports whether an expiry has passed at now.
func Expired(at *time.Time, now time.Time) bool { return at != nil && !now.Before(*at) }

func patOf(t queries.PersonalAccessToken) PersonalAccessToken {
	return PersonalAccessToken{ID: t.ID, UserID: t.UserID, Name: t.Name, Prefix: t.TokenPrefix, Scopes: nonNil(t.Scopes),
		ExpiresAt: t.ExpiresAt, Revoked: t.Revoked, LastUsedAt: t.LastUsedAt, CreatedAt: t.CreatedAt}
}

// DeployToken is a group's or project's token, without its secret.
type DeployToken struct {
	ID         int64      `json:"id"`
	GroupID    *int64     `json:"group_id"`
	ProjectID  *int64     `json:"project_id"`
	Name       string     `json:"name"`
	Username   string     `json:"username"`
	Prefix     string     `json:"prefix"`
	Scopes     []string   `json:"scopes"`
	ExpiresAt  *time.Time `json:"expires_at"`
	Revoked    bool       `json:"revoked"`
	LastUsedAt *time.Time `json:"last_used_at"`
	CreatedAt  time.Time  `json:"created_at"`
}

func deployTokenOf(t queries.DeployToken) DeployToken {
	return DeployToken{ID: t.ID, GroupID: t.GroupID, ProjectID: t.ProjectID, Name: t.Name, Username: t.Username,
		Prefix: t.TokenPrefix, Scopes: nonNil(t.Scopes), ExpiresAt: t.ExpiresAt, Revoked: t.Revoked,
		LastUsedAt: t.LastUsedAt, CreatedAt: t.CreatedAt}
}

// tokenView is what audit events record of a token (never the secret).
type tokenView struct {
	ID        int64      `json:"id"`
	Name      string     `json:"name"`
	Scopes    []string   `json:"scopes"`
	ExpiresAt *time.Time `json:"expires_at"`
	Revoked   bool       `json:"revoked"`
}

func checkScopes(scopes, allowed []string) error {
	if len(scopes) == 0 {
		return errs.Field(errs.Invalid, "scopes", "scopes can't be blank")
	}
	for _, sc := range scopes {
		if !slices.Contains(allowed, sc) {
			return errs.Field(errs.Invalid, "scopes", "scope %q is not one of %s", sc, strings.Join(allowed, ", "))
		}
	}
	return nil
}

func checkExpiry(at *time.Time) error {
	if at != nil && !at.After(time.Now()) {
		return errs.Field(errs.Invalid, "expires_at", "expires_at must be in the future")
	}
	return nil
}

// CreatePAT mints a personal access token for userID: users for themselves
// (with a session or an api-scoped token), admins for anyone. The secret is
// returned once and only its hash is kept.
func (s *Service) CreatePAT(ctx context.Context, p *policies.Principal, userID int64, name string, scopes []string, expiresAt *time.Time) (string, PersonalAccessToken, error) {
	if p.Kind != policies.User {
		return "", PersonalAccessToken{}, policies.NotFound(p)
	}
	if err := s.authz.CheckUser(p, policies.ManageUserTokens, userID); err != nil {
		return "", PersonalAccessToken{}, err
	}
	if strings.TrimSpace(name) == "" {
		return "", PersonalAccessToken{}, errs.Field(errs.Invalid, "name", "name can't be blank")
	}
	if err := checkScopes(scopes, policies.PATScopes); err != nil {
		return "", PersonalAccessToken{}, err
	}
	if err := checkExpiry(expiresAt); err != nil {
		return "", PersonalAccessToken{}, err
	}
	if _, err := s.q().GetUser(ctx, userID); err != nil {
		if errs.IsNoRows(err) {
			return "", PersonalAccessToken{}, policies.NotFound(p)
		}
		return "", PersonalAccessToken{}, err
	}
	return s.mintPAT(ctx, p, userID, name, scopes, expiresAt)
}

func (s *Service) mintPAT(ctx context.Context, p *policies.Principal, userID int64, name string, scopes []string, expiresAt *time.Time) (string, PersonalAccessToken, error) {
	secret, display := NewPAT()
	var row queries.PersonalAccessToken
	err := s.tx(ctx, func(q *queries.Queries, tx pgx.Tx) error {
		var err error
		row, err = q.CreatePersonalAccessToken(ctx, queries.CreatePersonalAccessTokenParams{UserID: userID, Name: name,
			TokenHash: Hash(secret), TokenPrefix: display, Scopes: scopes, ExpiresAt: expiresAt})
		if err != nil {
			return err
		}
		return audit.Record(ctx, tx, p, "create", "personal_access_token", row.ID, nil, tokenView{row.ID, name, scopes, expiresAt, false})
	})
	return secret, patOf(row), err
}

// Bootstrap mints an api-scoped token named "bootstrap" for an active
// administrator (cairn admin bootstrap), as the system principal.
func (s *Service) Bootstrap(ctx context.Context, system *policies.Principal, userID int64) (string, error) {
	secret, _, err := s.mintPAT(ctx, system, userID, "bootstrap", []string{policies.ScopeAPI}, nil)
	return secret, err
}

// ListPATs lists a user's tokens (self or admin); userID 0 lists the
// caller's, or everyone's for an admin.
func (s *Service) ListPATs(ctx context.Context, p *policies.Principal, userID int64) ([]PersonalAccessToken, error) {
	if p.Kind != policies.User {
		return nil, policies.NotFound(p)
	}
	if userID == 0 {
		if s.authz.CheckInstance(p, policies.AdminInstance) != nil {
			userID = p.UserID
		}
	} else if err := s.authz.CheckUser(p, policies.ReadUser, userID); err != nil {
		return nil, errs.ErrForbidden
	}
	var uid *int64
	if userID != 0 {
		uid = &userID
	}
	rows, err := s.q().ListPersonalAccessTokens(ctx, uid)
	if err != nil {
		return nil, err
	}
	out := make([]PersonalAccessToken, len(rows))
	for i, t := range rows {
		out[i] = patOf(t)
	}
	return out, nil
}

// RevokePAT revokes a token (its owner, or an admin).
func (s *Service) RevokePAT(ctx context.Context, p *policies.Principal, id int64) error {
	if p.Kind != policies.User {
		return policies.NotFound(p)
	}
	if p.Scopes != nil && !slices.Contains(p.Scopes, policies.ScopeAPI) {
		return errs.ErrForbidden // managing tokens needs the api scope
	}
	t, err := s.q().GetPersonalAccessToken(ctx, id)
	if err != nil {
		if errs.IsNoRows(err) {
			return policies.NotFound(p)
		}
		return err
	}
	if err := s.authz.CheckUser(p, policies.ManageUserTokens, t.UserID); err != nil {
		return errs.ErrNotFound
	}
	return s.revoked(s.tx(ctx, func(q *queries.Queries, tx pgx.Tx) error {
		n, err := q.RevokePersonalAccessToken(ctx, id)
		if err != nil {
			return err
		}
		if n == 0 {
			return errs.Invalidf("token is already revoked")
		}
		return audit.Record(ctx, tx, p, "revoke", "personal_access_token", id, tokenView{t.ID, t.Name, t.Scopes, t.ExpiresAt, false}, tokenView{t.ID, t.Name, t.Scopes, t.ExpiresAt, true})
	}))
}

// DeployTokenInput creates a deploy token.
type DeployTokenInput struct {
	Name      string
	Username  string
	Scopes    []string
	ExpiresAt *time.Time
}

// checkDeployTarget lets owners of a group and maintainers of a project
// manage their deploy tokens.
func (s *Service) checkDeployTarget(p *policies.Principal, t projects.Target) error {
	a := policies.ManageGroupTokens
	if t.IsProject() {
		a = policies.ManageProjectTokens
	}
	return s.authz.Check(p, a, t.Resource())
}

// CreateDeployToken mints a deploy token for a group (owner) or project
// (maintainer+). The secret is returned once.
func (s *Service) CreateDeployToken(ctx context.Context, p *policies.Principal, t projects.Target, in DeployTokenInput) (string, DeployToken, error) {
	if err := s.checkDeployTarget(p, t); err != nil {
		return "", DeployToken{}, err
	}
	if strings.TrimSpace(in.Name) == "" {
		return "", DeployToken{}, errs.Field(errs.Invalid, "name", "name can't be blank")
	}
	if err := checkScopes(in.Scopes, policies.DeployTokenScopes); err != nil {
		return "", DeployToken{}, err
	}
	if err := checkExpiry(in.ExpiresAt); err != nil {
		return "", DeployToken{}, err
	}
	secret, display := NewDeployToken()
	var row queries.DeployToken
	err := s.tx(ctx, func(q *queries.Queries, tx pgx.Tx) error {
		var err error
		row, err = q.CreateDeployToken(ctx, queries.CreateDeployTokenParams{GroupID: t.GroupID, ProjectID: t.ProjectID, Name: in.Name,
			Username: "pending", TokenHash: Hash(secret), TokenPrefix: display, Scopes: in.Scopes, ExpiresAt: in.ExpiresAt})
		if err != nil {
			return err
		}
		username := in.Username
		if username == "" {
			username = "gitlab+deploy-token-" + strconv.FormatInt(row.ID, 10)
		}
		if err := q.SetDeployTokenUsername(ctx, queries.SetDeployTokenUsernameParams{ID: row.ID, Username: username}); err != nil {
			return err
		}
		row.Username = username
		return audit.Record(ctx, tx, p, "create", "deploy_token", row.ID, nil, tokenView{row.ID, in.Name, in.Scopes, in.ExpiresAt, false})
	})
	return secret, deployTokenOf(row), err
}

// ListDeployTokens lists a group's or project's deploy tokens.
func (s *Service) ListDeployTokens(ctx context.Context, p *policies.Principal, t projects.Target) ([]DeployToken, error) {
	if err := s.checkDeployTarget(p, t); err != nil {
		return nil, err
	}
	var rows []queries.DeployToken
	var err error
	if t.IsProject() {
		rows, err = s.q().ListProjectDeployTokens(ctx, t.ProjectID)
	} else {
		rows, err = s.q().ListGroupDeployTokens(ctx, t.GroupID)
	}
	if err != nil {
		return nil, err
	}
	out := make([]DeployToken, len(rows))
	for i, r := range rows {
		out[i] = deployTokenOf(r)
	}
	return out, nil
}

// RevokeDeployToken revokes one of a group's or project's deploy tokens.
func (s *Service) RevokeDeployToken(ctx context.Context, p *policies.Principal, t projects.Target, id int64) error {
	if err := s.checkDeployTarget(p, t); err != nil {
		return err
	}
	tok, err := s.q().GetDeployToken(ctx, id)
	if err != nil {
		if errs.IsNoRows(err) {
			return policies.NotFound(p)
		}
		return err
	}
	if !sameID(t.ProjectID, tok.ProjectID) && !sameID(t.GroupID, tok.GroupID) {
		return errs.ErrNotFound
	}
	return s.revoked(s.tx(ctx, func(q *queries.Queries, tx pgx.Tx) error {
		if _, err := q.RevokeDeployToken(ctx, id); err != nil {
			return err
		}
		return audit.Record(ctx, tx, p, "revoke", "deploy_token", id, tokenView{tok.ID, tok.Name, tok.Scopes, tok.ExpiresAt, tok.Revoked}, tokenView{tok.ID, tok.Name, tok.Scopes, tok.ExpiresAt, true})
	}))
}

func sameID(a, b *int64) bool { return a != nil && b != nil && *a == *b }

// TrustRuleInput creates a CI trust rule.
type TrustRuleInput struct {
	Issuer      string
	Audience    string
	Conditions  []ConditionJSON
	Description string
}

// CreateTrustRule lets tokens from a CI identity provider act as the
// project's CI job (maintainer+).
func (s *Service) CreateTrustRule(ctx context.Context, p *policies.Principal, pr projects.Project, in TrustRuleInput) (TrustRule, error) {
	if err := s.authz.Check(p, policies.AdminProject, pr.Resource()); err != nil {
		return TrustRule{}, err
	}
	rule := TrustRule{ProjectID: pr.ID, Issuer: in.Issuer, Audience: in.Audience, Description: in.Description}
	for _, c := range in.Conditions {
		rule.Conditions = append(rule.Conditions, ClaimCondition{Claim: c.Claim, Op: c.Op, Value: c.Value})
	}
	if err := rule.Validate(); err != nil {
		return TrustRule{}, errs.Invalidf("%s", strings.TrimPrefix(err.Error(), "trust rule: "))
	}
	conds, _ := json.Marshal(in.Conditions)
	var row queries.JobTrustRule
	err := s.tx(ctx, func(q *queries.Queries, tx pgx.Tx) error {
		var err error
		row, err = q.CreateTrustRule(ctx, queries.CreateTrustRuleParams{ProjectID: pr.ID, Issuer: in.Issuer, Audience: in.Audience,
			Conditions: conds, Description: in.Description})
		if err != nil {
			return err
		}
		return audit.Record(ctx, tx, p, "create", "job_trust_rule", row.ID, nil, row)
	})
	if err != nil {
		return TrustRule{}, err
	}
	return RuleFromRow(row)
}

// ListTrustRules lists a project's trust rules (maintainer+).
func (s *Service) ListTrustRules(ctx context.Context, p *policies.Principal, pr projects.Project) ([]TrustRule, error) {
	if err := s.authz.Check(p, policies.AdminProject, pr.Resource()); err != nil {
		return nil, err
	}
	rows, err := s.q().ListProjectTrustRules(ctx, pr.ID)
	if err != nil {
		return nil, err
	}
	out := make([]TrustRule, 0, len(rows))
	for _, r := range rows {
		rule, err := RuleFromRow(r)
		if err != nil {
			return nil, err
		}
		out = append(out, rule)
	}
	return out, nil
}

// DeleteTrustRule removes a trust rule (maintainer+).
func (s *Service) DeleteTrustRule(ctx context.Context, p *policies.Principal, pr projects.Project, id int64) error {
	if err := s.authz.Check(p, policies.AdminProject, pr.Resource()); err != nil {
		return err
	}
	old, err := s.q().GetTrustRule(ctx, id)
	if err != nil || old.ProjectID != pr.ID {
		return errs.ErrNotFound
	}
	return s.tx(ctx, func(q *queries.Queries, tx pgx.Tx) error {
		if _, err := q.DeleteTrustRule(ctx, queries.DeleteTrustRuleParams{ID: id, ProjectID: pr.ID}); err != nil {
			return err
		}
		return audit.Record(ctx, tx, p, "delete", "job_trust_rule", id, old, nil)
	})
}
