// Package publish is the client side of `cairn publish`: it uploads a
// goreleaser-style provider release or a module directory through Cairn's
// Terraform Enterprise API (with go-tfe, the client HashiCorp ships), so
// that CI needs one command. Every step first reads what exists, so a run
// interrupted half-way is completed by running it again.
package publish

import (
	"archive/tar"
	"bytes"
	"compress/gzip"
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"io/fs"
	"net/http"
	"os"
	"path/filepath"
	"regexp"
	"strings"
	"time"

	"github.com/ProtonMail/go-crypto/openpgp"
	"github.com/ProtonMail/go-crypto/openpgp/packet"
	tfe "github.com/hashicorp/go-tfe"
)

// Client talks to one Cairn.
type Client struct {
	URL   string
	Token string
	// HTTP is the client used (nil: http.DefaultClient, which honours
	// SSL_CERT_FILE).
	HTTP *http.Client
	// Log receives one line per step.
	Log io.Writer
}

func (c *Client) tfe() (*tfe.Client, error) {
	if c.Token == "" {
		return nil, errors.New("no token: set CAIRN_TOKEN (a personal access token or a CI job token)")
	}
	hc := c.HTTP
	if hc == nil {
		hc = http.DefaultClient
	}
	return tfe.NewClient(&tfe.Config{Address: strings.TrimRight(c.URL, "/"), Token: c.Token, HTTPClient: hc, RetryServerErrors: true})
}

func (c *Client) logf(format string, args ...any) {
	if c.Log != nil {
		fmt.Fprintf(c.Log, format+"\n", args...)
	}
}

// put uploads body to an upload link (no credentials: the link is signed).
func (c *Client) put(ctx context.Context, link string, body []byte) error {
	if link == "" {
		return errors.New("the server gave no upload link (missing permission?)")
	}
	req, err := http.NewRequestWithContext(ctx, http.MethodPut, link, bytes.NewReader(body))
	if err != nil {
		return err
	}
	req.Header.Set("Content-Type", "application/octet-stream")
	hc := c.HTTP
	if hc == nil {
		hc = http.DefaultClient
	}
	resp, err := hc.Do(req)
	if err != nil {
		return err
	}
	defer resp.Body.Close()
	if resp.StatusCode/100 == 2 {
		return nil
	}
	b, _ := io.ReadAll(io.LimitReader(resp.Body, 64<<10))
	var doc struct {
		Errors []struct{ Detail string } `json:"errors"`
	}
	if json.Unmarshal(b, &doc) == nil && len(doc.Errors) > 0 {
		return fmt.Errorf("%s: %s", resp.Status, doc.Errors[0].Detail)
	}
	return fmt.Errorf("%s", resp.Status)
}

func notFound(err error) bool { return errors.Is(err, tfe.ErrResourceNotFound) }

var sumsName = regexp.MustCompile(`^terraform-provider-([a-z0-9-]+)_(.+)_SHA256SUMS$`)

// ProviderRelease uploads the release in dir (terraform-provider-<type>_
// <version>_<os>_<arch>.zip, ..._SHA256SUMS, ..._SHA256SUMS.sig,
// ..._manifest.json) as a private provider of namespace.
func (c *Client) ProviderRelease(ctx context.Context, namespace, dir string) error {
	entries, err := os.ReadDir(dir)
	if err != nil {
		return err
	}
	var typ, ver string
	for _, e := range entries {
		if m := sumsName.FindStringSubmatch(e.Name()); m != nil {
			if typ != "" {
				return fmt.Errorf("%s holds more than one release", dir)
			}
			typ, ver = m[1], m[2]
		}
	}
	if typ == "" {
		return fmt.Errorf("%s has no terraform-provider-<type>_<version>_SHA256SUMS", dir)
	}
	prefix := "terraform-provider-" + typ + "_" + ver
	shasums, err := os.ReadFile(filepath.Join(dir, prefix+"_SHA256SUMS"))
	if err != nil {
		return err
	}
	sig, err := os.ReadFile(filepath.Join(dir, prefix+"_SHA256SUMS.sig"))
	if err != nil {
		return err
	}
	protocols := []string{"5.0"}
	if b, err := os.ReadFile(filepath.Join(dir, prefix+"_manifest.json")); err == nil {
		var m struct {
			Metadata struct {
				ProtocolVersions []string `json:"protocol_versions"`
			} `json:"metadata"`
		}
		if err := json.Unmarshal(b, &m); err != nil {
			return fmt.Errorf("%s_manifest.json: %w", prefix, err)
		}
		if len(m.Metadata.ProtocolVersions) > 0 {
			protocols = m.Metadata.ProtocolVersions
		}
	}
	type zipFile struct{ os, arch, name string }
	var zips []zipFile
	zipName := regexp.MustCompile("^" + regexp.QuoteMeta(prefix) + `_([a-z0-9]+)_([a-z0-9_]+)\.zip$`)
	for _, e := range entries {
		if m := zipName.FindStringSubmatch(e.Name()); m != nil {
			zips = append(zips, zipFile{m[1], m[2], e.Name()})
		}
	}
	if len(zips) == 0 {
		return fmt.Errorf("%s has no %s_<os>_<arch>.zip", dir, prefix)
	}
	sums := map[string]string{}
	for _, line := range strings.Split(string(shasums), "\n") {
		if sum, name, ok := strings.Cut(strings.TrimSpace(line), "  "); ok {
			sums[name] = sum
		}
	}

	client, err := c.tfe()
	if err != nil {
		return err
	}
	keyID, err := c.signingKey(ctx, client, namespace, shasums, sig)
	if err != nil {
		return err
	}
	pid := tfe.RegistryProviderID{OrganizationName: namespace, RegistryName: tfe.PrivateRegistry, Namespace: namespace, Name: typ}
	if _, err := client.RegistryProviders.Read(ctx, pid, nil); notFound(err) {
		if _, err := client.RegistryProviders.Create(ctx, namespace, tfe.RegistryProviderCreateOptions{Name: typ, Namespace: namespace, RegistryName: tfe.PrivateRegistry}); err != nil {
			return fmt.Errorf("create provider %s/%s: %w", namespace, typ, err)
		}
		c.logf("created provider %s/%s", namespace, typ)
	} else if err != nil {
		return fmt.Errorf("read provider %s/%s: %w", namespace, typ, err)
	}
	vid := tfe.RegistryProviderVersionID{RegistryProviderID: pid, Version: ver}
	v, err := client.RegistryProviderVersions.Read(ctx, vid)
	if notFound(err) {
		v, err = client.RegistryProviderVersions.Create(ctx, pid, tfe.RegistryProviderVersionCreateOptions{Version: ver, KeyID: keyID, Protocols: protocols})
		if err == nil {
			c.logf("created version %s", ver)
		}
	}
	if err != nil {
		return fmt.Errorf("version %s: %w", ver, err)
	}
	if !strings.EqualFold(v.KeyID, keyID) {
		return fmt.Errorf("version %s exists with key %s, but the release is signed with %s", ver, v.KeyID, keyID)
	}
	if !v.ShasumsUploaded {
		if err := c.put(ctx, linkOf(v.Links, "shasums-upload"), shasums); err != nil {
			return fmt.Errorf("upload %s_SHA256SUMS: %w", prefix, err)
		}
		c.logf("uploaded %s_SHA256SUMS", prefix)
	}
	if !v.ShasumsSigUploaded {
		if err := c.put(ctx, linkOf(v.Links, "shasums-sig-upload"), sig); err != nil {
			return fmt.Errorf("upload %s_SHA256SUMS.sig: %w", prefix, err)
		}
		c.logf("uploaded %s_SHA256SUMS.sig", prefix)
	}
	for _, z := range zips {
		plID := tfe.RegistryProviderPlatformID{RegistryProviderVersionID: vid, OS: z.os, Arch: z.arch}
		pl, err := client.RegistryProviderPlatforms.Read(ctx, plID)
		if notFound(err) {
			pl, err = client.RegistryProviderPlatforms.Create(ctx, vid, tfe.RegistryProviderPlatformCreateOptions{OS: z.os, Arch: z.arch, Filename: z.name, Shasum: sums[z.name]})
		}
		if err != nil {
			return fmt.Errorf("platform %s_%s: %w", z.os, z.arch, err)
		}
		if pl.ProviderBinaryUploaded {
			continue
		}
		b, err := os.ReadFile(filepath.Join(dir, z.name))
		if err != nil {
			return err
		}
		if err := c.put(ctx, linkOf(pl.Links, "provider-binary-upload"), b); err != nil {
			return fmt.Errorf("upload %s: %w", z.name, err)
		}
		c.logf("uploaded %s", z.name)
	}
	if info, err := os.Stat(filepath.Join(dir, "docs")); err == nil && info.IsDir() {
		n, err := c.providerDocs(ctx, namespace, typ, ver, filepath.Join(dir, "docs"))
		if err != nil {
			return fmt.Errorf("upload docs: %w", err)
		}
		c.logf("uploaded %d docs", n)
	}
	c.logf("published %s/%s %s", namespace, typ, ver)
	return nil
}

// providerDocs uploads the docs/ tree of a release (tfplugindocs layout)
// as a tar.gz of docs/... entries; the version's docs are replaced.
func (c *Client) providerDocs(ctx context.Context, namespace, typ, ver, docsDir string) (int, error) {
	body, err := pack(docsDir, "docs/")
	if err != nil {
		return 0, err
	}
	link := strings.TrimRight(c.URL, "/") + "/api/v2/organizations/" + namespace + "/registry-providers/private/" +
		namespace + "/" + typ + "/versions/" + ver + "/docs"
	req, err := http.NewRequestWithContext(ctx, http.MethodPut, link, bytes.NewReader(body))
	if err != nil {
		return 0, err
	}
	req.Header.Set("Authorization", "Bearer "+c.Token)
	req.Header.Set("Content-Type", "application/gzip")
	hc := c.HTTP
	if hc == nil {
		hc = http.DefaultClient
	}
	resp, err := hc.Do(req)
	if err != nil {
		return 0, err
	}
	defer resp.Body.Close()
	b, _ := io.ReadAll(io.LimitReader(resp.Body, 64<<10))
	var doc struct {
		Meta struct {
			Docs int `json:"docs"`
		} `json:"meta"`
		Errors []struct{ Detail string } `json:"errors"`
	}
	_ = json.Unmarshal(b, &doc)
	if resp.StatusCode/100 == 2 {
		return doc.Meta.Docs, nil
	}
	if len(doc.Errors) > 0 {
		return 0, fmt.Errorf("%s: %s", resp.Status, doc.Errors[0].Detail)
	}
	return 0, fmt.Errorf("%s", resp.Status)
}

func linkOf(links map[string]any, name string) string {
	s, _ := links[name].(string)
	return s
}

// signingKey finds the namespace's key that verifies sig over shasums.
func (c *Client) signingKey(ctx context.Context, client *tfe.Client, namespace string, shasums, sig []byte) (string, error) {
	keys, err := client.GPGKeys.ListPrivate(ctx, tfe.GPGKeyListOptions{Namespaces: []string{namespace}})
	if err != nil {
		return "", fmt.Errorf("list the GPG keys of %s: %w", namespace, err)
	}
	for _, k := range keys.Items {
		ring, err := openpgp.ReadArmoredKeyRing(strings.NewReader(k.AsciiArmor))
		if err != nil {
			continue
		}
		if _, err := openpgp.CheckDetachedSignature(ring, bytes.NewReader(shasums), bytes.NewReader(sig), nil); err == nil {
			return k.KeyID, nil
		}
	}
	// A CI job may not see the namespace's keys: name the key that made
	// the signature and let the server verify it.
	if pkt, err := packet.Read(bytes.NewReader(sig)); err == nil {
		if s, ok := pkt.(*packet.Signature); ok && s.IssuerKeyId != nil {
			return fmt.Sprintf("%016X", *s.IssuerKeyId), nil
		}
	}
	return "", fmt.Errorf("the SHA256SUMS signature verifies with no GPG key of namespace %s (add the public key first)", namespace)
}

// ModuleInput names a module version to publish.
type ModuleInput struct {
	// Project is the owning project's full path; its top-level group is the
	// namespace (organization).
	Project, Name, System, Version string
}

// Module packs dir (without .git and .terraform) into a .tar.gz and
// publishes it as Project's module Name/System at Version.
func (c *Client) Module(ctx context.Context, in ModuleInput, dir string) error {
	org, _, _ := strings.Cut(in.Project, "/")
	if org == "" || in.Name == "" || in.System == "" || in.Version == "" {
		return errors.New("--project, --name, --system and --version are required")
	}
	archive, err := pack(dir, "")
	if err != nil {
		return err
	}
	client, err := c.tfe()
	if err != nil {
		return err
	}
	mid := tfe.RegistryModuleID{Organization: org, Namespace: org, Name: in.Name, Provider: in.System, RegistryName: tfe.PrivateRegistry}
	if m, err := client.RegistryModules.Read(ctx, mid); err == nil {
		for _, vs := range m.VersionStatuses {
			if vs.Version == in.Version && vs.Status == tfe.RegistryModuleVersionStatusOk {
				c.logf("%s/%s/%s %s is already published", org, in.Name, in.System, in.Version)
				return nil
			}
		}
	} else if notFound(err) {
		if err := c.createModule(ctx, org, in); err != nil {
			return err
		}
		c.logf("created module %s/%s/%s in %s", org, in.Name, in.System, in.Project)
	} else {
		return err
	}
	v, err := client.RegistryModules.CreateVersion(ctx, mid, tfe.RegistryModuleCreateVersionOptions{Version: tfe.String(in.Version)})
	if err != nil {
		return fmt.Errorf("version %s: %w", in.Version, err)
	}
	if err := c.put(ctx, linkOf(v.Links, "upload"), archive); err != nil {
		return fmt.Errorf("upload: %w", err)
	}
	for deadline := time.Now().Add(time.Minute); ; time.Sleep(200 * time.Millisecond) {
		got, err := client.RegistryModules.ReadVersion(ctx, mid, in.Version)
		if err != nil {
			return err
		}
		switch got.Status {
		case tfe.RegistryModuleVersionStatusOk:
			c.logf("published %s/%s/%s %s", org, in.Name, in.System, in.Version)
			return nil
		case tfe.RegistryModuleVersionStatusRegIngressFailed:
			why := ""
			if m, err := client.RegistryModules.Read(ctx, mid); err == nil {
				for _, vs := range m.VersionStatuses {
					if vs.Version == in.Version {
						why = vs.Error
					}
				}
			}
			return fmt.Errorf("the upload was refused: %s", why)
		}
		if time.Now().After(deadline) {
			return fmt.Errorf("version %s is still %s", in.Version, got.Status)
		}
	}
}

// createModule creates the module in its project (the TFE create call with
// Cairn's "project" attribute, which go-tfe cannot send).
func (c *Client) createModule(ctx context.Context, org string, in ModuleInput) error {
	body, _ := json.Marshal(map[string]any{"data": map[string]any{"type": "registry-modules", "attributes": map[string]any{
		"name": in.Name, "provider": in.System, "registry-name": "private", "project": in.Project}}})
	req, err := http.NewRequestWithContext(ctx, http.MethodPost, strings.TrimRight(c.URL, "/")+"/api/v2/organizations/"+org+"/registry-modules", bytes.NewReader(body))
	if err != nil {
		return err
	}
	req.Header.Set("Authorization", "Bearer "+c.Token)
	req.Header.Set("Content-Type", "application/vnd.api+json")
	hc := c.HTTP
	if hc == nil {
		hc = http.DefaultClient
	}
	resp, err := hc.Do(req)
	if err != nil {
		return err
	}
	defer resp.Body.Close()
	if resp.StatusCode == http.StatusCreated || resp.StatusCode == http.StatusConflict {
		return nil
	}
	b, _ := io.ReadAll(io.LimitReader(resp.Body, 64<<10))
	return fmt.Errorf("create module: %s %s", resp.Status, strings.TrimSpace(string(b)))
}

// pack makes a .tar.gz of dir's files, skipping .git and .terraform; each
// entry's name is prefix + its path under dir.
func pack(dir, prefix string) ([]byte, error) {
	var buf bytes.Buffer
	gz := gzip.NewWriter(&buf)
	tw := tar.NewWriter(gz)
	err := filepath.WalkDir(dir, func(p string, d fs.DirEntry, err error) error {
		if err != nil {
			return err
		}
		rel, _ := filepath.Rel(dir, p)
		if d.IsDir() {
			if d.Name() == ".git" || d.Name() == ".terraform" {
				return filepath.SkipDir
			}
			return nil
		}
		if !d.Type().IsRegular() {
			return nil
		}
		info, err := d.Info()
		if err != nil {
			return err
		}
		b, err := os.ReadFile(p)
		if err != nil {
			return err
		}
		if err := tw.WriteHeader(&tar.Header{Name: prefix + filepath.ToSlash(rel), Mode: int64(info.Mode().Perm()), Size: int64(len(b)), Typeflag: tar.TypeReg, ModTime: info.ModTime()}); err != nil {
			return err
		}
		_, err = tw.Write(b)
		return err
	})
	if err != nil {
		return nil, err
	}
	if err := tw.Close(); err != nil {
		return nil, err
	}
	if err := gz.Close(); err != nil {
		return nil, err
	}
	return buf.Bytes(), nil
}
