// Command testdeps prepares the components the test suite builds itself (the
// pinned MinIO server and helm CLI), so the first test run does not spend its time
// budget compiling them.
package main

import (
	"fmt"
	"os"

	"github.com/cairn-registry/cairn/internal/testenv"
)

func main() {
	if bin, err := testenv.HelmBinary(); err != nil {
		fmt.Fprintln(os.Stderr, "testdeps: helm unavailable (chart tests will skip):", err)
	} else {
		fmt.Println("testdeps: helm at", bin)
	}
	bin, err := testenv.MinIOBinary()
	if err != nil {
		fmt.Fprintln(os.Stderr, "testdeps: MinIO unavailable (S3 tests will fall back to moto_server):", err)
		return
	}
	fmt.Println("testdeps: MinIO at", bin)
}
