// Package backup is cairn admin backup and cairn admin restore: a consistent
// copy of an installation (its database and its blob store's objects) in a
// directory, and its restoration into an empty database and blob store.
//
// A backup directory holds
//
//	manifest.json   what was taken: format, time, Cairn version, the objects
//	                (key, size, sha256) and the blob keys the database refers to
//	database.dump   pg_dump --format=custom of the database
//	blobs/<key>     every object of the blob store (absent with --skip-blobs)
//
// Consistency while Cairn runs: pg_dump runs inside a snapshot exported
// from a repeatable-read transaction, and the blob keys the database refers
// to are read in that same snapshot. Objects are immutable once written, so
// copying them afterwards yields every object the dump refers to, except one
// whose version was deleted (and its object removed) between the snapshot and
// the copy: such keys are reported (Manifest.Missing) and the backup still
// completes, as the version is gone from the live registry too.
package backup

import (
	"context"
	"crypto/sha256"
	"encoding/hex"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"log/slog"
	"os"
	"os/exec"
	"path/filepath"
	"sort"
	"strings"
	"time"

	"github.com/jackc/pgx/v5"

	"github.com/cairn-registry/cairn/blobs"
	"github.com/cairn-registry/cairn/config"
	"github.com/cairn-registry/cairn/internal/pgcluster"
	"github.com/cairn-registry/cairn/internal/server"
	"github.com/cairn-registry/cairn/queries"
)

// Format is the backup layout's version, recorded in the manifest.
const Format = 1

const (
	manifestFile = "manifest.json"
	dumpFile     = "database.dump"
	blobsDir     = "blobs"
)

// Object is one copied blob.
type Object struct {
	Key    string `json:"key"`
	Size   int64  `json:"size"`
	SHA256 string `json:"sha256"`
}

// Manifest describes a backup.
type Manifest struct {
	Format    int       `json:"format"`
	CreatedAt time.Time `json:"created_at"`
	Version   string    `json:"cairn_version"`
	// Storage is the backend the objects came from (fs or s3).
	Storage string `json:"storage"`
	// SkipBlobs: the objects were not copied (they are backed up by other
	// means, e.g. bucket versioning or replication).
	SkipBlobs bool     `json:"skip_blobs"`
	Objects   []Object `json:"objects,omitempty"`
	// Referenced counts the blob keys the database snapshot refers to.
	Referenced int `json:"referenced_blobs"`
	// Missing are referenced keys no longer in the store when copied.
	Missing []string `json:"missing,omitempty"`
}

// Options tune Backup and Restore.
type Options struct {
	SkipBlobs bool
	Version   string
	Log       *slog.Logger
}

// Backup writes a backup of the installation cfg names into dir, which must
// not exist or be empty.
func Backup(ctx context.Context, cfg *config.Config, dir string, opt Options) (*Manifest, error) {
	log := logger(opt)
	if err := emptyDir(dir, true); err != nil {
		return nil, err
	}
	pgDump, err := pgTool(cfg, "pg_dump")
	if err != nil {
		return nil, err
	}
	db, err := server.OpenDatabase(ctx, cfg, log)
	if err != nil {
		return nil, err
	}
	defer db.Close()

	// A repeatable-read transaction whose snapshot pg_dump shares, so the
	// dump and the list of referenced keys describe the same moment.
	conn, err := pgx.Connect(ctx, db.URL)
	if err != nil {
		return nil, fmt.Errorf("connect to the database: %w", err)
	}
	defer conn.Close(context.Background())
	tx, err := conn.BeginTx(ctx, pgx.TxOptions{IsoLevel: pgx.RepeatableRead, AccessMode: pgx.ReadOnly})
	if err != nil {
		return nil, err
	}
	defer tx.Rollback(context.Background())
	var snapshot string
	if err := tx.QueryRow(ctx, "SELECT pg_export_snapshot()").Scan(&snapshot); err != nil {
		return nil, fmt.Errorf("export snapshot: %w", err)
	}
	referenced, err := referencedKeys(ctx, tx)
	if err != nil {
		return nil, err
	}
	log.Info("dumping the database", "file", filepath.Join(dir, dumpFile))
	dump := exec.CommandContext(ctx, pgDump, "--format=custom", "--no-owner", "--no-privileges",
		"--snapshot="+snapshot, "--file="+filepath.Join(dir, dumpFile), "--dbname="+db.URL)
	if out, err := dump.CombinedOutput(); err != nil {
		return nil, fmt.Errorf("pg_dump: %w\n%s", err, strings.TrimSpace(string(out)))
	}
	tx.Rollback(ctx)

	m := &Manifest{Format: Format, CreatedAt: time.Now().UTC(), Version: opt.Version, Storage: cfg.Storage,
		SkipBlobs: opt.SkipBlobs, Referenced: len(referenced)}
	if !opt.SkipBlobs {
		store, err := server.OpenBlobs(ctx, cfg)
		if err != nil {
			return nil, err
		}
		var keys []string
		if err := store.List(ctx, "", func(info blobs.Info) error {
			keys = append(keys, info.Key)
			return nil
		}); err != nil {
			return nil, fmt.Errorf("list the blob store: %w", err)
		}
		sort.Strings(keys)
		copied := map[string]bool{}
		var total int64
		for _, key := range keys {
			obj, err := copyOut(ctx, store, key, dir)
			if errors.Is(err, blobs.ErrNotFound) {
				continue // deleted since listed
			}
			if err != nil {
				return nil, fmt.Errorf("copy %s: %w", key, err)
			}
			m.Objects = append(m.Objects, obj)
			copied[key] = true
			total += obj.Size
		}
		for _, k := range referenced {
			if !copied[k] {
				m.Missing = append(m.Missing, k)
			}
		}
		if len(m.Missing) > 0 {
			log.Warn("objects the database refers to were gone when copied (deleted since the snapshot?)", "keys", m.Missing)
		}
		log.Info("copied the blob store", "objects", len(m.Objects), "bytes", total)
	}
	if err := writeJSON(filepath.Join(dir, manifestFile), m); err != nil {
		return nil, err
	}
	return m, nil
}

// referencedKeys lists the blob keys the database refers to: every text
// column named *blob_key of the public schema.
func referencedKeys(ctx context.Context, tx pgx.Tx) ([]string, error) {
	rows, err := tx.Query(ctx, `SELECT table_name, column_name FROM information_schema.columns
		WHERE table_schema = 'public' AND column_name LIKE '%blob_key' AND data_type = 'text'`)
	if err != nil {
		return nil, err
	}
	cols, err := pgx.CollectRows(rows, func(r pgx.CollectableRow) ([2]string, error) {
		var c [2]string
		return c, r.Scan(&c[0], &c[1])
	})
	if err != nil {
		return nil, err
	}
	var keys []string
	for _, c := range cols {
		rows, err := tx.Query(ctx, fmt.Sprintf("SELECT DISTINCT %[2]s FROM %[1]s WHERE %[2]s IS NOT NULL",
			pgx.Identifier{c[0]}.Sanitize(), pgx.Identifier{c[1]}.Sanitize()))
		if err != nil {
			return nil, err
		}
		ks, err := pgx.CollectRows(rows, pgx.RowTo[string])
		if err != nil {
			return nil, err
		}
		keys = append(keys, ks...)
	}
	sort.Strings(keys)
	return keys, nil
}

func copyOut(ctx context.Context, store blobs.Store, key, dir string) (Object, error) {
	if err := blobs.CheckKey(key); err != nil {
		return Object{}, err
	}
	r, _, err := store.Get(ctx, key)
	if err != nil {
		return Object{}, err
	}
	defer r.Close()
	path := filepath.Join(dir, blobsDir, filepath.FromSlash(key))
	if err := os.MkdirAll(filepath.Dir(path), 0o700); err != nil {
		return Object{}, err
	}
	f, err := os.OpenFile(path, os.O_CREATE|os.O_EXCL|os.O_WRONLY, 0o600)
	if err != nil {
		return Object{}, err
	}
	h := sha256.New()
	n, err := io.Copy(io.MultiWriter(f, h), r)
	if err == nil {
		err = f.Sync()
	}
	if cerr := f.Close(); err == nil {
		err = cerr
	}
	if err != nil {
		return Object{}, err
	}
	return Object{Key: key, Size: n, SHA256: hex.EncodeToString(h.Sum(nil))}, nil
}

// Restore loads the backup in dir into the database and blob store cfg
// names. Both must be empty; with no CAIRN_DATABASE_URL the embedded cluster
// is created (under CAIRN_DATA_DIR) if it does not exist yet. Migrations
// newer than the backup are applied afterwards.
func Restore(ctx context.Context, cfg *config.Config, dir string, opt Options) (*Manifest, error) {
	log := logger(opt)
	var m Manifest
	b, err := os.ReadFile(filepath.Join(dir, manifestFile))
	if err != nil {
		return nil, fmt.Errorf("%s is not a Cairn backup: %w", dir, err)
	}
	if err := json.Unmarshal(b, &m); err != nil {
		return nil, fmt.Errorf("%s: %w", manifestFile, err)
	}
	if m.Format != Format {
		return nil, fmt.Errorf("%s: backup format %d, this Cairn reads %d", manifestFile, m.Format, Format)
	}
	pgRestore, err := pgTool(cfg, "pg_restore")
	if err != nil {
		return nil, err
	}
	// Verify the objects before touching anything.
	restoreBlobs := !m.SkipBlobs && !opt.SkipBlobs
	if restoreBlobs {
		for _, o := range m.Objects {
			if err := verify(dir, o); err != nil {
				return nil, err
			}
		}
	}

	dbURL, cluster, err := openEmptyDatabase(ctx, cfg, log)
	if err != nil {
		return nil, err
	}
	if cluster != nil {
		defer cluster.Stop()
	}
	var store blobs.Store
	if restoreBlobs {
		if store, err = server.OpenBlobs(ctx, cfg); err != nil {
			return nil, err
		}
		nonEmpty := errors.New("not empty")
		if err := store.List(ctx, "", func(info blobs.Info) error { return nonEmpty }); err != nil {
			if errors.Is(err, nonEmpty) {
				return nil, fmt.Errorf("the blob store (CAIRN_STORAGE=%s) is not empty: restore needs an empty one", cfg.Storage)
			}
			return nil, fmt.Errorf("list the blob store: %w", err)
		}
	}

	log.Info("restoring the database", "file", filepath.Join(dir, dumpFile))
	restore := exec.CommandContext(ctx, pgRestore, "--no-owner", "--no-privileges", "--exit-on-error",
		"--single-transaction", "--dbname="+dbURL, filepath.Join(dir, dumpFile))
	if out, err := restore.CombinedOutput(); err != nil {
		return nil, fmt.Errorf("pg_restore: %w\n%s", err, strings.TrimSpace(string(out)))
	}
	if n, err := queries.Migrate(ctx, dbURL); err != nil {
		return nil, err
	} else if n > 0 {
		log.Info("applied migrations newer than the backup", "count", n)
	}
	if restoreBlobs {
		var total int64
		for _, o := range m.Objects {
			f, err := os.Open(filepath.Join(dir, blobsDir, filepath.FromSlash(o.Key)))
			if err != nil {
				return nil, err
			}
			info, err := store.Put(ctx, o.Key, f, blobs.PutOptions{Size: o.Size})
			f.Close()
			if err != nil {
				return nil, fmt.Errorf("put %s: %w", o.Key, err)
			}
			if info.SHA256 != o.SHA256 {
				return nil, fmt.Errorf("put %s: stored sha256 %s, backup says %s", o.Key, info.SHA256, o.SHA256)
			}
			total += info.Size
		}
		log.Info("restored the blob store", "objects", len(m.Objects), "bytes", total)
	} else {
		log.Warn("objects not restored (--skip-blobs): the blob store must already hold them")
	}
	return &m, nil
}

// openEmptyDatabase returns the URL of the configured database (creating the
// embedded cluster and its database when none is configured) after checking
// that it has no tables.
func openEmptyDatabase(ctx context.Context, cfg *config.Config, log *slog.Logger) (string, *pgcluster.Cluster, error) {
	url := cfg.DatabaseURL
	var cluster *pgcluster.Cluster
	if url == "" {
		if err := os.MkdirAll(cfg.DataDir, 0o755); err != nil {
			return "", nil, fmt.Errorf("CAIRN_DATA_DIR: %w", err)
		}
		logf, err := os.OpenFile(filepath.Join(cfg.DataDir, "postgres.log"), os.O_CREATE|os.O_APPEND|os.O_WRONLY, 0o600)
		if err != nil {
			return "", nil, fmt.Errorf("CAIRN_DATA_DIR: %w", err)
		}
		log.Info("starting embedded PostgreSQL", "dir", cfg.PostgresDir())
		if cluster, err = pgcluster.Start(ctx, pgcluster.Options{Dir: cfg.PostgresDir(), BinDir: cfg.PGBin, Log: logf}); err != nil {
			logf.Close()
			return "", nil, err
		}
		if err := createDatabase(ctx, cluster.URL("postgres"), "cairn"); err != nil {
			cluster.Stop()
			return "", nil, err
		}
		url = cluster.URL("cairn")
	}
	conn, err := pgx.Connect(ctx, url)
	if err != nil {
		if cluster != nil {
			cluster.Stop()
		}
		return "", nil, fmt.Errorf("connect to the database: %w", err)
	}
	defer conn.Close(context.Background())
	var tables int
	if err := conn.QueryRow(ctx, `SELECT count(*) FROM pg_tables WHERE schemaname NOT IN ('pg_catalog', 'information_schema')`).Scan(&tables); err != nil {
		return "", cluster, err
	}
	if tables > 0 {
		if cluster != nil {
			cluster.Stop()
		}
		return "", nil, fmt.Errorf("the database has %d tables: restore needs an empty database", tables)
	}
	return url, cluster, nil
}

func createDatabase(ctx context.Context, adminURL, name string) error {
	conn, err := pgx.Connect(ctx, adminURL)
	if err != nil {
		return fmt.Errorf("connect to embedded PostgreSQL: %w", err)
	}
	defer conn.Close(ctx)
	var exists bool
	if err := conn.QueryRow(ctx, "SELECT EXISTS (SELECT 1 FROM pg_database WHERE datname = $1)", name).Scan(&exists); err != nil {
		return err
	}
	if !exists {
		if _, err := conn.Exec(ctx, "CREATE DATABASE "+pgx.Identifier{name}.Sanitize()); err != nil {
			return fmt.Errorf("create database %s: %w", name, err)
		}
	}
	return nil
}

func verify(dir string, o Object) error {
	if err := blobs.CheckKey(o.Key); err != nil {
		return fmt.Errorf("%s: %w", manifestFile, err)
	}
	f, err := os.Open(filepath.Join(dir, blobsDir, filepath.FromSlash(o.Key)))
	if err != nil {
		return fmt.Errorf("backup incomplete: %w", err)
	}
	defer f.Close()
	h := sha256.New()
	n, err := io.Copy(h, f)
	if err != nil {
		return err
	}
	if sum := hex.EncodeToString(h.Sum(nil)); n != o.Size || sum != o.SHA256 {
		return fmt.Errorf("backup corrupt: %s is %d bytes with sha256 %s, manifest says %d bytes, %s", o.Key, n, sum, o.Size, o.SHA256)
	}
	return nil
}

// pgTool finds pg_dump or pg_restore: beside the server binaries
// (CAIRN_PG_BIN or where pgcluster finds initdb), else on PATH.
func pgTool(cfg *config.Config, name string) (string, error) {
	dir := cfg.PGBin
	if dir == "" {
		dir, _ = pgcluster.FindBinaries()
	}
	if dir != "" {
		if p := filepath.Join(dir, name); isExec(p) {
			return p, nil
		}
	}
	if p, err := exec.LookPath(name); err == nil {
		return p, nil
	}
	return "", fmt.Errorf("%s not found (beside the PostgreSQL server binaries or on PATH); install the PostgreSQL client tools or set CAIRN_PG_BIN", name)
}

func isExec(p string) bool {
	st, err := os.Stat(p)
	return err == nil && !st.IsDir() && st.Mode()&0o111 != 0
}

// emptyDir checks that dir is empty or absent and, with create, makes it.
func emptyDir(dir string, create bool) error {
	entries, err := os.ReadDir(dir)
	switch {
	case errors.Is(err, os.ErrNotExist):
		if create {
			return os.MkdirAll(dir, 0o700)
		}
		return nil
	case err != nil:
		return err
	case len(entries) > 0:
		return fmt.Errorf("%s is not empty: a backup goes into a new or empty directory", dir)
	}
	return nil
}

func writeJSON(path string, v any) error {
	b, err := json.MarshalIndent(v, "", "  ")
	if err != nil {
		return err
	}
	return os.WriteFile(path, append(b, '\n'), 0o600)
}

func logger(opt Options) *slog.Logger {
	if opt.Log != nil {
		return opt.Log
	}
	return slog.New(slog.DiscardHandler)
}
