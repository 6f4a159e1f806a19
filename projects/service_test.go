package projects_test

import (
	"context"
	"errors"
	"fmt"
	"testing"

	"github.com/cairn-registry/cairn/internal/testenv"
	"github.com/cairn-registry/cairn/policies"
	"github.com/cairn-registry/cairn/projects"
)

func TestMain(m *testing.M) { testenv.Main(m) }

func newService(t *testing.T) (*projects.Service, *policies.Principal) {
	t.Helper()
	pool := testenv.Pool(t)
	en, err := policies.NewEnforcer(nil)
	if err != nil {
		t.Fatal(err)
	}
	svc := projects.New(pool, en)
	u, _, err := svc.Bootstrap(context.Background(), "root")
	if err != nil {
		t.Fatal(err)
	}
	return svc, &policies.Principal{Kind: policies.User, UserID: u.ID, Username: u.Username, Admin: true}
}

func user(t *testing.T, svc *projects.Service, admin *policies.Principal, name string) *policies.Principal {
	t.Helper()
	u, err := svc.CreateUser(context.Background(), admin, projects.UserInput{Username: name})
	if err != nil {
		t.Fatal(err)
	}
	return &policies.Principal{Kind: policies.User, UserID: u.ID, Username: u.Username}
}

func TestNamespaceKeepsAnOwner(t *testing.T) {
	ctx := context.Background()
	svc, admin := newService(t)
	alice, bob := user(t, svc, admin, "alice"), user(t, svc, admin, "bob")
	g, err := svc.CreateGroup(ctx, alice, projects.GroupInput{Path: "acme"})
	if err != nil {
		t.Fatal(err)
	}
	target := projects.MemberTarget{Ref: "acme"}
	if err := svc.RemoveMember(ctx, alice, target, alice.UserID); !errors.Is(err, projects.ErrInvalid) {
		t.Fatalf("removing the last owner: %v, want ErrInvalid", err)
	}
	if _, err := svc.SetMember(ctx, alice, target, alice.UserID, 40, false); !errors.Is(err, projects.ErrInvalid) {
		t.Fatalf("demoting the last owner: %v, want ErrInvalid", err)
	}
	if _, err := svc.SetMember(ctx, alice, target, bob.UserID, 50, true); err != nil {
		t.Fatal(err)
	}
	if err := svc.RemoveMember(ctx, alice, target, alice.UserID); err != nil {
		t.Fatalf("removing an owner when another remains: %v", err)
	}
	// Subgroups inherit owners, so they may have none of their own.
	sub, err := svc.CreateGroup(ctx, bob, projects.GroupInput{Path: "net", ParentID: &g.ID})
	if err != nil {
		t.Fatal(err)
	}
	st := projects.MemberTarget{Ref: fmt.Sprint(sub.ID)}
	if _, err := svc.SetMember(ctx, bob, st, alice.UserID, 50, true); err != nil {
		t.Fatal(err)
	}
	if err := svc.RemoveMember(ctx, bob, st, alice.UserID); err != nil {
		t.Fatalf("removing a subgroup's only direct owner: %v", err)
	}
}

func TestListGroupsPagesOverInvisibleRows(t *testing.T) {
	ctx := context.Background()
	svc, admin := newService(t)
	carol := user(t, svc, admin, "carol")
	var visible []string
	for i := range 450 {
		path := fmt.Sprintf("g%03d", i)
		vis := "private"
		if i%150 == 7 {
			vis = "public"
			visible = append(visible, path)
		}
		if _, err := svc.CreateGroup(ctx, admin, projects.GroupInput{Path: path, Visibility: vis}); err != nil {
			t.Fatal(err)
		}
	}
	// carol sees exactly the 3 public groups, spread over 450 rows.
	all, err := svc.ListGroups(ctx, carol, "", false, 100, 0)
	if err != nil || len(all) != 3 {
		t.Fatalf("ListGroups = %d groups, %v; want the 3 public ones", len(all), err)
	}
	page, err := svc.ListGroups(ctx, carol, "", false, 1, 2)
	if err != nil || len(page) != 1 || page[0].Path != visible[2] {
		t.Fatalf("third visible group = %v, %v; want %s", page, err, visible[2])
	}
}

func TestManagingTokensNeedsAPIScope(t *testing.T) {
	ctx := context.Background()
	svc, admin := newService(t)
	dave := user(t, svc, admin, "dave")
	_, tok, err := svc.CreatePAT(ctx, admin, dave.UserID, "ci", []string{"api"}, nil)
	if err != nil {
		t.Fatal(err)
	}
	readOnly := *dave
	readOnly.Scopes = []string{policies.ScopeReadAPI}
	if err := svc.RevokePAT(ctx, &readOnly, tok.ID); !errors.Is(err, projects.ErrForbidden) {
		t.Fatalf("revoking with a read_api token: %v, want ErrForbidden", err)
	}
	if _, _, err := svc.CreatePAT(ctx, &readOnly, dave.UserID, "x", []string{"api"}, nil); !errors.Is(err, projects.ErrForbidden) {
		t.Fatalf("minting with a read_api token: %v, want ErrForbidden", err)
	}
	if err := svc.RevokePAT(ctx, dave, tok.ID); err != nil {
		t.Fatalf("revoking own token with a session: %v", err)
	}
}
