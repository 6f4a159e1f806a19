package modules

import (
	"context"
	"log/slog"
	"sync"
	"time"

	"github.com/cairn-registry/cairn/queries"
)

// downloadCounter buffers download counts so serving a download costs no
// database write; RunCounter adds them to the per-version, per-day rows.
// A crash loses at most one flush interval of counts.
type downloadCounter struct {
	mu     sync.Mutex
	counts map[int64]int64
}

func newDownloadCounter() *downloadCounter { return &downloadCounter{counts: map[int64]int64{}} }

func (c *downloadCounter) add(versionID int64) {
	c.mu.Lock()
	c.counts[versionID]++
	c.mu.Unlock()
}

func (c *downloadCounter) take() map[int64]int64 {
	c.mu.Lock()
	defer c.mu.Unlock()
	out := c.counts
	c.counts = map[int64]int64{}
	return out
}

// FlushDownloads writes the buffered counts now.
func (s *Service) FlushDownloads(ctx context.Context) error {
	counts := s.counter.take()
	if len(counts) == 0 {
		return nil
	}
	ids := make([]int64, 0, len(counts))
	ns := make([]int64, 0, len(counts))
	for id, n := range counts {
		ids = append(ids, id)
		ns = append(ns, n)
	}
	err := queries.New(s.db).AddDownloads(ctx, queries.AddDownloadsParams{VersionIds: ids, Counts: ns, Day: time.Now().UTC()})
	if err != nil {
		// Put them back so the next flush retries.
		s.counter.mu.Lock()
		for id, n := range counts {
			s.counter.counts[id] += n
		}
		s.counter.mu.Unlock()
		return err
	}
	// Downloads break ties in search ranking and are counted by overviews.
	s.rankings.Clear()
	s.overviews.Clear()
	return nil
}

// RunCounter flushes download counts every interval until ctx ends, then
// once more.
func (s *Service) RunCounter(ctx context.Context, interval time.Duration, log *slog.Logger) {
	t := time.NewTicker(interval)
	defer t.Stop()
	for {
		select {
		case <-ctx.Done():
			flushCtx, cancel := context.WithTimeout(context.Background(), 5*time.Second)
			if err := s.FlushDownloads(flushCtx); err != nil {
				log.Warn("final download count flush failed", "error", err)
			}
			cancel()
			return
		case <-t.C:
			if err := s.FlushDownloads(ctx); err != nil {
				log.Warn("download count flush failed; will retry", "error", err)
			}
		}
	}
}
