package users

import (
	"context"
	"crypto/rand"
	"crypto/sha256"
	"encoding/base64"
	"strings"
	"time"

	"github.com/jackc/pgx/v5"

	"github.com/cairn-registry/cairn/audit"
	"github.com/cairn-registry/cairn/errs"
	"github.com/cairn-registry/cairn/policies"
	"github.com/cairn-registry/cairn/queries"
)

// Sign-in methods of a browser session.
const (
	MethodPassword = "password"
	MethodSSO      = "sso"
)

// Session is a signed-in browser session as its user sees it.
type Session struct {
	// ID identifies the session to its user (not the secret session id).
	ID         string
	Method     string
	UserAgent  string
	Address    string
	CreatedAt  time.Time
	LastSeenAt time.Time
	ExpiresAt  time.Time
}

// SessionStart describes a sign-in.
type SessionStart struct {
	Method    string
	UserAgent string
	Address   string
	Lifetime  time.Duration
}

// sessionTouchEvery bounds how often a session's last-seen time is written.
const sessionTouchEvery = time.Minute

// StartSession records a signed-in browser session of u and returns its
// secret id, which the browser session (scs) keeps; only its hash is stored.
func (s *Service) StartSession(ctx context.Context, u User, in SessionStart) (string, error) {
	b := make([]byte, 32)
	if _, err := rand.Read(b); err != nil {
		return "", err
	}
	sid := base64.RawURLEncoding.EncodeToString(b)
	ua := in.UserAgent
	if len(ua) > 256 {
		ua = ua[:256]
	}
	err := queries.New(s.db).CreateUserSession(ctx, queries.CreateUserSessionParams{ID: sessionHash(sid), UserID: u.ID,
		Method: in.Method, UserAgent: ua, Address: in.Address, ExpiresAt: time.Now().Add(in.Lifetime)})
	return sid, err
}

func sessionHash(sid string) []byte {
	h := sha256.Sum256([]byte(sid))
	return h[:]
}

// SessionHandle is how a session is named to its user: a short, stable,
// non-secret form of its hash.
func SessionHandle(sid string) string { return handleOf(sessionHash(sid)) }

func handleOf(hash []byte) string { return base64.RawURLEncoding.EncodeToString(hash[:9]) }

// SessionUser returns the user of a live session id: the session exists (it
// was not ended), has not expired, and its user is not blocked. Anything
// else is errs.ErrUnauthenticated.
func (s *Service) SessionUser(ctx context.Context, sid string) (User, error) {
	if sid == "" {
		return User{}, errs.ErrUnauthenticated
	}
	q := queries.New(s.db)
	id := sessionHash(sid)
	row, err := q.SessionUser(ctx, id)
	if errs.IsNoRows(err) {
		return User{}, errs.ErrUnauthenticated
	} else if err != nil {
		return User{}, err
	}
	if time.Since(row.SessionSeenAt) > sessionTouchEvery {
		_ = q.TouchUserSession(ctx, id)
	}
	return User{ID: row.ID, Username: row.Username, Name: row.Name, Email: row.Email, Admin: row.IsAdmin,
		Blocked: row.Blocked, CreatedAt: row.CreatedAt}, nil
}

// EndSession ends one session by its secret id (sign-out).
func (s *Service) EndSession(ctx context.Context, sid string) error {
	_, err := queries.New(s.db).DeleteUserSession(ctx, sessionHash(sid))
	return err
}

// Sessions lists a user's live sessions (the user themself or an admin).
func (s *Service) Sessions(ctx context.Context, p *policies.Principal, userID int64) ([]Session, error) {
	if err := s.authz.CheckUser(p, policies.ReadUser, userID); err != nil {
		return nil, err
	}
	rows, err := queries.New(s.db).ListUserSessions(ctx, userID)
	if err != nil {
		return nil, err
	}
	out := make([]Session, len(rows))
	for i, r := range rows {
		out[i] = Session{ID: handleOf(r.ID), Method: r.Method, UserAgent: r.UserAgent, Address: r.Address,
			CreatedAt: r.CreatedAt, LastSeenAt: r.LastSeenAt, ExpiresAt: r.ExpiresAt}
	}
	return out, nil
}

// RevokeSession ends one of a user's sessions named by its handle.
func (s *Service) RevokeSession(ctx context.Context, p *policies.Principal, userID int64, handle string) error {
	if err := s.authz.CheckUser(p, policies.ManageUserTokens, userID); err != nil {
		return err
	}
	q := queries.New(s.db)
	rows, err := q.ListUserSessions(ctx, userID)
	if err != nil {
		return err
	}
	for _, r := range rows {
		if handleOf(r.ID) == handle {
			_, err := q.DeleteUserSessionOf(ctx, queries.DeleteUserSessionOfParams{ID: r.ID, UserID: userID})
			return err
		}
	}
	return errs.ErrNotFound
}

// EndSessions ends every session of userID but keepSID's ("" ends all):
// the user signing out elsewhere, or an admin signing a user out everywhere.
func (s *Service) EndSessions(ctx context.Context, p *policies.Principal, userID int64, keepSID string) (int64, error) {
	if err := s.authz.CheckUser(p, policies.ManageUserTokens, userID); err != nil {
		return 0, err
	}
	var n int64
	err := s.tx(ctx, func(q *queries.Queries, tx pgx.Tx) error {
		var err error
		if keepSID == "" {
			n, err = q.DeleteUserSessions(ctx, userID)
		} else {
			n, err = q.DeleteOtherUserSessions(ctx, queries.DeleteOtherUserSessionsParams{UserID: userID, Keep: sessionHash(keepSID)})
		}
		if err != nil {
			return err
		}
		return audit.Record(ctx, tx, p, "end_sessions", "user", userID, nil, map[string]int64{"sessions": n})
	})
	return n, err
}

// errBadLogin is the one answer to a failed password sign-in, whether the
// user is unknown, blocked, has no password, or the password is wrong.
var errBadLogin = errs.Field(errs.Unauthenticated, "password", "Invalid username or password.")

// dummyHash is checked when the user is unknown, so a sign-in costs the same
// whether or not the user exists.
var dummyHash = HashPassword("cairn-dummy-password-for-timing")

// PasswordLogin checks a username and password (constant time, one error
// for every failure) and returns the user.
func (s *Service) PasswordLogin(ctx context.Context, username, password string) (User, error) {
	row, err := queries.New(s.db).GetUserByUsername(ctx, strings.TrimSpace(username))
	if err != nil && !errs.IsNoRows(err) {
		return User{}, err
	}
	hash := row.PasswordHash
	if err != nil || hash == "" {
		hash = dummyHash
	}
	ok := CheckPassword(hash, password)
	if err != nil || row.PasswordHash == "" || !ok || row.Blocked {
		return User{}, errBadLogin
	}
	return userOf(row), nil
}

// SetPassword sets a user's password (cairn admin set-password, or bootstrap).
func (s *Service) SetPassword(ctx context.Context, username, password string) (User, error) {
	if len(password) < 8 {
		return User{}, errs.Field(errs.Invalid, "password", "password is too short (minimum is 8 characters)")
	}
	var u queries.User
	err := s.tx(ctx, func(q *queries.Queries, tx pgx.Tx) error {
		var err error
		u, err = q.GetUserByUsername(ctx, username)
		if err != nil {
			if errs.IsNoRows(err) {
				return errs.Field(errs.NotFound, "username", "user %q does not exist", username)
			}
			return err
		}
		if err := q.SetUserPassword(ctx, queries.SetUserPasswordParams{ID: u.ID, PasswordHash: HashPassword(password)}); err != nil {
			return err
		}
		return audit.Record(ctx, tx, System, "set_password", "user", u.ID, nil, map[string]string{"username": u.Username})
	})
	return userOf(u), err
}
