package e2e

import (
	"bytes"
	"context"
	"encoding/json"
	"fmt"
	"maps"
	"net/url"
	"path/filepath"
	"regexp"
	"slices"
	"strings"
	"testing"
	"time"

	"github.com/cairn-registry/cairn/internal/testenv"
)

// catalogEnv is a registry with modules in three namespaces: acme (public
// group: a public, an internal and a private project), globex (public) and
// initech (private group and project); member reads initech and acme's
// private project, outsider is a user with no membership.
type catalogEnv struct {
	*inproc
	member, outsider string // personal access tokens
}

// catalogVisibility sorts the fixture's modules by who may read them.
var (
	catalogPublic   = []string{"acme/subnets/aws", "acme/vpc/aws", "acme/vpc-peering/aws", "globex/dns/aws", "globex/vpc/azurerm"}
	catalogInternal = []string{"acme/bastion/aws"}
	catalogPrivate  = []string{"acme/secret-vpc/aws", "initech/tps-reports/aws", "initech/vpc/aws"}
)

// catalogVPC is the detailed module: required providers, variables with
// and without defaults, a registry module call, a local one and a submodule.
func catalogVPC(version string) []byte {
	return tgz(
		entry{name: "README.md", body: "# VPC\n\n[![CI](https://ci.example/badge.svg)](https://ci.example)\n\n" +
			"Terraform module which creates VPC resources on AWS.\n\nMore words about networks.\n"},
		entry{name: "main.tf", body: `terraform {
  required_version = ">= 1.5"
  required_providers {
    aws = {
      source  = "hashicorp/aws"
      version = ">= 5.0"
    }
  }
}

variable "cidr" {
  type        = string
  description = "CIDR block of the VPC"
  default     = "10.0.0.0/16"
}

variable "name" {
  type        = string
  description = "Name prefix"
}

resource "aws_vpc" "this" {
  cidr_block = var.cidr
}

module "labels" {
  source  = "cloudposse/label/null"
  version = "0.25.0"
}

module "peering" {
  source = "./modules/peering"
  vpc_id = aws_vpc.this.id
}

output "vpc_id" {
  description = "ID of the VPC (` + version + `)"
  value       = aws_vpc.this.id
}
`},
		entry{name: "modules/peering/README.md", body: "# Peering\n\nPeers two networks.\n"},
		entry{name: "modules/peering/main.tf", body: `variable "vpc_id" {
  type        = string
  description = "The VPC to peer"
}

resource "aws_vpc_peering_connection" "this" {
  vpc_id = var.vpc_id
}

output "peering_id" {
  value = aws_vpc_peering_connection.this.id
}
`},
	)
}

// catalogSimple is a one-file module described by terrareg.json (when
// description or owner is set) or by its README.
func catalogSimple(description, owner, readme string) []byte {
	entries := []entry{{name: "main.tf", body: "output \"x\" { value = 1 }\n"}}
	if description != "" || owner != "" {
		b, _ := json.Marshal(map[string]string{"description": description, "owner": owner})
		entries = append(entries, entry{name: "terrareg.json", body: string(b)})
	}
	if readme != "" {
		entries = append(entries, entry{name: "README.md", body: readme})
	}
	return tgz(entries...)
}

func startCatalog(t *testing.T) *catalogEnv {
	s := startInProcess(t, nil)
	e := &catalogEnv{inproc: s}
	var acme, globex, initech, hidden struct{ ID int64 }
	s.json("POST", "/groups", map[string]any{"path": "acme", "name": "Acme Corp", "visibility": "public"}, &acme)
	s.json("POST", "/projects", map[string]any{"path": "network", "namespace_id": acme.ID, "visibility": "public"}, nil)
	s.json("POST", "/projects", map[string]any{"path": "tools", "namespace_id": acme.ID, "visibility": "internal"}, nil)
	s.json("POST", "/projects", map[string]any{"path": "hidden", "namespace_id": acme.ID, "visibility": "private"}, &hidden)
	s.json("POST", "/groups", map[string]any{"path": "globex", "name": "Globex", "visibility": "public"}, &globex)
	s.json("POST", "/projects", map[string]any{"path": "platform", "namespace_id": globex.ID, "visibility": "public"}, nil)
	s.json("POST", "/groups", map[string]any{"path": "initech", "name": "Initech", "visibility": "private"}, &initech)
	s.json("POST", "/projects", map[string]any{"path": "infra", "namespace_id": initech.ID, "visibility": "private"}, nil)

	user := func(name string) (string, int64) {
		var u struct{ ID int64 }
		s.json("POST", "/users", map[string]any{"username": name, "name": name, "email": name + "@example.com"}, &u)
		var tok struct{ Token string }
		s.json("POST", fmt.Sprintf("/users/%d/personal_access_tokens", u.ID), map[string]any{"name": "t", "scopes": []string{"read_api"}}, &tok)
		return tok.Token, u.ID
	}
	var memberID int64
	e.member, memberID = user("member")
	e.outsider, _ = user("outsider")
	s.json("POST", fmt.Sprintf("/groups/%d/members", initech.ID), map[string]any{"user_id": memberID, "access_level": 20}, nil)
	s.json("POST", fmt.Sprintf("/projects/%d/members", hidden.ID), map[string]any{"user_id": memberID, "access_level": 20}, nil)

	// Publication order matters: the last upload is private, so the most
	// recently published module differs by caller.
	for _, u := range []struct {
		project, name, system, version string
		body                           []byte
	}{
		{"acme/network", "vpc", "aws", "1.0.0", catalogVPC("1.0.0")},
		{"acme/network", "vpc", "aws", "1.1.0", catalogVPC("1.1.0")},
		{"acme/network", "vpc", "aws", "2.0.0-beta1", catalogVPC("2.0.0-beta1")},
		{"acme/network", "vpc-peering", "aws", "0.3.0", catalogSimple("Peering between two VPCs", "", "")},
		{"acme/network", "subnets", "aws", "1.0.0", catalogSimple("", "", "# Subnets\n\nSubnets for a vpc network.\n")},
		{"acme/tools", "bastion", "aws", "2.1.0", catalogSimple("Jump host for operators", "ops-team", "")},
		{"acme/hidden", "secret-vpc", "aws", "0.0.1", catalogSimple("Not for everyone", "", "")},
		{"globex/platform", "vpc", "azurerm", "1.0.0", catalogSimple("Hub network for Azure", "platform-team", "")},
		{"globex/platform", "dns", "aws", "1.2.0", catalogSimple("Route 53 zones", "platform-team", "")},
		{"initech/infra", "tps-reports", "aws", "1.0.0", catalogSimple("TPS report storage", "", "")},
		{"initech/infra", "vpc", "aws", "3.0.0", catalogSimple("Initech private network", "initech-net", "")},
	} {
		if code, body := s.upload(nil, u.project, u.name, u.system, u.version, u.body); code != 201 {
			t.Fatalf("upload %s %s/%s %s = %d %s", u.project, u.name, u.system, u.version, code, body)
		}
	}
	// Downloads decide ties between equally relevant modules, and this
	// week's most downloaded module (a private one).
	for addr, n := range map[string]int{"initech/vpc/aws/3.0.0": 5, "globex/vpc/azurerm/1.0.0": 3, "acme/vpc/aws/1.1.0": 1} {
		for range n {
			if code, _ := e.get(s.admin, "/v1/modules/"+addr+"/download"); code != 204 {
				t.Fatalf("download %s = %d", addr, code)
			}
		}
	}
	// Flush now; the server's own periodic flush may hold some counts in
	// flight, so wait until all nine are written.
	if err := s.srv.Modules.FlushDownloads(context.Background()); err != nil {
		t.Fatal(err)
	}
	for deadline := time.Now().Add(10 * time.Second); ; time.Sleep(20 * time.Millisecond) {
		var n int64
		if err := s.srv.Pool.QueryRow(context.Background(), "SELECT coalesce(sum(count), 0)::bigint FROM module_downloads").Scan(&n); err != nil {
			t.Fatal(err)
		}
		if n == 9 {
			break
		}
		if time.Now().After(deadline) {
			t.Fatalf("%d downloads recorded, want 9", n)
		}
	}
	return e
}

// get calls path with a bearer token ("" for anonymous).
func (e *catalogEnv) get(token, path string) (int, string) {
	e.t.Helper()
	h := map[string]string{}
	if token != "" {
		h["Authorization"] = "Bearer " + token
	}
	code, _, body := e.do("GET", path, h, nil)
	return code, body
}

// getOK calls path and fails the test unless it answers 200.
func (e *catalogEnv) getOK(token, path string) string {
	e.t.Helper()
	code, body := e.get(token, path)
	if code != 200 {
		e.t.Fatalf("GET %s = %d %s, want 200", path, code, body)
	}
	return body
}

// catalogAddresses lists "namespace/name/provider" of a list answer's
// modules, in order.
func catalogAddresses(t *testing.T, body string) []string {
	t.Helper()
	var page struct {
		Modules []struct{ Namespace, Name, Provider string }
	}
	if err := json.Unmarshal([]byte(body), &page); err != nil {
		t.Fatalf("not a module list: %v\n%s", err, body)
	}
	out := []string{}
	for _, m := range page.Modules {
		out = append(out, m.Namespace+"/"+m.Name+"/"+m.Provider)
	}
	return out
}

var catalogTimestamp = regexp.MustCompile(`"\d{4}-\d\d-\d\dT\d\d:\d\d:\d\d(\.\d+)?(Z|[+-]\d\d:\d\d)?"`)

// canonical re-encodes a JSON body for a golden file: indented, keys
// sorted, and the server's address and timestamps replaced.
func (e *catalogEnv) canonical(body string) []byte {
	e.t.Helper()
	body = catalogTimestamp.ReplaceAllString(body, `"<timestamp>"`)
	u, _ := url.Parse(e.srv.URL)
	body = strings.ReplaceAll(body, u.Host, "cairn.test")
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
	return buf.Bytes()
}

// golden compares a JSON response with e2e/testdata/catalog/<name>.json
// (rewritten with -update).
func (e *catalogEnv) golden(name, body string) {
	e.t.Helper()
	got := e.canonical(body)
	testenv.Golden(e.t, filepath.Join("testdata", "catalog", name+".json"), got)
}

// TestCatalogVisibility lists, searches, counts and summarises the catalog
// as four callers and checks each sees exactly the modules it may read.
func TestCatalogVisibility(t *testing.T) {
	t.Parallel()
	e := startCatalog(t)
	all := slices.Concat(catalogPublic, catalogInternal, catalogPrivate)
	callers := []struct {
		who, token string
		sees       []string
		namespaces []string
	}{
		{"anonymous", "", catalogPublic, []string{"acme", "globex"}},
		{"outsider", e.outsider, slices.Concat(catalogPublic, catalogInternal), []string{"acme", "globex"}},
		{"member", e.member, all, []string{"acme", "globex", "initech"}},
		{"admin", e.admin, all, []string{"acme", "globex", "initech"}},
	}
	for _, c := range callers {
		t.Run(c.who, func(t *testing.T) {
			want := slices.Sorted(slices.Values(c.sees))
			check := func(what string, got []string) {
				t.Helper()
				got = slices.Sorted(slices.Values(got))
				if !slices.Equal(got, want) {
					t.Errorf("%s: %s sees %v, want %v", what, c.who, got, want)
				}
				for _, a := range all {
					if !slices.Contains(c.sees, a) && slices.Contains(got, a) {
						t.Errorf("%s: %s sees %s, which it may not read", what, c.who, a)
					}
				}
			}
			check("GET /v1/modules", catalogAddresses(t, e.getOK(c.token, "/v1/modules?limit=100")))
			check("GET /v1/modules/search?q=", catalogAddresses(t, e.getOK(c.token, "/v1/modules/search?q=&limit=100")))
			check("GET /v1/terrareg/modules/search?q=", catalogAddresses(t, e.getOK(c.token, "/v1/terrareg/modules/search?q=&limit=50")))

			// Every vpc module the caller may read, none other.
			var vpcs []string
			for _, a := range c.sees {
				if strings.Contains(a, "vpc") || a == "acme/subnets/aws" {
					vpcs = append(vpcs, a)
				}
			}
			got := catalogAddresses(t, e.getOK(c.token, "/v1/modules/search?q=vpc"))
			if !slices.Equal(slices.Sorted(slices.Values(got)), slices.Sorted(slices.Values(vpcs))) {
				t.Errorf("search vpc: %s sees %v, want %v", c.who, got, vpcs)
			}

			var filters struct {
				Contributed int
				Namespaces  map[string]int
				Providers   map[string]int
			}
			json.Unmarshal([]byte(e.getOK(c.token, "/v1/terrareg/modules/search/filters?q=")), &filters)
			if filters.Contributed != len(c.sees) {
				t.Errorf("filters: %s counts %d modules, want %d", c.who, filters.Contributed, len(c.sees))
			}
			if got := slices.Sorted(maps.Keys(filters.Namespaces)); !slices.Equal(got, c.namespaces) {
				t.Errorf("filters: %s sees namespaces %v, want %v", c.who, got, c.namespaces)
			}
			var old map[string]any
			json.Unmarshal([]byte(e.getOK(c.token, "/v1/terrareg/search_filters?q=")), &old)
			if old["contributed"] != float64(len(c.sees)) {
				t.Errorf("deprecated search_filters: %s counts %v, want %d", c.who, old["contributed"], len(c.sees))
			}

			var stats struct {
				Namespaces, Modules int
				ModuleVersions      int `json:"module_versions"`
				Downloads           int
			}
			json.Unmarshal([]byte(e.getOK(c.token, "/v1/terrareg/analytics/global/stats_summary")), &stats)
			versions, downloads := len(c.sees)+2, 1+3 // acme/vpc/aws has three versions
			if slices.Contains(c.sees, "initech/vpc/aws") {
				downloads += 5
			}
			if stats.Namespaces != len(c.namespaces) || stats.Modules != len(c.sees) || stats.ModuleVersions != versions || stats.Downloads != downloads {
				t.Errorf("stats: %s gets %+v, want %d namespaces, %d modules, %d versions, %d downloads",
					c.who, stats, len(c.namespaces), len(c.sees), versions, downloads)
			}

			var nss []struct{ Name string }
			json.Unmarshal([]byte(e.getOK(c.token, "/v1/terrareg/namespaces")), &nss)
			var names []string
			for _, ns := range nss {
				names = append(names, ns.Name)
			}
			if !slices.Equal(names, c.namespaces) {
				t.Errorf("namespaces: %s sees %v, want %v", c.who, names, c.namespaces)
			}

			var recent, popular struct{ ID string }
			json.Unmarshal([]byte(e.getOK(c.token, "/v1/terrareg/analytics/global/most_recently_published_module_version")), &recent)
			json.Unmarshal([]byte(e.getOK(c.token, "/v1/terrareg/analytics/global/most_downloaded_module_provider_this_week")), &popular)
			wantRecent, wantPopular := "globex/dns/aws/1.2.0", "globex/vpc/azurerm/1.0.0"
			switch c.who {
			case "outsider":
				wantRecent = "globex/dns/aws/1.2.0"
			case "member", "admin":
				wantRecent, wantPopular = "initech/vpc/aws/3.0.0", "initech/vpc/aws/3.0.0"
			}
			if recent.ID != wantRecent || popular.ID != wantPopular {
				t.Errorf("analytics: %s gets most recent %s and most downloaded %s, want %s and %s",
					c.who, recent.ID, popular.ID, wantRecent, wantPopular)
			}
		})
	}

	// A private module's lookups: 401 when anonymous, 404 for a user who
	// may not read it, 200 for one who may; the namespace listing alike.
	for _, path := range []string{"/v1/modules/initech/vpc/aws", "/v1/modules/initech/vpc/aws/3.0.0",
		"/v1/modules/initech/vpc/aws/downloads/summary", "/v1/modules/initech", "/v1/modules/initech/vpc",
		"/v1/modules/acme/secret-vpc/aws", "/api/registry/v1/modules/initech/vpc/aws"} {
		for _, c := range []struct {
			token  string
			status int
		}{{"", 401}, {e.outsider, 404}, {e.member, 200}} {
			if code, body := e.get(c.token, path); code != c.status {
				t.Errorf("GET %s as %q = %d %s, want %d", path, c.token, code, body, c.status)
			}
		}
	}
	for _, path := range []string{"/v1/terrareg/modules/initech", "/v1/terrareg/modules/initech/vpc"} {
		for _, c := range []struct {
			token  string
			status int
		}{{"", 401}, {e.outsider, 404}, {e.member, 200}} {
			if code, body := e.get(c.token, path); code != c.status {
				t.Errorf("GET %s as %q = %d %s, want %d", path, c.token, code, body, c.status)
			}
		}
	}
	// acme is public, but its private module stays out of its listing.
	if got := catalogAddresses(t, e.getOK("", "/v1/modules/acme")); slices.Contains(got, "acme/secret-vpc/aws") {
		t.Errorf("anonymous /v1/modules/acme lists the private acme/secret-vpc/aws: %v", got)
	}
	if got := catalogAddresses(t, e.getOK(e.member, "/v1/modules/acme?limit=50")); !slices.Contains(got, "acme/secret-vpc/aws") {
		t.Errorf("member /v1/modules/acme misses acme/secret-vpc/aws: %v", got)
	}
}

// TestCatalogSearchRanking checks the order of search results: exact name
// first (ties by downloads), then name prefix, then a word of the name,
// then description matches.
func TestCatalogSearchRanking(t *testing.T) {
	t.Parallel()
	e := startCatalog(t)
	for _, c := range []struct {
		q     string
		token string
		want  []string
	}{
		{"vpc", e.admin, []string{"initech/vpc/aws", "globex/vpc/azurerm", "acme/vpc/aws", "acme/vpc-peering/aws",
			"acme/secret-vpc/aws", "acme/subnets/aws"}},
		{"vpc", "", []string{"globex/vpc/azurerm", "acme/vpc/aws", "acme/vpc-peering/aws", "acme/subnets/aws"}},
		{"VPC peering", "", []string{"acme/vpc-peering/aws"}},
		{"peer", "", []string{"acme/vpc-peering/aws"}},
		{"platform-team", "", []string{"globex/vpc/azurerm", "globex/dns/aws"}},
		{"network", e.member, []string{"initech/vpc/aws", "globex/vpc/azurerm", "acme/subnets/aws"}},
		{"eering", "", []string{"acme/vpc-peering/aws"}}, // inside the name
		{"zzz", e.admin, []string{}},
		{"%", e.admin, []string{}},
	} {
		got := catalogAddresses(t, e.getOK(c.token, "/v1/modules/search?q="+url.QueryEscape(c.q)))
		if !slices.Equal(got, c.want) {
			t.Errorf("search %q as %q = %v, want %v", c.q, c.token, got, c.want)
		}
	}
	// Filters narrow a search.
	if got := catalogAddresses(t, e.getOK(e.admin, "/v1/modules/search?q=vpc&provider=azurerm")); !slices.Equal(got, []string{"globex/vpc/azurerm"}) {
		t.Errorf("search vpc provider=azurerm = %v", got)
	}
	if got := catalogAddresses(t, e.getOK(e.admin, "/v1/modules/search?q=vpc&namespace=ACME&namespace=initech")); !slices.Equal(got,
		[]string{"initech/vpc/aws", "acme/vpc/aws", "acme/vpc-peering/aws", "acme/secret-vpc/aws", "acme/subnets/aws"}) {
		t.Errorf("search vpc namespace=ACME,initech = %v", got)
	}
	for _, q := range []string{"verified=true", "trusted_namespaces=true", "contributed=false"} {
		if got := catalogAddresses(t, e.getOK(e.admin, "/v1/modules/search?q=vpc&"+q)); len(got) != 0 {
			t.Errorf("search vpc %s = %v, want nothing (Cairn verifies and trusts no module)", q, got)
		}
	}
	if got := catalogAddresses(t, e.getOK(e.admin, "/v1/modules/search?q=vpc&contributed=true")); len(got) != 6 {
		t.Errorf("search vpc contributed=true = %v, want all six", got)
	}
	// Pages of a search.
	var page struct {
		Meta    map[string]any
		Modules []any
	}
	json.Unmarshal([]byte(e.getOK(e.admin, "/v1/modules/search?q=vpc&limit=4&offset=4")), &page)
	if len(page.Modules) != 2 || page.Meta["prev_offset"] != float64(0) || page.Meta["next_offset"] != nil {
		t.Errorf("second page of vpc = %d modules, meta %v", len(page.Modules), page.Meta)
	}
}

// TestCatalogEndpoints compares every catalog endpoint's answer with its
// golden file and checks the errors.
func TestCatalogEndpoints(t *testing.T) {
	t.Parallel()
	e := startCatalog(t)
	// A namespace without modules: listed unless only_published.
	e.json("POST", "/groups", map[string]any{"path": "umbrella", "name": "Umbrella", "visibility": "public"}, nil)
	for _, g := range []struct {
		name, token, path string
	}{
		{"modules_list_anonymous", "", "/v1/modules"},
		{"modules_list_page", e.outsider, "/v1/modules/?limit=2&offset=2"},
		{"modules_search_member", e.member, "/v1/modules/search?q=vpc&limit=3"},
		{"modules_search_count", e.member, "/v1/modules/search?q=vpc&include_count=true"},
		{"modules_namespace", e.outsider, "/v1/modules/acme"},
		{"modules_name", e.member, "/v1/modules/acme/vpc"},
		{"module_details_latest", "", "/v1/modules/acme/vpc/aws"},
		{"module_details_version", "", "/v1/modules/acme/vpc/aws/1.0.0"},
		{"module_details_tfe", e.member, "/api/registry/v1/modules/initech/vpc/aws"},
		{"module_downloads_summary", "", "/v1/modules/acme/vpc/aws/downloads/summary"},
		{"terrareg_namespaces", e.member, "/v1/terrareg/namespaces"},
		{"terrareg_namespaces_paged", e.member, "/v1/terrareg/namespaces?limit=2"},
		{"terrareg_namespace_modules", "", "/v1/terrareg/modules/acme"},
		{"terrareg_module_providers", e.member, "/v1/terrareg/modules/initech/vpc"},
		{"terrareg_search", e.outsider, "/v1/terrareg/modules/search?q=vpc&include_count=true&limit=2"},
		{"terrareg_search_filters", e.member, "/v1/terrareg/modules/search/filters?q=vpc"},
		{"terrareg_stats_summary", e.outsider, "/v1/terrareg/analytics/global/stats_summary"},
		{"terrareg_most_recent", "", "/v1/terrareg/analytics/global/most_recently_published_module_version"},
		{"terrareg_most_downloaded", e.member, "/v1/terrareg/analytics/global/most_downloaded_module_provider_this_week"},
		{"terrareg_health", "", "/v1/terrareg/health"},
		{"terrareg_config", "", "/v1/terrareg/config"},
		// Issue 14's fidelity fixes on the catalog: compatibility with
		// target_terraform_version, Terrareg's page sizes (10, at most 50),
		// namespaces with and without only_published, provider namespaces,
		// the setup endpoints.
		{"terrareg_search_compat", e.outsider, "/v1/terrareg/modules/search?q=vpc&target_terraform_version=1.4.0"},
		{"terrareg_search_limit_max", "", "/v1/terrareg/modules/search?q=&limit=100"},
		{"terrareg_search_limit_default", e.member, "/v1/terrareg/modules/search?q="},
		{"terrareg_namespaces_all", e.member, "/v1/terrareg/namespaces?only_published=false"},
		{"terrareg_namespaces_only_published", e.member, "/v1/terrareg/namespaces?only_published=true"},
		{"terrareg_namespaces_provider", e.member, "/v1/terrareg/namespaces?type=provider"},
		{"terrareg_initial_setup", e.member, "/v1/terrareg/initial_setup"},
		{"terrareg_provider_logos", "", "/v1/terrareg/provider_logos"},
		{"terrareg_git_providers", "", "/v1/terrareg/git_providers"},
	} {
		e.golden(g.name, e.getOK(g.token, g.path))
	}

	// Terrareg's trailing-slash aliases answer as their twins.
	for _, p := range []string{"/v1/modules/search?q=vpc", "/v1/modules/acme", "/v1/modules/acme/vpc", "/v1/modules/acme/vpc/aws",
		"/v1/modules/acme/vpc/aws/1.0.0", "/v1/modules/acme/vpc/aws/versions"} {
		path, query, _ := strings.Cut(p, "?")
		if query != "" {
			query = "?" + query
		}
		twin := e.getOK(e.member, p)
		if alias := e.getOK(e.member, path+"/"+query); alias != twin {
			t.Errorf("GET %s/ = %s, want as %s: %s", path, alias, p, twin)
		}
	}

	var version struct{ Version string }
	json.Unmarshal([]byte(e.getOK("", "/v1/terrareg/version")), &version)
	if !strings.HasPrefix(version.Version, "cairn") {
		t.Errorf("version = %q, want cairn and its build", version.Version)
	}

	for _, c := range []struct {
		token, path string
		status      int
		body        string
	}{
		{"", "/v1/modules/search", 400, `{"errors":["q is required"]}`},
		{"", "/v1/modules/search?q=vpc&limit=ten", 400, `{"errors":["limit must be an integer"]}`},
		{"", "/v1/modules?verified=maybe", 400, `{"errors":["verified must be true or false"]}`},
		{"", "/v1/terrareg/modules/search/filters", 400, `{"errors":["q is required"]}`},
		{"", "/v1/terrareg/modules/search?q=x&offset=x", 400, `{"message":"offset must be an integer"}`},
		{"", "/v1/terrareg/namespaces?type=widget", 400, `{"errors":["Invalid type argument"]}`},
		{e.admin, "/v1/modules/nowhere", 404, `{"errors":["Not Found"],"message":"404 Not Found"}`},
		{e.admin, "/v1/modules/acme/vpc/aws/9.9.9", 404, `{"errors":["Not Found"],"message":"404 Not Found"}`},
		{e.admin, "/v1/terrareg/modules/nowhere", 404, `{"errors":["Not Found"]}`},
		{"", "/v1/terrareg/modules/nowhere/vpc", 401, `{"message":"401 Unauthorized"}`},
		{"cairnpat-bogus", "/v1/modules", 401, `{"message":"401 Unauthorized"}`},
	} {
		code, body := e.get(c.token, c.path)
		if code != c.status || body != c.body {
			t.Errorf("GET %s = %d %s, want %d %s", c.path, code, body, c.status, c.body)
		}
	}
	// No downloads at all: Terrareg's {} and 404.
	empty := startInProcess(t, nil)
	code, _, body := empty.do("GET", "/v1/terrareg/analytics/global/most_downloaded_module_provider_this_week", nil, nil)
	if code != 404 || body != "{}" {
		t.Errorf("most downloaded of an empty registry = %d %s, want 404 {}", code, body)
	}
	code, _, body = empty.do("GET", "/v1/terrareg/namespaces?offset=0&limit=10", nil, nil)
	if code != 200 || body != `{"meta":{"current_offset":0,"limit":10},"namespaces":[]}` {
		t.Errorf("namespaces of an empty registry = %d %s", code, body)
	}
	// Only limit switches to the paged form (Terrareg): offset alone is the list.
	code, _, body = empty.do("GET", "/v1/terrareg/namespaces?offset=0", nil, nil)
	if code != 200 || body != `[]` {
		t.Errorf("namespaces?offset=0 of an empty registry = %d %s, want []", code, body)
	}
}
