package deploy

import (
	"bufio"
	"debug/elf"
	"os"
	"os/exec"
	"path/filepath"
	"regexp"
	"strings"
	"testing"

	"github.com/cairn-registry/cairn/internal/testenv"
)

// instruction is one Dockerfile instruction (continuation lines joined).
type instruction struct {
	cmd   string // upper-case: FROM, RUN, ...
	args  string
	stage int // index of the FROM it belongs to
}

// parseDockerfile reads ../Dockerfile into its instructions; there is no
// Docker engine on the build machines, so the image is checked statically.
func parseDockerfile(t *testing.T) []instruction {
	t.Helper()
	f, err := os.Open("../Dockerfile")
	if err != nil {
		t.Fatal(err)
	}
	defer f.Close()
	var out []instruction
	stage := -1
	var cur strings.Builder
	sc := bufio.NewScanner(f)
	for sc.Scan() {
		line := strings.TrimSpace(sc.Text())
		if cur.Len() == 0 && (line == "" || strings.HasPrefix(line, "#")) {
			continue
		}
		if strings.HasPrefix(line, "#") {
			continue // a comment inside a continued instruction
		}
		if strings.HasSuffix(line, "\\") {
			cur.WriteString(strings.TrimSuffix(line, "\\") + " ")
			continue
		}
		cur.WriteString(line)
		full := cur.String()
		cur.Reset()
		cmd, args, _ := strings.Cut(full, " ")
		cmd = strings.ToUpper(cmd)
		if cmd == "FROM" {
			stage++
		}
		out = append(out, instruction{cmd: cmd, args: strings.Join(strings.Fields(args), " "), stage: stage})
	}
	return out
}

func TestDockerfile(t *testing.T) {
	ins := parseDockerfile(t)
	var froms []instruction
	final := map[string][]string{}
	for _, in := range ins {
		if in.cmd == "FROM" {
			froms = append(froms, in)
		}
	}
	if len(froms) < 2 {
		t.Fatalf("want a multi-stage build, got %d FROM lines", len(froms))
	}
	last := len(froms) - 1
	for _, in := range ins {
		if in.stage == last {
			final[in.cmd] = append(final[in.cmd], in.args)
		}
	}
	base := froms[last].args
	if !regexp.MustCompile(`^(gcr\.io/distroless/static(-debian\d+)?(:\S+)?|scratch)$`).MatchString(base) {
		t.Errorf("final stage FROM %q: want distroless/static (CA certificates included) or scratch", base)
	}
	if base == "scratch" && !strings.Contains(strings.Join(final["COPY"], "\n"), "ca-certificates") {
		t.Errorf("a scratch image must copy CA certificates")
	}
	// The binary is built static, with the version stamped.
	var build string
	for _, in := range ins {
		if in.cmd == "RUN" && strings.Contains(in.args, "go build") {
			build = in.args
		}
	}
	for _, want := range []string{"CGO_ENABLED=0", "-trimpath", "./cmd/cairn", "main.version"} {
		if !strings.Contains(build, want) {
			t.Errorf("go build step %q lacks %s", build, want)
		}
	}
	// Non-root.
	users := final["USER"]
	if len(users) == 0 {
		t.Fatal("final stage has no USER")
	}
	if u := users[len(users)-1]; u == "root" || u == "0" || strings.HasPrefix(u, "0:") {
		t.Errorf("USER %s: must not be root", u)
	}
	// cairn serve as entry point.
	ep := strings.Join(final["ENTRYPOINT"], "")
	if !regexp.MustCompile(`^\["/usr/local/bin/cairn",\s*"serve"\]$`).MatchString(ep) {
		t.Errorf("ENTRYPOINT %s: want [\"/usr/local/bin/cairn\", \"serve\"]", ep)
	}
	// Kubernetes probes check health; a HEALTHCHECK would need a shell or curl.
	if len(final["HEALTHCHECK"]) > 0 {
		t.Errorf("HEALTHCHECK present: health is checked by the orchestrator's probes on /healthz and /readyz")
	}
	env := imageEnv(final["ENV"])
	if env["CAIRN_REQUIRE_DATABASE_URL"] != "true" {
		t.Errorf("the image must set CAIRN_REQUIRE_DATABASE_URL=true (no embedded PostgreSQL); ENV = %v", env)
	}
	if _, ok := env["CAIRN_DATABASE_URL"]; ok {
		t.Errorf("the image must not set CAIRN_DATABASE_URL")
	}
	// No PostgreSQL in the image.
	for _, in := range ins {
		if in.stage == last && regexp.MustCompile(`(?i)postgres|apt-get|apk add`).MatchString(in.args) {
			t.Errorf("final stage %s %s: no PostgreSQL or packages in the image", in.cmd, in.args)
		}
	}
	// .dockerignore keeps VCS data, local data and build outputs out of the context.
	ign, err := os.ReadFile("../.dockerignore")
	if err != nil {
		t.Fatal(err)
	}
	for _, want := range []string{".git", "bin/", "data/"} {
		if !strings.Contains(string(ign), want) {
			t.Errorf(".dockerignore lacks %s", want)
		}
	}
}

// imageEnv parses ENV lines (key=value pairs, quotes not used here).
func imageEnv(lines []string) map[string]string {
	env := map[string]string{}
	for _, l := range lines {
		for _, kv := range strings.Fields(l) {
			if k, v, ok := strings.Cut(kv, "="); ok {
				env[k] = strings.Trim(v, `"`)
			}
		}
	}
	return env
}

// TestImageBinary builds cairn the way the Dockerfile does and checks that
// it is static and that, with the image's environment, serve refuses to start
// without CAIRN_DATABASE_URL and says so.
func TestImageBinary(t *testing.T) {
	testenv.SkipShort(t, "a Go build of the image binary")
	t.Parallel()
	bin := filepath.Join(t.TempDir(), "cairn")
	cmd := exec.Command("go", "build", "-trimpath", "-ldflags", "-s -w -X main.version=image-test", "-o", bin, "./cmd/cairn")
	cmd.Dir = ".."
	cmd.Env = append(os.Environ(), "CGO_ENABLED=0", "GOOS=linux")
	if out, err := cmd.CombinedOutput(); err != nil {
		t.Fatalf("go build: %v\n%s", err, out)
	}
	f, err := elf.Open(bin)
	if err != nil {
		t.Fatal(err)
	}
	for _, p := range f.Progs {
		if p.Type == elf.PT_INTERP {
			t.Errorf("the image binary has a program interpreter: it must be static (CGO_ENABLED=0)")
		}
	}
	if libs, _ := f.ImportedLibraries(); len(libs) > 0 {
		t.Errorf("the image binary links %v: it must be static", libs)
	}
	f.Close()

	run := func(extra ...string) (string, error) {
		c := exec.Command(bin, "serve")
		c.Env = []string{"HOME=" + t.TempDir(), "PATH=/nonexistent"}
		for k, v := range imageEnvFromDockerfile(t) {
			if k == "CAIRN_DATA_DIR" {
				v = t.TempDir()
			}
			c.Env = append(c.Env, k+"="+v)
		}
		c.Env = append(c.Env, extra...)
		out, err := c.CombinedOutput()
		return string(out), err
	}
	out, err := run("CAIRN_LISTEN=127.0.0.1:0")
	if err == nil {
		t.Fatalf("serve started without CAIRN_DATABASE_URL:\n%s", out)
	}
	if !strings.Contains(out, "CAIRN_DATABASE_URL") || !strings.Contains(out, "required") {
		t.Errorf("serve without CAIRN_DATABASE_URL in the image must name it:\n%s", out)
	}
	if strings.Contains(out, "initdb") || strings.Contains(out, "embedded PostgreSQL\"") {
		t.Errorf("serve tried to start an embedded PostgreSQL:\n%s", out)
	}
	if v, err := exec.Command(bin, "version").Output(); err != nil || !strings.Contains(string(v), "image-test") {
		t.Errorf("cairn version = %q, %v", v, err)
	}
}

func imageEnvFromDockerfile(t *testing.T) map[string]string {
	var lines []string
	ins := parseDockerfile(t)
	last := ins[len(ins)-1].stage
	for _, in := range ins {
		if in.stage == last && in.cmd == "ENV" {
			lines = append(lines, in.args)
		}
	}
	return imageEnv(lines)
}
