package ui_test

import (
	"encoding/json"
	"net/http"
	"strings"
	"testing"

	"github.com/cairn-registry/cairn/internal/testserver"
)

// TestModuleAdditionalFileTabs: a module whose root has a CHANGELOG and a LICENSE shows
// Changelog and License tabs (the changelog rendered and sanitised, the license escaped text);
// a module without them shows neither, and asking for them falls back to the default tab.
func TestModuleAdditionalFileTabs(t *testing.T) {
	t.Parallel()
	s := &site{Server: testserver.Start(t)}
	var acme struct{ ID int64 }
	s.api(t, "POST", "/groups", map[string]any{"path": "acme", "name": "Acme", "visibility": "public"}, &acme)
	s.api(t, "POST", "/projects", map[string]any{"path": "docs", "namespace_id": acme.ID, "visibility": "public"}, nil)
	s.upload(t, "acme/docs", "extras", "aws", "1.0.0", tgz(
		file{"main.tf", "output \"x\" { value = 1 }\n"},
		file{"README.md", "# Files\n\nHas extras.\n"},
		file{"CHANGELOG.md", "# Changelog\n\n## 1.0.0\n\n- First <script>alert('cl')</script> release\n\n[x](javascript:alert(1))\n"},
		file{"LICENSE", "MIT License <b>bold</b> & \"quoted\"\n"},
		file{"modules/sub/main.tf", "output \"y\" { value = 2 }\n"},
	))
	s.upload(t, "acme/docs", "plain", "aws", "1.0.0", tgz(simpleModule("No extras")...))

	base := s.URL + "/modules/acme/extras/aws/1.0.0"
	resp, body := fetch(t, nil, base, nil)
	if resp.StatusCode != http.StatusOK {
		t.Fatalf("GET module page = %d %s", resp.StatusCode, body)
	}
	checkHTML(t, "module page", body)
	for _, tab := range []string{"changelog", "license"} {
		if !strings.Contains(body, `href="/modules/acme/extras/aws/1.0.0?tab=`+tab+`"`) {
			t.Errorf("module page has no %s tab", tab)
		}
	}
	if !strings.Contains(body, "Has extras.") {
		t.Errorf("default tab is not the README")
	}

	resp, body = fetch(t, nil, base+"?tab=changelog", nil)
	if resp.StatusCode != http.StatusOK {
		t.Fatalf("GET changelog tab = %d", resp.StatusCode)
	}
	checkHTML(t, "changelog tab", body)
	panel := body[strings.Index(body, `id="panel"`):]
	if !strings.Contains(panel, "<h2") || !strings.Contains(panel, "1.0.0</h3>") || !strings.Contains(panel, "<li>First") {
		t.Errorf("changelog not rendered:\n%s", panel)
	}
	if strings.Contains(body, "alert('cl')") || strings.Contains(body, "javascript:") {
		t.Errorf("changelog not sanitised:\n%s", panel)
	}
	if !strings.Contains(body, `aria-current="page"`) || !strings.Contains(body, `class="current"`) {
		t.Errorf("no current tab marked")
	}

	// An htmx tab switch gets the tabbed region with the license, escaped.
	_, body = fetch(t, nil, base+"?tab=license", map[string]string{"HX-Request": "true", "HX-Target": "tabbed"})
	if !strings.HasPrefix(strings.TrimSpace(body), `<div id="tabbed"`) || strings.Contains(body, "<html") {
		t.Errorf("license tab fragment:\n%s", body)
	}
	if !strings.Contains(body, `<pre class="license">MIT License &lt;b&gt;bold&lt;/b&gt; &amp; &#34;quoted&#34;`) || strings.Contains(body, "<b>bold") {
		t.Errorf("license not shown escaped:\n%s", body)
	}
	_, body = fetch(t, nil, base+"?tab=license", nil)
	checkHTML(t, "license tab", body)

	// A submodule's page has no additional tabs: they belong to the root.
	_, body = fetch(t, nil, base+"/submodule/modules/sub", nil)
	if strings.Contains(body, "tab=changelog") || strings.Contains(body, "tab=license") {
		t.Errorf("submodule page shows the root's additional tabs")
	}

	// Without the files: no tabs, and asking for them shows the default tab.
	plain := s.URL + "/modules/acme/plain/aws/1.0.0"
	for _, u := range []string{plain, plain + "?tab=changelog", plain + "?tab=license"} {
		resp, body := fetch(t, nil, u, nil)
		if resp.StatusCode != http.StatusOK {
			t.Fatalf("GET %s = %d", u, resp.StatusCode)
		}
		checkHTML(t, u, body)
		if strings.Contains(body, "tab=changelog") || strings.Contains(body, "tab=license") || strings.Contains(body, `class="license"`) {
			t.Errorf("GET %s shows additional tabs", u)
		}
	}

	// Terrareg's files endpoint serves what additional_tab_files lists.
	api := s.URL + "/v1/terrareg/modules/acme/extras/aws/1.0.0/files/"
	for name, want := range map[string]string{
		"CHANGELOG.md": "First",
		"LICENSE":      "MIT License &lt;b&gt;bold&lt;/b&gt;",
	} {
		resp, body := fetch(t, nil, api+name, nil)
		var html string
		if err := json.Unmarshal([]byte(body), &html); err != nil || resp.StatusCode != http.StatusOK ||
			!strings.Contains(html, want) || strings.Contains(html, "<script") {
			t.Errorf("GET files/%s = %d %s; want 200 with %q and no script", name, resp.StatusCode, body, want)
		}
	}
	if resp, _ := fetch(t, nil, s.URL+"/v1/terrareg/modules/acme/plain/aws/1.0.0/files/LICENSE", nil); resp.StatusCode != http.StatusNotFound {
		t.Errorf("GET files/LICENSE of a module without one = %d, want 404", resp.StatusCode)
	}
}
