package ui_test

import (
	"archive/tar"
	"bytes"
	"compress/gzip"
	"context"
	"io"
	"net/http"
	"net/url"
	"strconv"
	"strings"
	"testing"

	"github.com/chromedp/chromedp"

	"github.com/cairn-registry/cairn/handlers/middleware"
	"github.com/cairn-registry/cairn/internal/testenv"
	"github.com/cairn-registry/cairn/internal/testserver"
	"github.com/cairn-registry/cairn/providers"
	"github.com/cairn-registry/cairn/providers/providertest"
)

// publishProvider publishes a signed release of namespace/typ in project
// through the providers service (as the administrator), adding the key to
// the namespace first when asked.
func publishProvider(t *testing.T, s *testserver.Server, key *providertest.Key, addKey bool, namespace, typ, project, version string, platforms ...string) *providertest.Release {
	t.Helper()
	ctx, p := context.Background(), adminPrincipal()
	svc := s.Providers
	if addKey {
		if _, err := svc.AddKey(ctx, p, namespace, key.Armor); err != nil {
			t.Fatal(err)
		}
	}
	if _, err := svc.Find(ctx, p, namespace, typ); err != nil {
		if _, err := svc.Create(ctx, p, providers.CreateInput{Namespace: namespace, Name: typ, Project: project}); err != nil {
			t.Fatal(err)
		}
	}
	rel := providertest.Build(t, key, typ, version, 0, platforms...)
	_, v, err := svc.CreateVersion(ctx, p, namespace, typ, providers.VersionInput{Version: version, KeyID: key.ID, Protocols: []string{"5.0", "6.0"}})
	if err != nil {
		t.Fatal(err)
	}
	if err := svc.UploadShasums(ctx, v.ID, bytes.NewReader(rel.Shasums)); err != nil {
		t.Fatal(err)
	}
	if err := svc.UploadSignature(ctx, v.ID, bytes.NewReader(rel.Signature)); err != nil {
		t.Fatal(err)
	}
	for _, pl := range rel.Platforms {
		_, _, out, err := svc.CreatePlatform(ctx, p, namespace, typ, version, providers.PlatformInput{OS: pl.OS, Arch: pl.Arch, Filename: pl.Filename, Shasum: pl.Sha256})
		if err != nil {
			t.Fatal(err)
		}
		if err := svc.UploadBinary(ctx, out.ID, bytes.NewReader(pl.Zip), int64(len(pl.Zip))); err != nil {
			t.Fatal(err)
		}
	}
	return rel
}

// seedProviders adds to seed's site: acme/dummy 1.0.0 and 1.1.0 in the
// public project acme/network, acme/vault 1.0.0 in the private acme/hidden
// and initech/tps 1.0.0 in the private initech/infra.
func seedProviders(t *testing.T, s *site) *providertest.Release {
	t.Helper()
	acme, initech := providertest.NewKey(t, "acme"), providertest.NewKey(t, "initech")
	publishProvider(t, s.Server, acme, true, "acme", "dummy", "acme/network", "1.0.0", "linux_amd64")
	rel := publishProvider(t, s.Server, acme, false, "acme", "dummy", "acme/network", "1.1.0", "linux_amd64", "darwin_arm64")
	publishProvider(t, s.Server, acme, false, "acme", "vault", "acme/hidden", "1.0.0", "linux_amd64")
	publishProvider(t, s.Server, initech, true, "initech", "tps", "initech/infra", "1.0.0", "linux_amd64")
	return rel
}

// uploadDocs uploads a docs/ tree (name → content) to a release as the
// administrator.
func uploadDocs(t *testing.T, s *testserver.Server, namespace, typ, version string, files map[string]string) {
	t.Helper()
	var buf bytes.Buffer
	gz := gzip.NewWriter(&buf)
	tw := tar.NewWriter(gz)
	for name, content := range files {
		if err := tw.WriteHeader(&tar.Header{Name: name, Mode: 0o644, Size: int64(len(content)), Typeflag: tar.TypeReg}); err != nil {
			t.Fatal(err)
		}
		if _, err := tw.Write([]byte(content)); err != nil {
			t.Fatal(err)
		}
	}
	if err := tw.Close(); err != nil {
		t.Fatal(err)
	}
	if err := gz.Close(); err != nil {
		t.Fatal(err)
	}
	if n, err := s.Providers.UploadDocs(context.Background(), adminPrincipal(), namespace, typ, version, &buf); err != nil || n != len(files) {
		t.Fatalf("upload docs of %s/%s %s: %d, %v", namespace, typ, version, n, err)
	}
}

// TestProviderPages: the provider pages as an anonymous visitor — the
// list, the latest and a given release (versions, protocols, platforms,
// signing key, usage, docs by category and a doc's page with its markdown
// sanitised) — pass the HTML checks; hidden providers and their docs are
// the 404 page of a missing one.
func TestProviderPages(t *testing.T) {
	t.Parallel()
	s := seed(t)
	rel := seedProviders(t, s)
	host := middleware.NewSite(s.URL).TerraformHost
	uploadDocs(t, s.Server, "acme", "dummy", "1.0.0", map[string]string{
		"docs/index.md":           "---\npage_title: \"Provider: Dummy\"\n---\n# Dummy provider\n\nUse it <script>alert(1)</script> well.\n",
		"docs/resources/thing.md": "---\npage_title: \"dummy_thing\"\nsubcategory: \"Things\"\n---\n## Example\n\n```hcl\nresource \"dummy_thing\" \"x\" {}\n```\n",
		"docs/guides/start.md":    "# Getting started\n",
	})
	uploadDocs(t, s.Server, "acme", "vault", "1.0.0", map[string]string{"docs/index.md": "# secret\n"})

	for _, p := range []struct {
		path string
		want []string
	}{
		{"/providers", []string{"acme/dummy", "1.1.0", "2 platforms"}},
		{"/providers?q=dumm", []string{"acme/dummy", "matching"}},
		{"/providers?q=zzzz", []string{"No providers found."}},
		{"/providers/acme/dummy", []string{"<h1>acme/dummy", "5.0, 6.0", rel.Platforms[0].Filename, rel.Platforms[0].Sha256[:16], rel.Platforms[0].Sha256[16:32], "<wbr>",
			rel.Platforms[1].Sha256[48:], "linux/amd64", "darwin/arm64", "BEGIN PGP PUBLIC KEY BLOCK", "<details", "No documentation uploaded for this release.",
			`source  = &#34;` + host + `/acme/dummy&#34;`, `version = &#34;1.1.0&#34;`, `data-copy="usage-snippet"`, `href="/providers"`}},
		{"/providers/acme/dummy/1.0.0", []string{"not the latest version", `version = &#34;1.0.0&#34;`, "terraform-provider-dummy_1.0.0_linux_amd64.zip",
			"<h3>Overview</h3>", "<h3>Guides</h3>", "<h3>Resources</h3>", `href="/providers/acme/dummy/1.0.0/docs/overview/index">Provider: Dummy</a>`,
			`href="/providers/acme/dummy/1.0.0/docs/resources/thing">dummy_thing</a>`, "Things", `href="/providers/acme/dummy/1.0.0/docs/guides/start">start</a>`}},
		{"/providers/acme/dummy/1.0.0/docs/overview/index", []string{`<p class="lead">Provider: Dummy</p>`, "Dummy provider</h1>", "well.", `href="/providers/acme/dummy/1.0.0"`}},
		{"/providers/acme/dummy/1.0.0/docs/resources/thing", []string{"<h1>dummy_thing</h1>", "Things", "Example</h2>", "dummy_thing"}},
	} {
		resp, body := fetch(t, nil, s.URL+p.path, nil)
		if resp.StatusCode != http.StatusOK {
			t.Errorf("GET %s = %d", p.path, resp.StatusCode)
			continue
		}
		for _, w := range p.want {
			if !strings.Contains(body, w) {
				t.Errorf("GET %s: no %q in the page", p.path, w)
			}
		}
		checkHTML(t, p.path, body)
	}
	// The key id of the release is shown; 1.1.0 is listed before 1.0.0.
	_, body := fetch(t, nil, s.URL+"/providers/acme/dummy", nil)
	keyID := strings.TrimSpace(strings.SplitN(strings.SplitN(body, "Key ID <code>", 2)[1], "<", 2)[0])
	if len(keyID) != 16 {
		t.Errorf("key id shown = %q", keyID)
	}
	if strings.Index(body, `/providers/acme/dummy/1.1.0`) > strings.Index(body, `/providers/acme/dummy/1.0.0`) {
		t.Error("versions are not newest first")
	}
	// The version picker without scripts.
	if resp, _ := fetch(t, nil, s.URL+"/providers/acme/dummy?version=1.0.0", nil); resp.StatusCode != http.StatusSeeOther ||
		resp.Header.Get("Location") != "/providers/acme/dummy/1.0.0" {
		t.Errorf("picker = %d %s", resp.StatusCode, resp.Header.Get("Location"))
	}

	// Hidden looks missing.
	_, list := fetch(t, nil, s.URL+"/providers", nil)
	if strings.Contains(list, "acme/vault") || strings.Contains(list, "initech") {
		t.Error("the anonymous list shows private providers")
	}
	for _, pair := range [][2]string{
		{"/providers/acme/vault", "/providers/acme/nothing"},
		{"/providers/acme/vault/1.0.0", "/providers/acme/nothing/1.0.0"},
		{"/providers/initech/tps", "/providers/nothing/tps"},
		{"/providers/acme/dummy/9.9.9", "/providers/acme/nothing/9.9.9"},
		{"/providers/acme/vault/1.0.0/docs/overview/index", "/providers/acme/nothing/1.0.0/docs/overview/index"},
		{"/providers/acme/dummy/1.0.0/docs/resources/nothing", "/providers/acme/nothing/1.0.0/docs/resources/nothing"},
	} {
		hiddenResp, hiddenBody := fetch(t, nil, s.URL+pair[0], nil)
		missingResp, missingBody := fetch(t, nil, s.URL+pair[1], nil)
		if hiddenResp.StatusCode != 404 || missingResp.StatusCode != 404 {
			t.Errorf("GET %s = %d, GET %s = %d; want 404 for both", pair[0], hiddenResp.StatusCode, pair[1], missingResp.StatusCode)
		}
		if strings.ReplaceAll(hiddenBody, pair[0], "PATH") != strings.ReplaceAll(missingBody, pair[1], "PATH") {
			t.Errorf("%s and %s differ:\n%s\n----\n%s", pair[0], pair[1], hiddenBody, missingBody)
		}
	}
	// A doc's markdown is sanitised.
	if _, body := fetch(t, nil, s.URL+"/providers/acme/dummy/1.0.0/docs/overview/index", nil); strings.Contains(body, "<script>alert") ||
		strings.Contains(body, "page_title") {
		t.Error("the doc page shows a script or its front matter")
	}
	// /v2/provider-docs as the anonymous visitor: the public release's docs,
	// none of the hidden one's.
	var dummyID, vaultID int64
	for _, x := range []struct {
		typ string
		id  *int64
	}{{"dummy", &dummyID}, {"vault", &vaultID}} {
		pr, err := s.Providers.Find(context.Background(), adminPrincipal(), "acme", x.typ)
		if err != nil {
			t.Fatal(err)
		}
		v, _ := pr.Version("1.0.0")
		*x.id = v.ID
	}
	docsAPI := func(path string) (int, string) {
		t.Helper()
		resp, body := fetch(t, nil, s.URL+path, nil)
		return resp.StatusCode, body
	}
	if code, body := docsAPI("/v2/provider-docs?filter[provider-version]=" + strconv.FormatInt(dummyID, 10) + "&filter[category]=resources"); code != 200 ||
		!strings.Contains(body, `"slug":"thing"`) || !strings.Contains(body, `"subcategory":"Things"`) || strings.Contains(body, "index") {
		t.Errorf("docs of dummy = %d %s", code, body)
	}
	if code, body := docsAPI("/v2/provider-docs?filter[provider-version]=" + strconv.FormatInt(vaultID, 10)); code != 200 || body != `{"data":[]}` {
		t.Errorf("docs of hidden vault = %d %s", code, body)
	}
	var vaultDoc int64
	if err := s.Pool.QueryRow(context.Background(), `SELECT id FROM provider_docs WHERE version_id = $1`, vaultID).Scan(&vaultDoc); err != nil {
		t.Fatal(err)
	}
	if code, _ := docsAPI("/v2/provider-docs/" + strconv.FormatInt(vaultDoc, 10)); code != 404 {
		t.Errorf("hidden doc = %d, want 404", code)
	}
	// The member of acme/hidden sees acme/vault.
	member := signIn(t, s, "member", "correct horse battery")
	if resp, body := fetch(t, member, s.URL+"/providers/acme/vault", nil); resp.StatusCode != 200 || !strings.Contains(body, "acme/vault") {
		t.Errorf("member GET /providers/acme/vault = %d", resp.StatusCode)
	}
}

// TestGPGKeysOnGroupSettings adds and deletes a namespace's GPG key through
// the group settings page; a bad key is a 422 with the message beside the
// field, and a subgroup's settings have no GPG keys section.
func TestGPGKeysOnGroupSettings(t *testing.T) {
	t.Parallel()
	s := seed(t)
	if _, err := s.Users.SetPassword(context.Background(), "root", "correct horse battery"); err != nil {
		t.Fatal(err)
	}
	c, tok := signInClient(t, s.Server, "root", "correct horse battery")
	post := func(path string, form url.Values) (*http.Response, string) {
		t.Helper()
		form.Set("csrf_token", tok)
		req, _ := http.NewRequest(http.MethodPost, s.URL+path, strings.NewReader(form.Encode()))
		req.Header.Set("Content-Type", "application/x-www-form-urlencoded")
		resp, err := c.Do(req)
		if err != nil {
			t.Fatal(err)
		}
		defer resp.Body.Close()
		b, _ := io.ReadAll(resp.Body)
		return resp, string(b)
	}
	_, page := get(t, c, s.URL+"/groups/acme/-/settings")
	if !strings.Contains(page, `id="gpg-keys"`) || !strings.Contains(page, "No GPG keys yet.") {
		t.Fatal("no GPG keys section on acme's settings")
	}
	checkHTML(t, "settings with GPG keys", page)

	resp, body := post("/groups/acme/-/gpg-keys", url.Values{"ascii-armor": {"not a key"}})
	if resp.StatusCode != http.StatusUnprocessableEntity || !strings.Contains(body, `id="gpg-armor-error"`) ||
		!strings.Contains(body, "not an ASCII-armoured OpenPGP key") || !strings.Contains(body, "not a key</textarea>") {
		t.Fatalf("bad key = %d, want 422 with the message beside the field:\n%s", resp.StatusCode, body)
	}
	checkHTML(t, "settings with a key error", body)

	key := providertest.NewKey(t, "acme")
	resp, _ = post("/groups/acme/-/gpg-keys", url.Values{"ascii-armor": {key.Armor}})
	if resp.StatusCode != http.StatusSeeOther || !strings.HasPrefix(resp.Header.Get("Location"), "/groups/acme/-/settings") {
		t.Fatalf("add key = %d %s", resp.StatusCode, resp.Header.Get("Location"))
	}
	_, page = get(t, c, s.URL+"/groups/acme/-/settings")
	if !strings.Contains(page, "GPG key "+key.ID+" was added.") || !strings.Contains(page, "<code>"+key.ID+"</code>") ||
		!strings.Contains(page, `data-confirm="Delete GPG key `+key.ID) {
		t.Fatalf("the key is not listed after adding it:\n%s", page)
	}
	if keys, err := s.Providers.Keys(context.Background(), adminPrincipal(), []string{"acme"}); err != nil || len(keys) != 1 || keys[0].KeyID != key.ID {
		t.Fatalf("keys = %+v, %v", keys, err)
	}
	// The same key again: a conflict beside the field.
	resp, body = post("/groups/acme/-/gpg-keys", url.Values{"ascii-armor": {key.Armor}})
	if resp.StatusCode != http.StatusUnprocessableEntity || !strings.Contains(body, "already exists") {
		t.Fatalf("duplicate key = %d", resp.StatusCode)
	}

	resp, _ = post("/groups/acme/-/gpg-keys/"+key.ID+"/delete", url.Values{})
	if resp.StatusCode != http.StatusSeeOther {
		t.Fatalf("delete key = %d", resp.StatusCode)
	}
	_, page = get(t, c, s.URL+"/groups/acme/-/settings")
	if !strings.Contains(page, "was deleted.") || !strings.Contains(page, "No GPG keys yet.") {
		t.Fatal("the key is still listed after deleting it")
	}
	// Without the session's CSRF token nothing is added.
	req, _ := http.NewRequest(http.MethodPost, s.URL+"/groups/acme/-/gpg-keys", strings.NewReader(url.Values{"ascii-armor": {key.Armor}}.Encode()))
	req.Header.Set("Content-Type", "application/x-www-form-urlencoded")
	if r, err := c.Do(req); err != nil || r.StatusCode < 400 {
		t.Fatalf("add without CSRF token = %v %v", r, err)
	}
	// Anonymous visitors cannot post.
	if r, _ := http.PostForm(s.URL+"/groups/acme/-/gpg-keys", url.Values{"ascii-armor": {key.Armor}}); r.StatusCode < 400 {
		t.Fatalf("anonymous add = %d", r.StatusCode)
	}
	if keys, _ := s.Providers.Keys(context.Background(), adminPrincipal(), []string{"acme"}); len(keys) != 0 {
		t.Fatalf("keys after refused adds = %+v", keys)
	}
}

// TestProviderPageInBrowser screenshots the provider page.
func TestProviderPageInBrowser(t *testing.T) {
	t.Parallel()
	s := seed(t)
	seedProviders(t, s)
	ctx := testenv.Browser(t)
	watchConsole(t, ctx)
	testenv.Step(t, ctx, "open provider", chromedp.Navigate(s.URL+"/providers/acme/dummy"), chromedp.WaitVisible(chromedp.CSS("h1")))
	if !eval[bool](t, ctx, `!document.querySelector("button[data-copy]").hidden`) {
		t.Error("the copy button is hidden")
	}
	testenv.Step(t, ctx, "open key", chromedp.Click(chromedp.CSS("details summary")))
	testenv.Screenshot(t, ctx, "provider")
	testenv.ScreenshotNarrow(t, ctx, "provider")

	// A release with docs: listed by category, one opened.
	uploadDocs(t, s.Server, "acme", "dummy", "1.1.0", map[string]string{
		"docs/index.md":           "---\npage_title: \"Provider: Dummy\"\n---\n# Dummy provider\n\nThe dummy provider manages things.\n",
		"docs/resources/thing.md": "---\npage_title: \"dummy_thing Resource\"\nsubcategory: \"Things\"\n---\n# dummy_thing\n\n## Example\n\n```hcl\nresource \"dummy_thing\" \"x\" {\n  name = \"a\"\n}\n```\n",
	})
	testenv.Step(t, ctx, "open release with docs", chromedp.Navigate(s.URL+"/providers/acme/dummy/1.1.0"), chromedp.WaitVisible(chromedp.CSS("h1")))
	testenv.Screenshot(t, ctx, "provider-docs-list")
	testenv.Step(t, ctx, "open a doc", chromedp.Click(chromedp.CSS(`a[href="/providers/acme/dummy/1.1.0/docs/resources/thing"]`)),
		chromedp.WaitVisible(chromedp.CSS("pre")))
	if got := eval[string](t, ctx, `document.querySelector("h1").textContent`); got != "dummy_thing" {
		t.Errorf("doc page heading = %q", got)
	}
	testenv.Screenshot(t, ctx, "provider-doc")
	testenv.ScreenshotNarrow(t, ctx, "provider-doc")
}
