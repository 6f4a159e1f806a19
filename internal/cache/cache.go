// Package cache is the one per-replica cache Cairn keeps in front of
// PostgreSQL: entries expire, the whole cache is cleared at once by the
// replica that changes the data, and by LISTEN/NOTIFY on every other one.
// A generation counter keeps a lookup that began before a Clear from putting
// its (now stale) answer back afterwards.
package cache

import (
	"context"
	"log/slog"
	"sync"
	"sync/atomic"
	"time"

	"github.com/jackc/pgx/v5/pgxpool"

	"github.com/cairn-registry/cairn/internal/pgnotify"
)

// Cache maps keys to values until they expire or the cache is cleared. When
// it holds max entries, a new one first evicts the expired and an eighth of
// the rest (see evict). It is safe for concurrent use.
type Cache[K comparable, V any] struct {
	ttl time.Duration
	max int

	mu      sync.RWMutex
	entries map[K]entry[V]
	gen     uint64

	// observe, when set, is told whether each Get hit.
	observe atomic.Pointer[func(hit bool)]
}

type entry[V any] struct {
	value V
	until time.Time
}

// New returns a cache whose entries live at most ttl, holding at most max.
func New[K comparable, V any](ttl time.Duration, max int) *Cache[K, V] {
	return &Cache[K, V]{ttl: ttl, max: max}
}

// Generation identifies the cache's contents: it changes on every Clear.
// Read it before a lookup and hand it to Put.
func (c *Cache[K, V]) Generation() uint64 {
	c.mu.RLock()
	defer c.mu.RUnlock()
	return c.gen
}

// Get returns the value for key if present and not expired at now.
func (c *Cache[K, V]) Get(key K, now time.Time) (V, bool) {
	c.mu.RLock()
	e, ok := c.entries[key]
	c.mu.RUnlock()
	hit := ok && now.Before(e.until)
	if fn := c.observe.Load(); fn != nil {
		(*fn)(hit)
	}
	if !hit {
		var zero V
		return zero, false
	}
	return e.value, true
}

// Observe reports every later Get to fn: hit is true when the value was
// found (and not expired). A nil fn stops reporting. Metrics count hits
// and misses with it.
func (c *Cache[K, V]) Observe(fn func(hit bool)) {
	if fn == nil {
		c.observe.Store(nil)
		return
	}
	c.observe.Store(&fn)
}

// Put stores value for key until the earlier of now+TTL and until (zero:
// no earlier bound), unless the cache was cleared since gen was read: an
// answer computed before a change must not outlive it.
func (c *Cache[K, V]) Put(gen uint64, key K, value V, now, until time.Time) {
	limit := now.Add(c.ttl)
	if until.IsZero() || until.After(limit) {
		until = limit
	}
	c.mu.Lock()
	defer c.mu.Unlock()
	if gen != c.gen {
		return
	}
	if c.entries == nil {
		c.entries = map[K]entry[V]{}
	}
	if _, ok := c.entries[key]; !ok && len(c.entries) >= c.max {
		c.evict(now)
	}
	c.entries[key] = entry[V]{value: value, until: until}
}

// evict makes room when the cache is full: it drops the expired entries,
// then arbitrary ones (Go's map order) down to seven eighths of max, so a
// full cache keeps most of what it holds rather than starting over. Called
// with mu held.
func (c *Cache[K, V]) evict(now time.Time) {
	for k, e := range c.entries {
		if !now.Before(e.until) {
			delete(c.entries, k)
		}
	}
	for k := range c.entries {
		if len(c.entries) < c.max-c.max/8 {
			break
		}
		delete(c.entries, k)
	}
}

// DeleteFunc drops the entries whose key del selects. Like Clear it starts
// a new generation, so no lookup begun before it puts an answer back.
func (c *Cache[K, V]) DeleteFunc(del func(K) bool) {
	c.mu.Lock()
	for k := range c.entries {
		if del(k) {
			delete(c.entries, k)
		}
	}
	c.gen++
	c.mu.Unlock()
}

// Clear drops every entry.
func (c *Cache[K, V]) Clear() {
	c.mu.Lock()
	c.entries = nil
	c.gen++
	c.mu.Unlock()
}

// Follow clears the cache whenever a notification arrives on one of
// channels, and after every (re)connection (notifications sent meanwhile
// are lost), until ctx ends.
func (c *Cache[K, V]) Follow(ctx context.Context, pool *pgxpool.Pool, log *slog.Logger, channels ...string) {
	pgnotify.Follow(ctx, pool, log, channels, pgnotify.Handler{
		Connected: func(context.Context) error { c.Clear(); return nil },
		Notify:    func(string, string) { c.Clear() },
	})
}
