package modules

import (
	"context"
	"log/slog"
	"strings"
	"time"

	"github.com/jackc/pgx/v5/pgxpool"

	"github.com/cairn-registry/cairn/internal/pgnotify"
	"github.com/cairn-registry/cairn/queries"
)

// lookupTTL bounds how long a cached lookup is served should a change
// notification ever be missed.
const lookupTTL = 30 * time.Second

const maxCachedLookups = 10_000

// Lookups (modules with their versions and authorization facts, never the
// decision itself) are cached so the hot read paths cost no query. The
// cache is emptied by this replica's own changes at once, and by every
// change announced on cairn_modules.

func lookupKey(namespace, name, system string) string {
	return strings.ToLower(namespace) + "\x00" + name + "\x00" + system
}

// lookup returns every module named namespace/name/system, oldest first,
// from the cache or one query. The returned modules are shared: read-only.
func (s *Service) lookup(ctx context.Context, namespace, name, system string) ([]*Module, error) {
	key := lookupKey(namespace, name, system)
	now := time.Now()
	if mods, ok := s.lookups.Get(key, now); ok {
		return mods, nil
	}
	gen := s.lookups.Generation()
	rows, err := queries.New(s.db).ModulesInNamespace(ctx, queries.ModulesInNamespaceParams{Namespace: namespace, Name: name, System: system})
	if err != nil {
		return nil, err
	}
	mods, err := modulesFromRows(rows)
	if err != nil {
		return nil, err
	}
	s.lookups.Put(gen, key, mods, now, time.Time{})
	return mods, nil
}

// systemsKey is the systems cache's key of namespace/name.
func systemsKey(namespace, name string) string {
	return strings.ToLower(namespace) + "\x00" + name
}

// systemsNamed returns the systems of every module named namespace/name,
// in order, from the cache or one query (no authorization: Systems decides).
func (s *Service) systemsNamed(ctx context.Context, namespace, name string) ([]string, error) {
	key := systemsKey(namespace, name)
	now := time.Now()
	if systems, ok := s.systems.Get(key, now); ok {
		return systems, nil
	}
	gen := s.systems.Generation()
	systems, err := queries.New(s.db).ModuleSystemsNamed(ctx, queries.ModuleSystemsNamedParams{Namespace: namespace, Name: name})
	if err != nil {
		return nil, err
	}
	s.systems.Put(gen, key, systems, now, time.Time{})
	return systems, nil
}

// ForgetLookups drops every cached lookup, and the rankings and overviews
// built over them.
func (s *Service) ForgetLookups() {
	s.lookups.Clear()
	s.systems.Clear()
	s.rankings.Clear()
	s.overviews.Clear()
}

// forgetNamespace drops the cached lookups of one namespace (any case) and
// everything that spans namespaces (rankings, overviews).
func (s *Service) forgetNamespace(namespace string) {
	prefix := strings.ToLower(namespace) + "\x00"
	inNamespace := func(key string) bool { return strings.HasPrefix(key, prefix) }
	s.lookups.DeleteFunc(inNamespace)
	s.systems.DeleteFunc(inNamespace)
	s.rankings.Clear()
	s.overviews.Clear()
}

// namespaceOf is the namespace (top-level group path) of a project or
// group path.
func namespaceOf(fullPath string) string {
	ns, _, _ := strings.Cut(fullPath, "/")
	return ns
}

// ObserveLookups reports every lookup cache hit or miss to fn (metrics).
func (s *Service) ObserveLookups(fn func(hit bool)) { s.lookups.Observe(fn) }

// Follow drops cached lookups whenever any replica changes modules,
// versions, projects or groups, until ctx ends: a module's or version's
// change names the namespaces it affects ("ns:<namespace>", migration
// 00072), anything else drops every lookup.
func (s *Service) Follow(ctx context.Context, pool *pgxpool.Pool, log *slog.Logger) {
	pgnotify.Follow(ctx, pool, log, []string{"cairn_modules"}, pgnotify.Handler{
		Connected: func(context.Context) error { s.ForgetLookups(); return nil },
		Notify: func(_, payload string) {
			if ns, ok := strings.CutPrefix(payload, "ns:"); ok {
				s.forgetNamespace(ns)
				return
			}
			s.ForgetLookups()
		},
	})
}
