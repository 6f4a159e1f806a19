-- Terrareg user groups: SSO-named groups granting MODIFY or FULL on
-- namespaces (top-level groups), or site administration.

-- name: ListUserGroups :many
SELECT * FROM user_groups ORDER BY lower(name);

-- name: GetUserGroupByName :one
SELECT * FROM user_groups WHERE lower(name) = lower(@name);

-- name: CreateUserGroup :one
INSERT INTO user_groups (name, site_admin) VALUES (@name, @site_admin) RETURNING *;

-- name: DeleteUserGroup :exec
DELETE FROM user_groups WHERE id = @id;

-- name: ListUserGroupPermissions :many
-- Every namespace permission, or one user group's, with the namespace's name.
SELECT ugp.user_group_id, ugp.group_id, g.full_path AS namespace, ugp.permission
FROM user_group_permissions ugp JOIN groups g ON g.id = ugp.group_id
WHERE sqlc.narg(user_group_id)::bigint IS NULL OR ugp.user_group_id = sqlc.narg(user_group_id)
ORDER BY ugp.user_group_id, lower(g.full_path);

-- name: GetUserGroupPermission :one
SELECT * FROM user_group_permissions WHERE user_group_id = @user_group_id AND group_id = @group_id;

-- name: UpsertUserGroupPermission :one
INSERT INTO user_group_permissions (user_group_id, group_id, permission) VALUES (@user_group_id, @group_id, @permission)
ON CONFLICT (user_group_id, group_id) DO UPDATE SET permission = EXCLUDED.permission
RETURNING *;

-- name: DeleteUserGroupPermission :execrows
DELETE FROM user_group_permissions WHERE user_group_id = @user_group_id AND group_id = @group_id;

-- name: ListUserGroupMembers :many
SELECT u.id, u.username, u.name, u.blocked
FROM user_group_members ugm JOIN users u ON u.id = ugm.user_id
WHERE ugm.user_group_id = @user_group_id ORDER BY lower(u.username);

-- name: AddUserGroupMember :execrows
-- An administrator's membership; one synchronised from SSO becomes manual
-- (kept whatever the next sign-in's groups claim says).
INSERT INTO user_group_members (user_group_id, user_id, source) VALUES (@user_group_id, @user_id, 'manual')
ON CONFLICT (user_group_id, user_id) DO UPDATE SET source = 'manual' WHERE user_group_members.source = 'sso';

-- name: DeleteUserGroupMember :execrows
DELETE FROM user_group_members WHERE user_group_id = @user_group_id AND user_id = @user_id;

-- name: UserNamespacePermissions :many
-- Terrareg's view of a user's rights: per namespace, FULL from an owner
-- membership or a FULL grant, else MODIFY from a maintainer membership or a
-- MODIFY grant. Memberships of subgroups and projects are not namespace-wide.
SELECT g.full_path AS namespace,
       (CASE WHEN bool_or(r.full) THEN 'FULL' ELSE 'MODIFY' END)::text AS permission
FROM (
    SELECT m.group_id, m.access_level = 50 AS full
    FROM members m WHERE m.user_id = @user_id AND m.group_id IS NOT NULL AND m.access_level >= 40
    UNION ALL
    SELECT ugp.group_id, ugp.permission = 'FULL'
    FROM user_group_permissions ugp JOIN user_group_members ugm ON ugm.user_group_id = ugp.user_group_id
    WHERE ugm.user_id = @user_id
) r JOIN groups g ON g.id = r.group_id AND g.parent_id IS NULL
GROUP BY g.full_path
ORDER BY lower(g.full_path);
