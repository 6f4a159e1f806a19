package gitlab

import (
	"context"
	"net/http"
	"time"

	"github.com/gin-gonic/gin"

	"github.com/cairn-registry/cairn/handlers/middleware"
	"github.com/cairn-registry/cairn/policies"
	"github.com/cairn-registry/cairn/projects"
	"github.com/cairn-registry/cairn/tokens"
)

// gitlabTrust is what the CI trust rule endpoints need from the tenancy
// service.
type gitlabTrust interface {
	CreateTrustRule(ctx context.Context, p *policies.Principal, pr projects.Project, in tokens.TrustRuleInput) (tokens.TrustRule, error)
	ListTrustRules(ctx context.Context, p *policies.Principal, pr projects.Project) ([]tokens.TrustRule, error)
	DeleteTrustRule(ctx context.Context, p *policies.Principal, pr projects.Project, id int64) error
}

// CI trust rules are Cairn's own API (GitLab has no equivalent): a project
// trusts OIDC ID tokens from a CI platform's issuer, for an audience, whose
// claims meet every condition; a JOB-TOKEN (or Bearer) carrying such a
// token then acts as that project's CI job, with no stored secret in CI.
// Maintainers manage them:
//
//	GET    /api/v4/projects/:id/ci_trust_rules
//	POST   /api/v4/projects/:id/ci_trust_rules            → 201
//	DELETE /api/v4/projects/:id/ci_trust_rules/:rule_id   → 204
//
// POST takes (and GET lists, with id, project_id and created_at):
//
//	{
//	  "issuer": "https://gitlab.example.com",
//	  "audience": "https://cairn.example.com",
//	  "conditions": [
//	    {"claim": "project_path", "op": "equals", "value": "acme/vpc"},
//	    {"claim": "ref_type", "op": "equals", "value": "tag"}
//	  ],
//	  "description": "tagged pipelines of acme/vpc publish modules"
//	}
//
// issuer is an https URL (http only for hosts in CAIRN_OUTBOUND_ALLOW),
// audience is required, and the conditions must pin the repository: one on
// project_path, repository or sub that is "equals", or a "glob" (path.Match:
// '*' never crosses '/') whose first segment has no wildcard, so a rule
// cannot capture other tenants' tokens; tokens.TrustRule.Validate decides,
// and a rule that fails is a 400 naming the problem. The issuer's jwks_uri
// must be on the issuer's own host. A job token acts for every project whose
// rule it satisfies, and only for those.
func (g *API) registerTrust(api *gin.RouterGroup) {
	api.GET("/projects/:id/ci_trust_rules", g.listTrustRules)
	api.POST("/projects/:id/ci_trust_rules", g.createTrustRule)
	api.DELETE("/projects/:id/ci_trust_rules/:rule_id", g.deleteTrustRule)
}

// glTrustRule is a CI trust rule as the API shows it.
type glTrustRule struct {
	ID          int64                  `json:"id"`
	ProjectID   int64                  `json:"project_id"`
	Issuer      string                 `json:"issuer"`
	Audience    string                 `json:"audience"`
	Conditions  []tokens.ConditionJSON `json:"conditions"`
	Description string                 `json:"description"`
	CreatedAt   time.Time              `json:"created_at"`
}

// glTrustRuleRequest creates a trust rule.
type glTrustRuleRequest struct {
	Issuer      string                 `json:"issuer" form:"issuer"`
	Audience    string                 `json:"audience" form:"audience"`
	Conditions  []tokens.ConditionJSON `json:"conditions" form:"-"`
	Description string                 `json:"description" form:"description"`
}

func glTrustRuleJSON(r tokens.TrustRule) (glTrustRule, error) {
	conds := []tokens.ConditionJSON{}
	for _, c := range r.Conditions {
		conds = append(conds, tokens.ConditionJSON{Claim: c.Claim, Op: c.Op, Value: c.Value})
	}
	return glTrustRule{ID: r.ID, ProjectID: r.ProjectID, Issuer: r.Issuer, Audience: r.Audience,
		Conditions: conds, Description: r.Description, CreatedAt: r.CreatedAt}, nil
}

// listTrustRules lists a project's trust rules (maintainers).
func (g *API) listTrustRules(c *gin.Context) {
	pg, ok := g.pageOf(c)
	if !ok {
		return
	}
	pr, ok := g.project(c)
	if !ok {
		return
	}
	rows, err := g.trust.ListTrustRules(c.Request.Context(), middleware.Principal(c), pr)
	if err != nil {
		writeError(c, err)
		return
	}
	out := make([]glTrustRule, 0, len(rows))
	for _, r := range rows {
		j, err := glTrustRuleJSON(r)
		if err != nil {
			writeError(c, err)
			return
		}
		out = append(out, j)
	}
	glSendAll(pg, out)
}

// createTrustRule adds a trust rule (maintainers).
func (g *API) createTrustRule(c *gin.Context) {
	var req glTrustRuleRequest
	if !glBind(c, &req) {
		return
	}
	pr, ok := g.project(c)
	if !ok {
		return
	}
	r, err := g.trust.CreateTrustRule(c.Request.Context(), middleware.Principal(c), pr, tokens.TrustRuleInput{
		Issuer: req.Issuer, Audience: req.Audience, Conditions: req.Conditions, Description: req.Description})
	if err != nil {
		writeError(c, err)
		return
	}
	j, err := glTrustRuleJSON(r)
	if err != nil {
		writeError(c, err)
		return
	}
	c.JSON(http.StatusCreated, j)
}

// deleteTrustRule removes a trust rule (maintainers); tokens it admitted
// stop working on their next use.
func (g *API) deleteTrustRule(c *gin.Context) {
	id, ok := glPathID(c, "rule_id")
	if !ok {
		return
	}
	pr, ok := g.project(c)
	if !ok {
		return
	}
	if err := g.trust.DeleteTrustRule(c.Request.Context(), middleware.Principal(c), pr, id); err != nil {
		writeError(c, err)
		return
	}
	c.Status(http.StatusNoContent)
}
