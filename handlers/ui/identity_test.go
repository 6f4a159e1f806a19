package ui_test

import (
	"context"
	"io"
	"net/http"
	"net/http/cookiejar"
	"net/url"
	"strings"
	"testing"
	"time"

	"github.com/chromedp/chromedp"

	"github.com/cairn-registry/cairn/internal/testenv"
	"github.com/cairn-registry/cairn/internal/testserver"
	"github.com/cairn-registry/cairn/policies"
	"github.com/cairn-registry/cairn/users"
)

func TestMain(m *testing.M) { testenv.Main(m) }

const (
	clientID     = "cairn-test"
	clientSecret = "s3cret-client"
)

// ssoServer starts Cairn configured for single sign-on against a test
// provider; extra sets more variables.
func ssoServer(t *testing.T, sso *testenv.SSO, extra map[string]string) *testserver.Server {
	t.Helper()
	env := map[string]string{
		"CAIRN_OIDC_ISSUER":        sso.URL,
		"CAIRN_OIDC_CLIENT_ID":     clientID,
		"CAIRN_OIDC_CLIENT_SECRET": clientSecret,
		"CAIRN_OIDC_NAME":          "Test SSO",
	}
	for k, v := range extra {
		env[k] = v
	}
	return testserver.Start(t, testserver.Env(env))
}

// browserClient is an HTTP client with a cookie jar that does not follow
// redirects, standing in for a browser where no page needs rendering.
func browserClient(t *testing.T) *http.Client {
	t.Helper()
	jar, err := cookiejar.New(nil)
	if err != nil {
		t.Fatal(err)
	}
	return &http.Client{Jar: jar, Timeout: 30 * time.Second,
		CheckRedirect: func(*http.Request, []*http.Request) error { return http.ErrUseLastResponse }}
}

func get(t *testing.T, c *http.Client, u string) (*http.Response, string) {
	t.Helper()
	resp, err := c.Get(u)
	if err != nil {
		t.Fatal(err)
	}
	defer resp.Body.Close()
	b, _ := io.ReadAll(resp.Body)
	return resp, string(b)
}

func userCount(t *testing.T, s *testserver.Server) int {
	t.Helper()
	var n int
	if err := s.Pool.QueryRow(context.Background(), "SELECT count(*) FROM users").Scan(&n); err != nil {
		t.Fatal(err)
	}
	return n
}

func sessionCookie(c *http.Client, base string) string {
	u, _ := url.Parse(base)
	for _, ck := range c.Jar.Cookies(u) {
		if ck.Name == "cairn_session" {
			return ck.Value
		}
	}
	return ""
}

// TestPasswordSignInInBrowser signs in with a password by typing and
// clicking, sees the user's name, and signs out.
func TestPasswordSignInInBrowser(t *testing.T) {
	t.Parallel()
	s := testserver.Start(t)
	if _, err := s.Users.SetPassword(context.Background(), "root", "correct horse battery"); err != nil {
		t.Fatal(err)
	}
	ctx := testenv.Browser(t)
	testenv.Step(t, ctx, "open the sign-in page", chromedp.Navigate(s.URL+"/login"), chromedp.WaitVisible(chromedp.CSS("#username")))
	testenv.Screenshot(t, ctx, "login")
	testenv.ScreenshotNarrow(t, ctx, "login")
	testenv.Step(t, ctx, "submit a wrong password",
		chromedp.SendKeys(chromedp.CSS("#username"), "root"),
		chromedp.SendKeys(chromedp.CSS("#password"), "wrong password"),
		chromedp.Click(chromedp.CSS("form.stack button")),
		chromedp.WaitVisible(chromedp.CSS(".error")))
	msg, err := chromedp.Run(ctx, chromedp.Text(chromedp.CSS(".error")))
	if err != nil || msg != "Invalid username or password." {
		t.Fatalf("error shown = %q, %v; want the uniform message", msg, err)
	}
	testenv.Screenshot(t, ctx, "login-failed")
	testenv.Step(t, ctx, "sign in",
		chromedp.SendKeys(chromedp.CSS("#password"), "correct horse battery"),
		chromedp.Click(chromedp.CSS("form.stack button")),
		chromedp.WaitVisible(chromedp.CSS(".who")))
	who, _ := chromedp.Run(ctx, chromedp.Text(chromedp.CSS(".who")))
	if who != "root" {
		t.Fatalf("signed-in name = %q, want root", who)
	}
	testenv.Screenshot(t, ctx, "signed-in")
	testenv.Step(t, ctx, "sign out", chromedp.Click(chromedp.CSS("header form button")), chromedp.WaitVisible(chromedp.CSS(`a[href="/login"]`)))
}

// TestPasswordSignInRefusals: one answer for unknown users and wrong
// passwords, throttling after repeated failures, and a session id renewed at
// sign-in (no fixation).
func TestPasswordSignInRefusals(t *testing.T) {
	t.Parallel()
	s := testserver.Start(t)
	if _, err := s.Users.SetPassword(context.Background(), "root", "correct horse battery"); err != nil {
		t.Fatal(err)
	}
	c := browserClient(t)
	var login func(user, pw string) (int, string)
	login = func(user, pw string) (int, string) {
		resp, body := get(t, c, s.URL+"/login")
		if resp.StatusCode != 200 {
			t.Fatalf("GET /login = %d", resp.StatusCode)
		}
		tok := csrfOf(t, body)
		resp, err := c.PostForm(s.URL+"/login", url.Values{"username": {user}, "password": {pw}, "csrf_token": {tok}, "next": {"/"}})
		if err != nil {
			t.Fatal(err)
		}
		defer resp.Body.Close()
		b, _ := io.ReadAll(resp.Body)
		return resp.StatusCode, string(b)
	}
	code1, body1 := login("nobody", "whatever-password")
	code2, body2 := login("root", "wrong-password")
	if code1 != 401 || code2 != 401 || !strings.Contains(body1, "Invalid username or password.") || !strings.Contains(body2, "Invalid username or password.") {
		t.Fatalf("unknown user = %d, wrong password = %d; want the same 401 and message", code1, code2)
	}
	before := sessionCookie(c, s.URL)
	if code, _ := login("root", "correct horse battery"); code != http.StatusSeeOther {
		t.Fatalf("sign-in = %d, want 303", code)
	}
	if after := sessionCookie(c, s.URL); after == "" || after == before {
		t.Fatalf("session cookie %q → %q at sign-in; want a new session id", before, after)
	}
	// Throttling: five failures for a name, then 429.
	c = browserClient(t)
	for range 5 {
		login("erin", "nope-nope-nope")
	}
	if code, body := login("erin", "nope-nope-nope"); code != http.StatusTooManyRequests || !strings.Contains(body, "Too many failed sign-ins") {
		t.Fatalf("sixth failure = %d; want 429 with a message", code)
	}
}

func csrfOf(t *testing.T, page string) string {
	t.Helper()
	for _, marker := range []string{`name="csrf_token" value="`, `name="csrf-token" content="`} {
		if i := strings.Index(page, marker); i >= 0 {
			rest := page[i+len(marker):]
			return rest[:strings.IndexByte(rest, '"')]
		}
	}
	t.Fatalf("no CSRF token in the page:\n%s", page)
	return ""
}

// TestCrossSitePostRefused: a POST from another origin is refused by
// http.CrossOriginProtection, and a same-site POST without the session's
// token by the CSRF check; neither signs the user out.
func TestCrossSitePostRefused(t *testing.T) {
	t.Parallel()
	s := testserver.Start(t)
	if _, err := s.Users.SetPassword(context.Background(), "root", "correct horse battery"); err != nil {
		t.Fatal(err)
	}
	c := browserClient(t)
	_, page := get(t, c, s.URL+"/login")
	resp, err := c.PostForm(s.URL+"/login", url.Values{"username": {"root"}, "password": {"correct horse battery"}, "csrf_token": {csrfOf(t, page)}})
	if err != nil || resp.StatusCode != http.StatusSeeOther {
		t.Fatalf("sign-in: %v %v", resp, err)
	}
	resp.Body.Close()
	_, home := get(t, c, s.URL+"/")
	token := csrfOf(t, home)
	for _, tc := range []struct {
		name   string
		header map[string]string
		token  string
	}{
		{"another origin", map[string]string{"Origin": "https://evil.example", "Sec-Fetch-Site": "cross-site"}, token},
		{"no CSRF token", nil, ""},
		{"wrong CSRF token", nil, "forged"},
	} {
		req, _ := http.NewRequest("POST", s.URL+"/logout", strings.NewReader(url.Values{"csrf_token": {tc.token}}.Encode()))
		req.Header.Set("Content-Type", "application/x-www-form-urlencoded")
		for k, v := range tc.header {
			req.Header.Set(k, v)
		}
		resp, err := c.Do(req)
		if err != nil {
			t.Fatal(err)
		}
		resp.Body.Close()
		if resp.StatusCode != http.StatusForbidden {
			t.Errorf("%s: POST /logout = %d, want 403", tc.name, resp.StatusCode)
		}
		if _, home := get(t, c, s.URL+"/"); !strings.Contains(home, `class="who"`) {
			t.Fatalf("%s: the refused POST signed the user out", tc.name)
		}
	}
}

// TestSSOSignInAndGroupSync signs in through the provider by clicking, and
// checks that user group memberships follow the groups claim across two
// sign-ins while an administrator's manual membership stays.
func TestSSOSignInAndGroupSync(t *testing.T) {
	t.Parallel()
	sso := testenv.NewSSO(t, clientID, clientSecret)
	sso.AddUser(testenv.SSOUser{Subject: "sub-alice", Username: "alice", Name: "Alice Liddell", Email: "alice@example.com", Groups: []string{"platform", "unknown-group"}})
	s := ssoServer(t, sso, nil)
	ctx := context.Background()
	admin := &policies.Principal{Kind: policies.User, UserID: 1, Username: "root", Admin: true}
	for _, g := range []string{"platform", "auditors"} {
		if _, err := s.Users.CreateUserGroup(ctx, admin, g, false); err != nil {
			t.Fatal(err)
		}
	}

	b := testenv.Browser(t)
	testenv.Step(t, b, "open the sign-in page", chromedp.Navigate(s.URL+"/login"), chromedp.WaitVisible(chromedp.CSS("a.button.primary")))
	testenv.Screenshot(t, b, "login-with-sso")
	testenv.Step(t, b, "sign in with SSO", chromedp.Click(chromedp.CSS("a.button.primary")), chromedp.WaitVisible(chromedp.CSS("#as-alice")),
		chromedp.Click(chromedp.CSS("#as-alice")), chromedp.WaitVisible(chromedp.CSS(".who")))
	who, _ := chromedp.Run(b, chromedp.Text(chromedp.CSS(".who")))
	if who != "Alice Liddell" {
		t.Fatalf("signed-in name = %q, want Alice Liddell", who)
	}
	testenv.Screenshot(t, b, "signed-in-sso")
	members := func() map[string]string {
		rows, err := s.Pool.Query(ctx, `SELECT g.name, m.source FROM user_group_members m JOIN user_groups g ON g.id = m.user_group_id
			JOIN users u ON u.id = m.user_id WHERE u.username = 'alice'`)
		if err != nil {
			t.Fatal(err)
		}
		defer rows.Close()
		out := map[string]string{}
		for rows.Next() {
			var n, src string
			rows.Scan(&n, &src)
			out[n] = src
		}
		return out
	}
	if got := members(); len(got) != 1 || got["platform"] != "sso" {
		t.Fatalf("memberships after the first sign-in = %v; want platform (from SSO)", got)
	}
	if _, err := s.Users.AddUserGroupMember(ctx, admin, "auditors", "alice"); err != nil {
		t.Fatal(err)
	}
	// Second sign-in: the claim no longer names platform.
	sso.AddUser(testenv.SSOUser{Subject: "sub-alice", Username: "alice", Name: "Alice Liddell", Email: "alice@example.com", Groups: []string{}})
	testenv.Step(t, b, "sign out", chromedp.Click(chromedp.CSS("header form button")), chromedp.WaitVisible(chromedp.CSS(`a[href="/login"]`)))
	testenv.Step(t, b, "sign in again", chromedp.Navigate(s.URL+"/openid/login"), chromedp.WaitVisible(chromedp.CSS("#as-alice")),
		chromedp.Click(chromedp.CSS("#as-alice")), chromedp.WaitVisible(chromedp.CSS(".who")))
	if got := members(); len(got) != 1 || got["auditors"] != "manual" {
		t.Fatalf("memberships after the second sign-in = %v; want only auditors (added by hand)", got)
	}
	// A token without the claim leaves memberships unchanged.
	sso.AddUser(testenv.SSOUser{Subject: "sub-alice", Username: "alice", Name: "Alice Liddell", NoGroups: true})
	if _, err := s.Users.AddUserGroupMember(ctx, admin, "platform", "alice"); err != nil {
		t.Fatal(err)
	}
	c := browserClient(t)
	signInWithClient(t, c, s.URL, s.URL, sso, "sub-alice")
	if got := members(); len(got) != 2 {
		t.Fatalf("memberships after a sign-in without the claim = %v; want both kept", got)
	}
	if userCount(t, s) != 2 {
		t.Fatalf("users = %d; want root and alice (linked by issuer and subject, not duplicated)", userCount(t, s))
	}
}

// signInWithClient runs an SSO sign-in started on base and finished on
// callbackBase (another replica) with a cookie-jar client.
func signInWithClient(t *testing.T, c *http.Client, base, callbackBase string, sso *testenv.SSO, subject string) *http.Response {
	t.Helper()
	resp, _ := get(t, c, base+"/openid/login?next=/")
	if resp.StatusCode != http.StatusFound {
		t.Fatalf("GET /openid/login = %d, want 302 to the provider", resp.StatusCode)
	}
	back, err := sso.SignInURLCode(resp.Header.Get("Location"), subject)
	if err != nil {
		t.Fatal(err)
	}
	bu, _ := url.Parse(back)
	cb, _ := url.Parse(callbackBase)
	bu.Scheme, bu.Host = cb.Scheme, cb.Host
	resp, _ = get(t, c, bu.String())
	return resp
}

// TestSSOAcrossReplicas starts a sign-in on one replica and finishes it on
// another (state, nonce and PKCE live in the shared session), then blocks
// the user on the second replica and sees the first sign them out.
func TestSSOAcrossReplicas(t *testing.T) {
	t.Parallel()
	sso := testenv.NewSSO(t, clientID, clientSecret)
	sso.AddUser(testenv.SSOUser{Subject: "sub-bob", Username: "bob", Name: "Bob", Groups: []string{}})
	db := testenv.DatabaseURL(t)
	extra := map[string]string{"CAIRN_PUBLIC_URL": "http://cairn.test", "CAIRN_DATABASE_URL": db}
	a := ssoServer(t, sso, extra)
	b := testserver.Start(t, testserver.Env(map[string]string{"CAIRN_OIDC_ISSUER": sso.URL, "CAIRN_OIDC_CLIENT_ID": clientID,
		"CAIRN_OIDC_CLIENT_SECRET": clientSecret, "CAIRN_PUBLIC_URL": "http://cairn.test", "CAIRN_DATABASE_URL": db}))
	aURL, bURL := "http://"+a.Listener.Addr().String(), "http://"+b.Listener.Addr().String()
	c := browserClient(t)
	resp := signInWithClient(t, c, aURL, bURL, sso, "sub-bob")
	if resp.StatusCode != http.StatusSeeOther {
		t.Fatalf("callback on the other replica = %d, want 303", resp.StatusCode)
	}
	for _, base := range []string{aURL, bURL} {
		if _, home := get(t, c, base+"/"); !strings.Contains(home, ">Bob<") {
			t.Fatalf("%s does not show bob signed in", base)
		}
	}
	bob, err := b.Users.UserByUsername(context.Background(), &policies.Principal{Kind: policies.User, UserID: 1, Username: "root", Admin: true}, "bob")
	if err != nil {
		t.Fatal(err)
	}
	if _, err := b.Users.SetBlocked(context.Background(), &policies.Principal{Kind: policies.User, UserID: 1, Username: "root", Admin: true}, bob.ID, true); err != nil {
		t.Fatal(err)
	}
	if _, home := get(t, c, aURL+"/"); strings.Contains(home, ">Bob<") || !strings.Contains(home, `href="/login"`) {
		t.Fatal("the other replica still shows the blocked user signed in")
	}
	// A blocked user cannot sign in again.
	resp = signInWithClient(t, c, aURL, aURL, sso, "sub-bob")
	if resp.StatusCode != http.StatusForbidden {
		t.Fatalf("blocked user's SSO sign-in = %d, want 403", resp.StatusCode)
	}
}

// TestSSOBadInput: each broken sign-in shows a page and creates nothing.
func TestSSOBadInput(t *testing.T) {
	t.Parallel()
	sso := testenv.NewSSO(t, clientID, clientSecret)
	sso.AddUser(testenv.SSOUser{Subject: "sub-eve", Username: "eve", Name: "Eve", Groups: []string{}})
	s := ssoServer(t, sso, nil)
	other := testenv.NewRSAKey(t)
	cases := []struct {
		name   string
		tamper func(map[string]any)
		key    bool
		run    func(c *http.Client) *http.Response
		want   int
	}{
		{"state mismatch", nil, false, func(c *http.Client) *http.Response {
			resp, _ := get(t, c, s.URL+"/openid/login")
			back, _ := sso.SignInURLCode(resp.Header.Get("Location"), "sub-eve")
			back = strings.Replace(back, "state=", "state=x", 1)
			resp, _ = get(t, c, back)
			return resp
		}, http.StatusBadRequest},
		{"replayed code", nil, false, func(c *http.Client) *http.Response {
			resp, _ := get(t, c, s.URL+"/openid/login")
			back, _ := sso.SignInURLCode(resp.Header.Get("Location"), "sub-eve")
			u, _ := url.Parse(back)
			code := u.Query().Get("code")
			// The first use is spent by the provider (as if an attacker redeemed it).
			resp2, _ := http.PostForm(sso.URL+"/token", url.Values{"code": {code}, "client_id": {clientID}, "client_secret": {clientSecret}})
			resp2.Body.Close()
			resp, _ = get(t, c, back)
			return resp
		}, http.StatusBadRequest},
		{"wrong nonce", func(cl map[string]any) { cl["nonce"] = "not-the-one" }, false, nil, http.StatusBadRequest},
		{"expired ID token", func(cl map[string]any) { cl["exp"] = time.Now().Add(-time.Hour).Unix() }, false, nil, http.StatusBadRequest},
		{"wrongly signed ID token", nil, true, nil, http.StatusBadRequest},
		{"wrong audience", func(cl map[string]any) { cl["aud"] = "someone-else" }, false, nil, http.StatusBadRequest},
	}
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			sso.Tamper = tc.tamper
			sso.TokenKey = nil
			if tc.key {
				sso.TokenKey = other
			}
			defer func() { sso.Tamper, sso.TokenKey = nil, nil }()
			c := browserClient(t)
			var resp *http.Response
			if tc.run != nil {
				resp = tc.run(c)
			} else {
				resp = signInWithClient(t, c, s.URL, s.URL, sso, "sub-eve")
			}
			if resp.StatusCode != tc.want {
				t.Fatalf("= %d, want %d", resp.StatusCode, tc.want)
			}
			if n := userCount(t, s); n != 1 {
				t.Fatalf("users = %d after a failed sign-in; want only root", n)
			}
		})
	}
	t.Run("unreachable provider", func(t *testing.T) {
		gone := testenv.NewSSO(t, clientID, clientSecret)
		gone.Server.Close()
		s2 := ssoServer(t, gone, nil)
		resp, body := get(t, browserClient(t), s2.URL+"/openid/login")
		if resp.StatusCode != http.StatusServiceUnavailable || !strings.Contains(body, "cannot reach the identity provider") {
			t.Fatalf("= %d; want 503 with an explanation", resp.StatusCode)
		}
	})
}

// TestSessionsEndedEverywhere: an administrator ending a user's sessions
// signs them out at once.
func TestSessionsEndedEverywhere(t *testing.T) {
	t.Parallel()
	s := testserver.Start(t)
	ctx := context.Background()
	if _, err := s.Users.SetPassword(ctx, "root", "correct horse battery"); err != nil {
		t.Fatal(err)
	}
	c := browserClient(t)
	_, page := get(t, c, s.URL+"/login")
	resp, err := c.PostForm(s.URL+"/login", url.Values{"username": {"root"}, "password": {"correct horse battery"}, "csrf_token": {csrfOf(t, page)}})
	if err != nil {
		t.Fatal(err)
	}
	resp.Body.Close()
	admin := &policies.Principal{Kind: policies.User, UserID: 1, Username: "root", Admin: true}
	list, err := s.Users.Sessions(ctx, admin, 1)
	if err != nil || len(list) != 1 || list[0].Method != users.MethodPassword {
		t.Fatalf("sessions = %+v, %v; want one password session", list, err)
	}
	if n, err := s.Users.EndSessions(ctx, admin, 1, ""); err != nil || n != 1 {
		t.Fatalf("EndSessions = %d, %v", n, err)
	}
	if _, home := get(t, c, s.URL+"/"); strings.Contains(home, `class="who"`) {
		t.Fatal("an ended session still shows the user signed in")
	}
}

// TestPasswordLoginOff: with CAIRN_PASSWORD_LOGIN=false the page offers
// single sign-on only and a password POST is refused, even with the right
// password.
func TestPasswordLoginOff(t *testing.T) {
	t.Parallel()
	sso := testenv.NewSSO(t, clientID, clientSecret)
	s := ssoServer(t, sso, map[string]string{"CAIRN_PASSWORD_LOGIN": "false"})
	if _, err := s.Users.SetPassword(context.Background(), "root", "correct horse battery"); err != nil {
		t.Fatal(err)
	}
	c := browserClient(t)
	resp, page := get(t, c, s.URL+"/login")
	if resp.StatusCode != 200 || strings.Contains(page, `type="password"`) || !strings.Contains(page, "Sign in with Test SSO") {
		t.Fatalf("GET /login = %d; want the SSO button and no password field:\n%s", resp.StatusCode, page)
	}
	resp, err := c.PostForm(s.URL+"/login", url.Values{"username": {"root"}, "password": {"correct horse battery"}, "csrf_token": {csrfOf(t, page)}})
	if err != nil {
		t.Fatal(err)
	}
	resp.Body.Close()
	if resp.StatusCode != http.StatusForbidden {
		t.Fatalf("password sign-in with the option off = %d, want 403", resp.StatusCode)
	}
	if _, home := get(t, c, s.URL+"/"); strings.Contains(home, `class="who"`) {
		t.Fatal("a refused password sign-in signed the user in")
	}
}
