package queries_test

import (
	"context"
	"sync"
	"testing"

	"github.com/jackc/pgx/v5"

	"github.com/cairn-registry/cairn/internal/testenv"
	"github.com/cairn-registry/cairn/queries"
)

func TestMain(m *testing.M) { testenv.Main(m) }

func TestMigrateTwiceIsNoOp(t *testing.T) {
	t.Parallel()
	ctx := context.Background()
	url := testenv.EmptyDatabaseURL(t)
	n, err := queries.Migrate(ctx, url)
	if err != nil {
		t.Fatalf("first Migrate: %v", err)
	}
	if n != queries.MigrationCount() || n == 0 {
		t.Fatalf("first Migrate applied %d migrations, want all %d", n, queries.MigrationCount())
	}
	before := schemaFingerprint(t, url)
	n, err = queries.Migrate(ctx, url)
	if err != nil {
		t.Fatalf("second Migrate: %v", err)
	}
	if n != 0 {
		t.Fatalf("second Migrate applied %d migrations, want 0", n)
	}
	if after := schemaFingerprint(t, url); after != before {
		t.Fatalf("schema changed on the second run:\nbefore %s\nafter  %s", before, after)
	}
}

func TestConcurrentMigrateAppliesOnce(t *testing.T) {
	t.Parallel()
	ctx := context.Background()
	url := testenv.EmptyDatabaseURL(t)
	var wg sync.WaitGroup
	counts := make([]int, 4)
	errs := make([]error, 4)
	for i := range counts {
		wg.Add(1)
		go func() {
			defer wg.Done()
			counts[i], errs[i] = queries.Migrate(ctx, url)
		}()
	}
	wg.Wait()
	total := 0
	for i := range counts {
		if errs[i] != nil {
			t.Fatalf("Migrate #%d: %v", i, errs[i])
		}
		total += counts[i]
	}
	if total != queries.MigrationCount() {
		t.Fatalf("concurrent runs applied %d migrations in total (%v), want exactly %d", total, counts, queries.MigrationCount())
	}
}

// schemaFingerprint lists every column of the public schema and the goose
// version table's row count.
func schemaFingerprint(t *testing.T, url string) string {
	t.Helper()
	ctx := context.Background()
	conn, err := pgx.Connect(ctx, url)
	if err != nil {
		t.Fatal(err)
	}
	defer conn.Close(ctx)
	var s string
	err = conn.QueryRow(ctx, `
		SELECT string_agg(table_name || '.' || column_name || ':' || data_type, ',' ORDER BY table_name, column_name)
		       || '|' || (SELECT count(*) FROM goose_db_version)
		FROM information_schema.columns WHERE table_schema = 'public'`).Scan(&s)
	if err != nil {
		t.Fatal(err)
	}
	return s
}
