// Package users holds the people of Cairn: accounts, passwords, blocking,
// and Terrareg user groups (named after SSO groups) with their namespace
// permissions. Sign-in sessions and SSO identities belong here too.
package users

import (
	"context"
	"crypto/rand"
	"crypto/subtle"
	"encoding/base64"
	"fmt"
	"regexp"
	"strings"
	"time"

	"github.com/jackc/pgx/v5"
	"github.com/jackc/pgx/v5/pgxpool"
	"golang.org/x/crypto/argon2"

	"github.com/cairn-registry/cairn/audit"
	"github.com/cairn-registry/cairn/errs"
	"github.com/cairn-registry/cairn/policies"
	"github.com/cairn-registry/cairn/queries"
)

// Service manages users and user groups.
type Service struct {
	db    *pgxpool.Pool
	authz *policies.Authorizer
	enf   *policies.Enforcer
	// credentialsChanged is called after a change that revokes or narrows
	// credentials (blocking), so caches drop them at once.
	credentialsChanged func()
}

// New returns the service.
func New(db *pgxpool.Pool, enf *policies.Enforcer) *Service {
	return &Service{db: db, authz: policies.NewAuthorizer(enf), enf: enf}
}

// OnCredentialsChanged registers the hook called after a user is blocked
// or unblocked, or gains or loses the administrator role.
func (s *Service) OnCredentialsChanged(f func()) { s.credentialsChanged = f }

func (s *Service) tx(ctx context.Context, fn func(q *queries.Queries, tx pgx.Tx) error) error {
	return pgx.BeginFunc(ctx, s.db, func(tx pgx.Tx) error { return fn(queries.New(tx), tx) })
}

func (s *Service) q() *queries.Queries { return queries.New(s.db) }

// User is an account. The password hash never leaves this package.
type User struct {
	ID        int64     `json:"id"`
	Username  string    `json:"username"`
	Name      string    `json:"name"`
	Email     string    `json:"email"`
	Admin     bool      `json:"is_admin"`
	Blocked   bool      `json:"blocked"`
	CreatedAt time.Time `json:"created_at"`
}

func userOf(u queries.User) User {
	return User{ID: u.ID, Username: u.Username, Name: u.Name, Email: u.Email, Admin: u.IsAdmin, Blocked: u.Blocked, CreatedAt: u.CreatedAt}
}

// UserInput creates a user.
type UserInput struct {
	Username string
	Name     string
	Email    string
	Password string
	Admin    bool
}

var usernamePattern = regexp.MustCompile(`^[A-Za-z0-9_]([A-Za-z0-9_.-]{0,253}[A-Za-z0-9_])?$`)

// CreateUser creates a user (site admin only).
func (s *Service) CreateUser(ctx context.Context, p *policies.Principal, in UserInput) (User, error) {
	if err := s.authz.CheckInstance(p, policies.AdminInstance); err != nil {
		return User{}, err
	}
	return s.createUser(ctx, p, in)
}

func (s *Service) createUser(ctx context.Context, p *policies.Principal, in UserInput) (User, error) {
	if !usernamePattern.MatchString(in.Username) || strings.Contains(in.Username, "..") {
		return User{}, errs.Field(errs.Invalid, "username", "username %q can contain only letters, digits, '_', '-' and '.', and cannot start or end with '-' or '.'", in.Username)
	}
	hash := ""
	if in.Password != "" {
		if len(in.Password) < 8 {
			return User{}, errs.Field(errs.Invalid, "password", "password is too short (minimum is 8 characters)")
		}
		hash = HashPassword(in.Password)
	}
	if in.Name == "" {
		in.Name = in.Username
	}
	var u queries.User
	err := s.tx(ctx, func(q *queries.Queries, tx pgx.Tx) error {
		var err error
		u, err = q.CreateUser(ctx, queries.CreateUserParams{Username: in.Username, Name: in.Name, Email: in.Email, PasswordHash: hash, IsAdmin: in.Admin})
		if err != nil {
			return errs.OnUnique(err, "username", "Username has already been taken")
		}
		return audit.Record(ctx, tx, p, "create", "user", u.ID, nil, userOf(u))
	})
	return userOf(u), err
}

// GetUser returns a user by id (admins, or the user themself).
func (s *Service) GetUser(ctx context.Context, p *policies.Principal, id int64) (User, error) {
	// GitLab shows public profiles to any user; Cairn shows the username
	// through memberships only, so others get 404.
	if err := s.authz.CheckUser(p, policies.ReadUser, id); err != nil {
		return User{}, err
	}
	u, err := s.q().GetUser(ctx, id)
	if err != nil {
		return User{}, notFound(p, err)
	}
	return userOf(u), nil
}

// Me returns the user behind p.
func (s *Service) Me(ctx context.Context, p *policies.Principal) (User, error) {
	if p.Kind != policies.User {
		return User{}, errs.ErrUnauthenticated
	}
	u, err := s.q().GetUser(ctx, p.UserID)
	return userOf(u), err
}

// ListUsers lists users (site admin).
func (s *Service) ListUsers(ctx context.Context, p *policies.Principal, search string, limit, offset int) ([]User, error) {
	if err := s.authz.CheckInstance(p, policies.AdminInstance); err != nil {
		return nil, err
	}
	var sp *string
	if search != "" {
		sp = &search
	}
	rows, err := s.q().ListUsers(ctx, queries.ListUsersParams{Search: sp, Lim: int32(limit), Off: int32(offset)})
	if err != nil {
		return nil, err
	}
	out := make([]User, len(rows))
	for i, u := range rows {
		out[i] = userOf(u)
	}
	return out, nil
}

// UserByUsername returns a user by name (any signed-in user; used to add
// members).
func (s *Service) UserByUsername(ctx context.Context, p *policies.Principal, username string) (User, error) {
	if p.Kind == policies.Anonymous {
		return User{}, errs.ErrUnauthenticated
	}
	if p.Kind != policies.User {
		return User{}, errs.ErrForbidden
	}
	u, err := s.q().GetUserByUsername(ctx, username)
	if err != nil {
		return User{}, notFound(p, err)
	}
	return userOf(u), nil
}

// SetBlocked blocks or unblocks a user (site admin). A blocked user's
// sessions and tokens stop working on their next use.
func (s *Service) SetBlocked(ctx context.Context, p *policies.Principal, id int64, blocked bool) (User, error) {
	if err := s.authz.CheckInstance(p, policies.AdminInstance); err != nil {
		return User{}, err
	}
	if p.UserID == id && blocked {
		return User{}, errs.Invalidf("you cannot block yourself")
	}
	var u queries.User
	err := s.tx(ctx, func(q *queries.Queries, tx pgx.Tx) error {
		old, err := q.GetUser(ctx, id)
		if err != nil {
			return notFound(p, err)
		}
		if u, err = q.SetUserBlocked(ctx, queries.SetUserBlockedParams{ID: id, Blocked: blocked}); err != nil {
			return err
		}
		if blocked {
			// Signed out everywhere at once: every replica checks the row.
			if _, err := q.DeleteUserSessions(ctx, id); err != nil {
				return err
			}
		}
		return audit.Record(ctx, tx, p, map[bool]string{true: "block", false: "unblock"}[blocked], "user", id, userOf(old), userOf(u))
	})
	if err == nil && s.credentialsChanged != nil {
		s.credentialsChanged()
	}
	return userOf(u), err
}

// SetAdmin makes a user a site administrator or takes the role away (site
// admin). Administrators cannot remove their own flag. Cached principals are
// dropped at once; the users_notify trigger tells the other replicas.
func (s *Service) SetAdmin(ctx context.Context, p *policies.Principal, id int64, admin bool) (User, error) {
	if err := s.authz.CheckInstance(p, policies.AdminInstance); err != nil {
		return User{}, err
	}
	if p.UserID == id && !admin {
		return User{}, errs.Invalidf("you cannot remove your own administrator role")
	}
	var u queries.User
	err := s.tx(ctx, func(q *queries.Queries, tx pgx.Tx) error {
		old, err := q.GetUser(ctx, id)
		if err != nil {
			return notFound(p, err)
		}
		if u, err = q.SetUserAdmin(ctx, queries.SetUserAdminParams{ID: id, IsAdmin: admin}); err != nil {
			return err
		}
		return audit.Record(ctx, tx, p, map[bool]string{true: "make_admin", false: "remove_admin"}[admin], "user", id, userOf(old), userOf(u))
	})
	if err == nil && s.credentialsChanged != nil {
		s.credentialsChanged()
	}
	return userOf(u), err
}

// System is the principal of changes Cairn makes on an operator's behalf
// (cairn admin commands).
var System = &policies.Principal{Kind: policies.User, Username: "system", Admin: true}

// EnsureAdmin creates the site administrator username if no user of that
// name exists (idempotent) and returns it; an existing user must be an
// active administrator.
func (s *Service) EnsureAdmin(ctx context.Context, username string) (User, error) {
	row, err := s.q().GetUserByUsername(ctx, username)
	var u User
	switch {
	case errs.IsNoRows(err):
		if u, err = s.createUser(ctx, System, UserInput{Username: username, Admin: true}); err != nil {
			return u, err
		}
	case err != nil:
		return u, err
	default:
		u = userOf(row)
	}
	if !u.Admin || u.Blocked {
		return u, fmt.Errorf("user %q exists but is not an active administrator", username)
	}
	return u, nil
}

// HashPassword returns an argon2id hash in PHC string format.
func HashPassword(pw string) string {
	salt := make([]byte, 16)
	rand.Read(salt)
	const t, m, par = 2, 64 * 1024, 2
	key := argon2.IDKey([]byte(pw), salt, t, m, par, 32)
	return fmt.Sprintf("$argon2id$v=19$m=%d,t=%d,p=%d$%s$%s", m, t, par,
		base64.RawStdEncoding.EncodeToString(salt), base64.RawStdEncoding.EncodeToString(key))
}

// CheckPassword compares pw with an argon2id hash in constant time.
func CheckPassword(hash, pw string) bool {
	parts := strings.Split(hash, "$")
	if len(parts) != 6 || parts[1] != "argon2id" {
		return false
	}
	var m, t uint32
	var par uint8
	if _, err := fmt.Sscanf(parts[3], "m=%d,t=%d,p=%d", &m, &t, &par); err != nil {
		return false
	}
	salt, err1 := base64.RawStdEncoding.DecodeString(parts[4])
	want, err2 := base64.RawStdEncoding.DecodeString(parts[5])
	if err1 != nil || err2 != nil {
		return false
	}
	got := argon2.IDKey([]byte(pw), salt, t, m, par, uint32(len(want)))
	return subtle.ConstantTimeCompare(got, want) == 1
}

// notFound maps a missing row to the caller-appropriate refusal.
func notFound(p *policies.Principal, err error) error {
	if errs.IsNoRows(err) {
		return policies.NotFound(p)
	}
	return err
}
