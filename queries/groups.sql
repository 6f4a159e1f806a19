-- name: CreateGroup :one
WITH nid AS (SELECT nextval(pg_get_serial_sequence('groups', 'id')) AS id)
INSERT INTO groups (id, parent_id, path, name, full_path, description, visibility, traversal_ids)
SELECT nid.id, sqlc.narg(parent_id), @path, @name, @full_path, @description, @visibility,
       coalesce((SELECT traversal_ids FROM groups WHERE id = sqlc.narg(parent_id)::bigint), '{}') || nid.id
FROM nid
RETURNING *;

-- name: GetGroup :one
SELECT * FROM groups WHERE id = @id;

-- name: GetGroupByPath :one
SELECT * FROM groups WHERE lower(full_path) = lower(@full_path);

-- name: ListGroups :many
SELECT * FROM groups
WHERE (NOT @top_level_only::boolean OR parent_id IS NULL)
  AND (sqlc.narg(search)::text IS NULL OR full_path ILIKE '%' || sqlc.narg(search) || '%' OR name ILIKE '%' || sqlc.narg(search) || '%')
ORDER BY full_path
LIMIT @lim OFFSET @off;

-- name: ListSubgroups :many
SELECT * FROM groups WHERE parent_id = @parent_id ORDER BY path;

-- name: GroupAncestors :many
-- The group and every ancestor, nearest first.
WITH RECURSIVE chain AS (
    SELECT g.*, 0 AS depth FROM groups g WHERE g.id = @id
    UNION ALL
    SELECT p.*, c.depth + 1 FROM groups p JOIN chain c ON p.id = c.parent_id
)
SELECT id, parent_id, path, name, full_path, description, visibility,
       terraform_module_duplicates_allowed, terraform_module_duplicate_exception_regex,
       created_at, updated_at, traversal_ids
FROM chain ORDER BY depth;

-- name: GroupDescendantVisibility :one
-- The most visible rank among the group's subgroups and projects
-- (0 private, 1 internal, 2 public), to keep children no more visible than parents.
WITH RECURSIVE tree AS (
    SELECT id, visibility FROM groups WHERE parent_id = @id
    UNION ALL
    SELECT g.id, g.visibility FROM groups g JOIN tree t ON g.parent_id = t.id
)
SELECT coalesce(max(CASE v WHEN 'public' THEN 2 WHEN 'internal' THEN 1 ELSE 0 END), 0)::int
FROM (SELECT visibility AS v FROM tree
      UNION ALL
      SELECT p.visibility FROM projects p WHERE p.group_id = @id OR p.group_id IN (SELECT id FROM tree)) x;

-- name: UpdateGroup :one
-- A partial update: NULL leaves a column as it is, atomically.
UPDATE groups SET name = coalesce(sqlc.narg(name), name),
    description = coalesce(sqlc.narg(description), description),
    visibility = coalesce(sqlc.narg(visibility), visibility),
    terraform_module_duplicates_allowed = coalesce(sqlc.narg(duplicates_allowed)::boolean, terraform_module_duplicates_allowed),
    terraform_module_duplicate_exception_regex = coalesce(sqlc.narg(duplicate_exception)::text, terraform_module_duplicate_exception_regex),
    updated_at = now()
WHERE id = @id RETURNING *;

-- name: DeleteGroup :exec
DELETE FROM groups WHERE id = @id;

-- name: SiblingPathTaken :one
-- GitLab keeps subgroup and project paths unique within a parent.
SELECT (EXISTS (SELECT 1 FROM groups WHERE coalesce(parent_id, 0) = coalesce(sqlc.narg(parent_id)::bigint, 0) AND lower(path) = lower(@path))
    OR EXISTS (SELECT 1 FROM projects WHERE group_id = sqlc.narg(parent_id)::bigint AND lower(path) = lower(@path)))::boolean AS taken;
