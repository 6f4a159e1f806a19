package users

import (
	"context"
	"fmt"
	"regexp"
	"strings"

	"github.com/jackc/pgx/v5"

	"github.com/cairn-registry/cairn/audit"
	"github.com/cairn-registry/cairn/errs"
	"github.com/cairn-registry/cairn/queries"
)

// SSOIdentity is what an identity provider asserted about a person at
// sign-in (a verified ID token).
type SSOIdentity struct {
	Issuer, Subject string
	// Username is the preferred user name claim; Name and Email describe
	// the person.
	Username, Name, Email string
	// Groups are the names in the groups claim; HasGroups says whether the
	// token carried the claim at all.
	Groups    []string
	HasGroups bool
}

// SSOResult is the user an SSO sign-in resolved to.
type SSOResult struct {
	User User
	// Created: the user was created by this sign-in.
	Created bool
	// GroupsChanged: the user's SSO user group memberships changed.
	GroupsChanged bool
}

var usernameDisallowed = regexp.MustCompile(`[^A-Za-z0-9_.-]+`)

// usernameFrom makes a valid username of a claim value (e.g. an e-mail
// address or a display name).
func usernameFrom(claim string) string {
	if at := strings.IndexByte(claim, '@'); at > 0 {
		claim = claim[:at]
	}
	u := usernameDisallowed.ReplaceAllString(claim, "-")
	u = strings.Trim(u, "-.")
	for strings.Contains(u, "..") {
		u = strings.ReplaceAll(u, "..", ".")
	}
	if len(u) > 200 {
		u = strings.Trim(u[:200], "-.")
	}
	if u == "" {
		u = "user"
	}
	return u
}

// SignInSSO resolves an identity to its user: linked by (issuer, subject),
// never by e-mail alone. A new identity creates a user when autoCreate is
// set (a username from the claim, made valid and unique). A blocked user is
// refused (errs.Forbidden). When the token carried the groups claim, the
// user's SSO-derived user group memberships become exactly the user groups
// named there (memberships added by hand are kept; unknown names ignored).
func (s *Service) SignInSSO(ctx context.Context, id SSOIdentity, autoCreate bool) (SSOResult, error) {
	if id.Issuer == "" || id.Subject == "" {
		return SSOResult{}, errs.Invalidf("the identity provider's token names no subject")
	}
	var res SSOResult
	err := s.tx(ctx, func(q *queries.Queries, tx pgx.Tx) error {
		row, err := q.GetUserByOIDC(ctx, queries.GetUserByOIDCParams{Issuer: &id.Issuer, Subject: &id.Subject})
		switch {
		case errs.IsNoRows(err):
			if !autoCreate {
				return errs.E(errs.Forbidden, "No Cairn account is linked to this sign-in; ask an administrator to create one.")
			}
			base := usernameFrom(firstNonEmpty(id.Username, id.Email, id.Name))
			name := base
			for i := 2; ; i++ {
				taken, err := q.UsernameTaken(ctx, name)
				if err != nil {
					return err
				}
				if !taken {
					break
				}
				name = fmt.Sprintf("%s-%d", base, i)
			}
			display := firstNonEmpty(id.Name, name)
			row, err = q.CreateSSOUser(ctx, queries.CreateSSOUserParams{Username: name, Name: display, Email: id.Email,
				Issuer: &id.Issuer, Subject: &id.Subject})
			if err != nil {
				return err
			}
			res.Created = true
			if err := audit.Record(ctx, tx, System, "create", "user", row.ID, nil, userOf(row)); err != nil {
				return err
			}
		case err != nil:
			return err
		default:
			if row.Blocked {
				return errs.E(errs.Forbidden, "This account is blocked. Ask an administrator to unblock it.")
			}
			if display := firstNonEmpty(id.Name, row.Name); display != row.Name || id.Email != "" && id.Email != row.Email {
				email := firstNonEmpty(id.Email, row.Email)
				if row, err = q.UpdateSSOProfile(ctx, queries.UpdateSSOProfileParams{ID: row.ID, Name: display, Email: email}); err != nil {
					return err
				}
			}
		}
		res.User = userOf(row)
		if !id.HasGroups {
			return nil
		}
		before, err := q.ListUserGroupNamesOf(ctx, row.ID)
		if err != nil {
			return err
		}
		names := make([]string, 0, len(id.Groups))
		for _, g := range id.Groups {
			names = append(names, strings.ToLower(g))
		}
		if err := q.SetUserSSOGroups(ctx, queries.SetUserSSOGroupsParams{UserID: row.ID, Names: names}); err != nil {
			return err
		}
		after, err := q.ListUserGroupNamesOf(ctx, row.ID)
		if err != nil {
			return err
		}
		if fmt.Sprint(before) != fmt.Sprint(after) {
			res.GroupsChanged = true
			return audit.Record(ctx, tx, System, "sync_groups", "user", row.ID, before, after)
		}
		return nil
	})
	if err != nil {
		return SSOResult{}, err
	}
	if res.GroupsChanged {
		// This replica at once; the others through the tables' NOTIFY.
		if err := s.userGroupsChanged(ctx); err != nil {
			return res, err
		}
	}
	return res, nil
}

func firstNonEmpty(ss ...string) string {
	for _, s := range ss {
		if strings.TrimSpace(s) != "" {
			return strings.TrimSpace(s)
		}
	}
	return ""
}
