package tfe_test

import (
	"archive/tar"
	"bytes"
	"compress/gzip"
	"context"
	"encoding/json"
	"errors"
	"io"
	"net/http"
	"os"
	"path/filepath"
	"strconv"
	"strings"
	"testing"
	"time"

	tfe "github.com/hashicorp/go-tfe"
	gitlab "gitlab.com/gitlab-org/api/client-go"

	"github.com/cairn-registry/cairn/internal/publish"
	"github.com/cairn-registry/cairn/internal/testenv"
	"github.com/cairn-registry/cairn/internal/testserver"
	"github.com/cairn-registry/cairn/providers/providertest"
)

func TestMain(m *testing.M) { testenv.Main(m) }

func client(t *testing.T, srv *testserver.Server, token string) *tfe.Client {
	t.Helper()
	c, err := tfe.NewClient(&tfe.Config{Address: srv.URL, Token: token, RetryServerErrors: false})
	if err != nil {
		t.Fatal(err)
	}
	return c
}

// put uploads to a link as go-tfe and curl -T do: no credentials.
func put(t *testing.T, link string, body []byte) (int, string) {
	t.Helper()
	if link == "" {
		t.Fatal("no upload link")
	}
	req, err := http.NewRequest(http.MethodPut, link, bytes.NewReader(body))
	if err != nil {
		t.Fatal(err)
	}
	req.Header.Set("Content-Type", "application/octet-stream")
	resp, err := http.DefaultClient.Do(req)
	if err != nil {
		t.Fatal(err)
	}
	defer resp.Body.Close()
	b, _ := io.ReadAll(resp.Body)
	return resp.StatusCode, string(b)
}

func link(links map[string]any, name string) string {
	s, _ := links[name].(string)
	return s
}

type setup struct {
	srv                 *testserver.Server
	admin, dev, reader  *tfe.Client
	readerTok, otherTok string
	key, otherKey       *providertest.Key
}

func start(t *testing.T) *setup {
	t.Helper()
	srv := testserver.Start(t)
	gl := srv.GitLab(t, srv.AdminToken)
	for _, g := range []string{"acme", "other"} {
		if _, _, err := gl.Groups.CreateGroup(&gitlab.CreateGroupOptions{Name: gitlab.Ptr(g), Path: gitlab.Ptr(g),
			Visibility: gitlab.Ptr(gitlab.PrivateVisibility)}); err != nil {
			t.Fatal(err)
		}
	}
	dev, devTok := srv.CreateUser(t, "dev")
	reader, readerTok := srv.CreateUser(t, "reader")
	_, otherTok := srv.CreateUser(t, "outsider")
	for _, m := range []struct {
		id    int64
		level gitlab.AccessLevelValue
	}{{dev.ID, gitlab.MaintainerPermissions}, {reader.ID, gitlab.ReporterPermissions}} {
		if _, _, err := gl.GroupMembers.AddGroupMember("acme", &gitlab.AddGroupMemberOptions{UserID: gitlab.Ptr(m.id), AccessLevel: gitlab.Ptr(m.level)}); err != nil {
			t.Fatal(err)
		}
	}
	return &setup{srv: srv, admin: client(t, srv, srv.AdminToken), dev: client(t, srv, devTok), reader: client(t, srv, readerTok),
		readerTok: readerTok, otherTok: otherTok, key: providertest.NewKey(t, "acme"), otherKey: providertest.NewKey(t, "other")}
}

func wantStatus(t *testing.T, what string, err error, status string) {
	t.Helper()
	if err == nil {
		t.Fatalf("%s succeeded, want %s", what, status)
	}
	// go-tfe shows a refusal as its title and detail.
	titles := map[string]string{"403": "forbidden", "422": "invalid attribute", "409": "conflict"}
	if !strings.Contains(err.Error(), status) && !(status == "404" && errors.Is(err, tfe.ErrResourceNotFound)) &&
		!(status == "401" && errors.Is(err, tfe.ErrUnauthorized)) && !(titles[status] != "" && strings.Contains(err.Error(), titles[status])) {
		t.Fatalf("%s: %v, want %s", what, err, status)
	}
}

// TestGoTFEProviders publishes a signed provider with go-tfe v1.111.2
// (GPG key, provider, version, SHA256SUMS + signature, platform, binary),
// reads it back through the TFE API and providers.v1, checks each refusal,
// and deletes it.
func TestGoTFEProviders(t *testing.T) {
	t.Parallel()
	s := start(t)
	ctx := context.Background()
	rel := providertest.Build(t, s.key, "dummy", "1.0.0", 0, "linux_amd64", "darwin_arm64")

	// A reporter may not add keys; the namespace's maintainer may.
	_, err := s.reader.GPGKeys.Create(ctx, tfe.PrivateRegistry, tfe.GPGKeyCreateOptions{Namespace: "acme", AsciiArmor: s.key.Armor})
	wantStatus(t, "reader creating a GPG key", err, "403")
	key, err := s.dev.GPGKeys.Create(ctx, tfe.PrivateRegistry, tfe.GPGKeyCreateOptions{Namespace: "acme", AsciiArmor: s.key.Armor})
	if err != nil {
		t.Fatal(err)
	}
	if key.KeyID != s.key.ID || key.Namespace != "acme" || key.CreatedAt.IsZero() {
		t.Fatalf("key = %+v, want key id %s", key, s.key.ID)
	}
	if _, err := s.admin.GPGKeys.Create(ctx, tfe.PrivateRegistry, tfe.GPGKeyCreateOptions{Namespace: "other", AsciiArmor: s.otherKey.Armor}); err != nil {
		t.Fatal(err)
	}
	keys, err := s.dev.GPGKeys.ListPrivate(ctx, tfe.GPGKeyListOptions{Namespaces: []string{"acme"}})
	if err != nil || len(keys.Items) != 1 || keys.Items[0].KeyID != s.key.ID {
		t.Fatalf("list keys = %+v, %v", keys, err)
	}
	read, err := s.dev.GPGKeys.Read(ctx, tfe.GPGKeyID{RegistryName: tfe.PrivateRegistry, Namespace: "acme", KeyID: s.key.ID})
	if err != nil || read.AsciiArmor != s.key.Armor {
		t.Fatalf("read key: %v", err)
	}

	_, err = s.reader.RegistryProviders.Create(ctx, "acme", tfe.RegistryProviderCreateOptions{Name: "dummy", Namespace: "acme", RegistryName: tfe.PrivateRegistry})
	wantStatus(t, "reader creating a provider", err, "403")
	prov, err := s.dev.RegistryProviders.Create(ctx, "acme", tfe.RegistryProviderCreateOptions{Name: "dummy", Namespace: "acme", RegistryName: tfe.PrivateRegistry})
	if err != nil {
		t.Fatal(err)
	}
	if prov.Name != "dummy" || prov.Namespace != "acme" || prov.Organization == nil || prov.Organization.Name != "acme" {
		t.Fatalf("provider = %+v", prov)
	}
	pid := tfe.RegistryProviderID{OrganizationName: "acme", RegistryName: tfe.PrivateRegistry, Namespace: "acme", Name: "dummy"}

	// A key of another namespace is refused.
	_, err = s.dev.RegistryProviderVersions.Create(ctx, pid, tfe.RegistryProviderVersionCreateOptions{Version: "1.0.0", KeyID: s.otherKey.ID, Protocols: []string{"5.0"}})
	wantStatus(t, "version signed by another namespace's key", err, "not a GPG key of namespace acme")
	_, err = s.dev.RegistryProviderVersions.Create(ctx, pid, tfe.RegistryProviderVersionCreateOptions{Version: "v1.0", KeyID: s.key.ID, Protocols: []string{"5.0"}})
	wantStatus(t, "version v1.0", err, "422")

	ver, err := s.dev.RegistryProviderVersions.Create(ctx, pid, tfe.RegistryProviderVersionCreateOptions{Version: "1.0.0", KeyID: s.key.ID, Protocols: []string{"5.0"}})
	if err != nil {
		t.Fatal(err)
	}
	if ver.ShasumsUploaded || link(ver.Links, "shasums-upload") == "" || !strings.HasPrefix(link(ver.Links, "shasums-upload"), "http") {
		t.Fatalf("version = %+v", ver)
	}
	vid := tfe.RegistryProviderVersionID{RegistryProviderID: pid, Version: "1.0.0"}

	// Wrong signature: signed by the other key.
	if code, body := put(t, link(ver.Links, "shasums-upload"), rel.Shasums); code != 200 {
		t.Fatalf("SHA256SUMS upload = %d %s", code, body)
	}
	if code, body := put(t, link(ver.Links, "shasums-sig-upload"), s.otherKey.Sign(t, rel.Shasums)); code != 422 || !strings.Contains(body, "does not verify") {
		t.Fatalf("wrong signature upload = %d %s, want 422 naming the signature", code, body)
	}
	if code, body := put(t, link(ver.Links, "shasums-sig-upload"), rel.Signature); code != 200 {
		t.Fatalf("signature upload = %d %s", code, body)
	}
	if code, _ := put(t, link(ver.Links, "shasums-upload"), rel.Shasums); code != 409 {
		t.Fatalf("second SHA256SUMS upload = %d, want 409 (single use)", code)
	}
	if code, _ := put(t, link(ver.Links, "shasums-upload")+"x", rel.Shasums); code != 403 {
		t.Fatalf("upload with a bad token = %d, want 403", code)
	}

	// A platform whose sha256 is not in SHA256SUMS is refused.
	_, err = s.dev.RegistryProviderPlatforms.Create(ctx, vid, tfe.RegistryProviderPlatformCreateOptions{OS: "linux", Arch: "arm64",
		Filename: "terraform-provider-dummy_1.0.0_linux_arm64.zip", Shasum: strings.Repeat("a", 64)})
	wantStatus(t, "platform not in SHA256SUMS", err, "is not listed in SHA256SUMS")
	_, err = s.dev.RegistryProviderPlatforms.Create(ctx, vid, tfe.RegistryProviderPlatformCreateOptions{OS: "linux", Arch: "amd64",
		Filename: rel.Platforms[0].Filename, Shasum: strings.Repeat("a", 64)})
	wantStatus(t, "platform sha mismatch", err, "does not match SHA256SUMS")

	for _, p := range rel.Platforms {
		pl, err := s.dev.RegistryProviderPlatforms.Create(ctx, vid, tfe.RegistryProviderPlatformCreateOptions{OS: p.OS, Arch: p.Arch, Filename: p.Filename, Shasum: p.Sha256})
		if err != nil {
			t.Fatal(err)
		}
		up := link(pl.Links, "provider-binary-upload")
		if code, body := put(t, up, append([]byte{}, p.Zip[:len(p.Zip)-1]...)); code != 422 || !strings.Contains(body, p.Filename) {
			t.Fatalf("truncated zip upload = %d %s, want 422 naming the file", code, body)
		}
		if code, body := put(t, up, p.Zip); code != 200 {
			t.Fatalf("zip upload = %d %s", code, body)
		}
		got, err := s.dev.RegistryProviderPlatforms.Read(ctx, tfe.RegistryProviderPlatformID{RegistryProviderVersionID: vid, OS: p.OS, Arch: p.Arch})
		if err != nil || !got.ProviderBinaryUploaded || link(got.Links, "provider-binary-download") == "" {
			t.Fatalf("platform read back = %+v, %v", got, err)
		}
	}
	ver, err = s.dev.RegistryProviderVersions.Read(ctx, vid)
	if err != nil || !ver.ShasumsUploaded || !ver.ShasumsSigUploaded || len(ver.RegistryProviderPlatforms) != 2 {
		t.Fatalf("version read back = %+v, %v", ver, err)
	}
	list, err := s.reader.RegistryProviders.List(ctx, "acme", nil)
	if err != nil || len(list.Items) != 1 {
		t.Fatalf("reader lists providers = %+v, %v", list, err)
	}

	// providers.v1 as terraform sees it; the files without credentials.
	resp, body := s.srv.Raw(t, "GET", "/v1/providers/acme/dummy/1.0.0/download/linux/amd64", map[string]string{"Authorization": "Bearer " + s.readerTok}, "")
	if resp.StatusCode != 200 {
		t.Fatalf("download = %d %s", resp.StatusCode, body)
	}
	var dl struct {
		Filename, DownloadURL, ShasumsURL, ShasumsSignatureURL, Shasum string
		SigningKeys                                                    struct {
			GPGPublicKeys []struct {
				KeyID string `json:"key_id"`
			} `json:"gpg_public_keys"`
		} `json:"signing_keys"`
	}
	var raw map[string]any
	_ = json.Unmarshal(body, &raw)
	dl.DownloadURL, _ = raw["download_url"].(string)
	dl.Shasum, _ = raw["shasum"].(string)
	if dl.Shasum != rel.Platforms[0].Sha256 && dl.Shasum != rel.Platforms[1].Sha256 {
		t.Fatalf("download = %s", body)
	}
	if err := json.Unmarshal(body, &dl); err != nil || len(dl.SigningKeys.GPGPublicKeys) != 1 || dl.SigningKeys.GPGPublicKeys[0].KeyID != s.key.ID {
		t.Fatalf("signing keys of %s: %v", body, err)
	}
	for _, method := range []string{"HEAD", "GET"} {
		req, _ := http.NewRequest(method, dl.DownloadURL, nil)
		r, err := http.DefaultClient.Do(req)
		if err != nil || r.StatusCode != 200 {
			t.Fatalf("%s zip = %v, %v", method, r.Status, err)
		}
		r.Body.Close()
	}
	resp, _ = s.srv.Raw(t, "GET", "/v1/providers/acme/dummy/versions", map[string]string{"Authorization": "Bearer " + s.otherTok}, "")
	if resp.StatusCode != 404 {
		t.Fatalf("an outsider reading a private provider = %d, want 404", resp.StatusCode)
	}
	resp, _ = s.srv.Raw(t, "GET", "/v1/providers/acme/dummy/versions", nil, "")
	if resp.StatusCode != 401 {
		t.Fatalf("anonymous reading a private provider = %d, want 401", resp.StatusCode)
	}
	_, err = client(t, s.srv, s.otherTok).RegistryProviders.Read(ctx, pid, nil)
	wantStatus(t, "outsider reading the provider", err, "404")

	// The same data through Terrareg's reads and the network mirror.
	auth := map[string]string{"Authorization": "Bearer " + s.readerTok}
	for path, want := range map[string]string{
		"/v1/providers/acme/dummy":                           `"version":"1.0.0"`,
		"/v1/providers?q=dumm":                               `"id":"acme/dummy/1.0.0"`,
		"/v1/terrareg/providers/acme":                        `"name":"dummy"`,
		"/v2/providers/acme/dummy?include=provider-versions": `"latest-version":"1.0.0"`,
		"/v2/gpg-keys?filter[namespace]=acme":                `"key-id":"` + s.key.ID + `"`,
		"/v1/mirror/registry.example/acme/dummy/index.json":  `{"versions":{"1.0.0":{}}}`,
		"/v1/mirror/registry.example/acme/dummy/1.0.0.json":  `"hashes":["h1:`,
		"/api/registry/v1/providers/acme/dummy/versions":     `"protocols":["5.0"]`,
		"/.well-known/terraform.json":                        `"providers.v1":"/v1/providers/"`,
	} {
		resp, body := s.srv.Raw(t, "GET", path, auth, "")
		if resp.StatusCode != 200 || !strings.Contains(string(body), want) {
			t.Fatalf("GET %s = %d %s, want %s", path, resp.StatusCode, body, want)
		}
	}

	// Deletes: a reporter may not; platform, version, provider.
	err = s.reader.RegistryProviderVersions.Delete(ctx, vid)
	wantStatus(t, "reader deleting a version", err, "403")
	if err := s.dev.RegistryProviderPlatforms.Delete(ctx, tfe.RegistryProviderPlatformID{RegistryProviderVersionID: vid, OS: "darwin", Arch: "arm64"}); err != nil {
		t.Fatal(err)
	}
	if err := s.dev.RegistryProviderVersions.Delete(ctx, vid); err != nil {
		t.Fatal(err)
	}
	if err := s.dev.RegistryProviders.Delete(ctx, pid); err != nil {
		t.Fatal(err)
	}
	if _, err := s.dev.RegistryProviders.Read(ctx, pid, nil); !errors.Is(err, tfe.ErrResourceNotFound) {
		t.Fatalf("read after delete: %v", err)
	}
	if err := s.dev.GPGKeys.Delete(ctx, tfe.GPGKeyID{RegistryName: tfe.PrivateRegistry, Namespace: "acme", KeyID: s.key.ID}); err != nil {
		t.Fatal(err)
	}
}

func moduleTarGz(t *testing.T, name string) []byte {
	t.Helper()
	var buf bytes.Buffer
	gz := gzip.NewWriter(&buf)
	tw := tar.NewWriter(gz)
	files := map[string]string{
		"main.tf":   "variable \"cidr\" {\n  type = string\n}\noutput \"cidr\" {\n  value = var.cidr\n}\n",
		"README.md": "# " + name + "\n",
	}
	for n, body := range files {
		tw.WriteHeader(&tar.Header{Name: n, Mode: 0o644, Size: int64(len(body)), Typeflag: tar.TypeReg})
		tw.Write([]byte(body))
	}
	tw.Close()
	gz.Close()
	return buf.Bytes()
}

// TestGoTFEModules publishes modules with go-tfe: create, version (the
// deprecated path go-tfe uses), upload on the credential-less link, read
// until ok, list in pages, the module through modules.v1, and deletes.
func TestGoTFEModules(t *testing.T) {
	t.Parallel()
	s := start(t)
	ctx := context.Background()
	_, err := s.reader.RegistryModules.Create(ctx, "acme", tfe.RegistryModuleCreateOptions{Name: tfe.String("vpc"), Provider: tfe.String("aws"), RegistryName: tfe.PrivateRegistry})
	wantStatus(t, "reader creating a module", err, "403")
	for _, name := range []string{"vpc", "dns", "lb"} {
		m, err := s.dev.RegistryModules.Create(ctx, "acme", tfe.RegistryModuleCreateOptions{Name: tfe.String(name), Provider: tfe.String("aws"), RegistryName: tfe.PrivateRegistry})
		if err != nil {
			t.Fatal(err)
		}
		if m.Status != tfe.RegistryModuleStatusPending || m.Name != name || m.Organization == nil || m.Organization.Name != "acme" {
			t.Fatalf("created module = %+v", m)
		}
	}
	mid := tfe.RegistryModuleID{Organization: "acme", Name: "vpc", Provider: "aws", Namespace: "acme", RegistryName: tfe.PrivateRegistry}
	_, err = s.dev.RegistryModules.CreateVersion(ctx, mid, tfe.RegistryModuleCreateVersionOptions{Version: tfe.String("v1.2")})
	wantStatus(t, "version v1.2", err, "422")
	mv, err := s.dev.RegistryModules.CreateVersion(ctx, mid, tfe.RegistryModuleCreateVersionOptions{Version: tfe.String("1.2.0")})
	if err != nil {
		t.Fatal(err)
	}
	up := link(mv.Links, "upload")
	if !strings.HasPrefix(up, s.srv.URL) {
		t.Fatalf("upload link %q is not absolute", up)
	}
	if err := s.dev.RegistryModules.UploadTarGzip(ctx, up, bytes.NewReader(moduleTarGz(t, "vpc"))); err != nil {
		t.Fatal(err)
	}
	deadline := time.Now().Add(10 * time.Second)
	for {
		v, err := s.dev.RegistryModules.ReadVersion(ctx, mid, "1.2.0")
		if err != nil {
			t.Fatal(err)
		}
		if v.Status == tfe.RegistryModuleVersionStatusOk {
			break
		}
		if time.Now().After(deadline) {
			t.Fatalf("version status = %s", v.Status)
		}
		time.Sleep(100 * time.Millisecond)
	}
	m, err := s.reader.RegistryModules.Read(ctx, mid)
	if err != nil || m.Status != tfe.RegistryModuleStatusSetupComplete && string(m.Status) != "ok" || len(m.VersionStatuses) != 1 {
		t.Fatalf("read module = %+v, %v", m, err)
	}
	// A normal Cairn module: modules.v1 serves it.
	resp, body := s.srv.Raw(t, "GET", "/v1/modules/acme/vpc/aws/versions", map[string]string{"Authorization": "Bearer " + s.readerTok}, "")
	if resp.StatusCode != 200 || !strings.Contains(string(body), `"1.2.0"`) {
		t.Fatalf("modules.v1 versions = %d %s", resp.StatusCode, body)
	}
	// Pages of two.
	var names []string
	for page := 1; page != 0; {
		l, err := s.reader.RegistryModules.List(ctx, "acme", &tfe.RegistryModuleListOptions{ListOptions: tfe.ListOptions{PageNumber: page, PageSize: 2}})
		if err != nil {
			t.Fatal(err)
		}
		for _, m := range l.Items {
			names = append(names, m.Name)
		}
		if l.TotalCount != 3 {
			t.Fatalf("total count = %d", l.TotalCount)
		}
		page = l.NextPage
	}
	if strings.Join(names, ",") != "dns,lb,vpc" {
		t.Fatalf("listed %v", names)
	}
	_, err = client(t, s.srv, s.otherTok).RegistryModules.List(ctx, "acme", nil)
	wantStatus(t, "outsider listing a private organization", err, "404")

	err = s.reader.RegistryModules.DeleteVersion(ctx, mid, "1.2.0")
	wantStatus(t, "reader deleting a version", err, "403")
	if err := s.dev.RegistryModules.DeleteVersion(ctx, mid, "1.2.0"); err != nil {
		t.Fatal(err)
	}
	resp, _ = s.srv.Raw(t, "GET", "/v1/modules/acme/vpc/aws/versions", map[string]string{"Authorization": "Bearer " + s.readerTok}, "")
	if resp.StatusCode != 404 {
		t.Fatalf("modules.v1 after delete = %d", resp.StatusCode)
	}
	if err := s.dev.RegistryModules.DeleteProvider(ctx, tfe.RegistryModuleID{Organization: "acme", Name: "dns", Provider: "aws", Namespace: "acme", RegistryName: tfe.PrivateRegistry}); err != nil {
		t.Fatal(err)
	}
	if err := s.dev.RegistryModules.Delete(ctx, "acme", "lb"); err != nil { // POST .../actions/delete/acme/lb
		t.Fatal(err)
	}
	l, err := s.dev.RegistryModules.List(ctx, "acme", nil)
	if err != nil || len(l.Items) != 0 {
		t.Fatalf("after deletes: %+v, %v", l, err)
	}
}

// TestPublishProviderWithJobToken: `cairn publish provider`'s client with
// a CI job token (OIDC, trusted by the provider's project), in a private
// namespace the job cannot see as a group; a second run uploads nothing.
func TestPublishProviderWithJobToken(t *testing.T) {
	t.Parallel()
	s := start(t)
	ctx := context.Background()
	issuer := testenv.NewIssuer(t)
	gl := s.srv.GitLab(t, s.srv.AdminToken)
	acme, _, err := gl.Groups.GetGroup("acme", nil)
	if err != nil {
		t.Fatal(err)
	}
	if _, _, err := gl.Projects.CreateProject(&gitlab.CreateProjectOptions{Name: gitlab.Ptr("dummy"), Path: gitlab.Ptr("dummy"), NamespaceID: gitlab.Ptr(acme.ID)}); err != nil {
		t.Fatal(err)
	}
	resp, body := s.srv.Raw(t, "POST", "/api/v4/projects/acme%2Fdummy/ci_trust_rules", map[string]string{"PRIVATE-TOKEN": s.srv.AdminToken},
		`{"issuer":"`+issuer.URL+`","audience":"`+s.srv.URL+`","conditions":[{"claim":"project_path","op":"equals","value":"acme/dummy"}]}`)
	if resp.StatusCode != 201 {
		t.Fatalf("trust rule = %d %s", resp.StatusCode, body)
	}
	job := issuer.Mint(t, map[string]any{"aud": s.srv.URL, "sub": "project_path:acme/dummy:ref_type:branch:ref:main",
		"project_path": "acme/dummy", "ref_type": "branch", "ref": "main"})
	if _, err := s.admin.GPGKeys.Create(ctx, tfe.PrivateRegistry, tfe.GPGKeyCreateOptions{Namespace: "acme", AsciiArmor: s.key.Armor}); err != nil {
		t.Fatal(err)
	}
	dir := t.TempDir()
	providertest.Build(t, s.key, "dummy", "2.0.0", 0, "linux_amd64", "linux_arm64").WriteDir(t, dir)
	var log strings.Builder
	c := &publish.Client{URL: s.srv.URL, Token: job, Log: &log}
	if err := c.ProviderRelease(ctx, "acme", dir); err != nil {
		t.Fatalf("publish with a job token: %v\n%s", err, log.String())
	}
	log.Reset()
	if err := c.ProviderRelease(ctx, "acme", dir); err != nil || strings.Contains(log.String(), "uploaded") {
		t.Fatalf("second run: %v\n%s", err, log.String())
	}
	resp, body = s.srv.Raw(t, "GET", "/v1/providers/acme/dummy/versions", map[string]string{"Authorization": "Bearer " + s.readerTok}, "")
	if resp.StatusCode != 200 || !strings.Contains(string(body), `"2.0.0"`) || !strings.Contains(string(body), `"arm64"`) {
		t.Fatalf("versions = %d %s", resp.StatusCode, body)
	}
}

// docsTarGz is a tar.gz of files (name → content) for a docs upload.
func docsTarGz(t *testing.T, files map[string]string) string {
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
	return buf.String()
}

// TestPublishProviderDocs: `cairn publish provider` uploads the release's
// docs/ tree (tfplugindocs layout), served at /v2/provider-docs (list,
// filters, one) to readers and to nobody else; bad docs uploads (a path
// leaving docs/, a file other than .md, over the limits) are refused with
// 422 or 413 and a clear message and change nothing, and only uploaders may upload.
func TestPublishProviderDocs(t *testing.T) {
	t.Parallel()
	s := start(t)
	ctx := context.Background()
	if _, err := s.admin.GPGKeys.Create(ctx, tfe.PrivateRegistry, tfe.GPGKeyCreateOptions{Namespace: "acme", AsciiArmor: s.key.Armor}); err != nil {
		t.Fatal(err)
	}
	dir := t.TempDir()
	providertest.Build(t, s.key, "dummy", "1.0.0", 0, "linux_amd64").WriteDir(t, dir)
	c := &publish.Client{URL: s.srv.URL, Token: s.srv.AdminToken}
	if err := c.ProviderRelease(ctx, "acme", dir); err != nil { // no docs/ yet
		t.Fatal(err)
	}
	var versionID int64
	if err := s.srv.Pool.QueryRow(ctx, `SELECT v.id FROM provider_versions v JOIN terraform_providers tp ON tp.id = v.provider_id
		WHERE tp.name = 'dummy' AND v.version = '1.0.0'`).Scan(&versionID); err != nil {
		t.Fatal(err)
	}
	countDocs := func() int {
		t.Helper()
		var n int
		if err := s.srv.Pool.QueryRow(ctx, `SELECT count(*) FROM provider_docs WHERE version_id = $1`, versionID).Scan(&n); err != nil {
			t.Fatal(err)
		}
		return n
	}
	reader := map[string]string{"Authorization": "Bearer " + s.readerTok}
	docsList := func(header map[string]string, query string) []map[string]any {
		t.Helper()
		resp, body := s.srv.Raw(t, "GET", "/v2/provider-docs?"+query, header, "")
		var out struct {
			Data []map[string]any `json:"data"`
		}
		if resp.StatusCode != 200 || json.Unmarshal(body, &out) != nil || out.Data == nil {
			t.Fatalf("GET /v2/provider-docs?%s = %d %s", query, resp.StatusCode, body)
		}
		return out.Data
	}
	filter := "filter%5Bprovider-version%5D=" + strconv.FormatInt(versionID, 10)
	if got := docsList(reader, filter); len(got) != 0 {
		t.Fatalf("docs of a release without docs = %v", got)
	}

	// Refused uploads: status (422 as every invalid attribute of this
	// surface, 413 over a limit), message, and no rows.
	path := "/api/v2/organizations/acme/registry-providers/private/acme/dummy/versions/1.0.0/docs"
	admin := map[string]string{"Authorization": "Bearer " + s.srv.AdminToken, "Content-Type": "application/gzip"}
	many := map[string]string{}
	for i := range 501 {
		many["docs/resources/r"+strconv.Itoa(i)+".md"] = "x"
	}
	for _, bad := range []struct {
		what   string
		files  map[string]string
		status int
		msg    string
	}{
		{"traversal", map[string]string{"docs/index.md": "# ok", "docs/../../etc/passwd.md": "x"}, 422, "not a clean relative path"},
		{"dot-dot in a clean path", map[string]string{"../docs/index.md": "x"}, 422, "leaves the docs tree"},
		{"absolute", map[string]string{"/docs/index.md": "x"}, 422, "not a clean relative path"},
		{"not markdown", map[string]string{"docs/index.md": "# ok", "docs/resources/x.sh": "rm -rf /"}, 422, "not a markdown (.md) file"},
		{"outside the layout", map[string]string{"docs/other/x.md": "x"}, 422, "not in index.md, resources/"},
		{"too large", map[string]string{"docs/index.md": strings.Repeat("a", 2<<20+1)}, 413, "more than 2097152 bytes"},
		{"too many files", many, 413, "more than 500 files"},
	} {
		resp, body := s.srv.Raw(t, "PUT", path, admin, docsTarGz(t, bad.files))
		if resp.StatusCode != bad.status || !strings.Contains(string(body), bad.msg) {
			t.Errorf("%s: %d %s, want %d with %q", bad.what, resp.StatusCode, body, bad.status, bad.msg)
		}
		if n := countDocs(); n != 0 {
			t.Fatalf("%s: %d docs rows after a refused upload", bad.what, n)
		}
	}
	if resp, body := s.srv.Raw(t, "PUT", path, admin, "not a tar.gz"); resp.StatusCode != 422 || !strings.Contains(string(body), "not a tar.gz") {
		t.Errorf("garbage = %d %s", resp.StatusCode, body)
	}
	// A body over the archive limit (3 MiB) is 413 however it would parse.
	if resp, body := s.srv.Raw(t, "PUT", path, admin, strings.Repeat("z", 4<<20)); resp.StatusCode != 413 ||
		!strings.Contains(string(body), "docs archive is larger than") || countDocs() != 0 {
		t.Errorf("oversized body = %d %s, %d rows", resp.StatusCode, body, countDocs())
	}
	// A reader may not upload (the decision of announcing a platform).
	if resp, _ := s.srv.Raw(t, "PUT", path, map[string]string{"Authorization": "Bearer " + s.readerTok},
		docsTarGz(t, map[string]string{"docs/index.md": "x"})); resp.StatusCode != 403 && resp.StatusCode != 404 || countDocs() != 0 {
		t.Errorf("reader upload = %d, %d rows", resp.StatusCode, countDocs())
	}

	// The release's docs/ tree, uploaded by the publish command.
	for name, content := range map[string]string{
		"docs/index.md":                  "---\npage_title: \"Provider: Dummy\"\n---\n# Dummy\n",
		"docs/resources/thing.md":        "---\npage_title: \"dummy_thing Resource - dummy\"\nsubcategory: \"Things\"\n---\n# dummy_thing\n",
		"docs/data-sources/thing.md":     "# data dummy_thing\n",
		"docs/guides/getting-started.md": "# Start here\n",
		"docs/functions/upper.html.md":   "# upper\n",
	} {
		writeFile(t, dir, name, content)
	}
	var log strings.Builder
	c.Log = &log
	if err := c.ProviderRelease(ctx, "acme", dir); err != nil || !strings.Contains(log.String(), "uploaded 5 docs") {
		t.Fatalf("publish with docs: %v\n%s", err, log.String())
	}
	if n := countDocs(); n != 5 {
		t.Fatalf("%d docs rows, want 5", n)
	}
	all := docsList(reader, filter)
	if len(all) != 5 {
		t.Fatalf("docs = %v", all)
	}
	res := docsList(reader, filter+"&filter%5Bcategory%5D=resources&filter%5Blanguage%5D=hcl")
	if len(res) != 1 {
		t.Fatalf("resources = %v", res)
	}
	attrs := res[0]["attributes"].(map[string]any)
	if res[0]["type"] != "provider-docs" || attrs["slug"] != "thing" || attrs["title"] != "dummy_thing Resource - dummy" ||
		attrs["subcategory"] != "Things" || attrs["path"] != "docs/resources/thing.md" || attrs["language"] != "hcl" ||
		attrs["truncated"] != false || attrs["embedded-schema"] != false || attrs["content"] != nil {
		t.Errorf("resource doc = %v", res[0])
	}
	if got := docsList(reader, filter+"&filter%5Bslug%5D=upper"); len(got) != 1 || got[0]["attributes"].(map[string]any)["category"] != "functions" {
		t.Errorf("slug filter = %v", got)
	}
	if got := docsList(reader, filter+"&filter%5Bcategory%5D=overview"); len(got) != 1 || got[0]["attributes"].(map[string]any)["title"] != "Provider: Dummy" {
		t.Errorf("overview = %v", got)
	}
	if got := docsList(reader, filter+"&page%5Bsize%5D=2&page%5Bnumber%5D=3"); len(got) != 1 {
		t.Errorf("page 3 of 2 = %v", got)
	}
	for _, q := range []string{filter + "&filter%5Blanguage%5D=python", filter + "&filter%5Bcategory%5D=nope", "filter%5Bprovider-version%5D=999999",
		"filter%5Bprovider-version%5D=abc", "", filter + "&page%5Bnumber%5D=99999999999999999"} {
		if got := docsList(reader, q); len(got) != 0 {
			t.Errorf("?%s = %v, want an empty list", q, got)
		}
	}
	self := res[0]["links"].(map[string]any)["self"].(string)
	resp, body := s.srv.Raw(t, "GET", self, reader, "")
	if resp.StatusCode != 200 || !strings.Contains(string(body), `"content":"---\npage_title: \"dummy_thing Resource - dummy\"`) {
		t.Fatalf("GET %s = %d %s", self, resp.StatusCode, body)
	}
	// Hidden: an outsider and an anonymous caller see nothing, like a
	// missing doc.
	for _, h := range []map[string]string{{"Authorization": "Bearer " + s.otherTok}, nil} {
		if got := docsList(h, filter); len(got) != 0 {
			t.Errorf("hidden docs listed: %v", got)
		}
		hidden, _ := s.srv.Raw(t, "GET", self, h, "")
		missing, _ := s.srv.Raw(t, "GET", "/v2/provider-docs/999999", h, "")
		if hidden.StatusCode != 404 || missing.StatusCode != 404 {
			t.Errorf("hidden doc = %d, missing = %d, want 404", hidden.StatusCode, missing.StatusCode)
		}
	}
	// A refused upload keeps the version's docs; a good one replaces them.
	if resp, _ := s.srv.Raw(t, "PUT", path, admin, docsTarGz(t, map[string]string{"docs/index.md": "x", "docs/guides/x.txt": "x"})); resp.StatusCode != 422 || countDocs() != 5 {
		t.Errorf("bad replacement = %d, %d rows", resp.StatusCode, countDocs())
	}
	if resp, body := s.srv.Raw(t, "PUT", path, admin, docsTarGz(t, map[string]string{"docs/index.md": "# only"})); resp.StatusCode != 200 || countDocs() != 1 {
		t.Errorf("replacement = %d %s, %d rows", resp.StatusCode, body, countDocs())
	}
}

func writeFile(t *testing.T, dir, name, content string) {
	t.Helper()
	p := filepath.Join(dir, filepath.FromSlash(name))
	if err := os.MkdirAll(filepath.Dir(p), 0o755); err != nil {
		t.Fatal(err)
	}
	if err := os.WriteFile(p, []byte(content), 0o644); err != nil {
		t.Fatal(err)
	}
}
