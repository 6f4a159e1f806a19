package testserver

import (
	"context"
	"io"
	"net/http"
	"strings"
	"testing"

	gitlab "gitlab.com/gitlab-org/api/client-go"
)

// GitLab is client-go, unchanged, pointed at the server; "" is anonymous.
func (s *Server) GitLab(t testing.TB, token string) *gitlab.Client {
	t.Helper()
	gl, err := gitlab.NewClient(token, gitlab.WithBaseURL(s.URL+"/api/v4"), gitlab.WithoutRetries())
	if err != nil {
		t.Fatal(err)
	}
	return gl
}

// Raw sends a request client-go cannot express and returns the response
// with its body read; a body is sent as JSON.
func (s *Server) Raw(t testing.TB, method, path string, header map[string]string, body string) (*http.Response, []byte) {
	t.Helper()
	req, err := http.NewRequest(method, s.URL+path, strings.NewReader(body))
	if err != nil {
		t.Fatal(err)
	}
	if body != "" {
		req.Header.Set("Content-Type", "application/json")
	}
	for k, v := range header {
		req.Header.Set(k, v)
	}
	resp, err := http.DefaultClient.Do(req)
	if err != nil {
		t.Fatal(err)
	}
	defer resp.Body.Close()
	b, err := io.ReadAll(resp.Body)
	if err != nil {
		t.Fatal(err)
	}
	return resp, b
}

// CreateUser creates a user and mints them an api-scoped token, both as
// the administrator.
func (s *Server) CreateUser(t testing.TB, username string) (*gitlab.User, string) {
	t.Helper()
	admin := s.GitLab(t, s.AdminToken)
	u, resp, err := admin.Users.CreateUser(&gitlab.CreateUserOptions{Username: gitlab.Ptr(username),
		Name: gitlab.Ptr(strings.ToUpper(username[:1]) + username[1:]), Email: gitlab.Ptr(username + "@example.com"),
		Password: gitlab.Ptr("correct horse battery")})
	if err != nil || resp.StatusCode != http.StatusCreated {
		t.Fatalf("POST /users %s = %v, %v; want 201", username, Status(resp), err)
	}
	pat, resp, err := admin.Users.CreatePersonalAccessToken(u.ID, &gitlab.CreatePersonalAccessTokenOptions{
		Name: gitlab.Ptr(username + "-api"), Scopes: &[]string{"api"}})
	if err != nil || resp.StatusCode != http.StatusCreated {
		t.Fatalf("POST /users/%d/personal_access_tokens = %v, %v; want 201", u.ID, Status(resp), err)
	}
	if !strings.HasPrefix(pat.Token, "cairnpat-") {
		t.Fatalf("created token = %q, want the cairnpat- secret in the create response", pat.Token)
	}
	return u, pat.Token
}

// AuditEvents counts audit events with this action and object type by actor.
func (s *Server) AuditEvents(t testing.TB, action, objectType, actor string) int {
	t.Helper()
	var n int
	err := s.Pool.QueryRow(context.Background(),
		`SELECT count(*) FROM audit_events WHERE action = $1 AND object_type = $2 AND actor_name = $3`,
		action, objectType, actor).Scan(&n)
	if err != nil {
		t.Fatal(err)
	}
	return n
}

// Status is a client-go response's status for messages.
func Status(resp *gitlab.Response) any {
	if resp == nil {
		return "no response"
	}
	return resp.StatusCode
}

// WantStatus fails unless a client-go call answered code.
func WantStatus(t testing.TB, what string, resp *gitlab.Response, err error, code int) {
	t.Helper()
	if resp == nil {
		t.Fatalf("%s: no response (%v), want %d", what, err, code)
	}
	if resp.StatusCode != code {
		t.Fatalf("%s = %d (%v), want %d", what, resp.StatusCode, err, code)
	}
}
