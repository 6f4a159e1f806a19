-- name: CreateProject :one
INSERT INTO projects (group_id, path, name, full_path, description, visibility)
VALUES (@group_id, @path, @name, @full_path, @description, @visibility)
RETURNING *;

-- name: GetProject :one
SELECT * FROM projects WHERE id = @id;

-- name: GetProjectByPath :one
SELECT * FROM projects WHERE lower(full_path) = lower(@full_path);

-- name: ListProjects :many
-- With the group chain, so visibility is decided without a query per row.
SELECT sqlc.embed(p), g.traversal_ids AS group_traversal_ids
FROM projects p JOIN groups g ON g.id = p.group_id
WHERE (sqlc.narg(group_id)::bigint IS NULL OR p.group_id = sqlc.narg(group_id))
  AND (sqlc.narg(search)::text IS NULL OR p.full_path ILIKE '%' || sqlc.narg(search) || '%')
ORDER BY p.full_path
LIMIT @lim OFFSET @off;

-- name: UpdateProject :one
-- A partial update: NULL leaves a column as it is, atomically.
UPDATE projects SET name = coalesce(sqlc.narg(name), name),
    description = coalesce(sqlc.narg(description), description),
    visibility = coalesce(sqlc.narg(visibility), visibility),
    updated_at = now()
WHERE id = @id RETURNING *;

-- name: DeleteProject :exec
DELETE FROM projects WHERE id = @id;

-- name: LockProjectsForDelete :many
-- Locks the project, or every project in the group's tree, until the
-- transaction ends (no module can be added to them meanwhile); returns
-- their ids.
SELECT p.id FROM projects p JOIN groups g ON g.id = p.group_id
WHERE p.id = sqlc.narg(project_id)::bigint OR sqlc.narg(group_id)::bigint = ANY (g.traversal_ids)
ORDER BY p.id
FOR UPDATE OF p;

-- name: LockModulesOfProjects :exec
-- Locks the projects' modules until the transaction ends (no version can be
-- added to them meanwhile).
SELECT id FROM terraform_modules WHERE project_id = ANY (@project_ids::bigint[]) ORDER BY id FOR UPDATE;

-- name: BlobKeysOfProjects :many
-- The blobs the projects' module versions reference: each archive, and the
-- zip built from it, if any. The versions are locked, so a zip recorded
-- concurrently is either seen here or finds its version gone.
SELECT v.blob_key, v.zip_blob_key
FROM module_versions v JOIN terraform_modules m ON m.id = v.module_id
WHERE m.project_id = ANY (@project_ids::bigint[])
FOR UPDATE OF v;
