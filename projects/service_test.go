package projects_test

import (
	"context"
	"errors"
	"fmt"
	"testing"

	"github.com/cairn-registry/cairn/errs"
	"github.com/cairn-registry/cairn/internal/testenv"
	"github.com/cairn-registry/cairn/policies"
	"github.com/cairn-registry/cairn/projects"
	"github.com/cairn-registry/cairn/users"
)

func TestMain(m *testing.M) { testenv.Main(m) }

// fixture is the tenancy service with the users service that creates the
// people the tests act as.
type fixture struct {
	*projects.Service
	people *users.Service
}

func newService(t *testing.T) (fixture, *policies.Principal) {
	t.Helper()
	pool := testenv.Pool(t)
	en, err := policies.NewEnforcer(nil)
	if err != nil {
		t.Fatal(err)
	}
	svc := fixture{Service: projects.New(pool, en), people: users.New(pool, en)}
	u, err := svc.people.EnsureAdmin(context.Background(), "root")
	if err != nil {
		t.Fatal(err)
	}
	return svc, &policies.Principal{Kind: policies.User, UserID: u.ID, Username: u.Username, Admin: true}
}

func user(t *testing.T, svc fixture, admin *policies.Principal, name string) *policies.Principal {
	t.Helper()
	u, err := svc.people.CreateUser(context.Background(), admin, users.UserInput{Username: name})
	if err != nil {
		t.Fatal(err)
	}
	return &policies.Principal{Kind: policies.User, UserID: u.ID, Username: u.Username}
}

func TestNamespaceKeepsAnOwner(t *testing.T) {
	t.Parallel()
	ctx := context.Background()
	svc, admin := newService(t)
	alice, bob := user(t, svc, admin, "alice"), user(t, svc, admin, "bob")
	g, err := svc.CreateGroup(ctx, alice, projects.GroupInput{Path: "acme"})
	if err != nil {
		t.Fatal(err)
	}
	target := projects.GroupTarget(g)
	if err := svc.RemoveMember(ctx, alice, target, alice.UserID); !errors.Is(err, errs.ErrInvalid) {
		t.Fatalf("removing the last owner: %v, want ErrInvalid", err)
	}
	if _, err := svc.SetMember(ctx, alice, target, alice.UserID, 40, false); !errors.Is(err, errs.ErrInvalid) {
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
	st := projects.GroupTarget(sub)
	if _, err := svc.SetMember(ctx, bob, st, alice.UserID, 50, true); err != nil {
		t.Fatal(err)
	}
	if err := svc.RemoveMember(ctx, bob, st, alice.UserID); err != nil {
		t.Fatalf("removing a subgroup's only direct owner: %v", err)
	}
}

func TestListGroupsPagesOverInvisibleRows(t *testing.T) {
	t.Parallel()
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
