-- Terrareg's write API: module provider settings, moves and redirects,
-- the publish flag.

-- name: PublishModuleVersion :execrows
UPDATE module_versions SET published = true WHERE id = @id;

-- name: UpdateModuleSettings :one
-- Terrareg's settings; a set_* false leaves that field alone, a NULL value
-- unsets it.
UPDATE terraform_modules SET
    git_provider_id          = CASE WHEN @set_git_provider::boolean THEN sqlc.narg(git_provider_id)::bigint ELSE git_provider_id END,
    repo_base_url_template   = CASE WHEN @set_repo_base::boolean THEN sqlc.narg(repo_base_url_template)::text ELSE repo_base_url_template END,
    repo_clone_url_template  = CASE WHEN @set_repo_clone::boolean THEN sqlc.narg(repo_clone_url_template)::text ELSE repo_clone_url_template END,
    repo_browse_url_template = CASE WHEN @set_repo_browse::boolean THEN sqlc.narg(repo_browse_url_template)::text ELSE repo_browse_url_template END,
    git_tag_format           = CASE WHEN @set_git_tag_format::boolean THEN sqlc.narg(git_tag_format)::text ELSE git_tag_format END,
    git_path                 = CASE WHEN @set_git_path::boolean THEN sqlc.narg(git_path)::text ELSE git_path END,
    archive_git_path         = coalesce(sqlc.narg(archive_git_path)::boolean, archive_git_path),
    verified                 = coalesce(sqlc.narg(verified)::boolean, verified)
WHERE id = @id
RETURNING *;

-- name: MoveModule :exec
UPDATE terraform_modules SET project_id = @project_id, namespace_id = @namespace_id, name = @name, system = @system
WHERE id = @id;

-- name: ModuleAtAddress :one
-- Whether a module, or a redirect, occupies namespace/name/system (other
-- than module exclude_id).
SELECT EXISTS (SELECT 1 FROM terraform_modules m
               WHERE m.namespace_id = @namespace_id AND m.name = @name AND m.system = @system AND m.id <> @exclude_id)::boolean AS module,
       EXISTS (SELECT 1 FROM module_redirects r
               WHERE r.namespace_id = @namespace_id AND r.name = @name AND r.system = @system AND r.module_id <> @exclude_id)::boolean AS redirect;

-- name: CreateModuleRedirect :exec
INSERT INTO module_redirects (module_id, namespace_id, name, system)
VALUES (@module_id, @namespace_id, @name, @system)
ON CONFLICT (namespace_id, name, system) DO UPDATE SET module_id = EXCLUDED.module_id, created_at = now();

-- name: DeleteModuleRedirectAt :exec
-- A module moving back to an address it left no longer needs the redirect.
DELETE FROM module_redirects WHERE namespace_id = @namespace_id AND name = @name AND system = @system;

-- name: ListModuleRedirects :many
SELECT r.id, r.module_id, r.name, r.system, r.created_at, ns.full_path AS namespace
FROM module_redirects r JOIN groups ns ON ns.id = r.namespace_id
WHERE r.module_id = @module_id ORDER BY r.id;

-- name: DeleteModuleRedirect :execrows
DELETE FROM module_redirects WHERE id = @id AND module_id = @module_id;

-- name: NamespaceModuleCount :one
SELECT count(*) FROM terraform_modules WHERE namespace_id = @namespace_id;

-- name: DeleteModuleVersionsOf :many
-- Deletes a module's versions; returns the blobs to remove.
DELETE FROM module_versions WHERE module_id = @module_id RETURNING blob_key, zip_blob_key;

-- name: DeleteModuleByID :exec
DELETE FROM terraform_modules WHERE id = @id;
