package audit_test

import (
	"context"
	"testing"
	"time"

	"github.com/cairn-registry/cairn/audit"
	"github.com/cairn-registry/cairn/internal/testenv"
	"github.com/cairn-registry/cairn/policies"
)

// TestListFilters: events filtered by actor, action and object type
// (exactly, ignoring case), by a date range, and with the free-text search.
func TestListFilters(t *testing.T) {
	t.Parallel()
	ctx := context.Background()
	pool := testenv.Pool(t)
	en, err := policies.NewEnforcer(nil)
	if err != nil {
		t.Fatal(err)
	}
	svc := audit.New(pool, policies.NewAuthorizer(en))
	alice := &policies.Principal{Kind: policies.User, UserID: 7, Username: "alice"}
	bob := &policies.Principal{Kind: policies.User, UserID: 8, Username: "bob"}
	day := func(d int) time.Time { return time.Date(2026, 3, d, 12, 0, 0, 0, time.UTC) }
	for _, e := range []struct {
		p            *policies.Principal
		action, kind string
		id           int64
		at           time.Time
	}{
		{alice, "create", "group", 1, day(1)},
		{alice, "update", "group", 1, day(2)},
		{bob, "create", "project", 2, day(3)},
		{bob, "block", "user", 7, day(4)},
		{alice, "create", "group_member", 3, day(5)},
	} {
		if err := audit.Record(ctx, pool, e.p, e.action, e.kind, e.id, nil, map[string]any{"by": e.p.Username}); err != nil {
			t.Fatal(err)
		}
		if _, err := pool.Exec(ctx, "UPDATE audit_events SET created_at = $1 WHERE id = (SELECT max(id) FROM audit_events)", e.at); err != nil {
			t.Fatal(err)
		}
	}
	admin := &policies.Principal{Kind: policies.User, UserID: 1, Username: "root", Admin: true}
	for _, tc := range []struct {
		name string
		q    audit.Query
		want []string // action object_type:object_id, oldest first
	}{
		{"actor", audit.Query{Actor: "BOB"}, []string{"create project:2", "block user:7"}},
		{"actor is exact", audit.Query{Actor: "ali"}, nil},
		{"action", audit.Query{Action: "Create"}, []string{"create group:1", "create project:2", "create group_member:3"}},
		{"object type", audit.Query{ObjectType: "group"}, []string{"create group:1", "update group:1"}},
		{"since", audit.Query{Since: day(4)}, []string{"block user:7", "create group_member:3"}},
		{"until", audit.Query{Until: day(2)}, []string{"create group:1"}},
		{"date range", audit.Query{Since: day(2).Add(-time.Hour), Until: day(4)}, []string{"update group:1", "create project:2"}},
		{"all together", audit.Query{Actor: "alice", Action: "create", Since: day(1).Add(time.Hour)}, []string{"create group_member:3"}},
		{"with the search", audit.Query{Search: "group", Actor: "alice"}, []string{"create group:1", "update group:1", "create group_member:3"}},
		{"search alone", audit.Query{Search: "user:7"}, []string{"block user:7"}},
	} {
		tc.q.Limit, tc.q.OldestFirst = 100, true
		page, err := svc.List(ctx, admin, tc.q)
		if err != nil {
			t.Fatalf("%s: %v", tc.name, err)
		}
		var got []string
		for _, e := range page.Events {
			got = append(got, e.Action+" "+e.ObjectType+":"+e.ObjectID)
		}
		if len(got) != len(tc.want) || page.Filtered != int64(len(tc.want)) || page.Total != 5 {
			t.Errorf("%s: %v (filtered %d of %d), want %v of 5", tc.name, got, page.Filtered, page.Total, tc.want)
			continue
		}
		for i := range got {
			if got[i] != tc.want[i] {
				t.Errorf("%s: %v, want %v", tc.name, got, tc.want)
				break
			}
		}
	}
	// Newest first and paged, the filters still apply.
	page, err := svc.List(ctx, admin, audit.Query{Action: "create", Limit: 1, Offset: 1})
	if err != nil || len(page.Events) != 1 || page.Events[0].ObjectType != "project" || page.Filtered != 3 {
		t.Fatalf("second newest creation = %+v (%d), %v; want the project of 3", page.Events, page.Filtered, err)
	}
	if _, err := svc.List(ctx, admin, audit.Query{Limit: 10, Since: day(3), Until: day(2)}); err == nil {
		t.Fatal("a date range ending before it starts was accepted")
	}
	if _, err := svc.List(ctx, alice, audit.Query{Limit: 10, Actor: "alice"}); err == nil {
		t.Fatal("a non-admin read the audit history")
	}
}
