package memlimit

import (
	"math"
	"os"
	"path/filepath"
	"runtime/debug"
	"testing"
)

func TestApply(t *testing.T) {
	defer debug.SetMemoryLimit(debug.SetMemoryLimit(-1))
	t.Setenv("GOMEMLIMIT", "")
	os.Unsetenv("GOMEMLIMIT")
	write := func(dir, name, content string) string {
		p := filepath.Join(dir, name)
		os.MkdirAll(filepath.Dir(p), 0o755)
		if err := os.WriteFile(p, []byte(content), 0o644); err != nil {
			t.Fatal(err)
		}
		return dir
	}

	v2 := write(t.TempDir(), "memory.max", "536870912\n")
	if got, src := Apply(v2); got != 483183820 || src != "cgroup" || debug.SetMemoryLimit(-1) != 483183820 {
		t.Fatalf("cgroup v2 512 MiB: limit %d from %q, runtime %d", got, src, debug.SetMemoryLimit(-1))
	}
	v1 := write(t.TempDir(), "memory/memory.limit_in_bytes", "1073741824\n")
	if got, _ := Apply(v1); got != 966367641 {
		t.Fatalf("cgroup v1 1 GiB: limit %d", got)
	}

	debug.SetMemoryLimit(math.MaxInt64)
	for name, root := range map[string]string{
		"v2 unlimited": write(t.TempDir(), "memory.max", "max\n"),
		"v1 unlimited": write(t.TempDir(), "memory/memory.limit_in_bytes", "9223372036854771712\n"),
		"no cgroup":    t.TempDir(),
		"garbage":      write(t.TempDir(), "memory.max", "lots\n"),
	} {
		if got, src := Apply(root); got != 0 || src != "" || debug.SetMemoryLimit(-1) != math.MaxInt64 {
			t.Errorf("%s: limit %d from %q, runtime %d", name, got, src, debug.SetMemoryLimit(-1))
		}
	}

	t.Setenv("GOMEMLIMIT", "300MiB")
	debug.SetMemoryLimit(300 << 20) // what the runtime did at start
	if got, src := Apply(v2); got != 300<<20 || src != "GOMEMLIMIT" {
		t.Fatalf("GOMEMLIMIT set: limit %d from %q", got, src)
	}
}
