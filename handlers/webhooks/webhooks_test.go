package webhooks_test

import (
	"context"
	"crypto/hmac"
	"crypto/sha256"
	"encoding/hex"
	"encoding/json"
	"fmt"
	"net/http"
	"strings"
	"testing"
	"time"

	"github.com/cairn-registry/cairn/gitimport/gittest"
	"github.com/cairn-registry/cairn/internal/testenv"
	"github.com/cairn-registry/cairn/internal/testserver"
)

func TestMain(m *testing.M) { testenv.Main(m) }

const testSecretKey = "MDEyMzQ1Njc4OWFiY2RlZjAxMjM0NTY3ODlhYmNkZWY=" // 32 bytes, base64

func gitCairn(t *testing.T, repo *gittest.Repo, opts ...testserver.Option) *testserver.Server {
	t.Helper()
	s := testserver.Start(t, append([]testserver.Option{testserver.Env(map[string]string{"CAIRN_SECRET_KEY": testSecretKey})}, opts...)...)
	s.Imports.SetTLSConfig(repo.TLS)
	return s
}

func call(t *testing.T, s *testserver.Server, method, path string, header map[string]string, body string) (int, string) {
	t.Helper()
	resp, b := s.Raw(t, method, path, header, body)
	return resp.StatusCode, string(b)
}

func admin(s *testserver.Server) map[string]string {
	return map[string]string{"PRIVATE-TOKEN": s.AdminToken}
}

func must(t *testing.T, s *testserver.Server, method, path, body string, code int) string {
	t.Helper()
	got, b := call(t, s, method, path, admin(s), body)
	if got != code {
		t.Fatalf("%s %s = %d %s; want %d", method, path, got, b, code)
	}
	return b
}

// gitModule creates acme/vpc/aws on repo and returns its webhook secret.
func gitModule(t *testing.T, s *testserver.Server, repoURL string) string {
	t.Helper()
	must(t, s, "POST", "/v1/terrareg/namespaces", `{"name":"acme"}`, http.StatusOK)
	settings, _ := json.Marshal(map[string]any{"repo_clone_url_template": repoURL, "git_tag_format": "v{version}",
		"git_path": gittest.ModulePath})
	must(t, s, "POST", "/v1/terrareg/modules/acme/vpc/aws/create", string(settings), http.StatusOK)
	var out struct {
		Secret string `json:"webhook_secret"`
	}
	if err := json.Unmarshal([]byte(must(t, s, "POST", "/v1/terrareg/modules/acme/vpc/aws/git/webhook_secret", "", http.StatusOK)), &out); err != nil || out.Secret == "" {
		t.Fatalf("no webhook secret: %v", err)
	}
	return out.Secret
}

func sign(secret, body string) string {
	m := hmac.New(sha256.New, []byte(secret))
	m.Write([]byte(body))
	return "sha256=" + hex.EncodeToString(m.Sum(nil))
}

type hookAnswer struct {
	Status  string  `json:"status"`
	JobIDs  []int64 `json:"job_ids"`
	Message string  `json:"message"`
}

func hook(t *testing.T, s *testserver.Server, source string, header map[string]string, body string, code int) hookAnswer {
	t.Helper()
	got, b := call(t, s, "POST", "/v1/terrareg/modules/acme/vpc/aws/hooks/"+source, header, body)
	if got != code {
		t.Fatalf("%s hook = %d %s; want %d", source, got, b, code)
	}
	var a hookAnswer
	_ = json.Unmarshal([]byte(b), &a)
	return a
}

// waitJob waits until job id has finished and returns its state body.
func waitJob(t *testing.T, s *testserver.Server, id int64) map[string]any {
	t.Helper()
	deadline := time.Now().Add(60 * time.Second)
	for time.Now().Before(deadline) {
		var j map[string]any
		b := must(t, s, "GET", fmt.Sprintf("/v1/terrareg/modules/acme/vpc/aws/imports/%d", id), "", http.StatusOK)
		if err := json.Unmarshal([]byte(b), &j); err != nil {
			t.Fatal(err)
		}
		if j["state"] == "succeeded" || j["state"] == "failed" {
			return j
		}
		time.Sleep(100 * time.Millisecond)
	}
	t.Fatalf("job %d did not finish", id)
	return nil
}

func deliveries(t *testing.T, s *testserver.Server) int {
	t.Helper()
	var n int
	if err := s.Pool.QueryRow(context.Background(), "SELECT count(*) FROM webhook_deliveries").Scan(&n); err != nil {
		t.Fatal(err)
	}
	return n
}

func jobCount(t *testing.T, s *testserver.Server) int {
	t.Helper()
	var n int
	if err := s.Pool.QueryRow(context.Background(), "SELECT count(*) FROM jobs").Scan(&n); err != nil {
		t.Fatal(err)
	}
	return n
}

func TestGitHubWebhook(t *testing.T) {
	t.Parallel()
	repo := gittest.Serve(t, gittest.Options{})
	s := gitCairn(t, repo)
	secret := gitModule(t, s, repo.URL)
	body := `{"action":"published","release":{"tag_name":"v1.0.0"}}`

	// Wrong, missing and other modules' signatures: 401, nothing recorded.
	for _, sig := range []string{sign("wrong", body), "", "sha1=" + strings.Repeat("0", 40), sign(secret, body+" ")} {
		h := map[string]string{"X-GitHub-Event": "release", "X-GitHub-Delivery": "d-1"}
		if sig != "" {
			h["X-Hub-Signature-256"] = sig
		}
		hook(t, s, "github", h, body, http.StatusUnauthorized)
	}
	if _, b := call(t, s, "POST", "/v1/terrareg/modules/acme/nope/aws/hooks/github",
		map[string]string{"X-GitHub-Event": "release", "X-Hub-Signature-256": sign(secret, body)}, body); !strings.Contains(b, "Invalid webhook signature") {
		t.Fatalf("a hook for a module that does not exist: %s", b)
	}
	if n, j := deliveries(t, s), jobCount(t, s); n != 0 || j != 0 {
		t.Fatalf("refused deliveries left %d deliveries and %d jobs", n, j)
	}

	h := map[string]string{"X-GitHub-Event": "release", "X-GitHub-Delivery": "d-1", "X-Hub-Signature-256": sign(secret, body)}
	a := hook(t, s, "github", h, body, http.StatusAccepted)
	if a.Status != "Queued" || len(a.JobIDs) != 1 {
		t.Fatalf("release hook = %+v", a)
	}
	if j := waitJob(t, s, a.JobIDs[0]); j["state"] != "succeeded" {
		t.Fatalf("job = %v", j)
	}
	if v := must(t, s, "GET", "/v1/modules/acme/vpc/aws/versions", "", http.StatusOK); !strings.Contains(v, `"1.0.0"`) {
		t.Fatalf("versions after the release hook: %s", v)
	}
	// A replay is harmless: answered from the record, nothing enqueued.
	jobs := jobCount(t, s)
	if a := hook(t, s, "github", h, body, http.StatusOK); a.Status != "Replayed" {
		t.Fatalf("replayed hook = %+v", a)
	}
	if jobCount(t, s) != jobs {
		t.Fatal("a replayed delivery enqueued a job")
	}
	// The same release delivered again (a new delivery id): the existing
	// version is reported, not an error.
	h["X-GitHub-Delivery"] = "d-2"
	a = hook(t, s, "github", h, body, http.StatusAccepted)
	j := waitJob(t, s, a.JobIDs[0])
	if j["state"] != "succeeded" || !strings.Contains(fmt.Sprint(j["result"]), "exists") {
		t.Fatalf("redelivered release: job = %v", j)
	}

	// A tag push; a tag outside the tag format is ignored with a reason.
	push := `{"ref":"refs/tags/v1.1.0","after":"` + repo.Commits["v1.1.0"] + `","deleted":false}`
	a = hook(t, s, "github", map[string]string{"X-GitHub-Event": "push", "X-GitHub-Delivery": "d-3",
		"X-Hub-Signature-256": sign(secret, push)}, push, http.StatusAccepted)
	waitJob(t, s, a.JobIDs[0])
	other := `{"ref":"refs/tags/not-a-version","after":"` + repo.Commits["v1.1.0"] + `"}`
	a = hook(t, s, "github", map[string]string{"X-GitHub-Event": "push", "X-GitHub-Delivery": "d-4",
		"X-Hub-Signature-256": sign(secret, other)}, other, http.StatusOK)
	if a.Status != "Ignored" || !strings.Contains(a.Message, "does not match the git tag format") {
		t.Fatalf("push of not-a-version = %+v", a)
	}
	if v := must(t, s, "GET", "/v1/modules/acme/vpc/aws/versions", "", http.StatusOK); !strings.Contains(v, `"1.1.0"`) {
		t.Fatalf("versions after the tag push: %s", v)
	}
	list := must(t, s, "GET", "/v1/terrareg/modules/acme/vpc/aws/hooks/deliveries", "", http.StatusOK)
	for _, want := range []string{`"release:published"`, `"ignored"`, `"queued"`} {
		if !strings.Contains(list, want) {
			t.Errorf("deliveries lack %s: %s", want, list)
		}
	}
	if deliveries(t, s) != 4 {
		t.Errorf("%d deliveries recorded; want 4", deliveries(t, s))
	}
	// Redeliver the first one.
	var recs []struct {
		ID    int64  `json:"id"`
		Event string `json:"event"`
	}
	_ = json.Unmarshal([]byte(list), &recs)
	first := recs[len(recs)-1]
	rd := must(t, s, "POST", fmt.Sprintf("/v1/terrareg/modules/acme/vpc/aws/hooks/deliveries/%d/redeliver", first.ID), "", http.StatusAccepted)
	if !strings.Contains(rd, `"queued"`) {
		t.Fatalf("redeliver = %s", rd)
	}
}

func TestGitLabWebhook(t *testing.T) {
	t.Parallel()
	repo := gittest.Serve(t, gittest.Options{})
	s := gitCairn(t, repo)
	secret := gitModule(t, s, repo.URL)
	body := `{"object_kind":"tag_push","ref":"refs/tags/v1.1.0","after":"` + repo.Commits["v1.1.0"] + `"}`
	hook(t, s, "gitlab", map[string]string{"X-Gitlab-Event": "Tag Push Hook", "X-Gitlab-Token": "wrong"}, body, http.StatusUnauthorized)
	hook(t, s, "gitlab", map[string]string{"X-Gitlab-Event": "Tag Push Hook"}, body, http.StatusUnauthorized)
	if deliveries(t, s) != 0 {
		t.Fatal("a refused delivery was recorded")
	}
	a := hook(t, s, "gitlab", map[string]string{"X-Gitlab-Event": "Tag Push Hook", "X-Gitlab-Token": secret,
		"X-Gitlab-Event-UUID": "u-1"}, body, http.StatusAccepted)
	if j := waitJob(t, s, a.JobIDs[0]); j["state"] != "succeeded" {
		t.Fatalf("job = %v", j)
	}
	if v := must(t, s, "GET", "/v1/modules/acme/vpc/aws/versions", "", http.StatusOK); !strings.Contains(v, `"1.1.0"`) {
		t.Fatalf("versions after the GitLab tag push: %s", v)
	}
}

func TestBitbucketWebhook(t *testing.T) {
	t.Parallel()
	repo := gittest.Serve(t, gittest.Options{})
	s := gitCairn(t, repo)
	secret := gitModule(t, s, repo.URL)
	body := `{"eventKey":"repo:refs_changed","changes":[{"ref":{"id":"refs/tags/v1.0.0","displayId":"v1.0.0","type":"TAG"},"type":"ADD"},` +
		`{"ref":{"id":"refs/heads/main","displayId":"main","type":"BRANCH"},"type":"UPDATE"}]}`
	hook(t, s, "bitbucket", map[string]string{"X-Event-Key": "repo:refs_changed", "X-Hub-Signature": sign("nope", body)}, body, http.StatusUnauthorized)
	if deliveries(t, s) != 0 {
		t.Fatal("a refused delivery was recorded")
	}
	a := hook(t, s, "bitbucket", map[string]string{"X-Event-Key": "repo:refs_changed", "X-Request-Id": "r-1",
		"X-Hub-Signature": sign(secret, body)}, body, http.StatusAccepted)
	if len(a.JobIDs) != 1 {
		t.Fatalf("bitbucket hook = %+v", a)
	}
	if j := waitJob(t, s, a.JobIDs[0]); j["state"] != "succeeded" {
		t.Fatalf("job = %v", j)
	}
}

// TestImportSurvivesReplicaLoss: a replica stops in the middle of an
// import (its fetch hangs); the job is taken over by another replica
// sharing the database and finishes there. A job claimed by a replica that
// died (its lease expired) is run again as well.
func TestImportSurvivesReplicaLoss(t *testing.T) {
	t.Parallel()
	repo := gittest.Serve(t, gittest.Options{})
	db := testenv.DatabaseURL(t)
	var jobID int64
	// Replica a goes away mid-import: its cleanup (shutdown) runs when the
	// subtest ends, while the fetch hangs.
	t.Run("replica a", func(t *testing.T) {
		a := gitCairn(t, repo, testserver.Database(db))
		secret := gitModule(t, a, repo.URL)
		repo.Hold()
		body := `{"action":"published","release":{"tag_name":"v1.0.0"}}`
		ans := hook(t, a, "github", map[string]string{"X-GitHub-Event": "release", "X-GitHub-Delivery": "k-1",
			"X-Hub-Signature-256": sign(secret, body)}, body, http.StatusAccepted)
		jobID = ans.JobIDs[0]
		deadline := time.Now().Add(30 * time.Second)
		for repo.Fetches.Load() == 0 && time.Now().Before(deadline) {
			time.Sleep(20 * time.Millisecond)
		}
		if repo.Fetches.Load() == 0 {
			t.Fatal("the import never reached the repository")
		}
	})
	if jobID == 0 {
		t.FailNow()
	}
	repo.Release()
	b := gitCairn(t, repo, testserver.Database(db))
	if j := waitJob(t, b, jobID); j["state"] != "succeeded" {
		t.Fatalf("job after the replica loss = %v", j)
	}

	// A claim whose replica died: running, lease expired.
	var id int64
	if err := b.Pool.QueryRow(context.Background(), `INSERT INTO jobs (kind, module_id, args, state, attempts, lease_token, lease_until, requested_by)
		SELECT 'git_import', id, '{"tag":"v1.1.0","version":"1.1.0","requester":{"webhook":"github"},"existing_ok":true}',
		       'running', 1, 'dead-replica', now() - interval '1 second', 'webhook:github'
		FROM terraform_modules WHERE name = 'vpc' RETURNING id`).Scan(&id); err != nil {
		t.Fatal(err)
	}
	j := waitJob(t, b, id)
	if j["state"] != "succeeded" || j["attempts"].(float64) != 2 {
		t.Fatalf("job of a dead replica = %v", j)
	}
	if v := must(t, b, "GET", "/v1/modules/acme/vpc/aws/versions", "", http.StatusOK); !strings.Contains(v, `"1.1.0"`) || !strings.Contains(v, `"1.0.0"`) {
		t.Fatalf("versions: %s", v)
	}
}
