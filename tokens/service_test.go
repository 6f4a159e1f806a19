package tokens_test

import (
	"context"
	"errors"
	"testing"

	"github.com/cairn-registry/cairn/errs"
	"github.com/cairn-registry/cairn/internal/testenv"
	"github.com/cairn-registry/cairn/policies"
	"github.com/cairn-registry/cairn/tokens"
	"github.com/cairn-registry/cairn/users"
)

// newTokenService is the token service on a fresh database with an
// administrator and one more user, name.
func newTokenService(t *testing.T, name string) (*tokens.Service, *policies.Principal, *policies.Principal) {
	t.Helper()
	pool := testenv.Pool(t)
	en, err := policies.NewEnforcer(nil)
	if err != nil {
		t.Fatal(err)
	}
	people := users.New(pool, en)
	root, err := people.EnsureAdmin(context.Background(), "root")
	if err != nil {
		t.Fatal(err)
	}
	admin := &policies.Principal{Kind: policies.User, UserID: root.ID, Username: root.Username, Admin: true}
	u, err := people.CreateUser(context.Background(), admin, users.UserInput{Username: name})
	if err != nil {
		t.Fatal(err)
	}
	return tokens.NewService(pool, policies.NewAuthorizer(en), nil), admin, &policies.Principal{Kind: policies.User, UserID: u.ID, Username: u.Username}
}

func TestManagingTokensNeedsAPIScope(t *testing.T) {
	t.Parallel()
	ctx := context.Background()
	svc, admin, dave := newTokenService(t, "dave")
	_, tok, err := svc.CreatePAT(ctx, admin, dave.UserID, "ci", []string{"api"}, nil)
	if err != nil {
		t.Fatal(err)
	}
	readOnly := *dave
	readOnly.Scopes = []string{policies.ScopeReadAPI}
	if err := svc.RevokePAT(ctx, &readOnly, tok.ID); !errors.Is(err, errs.ErrForbidden) {
		t.Fatalf("revoking with a read_api token: %v, want ErrForbidden", err)
	}
	if _, _, err := svc.CreatePAT(ctx, &readOnly, dave.UserID, "x", []string{"api"}, nil); !errors.Is(err, errs.ErrForbidden) {
		t.Fatalf("minting with a read_api token: %v, want ErrForbidden", err)
	}
	if err := svc.RevokePAT(ctx, dave, tok.ID); err != nil {
		t.Fatalf("revoking own token with a session: %v", err)
	}
}
