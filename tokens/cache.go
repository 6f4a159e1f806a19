package tokens

import (
	"context"
	"log/slog"
	"time"

	"github.com/jackc/pgx/v5/pgxpool"
)

// credentialTTL bounds how long a resolved token is trusted without asking
// the database again, should a change notification ever be missed.
const credentialTTL = 30 * time.Second

// maxCachedCredentials bounds the cache; when full it is simply emptied.
const maxCachedCredentials = 10_000

// Resolved personal access and deploy tokens are cached by hash
// (internal/cache). The cache is emptied whenever a token or user changes:
// at once by the replica that made the change (Forget), and through
// LISTEN/NOTIFY on every other replica (Follow). Entries also expire with
// the token itself, and a lookup that began before a change never puts its
// answer back after it.

// Forget drops every cached credential; call it after revoking a token or
// blocking a user so the next request on this replica is checked afresh.
func (r *Resolver) Forget() { r.cache.Clear() }

// ObserveCache reports every credential cache lookup, hit or miss, to fn
// (metrics).
func (r *Resolver) ObserveCache(fn func(hit bool)) { r.cache.Observe(fn) }

// Follow empties the cache whenever any replica changes a token or user,
// until ctx ends, and after every reconnection (notifications sent
// meanwhile are lost).
func (r *Resolver) Follow(ctx context.Context, pool *pgxpool.Pool, log *slog.Logger) {
	r.cache.Follow(ctx, pool, log, "cairn_credentials")
}
