package blobs_test

import (
	"context"
	"errors"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/cairn-registry/cairn/blobs"
	"github.com/cairn-registry/cairn/blobs/blobstest"
)

// The observing wrapper is still a compliant store, and reports each
// operation with missing objects as answers, not errors.
func TestObservedFS(t *testing.T) {
	fs, err := blobs.NewFS(t.TempDir())
	if err != nil {
		t.Fatal(err)
	}
	var mu sync.Mutex
	seen := map[string]int{}
	var failures []string
	store := blobs.Observed(fs, func(op string, d time.Duration, err error) {
		mu.Lock()
		defer mu.Unlock()
		seen[op]++
		if err != nil {
			failures = append(failures, op+": "+err.Error())
		}
		if d < 0 {
			t.Errorf("%s took %v", op, d)
		}
	})
	if blobs.Observed(fs, nil) != fs {
		t.Error("Observed(s, nil) should be s itself")
	}

	ctx := context.Background()
	if _, err := store.Put(ctx, "obs/a", strings.NewReader("hello"), blobs.PutOptions{}); err != nil {
		t.Fatal(err)
	}
	obj, _, err := store.Get(ctx, "obs/a")
	if err != nil {
		t.Fatal(err)
	}
	obj.Close()
	if _, err := store.Stat(ctx, "obs/missing"); !errors.Is(err, blobs.ErrNotFound) {
		t.Fatalf("Stat(missing) = %v, want ErrNotFound", err)
	}
	if err := store.Delete(ctx, "obs/a"); err != nil {
		t.Fatal(err)
	}
	mu.Lock()
	for _, op := range []string{"put", "get", "stat", "delete"} {
		if seen[op] != 1 {
			t.Errorf("%s observed %d times, want 1", op, seen[op])
		}
	}
	if len(failures) > 0 {
		t.Errorf("reported as failures: %v", failures)
	}
	mu.Unlock()

	blobstest.Run(t, store)
}
