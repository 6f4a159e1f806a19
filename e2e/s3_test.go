package e2e

import (
	"fmt"
	"io"
	"net/http"
	"net/url"
	"strings"
	"testing"

	"github.com/cairn-registry/cairn/internal/testenv"
)

// With the S3 backend and presigning on, terraform's archive fetch goes to
// the object store: Cairn's signed URL answers go-getter's HEAD itself and
// redirects the GET to a presigned S3 URL.
func TestPresignedS3Downloads(t *testing.T) {
	t.Parallel()
	requireTerraform(t)
	s3 := testenv.S3(t)
	s := startInProcess(t, map[string]string{
		"CAIRN_STORAGE": "s3", "CAIRN_S3_ENDPOINT": s3.Endpoint, "CAIRN_S3_BUCKET": s3.Bucket,
		"CAIRN_S3_ACCESS_KEY": s3.AccessKey, "CAIRN_S3_SECRET_KEY": s3.SecretKey, "CAIRN_S3_TLS": "false",
		"CAIRN_S3_PRESIGN": "true",
	})
	var g struct{ ID int64 }
	s.json("POST", "/groups", map[string]any{"path": "acme", "name": "acme"}, &g)
	s.json("POST", "/projects", map[string]any{"path": "vpc", "namespace_id": g.ID}, nil)
	mod := moduleTarGzBytes(t, "4.2.0")
	if code, body := s.upload(nil, "acme/vpc", "vpc", "aws", "4.2.0", mod); code != 201 {
		t.Fatalf("upload = %d %s", code, body)
	}
	code, hdr, _ := s.do("GET", "/v1/modules/acme/vpc/aws/4.2.0/download", map[string]string{"Authorization": "Bearer " + s.admin}, nil)
	get := hdr.Get("X-Terraform-Get")
	if code != 204 || !strings.HasPrefix(get, s.srv.URL) {
		t.Fatalf("download = %d %q", code, get)
	}
	u, _ := url.Parse(get)
	code, hdr, _ = s.do("HEAD", u.RequestURI(), nil, nil)
	if code != 200 || hdr.Get("Content-Length") != fmt.Sprint(len(mod)) {
		t.Fatalf("HEAD archive = %d length %q", code, hdr.Get("Content-Length"))
	}
	code, hdr, _ = s.do("GET", u.RequestURI(), nil, nil)
	loc := hdr.Get("Location")
	if code != 302 || !strings.Contains(loc, s3.Endpoint) || !strings.Contains(loc, "X-Amz-Signature") {
		t.Fatalf("GET archive = %d Location %q, want a redirect to presigned S3", code, loc)
	}
	resp, err := http.Get(loc)
	if err != nil {
		t.Fatal(err)
	}
	body, _ := io.ReadAll(resp.Body)
	resp.Body.Close()
	if resp.StatusCode != 200 || string(body) != string(mod) {
		t.Fatalf("presigned GET = %d, %d bytes", resp.StatusCode, len(body))
	}
	// And terraform itself (HEAD + redirected GET through go-getter).
	cfg := fmt.Sprintf("host \"registry.cairn.test\" {\n  services = {\n    \"modules.v1\" = \"%s/v1/modules/\"\n  }\n}\ncredentials \"registry.cairn.test\" {\n  token = %q\n}\n", s.srv.URL, s.admin)
	got, err := terraformGet(t, "registry.cairn.test/acme/vpc/aws", "4.2.0", cfg)
	if err != nil || !strings.Contains(got, `"4.2.0"`) {
		t.Fatalf("terraform get through presigned S3: %v\n%s", err, got)
	}
}
