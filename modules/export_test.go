package modules

import (
	"io"
	"sync/atomic"
	"testing"

	"github.com/cairn-registry/cairn/modules/archive"
)

// CountZipEncodes counts the package's zip encodings (archive.WriteZip) until
// the test ends; fail, when set, makes them fail. Tests using it must not be
// parallel: the hook is package-wide.
func CountZipEncodes(t testing.TB, fail error) func() int {
	var n atomic.Int64
	orig := encodeZip
	encodeZip = func(w io.Writer, ra io.ReaderAt, size int64, lim archive.Limits) error {
		n.Add(1)
		if fail != nil {
			return fail
		}
		return orig(w, ra, size, lim)
	}
	t.Cleanup(func() { encodeZip = orig })
	return func() int { return int(n.Load()) }
}
