package e2e

import (
	"archive/tar"
	"archive/zip"
	"bytes"
	"compress/gzip"
	"encoding/json"
	"fmt"
	"io"
	"io/fs"
	"net/url"
	"os"
	"path/filepath"
	"regexp"
	"sort"
	"strings"
	"testing"

	"github.com/cairn-registry/cairn/internal/testenv"
	"github.com/cairn-registry/cairn/modules/markdown"
)

// terraregFixtures holds the realistic modules metadata extraction is tested with.
const terraregFixtures = "../modules/metadata/testdata/fixtures"

// terraregArchive packs a fixture directory (dotfiles included) as a
// .tar.gz and returns it with the files it holds.
func terraregArchive(t *testing.T, fixture string) ([]byte, map[string]string) {
	t.Helper()
	root := filepath.Join(terraregFixtures, fixture)
	files := map[string]string{}
	var buf bytes.Buffer
	gz := gzip.NewWriter(&buf)
	tw := tar.NewWriter(gz)
	err := filepath.WalkDir(root, func(p string, d fs.DirEntry, err error) error {
		if err != nil || d.IsDir() {
			return err
		}
		b, err := os.ReadFile(p)
		if err != nil {
			return err
		}
		rel, _ := filepath.Rel(root, p)
		name := filepath.ToSlash(rel)
		files[name] = string(b)
		if err := tw.WriteHeader(&tar.Header{Name: name, Mode: 0o644, Size: int64(len(b)), Typeflag: tar.TypeReg}); err != nil {
			return err
		}
		_, err = tw.Write(b)
		return err
	})
	if err != nil {
		t.Fatal(err)
	}
	tw.Close()
	gz.Close()
	return buf.Bytes(), files
}

// terraregEnv is a registry holding the fixtures in a public namespace
// (acme), a private project of that namespace, and a private namespace
// (secret), with users at different distances from the private modules.
type terraregEnv struct {
	*inproc
	member, guest, outsider string // personal access tokens
	files                   map[string]string
	hostileReadme           string
}

func startTerrareg(t *testing.T) *terraregEnv {
	s := startInProcess(t, nil)
	e := &terraregEnv{inproc: s}
	var acme, secret struct{ ID int64 }
	s.json("POST", "/groups", map[string]any{"path": "acme", "name": "Acme", "visibility": "public"}, &acme)
	s.json("POST", "/projects", map[string]any{"path": "network", "namespace_id": acme.ID, "visibility": "public"}, nil)
	s.json("POST", "/projects", map[string]any{"path": "hidden", "namespace_id": acme.ID, "visibility": "private"}, nil)
	s.json("POST", "/groups", map[string]any{"path": "secret", "name": "Secret", "visibility": "private"}, &secret)
	s.json("POST", "/projects", map[string]any{"path": "infra", "namespace_id": secret.ID, "visibility": "private"}, nil)

	user := func(name string, level int) string {
		var u struct{ ID int64 }
		s.json("POST", "/users", map[string]any{"username": name, "name": name, "email": name + "@example.com"}, &u)
		var tok struct{ Token string }
		s.json("POST", fmt.Sprintf("/users/%d/personal_access_tokens", u.ID), map[string]any{"name": "t", "scopes": []string{"read_api"}}, &tok)
		if level > 0 {
			s.json("POST", fmt.Sprintf("/groups/%d/members", secret.ID), map[string]any{"user_id": u.ID, "access_level": level}, nil)
		}
		return tok.Token
	}
	e.member = user("member", 20) // reporter: reads packages
	e.guest = user("guest", 10)   // sees the project, not its packages
	e.outsider = user("outsider", 0)

	complete, files := terraregArchive(t, "complete")
	e.files = files
	broken, _ := terraregArchive(t, "broken")
	hostile, hostileFiles := terraregArchive(t, "hostile")
	e.hostileReadme = hostileFiles["README.md"]
	for _, u := range []struct {
		project, name, version string
		body                   []byte
	}{
		{"acme/network", "vpc", "1.3.0", complete},
		{"acme/network", "vpc", "1.4.0", complete},
		{"acme/network", "vpc", "2.0.0-rc1", complete},
		{"acme/network", "logs", "0.1.0", broken},
		{"acme/network", "hostile", "1.0.0", hostile},
		{"acme/network", "early", "0.1.0-alpha", complete},
		{"acme/network", "bare", "1.0.0", tgz(entry{name: "main.tf", body: "output \"x\" { value = 1 }\n"})},
		{"acme/hidden", "hidden", "1.0.0", complete},
		{"secret/infra", "vpc", "1.0.0", complete},
	} {
		if code, body := s.upload(nil, u.project, u.name, "aws", u.version, u.body); code != 201 {
			t.Fatalf("upload %s %s/aws %s = %d %s", u.project, u.name, u.version, code, body)
		}
	}
	return e
}

// get calls the Terrareg API with a token ("" for anonymous).
func (e *terraregEnv) get(token, path string) (int, string) {
	e.t.Helper()
	h := map[string]string{}
	if token != "" {
		h["Authorization"] = "Bearer " + token
	}
	code, _, body := e.do("GET", "/v1/terrareg/modules/"+path, h, nil)
	return code, body
}

var (
	terraregTimestamp = regexp.MustCompile(`\d{4}-\d\d-\d\dT\d\d:\d\d:\d\d(\.\d+)?Z?`)
	terraregDate      = regexp.MustCompile(`(January|February|March|April|May|June|July|August|September|October|November|December) \d\d, \d{4}`)
)

// canonical re-encodes a JSON body for a golden file: indented, keys
// sorted, HTML left readable, and the server's port, publication times and
// dates replaced by placeholders.
func (e *terraregEnv) canonical(body string) []byte {
	e.t.Helper()
	dec := json.NewDecoder(strings.NewReader(body))
	dec.UseNumber()
	var v any
	if err := dec.Decode(&v); err != nil {
		e.t.Fatalf("response is not JSON: %v\n%s", err, body)
	}
	var buf bytes.Buffer
	enc := json.NewEncoder(&buf)
	enc.SetEscapeHTML(false)
	enc.SetIndent("", "  ")
	enc.Encode(v)
	out := buf.String()
	u, _ := url.Parse(e.srv.URL)
	out = strings.ReplaceAll(out, u.Host, "cairn.test")
	out = terraregTimestamp.ReplaceAllString(out, "<published_at>")
	out = terraregDate.ReplaceAllString(out, "<published_at_display>")
	return []byte(out)
}

// golden compares a JSON response with e2e/testdata/terrareg/<name>.json
// (rewritten with -update).
func (e *terraregEnv) golden(name, body string) {
	e.t.Helper()
	got := e.canonical(body)
	testenv.Golden(e.t, filepath.Join("testdata", "terrareg", name+".json"), got)
}

// TestTerraregModuleEndpoints calls every Terrareg module endpoint on the
// complete fixture and compares the answers with golden files.
func TestTerraregModuleEndpoints(t *testing.T) {
	t.Parallel()
	e := startTerrareg(t)
	const v = "acme/vpc/aws/1.4.0"
	cases := []struct{ golden, path string }{
		{"provider_details", "acme/vpc/aws"},
		{"version_details", v},
		{"version_details_html", v + "?output=html"},
		{"versions", "acme/vpc/aws/versions"},
		{"versions_with_beta", "acme/vpc/aws/versions?include-beta=true"},
		{"integrations", "acme/vpc/aws/integrations"},
		{"submodules", v + "/submodules"},
		{"submodule_details", v + "/submodules/details/modules/subnets"},
		{"submodule_readme_html", v + "/submodules/readme_html/modules/routes"},
		{"examples", v + "/examples"},
		{"example_details", v + "/examples/details/examples/complete"},
		{"example_readme_html", v + "/examples/readme_html/examples/basic"},
		{"example_filelist", v + "/examples/filelist/examples/complete"},
		{"example_file_main_tf", v + "/examples/file/examples/basic/main.tf"},
		{"example_file_tfvars", v + "/examples/file/examples/complete/terraform.tfvars"},
		{"readme_html", v + "/readme_html"},
		{"files_readme", v + "/files/README.md"},
		{"variable_template", v + "/variable_template"},
		{"variable_template_html", v + "/variable_template?output=html"},
		{"graph_data", v + "/graph/data"},
		{"graph_data_submodule", v + "/graph/data/submodule/modules/routes"},
		{"graph_data_example", v + "/graph/data/example/examples/basic"},
		{"provider_details_prerelease_only", "acme/early/aws"},
		{"broken_details", "acme/logs/aws/0.1.0"},
		{"hostile_details", "acme/hostile/aws/1.0.0"},
		{"hostile_details_html", "acme/hostile/aws/1.0.0?output=html"},
		{"hostile_readme_html", "acme/hostile/aws/1.0.0/readme_html"},
	}
	for _, tc := range cases {
		code, body := e.get("", tc.path)
		if code != 200 {
			t.Errorf("GET %s = %d %s", tc.path, code, body)
			continue
		}
		e.golden(tc.golden, body)
	}

	// Versions a constraint would not pick carry Terrareg's warning.
	for _, tc := range []struct{ version, comment string }{
		{"1.3.0", "not the latest version"},
		{"2.0.0-rc1", "beta version"},
		{"1.4.0", ""},
	} {
		_, body := e.get("", "acme/vpc/aws/"+tc.version)
		var d struct {
			Beta    bool     `json:"beta"`
			Comment []string `json:"terraform_example_version_comment"`
		}
		json.Unmarshal([]byte(body), &d)
		got := strings.Join(d.Comment, " ")
		if (tc.comment == "" && got != "") || !strings.Contains(got, tc.comment) || d.Beta != strings.Contains(tc.version, "-") {
			t.Errorf("%s: beta %v comment %q, want comment containing %q", tc.version, d.Beta, got, tc.comment)
		}
	}
}

// TestTerraregMissing covers Terrareg's answers for things that do not exist.
func TestTerraregMissing(t *testing.T) {
	t.Parallel()
	e := startTerrareg(t)
	const v = "acme/vpc/aws/1.4.0"
	const notFound = `{"errors":["Not Found"]}`
	for _, tc := range []struct {
		path   string
		status int
		body   string
	}{
		{"nosuch/vpc/aws", 400, `{"message":"Namespace does not exist"}`},
		{"acme/nosuch/aws", 400, `{"message":"Module provider does not exist"}`},
		{"acme/vpc/azurerm/versions", 400, `{"message":"Module provider does not exist"}`},
		{"acme/vpc/aws/9.9.9", 404, notFound},
		{"acme/vpc/aws/9.9.9/graph/data", 404, notFound},
		{"acme/vpc/aws/9.9.9/readme_html", 400, `{"message":"Module version does not exist"}`},
		{"acme/vpc/aws/9.9.9/source.zip", 400, `{"message":"Module version does not exist"}`},
		{v + "/submodules/details/modules/nope", 404, notFound},
		{v + "/submodules/details/examples/basic", 404, notFound},
		{v + "/submodules/readme_html/modules/nope", 404, notFound},
		{v + "/examples/details/examples/nope", 404, notFound},
		{v + "/examples/readme_html/examples/nope", 404, notFound},
		{v + "/examples/filelist/examples/nope", 404, notFound},
		{v + "/examples/file/examples/basic/nope.tf", 404, notFound},
		{v + "/examples/file/examples/complete/notes.log", 404, notFound},
		{v + "/examples/file/main.tf", 404, notFound},
		{v + "/files/LICENSE", 404, notFound},
		{v + "/files/main.tf", 404, notFound},
		{v + "/graph/data/submodule/modules/nope", 404, notFound},
		{v + "/graph/data/example/modules/subnets", 404, notFound},
	} {
		// An authenticated caller: anonymous ones are asked to log in instead
		// (see TestTerraregVisibility).
		code, body := e.get(e.outsider, tc.path)
		if code != tc.status || body != tc.body {
			t.Errorf("GET %s = %d %s, want %d %s", tc.path, code, body, tc.status, tc.body)
		}
	}
	// A module without README, submodules, examples or terrareg.json.
	for _, tc := range []struct {
		path   string
		status int
		body   string
	}{
		{"acme/bare/aws/1.0.0/readme_html", 200, "null"},
		{"acme/bare/aws/1.0.0/files/README.md", 404, notFound},
		{"acme/bare/aws/1.0.0/submodules", 200, "[]"},
		{"acme/bare/aws/1.0.0/examples", 200, "[]"},
		{"acme/bare/aws/1.0.0/variable_template", 200, "[]"},
	} {
		if code, body := e.get("", tc.path); code != tc.status || body != tc.body {
			t.Errorf("GET %s = %d %s, want %d %s", tc.path, code, body, tc.status, tc.body)
		}
	}
	_, body := e.get("", "acme/bare/aws/1.0.0")
	var d struct {
		Owner       *string `json:"owner"`
		Description *string `json:"description"`
		Source      *string `json:"source"`
		Display     *string `json:"display_source_url"`
		Links       []any   `json:"custom_links"`
	}
	json.Unmarshal([]byte(body), &d)
	// Terrareg's nulls: no owner, description or repository URL.
	if d.Owner != nil || d.Description != nil || d.Source != nil || d.Display != nil || len(d.Links) != 0 {
		t.Errorf("bare module details: %s", body)
	}
}

// TestTerraregVisibility checks that private modules are served to members
// only, and that refusals never reveal that a private module exists.
func TestTerraregVisibility(t *testing.T) {
	t.Parallel()
	e := startTerrareg(t)
	endpoints := []string{
		"", "/versions", "/integrations", "/1.0.0", "/1.0.0/submodules", "/1.0.0/submodules/details/modules/subnets",
		"/1.0.0/submodules/readme_html/modules/subnets", "/1.0.0/examples", "/1.0.0/examples/details/examples/basic",
		"/1.0.0/examples/readme_html/examples/basic", "/1.0.0/examples/filelist/examples/basic",
		"/1.0.0/examples/file/examples/basic/main.tf", "/1.0.0/readme_html", "/1.0.0/variable_template",
		"/1.0.0/files/README.md", "/1.0.0/source.zip", "/1.0.0/graph/data",
	}
	const anonymous = ""
	for _, private := range []struct{ module, missing string }{
		{"secret/vpc/aws", "nosuch/vpc/aws"},   // private namespace
		{"acme/hidden/aws", "acme/nosuch/aws"}, // private project in a public namespace
	} {
		for _, ep := range endpoints {
			for who, token := range map[string]string{"anonymous": anonymous, "non-member": e.outsider} {
				code, body := e.get(token, private.module+ep)
				missCode, missBody := e.get(token, private.missing+ep)
				if code != missCode || body != missBody {
					t.Errorf("%s: GET %s = %d %s, but a missing module = %d %s", who, private.module+ep, code, body, missCode, missBody)
				}
				want := 400
				if token == anonymous {
					want = 401
				}
				if code != want {
					t.Errorf("%s: GET %s = %d, want %d", who, private.module+ep, code, want)
				}
			}
		}
	}
	h := map[string]string{}
	code, hdr, body := e.do("GET", "/v1/terrareg/modules/secret/vpc/aws/1.0.0", h, nil)
	if code != 401 || hdr.Get("WWW-Authenticate") == "" || !strings.Contains(body, "could not verify that you are authorized") {
		t.Errorf("anonymous = %d %q %s", code, hdr.Get("WWW-Authenticate"), body)
	}
	// The member reads everything; a guest sees the project but not its packages.
	for _, ep := range endpoints {
		if code, body := e.get(e.member, "secret/vpc/aws"+ep); code != 200 {
			t.Errorf("member: GET secret/vpc/aws%s = %d %s", ep, code, body)
		}
		if code, body := e.get(e.guest, "secret/vpc/aws"+ep); code != 403 || !strings.Contains(body, "permission") {
			t.Errorf("guest: GET secret/vpc/aws%s = %d %s, want 403", ep, code, body)
		}
	}
	// A member's details name the private module.
	_, body = e.get(e.member, "secret/vpc/aws/1.0.0")
	var d struct {
		ID           string `json:"id"`
		UsageExample string `json:"usage_example"`
	}
	json.Unmarshal([]byte(body), &d)
	if d.ID != "secret/vpc/aws/1.0.0" || !strings.Contains(d.UsageExample, "/secret/vpc/aws\"") {
		t.Errorf("member details id %q usage example %q", d.ID, d.UsageExample)
	}
}

// TestTerraregHostileReadme checks that an uploader's README and
// descriptions come back harmless, and that markdown.Render's output is
// exactly what is served.
func TestTerraregHostileReadme(t *testing.T) {
	t.Parallel()
	e := startTerrareg(t)
	want, err := markdown.Render([]byte(e.hostileReadme))
	if err != nil {
		t.Fatal(err)
	}
	dangerous := regexp.MustCompile(`(?i)<script|javascript:|<iframe|<style|\son[a-z]+\s*=|data:text/html|<form|<svg`)
	// Markup in text fields: the README's Markdown keeps its link targets as
	// text, but no tag may survive.
	tags := regexp.MustCompile(`(?i)<[a-z!/]`)
	for _, p := range []string{"acme/hostile/aws/1.0.0/readme_html", "acme/hostile/aws/1.0.0/files/README.md"} {
		_, body := e.get("", p)
		var html string
		if err := json.Unmarshal([]byte(body), &html); err != nil {
			t.Fatalf("%s: %v %s", p, err, body)
		}
		if html != string(want) {
			t.Errorf("%s is not markdown.Render's output:\n%s", p, html)
		}
		if m := dangerous.FindString(html); m != "" {
			t.Errorf("%s serves %q:\n%s", p, m, html)
		}
		if !strings.Contains(html, "<h1") || !strings.Contains(html, "hover me") {
			t.Errorf("%s lost the harmless content:\n%s", p, html)
		}
	}
	for _, p := range []string{"acme/hostile/aws/1.0.0", "acme/hostile/aws/1.0.0?output=html", "acme/hostile/aws/1.0.0/variable_template",
		"acme/hostile/aws/1.0.0/variable_template?output=html"} {
		_, body := e.get("", p)
		var v any
		json.Unmarshal([]byte(body), &v)
		for _, s := range terraregStrings(v, "description", "additional_help", "readme") {
			if m := tags.FindString(s); m != "" {
				t.Errorf("%s: a text field carries markup %q: %s", p, m, s)
			}
		}
	}
}

// terraregStrings collects the string values of the given keys anywhere in v.
func terraregStrings(v any, keys ...string) []string {
	var out []string
	switch x := v.(type) {
	case map[string]any:
		for k, val := range x {
			for _, key := range keys {
				if s, ok := val.(string); ok && k == key {
					out = append(out, s)
				}
			}
			out = append(out, terraregStrings(val, keys...)...)
		}
	case []any:
		for _, val := range x {
			out = append(out, terraregStrings(val, keys...)...)
		}
	}
	return out
}

// TestTerraregSourceZip checks that source.zip holds exactly the uploaded files.
func TestTerraregSourceZip(t *testing.T) {
	t.Parallel()
	e := startTerrareg(t)
	code, hdr, body := e.do("GET", "/v1/terrareg/modules/acme/vpc/aws/1.4.0/source.zip", nil, nil)
	if code != 200 || hdr.Get("Content-Type") != "application/zip" ||
		!strings.Contains(hdr.Get("Content-Disposition"), `filename="vpc-aws-1.4.0.zip"`) {
		t.Fatalf("source.zip = %d %v", code, hdr)
	}
	zr, err := zip.NewReader(strings.NewReader(body), int64(len(body)))
	if err != nil {
		t.Fatalf("source.zip does not unzip: %v", err)
	}
	got := map[string]string{}
	for _, f := range zr.File {
		rc, err := f.Open()
		if err != nil {
			t.Fatal(err)
		}
		b, _ := io.ReadAll(rc)
		rc.Close()
		got[f.Name] = string(b)
	}
	var names []string
	for n := range e.files {
		names = append(names, n)
		if got[n] != e.files[n] {
			t.Errorf("%s differs in source.zip", n)
		}
	}
	if len(got) != len(e.files) {
		var gotNames []string
		for n := range got {
			gotNames = append(gotNames, n)
		}
		sort.Strings(names)
		sort.Strings(gotNames)
		t.Errorf("source.zip holds %v, uploaded %v", gotNames, names)
	}
}
