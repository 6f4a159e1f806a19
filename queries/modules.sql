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
-- Every module of that name in the namespace's tree, with its project, oldest first.
SELECT m.id, m.project_id, m.namespace_id, m.name, m.system, m.latest_version_id, m.created_at,
       p.full_path AS project_path, p.visibility AS project_visibility, p.group_id AS project_group_id
FROM terraform_modules m JOIN projects p ON p.id = m.project_id
WHERE m.namespace_id = @namespace_id AND m.name = @name AND m.system = @system
ORDER BY m.id;

-- name: OtherProjectsWithModuleName :one
SELECT count(*) FROM terraform_modules
WHERE namespace_id = @namespace_id AND name = @name AND system = @system AND project_id <> @project_id;

-- name: VersionExists :one
SELECT EXISTS (SELECT 1 FROM module_versions WHERE module_id = @module_id AND version = @version);

-- name: CreateModuleVersion :one
INSERT INTO module_versions (module_id, version, is_prerelease, blob_key, archive_format, sha256, size, metadata, published_by)
VALUES (@module_id, @version, @is_prerelease, @blob_key, @archive_format, @sha256, @size, @metadata, @published_by)
RETURNING *;

-- name: ListModuleVersions :many
SELECT * FROM module_versions WHERE module_id = @module_id ORDER BY id;

-- name: GetModuleVersion :one
SELECT * FROM module_versions WHERE module_id = @module_id AND version = @version;

-- name: SetLatestVersion :exec
UPDATE terraform_modules SET latest_version_id = sqlc.narg(version_id) WHERE id = @id;

-- name: CountDownload :exec
INSERT INTO module_downloads (module_version_id, day, count) VALUES (@module_version_id, current_date, 1)
ON CONFLICT (module_version_id, day) DO UPDATE SET count = module_downloads.count + 1;

-- name: ModuleDownloadSummary :one
SELECT coalesce(sum(d.count) FILTER (WHERE d.day > current_date - 7), 0)::bigint AS week,
       coalesce(sum(d.count) FILTER (WHERE d.day > current_date - 30), 0)::bigint AS month,
       coalesce(sum(d.count) FILTER (WHERE d.day > current_date - 365), 0)::bigint AS year,
       coalesce(sum(d.count), 0)::bigint AS total
FROM module_downloads d JOIN module_versions v ON v.id = d.module_version_id
WHERE v.module_id = @module_id;
