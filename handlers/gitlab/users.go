package gitlab

import (
	"context"
	"net/http"
	"strings"
	"time"

	"github.com/gin-gonic/gin"

	"github.com/cairn-registry/cairn/errs"
	"github.com/cairn-registry/cairn/handlers/middleware"
	"github.com/cairn-registry/cairn/policies"
	"github.com/cairn-registry/cairn/users"
)

// gitlabUsers is what the users endpoints need from the tenancy service.
type gitlabUsers interface {
	Me(ctx context.Context, p *policies.Principal) (users.User, error)
	CreateUser(ctx context.Context, p *policies.Principal, in users.UserInput) (users.User, error)
	GetUser(ctx context.Context, p *policies.Principal, id int64) (users.User, error)
	ListUsers(ctx context.Context, p *policies.Principal, search string, limit, offset int) ([]users.User, error)
	UserByUsername(ctx context.Context, p *policies.Principal, username string) (users.User, error)
	SetBlocked(ctx context.Context, p *policies.Principal, id int64, blocked bool) (users.User, error)
}

func (g *API) registerUsers(api *gin.RouterGroup) {
	api.GET("/user", g.currentUser)
	api.GET("/users", g.listUsers)
	api.POST("/users", g.createUser)
	api.GET("/users/:user_id", g.getUser)
	api.POST("/users/:user_id/block", g.setBlocked(true))
	api.POST("/users/:user_id/unblock", g.setBlocked(false))
}

// glUser is GitLab's user shape. Email and is_admin appear only to the
// user themself and to administrators, as in GitLab.
type glUser struct {
	ID        int64     `json:"id"`
	Username  string    `json:"username"`
	Name      string    `json:"name"`
	State     string    `json:"state"`
	Locked    bool      `json:"locked"`
	CreatedAt time.Time `json:"created_at"`
	Email     string    `json:"email,omitempty"`
	IsAdmin   *bool     `json:"is_admin,omitempty"`
}

func glUserState(blocked bool) string {
	if blocked {
		return "blocked"
	}
	return "active"
}

func glUserJSON(u users.User, full bool) glUser {
	out := glUser{ID: u.ID, Username: u.Username, Name: u.Name, State: glUserState(u.Blocked), CreatedAt: u.CreatedAt}
	if full {
		out.Email = u.Email
		out.IsAdmin = &u.Admin
	}
	return out
}

// currentUser answers who the credentials belong to (401 without a user).
//
// GitLab API docs: https://docs.gitlab.com/api/users/#get-the-current-user
func (g *API) currentUser(c *gin.Context) {
	u, err := g.users.Me(c.Request.Context(), middleware.Principal(c))
	if err != nil {
		writeError(c, err)
		return
	}
	c.JSON(http.StatusOK, glUserJSON(u, true))
}

// listUsers lists users (administrators), or looks one up by exact
// username (any signed-in user, so members can be added by name).
//
// GitLab API docs: https://docs.gitlab.com/api/users/#list-users
func (g *API) listUsers(c *gin.Context) {
	pg, ok := g.pageOf(c)
	if !ok {
		return
	}
	p := middleware.Principal(c)
	if name := strings.TrimSpace(c.Query("username")); name != "" {
		u, err := g.users.UserByUsername(c.Request.Context(), p, name)
		switch {
		case err == nil:
			glSendAll(pg, []glUser{glUserJSON(u, p.Admin || p.UserID == u.ID)})
		case errs.Is(err, errs.NotFound):
			glSendAll(pg, []glUser{})
		default:
			writeError(c, err)
		}
		return
	}
	rows, err := g.users.ListUsers(c.Request.Context(), p, c.Query("search"), pg.limit(), pg.offset())
	if err != nil {
		writeError(c, err)
		return
	}
	out := make([]glUser, 0, len(rows))
	for _, u := range rows {
		out = append(out, glUserJSON(u, true))
	}
	glSendFetched(pg, out)
}

// glUserRequest creates a user.
type glUserRequest struct {
	Username string `json:"username" form:"username"`
	Name     string `json:"name" form:"name"`
	Email    string `json:"email" form:"email"`
	Password string `json:"password" form:"password"`
	Admin    bool   `json:"admin" form:"admin"`
}

// createUser creates a user (administrators). Cairn accepts a user without
// a password: such a user signs in through SSO or uses tokens only.
//
// GitLab API docs: https://docs.gitlab.com/api/users/#create-a-user
func (g *API) createUser(c *gin.Context) {
	var req glUserRequest
	if !glBind(c, &req) {
		return
	}
	u, err := g.users.CreateUser(c.Request.Context(), middleware.Principal(c), users.UserInput{
		Username: req.Username, Name: req.Name, Email: req.Email, Password: req.Password, Admin: req.Admin})
	if err != nil {
		writeError(c, err)
		return
	}
	c.JSON(http.StatusCreated, glUserJSON(u, true))
}

// getUser shows a user to themself or an administrator.
//
// GitLab API docs: https://docs.gitlab.com/api/users/#get-a-single-user
func (g *API) getUser(c *gin.Context) {
	id, ok := glPathID(c, "user_id")
	if !ok {
		return
	}
	u, err := g.users.GetUser(c.Request.Context(), middleware.Principal(c), id)
	if err != nil {
		writeError(c, err)
		return
	}
	c.JSON(http.StatusOK, glUserJSON(u, true))
}

// setBlocked blocks or unblocks a user (administrators); GitLab answers
// 201 with the body true, and client-go's UnblockUser insists on the 201.
// A blocked user's tokens stop working on their next use.
//
// GitLab API docs: https://docs.gitlab.com/api/user_moderation/#block-access-to-a-user
func (g *API) setBlocked(blocked bool) gin.HandlerFunc {
	return func(c *gin.Context) {
		id, ok := glPathID(c, "user_id")
		if !ok {
			return
		}
		if _, err := g.users.SetBlocked(c.Request.Context(), middleware.Principal(c), id, blocked); err != nil {
			writeError(c, err)
			return
		}
		c.JSON(http.StatusCreated, true)
	}
}
