package modules

import (
	"context"
	"log/slog"
	"strings"
	"sync"
	"time"

	"github.com/jackc/pgx/v5/pgxpool"

	"github.com/cairn-registry/cairn/internal/pgnotify"
	"github.com/cairn-registry/cairn/queries"
)

// lookupTTL bounds how long a cached lookup is served should a change
// notification ever be missed.
const lookupTTL = 30 * time.Second

const maxCachedLookups = 10_000

// lookupCache keeps namespace/name/system lookups (modules with their
// versions and authorization facts, never the decision itself) so the hot
// read paths cost no query. It is emptied by this replica's own publishes
// at once, and by every change announced on cairn_modules.
type lookupCache struct {
	mu      sync.RWMutex
	entries map[string]lookupEntry
}

type lookupEntry struct {
	modules []*Module
	until   time.Time
}

func lookupKey(namespace, name, system string) string {
	return strings.ToLower(namespace) + "\x00" + name + "\x00" + system
}

func (c *lookupCache) get(key string) ([]*Module, bool) {
	c.mu.RLock()
	e, ok := c.entries[key]
	c.mu.RUnlock()
	if !ok || time.Now().After(e.until) {
		return nil, false
	}
	return e.modules, true
}

func (c *lookupCache) put(key string, mods []*Module) {
	c.mu.Lock()
	if c.entries == nil || len(c.entries) >= maxCachedLookups {
		c.entries = map[string]lookupEntry{}
	}
	c.entries[key] = lookupEntry{modules: mods, until: time.Now().Add(lookupTTL)}
	c.mu.Unlock()
}

func (c *lookupCache) clear() {
	c.mu.Lock()
	c.entries = nil
	c.mu.Unlock()
}

// lookup returns every module named namespace/name/system, oldest first,
// from the cache or one query. The returned modules are shared: read-only.
func (s *Service) lookup(ctx context.Context, namespace, name, system string) ([]*Module, error) {
	key := lookupKey(namespace, name, system)
	if mods, ok := s.lookups.get(key); ok {
		return mods, nil
	}
	rows, err := queries.New(s.db).ModulesInNamespace(ctx, queries.ModulesInNamespaceParams{Namespace: namespace, Name: name, System: system})
	if err != nil {
		return nil, err
	}
	mods := make([]*Module, 0, len(rows))
	for _, row := range rows {
		m, err := moduleFromRow(row)
		if err != nil {
			return nil, err
		}
		mods = append(mods, m)
	}
	s.lookups.put(key, mods)
	return mods, nil
}

// ForgetLookups drops cached lookups.
func (s *Service) ForgetLookups() { s.lookups.clear() }

// Follow drops cached lookups whenever any replica changes modules,
// versions, projects or groups, until ctx ends.
func (s *Service) Follow(ctx context.Context, pool *pgxpool.Pool, log *slog.Logger) {
	pgnotify.Follow(ctx, pool, log, []string{"cairn_modules"}, pgnotify.Handler{
		Connected: func(context.Context) error { s.lookups.clear(); return nil },
		Notify:    func(string, string) { s.lookups.clear() },
	})
}
