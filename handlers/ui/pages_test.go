package ui_test

import (
	"encoding/json"
	"net/http"
	"regexp"
	"strings"
	"testing"
)

func mustJSON(v any) string {
	b, err := json.Marshal(v)
	if err != nil {
		panic(err)
	}
	return string(b)
}

func jsonUnmarshal(b []byte, v any) error { return json.Unmarshal(b, v) }

// pagesToCheck are every page of the reading UI, with what each must say.
var pagesToCheck = []struct{ path, want string }{
	{"/", "Most downloaded this week"},
	{"/modules", "acme/network"},
	{"/modules/search?q=network", "acme/network"},
	{"/modules/search?q=network&namespace=acme&provider=aws", "acme/network"},
	{"/modules/search?q=zzzz-nothing", "No modules found."},
	{"/modules/acme", "Modules in acme"},
	{"/modules/acme/network", "acme/network"},
	{"/modules/acme/network/aws", "Builds a network for"},
	{"/modules/acme/network/aws/1.0.0", "Builds a network for"},
	{"/modules/acme/network/aws/1.1.0?tab=inputs", "zone_count"},
	{"/modules/acme/network/aws/1.1.0?tab=outputs", "ID of the network (1.1.0)"},
	{"/modules/acme/network/aws/1.1.0?tab=resources", "terraform_data.network"},
	{"/modules/acme/network/aws/1.1.0?tab=dependencies", "No module calls."},
	{"/modules/acme/network/aws/1.1.0?tab=submodules", "modules/subnets"},
	{"/modules/acme/network/aws/1.1.0?tab=examples", "examples/basic"},
	{"/modules/acme/network/aws/1.1.0?tab=builder", "Required inputs still to set"},
	{"/modules/acme/network/aws/1.1.0/submodule/modules/subnets", "Subnets of a network."},
	{"/modules/acme/network/aws/1.1.0/submodule/modules/subnets?tab=inputs", "Name prefix"},
	{"/modules/acme/network/aws/1.1.0/example/examples/basic", "chroma"},
	{"/modules/acme/network/aws/1.1.0/example/examples/basic?tab=readme", "The smallest network."},
	{"/modules/acme/network/aws/1.1.0/graph", "terraform_data.network"},
	{"/modules/acme/network/aws/1.1.0/graph/submodule/modules/subnets", "Dependency graph of the submodule modules/subnets"},
	{"/modules/acme/network/aws/1.1.0/graph/example/examples/basic", "Dependency graph of the example examples/basic"},
	{"/modules/acme/network/aws/1.1.0/graph/submodule/modules/nothing", "Page not found"},
	{"/groups/acme", "Networks for everyone"},
	{"/acme", "Acme Corp"},
	{"/acme/network", "JOB-TOKEN"},
	{"/modules/nobody/nothing/aws", "Page not found"},
	{"/login", "Sign in"},
}

// TestPagesHTML fetches every page anonymously and checks its HTML
// without a browser: well-formed, one <h1>, alt on images, labelled
// controls, nothing a strict Content-Security-Policy blocks, and the
// policy header itself.
func TestPagesHTML(t *testing.T) {
	t.Parallel()
	s := seed(t)
	for _, p := range pagesToCheck {
		resp, body := fetch(t, nil, s.URL+p.path, nil)
		wantStatus := http.StatusOK
		if strings.Contains(p.want, "not found") {
			wantStatus = http.StatusNotFound
		}
		if resp.StatusCode != wantStatus {
			t.Errorf("GET %s = %d, want %d", p.path, resp.StatusCode, wantStatus)
			continue
		}
		if !strings.Contains(body, p.want) {
			t.Errorf("GET %s: no %q in the page", p.path, p.want)
		}
		csp := resp.Header.Get("Content-Security-Policy")
		if !strings.Contains(csp, "script-src 'self'") || !strings.Contains(csp, "style-src 'self'") || strings.Contains(csp, "unsafe") {
			t.Errorf("GET %s: Content-Security-Policy = %q", p.path, csp)
		}
		if !strings.Contains(resp.Header.Get("Vary"), "HX-Request") {
			t.Errorf("GET %s: Vary = %q, want HX-Request", p.path, resp.Header.Get("Vary"))
		}
		checkHTML(t, p.path, body)
	}
}

// TestFragments: htmx requests get the part of the page they replace, and
// a history restore (also an htmx request) the whole page.
func TestFragments(t *testing.T) {
	t.Parallel()
	s := seed(t)
	hx := func(target string) map[string]string {
		return map[string]string{"HX-Request": "true", "HX-Target": target}
	}
	_, body := fetch(t, nil, s.URL+"/modules/search?q=dns", hx("results"))
	if strings.Contains(body, "<html") || !strings.Contains(body, `id="results"`) || !strings.Contains(body, "acme/dns") || strings.Contains(body, "acme/network") {
		t.Errorf("search fragment:\n%s", body)
	}
	_, body = fetch(t, nil, s.URL+"/modules/search?q=dns", map[string]string{"HX-Request": "true", "HX-Target": "results", "HX-History-Restore-Request": "true"})
	if !strings.Contains(body, "<html") {
		t.Errorf("history restore got a fragment")
	}
	_, body = fetch(t, nil, s.URL+"/modules/acme/network/aws/1.1.0?tab=outputs", hx("tabbed"))
	if strings.Contains(body, "<html") || !strings.HasPrefix(strings.TrimSpace(body), `<div id="tabbed"`) || !strings.Contains(body, "ID of the network (1.1.0)") {
		t.Errorf("tab fragment:\n%s", body)
	}
	_, body = fetch(t, nil, s.URL+"/modules/acme/network/aws/1.1.0?tab=builder&var.name=web&var.zones=a,b&var.zone_count=3&var.enable_ipv6=true", hx("builder-output"))
	for _, want := range []string{`name        = &#34;web&#34;`, `zones       = [&#34;a&#34;, &#34;b&#34;]`, `zone_count  = 3`, `enable_ipv6 = true`} {
		if !strings.Contains(body, want) {
			t.Errorf("builder output lacks %s:\n%s", want, body)
		}
	}
	if strings.Contains(body, "<form") {
		t.Errorf("builder fragment has the form:\n%s", body)
	}
}

// TestHiddenLooksMissing: a private module, group or project answers a
// viewer who may not see it exactly as something that does not exist,
// apart from echoing the requested path.
func TestHiddenLooksMissing(t *testing.T) {
	t.Parallel()
	s := seed(t)
	member := signIn(t, s, "member", "correct horse battery")
	for _, pair := range [][2]string{
		{"/modules/acme/secret/aws", "/modules/acme/nothing/aws"},
		{"/modules/acme/secret/aws/0.1.0", "/modules/acme/nothing/aws/0.1.0"},
		{"/modules/initech", "/modules/nothing"},
		{"/modules/initech/tps", "/modules/nothing/tps"},
		{"/groups/initech", "/groups/nothing"},
		{"/initech/infra", "/nothing/infra"},
		{"/initech", "/nothing"},
		{"/acme/hidden", "/acme/nothing"},
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
	// The member sees the private module of their project, and its project.
	for _, p := range []string{"/modules/acme/secret/aws", "/acme/hidden"} {
		if resp, body := fetch(t, member, s.URL+p, nil); resp.StatusCode != 200 || !strings.Contains(body, "secret") {
			t.Errorf("member GET %s = %d", p, resp.StatusCode)
		}
	}
	// ... and in lists; anonymous visitors do not.
	_, anon := fetch(t, nil, s.URL+"/modules", nil)
	_, mine := fetch(t, member, s.URL+"/modules", nil)
	if strings.Contains(anon, "acme/secret") || strings.Contains(anon, "initech") || !strings.Contains(mine, "acme/secret") || strings.Contains(mine, "initech") {
		t.Errorf("module lists: anonymous sees secret=%v initech=%v; member sees secret=%v initech=%v",
			strings.Contains(anon, "acme/secret"), strings.Contains(anon, "initech"), strings.Contains(mine, "acme/secret"), strings.Contains(mine, "initech"))
	}
}

// TestModulePageSystems: a module page lists the systems of its name the
// viewer may read, at once after a publish (the cached lists are dropped),
// and never a private one to someone outside its project.
func TestModulePageSystems(t *testing.T) {
	t.Parallel()
	s := seed(t)
	member := signIn(t, s, "member", "correct horse battery")
	page := s.URL + "/modules/acme/network/aws/1.1.0"
	systems := func(c *http.Client) []string {
		t.Helper()
		_, body := fetch(t, c, page, nil)
		var out []string
		for _, m := range regexp.MustCompile(`<a class="badge" href="/modules/acme/network/([a-z]+)">`).FindAllStringSubmatch(body, -1) {
			out = append(out, m[1])
		}
		return out
	}
	if got := systems(nil); got != nil {
		t.Errorf("one system: the page lists %v, want no list", got)
	}
	s.upload(t, "acme/network", "network", "gcp", "1.0.0", tgz(simpleModule("Networks on Google Cloud")...))
	if got := strings.Join(systems(nil), ","); got != "aws,gcp" {
		t.Errorf("after publishing gcp the page lists %q, want aws,gcp", got)
	}
	s.upload(t, "acme/hidden", "network", "azurerm", "1.0.0", tgz(simpleModule("Private networks on Azure")...))
	if got := strings.Join(systems(nil), ","); got != "aws,gcp" {
		t.Errorf("anonymous: the page lists %q, want aws,gcp (azurerm is private)", got)
	}
	if got := strings.Join(systems(member), ","); got != "aws,azurerm,gcp" {
		t.Errorf("member of the private project: the page lists %q, want aws,azurerm,gcp", got)
	}
}
