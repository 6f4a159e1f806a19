package metadata

import (
	"os"
	"strings"
	"testing"
)

const testAddress = "registry.example.com/acme/vpc/aws"

func TestRewriteExampleSource(t *testing.T) {
	tests := []struct {
		name    string
		dir     string
		version string
		in      string
		want    string // "" means unchanged
	}{
		{
			name: "root",
			in:   "module \"vpc\" {\n  source = \"../..\"\n\n  name = \"x\"\n}\n",
			want: "module \"vpc\" {\n  source  = \"registry.example.com/acme/vpc/aws\"\n  version = \"1.2.3\"\n\n  name = \"x\"\n}\n",
		},
		{
			name: "root with trailing slash",
			in:   "module \"vpc\" {\n  source = \"../../\"\n}\n",
			want: "module \"vpc\" {\n  source  = \"registry.example.com/acme/vpc/aws\"\n  version = \"1.2.3\"\n}\n",
		},
		{
			name: "dot prefixed",
			in:   "module \"vpc\" {\n  source = \"./../..\"\n}\n",
			want: "module \"vpc\" {\n  source  = \"registry.example.com/acme/vpc/aws\"\n  version = \"1.2.3\"\n}\n",
		},
		{
			name: "submodule",
			in:   "module \"subnets\" {\n  source = \"../../modules/subnets\"\n  cidrs  = []\n}\n",
			want: "module \"subnets\" {\n  source  = \"registry.example.com/acme/vpc/aws//modules/subnets\"\n  version = \"1.2.3\"\n  cidrs  = []\n}\n",
		},
		{
			name: "submodule through a detour",
			in:   "module \"subnets\" {\n  source = \"../../examples/../modules/subnets/\"\n}\n",
			want: "module \"subnets\" {\n  source  = \"registry.example.com/acme/vpc/aws//modules/subnets\"\n  version = \"1.2.3\"\n}\n",
		},
		{
			name: "example dir given with slashes",
			dir:  "./examples/basic/",
			in:   "module \"vpc\" {\n  source = \"../..\"\n}\n",
			want: "module \"vpc\" {\n  source  = \"registry.example.com/acme/vpc/aws\"\n  version = \"1.2.3\"\n}\n",
		},
		{
			name: "deeper example dir",
			dir:  "examples/network/basic",
			in:   "module \"vpc\" {\n  source = \"../../..\"\n}\nmodule \"other\" {\n  source = \"../..\"\n}\n",
			want: "module \"vpc\" {\n  source  = \"registry.example.com/acme/vpc/aws\"\n  version = \"1.2.3\"\n}\nmodule \"other\" {\n  source = \"../..\"\n}\n",
		},
		{
			name: "tabs, alignment spaces and a trailing comment",
			in:   "module \"vpc\" {\n\tsource    =   \"../..\" # the module itself\n\tname      = \"x\"\n}\n",
			want: "module \"vpc\" {\n\tsource  = \"registry.example.com/acme/vpc/aws\" # the module itself\n\tversion = \"1.2.3\"\n\tname      = \"x\"\n}\n",
		},
		{
			name: "CRLF line endings",
			in:   "module \"vpc\" {\r\n  source = \"../..\"\r\n  name   = \"x\"\r\n}\r\n",
			want: "module \"vpc\" {\r\n  source  = \"registry.example.com/acme/vpc/aws\"\r\n  version = \"1.2.3\"\r\n  name   = \"x\"\r\n}\r\n",
		},
		{
			name: "existing version updated in place",
			in:   "module \"vpc\" {\n  source = \"../..\"\n  name   = \"x\"\n  version = \"0.0.1\"\n}\n",
			want: "module \"vpc\" {\n  source  = \"registry.example.com/acme/vpc/aws\"\n  name   = \"x\"\n  version = \"1.2.3\"\n}\n",
		},
		{
			name:    "empty version adds no line",
			version: "-",
			in:      "module \"vpc\" {\n  source = \"../..\"\n}\n",
			want:    "module \"vpc\" {\n  source = \"registry.example.com/acme/vpc/aws\"\n}\n",
		},
		{
			name: "no newline at the end of the block line",
			in:   "module \"vpc\" {\n  source = \"../..\"\n}",
			want: "module \"vpc\" {\n  source  = \"registry.example.com/acme/vpc/aws\"\n  version = \"1.2.3\"\n}",
		},
		{
			name: "several blocks and surroundings untouched",
			in: `# Example: the module with its submodule.
provider "aws" {
  region = "eu-west-1" # source = "../.."
}

module "vpc" {
  source = "../.."

  tags = {
    source = "../.."
  }
}

/* module "commented" {
  source = "../.."
} */

locals {
  doc = <<-EOT
    module "in_heredoc" {
      source = "../.."
    }
  EOT
}

module "subnets" {
  source = "../../modules/subnets"
  vpc_id = module.vpc.vpc_id
}
`,
			want: `# Example: the module with its submodule.
provider "aws" {
  region = "eu-west-1" # source = "../.."
}

module "vpc" {
  source  = "registry.example.com/acme/vpc/aws"
  version = "1.2.3"

  tags = {
    source = "../.."
  }
}

/* module "commented" {
  source = "../.."
} */

locals {
  doc = <<-EOT
    module "in_heredoc" {
      source = "../.."
    }
  EOT
}

module "subnets" {
  source  = "registry.example.com/acme/vpc/aws//modules/subnets"
  version = "1.2.3"
  vpc_id = module.vpc.vpc_id
}
`,
		},
		{
			name: "braces inside strings and interpolation do not confuse depth",
			in:   "locals {\n  a = \"}}}\"\n  b = \"${merge({}, {x = \"}\"})}\"\n}\n\nmodule \"vpc\" {\n  name   = \"{${var.x}}\"\n  source = \"../..\"\n}\n",
			want: "locals {\n  a = \"}}}\"\n  b = \"${merge({}, {x = \"}\"})}\"\n}\n\nmodule \"vpc\" {\n  name   = \"{${var.x}}\"\n  source  = \"registry.example.com/acme/vpc/aws\"\n  version = \"1.2.3\"\n}\n",
		},
		{
			name: "module block with unquoted label",
			in:   "module vpc {\n  source = \"../..\"\n}\n",
			want: "module vpc {\n  source  = \"registry.example.com/acme/vpc/aws\"\n  version = \"1.2.3\"\n}\n",
		},
		{name: "registry source", in: "module \"vpc\" {\n  source  = \"terraform-aws-modules/vpc/aws\"\n  version = \"5.0.0\"\n}\n"},
		{name: "git source", in: "module \"vpc\" {\n  source = \"git::https://example.com/vpc.git?ref=v1\"\n}\n"},
		{name: "path leaving the archive", in: "module \"vpc\" {\n  source = \"../../../shared\"\n}\n"},
		{name: "another example", in: "module \"other\" {\n  source = \"../complete\"\n}\n"},
		{name: "local child of the example", in: "module \"child\" {\n  source = \"./child\"\n}\n"},
		{name: "absolute path", in: "module \"vpc\" {\n  source = \"/srv/modules/vpc\"\n}\n"},
		{name: "interpolated source", in: "module \"vpc\" {\n  source = \"../..${var.suffix}\"\n}\n"},
		{name: "escaped source", in: "module \"vpc\" {\n  source = \"..\\/..\"\n}\n"},
		{name: "one-line block", in: "module \"vpc\" { source = \"../..\" }\n"},
		{name: "attribute not alone on its line", in: "module \"vpc\" {\n  source = \"../..\" name = \"x\"\n}\n"},
		{name: "source inside a nested block", in: "resource \"x\" \"y\" {\n  source = \"../..\"\n}\n"},
		{name: "module attribute not at top level", in: "locals {\n  module \"vpc\" {\n    source = \"../..\"\n  }\n}\n"},
		{name: "unterminated string", in: "module \"vpc\" {\n  source = \"../..\n}\n"},
		{name: "unterminated heredoc", in: "locals {\n  x = <<EOT\nmodule \"vpc\" {\n  source = \"../..\"\n}\n"},
		{name: "empty", in: ""},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			dir := tt.dir
			if dir == "" {
				dir = "examples/basic"
			}
			version := tt.version
			switch version {
			case "":
				version = "1.2.3"
			case "-":
				version = ""
			}
			want := tt.want
			if want == "" {
				want = tt.in
			}
			got := RewriteExampleSource(tt.in, dir, testAddress, version)
			if got != want {
				t.Errorf("RewriteExampleSource:\n--- got\n%s\n--- want\n%s", got, want)
			}
		})
	}
}

func TestRewriteExampleSourceQuotes(t *testing.T) {
	got := RewriteExampleSource("module \"m\" {\n  source = \"../..\"\n}\n", "examples/a", `host/ns/"name"/${p}`, `1.0.0"`)
	want := "module \"m\" {\n  source  = \"host/ns/\\\"name\\\"/$${p}\"\n  version = \"1.0.0\\\"\"\n}\n"
	if got != want {
		t.Errorf("quoting:\n%s\nwant:\n%s", got, want)
	}
}

// The fixture's examples are what users see; both relative calls must be rewritten.
func TestRewriteFixtureExamples(t *testing.T) {
	for _, tt := range []struct{ dir, want string }{
		{"examples/basic", `source  = "registry.example.com/acme/vpc/aws//modules/subnets"`},
		{"examples/complete", `source  = "registry.example.com/acme/vpc/aws//modules/routes"`},
	} {
		b, err := os.ReadFile("testdata/fixtures/complete/" + tt.dir + "/main.tf")
		if err != nil {
			t.Fatal(err)
		}
		got := RewriteExampleSource(string(b), tt.dir, testAddress, "1.4.0")
		for _, want := range []string{"  source  = \"registry.example.com/acme/vpc/aws\"\n  version = \"1.4.0\"\n", tt.want} {
			if !strings.Contains(got, want) {
				t.Errorf("%s: rewritten main.tf lacks %q:\n%s", tt.dir, want, got)
			}
		}
		if strings.Contains(got, `"../..`) {
			t.Errorf("%s: a relative source survived:\n%s", tt.dir, got)
		}
	}
}

func FuzzRewriteExampleSource(f *testing.F) {
	f.Add("module \"vpc\" {\n  source = \"../..\"\n}\n")
	f.Add("x = <<EOT\n}\nEOT\n\"${\"}\"}\"")
	f.Add("/* unterminated")
	f.Fuzz(func(t *testing.T, in string) {
		out := RewriteExampleSource(in, "examples/a", testAddress, "1.0.0")
		if !strings.Contains(in, "module") && out != in {
			t.Errorf("content without module blocks changed:\n%q\n%q", in, out)
		}
	})
}
