-- Terrareg's module analytics (migration 00045) and the per-version
-- figures Terrareg's outlines carry.

-- name: AddAnalytics :exec
-- Adds buffered analytics: one row per version, token, Terraform version,
-- environment and day.
INSERT INTO module_analytics AS a (module_version_id, analytics_token, terraform_version, environment, day, count, last_at)
SELECT unnest(@version_ids::bigint[]), unnest(@tokens::text[]), unnest(@terraform_versions::text[]),
       unnest(@environments::text[]), @day::date, unnest(@counts::bigint[]), unnest(@last_ats::timestamptz[])
ON CONFLICT (module_version_id, analytics_token, terraform_version, environment, day)
DO UPDATE SET count = a.count + EXCLUDED.count, last_at = greatest(a.last_at, EXCLUDED.last_at);

-- name: ModuleTokenVersions :many
-- The latest use of a module per analytics token and environment: which
-- version, with which Terraform.
SELECT DISTINCT ON (a.analytics_token, a.environment)
       a.analytics_token, a.environment, a.terraform_version, v.version
FROM module_analytics a
JOIN module_versions v ON v.id = a.module_version_id
WHERE v.module_id = @module_id
ORDER BY a.analytics_token, a.environment, a.last_at DESC, v.id DESC;

-- name: ModuleUsageCounts :many
-- Per readable module: how many distinct analytics tokens (no token counts
-- as one) used its published releases.
SELECT ns.full_path AS namespace, m.name, m.system, count(DISTINCT a.analytics_token)::bigint AS tokens
FROM module_analytics a
JOIN module_versions v ON v.id = a.module_version_id
JOIN terraform_modules m ON m.id = v.module_id
JOIN groups ns ON ns.id = m.namespace_id
JOIN projects p ON p.id = m.project_id
JOIN groups g ON g.id = p.group_id
WHERE v.published AND NOT v.is_prerelease
  AND cairn_scope_readable(p.visibility, p.id, g.traversal_ids,
        @scope_all::boolean, @scope_internal::boolean, @scope_project_ids::bigint[], @scope_group_ids::bigint[])
GROUP BY ns.full_path, m.name, m.system
ORDER BY ns.full_path, m.name, m.system;

-- name: ReadableModuleCount :one
-- How many module providers (with or without a version) p may read.
SELECT count(*)::bigint
FROM terraform_modules m
JOIN projects p ON p.id = m.project_id
JOIN groups g ON g.id = p.group_id
WHERE cairn_scope_readable(p.visibility, p.id, g.traversal_ids,
        @scope_all::boolean, @scope_internal::boolean, @scope_project_ids::bigint[], @scope_group_ids::bigint[]);

-- name: VersionOutlineFigures :many
-- Per version: its downloads (every day), its root's terraform
-- required_version constraints, terrareg.json's repo_base_url and
-- repo_browse_url and its module's Terrareg settings, for Terrareg's
-- outlines.
SELECT v.id, v.version, m.name, m.system, ns.full_path AS namespace,
       coalesce((SELECT sum(d.count) FROM module_downloads d WHERE d.module_version_id = v.id), 0)::bigint AS downloads,
       coalesce((SELECT string_agg(r, ', ') FROM jsonb_array_elements_text(
           CASE WHEN jsonb_typeof(v.metadata->'root'->'required_version') = 'array'
                THEN v.metadata->'root'->'required_version' ELSE '[]'::jsonb END) AS r), '')::text AS required_version,
       coalesce(v.metadata->'terrareg'->>'repo_base_url', '')::text AS json_repo_base_url,
       coalesce(v.metadata->'terrareg'->>'repo_browse_url', '')::text AS json_repo_browse_url,
       m.repo_base_url_template, m.repo_browse_url_template, m.git_provider_id, m.verified
FROM module_versions v
JOIN terraform_modules m ON m.id = v.module_id
JOIN groups ns ON ns.id = m.namespace_id
WHERE v.id = ANY (@ids::bigint[]);
