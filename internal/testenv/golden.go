package testenv

import (
	"bytes"
	"flag"
	"os"
	"path/filepath"
	"strings"
	"testing"
)

// update is the one flag that rewrites golden files: go test ./... -update.
var update = flag.Bool("update", false, "rewrite golden files (testdata/**) from the current output")

// Golden compares got (already in its canonical form) with the golden file
// at path, relative to the test's package, or rewrites the file under
// -update. A difference is reported at its first line.
func Golden(t testing.TB, path string, got []byte) {
	t.Helper()
	if *update {
		if err := os.MkdirAll(filepath.Dir(path), 0o755); err != nil {
			t.Fatal(err)
		}
		if err := os.WriteFile(path, got, 0o644); err != nil {
			t.Fatal(err)
		}
		return
	}
	want, err := os.ReadFile(path)
	if err != nil {
		t.Fatalf("golden file %s: %v (run the test with -update to create it)", path, err)
	}
	if bytes.Equal(got, want) {
		return
	}
	gl, wl := strings.Split(string(got), "\n"), strings.Split(string(want), "\n")
	for i := range max(len(gl), len(wl)) {
		var g, w string
		if i < len(gl) {
			g = gl[i]
		}
		if i < len(wl) {
			w = wl[i]
		}
		if g != w {
			t.Errorf("%s differs at line %d:\n  want: %s\n  got:  %s\n(run the test with -update to accept the change)", path, i+1, w, g)
			return
		}
	}
}

// Updating reports whether -update was given (generated documents are
// rewritten too).
func Updating() bool { return *update }
