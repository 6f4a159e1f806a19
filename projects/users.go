package projects

import (
	"context"
	"crypto/rand"
	"crypto/subtle"
	"encoding/base64"
	"errors"
	"fmt"
	"regexp"
	"strings"

	"github.com/jackc/pgx/v5"
	"golang.org/x/crypto/argon2"

	"github.com/cairn-registry/cairn/audit"
	"github.com/cairn-registry/cairn/policies"
	"github.com/cairn-registry/cairn/queries"
)

// UserInput creates a user.
type UserInput struct {
	Username string
	Name     string
	Email    string
	Password string
	Admin    bool
}

var usernamePattern = regexp.MustCompile(`^[A-Za-z0-9_]([A-Za-z0-9_.-]{0,253}[A-Za-z0-9_])?$`)

// userView is what audit events record of a user (never the hash).
type userView struct {
	ID       int64  `json:"id"`
	Username string `json:"username"`
	Name     string `json:"name"`
	Email    string `json:"email"`
	Admin    bool   `json:"is_admin"`
	Blocked  bool   `json:"blocked"`
}

func viewOf(u queries.User) userView {
	return userView{u.ID, u.Username, u.Name, u.Email, u.IsAdmin, u.Blocked}
}

// CreateUser creates a user (site admin only).
func (s *Service) CreateUser(ctx context.Context, p *policies.Principal, in UserInput) (queries.User, error) {
	if err := s.authz.CheckInstance(p, policies.AdminInstance); err != nil {
		return queries.User{}, err
	}
	return s.createUser(ctx, p, in)
}

func (s *Service) createUser(ctx context.Context, p *policies.Principal, in UserInput) (queries.User, error) {
	if !usernamePattern.MatchString(in.Username) || strings.Contains(in.Username, "..") {
		return queries.User{}, invalid("username %q can contain only letters, digits, '_', '-' and '.', and cannot start or end with '-' or '.'", in.Username)
	}
	hash := ""
	if in.Password != "" {
		if len(in.Password) < 8 {
			return queries.User{}, invalid("password is too short (minimum is 8 characters)")
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
			return uniqueConflict(err, "Username has already been taken")
		}
		return audit.Record(ctx, tx, p, "create", "user", u.ID, nil, viewOf(u))
	})
	return u, err
}

// GetUser returns a user by id (admins, or the user themself).
func (s *Service) GetUser(ctx context.Context, p *policies.Principal, id int64) (queries.User, error) {
	if p.Kind == policies.Anonymous {
		return queries.User{}, ErrUnauthenticated
	}
	if !(p.Kind == policies.User && p.UserID == id) && s.authz.CheckInstance(p, policies.AdminInstance) != nil {
		// GitLab shows public profiles to any user; Cairn shows the
		// username through memberships only, so others get 404.
		return queries.User{}, ErrNotFound
	}
	u, err := s.q().GetUser(ctx, id)
	if err != nil {
		return u, notFound(p, err)
	}
	return u, nil
}

// Me returns the user behind p.
func (s *Service) Me(ctx context.Context, p *policies.Principal) (queries.User, error) {
	if p.Kind != policies.User {
		return queries.User{}, ErrUnauthenticated
	}
	return s.q().GetUser(ctx, p.UserID)
}

// ListUsers lists users (site admin).
func (s *Service) ListUsers(ctx context.Context, p *policies.Principal, search string, limit, offset int) ([]queries.User, error) {
	if err := s.authz.CheckInstance(p, policies.AdminInstance); err != nil {
		return nil, err
	}
	var sp *string
	if search != "" {
		sp = &search
	}
	return s.q().ListUsers(ctx, queries.ListUsersParams{Search: sp, Lim: int32(limit), Off: int32(offset)})
}

// FindUserByUsername returns a user by name (any authenticated user; used
// to add members).
func (s *Service) FindUserByUsername(ctx context.Context, p *policies.Principal, username string) (queries.User, error) {
	if p.Kind == policies.Anonymous {
		return queries.User{}, ErrUnauthenticated
	}
	if p.Kind != policies.User {
		return queries.User{}, ErrForbidden
	}
	u, err := s.q().GetUserByUsername(ctx, username)
	if err != nil {
		return u, notFound(p, err)
	}
	return u, nil
}

// SetBlocked blocks or unblocks a user (site admin). A blocked user's
// sessions and tokens stop working on their next use.
func (s *Service) SetBlocked(ctx context.Context, p *policies.Principal, id int64, blocked bool) (queries.User, error) {
	if err := s.authz.CheckInstance(p, policies.AdminInstance); err != nil {
		return queries.User{}, err
	}
	if p.UserID == id && blocked {
		return queries.User{}, invalid("you cannot block yourself")
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
		return audit.Record(ctx, tx, p, map[bool]string{true: "block", false: "unblock"}[blocked], "user", id, viewOf(old), viewOf(u))
	})
	return u, s.credentialsDone(err)
}

// Bootstrap creates the first site admin if no user of that name exists
// (idempotent) and mints a new personal access token with api scope.
func (s *Service) Bootstrap(ctx context.Context, username string) (queries.User, string, error) {
	system := &policies.Principal{Kind: policies.User, Username: "system", Admin: true}
	u, err := s.q().GetUserByUsername(ctx, username)
	if errors.Is(err, pgx.ErrNoRows) {
		u, err = s.createUser(ctx, system, UserInput{Username: username, Admin: true})
	}
	if err != nil {
		return u, "", err
	}
	if !u.IsAdmin || u.Blocked {
		return u, "", fmt.Errorf("user %q exists but is not an active administrator", username)
	}
	tok, _, err := s.mintPAT(ctx, system, u, "bootstrap", []string{policies.ScopeAPI}, nil)
	return u, tok, err
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
