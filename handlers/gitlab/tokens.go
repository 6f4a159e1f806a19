package gitlab

import (
	"context"
	"net/http"
	"strconv"
	"strings"
	"time"

	"github.com/gin-gonic/gin"

	"github.com/cairn-registry/cairn/handlers/middleware"
	"github.com/cairn-registry/cairn/policies"
	"github.com/cairn-registry/cairn/projects"
	"github.com/cairn-registry/cairn/tokens"
)

// gitlabTokens is what the token endpoints need from the tenancy service.
type gitlabTokens interface {
	CreatePAT(ctx context.Context, p *policies.Principal, userID int64, name string, scopes []string, expiresAt *time.Time) (string, tokens.PersonalAccessToken, error)
	ListPATs(ctx context.Context, p *policies.Principal, userID int64) ([]tokens.PersonalAccessToken, error)
	RevokePAT(ctx context.Context, p *policies.Principal, id int64) error
	CreateDeployToken(ctx context.Context, p *policies.Principal, t projects.Target, in tokens.DeployTokenInput) (string, tokens.DeployToken, error)
	ListDeployTokens(ctx context.Context, p *policies.Principal, t projects.Target) ([]tokens.DeployToken, error)
	RevokeDeployToken(ctx context.Context, p *policies.Principal, t projects.Target, id int64) error
}

func (g *API) registerTokens(api *gin.RouterGroup) {
	api.POST("/users/:user_id/personal_access_tokens", g.createPAT(false))
	api.POST("/user/personal_access_tokens", g.createPAT(true))
	api.GET("/personal_access_tokens", g.listPATs)
	api.GET("/personal_access_tokens/:token_id", g.getPAT)
	api.DELETE("/personal_access_tokens/:token_id", g.revokePAT)
	for _, kind := range []struct {
		prefix  string
		project bool
	}{{"/groups/:id/deploy_tokens", false}, {"/projects/:id/deploy_tokens", true}} {
		api.GET(kind.prefix, g.listDeployTokens(kind.project))
		api.POST(kind.prefix, g.createDeployToken(kind.project))
		api.GET(kind.prefix+"/:token_id", g.getDeployToken(kind.project))
		api.DELETE(kind.prefix+"/:token_id", g.revokeDeployToken(kind.project))
	}
}

// glPAT is GitLab's personal access token shape; expires_at is a date.
// The secret (token) appears only in the response that created it.
type glPAT struct {
	ID          int64      `json:"id"`
	Name        string     `json:"name"`
	Description string     `json:"description"`
	Revoked     bool       `json:"revoked"`
	CreatedAt   time.Time  `json:"created_at"`
	Scopes      []string   `json:"scopes"`
	UserID      int64      `json:"user_id"`
	LastUsedAt  *time.Time `json:"last_used_at"`
	Active      bool       `json:"active"`
	ExpiresAt   *string    `json:"expires_at"`
	Token       string     `json:"token,omitempty"`
}

func glPATJSON(t tokens.PersonalAccessToken, now time.Time) glPAT {
	return glPAT{ID: t.ID, Name: t.Name, Revoked: t.Revoked, CreatedAt: t.CreatedAt, Scopes: t.Scopes, UserID: t.UserID,
		LastUsedAt: t.LastUsedAt, Active: t.Active(now), ExpiresAt: glDate(t.ExpiresAt)}
}

// glTokenRequest creates a personal access or deploy token.
type glTokenRequest struct {
	Name      string   `json:"name" form:"name"`
	Username  string   `json:"username" form:"username"`
	Scopes    []string `json:"scopes" form:"scopes"`
	ExpiresAt glExpiry `json:"expires_at" form:"expires_at"`
}

// createPAT mints a personal access token: for /users/:user_id (an
// administrator, or the user themself) or for /user (the caller). The
// secret is in this response only.
//
// GitLab API docs: https://docs.gitlab.com/api/user_tokens/#create-a-personal-access-token-for-a-user
func (g *API) createPAT(self bool) gin.HandlerFunc {
	return func(c *gin.Context) {
		p := middleware.Principal(c)
		uid := p.UserID
		if !self {
			var ok bool
			if uid, ok = glPathID(c, "user_id"); !ok {
				return
			}
		}
		var req glTokenRequest
		if !glBind(c, &req) {
			return
		}
		secret, t, err := g.tokens.CreatePAT(c.Request.Context(), p, uid, req.Name, req.Scopes, req.ExpiresAt.at)
		if err != nil {
			writeError(c, err)
			return
		}
		out := glPATJSON(t, time.Now())
		out.Token = secret
		c.JSON(http.StatusCreated, out)
	}
}

// listPATs lists the caller's tokens; an administrator sees everyone's, or
// one user's with user_id. revoked, state (active/inactive) and search
// filter as in GitLab.
//
// GitLab API docs: https://docs.gitlab.com/api/personal_access_tokens/#list-all-personal-access-tokens
func (g *API) listPATs(c *gin.Context) {
	pg, ok := g.pageOf(c)
	if !ok {
		return
	}
	uid, _, err := glParam(c.Query("user_id")).int64("user_id")
	if err != nil {
		writeError(c, err)
		return
	}
	rows, err := g.tokens.ListPATs(c.Request.Context(), middleware.Principal(c), uid)
	if err != nil {
		writeError(c, err)
		return
	}
	revoked, filterRevoked := c.GetQuery("revoked")
	state := c.Query("state")
	search := strings.ToLower(c.Query("search"))
	now := time.Now()
	out := []glPAT{}
	for _, t := range rows {
		j := glPATJSON(t, now)
		switch {
		case filterRevoked && strconv.FormatBool(j.Revoked) != revoked,
			state == "active" && !j.Active,
			state == "inactive" && j.Active,
			search != "" && !strings.Contains(strings.ToLower(j.Name), search):
			continue
		}
		out = append(out, j)
	}
	glSendAll(pg, out)
}

// findPAT resolves :token_id, where "self" is the token making the request.
func (g *API) findPAT(c *gin.Context) (tokens.PersonalAccessToken, bool) {
	p := middleware.Principal(c)
	var id int64
	if c.Param("token_id") == "self" {
		id = p.TokenID
	} else {
		var ok bool
		if id, ok = glPathID(c, "token_id"); !ok {
			return tokens.PersonalAccessToken{}, false
		}
	}
	rows, err := g.tokens.ListPATs(c.Request.Context(), p, 0)
	if err != nil {
		writeError(c, err)
		return tokens.PersonalAccessToken{}, false
	}
	for _, t := range rows {
		if t.ID == id {
			return t, true
		}
	}
	writeError(c, policies.NotFound(p))
	return tokens.PersonalAccessToken{}, false
}

// getPAT shows one of the caller's tokens, or any token to an
// administrator; /personal_access_tokens/self is the one in use.
//
// GitLab API docs: https://docs.gitlab.com/api/personal_access_tokens/#get-details-on-a-personal-access-token
func (g *API) getPAT(c *gin.Context) {
	t, ok := g.findPAT(c)
	if !ok {
		return
	}
	c.JSON(http.StatusOK, glPATJSON(t, time.Now()))
}

// revokePAT revokes a token (its owner, or an administrator); 204. With
// "self" it revokes the token making the request, which then stops working.
//
// GitLab API docs: https://docs.gitlab.com/api/personal_access_tokens/#revoke-a-personal-access-token
func (g *API) revokePAT(c *gin.Context) {
	p := middleware.Principal(c)
	id := p.TokenID
	if c.Param("token_id") != "self" {
		var ok bool
		if id, ok = glPathID(c, "token_id"); !ok {
			return
		}
	}
	if err := g.tokens.RevokePAT(c.Request.Context(), p, id); err != nil {
		writeError(c, err)
		return
	}
	c.Status(http.StatusNoContent)
}

// glDeployToken is GitLab's deploy token shape. The secret (token) appears
// only in the response that created it.
type glDeployToken struct {
	ID        int64      `json:"id"`
	Name      string     `json:"name"`
	Username  string     `json:"username"`
	ExpiresAt *time.Time `json:"expires_at"`
	Scopes    []string   `json:"scopes"`
	Revoked   bool       `json:"revoked"`
	Expired   bool       `json:"expired"`
	Token     string     `json:"token,omitempty"`
}

func glDeployTokenJSON(t tokens.DeployToken, now time.Time) glDeployToken {
	return glDeployToken{ID: t.ID, Name: t.Name, Username: t.Username, ExpiresAt: t.ExpiresAt, Scopes: t.Scopes,
		Revoked: t.Revoked, Expired: tokens.Expired(t.ExpiresAt, now)}
}

// listDeployTokens lists a group's (owners) or project's (maintainers)
// deploy tokens, revoked ones included, never their secrets.
//
// GitLab API docs: https://docs.gitlab.com/api/deploy_tokens/#list-project-deploy-tokens
func (g *API) listDeployTokens(project bool) gin.HandlerFunc {
	return func(c *gin.Context) {
		pg, ok := g.pageOf(c)
		if !ok {
			return
		}
		t, ok := g.target(c, project)
		if !ok {
			return
		}
		rows, err := g.tokens.ListDeployTokens(c.Request.Context(), middleware.Principal(c), t)
		if err != nil {
			writeError(c, err)
			return
		}
		now := time.Now()
		active, filterActive := c.GetQuery("active")
		out := make([]glDeployToken, 0, len(rows))
		for _, tok := range rows {
			j := glDeployTokenJSON(tok, now)
			if filterActive && strconv.FormatBool(!j.Revoked && !j.Expired) != active {
				continue
			}
			out = append(out, j)
		}
		glSendAll(pg, out)
	}
}

// getDeployToken shows one deploy token.
//
// GitLab API docs: https://docs.gitlab.com/api/deploy_tokens/#get-a-project-deploy-token
func (g *API) getDeployToken(project bool) gin.HandlerFunc {
	return func(c *gin.Context) {
		id, ok := glPathID(c, "token_id")
		if !ok {
			return
		}
		p := middleware.Principal(c)
		t, ok := g.target(c, project)
		if !ok {
			return
		}
		rows, err := g.tokens.ListDeployTokens(c.Request.Context(), p, t)
		if err != nil {
			writeError(c, err)
			return
		}
		for _, tok := range rows {
			if tok.ID == id {
				c.JSON(http.StatusOK, glDeployTokenJSON(tok, time.Now()))
				return
			}
		}
		writeError(c, policies.NotFound(p))
	}
}

// createDeployToken mints a deploy token (scopes read_package_registry,
// write_package_registry); the secret is in this response only.
//
// GitLab API docs: https://docs.gitlab.com/api/deploy_tokens/#create-a-project-deploy-token
func (g *API) createDeployToken(project bool) gin.HandlerFunc {
	return func(c *gin.Context) {
		var req glTokenRequest
		if !glBind(c, &req) {
			return
		}
		t, ok := g.target(c, project)
		if !ok {
			return
		}
		secret, tok, err := g.tokens.CreateDeployToken(c.Request.Context(), middleware.Principal(c), t,
			tokens.DeployTokenInput{Name: req.Name, Username: req.Username, Scopes: req.Scopes, ExpiresAt: req.ExpiresAt.at})
		if err != nil {
			writeError(c, err)
			return
		}
		out := glDeployTokenJSON(tok, time.Now())
		out.Token = secret
		c.JSON(http.StatusCreated, out)
	}
}

// revokeDeployToken revokes a deploy token (204); it stops working at once
// and stays listed as revoked.
//
// GitLab API docs: https://docs.gitlab.com/api/deploy_tokens/#delete-a-project-deploy-token
func (g *API) revokeDeployToken(project bool) gin.HandlerFunc {
	return func(c *gin.Context) {
		id, ok := glPathID(c, "token_id")
		if !ok {
			return
		}
		t, ok := g.target(c, project)
		if !ok {
			return
		}
		if err := g.tokens.RevokeDeployToken(c.Request.Context(), middleware.Principal(c), t, id); err != nil {
			writeError(c, err)
			return
		}
		c.Status(http.StatusNoContent)
	}
}
