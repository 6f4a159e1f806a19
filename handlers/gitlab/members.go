package gitlab

import (
	"context"
	"net/http"

	"github.com/gin-gonic/gin"

	"github.com/cairn-registry/cairn/handlers/middleware"
	"github.com/cairn-registry/cairn/policies"
	"github.com/cairn-registry/cairn/projects"
)

// gitlabMembers is what the members endpoints need from the tenancy service.
type gitlabMembers interface {
	ListMembers(ctx context.Context, p *policies.Principal, t projects.Target) ([]projects.Member, error)
	GetMember(ctx context.Context, p *policies.Principal, t projects.Target, userID int64) (projects.Member, error)
	SetMember(ctx context.Context, p *policies.Principal, t projects.Target, userID int64, level int32, add bool) (projects.Member, error)
	RemoveMember(ctx context.Context, p *policies.Principal, t projects.Target, userID int64) error
}

func (g *API) registerMembers(api *gin.RouterGroup) {
	for _, kind := range []struct {
		prefix  string
		project bool
	}{{"/groups/:id/members", false}, {"/projects/:id/members", true}} {
		api.GET(kind.prefix, g.listMembers(kind.project))
		api.POST(kind.prefix, g.addMember(kind.project))
		api.GET(kind.prefix+"/:user_id", g.getMember(kind.project))
		api.PUT(kind.prefix+"/:user_id", g.editMember(kind.project))
		api.DELETE(kind.prefix+"/:user_id", g.removeMember(kind.project))
	}
}

// glMember is GitLab's member shape: the user, and their direct role.
type glMember struct {
	ID          int64  `json:"id"`
	Username    string `json:"username"`
	Name        string `json:"name"`
	State       string `json:"state"`
	AccessLevel int32  `json:"access_level"`
}

func glMemberJSON(m projects.Member) glMember {
	return glMember{ID: m.UserID, Username: m.Username, Name: m.Name, State: glUserState(m.Blocked), AccessLevel: m.AccessLevel}
}

// glMemberRequest adds a member or changes their role. access_level is
// GitLab's: 10 guest, 20 reporter, 30 developer, 40 maintainer, 50 owner.
type glMemberRequest struct {
	UserID      glParam `json:"user_id" form:"user_id"`
	Username    string  `json:"username" form:"username"`
	AccessLevel glParam `json:"access_level" form:"access_level"`
	ExpiresAt   *string `json:"expires_at" form:"expires_at"`
}

// level reads the required access_level; Cairn has no expiring
// memberships, so an expiry is refused rather than ignored.
func (r glMemberRequest) level() (int32, error) {
	if r.ExpiresAt != nil && *r.ExpiresAt != "" {
		return 0, glInvalid("expires_at is not supported: Cairn memberships do not expire")
	}
	n, set, err := r.AccessLevel.int64("access_level")
	if err != nil {
		return 0, err
	}
	if !set {
		return 0, glInvalid("access_level is missing")
	}
	if n < 0 || n > 1<<30 {
		return 0, glInvalid("access_level does not have a valid value")
	}
	return int32(n), nil
}

// target resolves :id to the group or project whose members or tokens are
// managed.
func (g *API) target(c *gin.Context, project bool) (projects.Target, bool) {
	if project {
		pr, ok := g.project(c)
		return projects.ProjectTarget(pr), ok
	}
	gr, ok := g.group(c, "id")
	return projects.GroupTarget(gr), ok
}

// listMembers lists direct members of a group or project.
//
// GitLab API docs: https://docs.gitlab.com/api/members/#list-all-members-of-a-group-or-project
func (g *API) listMembers(project bool) gin.HandlerFunc {
	return func(c *gin.Context) {
		pg, ok := g.pageOf(c)
		if !ok {
			return
		}
		t, ok := g.target(c, project)
		if !ok {
			return
		}
		rows, err := g.members.ListMembers(c.Request.Context(), middleware.Principal(c), t)
		if err != nil {
			writeError(c, err)
			return
		}
		out := make([]glMember, 0, len(rows))
		for _, m := range rows {
			out = append(out, glMemberJSON(m))
		}
		glSendAll(pg, out)
	}
}

// getMember shows one direct member.
//
// GitLab API docs: https://docs.gitlab.com/api/members/#get-a-member-of-a-group-or-project
func (g *API) getMember(project bool) gin.HandlerFunc {
	return func(c *gin.Context) {
		uid, ok := glPathID(c, "user_id")
		if !ok {
			return
		}
		t, ok := g.target(c, project)
		if !ok {
			return
		}
		m, err := g.members.GetMember(c.Request.Context(), middleware.Principal(c), t, uid)
		if err != nil {
			writeError(c, err)
			return
		}
		c.JSON(http.StatusOK, glMemberJSON(m))
	}
}

// addMember adds a user (by user_id or username) with a role; an existing
// membership is a 409, as in GitLab.
//
// GitLab API docs: https://docs.gitlab.com/api/members/#add-a-member-to-a-group-or-project
func (g *API) addMember(project bool) gin.HandlerFunc {
	return func(c *gin.Context) {
		var req glMemberRequest
		if !glBind(c, &req) {
			return
		}
		level, err := req.level()
		if err != nil {
			writeError(c, err)
			return
		}
		p := middleware.Principal(c)
		uid, set, err := req.UserID.int64("user_id")
		switch {
		case err != nil:
			writeError(c, err)
			return
		case !set && req.Username == "":
			writeError(c, glInvalid("user_id or username is missing"))
			return
		case !set:
			u, err := g.users.UserByUsername(c.Request.Context(), p, req.Username)
			if err != nil {
				writeError(c, err)
				return
			}
			uid = u.ID
		}
		t, ok := g.target(c, project)
		if !ok {
			return
		}
		m, err := g.members.SetMember(c.Request.Context(), p, t, uid, level, true)
		if err != nil {
			writeError(c, err)
			return
		}
		c.JSON(http.StatusCreated, glMemberJSON(m))
	}
}

// editMember changes a direct member's role.
//
// GitLab API docs: https://docs.gitlab.com/api/members/#edit-a-member-of-a-group-or-project
func (g *API) editMember(project bool) gin.HandlerFunc {
	return func(c *gin.Context) {
		uid, ok := glPathID(c, "user_id")
		if !ok {
			return
		}
		var req glMemberRequest
		if !glBind(c, &req) {
			return
		}
		level, err := req.level()
		if err != nil {
			writeError(c, err)
			return
		}
		t, ok := g.target(c, project)
		if !ok {
			return
		}
		m, err := g.members.SetMember(c.Request.Context(), middleware.Principal(c), t, uid, level, false)
		if err != nil {
			writeError(c, err)
			return
		}
		c.JSON(http.StatusOK, glMemberJSON(m))
	}
}

// removeMember removes a direct membership (204).
//
// GitLab API docs: https://docs.gitlab.com/api/members/#remove-a-member-from-a-group-or-project
func (g *API) removeMember(project bool) gin.HandlerFunc {
	return func(c *gin.Context) {
		uid, ok := glPathID(c, "user_id")
		if !ok {
			return
		}
		t, ok := g.target(c, project)
		if !ok {
			return
		}
		if err := g.members.RemoveMember(c.Request.Context(), middleware.Principal(c), t, uid); err != nil {
			writeError(c, err)
			return
		}
		c.Status(http.StatusNoContent)
	}
}
