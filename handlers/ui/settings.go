package ui

import (
	"net/http"
	"strconv"
	"strings"

	"github.com/gin-gonic/gin"

	"github.com/cairn-registry/cairn/policies"
	"github.com/cairn-registry/cairn/tokens"
	"github.com/cairn-registry/cairn/users"
	"github.com/cairn-registry/cairn/views"
	"github.com/cairn-registry/cairn/views/admin"
)

// registerSettings mounts the signed-in user's settings under
// /-/user/settings: profile, personal access tokens, sessions.
func (u *UI) registerSettings(r *gin.Engine) {
	r.GET("/-/user/settings", u.userSettings("profile"))
	r.GET("/-/user/settings/tokens", u.userSettings("tokens"))
	r.POST("/-/user/settings/tokens", u.createPAT)
	r.POST("/-/user/settings/tokens/:id/revoke", u.revokePAT)
	r.GET("/-/user/settings/sessions", u.userSettings("sessions"))
	r.POST("/-/user/settings/sessions/others", u.endOtherSessions)
	r.POST("/-/user/settings/sessions/:handle/revoke", u.revokeSession)
}

var settingsNav = []admin.NavItem{{ID: "profile", Label: "Profile", URL: "/-/user/settings"},
	{ID: "tokens", Label: "Access tokens", URL: "/-/user/settings/tokens"}, {ID: "sessions", Label: "Sessions", URL: "/-/user/settings/sessions"}}

func (u *UI) userSettings(section string) gin.HandlerFunc {
	return func(c *gin.Context) {
		p, ok := u.viewer(c)
		if !ok {
			return
		}
		u.showUserSettings(c, p, section, http.StatusOK, admin.NewForm("read_api", "true"), "")
	}
}

func (u *UI) showUserSettings(c *gin.Context, p *policies.Principal, section string, status int, f admin.Form, secret string) {
	ctx := c.Request.Context()
	me, err := u.users.Me(ctx, p)
	if err != nil {
		writeError(c, err)
		return
	}
	titles := map[string]string{"profile": "Profile", "tokens": "Access tokens", "sessions": "Sessions"}
	s := admin.UserSettings{Frame: admin.Frame{Chrome: u.chrome(c, titles[section]), Heading: "Your settings", Nav: settingsNav, Current: section,
		Crumbs: []views.Crumb{{Label: "Dashboard", URL: "/dashboard"}, {Label: "Settings", URL: "/-/user/settings"}}}, User: me, Form: f, Secret: secret}
	switch section {
	case "tokens":
		pats, err := u.tokens.ListPATs(ctx, p, me.ID)
		if err != nil {
			writeError(c, err)
			return
		}
		for _, t := range pats {
			if t.Name == tokens.LoginTokenName {
				s.Logins = append(s.Logins, t)
			} else {
				s.Tokens = append(s.Tokens, t)
			}
		}
	case "sessions":
		ss, err := u.users.Sessions(ctx, p, me.ID)
		if err != nil {
			writeError(c, err)
			return
		}
		current := users.SessionHandle(u.sessions.GetString(ctx, keySession))
		for _, x := range ss {
			s.Sessions = append(s.Sessions, admin.SessionRow{Session: x, Current: x.ID == current})
		}
	}
	if secret != "" {
		c.Header("Cache-Control", "no-store")
		wholePage(c)
	}
	render(c, status, admin.UserSettingsPage(s))
}

func (u *UI) createPAT(c *gin.Context) {
	p, ok := u.viewer(c)
	if !ok {
		return
	}
	f := formOf(c, "name", "expires_at")
	scopes := scopesOf(c, &f)
	exp, ok := expiry(&f)
	if !ok {
		u.showUserSettings(c, p, "tokens", http.StatusUnprocessableEntity, f, "")
		return
	}
	if strings.TrimSpace(f.V("name")) == tokens.LoginTokenName {
		f.Errors["name"] = "This name is kept for the tokens terraform login creates."
		u.showUserSettings(c, p, "tokens", http.StatusUnprocessableEntity, f, "")
		return
	}
	secret, _, err := u.tokens.CreatePAT(c.Request.Context(), p, p.UserID, f.V("name"), scopes, exp)
	if err != nil {
		if u.formFailed(c, err, &f, "name", "scopes", "expires_at") {
			u.showUserSettings(c, p, "tokens", http.StatusUnprocessableEntity, f, "")
		}
		return
	}
	u.showUserSettings(c, p, "tokens", http.StatusCreated, admin.NewForm("read_api", "true"), secret)
}

func (u *UI) revokePAT(c *gin.Context) {
	p, ok := u.viewer(c)
	if !ok {
		return
	}
	id, err := strconv.ParseInt(c.Param("id"), 10, 64)
	if err != nil {
		NotFound(c)
		return
	}
	if err := u.tokens.RevokePAT(c.Request.Context(), p, id); err != nil {
		u.refused(c, err)
		return
	}
	u.done(c, "/-/user/settings/tokens", "The token was revoked.")
}

func (u *UI) endOtherSessions(c *gin.Context) {
	p, ok := u.viewer(c)
	if !ok {
		return
	}
	n, err := u.users.EndSessions(c.Request.Context(), p, p.UserID, u.sessions.GetString(c.Request.Context(), keySession))
	if err != nil {
		u.refused(c, err)
		return
	}
	u.done(c, "/-/user/settings/sessions", "Signed out "+strconv.FormatInt(n, 10)+" other session(s).")
}

func (u *UI) revokeSession(c *gin.Context) {
	p, ok := u.viewer(c)
	if !ok {
		return
	}
	if err := u.users.RevokeSession(c.Request.Context(), p, p.UserID, c.Param("handle")); err != nil {
		u.refused(c, err)
		return
	}
	u.done(c, "/-/user/settings/sessions", "The session was signed out.")
}
