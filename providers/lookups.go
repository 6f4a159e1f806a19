package providers

import (
	"context"
	"log/slog"
	"strconv"
	"strings"
	"time"

	"github.com/jackc/pgx/v5/pgxpool"
)

// Lookups of one provider (with its versions and platforms) and GPG keys
// are cached per replica, as module lookups are: this replica's own changes
// clear them at once, every replica's changes through cairn_providers (and
// project or group changes through cairn_modules). A lookup begun before a
// clear never re-caches (the cache's generation guard).

const (
	lookupTTL  = 30 * time.Second
	maxLookups = 10_000
)

func lookupKey(namespace, name string) string { return strings.ToLower(namespace) + "\x00" + name }

func keyKey(namespaceID int64, keyID string) string {
	return strconv.FormatInt(namespaceID, 10) + "\x00" + strings.ToUpper(keyID)
}

// lookup returns the provider namespace/name (nil when none), cached.
func (s *Service) lookup(ctx context.Context, namespace, name string) (*Provider, error) {
	k := lookupKey(namespace, name)
	now := time.Now()
	if p, ok := s.lookups.Get(k, now); ok {
		return p, nil
	}
	gen := s.lookups.Generation()
	list, err := s.load(ctx, &namespace, &name, nil)
	if err != nil {
		return nil, err
	}
	var p *Provider
	if len(list) > 0 {
		p = list[0]
	}
	s.lookups.Put(gen, k, p, now, time.Time{})
	return p, nil
}

// forget drops this replica's cached lookups after a change.
func (s *Service) forget() {
	s.lookups.Clear()
	s.keys.Clear()
}

// ObserveLookups reports every lookup cache hit or miss to fn (metrics).
func (s *Service) ObserveLookups(fn func(hit bool)) { s.lookups.Observe(fn) }

// Follow drops cached lookups whenever any replica changes providers, keys,
// projects or groups, until ctx ends.
func (s *Service) Follow(ctx context.Context, pool *pgxpool.Pool, log *slog.Logger) {
	go s.keys.Follow(ctx, pool, log, "cairn_providers", "cairn_modules")
	s.lookups.Follow(ctx, pool, log, "cairn_providers", "cairn_modules")
}
