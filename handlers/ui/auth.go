package ui

import (
	"fmt"
	"net/http"
	"strings"
	"sync"
	"time"

	"github.com/gin-gonic/gin"

	"github.com/cairn-registry/cairn/errs"
	"github.com/cairn-registry/cairn/handlers/middleware"
	"github.com/cairn-registry/cairn/policies"
	"github.com/cairn-registry/cairn/users"
	"github.com/cairn-registry/cairn/views"
)

// loginPage is GET /login: the password form and/or the SSO button.
func (u *UI) loginPage(c *gin.Context) {
	next := safeNext(c.Query("next"))
	if middleware.Principal(c).Kind == policies.User {
		c.Redirect(http.StatusSeeOther, next)
		return
	}
	u.csrfToken(c) // the form needs one
	render(c, http.StatusOK, views.Login(u.chrome(c, "Sign in"), u.loginForm(next, "", "")))
}

func (u *UI) loginForm(next, username, problem string) views.LoginForm {
	f := views.LoginForm{Next: next, Username: username, Error: problem, Password: u.identity.PasswordLogin}
	if u.sso != nil {
		f.SSOName = u.identity.OIDC.Name
	}
	return f
}

// login is POST /login: a password sign-in. Unknown users and wrong
// passwords get one answer, in constant time; failures are throttled per
// user and per address.
func (u *UI) login(c *gin.Context) {
	if !u.identity.PasswordLogin {
		render(c, http.StatusForbidden, views.Problem(u.chrome(c, "Sign in"), "Password sign-in is off",
			"This registry signs people in through "+u.identity.OIDC.Name+" only."))
		return
	}
	next := safeNext(c.PostForm("next"))
	username := strings.TrimSpace(c.PostForm("username"))
	addr := c.ClientIP()
	if wait := u.throttle.wait(username, addr); wait > 0 {
		c.Header("Retry-After", fmt.Sprint(int(wait.Seconds())+1))
		render(c, http.StatusTooManyRequests, views.Login(u.chrome(c, "Sign in"),
			u.loginForm(next, username, fmt.Sprintf("Too many failed sign-ins. Try again in %d minutes.", int(wait.Minutes())+1))))
		return
	}
	usr, err := u.users.PasswordLogin(c.Request.Context(), username, c.PostForm("password"))
	if errs.Is(err, errs.Unauthenticated) {
		u.throttle.fail(username, addr)
		middleware.Logger(c).Info("password sign-in refused", "username", username)
		render(c, http.StatusUnauthorized, views.Login(u.chrome(c, "Sign in"), u.loginForm(next, username, errs.Message(err))))
		return
	}
	if err != nil {
		writeError(c, err)
		return
	}
	u.throttle.succeed(username, addr)
	if err := u.signIn(c, usr, users.MethodPassword); err != nil {
		writeError(c, err)
		return
	}
	c.Redirect(http.StatusSeeOther, next)
}

// signIn starts a signed-in session for usr: a new session token (no
// fixation), a new CSRF token, and the session's row.
func (u *UI) signIn(c *gin.Context, usr users.User, method string) error {
	ctx := c.Request.Context()
	if err := u.sessions.RenewToken(ctx); err != nil {
		return err
	}
	sid, err := u.users.StartSession(ctx, usr, users.SessionStart{Method: method, UserAgent: c.Request.UserAgent(),
		Address: c.ClientIP(), Lifetime: u.identity.SessionLifetime})
	if err != nil {
		return err
	}
	u.sessions.Put(ctx, keySession, sid)
	u.sessions.Put(ctx, keyCSRF, randomToken())
	middleware.Logger(c).Info("signed in", "username", usr.Username, "method", method)
	return nil
}

// logout is POST /logout: ends the session everywhere.
func (u *UI) logout(c *gin.Context) {
	ctx := c.Request.Context()
	if sid := u.sessions.GetString(ctx, keySession); sid != "" {
		if err := u.users.EndSession(ctx, sid); err != nil {
			writeError(c, err)
			return
		}
	}
	if err := u.sessions.Destroy(ctx); err != nil {
		writeError(c, err)
		return
	}
	c.Redirect(http.StatusSeeOther, "/")
}

// loginThrottle slows password guessing: after maxFailures failures for a
// user name or from an address within loginWindow, sign-ins for it wait
// until the window passes. It is per replica (a guesser spread over
// replicas gets replicas × maxFailures tries per window).
type loginThrottle struct {
	mu       sync.Mutex
	failures map[string][]time.Time
	now      func() time.Time
}

const (
	loginMaxFailures = 5
	loginWindow      = 15 * time.Minute
	loginMaxKeys     = 100_000
)

func newLoginThrottle() *loginThrottle {
	return &loginThrottle{failures: map[string][]time.Time{}, now: time.Now}
}

func throttleKeys(username, addr string) []string {
	return []string{"u:" + strings.ToLower(username), "a:" + addr}
}

// wait is how long a sign-in for username from addr must wait (0: none).
func (t *loginThrottle) wait(username, addr string) time.Duration {
	t.mu.Lock()
	defer t.mu.Unlock()
	now := t.now()
	var longest time.Duration
	for _, k := range throttleKeys(username, addr) {
		recent := t.recent(k, now)
		if len(recent) >= loginMaxFailures {
			if w := recent[0].Add(loginWindow).Sub(now); w > longest {
				longest = w
			}
		}
	}
	return longest
}

func (t *loginThrottle) recent(key string, now time.Time) []time.Time {
	list := t.failures[key]
	i := 0
	for i < len(list) && now.Sub(list[i]) >= loginWindow {
		i++
	}
	list = list[i:]
	if len(list) == 0 {
		delete(t.failures, key)
	} else {
		t.failures[key] = list
	}
	return list
}

func (t *loginThrottle) fail(username, addr string) {
	t.mu.Lock()
	defer t.mu.Unlock()
	if len(t.failures) > loginMaxKeys {
		t.failures = map[string][]time.Time{}
	}
	now := t.now()
	for _, k := range throttleKeys(username, addr) {
		t.failures[k] = append(t.recent(k, now), now)
	}
}

func (t *loginThrottle) succeed(username, addr string) {
	t.mu.Lock()
	defer t.mu.Unlock()
	delete(t.failures, "u:"+strings.ToLower(username))
}
