package ui_test

import (
	"context"
	"crypto/hmac"
	"crypto/sha256"
	"encoding/hex"
	"encoding/json"
	"io"
	"net/http"
	"net/url"
	"regexp"
	"strings"
	"testing"

	"github.com/chromedp/chromedp"

	"github.com/cairn-registry/cairn/gitimport/gittest"
	"github.com/cairn-registry/cairn/internal/testenv"
	"github.com/cairn-registry/cairn/internal/testserver"
)

// TestRepositoryTab: a module's repository settings saved through the
// project's Repository tab (the webhook secret shown on the first save
// only), then a tag imported through "Import tag".
func TestRepositoryTab(t *testing.T) {
	t.Parallel()
	repo := gittest.Serve(t, gittest.Options{})
	s := testserver.Start(t, testserver.Env(map[string]string{
		"CAIRN_SECRET_KEY": "00112233445566778899aabbccddeeff00112233445566778899aabbccddeeff"}))
	s.Imports.SetTLSConfig(repo.TLS)
	api := func(method, path, body string) string {
		t.Helper()
		resp, b := s.Raw(t, method, path, map[string]string{"PRIVATE-TOKEN": s.AdminToken}, body)
		if resp.StatusCode != http.StatusOK {
			t.Fatalf("%s %s = %d %s", method, path, resp.StatusCode, b)
		}
		return string(b)
	}
	api("POST", "/v1/terrareg/namespaces", `{"name":"acme"}`)
	api("POST", "/v1/terrareg/modules/acme/vpc/aws/create", `{}`)
	if _, err := s.Users.SetPassword(context.Background(), "root", "correct horse battery"); err != nil {
		t.Fatal(err)
	}
	c, tok := signInClient(t, s, "root", "correct horse battery")
	c.CheckRedirect = func(*http.Request, []*http.Request) error { return http.ErrUseLastResponse }
	post := func(path string, form url.Values) (*http.Response, string) {
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

	_, page := get(t, c, s.URL+"/acme/vpc/-/repository?module=vpc/aws")
	for _, want := range []string{`href="/acme/vpc/-/repository"`, "Clone URL template", "/v1/terrareg/modules/acme/vpc/aws/hooks/github",
		"/v1/terrareg/modules/acme/vpc/aws/hooks/bitbucket", "No webhook secret yet"} {
		if !strings.Contains(page, want) {
			t.Fatalf("the Repository tab does not show %q:\n%s", want, page)
		}
	}
	settings := url.Values{"clone_url": {repo.URL}, "tag_format": {"v{version}"}, "git_path": {gittest.ModulePath},
		"browse_url": {""}, "username": {"x-access-token"}, "token": {"s3cr3t-token"}}
	// A bad URL: 422 beside the field, nothing made.
	bad := url.Values{"clone_url": {"file:///etc"}, "tag_format": {"v{version}"}}
	if resp, b := post("/acme/vpc/-/repository/vpc/aws/settings", bad); resp.StatusCode != http.StatusUnprocessableEntity ||
		!strings.Contains(b, `id="repo-clone-error"`) {
		t.Fatalf("a file:// clone URL = %d:\n%s", resp.StatusCode, b)
	}
	resp, b := post("/acme/vpc/-/repository/vpc/aws/settings", settings)
	if resp.StatusCode != http.StatusOK || !strings.Contains(b, "webhook secret of vpc/aws") || strings.Contains(b, "s3cr3t-token") {
		t.Fatalf("the first save = %d; want 200 showing the new webhook secret (and never the token):\n%s", resp.StatusCode, b)
	}
	resp, b = post("/acme/vpc/-/repository/vpc/aws/settings", settings)
	if resp.StatusCode != http.StatusSeeOther || strings.Contains(b, "webhook secret of") {
		t.Fatalf("the second save = %d; want 303 without a secret", resp.StatusCode)
	}
	var st struct {
		CredentialSet    bool `json:"credential_set"`
		WebhookSecretSet bool `json:"webhook_secret_set"`
	}
	if err := json.Unmarshal([]byte(api("GET", "/v1/terrareg/modules/acme/vpc/aws/git", "")), &st); err != nil || !st.CredentialSet || !st.WebhookSecretSet {
		t.Fatalf("git status after saving = %+v (%v)", st, err)
	}

	// Import tag: a missing tag is a message beside the field; v1.0.0 is
	// imported.
	if resp, b := post("/acme/vpc/-/repository/vpc/aws/import", url.Values{"tag": {"v9.9.9"}}); resp.StatusCode != http.StatusUnprocessableEntity ||
		!strings.Contains(b, "Tag v9.9.9 was not found") {
		t.Fatalf("import of a missing tag = %d:\n%s", resp.StatusCode, b)
	}
	resp, _ = post("/acme/vpc/-/repository/vpc/aws/import", url.Values{"tag": {"v1.0.0"}})
	if resp.StatusCode != http.StatusSeeOther || !strings.HasPrefix(resp.Header.Get("Location"), "/acme/vpc/-/repository?module=") {
		t.Fatalf("import v1.0.0 = %d %s", resp.StatusCode, resp.Header.Get("Location"))
	}
	if _, page := get(t, c, s.URL+resp.Header.Get("Location")); !strings.Contains(page, "Imported vpc/aws 1.0.0 from tag v1.0.0.") {
		t.Fatalf("no outcome after the import:\n%s", page)
	}
	if v := api("GET", "/v1/modules/acme/vpc/aws/versions", ""); !strings.Contains(v, `"1.0.0"`) {
		t.Fatalf("versions after importing v1.0.0: %s", v)
	}
	// Regenerate: a new secret, shown once; a delivery signed with it is
	// listed and can be redelivered.
	resp, b = post("/acme/vpc/-/repository/vpc/aws/secret", url.Values{})
	secret := regexp.MustCompile(`[0-9a-f]{64}`).FindString(b)
	if resp.StatusCode != http.StatusOK || !strings.Contains(b, "webhook secret of vpc/aws") || secret == "" {
		t.Fatalf("regenerate = %d", resp.StatusCode)
	}
	body := `{"action":"published","release":{"tag_name":"v1.1.0"}}`
	m := hmac.New(sha256.New, []byte(secret))
	m.Write([]byte(body))
	if resp, b := s.Raw(t, "POST", "/v1/terrareg/modules/acme/vpc/aws/hooks/github", map[string]string{"X-GitHub-Event": "release",
		"X-GitHub-Delivery": "d-1", "X-Hub-Signature-256": "sha256=" + hex.EncodeToString(m.Sum(nil))}, body); resp.StatusCode != http.StatusAccepted {
		t.Fatalf("a delivery signed with the regenerated secret = %d %s", resp.StatusCode, b)
	}
	_, page = get(t, c, s.URL+"/acme/vpc/-/repository?module=vpc/aws")
	redeliver := regexp.MustCompile(`action="(/acme/vpc/-/repository/vpc/aws/deliveries/\d+/redeliver)"`).FindStringSubmatch(page)
	if redeliver == nil || !strings.Contains(page, "v1.1.0") {
		t.Fatalf("the delivery is not listed with a Redeliver button:\n%s", page)
	}
	if resp, _ := post(redeliver[1], url.Values{}); resp.StatusCode != http.StatusSeeOther {
		t.Fatalf("redeliver = %d", resp.StatusCode)
	}
	if n := count(t, s, "SELECT count(*) FROM webhook_deliveries"); n != 2 {
		t.Fatalf("%d deliveries after a redelivery; want 2", n)
	}

	if testing.Short() {
		return
	}
	br := testenv.Browser(t)
	testenv.Step(t, br, "sign in", chromedp.Navigate(s.URL+"/login"), chromedp.WaitVisible(chromedp.CSS("#username")),
		chromedp.SendKeys(chromedp.CSS("#username"), "root"), chromedp.SendKeys(chromedp.CSS("#password"), "correct horse battery"),
		chromedp.Click(chromedp.CSS("form.stack button")), chromedp.WaitVisible(chromedp.CSS(".who")))
	testenv.Step(t, br, "open the Repository tab", chromedp.Navigate(s.URL+"/acme/vpc/-/repository"), chromedp.WaitVisible(chromedp.CSS("#import-form")))
	testenv.Screenshot(t, br, "repository")
}
