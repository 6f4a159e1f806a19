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
-- (without metadata), in one round trip.
SELECT m.id, m.project_id, m.namespace_id, m.name, m.system, m.latest_version_id, m.created_at,
       ns.full_path AS namespace_path,
       p.full_path AS project_path, p.visibility AS project_visibility, p.group_id AS project_group_id,
       g.traversal_ids AS group_traversal_ids,
       coalesce((SELECT jsonb_agg(jsonb_build_object('id', v.id, 'version', v.version, 'is_prerelease', v.is_prerelease,
                    'blob_key', v.blob_key, 'archive_format', v.archive_format, 'sha256', v.sha256, 'size', v.size,
                    'providers', v.providers, 'published_by', v.published_by, 'created_at', v.created_at) ORDER BY v.id)
                 FROM module_versions v WHERE v.module_id = m.id), '[]')::jsonb AS versions
FROM groups ns
JOIN terraform_modules m ON m.namespace_id = ns.id
JOIN projects p ON p.id = m.project_id
JOIN groups g ON g.id = p.group_id
WHERE lower(ns.full_path) = lower(@namespace) AND ns.parent_id IS NULL AND m.name = @name AND m.system = @system
ORDER BY m.id;

-- name: OtherProjectsWithModuleName :one
SELECT count(*) FROM terraform_modules
WHERE namespace_id = @namespace_id AND name = @name AND system = @system AND project_id <> @project_id;

-- name: VersionExists :one
SELECT EXISTS (SELECT 1 FROM module_versions WHERE module_id = @module_id AND version = @version);

-- name: CreateModuleVersion :one
INSERT INTO module_versions (module_id, version, is_prerelease, blob_key, archive_format, sha256, size, metadata, providers, published_by)
VALUES (@module_id, @version, @is_prerelease, @blob_key, @archive_format, @sha256, @size, @metadata, @providers, @published_by)
RETURNING *;

-- name: ModuleProject :one
-- A module's project with its group chain, for authorization.
SELECT p.*, g.traversal_ids AS group_traversal_ids
FROM projects p JOIN groups g ON g.id = p.group_id WHERE p.id = @project_id;

-- name: ListModuleVersions :many
SELECT id, module_id, version, is_prerelease, blob_key, archive_format, sha256, size, providers, published_by, created_at
FROM module_versions WHERE module_id = @module_id ORDER BY id;

-- name: GetVersionMetadata :one
SELECT metadata FROM module_versions WHERE id = @id;

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
SELECT coalesce(sum(d.count) FILTER (WHERE d.day > current_date - 7), 0)::bigint AS week,
       coalesce(sum(d.count) FILTER (WHERE d.day > current_date - 30), 0)::bigint AS month,
       coalesce(sum(d.count) FILTER (WHERE d.day > current_date - 365), 0)::bigint AS year,
       coalesce(sum(d.count), 0)::bigint AS total
FROM module_downloads d JOIN module_versions v ON v.id = d.module_version_id
WHERE v.module_id = @module_id;

-- name: ListProjectModuleVersions :many
-- A project's module versions as GitLab's package list shows them.
SELECT v.id, v.version, v.size, v.sha256, v.created_at, m.id AS module_id, m.name, m.system
FROM module_versions v JOIN terraform_modules m ON m.id = v.module_id
WHERE m.project_id = @project_id
ORDER BY v.id
LIMIT @lim OFFSET @off;

-- name: GetProjectModuleVersion :one
SELECT v.id, v.version, v.blob_key, m.id AS module_id, m.name, m.system
FROM module_versions v JOIN terraform_modules m ON m.id = v.module_id
WHERE m.project_id = @project_id AND v.id = @id;

-- name: DeleteModuleVersion :exec
DELETE FROM module_versions WHERE id = @id;

-- name: DeleteModuleIfEmpty :exec
DELETE FROM terraform_modules m WHERE m.id = @id AND NOT EXISTS (SELECT 1 FROM module_versions v WHERE v.module_id = m.id);
