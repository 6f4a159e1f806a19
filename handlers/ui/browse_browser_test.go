package ui_test

import (
	"context"
	"os"
	"os/exec"
	"path/filepath"
	"regexp"
	"strings"
	"testing"
	"time"

	"github.com/chromedp/cdproto/browser"
	"github.com/chromedp/cdproto/emulation"
	"github.com/chromedp/chromedp"

	"github.com/cairn-registry/cairn/internal/testenv"
)

// watchConsole fails the test on any console error or exception the
// pages cause (a Content-Security-Policy violation is one).
func watchConsole(t *testing.T, ctx context.Context) {
	t.Helper()
	cctx, cancel := context.WithCancel(ctx)
	t.Cleanup(cancel)
	go func() {
		for m, err := range chromedp.Console(cctx) {
			if err != nil {
				return
			}
			// The 404 page is answered with 404, which the console reports.
			if strings.Contains(m.Text, "status of 404") && !strings.Contains(m.URL, "/static/") {
				continue
			}
			if m.Type == chromedp.ConsoleError || m.Type == chromedp.ConsoleException {
				t.Errorf("browser console %s: %s (%s)", m.Type, m.Text, m.URL)
			}
		}
	}()
}

func poll(expr string) chromedp.Action[chromedp.Void] { return chromedp.Poll[chromedp.Void](expr) }

// waitFor evaluates expr until it is true, across page loads (a poll
// action does not survive a navigation).
func waitFor(t *testing.T, ctx context.Context, what, expr string) {
	t.Helper()
	deadline := time.Now().Add(20 * time.Second)
	for {
		ok, err := chromedp.Run(ctx, chromedp.Evaluate[bool](expr))
		if err == nil && ok {
			return
		}
		if time.Now().After(deadline) {
			testenv.Screenshot(t, ctx, "failed-"+what)
			t.Fatalf("browser: %s: %s never held (%v)", what, expr, err)
		}
		time.Sleep(100 * time.Millisecond)
	}
}

func eval[T any](t *testing.T, ctx context.Context, expr string) T {
	t.Helper()
	v, err := chromedp.Run(ctx, chromedp.Evaluate[T](expr))
	if err != nil {
		t.Fatalf("evaluate %s: %v", expr, err)
	}
	return v
}

// TestSearchAsYouTypeInBrowser: typing in the search box replaces the
// results (htmx, debounced) and puts the query in the URL; the back button
// brings earlier results back.
func TestSearchAsYouTypeInBrowser(t *testing.T) {
	t.Parallel()
	s := seed(t)
	ctx := testenv.Browser(t)
	watchConsole(t, ctx)
	testenv.Step(t, ctx, "open the module list", chromedp.Navigate(s.URL+"/modules"), chromedp.WaitVisible(chromedp.CSS("#q")))
	if n := eval[int](t, ctx, `document.querySelectorAll("#results .card").length`); n != 3 {
		t.Fatalf("anonymous module list shows %d modules, want 3 (network, dns, vpc)", n)
	}
	testenv.Step(t, ctx, "type a query",
		chromedp.SendKeys(chromedp.CSS("#q"), "dns"),
		poll(`document.querySelectorAll("#results .card").length === 1 && location.search === "?q=dns"`))
	if txt := eval[string](t, ctx, `document.querySelector("#results .card h3").textContent`); !strings.Contains(txt, "acme/dns") {
		t.Fatalf("result = %q, want acme/dns", txt)
	}
	if title := eval[string](t, ctx, `document.querySelector("h1").textContent`); title != "Modules" {
		t.Fatalf("the page was replaced, not the results: h1 = %q", title)
	}
	testenv.Screenshot(t, ctx, "search-dns")
	testenv.Step(t, ctx, "refine the query",
		chromedp.SendKeys(chromedp.CSS("#q"), "zzz"),
		poll(`location.search === "?q=dnszzz" && document.body.textContent.includes("No modules found.")`))
	testenv.Step(t, ctx, "go back", chromedp.Evaluate[chromedp.Void](`history.back()`),
		poll(`location.search === "?q=dns" && document.querySelectorAll("#results .card").length === 1 && document.querySelector("#q").value === "dns"`))
	testenv.Step(t, ctx, "go back to the full list", chromedp.Evaluate[chromedp.Void](`history.back()`),
		poll(`location.pathname === "/modules" && location.search === "" && document.querySelectorAll("#results .card").length === 3`))
	// The same URL works without scripts (a full page load).
	testenv.Step(t, ctx, "load a search URL", chromedp.Navigate(s.URL+"/modules/search?q=network"),
		poll(`document.querySelector("#results .card h3").textContent.includes("acme/network") && document.querySelector("#q").value === "network"`))
	testenv.ScreenshotNarrow(t, ctx, "search-network")
}

// TestModulePageInBrowser: tabs switch content in place (and the URL), the
// version picker switches version, and the copy button copies the usage
// snippet.
func TestModulePageInBrowser(t *testing.T) {
	t.Parallel()
	s := seed(t)
	ctx := testenv.Browser(t)
	watchConsole(t, ctx)
	testenv.Step(t, ctx, "open the module page", chromedp.Navigate(s.URL+"/modules/acme/network/aws"),
		chromedp.WaitVisible(chromedp.CSS(".readme")))
	if got := eval[string](t, ctx, `document.querySelector("#version").value`); got != "1.1.0" {
		t.Fatalf("latest version shown = %q, want 1.1.0 (a pre-release is never latest)", got)
	}
	testenv.Screenshot(t, ctx, "module-readme")
	testenv.ScreenshotNarrow(t, ctx, "module-readme")

	testenv.Step(t, ctx, "mark the page", chromedp.Evaluate[chromedp.Void](`window.samePage = true`))
	testenv.Step(t, ctx, "open the Outputs tab", chromedp.Click(chromedp.CSS(`.tabs a[href$="tab=outputs"]`)),
		poll(`document.querySelector("#panel-h").textContent === "Outputs" && location.search === "?tab=outputs"`))
	if txt := eval[string](t, ctx, `document.querySelector("#panel").textContent`); !strings.Contains(txt, "ID of the network (1.1.0)") {
		t.Fatalf("outputs tab = %q", txt)
	}
	if !eval[bool](t, ctx, `window.samePage === true`) {
		t.Errorf("the Outputs tab loaded a new page instead of swapping the panel")
	}
	if cur := eval[string](t, ctx, `document.querySelector(".tabs a[aria-current=page]").textContent`); !strings.Contains(cur, "Outputs") {
		t.Fatalf("current tab = %q", cur)
	}
	// The swapped-in tab links are live once htmx has processed them.
	testenv.Step(t, ctx, "wait for htmx to settle",
		poll(`(function(){var a=document.querySelector('.tabs a[href$="tab=inputs"]');var d=a&&a["htmx-internal-data"];return !!(d&&d.listenerInfos&&d.listenerInfos.length)})()`))
	testenv.Step(t, ctx, "open the Inputs tab with the keyboard",
		chromedp.Evaluate[chromedp.Void](`document.querySelector('.tabs a[href$="tab=inputs"]').focus()`), chromedp.KeyEvent("\r"))
	waitFor(t, ctx, "inputs tab", `document.querySelector("#panel-h").textContent === "Inputs"`)
	if !eval[bool](t, ctx, `window.samePage === true`) {
		t.Errorf("the keyboard-opened tab loaded a new page instead of swapping the panel")
	}
	if first := eval[string](t, ctx, `document.querySelector("#panel tbody th code").textContent`); first != "enable_ipv6" {
		t.Fatalf("first input = %q, want the first required one (enable_ipv6)", first)
	}
	testenv.Screenshot(t, ctx, "module-inputs")
	testenv.ScreenshotNarrow(t, ctx, "module-inputs")

	testenv.Step(t, ctx, "pick version 1.0.0",
		chromedp.Evaluate[chromedp.Void](`setTimeout(function(){var s=document.querySelector("#version");s.value="1.0.0";s.dispatchEvent(new Event("change",{bubbles:true}));}, 0)`))
	waitFor(t, ctx, "version 1.0.0 loaded", `location.pathname === "/modules/acme/network/aws/1.0.0" && document.readyState === "complete" && !!document.querySelector("#panel-h")`)
	if tab := eval[string](t, ctx, `document.querySelector("#panel-h").textContent`); tab != "Inputs" {
		t.Fatalf("tab after switching version = %q, want Inputs kept", tab)
	}
	testenv.Step(t, ctx, "outputs of 1.0.0", chromedp.Click(chromedp.CSS(`.tabs a[href$="tab=outputs"]`)),
		poll(`document.querySelector("#panel").textContent.includes("ID of the network (1.0.0)")`))
	if badge := eval[string](t, ctx, `document.querySelector(".facts .badge.warn").textContent`); badge != "not the latest version" {
		t.Fatalf("badge = %q", badge)
	}

	// Copy: the button puts the usage snippet on the clipboard.
	for _, perm := range []string{"clipboard-read", "clipboard-write"} {
		if _, err := chromedp.CallBrowser(ctx, browser.SetPermission, browser.SetPermissionParams{
			Permission: &browser.PermissionDescriptor{Name: perm}, Setting: browser.PermissionSettingGranted,
			Origin: s.URL, BrowserContextID: chromedp.FromContext(ctx).BrowserContextID}); err != nil {
			t.Fatalf("granting %s: %v", perm, err)
		}
	}
	testenv.Step(t, ctx, "copy the usage snippet", chromedp.Click(chromedp.CSS(`button[data-copy="usage-snippet"]`)),
		poll(`document.querySelector('button[data-copy="usage-snippet"]').dataset.copied === "true"`))
	want := eval[string](t, ctx, `document.querySelector("#usage-snippet").textContent`)
	got, err := chromedp.Run(ctx, chromedp.Evaluate[string](`navigator.clipboard.readText()`, chromedp.EvalAwaitPromise))
	if err != nil {
		t.Fatalf("reading the clipboard: %v", err)
	}
	if got != want || !strings.Contains(got, `version = "1.0.0"`) {
		t.Fatalf("clipboard = %q, want the snippet %q", got, want)
	}
	testenv.Screenshot(t, ctx, "module-copied")
}

// TestUsageBuilderInBrowser fills in the usage builder and checks that the
// HCL it renders as the form is filled in is accepted by terraform
// validate, calling a local copy of the module (so the check covers
// required inputs and types, without a network).
func TestUsageBuilderInBrowser(t *testing.T) {
	t.Parallel()
	if _, err := exec.LookPath("terraform"); err != nil {
		testenv.Require(t, err, "terraform CLI")
	}
	s := seed(t)
	ctx := testenv.Browser(t)
	watchConsole(t, ctx)
	testenv.Step(t, ctx, "open the usage builder", chromedp.Navigate(s.URL+"/modules/acme/network/aws/1.1.0?tab=builder"),
		chromedp.WaitVisible(chromedp.CSS("#var-name")))
	before := eval[string](t, ctx, `document.querySelector("#builder-hcl").textContent`)
	if err := validate(t, before); err == nil || !strings.Contains(string(err.(*exec.ExitError).Stderr), "Missing required argument") {
		t.Fatalf("terraform validate of the block without its required inputs = %v, want missing required arguments:\n%s", err, before)
	}
	testenv.Step(t, ctx, "fill in the inputs",
		chromedp.SendKeys(chromedp.CSS("#var-name"), `web "edge" ${x}`),
		chromedp.SendKeys(chromedp.CSS("#var-zone_count"), "3"),
		chromedp.SendKeys(chromedp.CSS("#var-zones"), "eu-west-1a, eu-west-1b"),
		chromedp.SendKeys(chromedp.CSS("#var-tags"), `{ team = "net" }`),
		chromedp.Evaluate[chromedp.Void](`(function(){var s=document.querySelector("#var-enable_ipv6");s.value="true";s.dispatchEvent(new Event("input",{bubbles:true}));})()`),
		poll(`(function(){var t=document.querySelector("#builder-hcl").textContent;return t.includes("enable_ipv6 = true") && t.includes("zone_count  = 3") && t.includes("team") && !t.includes("still to set")})()`))
	hcl := eval[string](t, ctx, `document.querySelector("#builder-hcl").textContent`)
	for _, want := range []string{`name        = "web \"edge\" $${x}"`, `zones       = ["eu-west-1a", "eu-west-1b"]`, `source  = "127.0.0.1:`} {
		if !strings.Contains(hcl, want) {
			t.Errorf("builder HCL lacks %s:\n%s", want, hcl)
		}
	}
	if err := validate(t, hcl); err != nil {
		t.Fatalf("terraform rejects the builder's HCL: %s\n%s", err.(*exec.ExitError).Stderr, hcl)
	}
	testenv.Screenshot(t, ctx, "builder")
	testenv.ScreenshotNarrow(t, ctx, "builder")
}

var sourceLine = regexp.MustCompile(`(?m)^  source  = ".*"\n  version = ".*"\n`)

// validate writes hcl into a configuration whose module source is a local
// copy of the module and runs terraform fmt -check, init and validate.
func validate(t *testing.T, hcl string) error {
	t.Helper()
	dir := t.TempDir()
	for _, f := range builderModule("1.1.0") {
		p := filepath.Join(dir, "module", f.name)
		os.MkdirAll(filepath.Dir(p), 0o755)
		if err := os.WriteFile(p, []byte(f.body), 0o644); err != nil {
			t.Fatal(err)
		}
	}
	if !sourceLine.MatchString(hcl) {
		t.Fatalf("no source and version lines in:\n%s", hcl)
	}
	local := sourceLine.ReplaceAllString(hcl, "  source = \"./module\"\n")
	if err := os.WriteFile(filepath.Join(dir, "main.tf"), []byte(local), 0o644); err != nil {
		t.Fatal(err)
	}
	// The registry form must be formatted as terraform fmt would.
	if err := os.WriteFile(filepath.Join(dir, "registry.tf.txt"), []byte(hcl), 0o644); err != nil {
		t.Fatal(err)
	}
	run := func(args ...string) error {
		cmd := exec.Command("terraform", args...)
		cmd.Dir = dir
		cmd.Env = append(os.Environ(), "TF_IN_AUTOMATION=1", "CHECKPOINT_DISABLE=1", "TF_PLUGIN_CACHE_DIR=")
		out, err := cmd.CombinedOutput()
		if err != nil {
			return &exec.ExitError{Stderr: out}
		}
		return nil
	}
	fmtCmd := exec.Command("terraform", "fmt", "-check", "-")
	fmtCmd.Stdin = strings.NewReader(hcl)
	if out, err := fmtCmd.CombinedOutput(); err != nil {
		t.Errorf("terraform fmt -check: %v %s\n%s", err, out, hcl)
	}
	if err := run("init", "-backend=false", "-input=false", "-no-color"); err != nil {
		return err
	}
	return run("validate", "-no-color")
}

// TestVisibilityInBrowser: an anonymous visitor and a member see different
// catalogs, and a private module's page looks missing to the visitor.
func TestVisibilityInBrowser(t *testing.T) {
	t.Parallel()
	s := seed(t)
	anon := testenv.Browser(t)
	testenv.Step(t, anon, "anonymous: module list", chromedp.Navigate(s.URL+"/modules"), chromedp.WaitVisible(chromedp.CSS("#results")))
	if txt := eval[string](t, anon, `document.querySelector("#results").textContent`); strings.Contains(txt, "acme/secret") {
		t.Fatalf("anonymous visitor sees the private module")
	}
	testenv.Step(t, anon, "anonymous: the private module", chromedp.Navigate(s.URL+"/modules/acme/secret/aws"), chromedp.WaitVisible(chromedp.CSS("h1")))
	if h := eval[string](t, anon, `document.querySelector("h1").textContent`); h != "Page not found" {
		t.Fatalf("anonymous private module page h1 = %q", h)
	}
	testenv.Screenshot(t, anon, "private-anonymous")

	member := testenv.Browser(t)
	testenv.Step(t, member, "sign in", chromedp.Navigate(s.URL+"/login"),
		chromedp.SendKeys(chromedp.CSS("#username"), "member"),
		chromedp.SendKeys(chromedp.CSS("#password"), "correct horse battery"),
		chromedp.Click(chromedp.CSS("form.stack button")),
		chromedp.WaitVisible(chromedp.CSS(".who")))
	testenv.Step(t, member, "member: module list", chromedp.Navigate(s.URL+"/modules"), chromedp.WaitVisible(chromedp.CSS("#results")))
	if txt := eval[string](t, member, `document.querySelector("#results").textContent`); !strings.Contains(txt, "acme/secret") || strings.Contains(txt, "initech") {
		t.Fatalf("member's module list = %q; want acme/secret and no initech", txt)
	}
	testenv.Step(t, member, "member: the private module", chromedp.Navigate(s.URL+"/modules/acme/secret/aws"), chromedp.WaitVisible(chromedp.CSS(".module-head")))
	testenv.Screenshot(t, member, "private-member")
}

// TestPageScreenshots opens every page in Chromium, without console errors
// (so nothing broke the Content-Security-Policy), and saves desktop and
// 390 px screenshots.
func TestPageScreenshots(t *testing.T) {
	t.Parallel()
	s := seed(t)
	ctx := testenv.Browser(t)
	watchConsole(t, ctx)
	for _, p := range []struct{ label, path, wait string }{
		{"landing", "/", "h1"},
		{"modules", "/modules", "#results"},
		{"namespace", "/modules/acme", "#results"},
		{"systems", "/modules/acme/network", "#results"},
		{"resources", "/modules/acme/network/aws/1.1.0?tab=resources", "#panel"},
		{"dependencies", "/modules/acme/network/aws/1.1.0?tab=dependencies", "#panel"},
		{"submodule", "/modules/acme/network/aws/1.1.0/submodule/modules/subnets", "#panel"},
		{"example", "/modules/acme/network/aws/1.1.0/example/examples/basic", ".chroma"},
		{"graph", "/modules/acme/network/aws/1.1.0/graph", "#graph[data-drawn=true]"},
		{"graph-submodule", "/modules/acme/network/aws/1.1.0/graph/submodule/modules/subnets", "#graph[data-drawn=true]"},
		{"group", "/groups/acme", "h1"},
		{"project", "/acme/network", "h1"},
		{"not-found", "/modules/acme/secret/aws", "h1"},
	} {
		testenv.Step(t, ctx, "open "+p.label, chromedp.Navigate(s.URL+p.path), chromedp.WaitVisible(chromedp.CSS(p.wait)))
		testenv.Screenshot(t, ctx, p.label)
		testenv.ScreenshotNarrow(t, ctx, p.label)
	}
	// Dark mode follows prefers-color-scheme.
	if _, err := chromedp.Call(ctx, emulation.SetEmulatedMedia, emulation.SetEmulatedMediaParams{
		Features: []*emulation.MediaFeature{{Name: "prefers-color-scheme", Value: "dark"}}}); err != nil {
		t.Fatal(err)
	}
	for _, p := range []struct{ label, path, wait string }{
		{"dark-module", "/modules/acme/network/aws/1.1.0?tab=inputs", "#panel"},
		{"dark-example", "/modules/acme/network/aws/1.1.0/example/examples/basic", ".chroma"},
		{"dark-graph", "/modules/acme/network/aws/1.1.0/graph", "#graph[data-drawn=true]"},
	} {
		testenv.Step(t, ctx, "open "+p.label, chromedp.Navigate(s.URL+p.path), chromedp.WaitVisible(chromedp.CSS(p.wait)))
		if bg := eval[string](t, ctx, `getComputedStyle(document.body).backgroundColor`); bg != "rgb(13, 17, 23)" {
			t.Errorf("%s: dark background = %s", p.label, bg)
		}
		testenv.Screenshot(t, ctx, p.label)
	}
}
