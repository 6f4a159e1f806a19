package modules_test

import (
	"context"
	"encoding/json"
	"net/http"
	"strings"
	"testing"
	"time"

	"github.com/cairn-registry/cairn/modules/markdown"
)

// readmeModule has a README in the root, a submodule and an example.
var readmeModule = map[string]string{
	"main.tf":                    "output \"x\" { value = 1 }\n",
	"README.md":                  "# Root\n\n![logo](https://tracker.example/l.png)\n",
	"modules/subnets/main.tf":    "output \"x\" { value = 1 }\n",
	"modules/subnets/README.md":  "# Subnets\n",
	"examples/basic/main.tf":     "module \"m\" {\n  source = \"../..\"\n}\n",
	"examples/basic/README.md":   "# Basic\n",
	"examples/nodocs/main.tf":    "module \"m\" {\n  source = \"../..\"\n}\n",
	"modules/zones/variables.tf": "variable \"a\" {}\n",
}

type storedPart struct {
	Path       string  `json:"path"`
	ReadmeHTML *string `json:"readme_html"`
}

type storedMeta struct {
	Root              storedPart   `json:"root"`
	Submodules        []storedPart `json:"submodules"`
	Examples          []storedPart `json:"examples"`
	ReadmeHTMLVersion int          `json:"readme_html_version"`
}

func (z *zipServer) storedMeta(t *testing.T) storedMeta {
	t.Helper()
	var raw []byte
	if err := z.srv.Pool.QueryRow(context.Background(), `SELECT metadata FROM module_versions`).Scan(&raw); err != nil {
		t.Fatal(err)
	}
	var m storedMeta
	if err := json.Unmarshal(raw, &m); err != nil {
		t.Fatal(err)
	}
	return m
}

// readme requests a readme_html endpoint and returns the JSON string.
func (z *zipServer) readme(t *testing.T, path string) string {
	t.Helper()
	resp, body := z.srv.Raw(t, http.MethodGet, "/v1/terrareg/modules/acme/vpc/aws/1.0.0/"+path, nil, "")
	var s string
	if resp.StatusCode != http.StatusOK || json.Unmarshal(body, &s) != nil {
		t.Fatalf("GET %s = %d %s", path, resp.StatusCode, body)
	}
	return s
}

// TestReadmeHTMLStoredAtPublish: READMEs are rendered once, at upload, and
// the readme_html endpoints serve what was stored.
func TestReadmeHTMLStoredAtPublish(t *testing.T) {
	t.Parallel()
	z := startZipServer(t)
	if code, body := z.upload(t, "1.0.0", tarGz(t, readmeModule)); code != http.StatusCreated {
		t.Fatalf("upload = %d %s", code, body)
	}
	m := z.storedMeta(t)
	if m.ReadmeHTMLVersion != markdown.Version {
		t.Errorf("stored readme_html_version = %d, want %d", m.ReadmeHTMLVersion, markdown.Version)
	}
	want := map[string]string{
		"":                `<h1 id="readme-root">Root</h1>` + "\n<p>logo</p>\n",
		"modules/subnets": `<h1 id="readme-subnets">Subnets</h1>` + "\n",
		"examples/basic":  `<h1 id="readme-basic">Basic</h1>` + "\n",
	}
	parts := append(append([]storedPart{m.Root}, m.Submodules...), m.Examples...)
	for _, p := range parts {
		got := ""
		if p.ReadmeHTML != nil {
			got = *p.ReadmeHTML
		}
		if got != want[p.Path] {
			t.Errorf("stored readme_html of %q = %q, want %q", p.Path, got, want[p.Path])
		}
	}

	// What is served is what was stored: replace the stored HTML and ask.
	_, err := z.srv.Pool.Exec(context.Background(), `UPDATE module_versions SET metadata =
		jsonb_set(jsonb_set(jsonb_set(metadata, '{root,readme_html}', '"<p>stored root</p>"'),
			'{submodules,0,readme_html}', '"<p>stored sub</p>"'), '{examples,0,readme_html}', '"<p>stored example</p>"')`)
	if err != nil {
		t.Fatal(err)
	}
	for path, want := range map[string]string{
		"readme_html":                            "<p>stored root</p>",
		"files/README.md":                        "<p>stored root</p>",
		"submodules/readme_html/modules/subnets": "<p>stored sub</p>",
		"examples/readme_html/examples/basic":    "<p>stored example</p>",
	} {
		if got := z.readme(t, path); got != want {
			t.Errorf("GET %s = %q, want the stored %q", path, got, want)
		}
	}
}

// TestReadmeHTMLRenderedOnceForOlderVersions: a version stored without
// rendered READMEs (or rendered by an older renderer) is rendered on first
// read and the result stored.
func TestReadmeHTMLRenderedOnceForOlderVersions(t *testing.T) {
	t.Parallel()
	z := startZipServer(t)
	if code, body := z.upload(t, "1.0.0", tarGz(t, readmeModule)); code != http.StatusCreated {
		t.Fatalf("upload = %d %s", code, body)
	}
	// As a version published before: no readme_html, no version.
	_, err := z.srv.Pool.Exec(context.Background(), `UPDATE module_versions SET metadata =
		jsonb_set(jsonb_set(jsonb_set(metadata #- '{readme_html_version}', '{root,readme_html}', 'null'),
			'{submodules,0}', (metadata->'submodules'->0) - 'readme_html'), '{examples,0}', (metadata->'examples'->0) - 'readme_html')`)
	if err != nil {
		t.Fatal(err)
	}
	if m := z.storedMeta(t); m.ReadmeHTMLVersion != 0 {
		t.Fatalf("setup left readme_html_version %d", m.ReadmeHTMLVersion)
	}
	// Storing the rendering is no module change: no replica drops its
	// caches for it (migration 00071).
	ctx := context.Background()
	listener, err := z.srv.Pool.Acquire(ctx)
	if err != nil {
		t.Fatal(err)
	}
	defer listener.Release()
	defer listener.Exec(ctx, "UNLISTEN *")
	if _, err := listener.Exec(ctx, "LISTEN cairn_modules"); err != nil {
		t.Fatal(err)
	}
	notified := func() bool {
		wctx, cancel := context.WithTimeout(ctx, 300*time.Millisecond)
		defer cancel()
		_, err := listener.Conn().WaitForNotification(wctx)
		return err == nil
	}
	if got := z.readme(t, "submodules/readme_html/modules/subnets"); got != `<h1 id="readme-subnets">Subnets</h1>`+"\n" {
		t.Errorf("lazily rendered submodule README = %q", got)
	}
	if notified() {
		t.Error("storing a rendered README announced a module change")
	}
	if _, err := z.srv.Pool.Exec(ctx, "UPDATE module_versions SET published = published"); err != nil {
		t.Fatal(err)
	}
	if !notified() {
		t.Error("a change of a version's published flag was not announced")
	}
	m := z.storedMeta(t)
	if m.ReadmeHTMLVersion != markdown.Version || m.Root.ReadmeHTML == nil || !strings.Contains(*m.Root.ReadmeHTML, `id="readme-root"`) {
		t.Errorf("after the first read the stored metadata is %+v, want every README rendered by version %d", m, markdown.Version)
	}
}
