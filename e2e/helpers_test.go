package e2e

import (
	"encoding/base64"
	"os"
	"os/exec"
	"testing"
	"time"

	"github.com/cairn-registry/cairn/internal/testenv"
)

// runCairn runs the binary to completion (bounded to a minute) and returns
// its combined output.
func runCairn(t testing.TB, env map[string]string, args ...string) (string, error) {
	t.Helper()
	cmd := exec.Command(testenv.Binary(t), args...)
	cmd.Env = os.Environ()
	for k, v := range env {
		cmd.Env = append(cmd.Env, k+"="+v)
	}
	done := make(chan struct{})
	time.AfterFunc(time.Minute, func() {
		select {
		case <-done:
		default:
			cmd.Process.Kill()
		}
	})
	out, err := cmd.CombinedOutput()
	close(done)
	return string(out), err
}

func basicAuth(user, pass string) string {
	return base64.StdEncoding.EncodeToString([]byte(user + ":" + pass))
}
