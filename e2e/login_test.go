package e2e

import (
	"bufio"
	"encoding/json"
	"fmt"
	"io"
	"net/url"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/chromedp/chromedp"

	"github.com/cairn-registry/cairn/internal/testenv"
)

// TestTerraformLogin drives `terraform login` end to end: terraform asks,
// the test answers, opens the URL terraform prints in Chromium (already
// signed in), clicks Authorize; terraform stores the token, `terraform get`
// of a private module works with it, and after the token is revoked
// terraform gets the registry's 401.
func TestTerraformLogin(t *testing.T) {
	requireTerraform(t)
	r := startRegistry(t)
	// The administrator's password, for the browser.
	cmd := exec.Command(testenv.Binary(t), "admin", "set-password", "root")
	cmd.Env = os.Environ()
	for k, v := range r.env {
		cmd.Env = append(cmd.Env, k+"="+v)
	}
	cmd.Stdin = strings.NewReader("correct horse battery\n")
	if out, err := cmd.CombinedOutput(); err != nil {
		t.Fatalf("admin set-password: %v\n%s", err, out)
	}
	var acme, infra struct{ ID int64 }
	r.api(r.admin, "POST", "/groups", map[string]any{"path": "acme", "name": "acme", "visibility": "private"}, &acme)
	r.api(r.admin, "POST", "/projects", map[string]any{"path": "infra", "namespace_id": acme.ID}, &infra)
	if code, body := r.curlUpload(t, "PRIVATE-TOKEN: "+r.admin, "acme%2Finfra", "vpc", "aws", "1.0.0", moduleTarGz(t, "1.0.0")); code != 201 {
		t.Fatalf("upload = %d %s", code, body)
	}

	b := testenv.Browser(t)
	testenv.Step(t, b, "sign in", chromedp.Navigate(r.proc.URL+"/login"), chromedp.WaitVisible(chromedp.CSS("#username")),
		chromedp.SendKeys(chromedp.CSS("#username"), "root"), chromedp.SendKeys(chromedp.CSS("#password"), "correct horse battery"),
		chromedp.Click(chromedp.CSS("form.stack button")), chromedp.WaitVisible(chromedp.CSS(".who")))

	home := t.TempDir()
	// terraform writes credentials.tfrc.json into an existing ~/.terraform.d.
	if err := os.MkdirAll(filepath.Join(home, ".terraform.d"), 0o700); err != nil {
		t.Fatal(err)
	}
	tfEnv := append(os.Environ(), "HOME="+home, "SSL_CERT_FILE="+r.proc.CAPath(), "CHECKPOINT_DISABLE=1", "DISPLAY=", "BROWSER=true")
	login := exec.Command("terraform", "login", "-no-color", r.host)
	login.Env = tfEnv
	login.Stdin = strings.NewReader("yes\n")
	stdout, err := login.StdoutPipe()
	if err != nil {
		t.Fatal(err)
	}
	login.Stderr = login.Stdout
	if err := login.Start(); err != nil {
		t.Fatal(err)
	}
	done := make(chan error, 1)
	var output strings.Builder
	urls := make(chan string, 1)
	go func() {
		sc := bufio.NewScanner(io.TeeReader(stdout, &output))
		for sc.Scan() {
			line := strings.TrimSpace(sc.Text())
			if strings.HasPrefix(line, "https://"+r.host+"/oauth/authorization?") {
				urls <- line
			}
		}
		done <- login.Wait()
	}()
	var authURL string
	select {
	case authURL = <-urls:
	case err := <-done:
		t.Fatalf("terraform login ended before printing its URL: %v\n%s", err, output.String())
	case <-time.After(time.Minute):
		login.Process.Kill()
		t.Fatalf("terraform login printed no URL:\n%s", output.String())
	}
	if u, _ := url.Parse(authURL); u.Query().Get("client_id") != "terraform-cli" || u.Query().Get("code_challenge_method") != "S256" {
		t.Fatalf("authorization URL %s lacks the client or PKCE", authURL)
	}
	testenv.Step(t, b, "open the consent page", chromedp.Navigate(authURL), chromedp.WaitVisible(chromedp.CSS("#authorize")))
	testenv.Screenshot(t, b, "consent")
	testenv.Step(t, b, "authorize", chromedp.Click(chromedp.CSS("#authorize")))
	select {
	case err := <-done:
		if err != nil {
			t.Fatalf("terraform login: %v\n%s", err, output.String())
		}
	case <-time.After(time.Minute):
		login.Process.Kill()
		t.Fatalf("terraform login did not finish:\n%s", output.String())
	}
	var creds struct {
		Credentials map[string]struct {
			Token string `json:"token"`
		} `json:"credentials"`
	}
	raw, err := os.ReadFile(filepath.Join(home, ".terraform.d", "credentials.tfrc.json"))
	if err != nil || json.Unmarshal(raw, &creds) != nil || !strings.HasPrefix(creds.Credentials[r.host].Token, "cairnpat-") {
		t.Fatalf("credentials after terraform login = %s (%v); want a Cairn token for %s\n%s", raw, err, r.host, output.String())
	}

	// With TF_CLI_CONFIG_FILE set terraform reads no credentials.tfrc.json:
	// unset it, as a user's shell has it.
	source := r.host + "/acme/vpc/aws"
	if out, err := terraformGet(t, source, "1.0.0", "", "HOME="+home, "SSL_CERT_FILE="+r.proc.CAPath(), "TF_CLI_CONFIG_FILE="); err != nil {
		t.Fatalf("terraform get with the login token: %v\n%s\nserver:\n%s", err, out, r.proc.Out.String())
	}
	// The token is a personal access token named "terraform login" with read_api.
	var pats []struct {
		ID     int64    `json:"id"`
		Name   string   `json:"name"`
		Scopes []string `json:"scopes"`
	}
	r.api(r.admin, "GET", "/personal_access_tokens", nil, &pats)
	var loginTok int64
	for _, p := range pats {
		if p.Name == "terraform login" && len(p.Scopes) == 1 && p.Scopes[0] == "read_api" {
			loginTok = p.ID
		}
	}
	if loginTok == 0 {
		t.Fatalf("no read_api token named \"terraform login\" among %+v", pats)
	}
	if code := r.api(r.admin, "DELETE", fmt.Sprintf("/personal_access_tokens/%d", loginTok), nil, nil); code != 204 {
		t.Fatalf("revoking the login token = %d", code)
	}
	out, err := terraformGet(t, source, "1.0.0", "", "HOME="+home, "SSL_CERT_FILE="+r.proc.CAPath(), "TF_CLI_CONFIG_FILE=")
	if err == nil || !strings.Contains(out, "401") {
		t.Fatalf("terraform get with the revoked token: %v\n%s\nwant the registry's 401", err, out)
	}
}
