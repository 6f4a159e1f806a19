package users_test

import (
	"context"
	"testing"

	"github.com/cairn-registry/cairn/audit"
	"github.com/cairn-registry/cairn/errs"
)

// TestSetAdmin: a site admin makes a user an administrator and takes the
// role away (audited, the credentials hook called); a non-admin and an
// admin removing their own role are refused without a change.
func TestSetAdmin(t *testing.T) {
	t.Parallel()
	ctx := context.Background()
	svc, admin := newService(t)
	hooks := 0
	svc.OnCredentialsChanged(func() { hooks++ })
	gina := user(t, svc, admin, "gina")
	hank := user(t, svc, admin, "hank")

	if _, err := svc.SetAdmin(ctx, hank, gina.UserID, true); err == nil {
		t.Fatal("a non-admin made a user an administrator")
	}
	if _, err := svc.SetAdmin(ctx, admin, admin.UserID, false); errs.KindOf(err) != errs.Invalid {
		t.Fatalf("removing one's own role = %v, want invalid", err)
	}
	if u, _ := svc.GetUser(ctx, admin, gina.UserID); u.Admin || hooks != 0 {
		t.Fatalf("refusals changed gina (admin %v) or called the hook %d times", u.Admin, hooks)
	}
	u, err := svc.SetAdmin(ctx, admin, gina.UserID, true)
	if err != nil || !u.Admin || hooks != 1 {
		t.Fatalf("make admin = %+v, %v (hook calls %d)", u, err, hooks)
	}
	// Gina, now an administrator, may take hank's role and her own stays.
	gina.Admin = true
	if _, err := svc.SetAdmin(ctx, gina, hank.UserID, true); err != nil {
		t.Fatal(err)
	}
	if u, err = svc.SetAdmin(ctx, admin, gina.UserID, false); err != nil || u.Admin || hooks != 3 {
		t.Fatalf("remove admin = %+v, %v (hook calls %d)", u, err, hooks)
	}
	if _, err := svc.SetAdmin(ctx, admin, 999999, true); errs.KindOf(err) != errs.NotFound {
		t.Fatalf("unknown user = %v, want not found", err)
	}
	page, err := svc.audit.List(ctx, admin, audit.Query{Limit: 10, ObjectType: "user", Actor: "root", OldestFirst: true})
	if err != nil {
		t.Fatal(err)
	}
	var got []string
	for _, e := range page.Events {
		if e.Action == "make_admin" || e.Action == "remove_admin" {
			got = append(got, e.Action)
			want := e.Action == "make_admin"
			if field(t, e.OldValue, "is_admin") != !want || field(t, e.NewValue, "is_admin") != want {
				t.Errorf("%s recorded %s → %s", e.Action, e.OldValue, e.NewValue)
			}
		}
	}
	if len(got) != 2 || got[0] != "make_admin" || got[1] != "remove_admin" {
		t.Fatalf("root's admin events = %v, want make_admin, remove_admin", got)
	}
}
