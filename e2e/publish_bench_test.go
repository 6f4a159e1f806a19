package e2e

import (
	"archive/tar"
	"bytes"
	"compress/gzip"
	"encoding/json"
	"fmt"
	"io"
	"net/http"
	"sort"
	"strings"
	"testing"
	"time"

	"github.com/cairn-registry/cairn/internal/testserver"
)

// publishBenchModule builds a module of exactly n files: a README and
// Terraform files (variables, outputs, resources, data sources, module
// calls) at the root, in five submodules and in three examples (each with a
// README and a terraform.tfvars), and .tf files filling the rest.
func publishBenchModule(n int) ([]byte, int) {
	files := map[string]string{
		"README.md": "# Bench\n\nA module of many files.\n\n| Name | Description |\n|------|-------------|\n| `x` | y |\n",
	}
	tf := func(dir string, i int) string {
		return fmt.Sprintf(`variable "name_%[2]d" {
  type        = string
  description = "Name number %[2]d of %[1]s."
  default     = "n%[2]d"
}

variable "count_%[2]d" {
  type    = number
  default = %[2]d
}

resource "aws_s3_bucket" "b%[2]d" {
  bucket = var.name_%[2]d
  tags   = { Index = "%[2]d" }
}

data "aws_iam_policy_document" "p%[2]d" {
  statement {
    actions   = ["s3:GetObject"]
    resources = ["${aws_s3_bucket.b%[2]d.arn}/*"]
  }
}

output "bucket_%[2]d" {
  description = "Bucket %[2]d."
  value       = aws_s3_bucket.b%[2]d.id
}
`, dir, i)
	}
	dirs := []string{"", "modules/a", "modules/b", "modules/c", "modules/d", "modules/e", "examples/basic", "examples/full", "examples/multi"}
	for _, d := range dirs {
		prefix := ""
		if d != "" {
			prefix = d + "/"
			files[prefix+"README.md"] = "# " + d + "\n"
		}
		if strings.HasPrefix(d, "examples/") {
			files[prefix+"terraform.tfvars"] = "name_0 = \"example\"\n"
			files[prefix+"main.tf"] = "module \"bench\" {\n  source = \"../..\"\n}\n\nmodule \"a\" {\n  source = \"../../modules/a\"\n}\n"
		}
	}
	files["versions.tf"] = "terraform {\n  required_version = \">= 1.3\"\n  required_providers {\n    aws = {\n      source  = \"hashicorp/aws\"\n      version = \">= 5.0\"\n    }\n  }\n}\n\nmodule \"a\" {\n  source = \"./modules/a\"\n}\n\nmodule \"b\" {\n  source = \"./modules/b\"\n}\n"
	for i := 0; len(files) < n; i++ {
		d := dirs[i%len(dirs)]
		prefix := ""
		if d != "" {
			prefix = d + "/"
		}
		files[fmt.Sprintf("%sfile_%03d.tf", prefix, i)] = tf(d, i)
	}
	names := make([]string, 0, len(files))
	for name := range files {
		names = append(names, name)
	}
	sort.Strings(names)
	var buf bytes.Buffer
	gz := gzip.NewWriter(&buf)
	tw := tar.NewWriter(gz)
	for _, name := range names {
		tw.WriteHeader(&tar.Header{Name: name, Mode: 0o644, Size: int64(len(files[name])), Typeflag: tar.TypeReg})
		tw.Write([]byte(files[name]))
	}
	tw.Close()
	gz.Close()
	return buf.Bytes(), len(files)
}

// BenchmarkPublish500Files uploads a 500-file module through HTTP to a
// Cairn running in this process (real PostgreSQL, filesystem blobs) and
// reports how long one publish takes — validation, storage, metadata
// extraction and the database commit, until the 201 — against a target of
// one second, and how long the Terrareg details of the result take to
// read. Run with -benchtime 1x (make bench).
func BenchmarkPublish500Files(b *testing.B) {
	ts := testserver.Start(b)
	srv, admin := ts.Server, ts.AdminToken
	call := func(method, path string, body []byte) (int, string, time.Duration) {
		req, _ := http.NewRequest(method, srv.URL+path, bytes.NewReader(body))
		req.Header.Set("PRIVATE-TOKEN", admin)
		req.Header.Set("Content-Type", "application/json")
		start := time.Now()
		resp, err := http.DefaultClient.Do(req)
		if err != nil {
			b.Fatalf("%s %s: %v", method, path, err)
		}
		out, _ := io.ReadAll(resp.Body)
		resp.Body.Close()
		return resp.StatusCode, string(out), time.Since(start)
	}
	var group struct{ ID int64 }
	code, body, _ := call("POST", "/api/v4/groups", []byte(`{"path":"bench","name":"bench"}`))
	json.Unmarshal([]byte(body), &group)
	if code != 201 {
		b.Fatalf("create group = %d %s", code, body)
	}
	if code, body, _ := call("POST", "/api/v4/projects", fmt.Appendf(nil, `{"path":"mods","namespace_id":%d}`, group.ID)); code != 201 {
		b.Fatalf("create project = %d %s", code, body)
	}

	archive, n := publishBenchModule(500)
	if n != 500 {
		b.Fatalf("module has %d files, want 500", n)
	}
	var publish, details []time.Duration
	b.ResetTimer()
	for i := range b.N {
		version := fmt.Sprintf("1.0.%d", i)
		code, body, d := call("PUT", "/api/v4/projects/bench%2Fmods/packages/terraform/modules/many/aws/"+version+"/file", archive)
		if code != 201 {
			b.Fatalf("publish %s = %d %s", version, code, body)
		}
		publish = append(publish, d)
		b.StopTimer()
		code, body, d = call("GET", "/v1/terrareg/modules/bench/many/aws/"+version, nil)
		if code != 200 || !strings.Contains(body, `"name":"name_0"`) {
			b.Fatalf("details of %s = %d %.200s", version, code, body)
		}
		details = append(details, d)
		b.StartTimer()
	}
	b.StopTimer()

	median := func(ds []time.Duration) time.Duration {
		s := append([]time.Duration(nil), ds...)
		sort.Slice(s, func(i, j int) bool { return s[i] < s[j] })
		return s[len(s)/2]
	}
	pub, det := median(publish), median(details)
	verdict := "met"
	if pub >= time.Second {
		verdict = "MISSED"
	}
	fmt.Printf("\nPublish a 500-file module (%d KiB .tar.gz) over HTTP, in-process server, real PostgreSQL, %d run(s):\n", len(archive)/1024, len(publish))
	fmt.Printf("  publish (PUT until 201)   %8s   target < 1s: %s\n", pub.Round(100*time.Microsecond), verdict)
	fmt.Printf("  Terrareg version details  %8s\n", det.Round(100*time.Microsecond))
	b.ReportMetric(float64(pub.Microseconds())/1000, "ms/publish")
	b.ReportMetric(float64(det.Microseconds())/1000, "ms/details")
}
