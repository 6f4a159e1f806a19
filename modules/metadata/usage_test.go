package metadata

import (
	"reflect"
	"testing"

	"github.com/hashicorp/terraform-config-inspect/tfconfig"
)

func TestUsageExample(t *testing.T) {
	m := &Module{Root: Part{Inputs: []Input{
		{Name: "admin_password", Type: "string", Required: true},
		{Name: "cidr_block", Type: "string"},
		{Name: "flow_logs", Type: "object({\n  enabled = bool\n})", Required: true},
		{Name: "name", Type: "string", Required: true},
		{Name: "owner_team", Required: true},
		{Name: "ports", Type: "set(number)", Required: true},
		{Name: "zones", Type: "number", Required: true},
		{Name: "public", Type: "bool", Required: true},
		{Name: "subnets", Type: " list(string)", Required: true},
		{Name: "tags", Type: "map(string)", Required: true},
		{Name: "x", Type: "tuple([string])", Required: true},
	}}}
	tests := []struct {
		name             string
		m                *Module
		address, version string
		want             string
	}{
		{
			name:    "required inputs aligned",
			m:       m,
			address: "registry.example.com/acme/vpc/aws",
			version: "1.4.0",
			want: `module "vpc" {
  source  = "registry.example.com/acme/vpc/aws"
  version = "1.4.0"

  # required inputs
  admin_password = ""
  flow_logs      = {}
  name           = ""
  owner_team     = null
  ports          = []
  zones          = 0
  public         = false
  subnets        = []
  tags           = {}
  x              = []
}
`,
		},
		{
			name:    "no required inputs",
			m:       &Module{Root: Part{Inputs: []Input{{Name: "opt", Type: "string"}}}},
			address: "acme/s3-bucket/aws",
			version: "2.0.0",
			want: `module "s3-bucket" {
  source  = "acme/s3-bucket/aws"
  version = "2.0.0"
}
`,
		},
		{
			name:    "no version",
			m:       &Module{},
			address: "registry.example.com/acme/9lives/aws",
			want: `module "module_9lives" {
  source = "registry.example.com/acme/9lives/aws"
}
`,
		},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			if got := tt.m.UsageExample(tt.address, tt.version); got != tt.want {
				t.Errorf("UsageExample:\n%s\nwant:\n%s", got, tt.want)
			}
		})
	}
}

func TestProviders(t *testing.T) {
	m := &Module{Root: Part{ProviderDependencies: []ProviderDependency{
		{Name: "aws", Namespace: "hashicorp", Source: "hashicorp/aws"},
		{Name: "aws2", Namespace: "hashicorp", Source: "hashicorp/aws"},
		{Name: "terraform", Namespace: "builtin", Source: "terraform.io/builtin/terraform"},
		{Name: "weird", Source: "var.provider_source"},
		{Name: "gitlab", Namespace: "gitlabhq", Source: "gitlabhq/gitlab"},
	}}}
	if got, want := m.Providers(), []string{"aws", "gitlab", "weird"}; !reflect.DeepEqual(got, want) {
		t.Errorf("Providers() = %q, want %q", got, want)
	}
	if got := (&Module{}).Providers(); got == nil || len(got) != 0 {
		t.Errorf("Providers() of an empty module = %#v, want empty non-nil", got)
	}
}

func TestProviderDependency(t *testing.T) {
	tests := []struct {
		local string
		req   *tfconfig.ProviderRequirement
		want  ProviderDependency
	}{
		{"aws", &tfconfig.ProviderRequirement{Source: "hashicorp/aws", VersionConstraints: []string{">= 5.0", "< 6.0"}},
			ProviderDependency{"aws", "hashicorp", "hashicorp/aws", ">= 5.0, < 6.0"}},
		{"random", &tfconfig.ProviderRequirement{Source: "Registry.Terraform.io/HashiCorp/Random"},
			ProviderDependency{"random", "hashicorp", "hashicorp/random", ""}},
		{"gitlab", &tfconfig.ProviderRequirement{Source: "registry.example.com:8443/acme/gitlab", VersionConstraints: []string{"~> 17.0"}},
			ProviderDependency{"gitlab", "acme", "registry.example.com:8443/acme/gitlab", "~> 17.0"}},
		{"null", &tfconfig.ProviderRequirement{Source: "null"},
			ProviderDependency{"null", "hashicorp", "hashicorp/null", ""}},
		{"google", &tfconfig.ProviderRequirement{}, // implied by a resource
			ProviderDependency{"google", "hashicorp", "hashicorp/google", ""}},
		{"google", nil,
			ProviderDependency{"google", "hashicorp", "hashicorp/google", ""}},
		{"terraform", &tfconfig.ProviderRequirement{},
			ProviderDependency{"terraform", "builtin", "terraform.io/builtin/terraform", ""}},
		{"odd", &tfconfig.ProviderRequirement{Source: "a/b/c/d"},
			ProviderDependency{"odd", "", "a/b/c/d", ""}},
		{"expr", &tfconfig.ProviderRequirement{Source: "var.source"},
			ProviderDependency{"expr", "", "var.source", ""}},
	}
	for _, tt := range tests {
		if got := providerDependency(tt.local, tt.req); got != tt.want {
			t.Errorf("providerDependency(%q, %+v) = %+v, want %+v", tt.local, tt.req, got, tt.want)
		}
	}
}

func TestBlockNameWithPortAndSubmodule(t *testing.T) {
	for addr, want := range map[string]string{
		"127.0.0.1:8443/acme/vpc/aws":                 "vpc",
		"127.0.0.1:8443/acme/vpc/aws//modules/subnet": "vpc",
		"cairn.example.com/acme/vpc/aws//modules/x":   "vpc",
		"https://example.com/archive.zip":             "example_com",
	} {
		if got := blockName(addr); got != want {
			t.Errorf("blockName(%q) = %q, want %q", addr, got, want)
		}
	}
}
