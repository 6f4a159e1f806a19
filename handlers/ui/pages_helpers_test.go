package ui_test

import (
	"archive/tar"
	"bytes"
	"compress/gzip"
	"context"
	"fmt"
	"io"
	"net/http"
	"net/url"
	"strings"
	"testing"
	"time"

	"golang.org/x/net/html"

	"github.com/cairn-registry/cairn/internal/testserver"
)

// file is one file of a module archive.
type file struct{ name, body string }

func tgz(files ...file) []byte {
	var buf bytes.Buffer
	gz := gzip.NewWriter(&buf)
	tw := tar.NewWriter(gz)
	for _, f := range files {
		tw.WriteHeader(&tar.Header{Name: f.name, Mode: 0o644, Typeflag: tar.TypeReg, Size: int64(len(f.body))})
		tw.Write([]byte(f.body))
	}
	tw.Close()
	gz.Close()
	return buf.Bytes()
}

// builderModule is a module the usage builder can be checked with: required
// inputs of every builder type and no provider to download (terraform_data
// is built in), so terraform init needs no network.
func builderModule(version string) []file {
	return []file{
		{"README.md", "# Network\n\nBuilds a network for **" + version + "**.\n\n## Usage\n\nSee the examples.\n"},
		{"main.tf", `terraform {
  required_version = ">= 1.5"
}

variable "name" {
  type        = string
  description = "Name prefix of every resource"
}

variable "cidr" {
  type        = string
  description = "CIDR block of the network"
  default     = "10.0.0.0/16"
}

variable "zone_count" {
  type        = number
  description = "How many zones to span"
}

variable "enable_ipv6" {
  type        = bool
  description = "Assign IPv6 addresses"
}

variable "zones" {
  type        = list(string)
  description = "Availability zones"
}

variable "tags" {
  type        = map(string)
  description = "Tags for every resource"
  default     = {}
}

variable "password" {
  type      = string
  sensitive = true
  default   = "changeme"
}

resource "terraform_data" "network" {
  input = [var.name, var.cidr, var.zone_count, var.enable_ipv6, var.zones, var.tags]
}

data "terraform_remote_state" "shared" {
  backend = "local"
  config  = { path = "shared.tfstate" }
}

module "subnets" {
  source = "./modules/subnets"
  name   = var.name
}

output "id" {
  description = "ID of the network (` + version + `)"
  value       = terraform_data.network.id
}
`},
		{"modules/subnets/README.md", "# Subnets\n\nSubnets of a network.\n"},
		{"modules/subnets/main.tf", `variable "name" {
  type        = string
  description = "Name prefix"
}

resource "terraform_data" "subnet" {
  input = var.name
}

output "subnet_id" {
  value = terraform_data.subnet.id
}
`},
		{"examples/basic/README.md", "# Basic\n\nThe smallest network.\n"},
		{"examples/basic/main.tf", `module "network" {
  source = "../.."

  name        = "demo"
  zone_count  = 2
  enable_ipv6 = false
  zones       = ["a", "b"]
}

output "id" {
  value = module.network.id
}
`},
	}
}

// site is a seeded server: public, internal and private modules, and a
// member of the private project.
type site struct {
	*testserver.Server
	// memberToken is the API token of "member", who belongs to acme/hidden.
	memberToken string
}

func simpleModule(description string) []file {
	b := fmt.Sprintf(`{"description": %q}`, description)
	return []file{{"main.tf", "output \"x\" { value = 1 }\n"}, {"terrareg.json", b}}
}

// seed starts a server and publishes:
//
//	acme (public) / network (public): network/aws 1.0.0, 1.1.0, 2.0.0-beta1; dns/aws 1.2.0
//	acme / hidden (private): secret/aws 0.1.0 (member is a reporter)
//	globex (public) / platform (public): vpc/azurerm 1.0.0
//	initech (private) / infra (private): tps/aws 1.0.0
func seed(t *testing.T) *site {
	t.Helper()
	s := &site{Server: testserver.Start(t)}
	var acme, globex, initech, hidden struct{ ID int64 }
	s.api(t, "POST", "/groups", map[string]any{"path": "acme", "name": "Acme Corp", "visibility": "public", "description": "Acme's platform team"}, &acme)
	s.api(t, "POST", "/projects", map[string]any{"path": "network", "namespace_id": acme.ID, "visibility": "public", "description": "Networks for everyone"}, nil)
	s.api(t, "POST", "/projects", map[string]any{"path": "hidden", "namespace_id": acme.ID, "visibility": "private"}, &hidden)
	s.api(t, "POST", "/groups", map[string]any{"path": "globex", "name": "Globex", "visibility": "public"}, &globex)
	s.api(t, "POST", "/projects", map[string]any{"path": "platform", "namespace_id": globex.ID, "visibility": "public"}, nil)
	s.api(t, "POST", "/groups", map[string]any{"path": "initech", "name": "Initech", "visibility": "private"}, &initech)
	s.api(t, "POST", "/projects", map[string]any{"path": "infra", "namespace_id": initech.ID, "visibility": "private"}, nil)
	u, tok := s.CreateUser(t, "member")
	s.memberToken = tok
	s.api(t, "POST", fmt.Sprintf("/projects/%d/members", hidden.ID), map[string]any{"user_id": u.ID, "access_level": 20}, nil)

	for _, up := range []struct {
		project, name, system, version string
		files                          []file
	}{
		{"acme/network", "network", "aws", "1.0.0", builderModule("1.0.0")},
		{"acme/network", "network", "aws", "1.1.0", builderModule("1.1.0")},
		{"acme/network", "network", "aws", "2.0.0-beta1", builderModule("2.0.0-beta1")},
		{"acme/network", "dns", "aws", "1.2.0", simpleModule("Route 53 zones")},
		{"acme/hidden", "secret", "aws", "0.1.0", simpleModule("Not for everyone")},
		{"globex/platform", "vpc", "azurerm", "1.0.0", simpleModule("Hub network for Azure")},
		{"initech/infra", "tps", "aws", "1.0.0", simpleModule("TPS report storage")},
	} {
		s.upload(t, up.project, up.name, up.system, up.version, tgz(up.files...))
	}
	return s
}

func (s *site) api(t *testing.T, method, path string, body, out any) {
	t.Helper()
	var b strings.Builder
	if body != nil {
		fmt.Fprint(&b, mustJSON(body))
	}
	resp, raw := s.Raw(t, method, "/api/v4"+path, map[string]string{"PRIVATE-TOKEN": s.AdminToken}, b.String())
	if resp.StatusCode >= 300 {
		t.Fatalf("%s %s = %d %s", method, path, resp.StatusCode, raw)
	}
	if out != nil {
		if err := jsonUnmarshal(raw, out); err != nil {
			t.Fatal(err)
		}
	}
}

func (s *site) upload(t *testing.T, project, name, system, version string, body []byte) {
	t.Helper()
	req, _ := http.NewRequest("PUT", fmt.Sprintf("%s/api/v4/projects/%s/packages/terraform/modules/%s/%s/%s/file",
		s.URL, url.PathEscape(project), name, system, version), bytes.NewReader(body))
	req.Header.Set("PRIVATE-TOKEN", s.AdminToken)
	resp, err := http.DefaultClient.Do(req)
	if err != nil {
		t.Fatal(err)
	}
	defer resp.Body.Close()
	if resp.StatusCode != 201 {
		b, _ := io.ReadAll(resp.Body)
		t.Fatalf("upload %s/%s/%s %s = %d %s", project, name, system, version, resp.StatusCode, b)
	}
}

// page fetches a page anonymously (or with a session cookie client).
func fetch(t *testing.T, c *http.Client, u string, header map[string]string) (*http.Response, string) {
	t.Helper()
	if c == nil {
		c = &http.Client{Timeout: 30 * time.Second, CheckRedirect: func(*http.Request, []*http.Request) error { return http.ErrUseLastResponse }}
	}
	req, _ := http.NewRequest("GET", u, nil)
	for k, v := range header {
		req.Header.Set(k, v)
	}
	resp, err := c.Do(req)
	if err != nil {
		t.Fatal(err)
	}
	defer resp.Body.Close()
	b, _ := io.ReadAll(resp.Body)
	return resp, string(b)
}

// signIn signs a user in with a password through the sign-in form and
// returns the client holding the session.
func signIn(t *testing.T, s *site, username, password string) *http.Client {
	t.Helper()
	c := browserClient(t)
	_, body := get(t, c, s.URL+"/login")
	resp, err := c.PostForm(s.URL+"/login", url.Values{"username": {username}, "password": {password}, "csrf_token": {csrfOf(t, body)}, "next": {"/"}})
	if err != nil {
		t.Fatal(err)
	}
	resp.Body.Close()
	if resp.StatusCode != http.StatusSeeOther && resp.StatusCode != http.StatusFound {
		t.Fatalf("sign in as %s = %d", username, resp.StatusCode)
	}
	return c
}

// voidElements have no end tag.
var voidElements = map[string]bool{"area": true, "base": true, "br": true, "col": true, "embed": true, "hr": true, "img": true,
	"input": true, "link": true, "meta": true, "source": true, "track": true, "wbr": true}

// checkHTML checks a page without a browser: every element closed in
// order, exactly one <h1>, every <img> with alt, every form control with a
// label, and nothing the Content-Security-Policy would block (inline
// scripts, style attributes, event handler attributes).
func checkHTML(t *testing.T, name, body string) {
	t.Helper()
	z := html.NewTokenizer(strings.NewReader(body))
	var stack []string
	for {
		tt := z.Next()
		if tt == html.ErrorToken {
			if z.Err() != io.EOF {
				t.Errorf("%s: HTML does not tokenise: %v", name, z.Err())
			}
			break
		}
		tok := z.Token()
		switch tt {
		case html.StartTagToken:
			if !voidElements[tok.Data] {
				stack = append(stack, tok.Data)
			}
		case html.EndTagToken:
			if len(stack) == 0 || stack[len(stack)-1] != tok.Data {
				t.Errorf("%s: </%s> closes %v", name, tok.Data, stack)
				return
			}
			stack = stack[:len(stack)-1]
		}
	}
	if len(stack) > 0 {
		t.Errorf("%s: elements left open: %v", name, stack)
	}

	doc, err := html.Parse(strings.NewReader(body))
	if err != nil {
		t.Fatalf("%s: %v", name, err)
	}
	labels := map[string]bool{}
	h1s := 0
	var controls []*html.Node
	var walk func(n *html.Node, inLabel bool)
	walk = func(n *html.Node, inLabel bool) {
		if n.Type == html.ElementNode {
			attrs := map[string]string{}
			for _, a := range n.Attr {
				attrs[a.Key] = a.Val
				if a.Key == "style" || strings.HasPrefix(a.Key, "on") || strings.HasPrefix(a.Key, "hx-on") {
					t.Errorf("%s: <%s %s=...> would break the Content-Security-Policy", name, n.Data, a.Key)
				}
			}
			switch n.Data {
			case "h1":
				h1s++
			case "img":
				if _, ok := attrs["alt"]; !ok {
					t.Errorf("%s: <img src=%q> has no alt", name, attrs["src"])
				}
			case "label":
				labels[attrs["for"]] = true
				inLabel = true
			case "script":
				if attrs["src"] == "" {
					t.Errorf("%s: inline <script>", name)
				}
			case "style":
				t.Errorf("%s: inline <style>", name)
			case "input", "select", "textarea":
				typ := attrs["type"]
				if typ != "hidden" && typ != "submit" && typ != "button" && !inLabel && attrs["aria-label"] == "" && attrs["aria-labelledby"] == "" {
					controls = append(controls, n)
				}
			}
		}
		for c := n.FirstChild; c != nil; c = c.NextSibling {
			walk(c, inLabel)
		}
	}
	walk(doc, false)
	if h1s != 1 {
		t.Errorf("%s: %d <h1> elements, want 1", name, h1s)
	}
	for _, n := range controls {
		id := ""
		for _, a := range n.Attr {
			if a.Key == "id" {
				id = a.Val
			}
		}
		if id == "" || !labels[id] {
			t.Errorf("%s: <%s id=%q> has no label", name, n.Data, id)
		}
	}
}

var _ = context.Background
