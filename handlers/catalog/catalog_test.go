package catalog_test

import (
	"io"
	"net/http"
	"strings"
	"testing"

	"github.com/cairn-registry/cairn/internal/testenv"
	"github.com/cairn-registry/cairn/internal/testserver"
)

func TestMain(m *testing.M) { testenv.Main(m) }

// TestCatalogRoutes checks that the catalog's routes coexist with the
// module protocol's and Terrareg's per-module routes on one router (gin
// wants one parameter name per position): every path reaches the handler
// it names, including a namespace called "search".
func TestCatalogRoutes(t *testing.T) {
	t.Parallel()
	srv := testserver.Start(t)
	admin := srv.AdminToken

	for _, tc := range []struct {
		path   string
		status int
		// body is a fragment of the answer that only the intended handler
		// writes; absent, one that it must not contain.
		body, absent string
	}{
		{"/v1/modules", 200, `"modules":[]`, ""},
		{"/v1/modules/", 200, `"modules":[]`, ""},
		{"/v1/modules/search", 400, `q is required`, ""},
		{"/v1/modules/search?q=vpc", 200, `"modules":[]`, ""},
		{"/v1/modules/acme", 404, `"errors":["Not Found"]`, ""},
		{"/v1/modules/acme/vpc", 404, `"errors":["Not Found"]`, ""},
		{"/v1/modules/acme/vpc/aws", 404, `"errors":["Not Found"]`, ""},
		{"/v1/modules/acme/vpc/aws/1.0.0", 404, `"errors":["Not Found"]`, ""},
		{"/v1/modules/acme/vpc/aws/versions", 404, `"errors":["Not Found"]`, ""},
		{"/v1/modules/acme/vpc/aws/downloads/summary", 404, `"errors":["Not Found"]`, ""},
		{"/v1/modules/search/vpc/aws", 404, `"errors":["Not Found"]`, ""}, // namespace "search"
		{"/api/registry/v1/modules/search?q=x", 200, `"modules":[]`, ""},
		{"/api/registry/v1/modules/acme/vpc/aws/downloads/summary", 404, `"errors":["Not Found"]`, ""},
		{"/v1/terrareg/health", 200, `{"message":"Ok"}`, ""},
		{"/v1/terrareg/namespaces", 200, `[]`, ""},
		{"/v1/terrareg/modules/search?q=", 200, `"modules":[]`, ""},
		{"/v1/terrareg/modules/search/filters?q=", 200, `"contributed":0`, ""},
		{"/v1/terrareg/search_filters?q=", 200, `"contributed":0`, ""},
		{"/v1/terrareg/modules/acme", 404, `{"errors":["Not Found"]}`, ""},
		{"/v1/terrareg/modules/acme/vpc", 404, `{"errors":["Not Found"]}`, ""},
		// Terrareg's per-module routes (another handler) still answer.
		{"/v1/terrareg/modules/acme/vpc/aws", 0, "", `"modules"`},
		{"/v1/terrareg/modules/search/filters/aws", 0, "", `"contributed"`},
		{"/v1/terrareg/modules/acme/vpc/aws/1.0.0", 0, "", `"modules"`},
	} {
		req, _ := http.NewRequest("GET", srv.URL+tc.path, nil)
		req.Header.Set("Authorization", "Bearer "+admin)
		resp, err := http.DefaultClient.Do(req)
		if err != nil {
			t.Fatal(err)
		}
		b, _ := io.ReadAll(resp.Body)
		resp.Body.Close()
		body := string(b)
		if tc.status == 0 {
			// Not ours: anything but the router's own 404 and our shapes.
			if body == `{"message":"404 Not Found"}` || (tc.absent != "" && strings.Contains(body, tc.absent)) {
				t.Errorf("GET %s = %d %s: the request did not reach its handler", tc.path, resp.StatusCode, body)
			}
			continue
		}
		if resp.StatusCode != tc.status || !strings.Contains(body, tc.body) {
			t.Errorf("GET %s = %d %s, want %d with %s", tc.path, resp.StatusCode, body, tc.status, tc.body)
		}
	}
}
