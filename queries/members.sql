-- name: UpsertGroupMember :one
INSERT INTO members (user_id, group_id, access_level) VALUES (@user_id, @group_id, @access_level)
ON CONFLICT (group_id, user_id) WHERE group_id IS NOT NULL DO UPDATE SET access_level = EXCLUDED.access_level
RETURNING *;

-- name: UpsertProjectMember :one
INSERT INTO members (user_id, project_id, access_level) VALUES (@user_id, @project_id, @access_level)
ON CONFLICT (project_id, user_id) WHERE project_id IS NOT NULL DO UPDATE SET access_level = EXCLUDED.access_level
RETURNING *;

-- name: GetGroupMember :one
SELECT m.*, u.username, u.name AS user_name, u.blocked
FROM members m JOIN users u ON u.id = m.user_id WHERE m.group_id = @group_id AND m.user_id = @user_id;

-- name: GetProjectMember :one
SELECT m.*, u.username, u.name AS user_name, u.blocked
FROM members m JOIN users u ON u.id = m.user_id WHERE m.project_id = @project_id AND m.user_id = @user_id;

-- name: ListGroupMembers :many
SELECT m.*, u.username, u.name AS user_name, u.blocked
FROM members m JOIN users u ON u.id = m.user_id WHERE m.group_id = @group_id ORDER BY u.username;

-- name: ListProjectMembers :many
SELECT m.*, u.username, u.name AS user_name, u.blocked
FROM members m JOIN users u ON u.id = m.user_id WHERE m.project_id = @project_id ORDER BY u.username;

-- name: DeleteGroupMember :execrows
DELETE FROM members WHERE group_id = @group_id AND user_id = @user_id;

-- name: DeleteProjectMember :execrows
DELETE FROM members WHERE project_id = @project_id AND user_id = @user_id;

-- name: AllMembers :many
-- Every membership, for loading the enforcer at start.
SELECT user_id, group_id, project_id, access_level FROM members;

-- name: AllUserGroupGrants :many
-- Every (user, namespace, permission) that Terrareg user groups grant.
SELECT ugm.user_id, ugp.user_group_id, ugp.group_id, ugp.permission
FROM user_group_permissions ugp JOIN user_group_members ugm ON ugm.user_group_id = ugp.user_group_id;

-- name: SiteAdminUserGroupMembers :many
SELECT DISTINCT ugm.user_id FROM user_group_members ugm JOIN user_groups ug ON ug.id = ugm.user_group_id WHERE ug.site_admin;

-- name: CountGroupOwners :one
SELECT count(*) FROM members WHERE group_id = @group_id AND access_level = 50;

-- name: LockMemberLevel :one
-- A direct membership's level, its row locked until the transaction ends.
SELECT access_level FROM members
WHERE user_id = @user_id AND (group_id = sqlc.narg(group_id)::bigint OR project_id = sqlc.narg(project_id)::bigint)
FOR UPDATE;
