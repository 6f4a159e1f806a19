package ui_test

import (
	"archive/tar"
	"bytes"
	"compress/gzip"
	"context"
	"io"
	"net/http"
	"net/url"
	"os"
	"os/exec"
	"path/filepath"
	"regexp"
	"strconv"
	"strings"
	"testing"
	"time"

	"github.com/chromedp/chromedp"

	"github.com/cairn-registry/cairn/internal/testenv"
	"github.com/cairn-registry/cairn/internal/testserver"
	"github.com/cairn-registry/cairn/policies"
	"github.com/cairn-registry/cairn/projects"
	"github.com/cairn-registry/cairn/users"
)

// moduleArchive writes a .tar.gz of a one-file module and returns its path.
func moduleArchive(t *testing.T) string {
	t.Helper()
	var buf bytes.Buffer
	zw := gzip.NewWriter(&buf)
	tw := tar.NewWriter(zw)
	body := []byte("variable \"cidr\" {\n  type = string\n}\n\noutput \"id\" {\n  value = var.cidr\n}\n")
	if err := tw.WriteHeader(&tar.Header{Name: "main.tf", Mode: 0o644, Size: int64(len(body)), Typeflag: tar.TypeReg, ModTime: time.Now()}); err != nil {
		t.Fatal(err)
	}
	tw.Write(body)
	tw.Close()
	zw.Close()
	p := filepath.Join(t.TempDir(), "module.tgz")
	if err := os.WriteFile(p, buf.Bytes(), 0o644); err != nil {
		t.Fatal(err)
	}
	return p
}

// count runs a counting query.
func count(t *testing.T, s *testserver.Server, q string, args ...any) int {
	t.Helper()
	var n int
	if err := s.Pool.QueryRow(context.Background(), q, args...).Scan(&n); err != nil {
		t.Fatalf("%s: %v", q, err)
	}
	return n
}

// waitText waits until the element's text contains want.
func waitText(t *testing.T, b context.Context, sel, want string) string {
	t.Helper()
	deadline := time.Now().Add(15 * time.Second)
	var got string
	for time.Now().Before(deadline) {
		ctx, cancel := context.WithTimeout(b, 2*time.Second)
		got, _ = chromedp.Run(ctx, chromedp.Text(chromedp.CSS(sel)))
		cancel()
		if strings.Contains(got, want) {
			return got
		}
		time.Sleep(100 * time.Millisecond)
	}
	testenv.Screenshot(t, b, "failed-wait")
	t.Fatalf("%s shows %q, want %q", sel, got, want)
	return ""
}

// shoot takes the desktop and phone screenshots of the current page.
func shoot(t *testing.T, b context.Context, label string) {
	t.Helper()
	testenv.Screenshot(t, b, label)
	testenv.ScreenshotNarrow(t, b, label)
}

// acceptConfirms makes window.confirm answer yes on the current page.
var acceptConfirms = chromedp.Evaluate[chromedp.Void]("window.confirm = function () { return true; }")

// curlUpload publishes archive with a header through curl and returns the
// HTTP status.
func curlUpload(t *testing.T, base, header, archive, version string) string {
	t.Helper()
	u := base + "/api/v4/projects/acme%2Finfra/packages/terraform/modules/vpc/aws/" + version + "/file"
	out, err := exec.Command("curl", "-sS", "-o", "/dev/null", "-w", "%{http_code}", "--header", header, "--upload-file", archive, u).CombinedOutput()
	if err != nil {
		t.Fatalf("curl: %v\n%s", err, out)
	}
	return strings.TrimSpace(string(out))
}

// TestManageStory is the whole story, clicked through in Chromium.
func TestManageStory(t *testing.T) {
	t.Parallel()
	_, err := exec.LookPath("curl")
	testenv.Require(t, err, "curl")
	sso := testenv.NewSSO(t, clientID, clientSecret)
	sso.AddUser(testenv.SSOUser{Subject: "sub-erin", Username: "erin", Name: "Erin Platform", Email: "erin@example.com", Groups: []string{"platform"}})
	db := testenv.DatabaseURL(t)
	s := ssoServer(t, sso, map[string]string{"CAIRN_DATABASE_URL": db})
	s2 := ssoServer(t, sso, map[string]string{"CAIRN_DATABASE_URL": db})
	if _, err := s.Users.SetPassword(context.Background(), "root", "correct horse battery"); err != nil {
		t.Fatal(err)
	}
	archive := moduleArchive(t)
	b := testenv.Browser(t)

	testenv.Step(t, b, "sign in as the administrator", chromedp.Navigate(s.URL+"/login"), chromedp.WaitVisible(chromedp.CSS("#username")),
		chromedp.SendKeys(chromedp.CSS("#username"), "root"), chromedp.SendKeys(chromedp.CSS("#password"), "correct horse battery"),
		chromedp.Click(chromedp.CSS("form.stack button")), chromedp.WaitVisible(chromedp.CSS(".who")))

	// A group: a reserved path is refused beside the field, then acme.
	testenv.Step(t, b, "open the new group form", chromedp.Navigate(s.URL+"/-/groups/new"), chromedp.WaitVisible(chromedp.CSS("#group-path")))
	shoot(t, b, "group-new")
	testenv.Step(t, b, "submit a reserved path", chromedp.SendKeys(chromedp.CSS("#group-name"), "ACME"), chromedp.SendKeys(chromedp.CSS("#group-path"), "admin"),
		chromedp.Click(chromedp.CSS("#group-form button.primary")))
	waitText(t, b, "#group-form .field-error", "reserved")
	shoot(t, b, "group-new-error")
	testenv.Step(t, b, "create acme", chromedp.Clear(chromedp.CSS("#group-path")), chromedp.SendKeys(chromedp.CSS("#group-path"), "acme"),
		chromedp.SetValue(chromedp.CSS("#group-visibility"), "private"), chromedp.Click(chromedp.CSS("#group-form button.primary")))
	waitText(t, b, ".flash", "Group acme was created.")
	shoot(t, b, "group-settings")
	if n := count(t, s, "SELECT count(*) FROM groups WHERE full_path = 'acme' AND visibility = 'private'"); n != 1 {
		t.Fatalf("private groups acme = %d", n)
	}

	// The project acme/infra.
	testenv.Step(t, b, "open the new project form", chromedp.Navigate(s.URL+"/-/projects/new?group=acme"), chromedp.WaitVisible(chromedp.CSS("#project-name")))
	testenv.Step(t, b, "create acme/infra", chromedp.SendKeys(chromedp.CSS("#project-name"), "Infra"), chromedp.SendKeys(chromedp.CSS("#project-path"), "infra"),
		chromedp.Click(chromedp.CSS("#project-form button.primary")))
	waitText(t, b, ".flash", "Project acme/infra was created.")
	shoot(t, b, "project-settings")

	// A user, added to the project as a developer.
	testenv.Step(t, b, "open the users", chromedp.Navigate(s.URL+"/admin/users"), chromedp.WaitVisible(chromedp.CSS("#user-username")))
	testenv.Step(t, b, "create dave", chromedp.SendKeys(chromedp.CSS("#user-username"), "dave"), chromedp.SendKeys(chromedp.CSS("#user-name"), "Dave Developer"),
		chromedp.SendKeys(chromedp.CSS("#user-email"), "dave@example.com"), chromedp.SendKeys(chromedp.CSS("#user-password"), "dave's long password"),
		chromedp.Click(chromedp.CSS("#user-form button.primary")))
	waitText(t, b, ".flash", "User dave was created.")
	shoot(t, b, "admin-user")
	testenv.Step(t, b, "back to the users", chromedp.Navigate(s.URL+"/admin/users"), chromedp.WaitVisible(chromedp.CSS("#users table")))
	shoot(t, b, "admin-users")
	testenv.Step(t, b, "open the members", chromedp.Navigate(s.URL+"/acme/infra/-/members"), chromedp.WaitVisible(chromedp.CSS("#member-username")))
	testenv.Step(t, b, "add dave as developer", chromedp.SendKeys(chromedp.CSS("#member-username"), "dave"), chromedp.SetValue(chromedp.CSS("#member-role"), "30"),
		chromedp.Click(chromedp.CSS("#member-form button.primary")))
	waitText(t, b, ".flash", "dave was added as Developer.")
	shoot(t, b, "project-members")
	if n := count(t, s, "SELECT count(*) FROM members m JOIN users u ON u.id = m.user_id WHERE u.username = 'dave' AND m.access_level = 30"); n != 1 {
		t.Fatalf("dave's developer memberships = %d", n)
	}

	// A deploy token, shown once; curl publishes with it.
	testenv.Step(t, b, "open the deploy tokens", chromedp.Navigate(s.URL+"/acme/infra/-/tokens"), chromedp.WaitVisible(chromedp.CSS("#token-name")))
	testenv.Step(t, b, "create a deploy token", chromedp.SendKeys(chromedp.CSS("#token-name"), "ci upload"), chromedp.Click(chromedp.CSS("#scope-write")),
		chromedp.Click(chromedp.CSS("#token-form button.primary")), chromedp.WaitVisible(chromedp.CSS("#new-secret")))
	secret, err := chromedp.Run(b, chromedp.Text(chromedp.CSS("#new-secret")))
	if err != nil || !strings.HasPrefix(secret, "cairndt-") {
		t.Fatalf("secret shown = %q, %v", secret, err)
	}
	shoot(t, b, "deploy-token-created")
	if code := curlUpload(t, s.URL, "DEPLOY-TOKEN: "+secret, archive, "1.0.0"); code != "201" {
		t.Fatalf("curl --upload-file with the deploy token = %s, want 201", code)
	}

	// A trust rule; a job token from the test issuer publishes.
	issuer := testenv.NewIssuer(t)
	testenv.Step(t, b, "open CI", chromedp.Navigate(s.URL+"/acme/infra/-/ci"), chromedp.WaitVisible(chromedp.CSS("#rule-issuer")))
	testenv.Step(t, b, "submit a rule without the repository", chromedp.SendKeys(chromedp.CSS("#rule-issuer"), issuer.URL),
		chromedp.SetValue(chromedp.CSS("#rule-audience"), testenv.DefaultAudience), chromedp.Click(chromedp.CSS("#rule-form button.primary")))
	waitText(t, b, "#rule-form .error", "value is empty")
	shoot(t, b, "ci-error")
	testenv.Step(t, b, "create the rule", chromedp.SendKeys(chromedp.CSS("#cond-value-0"), "acme/infra"), chromedp.Click(chromedp.CSS("#rule-form button.primary")))
	waitText(t, b, ".flash", "The trust rule was created")
	shoot(t, b, "ci")
	job := issuer.Mint(t, map[string]any{"sub": "project_path:acme/infra:ref_type:tag:ref:v1.1.0", "project_path": "acme/infra", "ref_type": "tag", "ref": "v1.1.0"})
	if code := curlUpload(t, s.URL, "JOB-TOKEN: "+job, archive, "1.1.0"); code != "201" {
		t.Fatalf("curl --upload-file with the job token = %s, want 201", code)
	}

	// The user group platform with MODIFY on acme.
	testenv.Step(t, b, "open the user groups", chromedp.Navigate(s.URL+"/admin/user-groups"), chromedp.WaitVisible(chromedp.CSS("#ug-name")))
	testenv.Step(t, b, "create platform", chromedp.SendKeys(chromedp.CSS("#ug-name"), "platform"), chromedp.Click(chromedp.CSS("#ug-form button.primary")))
	waitText(t, b, ".flash", "User group platform was created.")
	testenv.Step(t, b, "grant MODIFY on acme", chromedp.SetValue(chromedp.CSS("#perm-namespace"), "acme"), chromedp.SetValue(chromedp.CSS("#perm-type"), "MODIFY"),
		chromedp.Click(chromedp.CSS("#perm-form button.primary")))
	waitText(t, b, ".flash", "platform now has MODIFY on acme.")
	shoot(t, b, "admin-user-group")

	// Erin signs in through SSO (groups claim: platform), sees acme and
	// publishes from the browser, on both replicas.
	e := testenv.Browser(t)
	testenv.Step(t, e, "erin signs in with SSO", chromedp.Navigate(s.URL+"/login"), chromedp.WaitVisible(chromedp.CSS("a.button.primary")),
		chromedp.Click(chromedp.CSS("a.button.primary")), chromedp.WaitVisible(chromedp.CSS("#as-erin")),
		chromedp.Click(chromedp.CSS("#as-erin")), chromedp.WaitVisible(chromedp.CSS(".who")))
	testenv.Step(t, e, "erin opens her dashboard", chromedp.Navigate(s.URL+"/dashboard"), chromedp.WaitVisible(chromedp.CSS("#groups-h")))
	waitText(t, e, "main", "acme/infra")
	shoot(t, e, "dashboard")
	testenv.Step(t, e, "erin opens publish", chromedp.Navigate(s.URL+"/acme/infra/-/publish"), chromedp.WaitVisible(chromedp.CSS("#publish-file")))
	shoot(t, e, "publish")
	testenv.Step(t, e, "erin publishes 1.2.0", chromedp.SetUploadFiles(chromedp.CSS("#publish-file"), []string{archive}),
		chromedp.SendKeys(chromedp.CSS("#publish-name"), "vpc"), chromedp.SendKeys(chromedp.CSS("#publish-system"), "aws"),
		chromedp.SendKeys(chromedp.CSS("#publish-version"), "1.2.0"), chromedp.Click(chromedp.CSS("#publish-form button.primary")))
	waitText(t, e, ".flash", "Published vpc/aws 1.2.0.")
	shoot(t, e, "published")
	if n := count(t, s, "SELECT count(*) FROM module_versions"); n != 3 {
		t.Fatalf("versions = %d, want 3 (deploy token, job token, browser)", n)
	}
	testenv.Step(t, e, "erin opens publish on the second replica", chromedp.Navigate(s2.URL+"/acme/infra/-/publish"), chromedp.WaitVisible(chromedp.CSS("#publish-file")))

	// The admin takes the permission away: erin's next page load is the 404
	// page, on both replicas.
	testenv.Step(t, b, "remove the permission", chromedp.Navigate(s.URL+"/admin/user-groups/platform"), chromedp.WaitVisible(chromedp.CSS("#perm-form")),
		acceptConfirms, chromedp.Click(chromedp.CSS("#perms-h + table button.danger")))
	waitText(t, b, ".flash", "platform no longer has a permission on acme.")
	for _, base := range []string{s.URL, s2.URL} {
		deadline := time.Now().Add(10 * time.Second)
		for {
			testenv.Step(t, e, "erin reloads", chromedp.Navigate(base+"/acme/infra/-/publish"), chromedp.WaitVisible(chromedp.CSS("h1")))
			h, _ := chromedp.Run(e, chromedp.Text(chromedp.CSS("h1")))
			if h == "Page not found" {
				break
			}
			if base == s.URL || time.Now().After(deadline) {
				t.Fatalf("%s after the permission was removed: %q, want the 404 page", base, h)
			}
			time.Sleep(200 * time.Millisecond)
		}
	}
	shoot(t, e, "permission-removed")

	// The other pages, for the screenshots.
	for _, pg := range []struct{ path, wait, label string }{
		{"/dashboard", "#groups-h", "admin-dashboard"},
		{"/groups/acme/-/members", "#member-form", "group-members"},
		{"/groups/acme/-/tokens", "#token-form", "group-tokens"},
		{"/acme/infra/-/settings", "#versions-h", "project-versions"},
		{"/-/user/settings", "dl.facts", "user-profile"},
		{"/-/user/settings/tokens", "#pat-form", "user-tokens"},
		{"/-/user/settings/sessions", "table.list", "user-sessions"},
		{"/admin/user-groups", "#ug-form", "admin-user-groups"},
		{"/admin/audit", "#events", "admin-audit"},
		{"/admin/system", "dl.facts", "admin-system"},
	} {
		testenv.Step(t, b, "open "+pg.path, chromedp.Navigate(s.URL+pg.path), chromedp.WaitVisible(chromedp.CSS(pg.wait)))
		shoot(t, b, pg.label)
	}
	testenv.Step(t, b, "create a personal access token", chromedp.Navigate(s.URL+"/-/user/settings/tokens"), chromedp.WaitVisible(chromedp.CSS("#pat-name")),
		chromedp.SendKeys(chromedp.CSS("#pat-name"), "laptop"), chromedp.Click(chromedp.CSS("#pat-form button.primary")), chromedp.WaitVisible(chromedp.CSS("#new-secret")))
	shoot(t, b, "user-token-created")
	testenv.Step(t, b, "filter the audit log", chromedp.Navigate(s.URL+"/admin/audit?q=job_trust_rule"), chromedp.WaitVisible(chromedp.CSS("#events")))
	waitText(t, b, "#events", "job_trust_rule")
	testenv.Step(t, b, "confirm a group deletion wrongly", chromedp.Navigate(s.URL+"/groups/acme/-/settings"), chromedp.WaitVisible(chromedp.CSS("#confirm-path")),
		chromedp.SendKeys(chromedp.CSS("#confirm-path"), "acm"), chromedp.Click(chromedp.CSS("#danger button.danger")))
	waitText(t, b, "#danger .field-error", "Type acme exactly")
	shoot(t, b, "group-delete-confirm")
	if n := count(t, s, "SELECT count(*) FROM groups WHERE full_path = 'acme'"); n != 1 {
		t.Fatal("a wrongly confirmed deletion deleted the group")
	}

	// Dave, a developer, sees the project without its delete buttons.
	d := testenv.Browser(t)
	testenv.Step(t, d, "dave signs in", chromedp.Navigate(s.URL+"/login"), chromedp.WaitVisible(chromedp.CSS("#username")),
		chromedp.SendKeys(chromedp.CSS("#username"), "dave"), chromedp.SendKeys(chromedp.CSS("#password"), "dave's long password"),
		chromedp.Click(chromedp.CSS("form.stack button")), chromedp.WaitVisible(chromedp.CSS(".who")))
	testenv.Step(t, d, "dave opens the project's settings", chromedp.Navigate(s.URL+"/acme/infra/-/settings"), chromedp.WaitVisible(chromedp.CSS("#versions-h")))
	n, err := chromedp.Run(d, chromedp.Evaluate[int](`document.querySelectorAll(".manage .danger, #settings-form").length`))
	if err != nil || n != 0 {
		t.Fatalf("the developer's settings page has %d delete controls or edit forms (%v), want none", n, err)
	}
	shoot(t, d, "developer-settings")
	testenv.Step(t, d, "dave opens the members", chromedp.Navigate(s.URL+"/acme/infra/-/members"), chromedp.WaitVisible(chromedp.CSS("#direct-h")))
	shoot(t, d, "developer-members")
}

// TestManageRefusals: a developer sees no delete buttons and gets 403 for
// a delete form posted by hand, a non-admin gets the 404 page under /admin,
// and no refusal changes the database.
func TestManageRefusals(t *testing.T) {
	t.Parallel()
	s := testserver.Start(t)
	ctx := context.Background()
	root := adminPrincipal()
	g, err := s.Projects.CreateGroup(ctx, root, groupInput("acme"))
	if err != nil {
		t.Fatal(err)
	}
	pr, err := s.Projects.CreateProject(ctx, root, projectInput(g, "infra"))
	if err != nil {
		t.Fatal(err)
	}
	dave, err := s.Users.CreateUser(ctx, root, userInput("dave", "dave's long password"))
	if err != nil {
		t.Fatal(err)
	}
	if _, err := s.Projects.SetMember(ctx, root, projectTarget(pr), dave.ID, 30, true); err != nil {
		t.Fatal(err)
	}
	c := browserClient(t)
	_, page := get(t, c, s.URL+"/login")
	resp, err := c.PostForm(s.URL+"/login", url.Values{"username": {"dave"}, "password": {"dave's long password"}, "csrf_token": {csrfOf(t, page)}})
	if err != nil || resp.StatusCode != http.StatusSeeOther {
		t.Fatalf("dave's sign-in: %v %v", resp, err)
	}
	resp.Body.Close()

	resp, settings := get(t, c, s.URL+"/acme/infra/-/settings")
	if resp.StatusCode != 200 || strings.Contains(settings, "Delete project") || strings.Contains(settings, `class="button danger"`) || strings.Contains(settings, `id="settings-form"`) {
		t.Fatalf("developer's settings page = %d; want it without delete buttons or the settings form:\n%s", resp.StatusCode, settings)
	}
	tok := csrfOf(t, settings)
	before := snapshot(t, s)
	post := func(path string, form url.Values) (int, string) {
		t.Helper()
		form.Set("csrf_token", tok)
		resp, err := c.PostForm(s.URL+path, form)
		if err != nil {
			t.Fatal(err)
		}
		defer resp.Body.Close()
		b, _ := io.ReadAll(resp.Body)
		return resp.StatusCode, string(b)
	}
	for _, tc := range []struct {
		path string
		form url.Values
		want int
	}{
		{"/acme/infra/-/delete", url.Values{"confirm": {"acme/infra"}}, 403},
		{"/groups/acme/-/delete", url.Values{"confirm": {"acme"}}, 404},
		{"/acme/infra/-/settings", url.Values{"name": {"Hacked"}, "visibility": {"private"}}, 403},
		{"/acme/infra/-/members", url.Values{"username": {"dave"}, "access_level": {"50"}}, 403},
		{"/acme/infra/-/members/" + i64s(dave.ID), url.Values{"access_level": {"40"}}, 403},
		{"/acme/infra/-/tokens", url.Values{"name": {"x"}, "scopes": {"write_package_registry"}}, 403},
		{"/acme/infra/-/ci", url.Values{"issuer": {"https://gitlab.example.com"}, "audience": {"x"}, "claim": {"project_path"}, "op": {"equals"}, "value": {"a/b"}}, 403},
		{"/admin/users", url.Values{"username": {"mallory"}, "password": {"mallory's password"}, "admin": {"true"}}, 404},
		{"/admin/user-groups", url.Values{"name": {"evil"}, "site_admin": {"true"}}, 404},
	} {
		code, body := post(tc.path, tc.form)
		if code != tc.want {
			t.Errorf("POST %s by a developer = %d, want %d:\n%.400s", tc.path, code, tc.want, body)
		}
	}
	for _, p := range []string{"/admin", "/admin/users", "/admin/audit", "/admin/system", "/admin/user-groups"} {
		if resp, body := get(t, c, s.URL+p); resp.StatusCode != 404 || !strings.Contains(body, "Page not found") {
			t.Errorf("GET %s by a non-admin = %d, want the 404 page", p, resp.StatusCode)
		}
	}
	if after := snapshot(t, s); after != before {
		t.Fatalf("refusals changed the database:\nbefore %s\nafter  %s", before, after)
	}
	// Anonymous visitors are sent to sign in; /admin does not exist for them.
	anon := browserClient(t)
	if resp, _ := get(t, anon, s.URL+"/acme/infra/-/settings"); resp.StatusCode != http.StatusSeeOther || !strings.HasPrefix(resp.Header.Get("Location"), "/login?next=") {
		t.Fatalf("anonymous settings = %d %s, want a redirect to sign in", resp.StatusCode, resp.Header.Get("Location"))
	}
	if resp, _ := get(t, anon, s.URL+"/admin/users"); resp.StatusCode != 404 {
		t.Fatalf("anonymous /admin/users = %d, want 404", resp.StatusCode)
	}
}

var numbers = regexp.MustCompile(`\d+`)

// snapshot summarises what a refusal must leave unchanged.
func snapshot(t *testing.T, s *testserver.Server) string {
	t.Helper()
	var out string
	for _, q := range []string{
		"SELECT count(*) FROM groups", "SELECT count(*) FROM projects", "SELECT count(*) FROM users",
		"SELECT count(*) FROM members", "SELECT coalesce(sum(access_level), 0) FROM members", "SELECT count(*) FROM deploy_tokens",
		"SELECT count(*) FROM job_trust_rules", "SELECT count(*) FROM user_groups", "SELECT count(*) FROM audit_events",
		"SELECT count(*) FROM projects WHERE name = 'Hacked'",
	} {
		out += numbers.FindString(q) + strings.TrimPrefix(q, "SELECT ") + "=" + i64s(int64(count(t, s, q))) + "; "
	}
	return out
}

func adminPrincipal() *policies.Principal {
	return &policies.Principal{Kind: policies.User, UserID: 1, Username: "root", Admin: true}
}

func groupInput(path string) projects.GroupInput {
	return projects.GroupInput{Path: path, Name: path, Visibility: "private"}
}

func projectInput(g projects.Group, path string) projects.ProjectInput {
	return projects.ProjectInput{Group: g, Path: path, Name: path, Visibility: "private"}
}

func userInput(username, password string) users.UserInput {
	return users.UserInput{Username: username, Name: username, Password: password}
}

func projectTarget(p projects.Project) projects.Target { return projects.ProjectTarget(p) }

func i64s(n int64) string { return strconv.FormatInt(n, 10) }

// signInClient signs username in with a password on a cookie-jar client and
// returns the client and a CSRF token of its session.
func signInClient(t *testing.T, s *testserver.Server, username, password string) (*http.Client, string) {
	t.Helper()
	c := browserClient(t)
	_, page := get(t, c, s.URL+"/login")
	resp, err := c.PostForm(s.URL+"/login", url.Values{"username": {username}, "password": {password}, "csrf_token": {csrfOf(t, page)}})
	if err != nil || resp.StatusCode != http.StatusSeeOther {
		t.Fatalf("%s's sign-in: %v %v", username, resp, err)
	}
	resp.Body.Close()
	_, home := get(t, c, s.URL+"/dashboard")
	return c, csrfOf(t, home)
}

// TestManageForms: a field error comes back as 422 beside its field (with
// and without htmx), success is a flash and 303 (HX-Redirect for htmx).
func TestManageForms(t *testing.T) {
	t.Parallel()
	s := testserver.Start(t)
	if _, err := s.Users.SetPassword(context.Background(), "root", "correct horse battery"); err != nil {
		t.Fatal(err)
	}
	c, tok := signInClient(t, s, "root", "correct horse battery")
	send := func(path string, form url.Values, htmx bool) *http.Response {
		t.Helper()
		req, _ := http.NewRequest(http.MethodPost, s.URL+path, strings.NewReader(form.Encode()))
		req.Header.Set("Content-Type", "application/x-www-form-urlencoded")
		if htmx {
			req.Header.Set("HX-Request", "true")
			req.Header.Set("X-CSRF-Token", tok)
		} else {
			form.Set("csrf_token", tok)
			req.Body = io.NopCloser(strings.NewReader(form.Encode()))
			req.ContentLength = int64(len(form.Encode()))
		}
		resp, err := c.Do(req)
		if err != nil {
			t.Fatal(err)
		}
		return resp
	}
	body := func(resp *http.Response) string {
		defer resp.Body.Close()
		b, _ := io.ReadAll(resp.Body)
		return string(b)
	}
	resp := send("/-/groups/new", url.Values{"name": {"ACME"}, "path": {"acme"}, "visibility": {"private"}}, false)
	if resp.StatusCode != http.StatusSeeOther || resp.Header.Get("Location") != "/groups/acme/-/settings" {
		t.Fatalf("create acme = %d %s, want 303 to its settings", resp.StatusCode, resp.Header.Get("Location"))
	}
	resp.Body.Close()
	if _, page := get(t, c, s.URL+"/groups/acme/-/settings"); !strings.Contains(page, "Group acme was created.") {
		t.Fatal("no flash after creating a group")
	}
	if _, page := get(t, c, s.URL+"/groups/acme/-/settings"); strings.Contains(page, "Group acme was created.") {
		t.Fatal("the flash was shown twice")
	}
	for _, htmx := range []bool{false, true} {
		resp = send("/-/groups/new", url.Values{"name": {"Net"}, "path": {"net"}, "parent": {"acme"}, "visibility": {"public"}}, htmx)
		page := body(resp)
		want := `<p class="field-error" id="group-visibility-error">visibility public is not allowed since the parent group has private visibility</p>`
		if resp.StatusCode != http.StatusUnprocessableEntity || !strings.Contains(page, want) || !strings.Contains(page, `id="group-form"`) {
			t.Fatalf("public subgroup of a private group (htmx %v) = %d; want 422 with the message beside visibility:\n%s", htmx, resp.StatusCode, page)
		}
	}
	resp = send("/-/projects/new", url.Values{"group": {"acme"}, "name": {"Infra"}, "path": {"infra"}, "visibility": {"private"}}, true)
	if resp.StatusCode != http.StatusOK || resp.Header.Get("HX-Redirect") != "/acme/infra/-/settings" {
		t.Fatalf("create a project with htmx = %d HX-Redirect %q", resp.StatusCode, resp.Header.Get("HX-Redirect"))
	}
	resp.Body.Close()
	if n := count(t, s, "SELECT count(*) FROM groups WHERE path = 'net'"); n != 0 {
		t.Fatal("a refused subgroup was created")
	}
	// Publishing without a file, then with a bad version: messages beside
	// the fields, nothing stored.
	resp = send("/acme/infra/-/publish", url.Values{"name": {"vpc"}, "system": {"aws"}, "version": {"1.0.0"}}, false)
	if page := body(resp); resp.StatusCode != http.StatusUnprocessableEntity || !strings.Contains(page, `<p class="field-error">file is missing</p>`) {
		t.Fatalf("publish without a file = %d:\n%s", resp.StatusCode, page)
	}
	if n := count(t, s, "SELECT count(*) FROM module_versions"); n != 0 {
		t.Fatal("a refused publish stored a version")
	}
	// Members: add, change the role inline, remove; the last owner of a
	// namespace stays.
	dave, err := s.Users.CreateUser(context.Background(), adminPrincipal(), userInput("dave", ""))
	if err != nil {
		t.Fatal(err)
	}
	level := func() int {
		return count(t, s, "SELECT coalesce(max(access_level), 0) FROM members WHERE user_id = $1 AND group_id IS NOT NULL", dave.ID)
	}
	steps := []struct {
		path      string
		form      url.Values
		wantCode  int
		wantLevel int
	}{
		{"/groups/acme/-/members", url.Values{"username": {"nobody"}, "access_level": {"30"}}, 422, 0},
		{"/groups/acme/-/members", url.Values{"username": {"dave"}, "access_level": {"30"}}, 303, 30},
		{"/groups/acme/-/members", url.Values{"username": {"dave"}, "access_level": {"30"}}, 422, 30},
		{"/groups/acme/-/members/" + i64s(dave.ID), url.Values{"access_level": {"40"}}, 303, 40},
		{"/groups/acme/-/members/1", url.Values{"access_level": {"40"}}, 400, 40},
		{"/groups/acme/-/members/" + i64s(dave.ID) + "/remove", url.Values{}, 303, 0},
	}
	for _, st := range steps {
		resp := send(st.path, st.form, false)
		page := body(resp)
		if resp.StatusCode != st.wantCode || level() != st.wantLevel {
			t.Fatalf("POST %s %v = %d (dave's level %d), want %d (%d):\n%.600s", st.path, st.form, resp.StatusCode, level(), st.wantCode, st.wantLevel, page)
		}
	}
}
