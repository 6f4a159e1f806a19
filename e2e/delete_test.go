package e2e

import (
	"encoding/json"
	"fmt"
	"strings"
	"testing"
)

// GitLab's Packages API lists a project's module versions; maintainers
// delete them, after which "latest" moves back, the archive is gone, and a
// module without versions disappears.
func TestDeleteModuleVersions(t *testing.T) {
	t.Parallel()
	s := startInProcess(t, nil)
	var g struct{ ID int64 }
	s.json("POST", "/groups", map[string]any{"path": "acme", "name": "acme"}, &g)
	var proj struct{ ID int64 }
	s.json("POST", "/projects", map[string]any{"path": "vpc", "namespace_id": g.ID}, &proj)
	var dev struct{ ID int64 }
	s.json("POST", "/users", map[string]any{"username": "dev", "name": "Dev", "email": "dev@example.test", "password": "correct horse battery"}, &dev)
	s.json("POST", fmt.Sprintf("/projects/%d/members", proj.ID), map[string]any{"user_id": dev.ID, "access_level": 30}, nil)
	var devTok struct{ Token string }
	s.json("POST", fmt.Sprintf("/users/%d/personal_access_tokens", dev.ID), map[string]any{"name": "t", "scopes": []string{"api"}}, &devTok)
	for _, v := range []string{"1.0.0", "1.1.0"} {
		if code, body := s.upload(nil, "acme/vpc", "vpc", "aws", v, goodModule); code != 201 {
			t.Fatalf("upload %s = %d %s", v, code, body)
		}
	}
	admin := map[string]string{"PRIVATE-TOKEN": s.admin}
	code, _, body := s.do("GET", fmt.Sprintf("/api/v4/projects/%d/packages?package_type=terraform_module", proj.ID), admin, nil)
	var pkgs []struct {
		ID          int64
		Name        string
		Version     string
		PackageType string `json:"package_type"`
	}
	json.Unmarshal([]byte(body), &pkgs)
	if code != 200 || len(pkgs) != 2 || pkgs[1].Name != "vpc/aws" || pkgs[1].Version != "1.1.0" || pkgs[1].PackageType != "terraform_module" {
		t.Fatalf("packages = %d %s", code, body)
	}
	del := func(headers map[string]string, id int64) int {
		code, _, _ := s.do("DELETE", fmt.Sprintf("/api/v4/projects/acme%%2Fvpc/packages/%d", id), headers, nil)
		return code
	}
	if code := del(map[string]string{"PRIVATE-TOKEN": devTok.Token}, pkgs[1].ID); code != 403 {
		t.Fatalf("developer deleting = %d, want 403", code)
	}
	if code := del(nil, pkgs[1].ID); code != 401 {
		t.Fatalf("anonymous deleting = %d, want 401", code)
	}
	blobs := s.blobCount()
	if code := del(admin, pkgs[1].ID); code != 204 {
		t.Fatalf("maintainer deleting = %d, want 204", code)
	}
	if s.blobCount() != blobs-2 {
		t.Fatalf("the deleted version's archive or its zip is still stored")
	}
	auth := map[string]string{"Authorization": "Bearer " + s.admin}
	code, hdr, _ := s.do("GET", "/v1/modules/acme/vpc/aws/download", auth, nil)
	if code != 302 || !strings.Contains(hdr.Get("Location"), "/1.0.0/download") {
		t.Fatalf("latest after deleting 1.1.0 = %d %s", code, hdr.Get("Location"))
	}
	if code := del(admin, pkgs[1].ID); code != 404 {
		t.Fatalf("deleting twice = %d, want 404", code)
	}
	if code := del(admin, pkgs[0].ID); code != 204 {
		t.Fatalf("deleting the last version = %d", code)
	}
	if code, _, body := s.do("GET", "/v1/modules/acme/vpc/aws/versions", auth, nil); code != 404 {
		t.Fatalf("versions of a module without versions = %d %s, want 404", code, body)
	}
	var n int
	s.srv.Pool.QueryRow(t.Context(), "SELECT count(*) FROM terraform_modules").Scan(&n)
	if n != 0 {
		t.Fatalf("%d module rows remain after deleting every version", n)
	}
}
