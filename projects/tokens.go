package projects

import (
	"context"
	"encoding/json"
	"slices"
	"strconv"
	"strings"
	"time"

	"github.com/jackc/pgx/v5"

	"github.com/cairn-registry/cairn/audit"
	"github.com/cairn-registry/cairn/policies"
	"github.com/cairn-registry/cairn/queries"
	"github.com/cairn-registry/cairn/tokens"
)

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
		return invalid("scopes can't be blank")
	}
	for _, sc := range scopes {
		if !slices.Contains(allowed, sc) {
			return invalid("scope %q is not one of %s", sc, strings.Join(allowed, ", "))
		}
	}
	return nil
}

func checkExpiry(at *time.Time) error {
	if at != nil && !at.After(time.Now()) {
		return invalid("expires_at must be in the future")
	}
	return nil
}

// CreatePAT mints a personal access token for userID: users for themselves
// (with a session or an api-scoped token), admins for anyone. The secret is
// returned once and only its hash is kept.
func (s *Service) CreatePAT(ctx context.Context, p *policies.Principal, userID int64, name string, scopes []string, expiresAt *time.Time) (string, queries.PersonalAccessToken, error) {
	if p.Kind != policies.User {
		return "", queries.PersonalAccessToken{}, policies.NotFound(p)
	}
	if p.UserID != userID || p.Scopes != nil && !slices.Contains(p.Scopes, policies.ScopeAPI) {
		if err := s.authz.CheckInstance(p, policies.AdminInstance); err != nil {
			return "", queries.PersonalAccessToken{}, err
		}
	}
	if strings.TrimSpace(name) == "" {
		return "", queries.PersonalAccessToken{}, invalid("name can't be blank")
	}
	if err := checkScopes(scopes, policies.PATScopes); err != nil {
		return "", queries.PersonalAccessToken{}, err
	}
	if err := checkExpiry(expiresAt); err != nil {
		return "", queries.PersonalAccessToken{}, err
	}
	u, err := s.q().GetUser(ctx, userID)
	if err != nil {
		return "", queries.PersonalAccessToken{}, notFound(p, err)
	}
	return s.mintPAT(ctx, p, u, name, scopes, expiresAt)
}

func (s *Service) mintPAT(ctx context.Context, p *policies.Principal, u queries.User, name string, scopes []string, expiresAt *time.Time) (string, queries.PersonalAccessToken, error) {
	secret, display := tokens.NewPAT()
	var row queries.PersonalAccessToken
	err := s.tx(ctx, func(q *queries.Queries, tx pgx.Tx) error {
		var err error
		row, err = q.CreatePersonalAccessToken(ctx, queries.CreatePersonalAccessTokenParams{UserID: u.ID, Name: name,
			TokenHash: tokens.Hash(secret), TokenPrefix: display, Scopes: scopes, ExpiresAt: expiresAt})
		if err != nil {
			return err
		}
		return audit.Record(ctx, tx, p, "create", "personal_access_token", row.ID, nil, tokenView{row.ID, name, scopes, expiresAt, false})
	})
	return secret, row, err
}

// ListPATs lists a user's tokens (self or admin); userID 0 with an admin lists all.
func (s *Service) ListPATs(ctx context.Context, p *policies.Principal, userID int64) ([]queries.PersonalAccessToken, error) {
	if p.Kind != policies.User {
		return nil, policies.NotFound(p)
	}
	if userID != p.UserID {
		if err := s.authz.CheckInstance(p, policies.AdminInstance); err != nil {
			if userID == 0 {
				userID = p.UserID
			} else {
				return nil, err
			}
		}
	}
	var uid *int64
	if userID != 0 {
		uid = &userID
	}
	return s.q().ListPersonalAccessTokens(ctx, uid)
}

// RevokePAT revokes a token (its owner, or an admin).
func (s *Service) RevokePAT(ctx context.Context, p *policies.Principal, id int64) error {
	if p.Kind != policies.User {
		return policies.NotFound(p)
	}
	if p.Scopes != nil && !slices.Contains(p.Scopes, policies.ScopeAPI) {
		return ErrForbidden // managing tokens needs the api scope
	}
	t, err := s.q().GetPersonalAccessToken(ctx, id)
	if err != nil {
		return notFound(p, err)
	}
	if t.UserID != p.UserID && s.authz.CheckInstance(p, policies.AdminInstance) != nil {
		return ErrNotFound
	}
	return s.credentialsDone(s.tx(ctx, func(q *queries.Queries, tx pgx.Tx) error {
		n, err := q.RevokePersonalAccessToken(ctx, id)
		if err != nil {
			return err
		}
		if n == 0 {
			return invalid("token is already revoked")
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

func (s *Service) deployTarget(ctx context.Context, p *policies.Principal, t MemberTarget) (groupID, projectID *int64, err error) {
	if t.Project {
		pr, r, err := s.FindProject(ctx, p, t.Ref)
		if err != nil {
			return nil, nil, err
		}
		if err := s.authz.Check(p, policies.ManageProjectTokens, r); err != nil {
			return nil, nil, err
		}
		return nil, &pr.ID, nil
	}
	g, r, err := s.FindGroup(ctx, p, t.Ref)
	if err != nil {
		return nil, nil, err
	}
	if err := s.authz.Check(p, policies.ManageGroupTokens, r); err != nil {
		return nil, nil, err
	}
	return &g.ID, nil, nil
}

// CreateDeployToken mints a deploy token for a group (owner) or project
// (maintainer+). The secret is returned once.
func (s *Service) CreateDeployToken(ctx context.Context, p *policies.Principal, t MemberTarget, in DeployTokenInput) (string, queries.DeployToken, error) {
	gid, pid, err := s.deployTarget(ctx, p, t)
	if err != nil {
		return "", queries.DeployToken{}, err
	}
	if strings.TrimSpace(in.Name) == "" {
		return "", queries.DeployToken{}, invalid("name can't be blank")
	}
	if err := checkScopes(in.Scopes, policies.DeployTokenScopes); err != nil {
		return "", queries.DeployToken{}, err
	}
	if err := checkExpiry(in.ExpiresAt); err != nil {
		return "", queries.DeployToken{}, err
	}
	secret, display := tokens.NewDeployToken()
	var row queries.DeployToken
	err = s.tx(ctx, func(q *queries.Queries, tx pgx.Tx) error {
		var err error
		row, err = q.CreateDeployToken(ctx, queries.CreateDeployTokenParams{GroupID: gid, ProjectID: pid, Name: in.Name,
			Username: "pending", TokenHash: tokens.Hash(secret), TokenPrefix: display, Scopes: in.Scopes, ExpiresAt: in.ExpiresAt})
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
	return secret, row, err
}

// ListDeployTokens lists a group's or project's deploy tokens.
func (s *Service) ListDeployTokens(ctx context.Context, p *policies.Principal, t MemberTarget) ([]queries.DeployToken, error) {
	gid, pid, err := s.deployTarget(ctx, p, t)
	if err != nil {
		return nil, err
	}
	if pid != nil {
		return s.q().ListProjectDeployTokens(ctx, pid)
	}
	return s.q().ListGroupDeployTokens(ctx, gid)
}

// RevokeDeployToken revokes one of a group's or project's deploy tokens.
func (s *Service) RevokeDeployToken(ctx context.Context, p *policies.Principal, t MemberTarget, id int64) error {
	gid, pid, err := s.deployTarget(ctx, p, t)
	if err != nil {
		return err
	}
	tok, err := s.q().GetDeployToken(ctx, id)
	if err != nil {
		return notFound(p, err)
	}
	if !(pid != nil && tok.ProjectID != nil && *tok.ProjectID == *pid) && !(gid != nil && tok.GroupID != nil && *tok.GroupID == *gid) {
		return ErrNotFound
	}
	return s.credentialsDone(s.tx(ctx, func(q *queries.Queries, tx pgx.Tx) error {
		if _, err := q.RevokeDeployToken(ctx, id); err != nil {
			return err
		}
		return audit.Record(ctx, tx, p, "revoke", "deploy_token", id, tokenView{tok.ID, tok.Name, tok.Scopes, tok.ExpiresAt, tok.Revoked}, tokenView{tok.ID, tok.Name, tok.Scopes, tok.ExpiresAt, true})
	}))
}

// TrustRuleInput creates a CI trust rule.
type TrustRuleInput struct {
	Issuer      string
	Audience    string
	Conditions  []tokens.ConditionJSON
	Description string
}

// CreateTrustRule lets tokens from a CI identity provider act as the
// project's CI job (maintainer+).
func (s *Service) CreateTrustRule(ctx context.Context, p *policies.Principal, projectRef string, in TrustRuleInput) (queries.JobTrustRule, error) {
	pr, r, err := s.FindProject(ctx, p, projectRef)
	if err != nil {
		return queries.JobTrustRule{}, err
	}
	if err := s.authz.Check(p, policies.AdminProject, r); err != nil {
		return queries.JobTrustRule{}, err
	}
	rule := tokens.TrustRule{ProjectID: pr.ID, Issuer: in.Issuer, Audience: in.Audience}
	for _, c := range in.Conditions {
		rule.Conditions = append(rule.Conditions, tokens.ClaimCondition{Claim: c.Claim, Op: c.Op, Value: c.Value})
	}
	if err := rule.Validate(); err != nil {
		return queries.JobTrustRule{}, invalid("%s", strings.TrimPrefix(err.Error(), "trust rule: "))
	}
	conds, _ := json.Marshal(in.Conditions)
	var row queries.JobTrustRule
	err = s.tx(ctx, func(q *queries.Queries, tx pgx.Tx) error {
		row, err = q.CreateTrustRule(ctx, queries.CreateTrustRuleParams{ProjectID: pr.ID, Issuer: in.Issuer, Audience: in.Audience,
			Conditions: conds, Description: in.Description})
		if err != nil {
			return err
		}
		return audit.Record(ctx, tx, p, "create", "job_trust_rule", row.ID, nil, row)
	})
	return row, err
}

// ListTrustRules lists a project's trust rules (maintainer+).
func (s *Service) ListTrustRules(ctx context.Context, p *policies.Principal, projectRef string) ([]queries.JobTrustRule, error) {
	pr, r, err := s.FindProject(ctx, p, projectRef)
	if err != nil {
		return nil, err
	}
	if err := s.authz.Check(p, policies.AdminProject, r); err != nil {
		return nil, err
	}
	return s.q().ListProjectTrustRules(ctx, pr.ID)
}

// DeleteTrustRule removes a trust rule (maintainer+).
func (s *Service) DeleteTrustRule(ctx context.Context, p *policies.Principal, projectRef string, id int64) error {
	pr, r, err := s.FindProject(ctx, p, projectRef)
	if err != nil {
		return err
	}
	if err := s.authz.Check(p, policies.AdminProject, r); err != nil {
		return err
	}
	old, err := s.q().GetTrustRule(ctx, id)
	if err != nil || old.ProjectID != pr.ID {
		return ErrNotFound
	}
	return s.tx(ctx, func(q *queries.Queries, tx pgx.Tx) error {
		if _, err := q.DeleteTrustRule(ctx, queries.DeleteTrustRuleParams{ID: id, ProjectID: pr.ID}); err != nil {
			return err
		}
		return audit.Record(ctx, tx, p, "delete", "job_trust_rule", id, old, nil)
	})
}
