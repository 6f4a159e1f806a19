package providers

import (
	"context"
	"log/slog"
	"time"

	"github.com/cairn-registry/cairn/blobs"
	"github.com/cairn-registry/cairn/queries"
)

// SweepAge spares blobs younger than this: an upload stores its file
// before the row that references it commits.
const SweepAge = time.Hour

// Sweep removes provider blobs no version or platform references (left by
// project or group deletions, which cascade to provider rows, and by
// failed deletes) once older than minAge; it returns how many it removed.
func (s *Service) Sweep(ctx context.Context, minAge time.Duration) (int, error) {
	cutoff := time.Now().Add(-minAge)
	var batch []string
	removed := 0
	flush := func() error {
		if len(batch) == 0 {
			return nil
		}
		keys, err := queries.New(s.db).UnreferencedProviderBlobKeys(ctx, batch)
		batch = batch[:0]
		if err != nil {
			return err
		}
		for _, k := range keys {
			if err := s.blobs.Delete(ctx, k); err == nil {
				removed++
			}
		}
		return nil
	}
	err := s.blobs.List(ctx, BlobPrefix, func(info blobs.Info) error {
		if info.ModTime.After(cutoff) {
			return nil
		}
		batch = append(batch, info.Key)
		if len(batch) >= 1000 {
			return flush()
		}
		return nil
	})
	if err == nil {
		err = flush()
	}
	return removed, err
}

// RunSweeper sweeps every interval until ctx ends.
func (s *Service) RunSweeper(ctx context.Context, interval time.Duration, log *slog.Logger) {
	t := time.NewTicker(interval)
	defer t.Stop()
	for {
		if n, err := s.Sweep(ctx, SweepAge); err != nil && ctx.Err() == nil {
			log.Warn("provider blob sweep failed", "error", err)
		} else if n > 0 {
			log.Info("removed unreferenced provider blobs", "count", n)
		}
		select {
		case <-ctx.Done():
			return
		case <-t.C:
		}
	}
}
