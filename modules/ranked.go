package modules

import (
	"context"
	"strings"
	"time"

	"github.com/cairn-registry/cairn/policies"
	"github.com/cairn-registry/cairn/queries"
)

// Ranked searches. Ranking every match of a word is the costly part of a
// search (thousands of rows at 100,000 modules), and it is the same for
// every principal: only what each may read differs. So the ranked list of a
// query (CatalogRanked: every match, best first, with the facts a scope
// decides on) is computed once and cached per replica; each search filters
// it with policies.Scope.Readable, pages it, and reads that page's rows.
//
// The cache is dropped whole by any change the lookups are dropped for
// (ForgetLookups and forgetNamespace: this replica's changes and every
// cairn_modules notification, which covers modules, versions, projects'
// visibility and place, and groups) and when this replica writes download
// counts (the ranking's tie-breaker). Another
// replica's downloads reorder equal matches within rankedTTL.

const (
	rankedTTL = 30 * time.Second
	// maxRankedQueries bounds the cached queries; maxRankedMatches the
	// matches of one cached query (a query matching more is ranked again
	// per search). At about 80 bytes a match: 50 MiB at most.
	maxRankedQueries = 32
	maxRankedMatches = 20_000
	// rankedTimeout bounds one ranking, which outlives a search that left.
	rankedTimeout = 30 * time.Second
)

// rankedMatch is one module of a ranked list and what a scope decides on.
type rankedMatch struct {
	id, projectID int64
	visibility    policies.Visibility
	// traversal is the project's group chain, top-level first (shared
	// between the matches of one group).
	traversal []int64
	// namespace and system are what facets count (shared strings).
	namespace, system string
}

func rankedKey(q string, namespaces, systems []string) string {
	return q + "\x00" + strings.Join(namespaces, "\x01") + "\x00" + strings.Join(systems, "\x01")
}

// ranked returns every module matching q (and the namespace and system
// filters, already lower-cased), best first, from the cache or one query;
// concurrent misses of one query share that query.
func (s *Service) ranked(ctx context.Context, q string, namespaces, systems []string) ([]rankedMatch, error) {
	key := rankedKey(q, namespaces, systems)
	if list, ok := s.rankings.Get(key, time.Now()); ok {
		return list, nil
	}
	v, err, _ := s.rankingFlight.Do(key, func() (any, error) {
		gen := s.rankings.Generation()
		// Shared by every waiting search: not ended by the first one's end.
		qctx, cancel := context.WithTimeout(context.WithoutCancel(ctx), rankedTimeout)
		defer cancel()
		rows, err := s.catalog().CatalogRanked(qctx, queries.CatalogRankedParams{Q: q, Namespaces: namespaces, Systems: systems})
		if err != nil {
			return nil, err
		}
		list := make([]rankedMatch, len(rows))
		chains := map[int64][]int64{} // by group: one slice per group
		names := map[string]string{}  // one copy of each namespace and system
		intern := func(s string) string {
			if c, ok := names[s]; ok {
				return c
			}
			names[s] = s
			return s
		}
		for i, r := range rows {
			t := r.GroupTraversalIds
			if len(t) > 0 {
				if shared, ok := chains[t[len(t)-1]]; ok {
					t = shared
				} else {
					chains[t[len(t)-1]] = t
				}
			}
			list[i] = rankedMatch{id: r.ID, projectID: r.ProjectID, visibility: policies.Visibility(r.ProjectVisibility), traversal: t,
				namespace: intern(r.Namespace), system: intern(r.System)}
		}
		if len(list) <= maxRankedMatches {
			s.rankings.Put(gen, key, list, time.Now(), time.Time{})
		}
		return list, nil
	})
	if err != nil {
		return nil, err
	}
	return v.([]rankedMatch), nil
}

// readablePage filters list by sc and returns the ids of the matches at
// [offset, offset+limit) of what remains, and how many remain.
func readablePage(list []rankedMatch, sc policies.Scope, offset, limit int) (ids []int64, total int) {
	for _, m := range list {
		if !sc.Readable(m.visibility, m.projectID, m.traversal) {
			continue
		}
		if total >= offset && len(ids) < limit {
			ids = append(ids, m.id)
		}
		total++
	}
	return ids, total
}
