package tokens

import (
	"context"
	"log/slog"
	"sync"
	"time"

	"github.com/jackc/pgx/v5/pgxpool"

	"github.com/cairn-registry/cairn/internal/pgnotify"
	"github.com/cairn-registry/cairn/policies"
)

// credentialTTL bounds how long a resolved token is trusted without asking
// the database again, should a change notification ever be missed.
const credentialTTL = 30 * time.Second

// maxCachedCredentials bounds the cache; when full it is simply emptied.
const maxCachedCredentials = 10_000

// credentialCache remembers resolved personal access and deploy tokens by
// hash. It is emptied whenever a token or user changes: at once by the
// replica that made the change (Forget), and through LISTEN/NOTIFY on every
// other replica (Follow). Entries also expire with the token itself.
type credentialCache struct {
	mu      sync.RWMutex
	entries map[string]cachedCredential
}

type cachedCredential struct {
	principal *policies.Principal
	until     time.Time
}

func (c *credentialCache) get(key string, now time.Time) (*policies.Principal, bool) {
	c.mu.RLock()
	e, ok := c.entries[key]
	c.mu.RUnlock()
	if !ok || !now.Before(e.until) {
		return nil, false
	}
	return e.principal, true
}

func (c *credentialCache) put(key string, p *policies.Principal, until time.Time) {
	c.mu.Lock()
	if c.entries == nil || len(c.entries) >= maxCachedCredentials {
		c.entries = map[string]cachedCredential{}
	}
	c.entries[key] = cachedCredential{principal: p, until: until}
	c.mu.Unlock()
}

func (c *credentialCache) clear() {
	c.mu.Lock()
	c.entries = nil
	c.mu.Unlock()
}

// Forget drops every cached credential; call it after revoking a token or
// blocking a user so the next request on this replica is checked afresh.
func (r *Resolver) Forget() { r.cache.clear() }

// Follow empties the cache whenever any replica changes a token or user,
// until ctx ends, and after every reconnection (notifications sent
// meanwhile are lost).
func (r *Resolver) Follow(ctx context.Context, pool *pgxpool.Pool, log *slog.Logger) {
	pgnotify.Follow(ctx, pool, log, []string{"cairn_credentials"}, pgnotify.Handler{
		Connected: func(context.Context) error { r.cache.clear(); return nil },
		Notify:    func(string, string) { r.cache.clear() },
	})
}
