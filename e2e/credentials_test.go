package e2e

import (
	"context"
	"strings"
	"testing"
	"time"

	"github.com/cairn-registry/cairn/internal/testenv"
	"github.com/cairn-registry/cairn/policies"
	"github.com/cairn-registry/cairn/users"
)

// Resolved tokens are cached per replica. Revoking a token or blocking its
// user must take effect on the next use on the replica that made the change,
// and within moments on every other replica.
func TestRevocationReachesEveryReplica(t *testing.T) {
	t.Parallel()
	db := testenv.DatabaseURL(t)
	a := startInProcess(t, map[string]string{"CAIRN_DATABASE_URL": db})
	b := startInProcess(t, map[string]string{"CAIRN_DATABASE_URL": db})
	ctx := context.Background()
	admin := &policies.Principal{Kind: policies.User, Username: "root", Admin: true, UserID: 1}
	user := func(s *inproc, tok string) int {
		code, _, _ := s.do("GET", "/api/v4/user", map[string]string{"PRIVATE-TOKEN": tok}, nil)
		return code
	}
	eventually := func(what string, cond func() bool) {
		t.Helper()
		deadline := time.Now().Add(5 * time.Second)
		for !cond() {
			if time.Now().After(deadline) {
				t.Fatalf("timed out waiting until %s", what)
			}
			time.Sleep(10 * time.Millisecond)
		}
	}

	// Revocation.
	secret, _, err := a.srv.Tokens.CreatePAT(ctx, admin, 1, "probe", []string{"read_api"}, nil)
	if err != nil {
		t.Fatal(err)
	}
	if user(a, secret) != 200 || user(b, secret) != 200 {
		t.Fatal("fresh token refused")
	}
	probe, err := a.srv.Tokens.ListPATs(ctx, admin, 1)
	if err != nil {
		t.Fatal(err)
	}
	if err := a.srv.Tokens.RevokePAT(ctx, admin, probe[len(probe)-1].ID); err != nil {
		t.Fatal(err)
	}
	if code := user(a, secret); code != 401 {
		t.Fatalf("revoked token on the revoking replica: %d, want 401 on the next use", code)
	}
	eventually("the other replica refuses the revoked token", func() bool { return user(b, secret) == 401 })

	// Blocking a user stops their tokens everywhere.
	u, err := a.srv.Users.CreateUser(ctx, admin, users.UserInput{Username: "erin"})
	if err != nil {
		t.Fatal(err)
	}
	erinTok, _, err := a.srv.Tokens.CreatePAT(ctx, admin, u.ID, "t", []string{"read_api"}, nil)
	if err != nil {
		t.Fatal(err)
	}
	if user(a, erinTok) != 200 || user(b, erinTok) != 200 {
		t.Fatal("erin's token refused before blocking")
	}
	if _, err := b.srv.Users.SetBlocked(ctx, admin, u.ID, true); err != nil {
		t.Fatal(err)
	}
	if code := user(b, erinTok); code != 401 {
		t.Fatalf("blocked user's token on the blocking replica: %d, want 401", code)
	}
	eventually("the other replica refuses the blocked user's token", func() bool { return user(a, erinTok) == 401 })
}

// Module lookups are cached per replica: a publish is visible at once on the
// publishing replica and within moments on the others, and so is a project
// becoming private.
func TestModuleChangesReachEveryReplica(t *testing.T) {
	t.Parallel()
	db := testenv.DatabaseURL(t)
	a := startInProcess(t, map[string]string{"CAIRN_DATABASE_URL": db})
	b := startInProcess(t, map[string]string{"CAIRN_DATABASE_URL": db})
	var g struct{ ID int64 }
	a.json("POST", "/groups", map[string]any{"path": "acme", "name": "acme", "visibility": "public"}, &g)
	a.json("POST", "/projects", map[string]any{"path": "vpc", "namespace_id": g.ID, "visibility": "public"}, nil)
	versions := func(s *inproc) (int, string) {
		code, _, body := s.do("GET", "/v1/modules/acme/vpc/aws/versions", nil, nil)
		return code, body
	}
	if code, _ := versions(b); code != 401 {
		t.Fatalf("unknown module for anonymous = %d, want 401", code)
	}
	for _, v := range []string{"1.0.0", "1.1.0"} {
		if code, body := a.upload(nil, "acme/vpc", "vpc", "aws", v, goodModule); code != 201 {
			t.Fatalf("upload %s = %d %s", v, code, body)
		}
		if _, body := versions(a); !strings.Contains(body, `"`+v+`"`) {
			t.Fatalf("publishing replica does not list %s at once: %s", v, body)
		}
		deadline := time.Now().Add(5 * time.Second)
		for {
			if _, body := versions(b); strings.Contains(body, `"`+v+`"`) {
				break
			}
			if time.Now().After(deadline) {
				t.Fatalf("other replica never listed %s", v)
			}
			time.Sleep(10 * time.Millisecond)
		}
	}
	a.json("PUT", "/projects/acme%2Fvpc", map[string]any{"visibility": "private"}, nil)
	deadline := time.Now().Add(5 * time.Second)
	for {
		ca, _ := versions(a)
		cb, _ := versions(b)
		if ca == 401 && cb == 401 {
			break
		}
		if time.Now().After(deadline) {
			t.Fatalf("after making the project private, anonymous still gets %d / %d", ca, cb)
		}
		time.Sleep(10 * time.Millisecond)
	}
}
