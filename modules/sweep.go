package modules

import (
	"context"
	"errors"
	"fmt"
	"log/slog"
	"time"

	"github.com/jackc/pgx/v5/pgxpool"

	"github.com/cairn-registry/cairn/blobs"
	"github.com/cairn-registry/cairn/queries"
)

// BlobPrefix is where module archives (and the zips built from them) live
// in the blob store.
const BlobPrefix = "modules/"

// DefaultSweepAge is how old an unreferenced blob must be before the
// sweeper removes it: a publish stores its archive before the version row
// commits, so a younger blob may be an upload in flight.
const DefaultSweepAge = time.Hour

// sweepBatch is how many candidate keys are checked per query.
const sweepBatch = 1000

// Sweeper removes module blobs no version references: those left by
// deletions whose blob removal failed, by crashes between a put and its
// row, and temporary files of interrupted puts. Replicas may all run one;
// a PostgreSQL advisory lock lets one sweep at a time.
type Sweeper struct {
	db    *pgxpool.Pool
	store blobs.Store
	log   *slog.Logger
	// MinAge spares blobs and temporary files younger than this.
	MinAge time.Duration
}

// NewSweeper returns a sweeper of store with DefaultSweepAge.
func NewSweeper(db *pgxpool.Pool, store blobs.Store, log *slog.Logger) *Sweeper {
	if log == nil {
		log = slog.New(slog.DiscardHandler)
	}
	return &Sweeper{db: db, store: store, log: log, MinAge: DefaultSweepAge}
}

// SweepResult says what one sweep did.
type SweepResult struct {
	// Skipped is true when another replica was sweeping.
	Skipped bool
	// Removed counts unreferenced blobs deleted, Temp temporary leftovers.
	Removed, Temp int
}

// Run sweeps at once and then every interval until ctx ends.
func (s *Sweeper) Run(ctx context.Context, interval time.Duration) {
	t := time.NewTicker(interval)
	defer t.Stop()
	for {
		if _, err := s.Sweep(ctx); err != nil && ctx.Err() == nil {
			s.log.Warn("blob sweep failed; retrying at the next one", "err", err)
		}
		select {
		case <-ctx.Done():
			return
		case <-t.C:
		}
	}
}

// Sweep runs one pass, unless another replica holds the sweep lock.
func (s *Sweeper) Sweep(ctx context.Context) (res SweepResult, err error) {
	conn, err := s.db.Acquire(ctx)
	if err != nil {
		return res, fmt.Errorf("blob sweep: %w", err)
	}
	defer conn.Release()
	q := queries.New(conn)
	locked, err := q.TryBlobSweepLock(ctx)
	if err != nil {
		return res, fmt.Errorf("blob sweep lock: %w", err)
	}
	if !locked {
		s.log.Debug("blob sweep skipped: another replica is sweeping")
		return SweepResult{Skipped: true}, nil
	}
	defer func() {
		if err := q.ReleaseBlobSweepLock(context.WithoutCancel(ctx)); err != nil {
			// A connection that may still hold the lock must not go back
			// to the pool: closing it releases the lock.
			_ = conn.Conn().Close(context.WithoutCancel(ctx))
		}
	}()

	if res.Temp, err = s.store.PurgeTemp(ctx, s.MinAge); err != nil {
		return res, fmt.Errorf("blob sweep: %w", err)
	}
	if res.Temp > 0 {
		s.log.Info("removed leftovers of interrupted uploads", "count", res.Temp)
	}

	cutoff := time.Now().Add(-s.MinAge)
	var batch []string
	flush := func() error {
		if len(batch) == 0 {
			return nil
		}
		n, err := s.removeUnreferenced(ctx, batch)
		res.Removed += n
		batch = batch[:0]
		return err
	}
	err = s.store.List(ctx, BlobPrefix, func(info blobs.Info) error {
		if !info.ModTime.Before(cutoff) {
			return nil // possibly an upload whose row is not committed yet
		}
		batch = append(batch, info.Key)
		if len(batch) < sweepBatch {
			return nil
		}
		return flush()
	})
	if err == nil {
		err = flush()
	}
	if err != nil {
		return res, fmt.Errorf("blob sweep: %w", err)
	}
	if res.Removed > 0 {
		s.log.Info("blob sweep done", "removed", res.Removed)
	}
	return res, nil
}

// removeUnreferenced deletes the keys no version references.
func (s *Sweeper) removeUnreferenced(ctx context.Context, keys []string) (int, error) {
	orphans, err := queries.New(s.db).UnreferencedBlobKeys(ctx, keys)
	if err != nil {
		return 0, err
	}
	n := 0
	var errs []error
	for _, key := range orphans {
		if err := s.store.Delete(ctx, key); err != nil {
			errs = append(errs, err)
			continue
		}
		n++
		s.log.Info("removed unreferenced module blob", "key", key)
	}
	return n, errors.Join(errs...)
}

// Remove deletes blobs whose rows are already gone (the tenancy service's
// OnBlobsOrphaned hook). Failures are logged; the sweep retries them.
func (s *Sweeper) Remove(ctx context.Context, keys []string) {
	for _, key := range keys {
		if err := s.store.Delete(ctx, key); err != nil {
			s.log.Warn("could not delete an archive of a deleted project; the sweeper will retry", "key", key, "err", err)
		}
	}
}
