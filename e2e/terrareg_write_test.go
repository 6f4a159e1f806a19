package e2e

import (
	"archive/zip"
	"bytes"
	"context"
	"encoding/json"
	"fmt"
	"io"
	"mime/multipart"
	"net/http"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"testing"

	"github.com/jackc/pgx/v5"
)

// trm calls Terrareg's API on the binary with X-Terrareg-ApiKey (a Cairn
// token), as Terrareg's CI scripts do, and returns status and body.
func (r *registry) trm(token, method, path string, body any) (int, string) {
	r.t.Helper()
	var rd io.Reader
	if body != nil {
		b, _ := json.Marshal(body)
		rd = bytes.NewReader(b)
	}
	req, _ := http.NewRequest(method, r.proc.URL+"/v1/terrareg"+path, rd)
	req.Header.Set("Content-Type", "application/json")
	if token != "" {
		req.Header.Set("X-Terrareg-ApiKey", token)
	}
	resp, err := r.proc.Client(r.t).Do(req)
	if err != nil {
		r.t.Fatalf("%s %s: %v", method, path, err)
	}
	defer resp.Body.Close()
	b, _ := io.ReadAll(resp.Body)
	return resp.StatusCode, strings.TrimSpace(string(b))
}

// expect asserts a Terrareg answer: status and the exact JSON body (""
// skips the body).
func (r *registry) expect(step string, code int, body string, wantCode int, wantBody string) {
	r.t.Helper()
	if code != wantCode {
		r.t.Fatalf("%s = %d %s, want %d", step, code, body, wantCode)
	}
	if wantBody != "" && !jsonEqual(body, wantBody) {
		r.t.Fatalf("%s body = %s, want %s", step, body, wantBody)
	}
}

func jsonEqual(a, b string) bool {
	var x, y any
	if json.Unmarshal([]byte(a), &x) != nil || json.Unmarshal([]byte(b), &y) != nil {
		return false
	}
	xb, _ := json.Marshal(x)
	yb, _ := json.Marshal(y)
	return bytes.Equal(xb, yb)
}

// curlTerraregUpload uploads a file as Terrareg's upload endpoint takes it:
// multipart, field "file".
func (r *registry) curlTerraregUpload(t *testing.T, token, address, version, file string) (int, string) {
	t.Helper()
	url := fmt.Sprintf("%s/v1/terrareg/modules/%s/%s/upload", r.proc.URL, address, version)
	cmd := exec.Command("curl", "--silent", "--show-error", "--cacert", r.proc.CAPath(),
		"--header", "X-Terrareg-ApiKey: "+token, "-F", "file=@"+file, "--write-out", "\n%{http_code}", url)
	out, err := cmd.CombinedOutput()
	if err != nil {
		t.Fatalf("curl: %v\n%s", err, out)
	}
	s := strings.TrimSpace(string(out))
	i := strings.LastIndexByte(s, '\n')
	var code int
	fmt.Sscanf(s[i+1:], "%d", &code)
	return code, s[:i]
}

// moduleZip writes the module of moduleTarGz as a zip, Terrareg's format.
func moduleZip(t *testing.T, version string) string {
	t.Helper()
	var buf bytes.Buffer
	zw := zip.NewWriter(&buf)
	for name, content := range map[string]string{
		"main.tf":   fmt.Sprintf("output \"module_version\" {\n  value = %q\n}\n", version),
		"README.md": "# vpc\n\nA test module.\n",
	} {
		w, _ := zw.Create(name)
		w.Write([]byte(content))
	}
	zw.Close()
	p := filepath.Join(t.TempDir(), "module-"+version+".zip")
	if err := os.WriteFile(p, buf.Bytes(), 0o644); err != nil {
		t.Fatal(err)
	}
	return p
}

// count runs a counting query against the registry's database.
func (r *registry) count(query string, args ...any) int {
	r.t.Helper()
	conn, err := pgx.Connect(context.Background(), r.env["CAIRN_DATABASE_URL"])
	if err != nil {
		r.t.Fatal(err)
	}
	defer conn.Close(context.Background())
	var n int
	if err := conn.QueryRow(context.Background(), query, args...).Scan(&n); err != nil {
		r.t.Fatalf("%s: %v", query, err)
	}
	return n
}

// userToken creates a user with an api-scoped token.
func (r *registry) userToken(name string) string {
	r.t.Helper()
	var u struct{ ID int64 }
	r.api(r.admin, "POST", "/users", map[string]any{"username": name, "name": name, "email": name + "@example.com"}, &u)
	var tok struct{ Token string }
	r.api(r.admin, "POST", fmt.Sprintf("/users/%d/personal_access_tokens", u.ID), map[string]any{"name": "t", "scopes": []string{"api"}}, &tok)
	return tok.Token
}

// TestTerraregClientScript is a Terrareg CI script against the binary:
// namespace, module provider, two uploads, one published, a move with its
// redirect resolving through terraform get, then deletions — each step with
// Terrareg's status codes and bodies.
func TestTerraregClientScript(t *testing.T) {
	t.Parallel()
	requireTerraform(t)
	r := startRegistry(t)
	admin := r.admin
	sslEnv := "SSL_CERT_FILE=" + r.proc.CAPath()
	cli := fmt.Sprintf("credentials %q {\n  token = %q\n}\n", r.host, admin)

	// Namespaces.
	code, body := r.trm(admin, "POST", "/namespaces", map[string]any{"name": "platform", "display_name": "Platform Team"})
	r.expect("create namespace", code, body, 200, `{"name":"platform","view_href":"/modules/platform","display_name":"Platform Team"}`)
	code, body = r.trm(admin, "POST", "/namespaces", map[string]any{"name": "platform"})
	r.expect("create namespace twice", code, body, 400, `{"status":"Error","message":"A namespace already exists with this name"}`)
	code, body = r.trm(admin, "POST", "/namespaces", map[string]any{"name": "bad__name"})
	r.expect("create invalid namespace", code, body, 400, "")
	code, body = r.trm(admin, "GET", "/namespaces/platform", nil)
	r.expect("namespace details", code, body, 200,
		`{"is_auto_verified":false,"trusted":false,"display_name":"Platform Team","default_provider_source":null}`)
	code, body = r.trm(admin, "GET", "/namespaces/nowhere", nil)
	r.expect("missing namespace details", code, body, 404, `{"errors":["Not Found"]}`)
	code, body = r.trm(admin, "POST", "/namespaces/platform", map[string]any{"display_name": "Platform"})
	r.expect("update namespace", code, body, 200,
		`{"name":"platform","view_href":"/modules/platform","display_name":"Platform","default_provider_source":null}`)

	// Module provider.
	code, body = r.trm(admin, "POST", "/modules/platform/vpc/aws/create", map[string]any{
		"git_tag_format": "v{version}", "repo_clone_url_template": "ssh://git@example.com/{namespace}/{module}.git"})
	r.expect("create module provider", code, body, 200, `{"id":"platform/vpc/aws"}`)
	code, body = r.trm(admin, "POST", "/modules/platform/vpc/aws/create", nil)
	r.expect("create module provider twice", code, body, 400, `{"message":"Module provider already exists"}`)
	code, body = r.trm(admin, "POST", "/modules/nowhere/vpc/aws/create", nil)
	r.expect("create in a missing namespace", code, body, 400, `{"message":"Namespace does not exist"}`)
	code, body = r.trm(admin, "POST", "/modules/platform/vpc/aws/create", map[string]any{"repo_base_url_template": "example.com/x"})
	r.expect("create with a bad URL", code, body, 400, "")
	if n := r.count("SELECT count(*) FROM projects WHERE full_path = 'platform/vpc'"); n != 1 {
		t.Fatalf("project platform/vpc: %d rows, want 1", n)
	}

	// Two uploads (zip, as Terrareg takes it, and tar.gz); one published.
	code, body = r.curlTerraregUpload(t, admin, "platform/vpc/aws", "1.0.0", moduleZip(t, "1.0.0"))
	r.expect("upload 1.0.0 (zip)", code, body, 200, `{"status":"Success"}`)
	code, body = r.curlTerraregUpload(t, admin, "platform/vpc/aws", "1.1.0", moduleTarGz(t, "1.1.0"))
	r.expect("upload 1.1.0 (tar.gz)", code, body, 200, `{"status":"Success"}`)
	code, body = r.curlTerraregUpload(t, admin, "platform/vpc/aws", "1.1.0", moduleTarGz(t, "1.1.0"))
	if code != 500 || !strings.Contains(body, `"status":"Error"`) {
		t.Fatalf("upload 1.1.0 twice = %d %s, want Terrareg's 500 Error", code, body)
	}
	code, body = r.curlTerraregUpload(t, admin, "platform/vpc/aws", "1.2.0", moduleZip(t, "1.2.0")+"")
	r.expect("upload 1.2.0", code, body, 200, `{"status":"Success"}`)
	code, body = r.trm(admin, "POST", "/modules/platform/vpc/aws/1.0.0/publish", nil)
	r.expect("publish 1.0.0", code, body, 200, `{"status":"Success"}`)
	code, body = r.trm(admin, "POST", "/modules/platform/vpc/aws/9.9.9/publish", nil)
	r.expect("publish a missing version", code, body, 400, `{"message":"Module version does not exist"}`)

	// Only the published version is visible: Terraform protocol, terraform, lists.
	req, _ := http.NewRequest("GET", r.proc.URL+"/v1/modules/platform/vpc/aws/versions", nil)
	req.Header.Set("Authorization", "Bearer "+admin)
	resp, err := r.proc.Client(t).Do(req)
	if err != nil {
		t.Fatal(err)
	}
	b, _ := io.ReadAll(resp.Body)
	resp.Body.Close()
	if !strings.Contains(string(b), `"1.0.0"`) || strings.Contains(string(b), `"1.1.0"`) || strings.Contains(string(b), `"1.2.0"`) {
		t.Fatalf("/v1/modules versions show unpublished versions: %s", b)
	}
	got, err := terraformGet(t, r.host+"/platform/vpc/aws", "~> 1.0", cli, sslEnv)
	if err != nil || !strings.Contains(got, `"1.0.0"`) {
		t.Fatalf("terraform get resolved an unpublished version (want 1.0.0): %v\n%s", err, got)
	}
	code, body = r.trm(admin, "GET", "/modules/platform/vpc/aws/versions", nil)
	r.expect("terrareg versions", code, body, 200, `[{"version":"1.0.0","published":true,"beta":false}]`)
	code, body = r.trm(admin, "GET", "/modules/platform/vpc/aws/versions?include-unpublished=true", nil)
	r.expect("terrareg versions with unpublished", code, body, 200, `[{"version":"1.2.0","published":false,"beta":false},`+
		`{"version":"1.1.0","published":false,"beta":false},{"version":"1.0.0","published":true,"beta":false}]`)
	code, body = r.trm(admin, "GET", "/modules/platform/vpc/aws/1.1.0", nil)
	if code != 200 || !strings.Contains(body, `"published":false`) {
		t.Fatalf("maintainer reading unpublished 1.1.0 = %d %s", code, body)
	}
	code, body = r.trm(admin, "GET", "/modules/search?q=vpc", nil)
	if code != 200 || !strings.Contains(body, `"version":"1.0.0"`) {
		t.Fatalf("search = %d %s, want the published 1.0.0 as latest", code, body)
	}

	// MODIFY vs FULL.
	modify, full := r.userToken("modify-user"), r.userToken("full-user")
	for _, g := range []struct{ group, perm, user string }{{"modifiers", "MODIFY", "modify-user"}, {"owners", "FULL", "full-user"}} {
		code, body = r.trm(admin, "POST", "/user-groups", map[string]any{"name": g.group, "site_admin": false})
		r.expect("create user group", code, body, 201, "")
		code, body = r.trm(admin, "POST", "/user-groups/"+g.group+"/permissions/platform", map[string]any{"permission_type": g.perm})
		r.expect("grant "+g.perm, code, body, 201, "")
		code, body = r.trm(admin, "POST", "/user-groups/"+g.group+"/members", map[string]any{"username": g.user})
		r.expect("add member", code, body, 201, "")
	}
	const forbidden = `{"message":"You don't have the permission to access the requested resource. It is either read-protected or not readable by the server."}`
	code, body = r.trm(modify, "POST", "/modules/platform/subnets/aws/create", nil)
	r.expect("MODIFY creates a module provider", code, body, 403, forbidden)
	if n := r.count("SELECT count(*) FROM projects WHERE full_path = 'platform/subnets'"); n != 0 {
		t.Fatal("a refused create left a project behind")
	}
	code, body = r.trm(modify, "DELETE", "/modules/platform/vpc/aws/1.0.0/delete", nil)
	r.expect("MODIFY deletes a version", code, body, 403, forbidden)
	code, body = r.trm(modify, "DELETE", "/modules/platform/vpc/aws/delete", nil)
	r.expect("MODIFY deletes the module provider", code, body, 403, forbidden)
	if n := r.count("SELECT count(*) FROM module_versions v JOIN terraform_modules m ON m.id = v.module_id WHERE m.name = 'vpc'"); n != 3 {
		t.Fatalf("after MODIFY's refusals: %d versions of vpc, want 3", n)
	}
	code, body = r.trm(modify, "POST", "/modules/platform/vpc/aws/settings", map[string]any{"namespace": "platform", "module": "network"})
	r.expect("MODIFY renames within the namespace", code, body, 200, `{}`)
	code, body = r.trm(modify, "POST", "/modules/platform/network/aws/settings", map[string]any{"module": "vpc"})
	r.expect("MODIFY renames back", code, body, 200, `{}`)
	if n := r.count("SELECT count(*) FROM module_redirects"); n != 1 {
		t.Fatalf("after renaming and back: %d redirects, want 1 (network)", n)
	}
	code, body = r.trm(modify, "POST", "/modules/platform/vpc/aws/1.1.0/publish", nil)
	r.expect("MODIFY publishes", code, body, 200, `{"status":"Success"}`)
	code, body = r.trm(modify, "POST", "/modules/platform/vpc/aws/settings", map[string]any{"verified": true, "git_path": "/modules/vpc"})
	r.expect("MODIFY changes settings", code, body, 200, `{}`)
	code, body = r.trm(admin, "GET", "/modules/platform/vpc/aws", nil)
	for _, want := range []string{`"verified":true`, `"git_path":"/modules/vpc"`, `"git_tag_format":"v{version}"`,
		`"repo_clone_url_template":"ssh://git@example.com/{namespace}/{module}.git"`, `"version":"1.1.0"`} {
		if code != 200 || !strings.Contains(body, want) {
			t.Fatalf("module provider details after settings = %d, missing %s:\n%s", code, want, body)
		}
	}
	code, body = r.trm(full, "POST", "/modules/platform/subnets/aws/create", nil)
	r.expect("FULL creates a module provider", code, body, 200, `{"id":"platform/subnets/aws"}`)
	code, body = r.trm(full, "DELETE", "/modules/platform/subnets/aws/delete", nil)
	r.expect("FULL deletes the module provider", code, body, 200, `null`)
	code, body = r.trm("", "POST", "/modules/platform/vpc/aws/1.2.0/publish", nil)
	r.expect("anonymous publishes", code, body, 401, "")

	// Move to another namespace: the old address keeps resolving.
	code, body = r.trm(admin, "POST", "/namespaces", map[string]any{"name": "moved"})
	r.expect("create namespace moved", code, body, 200, `{"name":"moved","view_href":"/modules/moved","display_name":null}`)
	code, body = r.trm(modify, "POST", "/modules/platform/vpc/aws/settings", map[string]any{"namespace": "moved"})
	r.expect("MODIFY moves to a namespace without FULL", code, body, 400,
		`{"message":"A namespace of the provided name either does not exist, or you do not have modify permissions to it"}`)
	code, body = r.trm(admin, "POST", "/modules/platform/vpc/aws/settings", map[string]any{"namespace": "moved", "module": "network"})
	r.expect("move", code, body, 200, `{}`)
	code, body = r.trm(admin, "GET", "/modules/moved/network/aws/redirects", nil)
	var redirects []struct {
		ID                          int64
		Namespace, Module, Provider string
	}
	json.Unmarshal([]byte(body), &redirects)
	if code != 200 || len(redirects) != 2 {
		t.Fatalf("redirects = %d %s, want platform/network and platform/vpc", code, body)
	}
	got, err = terraformGet(t, r.host+"/platform/vpc/aws", "~> 1.0", cli, sslEnv)
	if err != nil || !strings.Contains(got, `"1.1.0"`) {
		t.Fatalf("terraform get of the old address after the move: %v\n%s", err, got)
	}
	got, err = terraformGet(t, r.host+"/moved/network/aws", "~> 1.0", cli, sslEnv)
	if err != nil || !strings.Contains(got, `"1.1.0"`) {
		t.Fatalf("terraform get of the new address: %v\n%s", err, got)
	}
	code, body = r.trm(admin, "DELETE", "/namespaces/moved", nil)
	r.expect("delete a namespace holding a module", code, body, 500,
		`{"status":"Error","message":"Namespace cannot be deleted as it contains modules"}`)
	code, body = r.trm(admin, "POST", "/user-groups/modifiers/permissions/moved", map[string]any{"permission_type": "MODIFY"})
	r.expect("grant MODIFY on moved", code, body, 201, "")
	for _, rd := range redirects {
		code, body = r.trm(modify, "DELETE", fmt.Sprintf("/modules/moved/network/aws/redirects/%d", rd.ID), nil)
		r.expect("MODIFY deletes a redirect", code, body, 403, forbidden)
		code, body = r.trm(admin, "DELETE", fmt.Sprintf("/modules/moved/network/aws/redirects/%d", rd.ID), nil)
		r.expect("delete redirect", code, body, 200, `null`)
	}
	code, body = r.trm(admin, "DELETE", "/modules/moved/network/aws/redirects/999999", nil)
	r.expect("delete a missing redirect", code, body, 200, `{"status":"Error","message":"Module provider redirect does not exist"}`)
	if _, err := terraformGet(t, r.host+"/platform/vpc/aws", "~> 1.0", cli, sslEnv); err == nil {
		t.Fatal("the old address still resolves after its redirect was deleted")
	}

	// Deletions.
	code, body = r.trm(admin, "DELETE", "/modules/moved/network/aws/1.0.0/delete", nil)
	r.expect("delete version", code, body, 200, `{"status":"Success"}`)
	code, body = r.trm(admin, "GET", "/modules/moved/network/aws/versions?include-unpublished=true", nil)
	r.expect("versions after deletion", code, body, 200, `[{"version":"1.2.0","published":false,"beta":false},{"version":"1.1.0","published":true,"beta":false}]`)
	code, body = r.trm(admin, "DELETE", "/modules/moved/network/aws/delete", nil)
	r.expect("delete module provider", code, body, 200, `null`)
	code, body = r.trm(admin, "GET", "/modules/moved/network/aws", nil)
	r.expect("deleted module provider", code, body, 400, `{"message":"Module provider does not exist"}`)
	if n := r.count("SELECT count(*) FROM terraform_modules"); n != 0 {
		t.Fatalf("%d modules left after deleting the module provider", n)
	}
	if n := r.count("SELECT count(*) FROM module_versions"); n != 0 {
		t.Fatalf("%d versions left after deleting the module provider", n)
	}
	code, body = r.trm(admin, "DELETE", "/namespaces/moved", nil)
	r.expect("delete empty namespace", code, body, 200, `{}`)
	code, body = r.trm(admin, "GET", "/namespaces/moved", nil)
	r.expect("deleted namespace", code, body, 404, `{"errors":["Not Found"]}`)
}

// trmUpload uploads body as Terrareg's multipart "file" to the in-process
// server.
func (s *inproc) trmUpload(token, address, version, filename string, body []byte) (int, string) {
	s.t.Helper()
	var buf bytes.Buffer
	mw := multipart.NewWriter(&buf)
	w, _ := mw.CreateFormFile("file", filename)
	w.Write(body)
	mw.Close()
	code, _, resp := s.do("POST", "/v1/terrareg/modules/"+address+"/"+version+"/upload",
		map[string]string{"X-Terrareg-ApiKey": token, "Content-Type": mw.FormDataContentType()}, &buf)
	return code, resp
}

// TestTerraregAutoPublish: with CAIRN_TERRAREG_AUTO_PUBLISH=true an upload
// through Terrareg's path is published at once, and becomes latest; a
// pre-release never becomes Terrareg's latest.
func TestTerraregAutoPublish(t *testing.T) {
	t.Parallel()
	s := startInProcess(t, map[string]string{"CAIRN_TERRAREG_AUTO_PUBLISH": "true"})
	h := map[string]string{"X-Terrareg-ApiKey": s.admin, "Content-Type": "application/json"}
	if code, _, body := s.do("POST", "/v1/terrareg/namespaces", h, strings.NewReader(`{"name":"auto"}`)); code != 200 {
		t.Fatalf("create namespace = %d %s", code, body)
	}
	for _, v := range []string{"1.0.0", "2.0.0-beta"} {
		if code, body := s.trmUpload(s.admin, "auto/vpc/aws", v, "m.tar.gz", moduleTarGzBytes(t, v)); code != 200 || body != `{"status":"Success"}` {
			t.Fatalf("upload %s = %d %s", v, code, body)
		}
	}
	code, _, body := s.do("GET", "/v1/modules/auto/vpc/aws/versions", h, nil)
	if code != 200 || !strings.Contains(body, `"1.0.0"`) || !strings.Contains(body, `"2.0.0-beta"`) {
		t.Fatalf("versions after auto-published uploads = %d %s", code, body)
	}
	code, _, body = s.do("GET", "/v1/terrareg/modules/auto/vpc/aws", h, nil)
	if code != 200 || !strings.Contains(body, `"version":"1.0.0"`) {
		t.Fatalf("Terrareg's latest = %d %s, want 1.0.0 (never the beta)", code, body)
	}
	// Without auto-publish (the other tests), the same upload waits.
	var n int
	s.srv.Pool.QueryRow(context.Background(), "SELECT count(*) FROM module_versions WHERE NOT published").Scan(&n)
	if n != 0 {
		t.Fatalf("%d unpublished versions with auto-publish on", n)
	}
}
