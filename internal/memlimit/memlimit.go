// Package memlimit gives the Go runtime a soft memory limit from the
// container's, so a replica near its limit collects garbage harder instead
// of being killed: Go's default heap target is twice the live heap, which
// at 100,000 memberships and modules (about 170 MiB live) passes a 512 MiB
// limit under load.
package memlimit

import (
	"os"
	"path/filepath"
	"runtime/debug"
	"strconv"
	"strings"
)

// Fraction of the container's limit the Go heap may use; the rest is for
// stacks, the runtime and memory not yet returned to the system.
const fraction = 0.9

// Apply sets the runtime's soft memory limit to 90% of the cgroup memory
// limit found under root ("/sys/fs/cgroup" in production), unless GOMEMLIMIT
// is set (the runtime applied it already) or there is no limit. It returns
// the limit in force (0: none) and where it came from.
func Apply(root string) (int64, string) {
	if os.Getenv("GOMEMLIMIT") != "" {
		return debug.SetMemoryLimit(-1), "GOMEMLIMIT"
	}
	limit, ok := cgroupLimit(root)
	if !ok {
		return 0, ""
	}
	soft := int64(float64(limit) * fraction)
	debug.SetMemoryLimit(soft)
	return soft, "cgroup"
}

// cgroupLimit reads the memory limit of cgroup v2 (memory.max) or v1
// (memory/memory.limit_in_bytes); "max" or v1's huge sentinel mean none.
func cgroupLimit(root string) (int64, bool) {
	for _, f := range []string{"memory.max", filepath.Join("memory", "memory.limit_in_bytes")} {
		data, err := os.ReadFile(filepath.Join(root, f))
		if err != nil {
			continue
		}
		s := strings.TrimSpace(string(data))
		if s == "max" {
			return 0, false
		}
		n, err := strconv.ParseInt(s, 10, 64)
		if err != nil || n <= 0 || n >= 1<<60 {
			return 0, false
		}
		return n, true
	}
	return 0, false
}
