-- name: LockModuleName :exec
-- Serialises publishes of one namespace/name/system across replicas.
SELECT pg_advisory_xact_lock(hashtextextended(@lock_key::text, 0));

-- name: GetModuleInProject :one
SELECT * FROM terraform_modules WHERE project_id = @project_id AND name = @name AND system = @system;

-- name: CreateModule :one
INSERT INTO terraform_modules (project_id, namespace_id, name, system)
VALUES (@project_id, @namespace_id, @name, @system)
RETURNING *;

-- name: ModulesInNamespace :many
-- Every module of that name in the namespace's tree, oldest first, with what
-- authorization needs (project visibility, group chain) and its versions
-- (without metadata), in one round trip: one row per version, oldest first
-- (version columns NULL for a module without one). Rows, not an aggregated
-- JSON array: building and parsing that cost PostgreSQL and Cairn three
-- times as much at 100,000 modules.
-- A module moved away from the address is found through its redirect
-- (module_redirects), after every module still at it (redirected = true).
SELECT m.id, m.project_id, m.namespace_id, m.name, m.system, m.latest_version_id, m.created_at,
       m.git_provider_id, m.repo_base_url_template, m.repo_clone_url_template, m.repo_browse_url_template,
       m.git_tag_format, m.git_path, m.archive_git_path, m.verified,
       (lower(ns.full_path) <> lower(@namespace) OR m.name <> @name OR m.system <> @system)::boolean AS redirected,
       ns.full_path AS namespace_path,
       p.full_path AS project_path, p.visibility AS project_visibility, p.group_id AS project_group_id,
       g.traversal_ids AS group_traversal_ids,
       v.id AS version_id, v.version, v.is_prerelease, v.blob_key, v.archive_format, v.sha256, v.size,
       v.providers, v.published_by, v.published, v.created_at AS version_created_at
FROM (
    -- The module at the address, then any module moved away from it. Two
    -- indexed lookups joined by UNION (an OR here defeats the indexes).
    SELECT m.id
    FROM groups ns JOIN terraform_modules m ON m.namespace_id = ns.id
    WHERE lower(ns.full_path) = lower(@namespace) AND ns.parent_id IS NULL AND m.name = @name AND m.system = @system
    UNION
    SELECT r.module_id
    FROM groups rns JOIN module_redirects r ON r.namespace_id = rns.id
    WHERE lower(rns.full_path) = lower(@namespace) AND rns.parent_id IS NULL AND r.name = @name AND r.system = @system
) hit
JOIN terraform_modules m ON m.id = hit.id
JOIN groups ns ON ns.id = m.namespace_id
JOIN projects p ON p.id = m.project_id
JOIN groups g ON g.id = p.group_id
LEFT JOIN module_versions v ON v.module_id = m.id
ORDER BY redirected, m.id, v.id;

-- name: OtherProjectsWithModuleName :one
SELECT count(*) FROM terraform_modules
WHERE namespace_id = @namespace_id AND name = @name AND system = @system AND project_id <> @project_id;

-- name: VersionExists :one
SELECT EXISTS (SELECT 1 FROM module_versions WHERE module_id = @module_id AND version = @version);

-- name: CreateModuleVersion :one
INSERT INTO module_versions (module_id, version, is_prerelease, blob_key, archive_format, sha256, size, metadata, providers, published_by, zip_blob_key, published)
VALUES (@module_id, @version, @is_prerelease, @blob_key, @archive_format, @sha256, @size, @metadata, @providers, @published_by, sqlc.narg(zip_blob_key), @published)
RETURNING *;

-- name: ModuleProject :one
-- A module's project with its group chain, for authorization.
SELECT p.*, g.traversal_ids AS group_traversal_ids
FROM projects p JOIN groups g ON g.id = p.group_id WHERE p.id = @project_id;

-- name: ListModuleVersions :many
-- The published versions of a module (the candidates for latest).
SELECT id, module_id, version, is_prerelease, blob_key, archive_format, sha256, size, providers, published_by, created_at
FROM module_versions WHERE module_id = @module_id AND published ORDER BY id;

-- name: GetVersionMetadata :one
SELECT metadata FROM module_versions WHERE id = @id;

-- name: SetVersionMetadata :exec
-- Stores metadata completed after upload (READMEs rendered by a newer renderer).
UPDATE module_versions SET metadata = @metadata WHERE id = @id;

-- name: SetVersionZipBlobKey :execrows
-- Records a zip built after publish; 0 rows when another request recorded
-- one first or the version is gone.
UPDATE module_versions SET zip_blob_key = @zip_blob_key WHERE id = @id AND zip_blob_key IS NULL;

-- name: GetVersionZipBlobKey :one
SELECT zip_blob_key FROM module_versions WHERE id = @id;

-- name: GetModuleVersion :one
SELECT * FROM module_versions WHERE module_id = @module_id AND version = @version;

-- name: SetLatestVersion :exec
UPDATE terraform_modules SET latest_version_id = sqlc.narg(version_id) WHERE id = @id;

-- name: AddDownloads :exec
-- Adds buffered download counts: one row per version and day.
INSERT INTO module_downloads (module_version_id, day, count)
SELECT unnest(@version_ids::bigint[]), @day::date, unnest(@counts::bigint[])
ON CONFLICT (module_version_id, day) DO UPDATE SET count = module_downloads.count + EXCLUDED.count;

-- name: ModuleDownloadSummary :one
-- Summed per version through the (module_version_id, day) key: a LATERAL
-- aggregate cannot be turned into a join, so the plan stays ten index range
-- scans however stale module_downloads' statistics are (a join planned
-- from an "empty" table scanned every download row, ~100 ms at 100,000
-- modules).
SELECT coalesce(sum(w.week), 0)::bigint AS week, coalesce(sum(w.month), 0)::bigint AS month,
       coalesce(sum(w.year), 0)::bigint AS year, coalesce(sum(w.total), 0)::bigint AS total
FROM module_versions v
CROSS JOIN LATERAL (
    SELECT sum(d.count) FILTER (WHERE d.day > current_date - 7) AS week,
           sum(d.count) FILTER (WHERE d.day > current_date - 30) AS month,
           sum(d.count) FILTER (WHERE d.day > current_date - 365) AS year,
           sum(d.count) AS total
    FROM module_downloads d WHERE d.module_version_id = v.id) w
WHERE v.module_id = @module_id;

-- name: ListProjectModuleVersions :many
-- A project's module versions as GitLab's package list shows them.
SELECT v.id, v.version, v.size, v.sha256, v.created_at, m.id AS module_id, m.name, m.system
FROM module_versions v JOIN terraform_modules m ON m.id = v.module_id
WHERE m.project_id = @project_id
ORDER BY v.id
LIMIT @lim OFFSET @off;

-- name: GetProjectModuleVersion :one
SELECT v.id, v.version, v.blob_key, v.zip_blob_key, m.id AS module_id, m.name, m.system
FROM module_versions v JOIN terraform_modules m ON m.id = v.module_id
WHERE m.project_id = @project_id AND v.id = @id;

-- name: DeleteModuleVersion :one
-- Returns the blobs of the row as deleted (a zip recorded concurrently included).
DELETE FROM module_versions WHERE id = @id RETURNING blob_key, zip_blob_key;

-- name: DeleteModuleIfEmpty :exec
DELETE FROM terraform_modules m WHERE m.id = @id AND NOT EXISTS (SELECT 1 FROM module_versions v WHERE v.module_id = m.id);

-- name: ModuleSystemsNamed :many
-- The systems of every module named @name in the namespace (top-level
-- group) @namespace, in order; the module page lists those the reader may
-- see (decided on the cached lookups of each).
SELECT DISTINCT m.system
FROM groups ns JOIN terraform_modules m ON m.namespace_id = ns.id
WHERE lower(ns.full_path) = lower(@namespace) AND ns.parent_id IS NULL AND m.name = @name
ORDER BY m.system;
