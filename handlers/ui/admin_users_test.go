package ui_test

import (
	"context"
	"html"
	"io"
	"net/http"
	"net/url"
	"strings"
	"testing"

	"github.com/cairn-registry/cairn/internal/testserver"
)

// postAs posts form (with the CSRF token) as a signed-in client.
func postAs(t *testing.T, c *http.Client, s *testserver.Server, tok, path string, form url.Values) (*http.Response, string) {
	t.Helper()
	form.Set("csrf_token", tok)
	resp, err := c.PostForm(s.URL+path, form)
	if err != nil {
		t.Fatal(err)
	}
	defer resp.Body.Close()
	b, _ := io.ReadAll(resp.Body)
	return resp, string(b)
}

// TestAdminMakeAdmin: the admin makes a user an administrator from the user
// page, who can then open /admin; removed again, the user gets the 404
// page. A non-admin posting the form gets the 404 page and changes nothing;
// an administrator cannot remove their own role.
func TestAdminMakeAdmin(t *testing.T) {
	t.Parallel()
	s := testserver.Start(t)
	ctx := context.Background()
	if _, err := s.Users.SetPassword(ctx, "root", "correct horse battery"); err != nil {
		t.Fatal(err)
	}
	if _, err := s.Users.CreateUser(ctx, adminPrincipal(), userInput("dave", "dave's long password")); err != nil {
		t.Fatal(err)
	}
	root, rootTok := signInClient(t, s, "root", "correct horse battery")
	dave, daveTok := signInClient(t, s, "dave", "dave's long password")
	isAdmin := func() int { return count(t, s, "SELECT count(*) FROM users WHERE username = 'dave' AND is_admin") }

	// Dave, not an administrator, posts the form by hand.
	before := snapshot(t, s)
	if resp, body := postAs(t, dave, s, daveTok, "/admin/users/dave/admin", url.Values{"admin": {"true"}}); resp.StatusCode != 404 || !strings.Contains(body, "Page not found") {
		t.Fatalf("dave making himself admin = %d, want the 404 page", resp.StatusCode)
	}
	if after := snapshot(t, s); after != before || isAdmin() != 0 {
		t.Fatalf("the refusal changed the database:\nbefore %s\nafter  %s", before, after)
	}
	// The page shows the button; without the CSRF token nothing happens.
	if _, page := get(t, root, s.URL+"/admin/users/dave"); !strings.Contains(page, ">Make admin</button>") || !strings.Contains(page, `action="/admin/users/dave/admin"`) {
		t.Fatalf("the user page has no Make admin button:\n%s", page)
	}
	if resp, err := root.PostForm(s.URL+"/admin/users/dave/admin", url.Values{"admin": {"true"}}); err != nil || resp.StatusCode < 400 || isAdmin() != 0 {
		t.Fatalf("make admin without a CSRF token = %v %v", resp.StatusCode, err)
	}
	resp, _ := postAs(t, root, s, rootTok, "/admin/users/dave/admin", url.Values{"admin": {"true"}})
	if resp.StatusCode != http.StatusSeeOther || resp.Header.Get("Location") != "/admin/users/dave" || isAdmin() != 1 {
		t.Fatalf("make admin = %d %s (admin %d), want 303 to the user page", resp.StatusCode, resp.Header.Get("Location"), isAdmin())
	}
	if _, page := get(t, root, s.URL+"/admin/users/dave"); !strings.Contains(page, "dave is now an administrator.") || !strings.Contains(page, ">Remove admin</button>") {
		t.Fatalf("no flash or Remove admin button after making dave admin:\n%s", page)
	}
	if resp, body := get(t, dave, s.URL+"/admin/users"); resp.StatusCode != 200 || strings.Contains(body, "Page not found") {
		t.Fatalf("/admin/users for the new administrator = %d", resp.StatusCode)
	}
	if n := count(t, s, "SELECT count(*) FROM audit_events WHERE action = 'make_admin' AND object_type = 'user' AND actor_name = 'root'"); n != 1 {
		t.Fatalf("make_admin events = %d", n)
	}

	// Root cannot remove their own role.
	if resp, _ := postAs(t, root, s, rootTok, "/admin/users/root/admin", url.Values{"admin": {"false"}}); resp.StatusCode != http.StatusBadRequest ||
		count(t, s, "SELECT count(*) FROM users WHERE username = 'root' AND is_admin") != 1 {
		t.Fatalf("root removing their own role = %d, want 400 and no change", resp.StatusCode)
	}

	resp, _ = postAs(t, root, s, rootTok, "/admin/users/dave/admin", url.Values{"admin": {"false"}})
	if resp.StatusCode != http.StatusSeeOther || isAdmin() != 0 {
		t.Fatalf("remove admin = %d (admin %d)", resp.StatusCode, isAdmin())
	}
	if _, page := get(t, root, s.URL+"/admin/users/dave"); !strings.Contains(page, "dave is no longer an administrator.") || !strings.Contains(page, ">Make admin</button>") {
		t.Fatalf("no flash or Make admin button after removing the role:\n%s", page)
	}
	for _, p := range []string{"/admin", "/admin/users"} {
		if resp, body := get(t, dave, s.URL+p); resp.StatusCode != 404 || !strings.Contains(body, "Page not found") {
			t.Fatalf("GET %s after the role was removed = %d, want the 404 page", p, resp.StatusCode)
		}
	}
}

// TestAdminAuditFilters: the audit page filters by user, action, object
// type and a date range from its GET form; the pager keeps the filters.
func TestAdminAuditFilters(t *testing.T) {
	t.Parallel()
	s := testserver.Start(t)
	ctx := context.Background()
	if _, err := s.Users.SetPassword(ctx, "root", "correct horse battery"); err != nil {
		t.Fatal(err)
	}
	for _, q := range []string{
		"DELETE FROM audit_events",
		`INSERT INTO audit_events (actor_name, action, object_type, object_id, created_at) VALUES
			('alice', 'create', 'group', '1', '2026-03-01T12:00:00Z'),
			('alice', 'update', 'group', '1', '2026-03-02T12:00:00Z'),
			('bob', 'create', 'project', '2', '2026-03-03T12:00:00Z'),
			('bob', 'block', 'user', '7', '2026-03-04T12:00:00Z')`,
		`INSERT INTO audit_events (actor_name, action, object_type, object_id, created_at)
			SELECT 'carol', 'add', 'group_member', g::text, '2026-02-01T00:00:00Z'::timestamptz + g * interval '1 minute'
			FROM generate_series(1, 30) g`,
	} {
		if _, err := s.Pool.Exec(ctx, q); err != nil {
			t.Fatal(err)
		}
	}
	c, _ := signInClient(t, s, "root", "correct horse battery")
	events := func(page string) []string {
		var out []string
		for _, li := range strings.Split(page, `<li class="event">`)[1:] {
			code := li[strings.Index(li, "<code>")+len("<code>") : strings.Index(li, "</code>")]
			out = append(out, html.UnescapeString(code))
		}
		return out
	}
	for _, tc := range []struct {
		query string
		want  string
	}{
		{"actor=BOB", "user 7, project 2"},
		{"action=create", "project 2, group 1"},
		{"object_type=Group", "group 1, group 1"},
		{"since=2026-03-02&until=2026-03-03", "project 2, group 1"},
		{"since=2026-03-04", "user 7"},
		{"until=2026-03-01&actor=alice", "group 1"},
		{"actor=alice&action=update&object_type=group&since=2026-03-01&until=2026-03-31&order=oldest", "group 1"},
		{"q=user:7", "user 7"},
	} {
		resp, page := get(t, c, s.URL+"/admin/audit?"+tc.query)
		if got := strings.Join(events(page), ", "); resp.StatusCode != 200 || got != tc.want {
			t.Errorf("/admin/audit?%s = %d %q, want %q", tc.query, resp.StatusCode, got, tc.want)
		}
	}
	// The form is a GET form with a label for every input, filled in.
	_, page := get(t, c, s.URL+"/admin/audit?actor=bob&since=2026-03-02")
	if !strings.Contains(page, `<form id="audit-filters" method="get" action="/admin/audit"`) {
		t.Fatal("the filters are not a GET form")
	}
	for _, id := range []string{"audit-q", "audit-order", "audit-actor", "audit-action", "audit-object-type", "audit-since", "audit-until"} {
		if !strings.Contains(page, `for="`+id+`"`) || !strings.Contains(page, `id="`+id+`"`) {
			t.Errorf("input %s has no label", id)
		}
	}
	if !strings.Contains(page, `name="actor" type="text" value="bob"`) || !strings.Contains(page, `name="since" type="date" value="2026-03-02"`) {
		t.Errorf("the filters are not filled in:\n%s", page)
	}
	// Paging keeps the filters: 30 of carol's events, 25 a page.
	_, page = get(t, c, s.URL+"/admin/audit?actor=carol")
	if n := len(events(page)); n != 25 || !strings.Contains(page, "30 of 34 events") {
		t.Fatalf("first page of carol's events = %d", n)
	}
	next := html.UnescapeString(page[strings.Index(page, "/admin/audit?actor=carol"):])
	next = next[:strings.IndexByte(next, '"')]
	if !strings.Contains(next, "page=2") {
		t.Fatalf("the next page link %q", next)
	}
	_, page = get(t, c, s.URL+next)
	if got := events(page); len(got) != 5 || got[0] != "group_member 5" {
		t.Fatalf("second page of carol's events = %v", got)
	}
	// A bad date and a range ending before it starts are field errors.
	for _, q := range []string{"since=yesterday", "since=2026-03-04&until=2026-03-01"} {
		if resp, page := get(t, c, s.URL+"/admin/audit?"+q); resp.StatusCode != http.StatusUnprocessableEntity || !strings.Contains(page, `class="field-error"`) {
			t.Errorf("/admin/audit?%s = %d, want 422 with a field error", q, resp.StatusCode)
		}
	}
}
