-- name: ListProviders :many
-- Providers with what authorization needs (project visibility, group
-- chain) and their versions and platforms, in one round trip; namespace,
-- name and q (a substring of namespace/name) narrow the list when set.
SELECT tp.id, tp.project_id, tp.namespace_id, tp.name, tp.created_at, tp.updated_at,
       ns.full_path AS namespace_path,
       p.full_path AS project_path, p.visibility AS project_visibility,
       g.traversal_ids AS group_traversal_ids,
       coalesce((SELECT jsonb_agg(jsonb_build_object('id', v.id, 'version', v.version, 'key_id', v.key_id,
                    'protocols', v.protocols, 'shasums', v.shasums, 'shasums_blob_key', v.shasums_blob_key,
                    'shasums_sig_blob_key', v.shasums_sig_blob_key, 'published_by', v.published_by,
                    'created_at', v.created_at, 'updated_at', v.updated_at,
                    'platforms', coalesce((SELECT jsonb_agg(jsonb_build_object('id', pl.id, 'os', pl.os, 'arch', pl.arch,
                         'filename', pl.filename, 'sha256', pl.sha256, 'blob_key', pl.blob_key, 'size', pl.size, 'h1', pl.h1,
                         'created_at', pl.created_at) ORDER BY pl.os, pl.arch)
                       FROM provider_platforms pl WHERE pl.version_id = v.id), '[]'::jsonb)) ORDER BY v.id)
                 FROM provider_versions v WHERE v.provider_id = tp.id), '[]')::jsonb AS versions
FROM terraform_providers tp
JOIN groups ns ON ns.id = tp.namespace_id
JOIN projects p ON p.id = tp.project_id
JOIN groups g ON g.id = p.group_id
WHERE (sqlc.narg(namespace)::text IS NULL OR lower(ns.full_path) = lower(sqlc.narg(namespace)::text))
  AND (sqlc.narg(name)::text IS NULL OR tp.name = sqlc.narg(name)::text)
  AND (sqlc.narg(q)::text IS NULL OR strpos(lower(ns.full_path || '/' || tp.name), lower(sqlc.narg(q)::text)) > 0)
ORDER BY lower(ns.full_path), tp.name;

-- name: LockProviderName :exec
SELECT pg_advisory_xact_lock(hashtextextended(@lock_key::text, 0));

-- name: GetProviderByName :one
SELECT * FROM terraform_providers WHERE namespace_id = @namespace_id AND name = @name;

-- name: CreateProvider :one
INSERT INTO terraform_providers (project_id, namespace_id, name) VALUES (@project_id, @namespace_id, @name)
RETURNING *;

-- name: DeleteProvider :exec
DELETE FROM terraform_providers WHERE id = @id;

-- name: ProviderBlobKeys :one
-- Every blob of a provider's versions (before the provider is deleted).
SELECT array_remove(array_agg(pv.shasums_blob_key) || array_agg(pv.shasums_sig_blob_key)
       || coalesce((SELECT array_agg(pl.blob_key) FROM provider_platforms pl JOIN provider_versions v2 ON v2.id = pl.version_id
                    WHERE v2.provider_id = @provider_id), '{}'::text[]), NULL)::text[] AS keys
FROM provider_versions pv WHERE pv.provider_id = @provider_id;

-- name: VersionBlobKeys :one
SELECT array_remove(ARRAY[pv.shasums_blob_key, pv.shasums_sig_blob_key]
       || coalesce((SELECT array_agg(pl.blob_key) FROM provider_platforms pl WHERE pl.version_id = pv.id), '{}'::text[]), NULL)::text[] AS keys
FROM provider_versions pv WHERE pv.id = @version_id;

-- name: CreateProviderVersion :one
INSERT INTO provider_versions (provider_id, version, key_id, protocols, published_by)
VALUES (@provider_id, @version, @key_id, @protocols, @published_by)
RETURNING *;

-- name: GetProviderVersionForUpdate :one
SELECT * FROM provider_versions WHERE provider_id = @provider_id AND version = @version FOR UPDATE;

-- name: SetVersionShasums :exec
UPDATE provider_versions SET shasums = @shasums, shasums_blob_key = @blob_key, updated_at = now() WHERE id = @id;

-- name: SetVersionSignature :exec
UPDATE provider_versions SET shasums_sig_blob_key = @blob_key, updated_at = now() WHERE id = @id;

-- name: DeleteProviderVersion :exec
DELETE FROM provider_versions WHERE id = @id;

-- name: ListVersionPlatforms :many
SELECT * FROM provider_platforms WHERE version_id = @version_id ORDER BY os, arch;

-- name: CreatePlatform :one
INSERT INTO provider_platforms (version_id, os, arch, filename, sha256)
VALUES (@version_id, @os, @arch, @filename, @sha256)
RETURNING *;

-- name: GetPlatformForUpdate :one
SELECT * FROM provider_platforms WHERE version_id = @version_id AND os = @os AND arch = @arch FOR UPDATE;

-- name: SetPlatformBlob :exec
UPDATE provider_platforms SET blob_key = @blob_key, size = @size, h1 = @h1 WHERE id = @id;

-- name: DeletePlatform :exec
DELETE FROM provider_platforms WHERE id = @id;

-- name: CreateGPGKey :one
INSERT INTO gpg_keys (namespace_id, key_id, ascii_armor) VALUES (@namespace_id, @key_id, @ascii_armor)
RETURNING *;

-- name: GetGPGKey :one
SELECT k.*, ns.full_path AS namespace_path FROM gpg_keys k JOIN groups ns ON ns.id = k.namespace_id
WHERE k.namespace_id = @namespace_id AND k.key_id = @key_id;

-- name: ListGPGKeys :many
SELECT k.*, ns.full_path AS namespace_path FROM gpg_keys k JOIN groups ns ON ns.id = k.namespace_id
WHERE k.namespace_id = ANY (@namespace_ids::bigint[])
ORDER BY lower(ns.full_path), k.id;

-- name: DeleteGPGKey :exec
DELETE FROM gpg_keys WHERE id = @id;

-- name: CreateRegistryModule :one
INSERT INTO tfe_registry_modules (project_id, namespace_id, name, system)
VALUES (@project_id, @namespace_id, @name, @system)
ON CONFLICT (namespace_id, name, system) DO UPDATE SET name = EXCLUDED.name
RETURNING *;

-- name: ListRegistryModules :many
-- TFE-created modules of a namespace (by path; name and system narrow
-- when set), with their pending uploads.
SELECT rm.*, ns.full_path AS namespace_path, p.full_path AS project_path, p.visibility AS project_visibility, g.traversal_ids AS group_traversal_ids,
       coalesce((SELECT jsonb_agg(jsonb_build_object('id', u.id, 'version', u.version, 'status', u.status, 'error', u.error) ORDER BY u.id)
                 FROM tfe_module_uploads u WHERE u.registry_module_id = rm.id), '[]')::jsonb AS uploads
FROM tfe_registry_modules rm
JOIN projects p ON p.id = rm.project_id
JOIN groups g ON g.id = p.group_id
JOIN groups ns ON ns.id = rm.namespace_id
WHERE lower(ns.full_path) = lower(@namespace::text)
  AND (sqlc.narg(name)::text IS NULL OR rm.name = sqlc.narg(name)::text)
  AND (sqlc.narg(system)::text IS NULL OR rm.system = sqlc.narg(system)::text)
ORDER BY rm.name, rm.system;

-- name: DeleteRegistryModule :exec
DELETE FROM tfe_registry_modules WHERE id = @id;

-- name: CreateModuleUpload :one
INSERT INTO tfe_module_uploads (registry_module_id, version, principal)
VALUES (@registry_module_id, @version, @principal)
ON CONFLICT (registry_module_id, version) DO UPDATE SET principal = EXCLUDED.principal, status = 'pending', error = '', created_at = now()
RETURNING *;

-- name: GetModuleUploadForUpdate :one
SELECT * FROM tfe_module_uploads WHERE id = @id FOR UPDATE;

-- name: SetModuleUploadStatus :exec
UPDATE tfe_module_uploads SET status = @status, error = @error WHERE id = @id;

-- name: DeleteModuleUploads :exec
DELETE FROM tfe_module_uploads WHERE registry_module_id = @registry_module_id AND (sqlc.narg(version)::text IS NULL OR version = sqlc.narg(version)::text);

-- name: GetVersionForUpload :one
SELECT v.*, tp.namespace_id, tp.name AS provider_name FROM provider_versions v
JOIN terraform_providers tp ON tp.id = v.provider_id WHERE v.id = @id FOR UPDATE OF v;

-- name: GetPlatformForUpload :one
SELECT * FROM provider_platforms WHERE id = @id FOR UPDATE;

-- name: GetProviderVersionByID :one
SELECT * FROM provider_versions WHERE id = @id;

-- name: UnreferencedProviderBlobKeys :many
-- The keys among @keys that no provider version or platform references.
SELECT k.key::text AS key FROM unnest(@keys::text[]) AS k (key)
WHERE NOT EXISTS (SELECT 1 FROM provider_versions v WHERE v.shasums_blob_key = k.key OR v.shasums_sig_blob_key = k.key)
  AND NOT EXISTS (SELECT 1 FROM provider_platforms pl WHERE pl.blob_key = k.key);

-- name: GetRegistryModuleByID :one
SELECT * FROM tfe_registry_modules WHERE id = @id;

-- name: DeleteProviderDocs :exec
DELETE FROM provider_docs WHERE version_id = @version_id;

-- name: CreateProviderDoc :exec
INSERT INTO provider_docs (version_id, category, slug, title, subcategory, path, content)
VALUES (@version_id, @category, @slug, @title, sqlc.narg(subcategory), @path, @content);

-- name: ListProviderDocs :many
-- A version's docs without their content, in category then slug order.
SELECT id, version_id, category, slug, title, subcategory, path
FROM provider_docs WHERE version_id = @version_id
ORDER BY array_position(ARRAY['overview', 'guides', 'resources', 'data-sources', 'functions'], category), slug;

-- name: GetProviderDoc :one
SELECT * FROM provider_docs WHERE id = @id;

-- name: ProviderVersionOwner :one
-- The provider (namespace path and name) a version belongs to, so that
-- reads by id go through the same visibility check as reads by name.
SELECT ns.full_path AS namespace_path, tp.name AS provider_name, v.version
FROM provider_versions v
JOIN terraform_providers tp ON tp.id = v.provider_id
JOIN groups ns ON ns.id = tp.namespace_id
WHERE v.id = @id;
