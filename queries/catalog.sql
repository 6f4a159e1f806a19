-- name: CatalogList :many
-- A page of the modules p may read (its policies.Scope as scope_*), in
-- address order (namespace lower-cased, name, system). Callers ask for one
-- row more than a page to learn whether another follows. Empty namespaces
-- (lower-cased), systems and name match everything.
SELECT sqlc.embed(c)
FROM (
    SELECT m.id, m.namespace_key, m.name, m.system
    FROM terraform_modules m
    JOIN projects p ON p.id = m.project_id
    JOIN groups g ON g.id = p.group_id
    WHERE m.latest_version_id IS NOT NULL
      AND cairn_scope_readable(p.visibility, p.id, g.traversal_ids,
            @scope_all::boolean, @scope_internal::boolean, @scope_project_ids::bigint[], @scope_group_ids::bigint[])
      AND (cardinality(@namespaces::text[]) = 0 OR m.namespace_key = ANY (@namespaces::text[]))
      AND (@name::text = '' OR m.name = @name::text)
      AND (cardinality(@systems::text[]) = 0 OR m.system = ANY (@systems::text[]))
    ORDER BY m.namespace_key, m.name, m.system, m.id
    LIMIT @row_limit OFFSET @row_offset
) page
JOIN catalog_modules c ON c.id = page.id
ORDER BY page.namespace_key, page.name, page.system, page.id;

-- name: CatalogCount :one
-- How many modules CatalogList pages through.
SELECT count(*)
FROM terraform_modules m
JOIN projects p ON p.id = m.project_id
JOIN groups g ON g.id = p.group_id
WHERE m.latest_version_id IS NOT NULL
  AND cairn_scope_readable(p.visibility, p.id, g.traversal_ids,
        @scope_all::boolean, @scope_internal::boolean, @scope_project_ids::bigint[], @scope_group_ids::bigint[])
  AND (cardinality(@namespaces::text[]) = 0 OR m.namespace_key = ANY (@namespaces::text[]))
  AND (@name::text = '' OR m.name = @name::text)
  AND (cardinality(@systems::text[]) = 0 OR m.system = ANY (@systems::text[]));

-- name: CatalogRanked :many
-- Every module matching q, best first, whoever may read it: its words begin
-- words of the module's search document (cairn_search_query), or q occurs in
-- the name (cairn_name_pattern). Ranked: modules named q (spaces read as
-- '-'), then those whose name begins with q, each by downloads; then the
-- others by text rank, then downloads. Last ties go by name, namespace and
-- system. Each row carries what policies.Scope.Readable decides on (the
-- project, its visibility and its group's chain) and what facets count
-- (namespace, system): modules.Service.Search and Facets cache this list per
-- query and filter it per principal, so a search costs no ranking while the
-- list is cached. The functions of q fold into
-- constants when the query is planned with its arguments, which catalog
-- queries always are.
SELECT m.id, m.project_id, p.visibility AS project_visibility, g.traversal_ids AS group_traversal_ids,
       ns.full_path AS namespace, m.system
FROM terraform_modules m
JOIN groups ns ON ns.id = m.namespace_id
JOIN projects p ON p.id = m.project_id
JOIN groups g ON g.id = p.group_id
WHERE m.latest_version_id IS NOT NULL
  AND (m.search @@ cairn_search_query(@q::text) OR m.name LIKE cairn_name_pattern(@q::text))
  AND (cardinality(@namespaces::text[]) = 0 OR m.namespace_key = ANY (@namespaces::text[]))
  AND (cardinality(@systems::text[]) = 0 OR m.system = ANY (@systems::text[]))
ORDER BY m.name = regexp_replace(lower(btrim(@q::text)), '\s+', '-', 'g') DESC,
         starts_with(m.name, regexp_replace(lower(btrim(@q::text)), '\s+', '-', 'g')) DESC,
         CASE WHEN starts_with(m.name, regexp_replace(lower(btrim(@q::text)), '\s+', '-', 'g')) THEN 0
              ELSE coalesce(ts_rank(m.search, cairn_search_query(@q::text)), 0) END DESC,
         -- By key per match: a join would be planned from module_download_totals'
         -- statistics, which lag behind its rows (a scan of every total).
         coalesce((SELECT t.downloads FROM module_download_totals t WHERE t.module_id = m.id), 0) DESC,
         m.name, m.namespace_key, m.system, m.id;

-- name: CatalogModulesByID :many
-- The catalog rows of the given modules, in no particular order.
SELECT sqlc.embed(c) FROM catalog_modules c WHERE c.id = ANY (@ids::bigint[]);

-- name: CatalogFacets :many
-- How many readable modules there are per namespace and system (a search
-- page without words; with words, facets come from CatalogRanked).
SELECT ns.full_path AS namespace, m.system, count(*) AS modules
FROM terraform_modules m
JOIN groups ns ON ns.id = m.namespace_id
JOIN projects p ON p.id = m.project_id
JOIN groups g ON g.id = p.group_id
WHERE m.latest_version_id IS NOT NULL
  AND cairn_scope_readable(p.visibility, p.id, g.traversal_ids,
        @scope_all::boolean, @scope_internal::boolean, @scope_project_ids::bigint[], @scope_group_ids::bigint[])
GROUP BY ns.full_path, m.system
ORDER BY ns.full_path, m.system;

-- name: CatalogNamespaces :many
-- A page of the namespaces holding at least one readable module, by path;
-- total counts them all.
WITH matches AS MATERIALIZED (
    SELECT ns.full_path AS namespace, ns.name AS display_name
    FROM groups ns
    WHERE ns.parent_id IS NULL
      AND EXISTS (SELECT 1 FROM terraform_modules m
                  JOIN projects p ON p.id = m.project_id
                  JOIN groups g ON g.id = p.group_id
                  WHERE m.namespace_id = ns.id AND m.latest_version_id IS NOT NULL
                    AND cairn_scope_readable(p.visibility, p.id, g.traversal_ids,
                          @scope_all::boolean, @scope_internal::boolean, @scope_project_ids::bigint[], @scope_group_ids::bigint[]))
)
SELECT namespace, display_name, (SELECT count(*) FROM matches) AS total
FROM matches
ORDER BY lower(namespace)
LIMIT @row_limit OFFSET @row_offset;

-- name: CatalogStats :one
-- Totals over the readable modules: namespaces holding one, modules, their
-- published versions (counted per module by trigger, migration 00070) and
-- their downloads.
SELECT count(DISTINCT m.namespace_id)::bigint AS namespaces,
       count(*)::bigint AS modules,
       coalesce(sum(m.published_versions), 0)::bigint AS module_versions,
       coalesce(sum(t.downloads), 0)::bigint AS downloads
FROM terraform_modules m
JOIN projects p ON p.id = m.project_id
JOIN groups g ON g.id = p.group_id
LEFT JOIN module_download_totals t ON t.module_id = m.id
WHERE m.latest_version_id IS NOT NULL
  AND cairn_scope_readable(p.visibility, p.id, g.traversal_ids,
        @scope_all::boolean, @scope_internal::boolean, @scope_project_ids::bigint[], @scope_group_ids::bigint[]);

-- name: CatalogMostRecent :many
-- The readable module whose latest version was published last (none or one).
SELECT sqlc.embed(c)
FROM catalog_modules c
JOIN groups g ON g.id = c.project_group_id
WHERE cairn_scope_readable(c.project_visibility, c.project_id, g.traversal_ids,
        @scope_all::boolean, @scope_internal::boolean, @scope_project_ids::bigint[], @scope_group_ids::bigint[])
ORDER BY c.published_at DESC, c.id DESC
LIMIT 1;

-- name: CatalogMostDownloadedThisWeek :many
-- The readable module downloaded most in the last seven days (the week of
-- ModuleDownloadSummary), none or one.
SELECT sqlc.embed(c), w.downloads AS week_downloads
FROM (SELECT v.module_id, sum(d.count)::bigint AS downloads
      FROM module_downloads d JOIN module_versions v ON v.id = d.module_version_id
      WHERE d.day > current_date - 7
      GROUP BY v.module_id) w
JOIN catalog_modules c ON c.id = w.module_id
JOIN groups g ON g.id = c.project_group_id
WHERE cairn_scope_readable(c.project_visibility, c.project_id, g.traversal_ids,
        @scope_all::boolean, @scope_internal::boolean, @scope_project_ids::bigint[], @scope_group_ids::bigint[])
ORDER BY w.downloads DESC, c.id
LIMIT 1;

-- name: CatalogVersionInfo :one
-- What a details page shows of one version beside its metadata: its
-- description and owner (by the rules of the search document: the latest
-- version's are kept on the module by trigger, others' are derived here)
-- and the module's downloads; with_summary adds the counts a module page
-- shows (ModuleDownloadSummary's, summed from module_downloads only then).
SELECT CASE WHEN m.latest_version_id = v.id THEN m.description ELSE cairn_module_description(v.metadata) END::text AS description,
       CASE WHEN m.latest_version_id = v.id THEN m.owner ELSE cairn_module_owner(v.metadata) END::text AS owner,
       coalesce(t.downloads, 0)::bigint AS downloads,
       s.week, s.month, s.year, s.total
FROM module_versions v
JOIN terraform_modules m ON m.id = v.module_id
LEFT JOIN module_download_totals t ON t.module_id = v.module_id
CROSS JOIN LATERAL (
    -- Per version through the (module_version_id, day) key, as
    -- ModuleDownloadSummary.
    SELECT coalesce(sum(w.week), 0)::bigint AS week, coalesce(sum(w.month), 0)::bigint AS month,
           coalesce(sum(w.year), 0)::bigint AS year, coalesce(sum(w.total), 0)::bigint AS total
    FROM module_versions mv
    CROSS JOIN LATERAL (
        SELECT sum(d.count) FILTER (WHERE d.day > current_date - 7) AS week,
               sum(d.count) FILTER (WHERE d.day > current_date - 30) AS month,
               sum(d.count) FILTER (WHERE d.day > current_date - 365) AS year,
               sum(d.count) AS total
        FROM module_downloads d WHERE d.module_version_id = mv.id) w
    WHERE @with_summary::boolean AND mv.module_id = v.module_id
) s
WHERE v.id = @version_id;
