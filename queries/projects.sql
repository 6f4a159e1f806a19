-- name: CreateProject :one
INSERT INTO projects (group_id, path, name, full_path, description, visibility)
VALUES (@group_id, @path, @name, @full_path, @description, @visibility)
RETURNING *;

-- name: GetProject :one
SELECT * FROM projects WHERE id = @id;

-- name: GetProjectByPath :one
SELECT * FROM projects WHERE lower(full_path) = lower(@full_path);

-- name: ListProjects :many
SELECT * FROM projects
WHERE (sqlc.narg(group_id)::bigint IS NULL OR group_id = sqlc.narg(group_id))
  AND (sqlc.narg(search)::text IS NULL OR full_path ILIKE '%' || sqlc.narg(search) || '%')
ORDER BY full_path
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
