package ui

import (
	"crypto/rand"
	"crypto/subtle"
	"encoding/base64"
	"net/http"
	"strings"
	"time"

	"github.com/alexedwards/scs/pgxstore"
	"github.com/alexedwards/scs/v2"
	"github.com/gin-gonic/gin"
	"github.com/jackc/pgx/v5/pgxpool"

	"github.com/cairn-registry/cairn/config"
	"github.com/cairn-registry/cairn/handlers/middleware"
	"github.com/cairn-registry/cairn/policies"
	"github.com/cairn-registry/cairn/views"
)

// Session keys.
const (
	keySession = "sid"   // the secret id of the signed-in session (users.StartSession)
	keyCSRF    = "csrf"  // the session's CSRF token
	keyFlash   = "flash" // a one-time message
	keyName    = "name"  // the signed-in user's display name, for pages
	// OpenID Connect sign-in in flight (kept in the session, so a callback
	// landing on another replica works).
	keyOIDCState    = "oidc_state"
	keyOIDCNonce    = "oidc_nonce"
	keyOIDCVerifier = "oidc_verifier"
	keyOIDCNext     = "oidc_next"
)

// SessionCookie names the browser session cookie.
const SessionCookie = "cairn_session"

// NewSessions returns the session manager: sessions in PostgreSQL (scs's
// pgx store), so every replica shares them; a host-only, HttpOnly,
// SameSite=Lax cookie, Secure whenever the public URL is https.
func NewSessions(pool *pgxpool.Pool, id config.Identity, secure bool) (*scs.SessionManager, *pgxstore.PostgresStore) {
	store := pgxstore.NewWithCleanupInterval(pool, 10*time.Minute)
	sm := scs.New()
	sm.Store = store
	sm.IdleTimeout = id.SessionIdle
	sm.Lifetime = id.SessionLifetime
	sm.Cookie.Name = SessionCookie
	sm.Cookie.HttpOnly = true
	sm.Cookie.Secure = secure
	sm.Cookie.SameSite = http.SameSiteLaxMode
	sm.Cookie.Path = "/"
	sm.Cookie.Persist = false
	sm.ErrorFunc = func(w http.ResponseWriter, r *http.Request, err error) {
		// The session store is PostgreSQL: failing to load or save a session
		// means the database is unreachable.
		w.Header().Set("Content-Type", "text/plain; charset=utf-8")
		w.Header().Set("Retry-After", "5")
		w.WriteHeader(http.StatusServiceUnavailable)
		_, _ = w.Write([]byte("503 Service Unavailable: Cairn cannot reach its database right now. Try again in a moment.\n"))
	}
	return sm, store
}

// Wrap puts the UI engine behind sessions and cross-origin protection:
// scs loads and saves the session around the whole request (a gin
// middleware committing after c.Next would lose Set-Cookie), and
// http.CrossOriginProtection refuses state-changing requests from another
// origin before anything runs.
func Wrap(h http.Handler, sm *scs.SessionManager, log func(r *http.Request)) http.Handler {
	cop := http.NewCrossOriginProtection()
	cop.SetDenyHandler(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		if log != nil {
			log(r)
		}
		w.Header().Set("Content-Type", "text/plain; charset=utf-8")
		w.WriteHeader(http.StatusForbidden)
		_, _ = w.Write([]byte("403 Forbidden: this request came from another site and was refused.\n"))
	}))
	return sm.LoadAndSave(cop.Handler(h))
}

// identify resolves the session to its user (checked against the database
// on every request, so an ended session or a blocked user stops at once on
// every replica) and stores the principal.
func (u *UI) identify(c *gin.Context) {
	ctx := c.Request.Context()
	sid := u.sessions.GetString(ctx, keySession)
	if sid == "" {
		c.Next()
		return
	}
	usr, err := u.users.SessionUser(ctx, sid)
	if err != nil {
		// Ended, expired or blocked: forget it (a fresh, anonymous session).
		if derr := u.sessions.Destroy(ctx); derr != nil {
			middleware.Logger(c).Warn("ending a dead session failed", "error", derr)
		}
		c.Next()
		return
	}
	middleware.SetPrincipal(c, &policies.Principal{Kind: policies.User, UserID: usr.ID, Username: usr.Username, Admin: usr.Admin})
	c.Set(keyName, usr.Name)
	c.Next()
}

// csrfToken returns the session's CSRF token, creating it (and so the
// session) on first use.
func (u *UI) csrfToken(c *gin.Context) string {
	ctx := c.Request.Context()
	if t := u.sessions.GetString(ctx, keyCSRF); t != "" {
		return t
	}
	t := randomToken()
	u.sessions.Put(ctx, keyCSRF, t)
	return t
}

func randomToken() string {
	b := make([]byte, 32)
	if _, err := rand.Read(b); err != nil {
		panic(err)
	}
	return base64.RawURLEncoding.EncodeToString(b)
}

// checkCSRF refuses a state-changing request whose form field csrf_token
// (or X-CSRF-Token header, which htmx sends) does not match the session's
// token — in addition to http.CrossOriginProtection (Wrap).
func (u *UI) checkCSRF(c *gin.Context) {
	switch c.Request.Method {
	case http.MethodGet, http.MethodHead, http.MethodOptions:
		c.Next()
		return
	}
	want := u.sessions.GetString(c.Request.Context(), keyCSRF)
	got := c.GetHeader("X-CSRF-Token")
	if got == "" {
		c.Request.Body = http.MaxBytesReader(c.Writer, c.Request.Body, maxForm)
		got = c.PostForm("csrf_token")
	}
	if want == "" || subtle.ConstantTimeCompare([]byte(got), []byte(want)) != 1 {
		middleware.Logger(c).Warn("refused a request without a valid CSRF token", "path", c.Request.URL.Path)
		c.Abort()
		render(c, http.StatusForbidden, views.Problem(u.chrome(c, "Request refused"), "This form has expired",
			"Cairn could not confirm that this request came from its own page (the form may be old, or the session ended). Go back, reload the page and try again."))
		return
	}
	c.Next()
}

// maxForm bounds the forms the pages accept.
const maxForm = 1 << 20

// chrome is what every page's frame needs for this request. Anonymous
// visitors get no session (and so no CSRF token) unless a page asks for one
// (sign-in): reading pages costs no session write.
func (u *UI) chrome(c *gin.Context, title string) views.Chrome {
	ch := views.Chrome{Title: title, CSRF: u.sessions.GetString(c.Request.Context(), keyCSRF)}
	if p := middleware.Principal(c); p.Kind == policies.User {
		ch.Username, ch.Admin = p.Username, p.Admin
		ch.Name = c.GetString(keyName)
		if ch.Name == "" {
			ch.Name = p.Username
		}
	}
	ch.Flash = u.sessions.PopString(c.Request.Context(), keyFlash)
	return ch
}

// safeNext keeps a post-sign-in destination on this site: a path, never a
// scheme, host or protocol-relative URL.
func safeNext(next string) string {
	if next == "" || !strings.HasPrefix(next, "/") || strings.HasPrefix(next, "//") || strings.HasPrefix(next, "/\\") ||
		strings.ContainsAny(next, "\r\n") {
		return "/"
	}
	return next
}
