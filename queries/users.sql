-- name: CreateUser :one
INSERT INTO users (username, name, email, password_hash, is_admin)
VALUES (@username, @name, @email, @password_hash, @is_admin)
RETURNING *;

-- name: GetUser :one
SELECT * FROM users WHERE id = @id;

-- name: GetUserByUsername :one
SELECT * FROM users WHERE lower(username) = lower(@username);

-- name: GetUserByOIDC :one
SELECT * FROM users WHERE oidc_issuer = @issuer AND oidc_subject = @subject;

-- name: ListUsers :many
SELECT * FROM users
WHERE (sqlc.narg(search)::text IS NULL OR username ILIKE '%' || sqlc.narg(search) || '%' OR name ILIKE '%' || sqlc.narg(search) || '%')
ORDER BY id
LIMIT @lim OFFSET @off;

-- name: CountAdmins :one
SELECT count(*) FROM users WHERE is_admin AND NOT blocked;

-- name: SetUserBlocked :one
UPDATE users SET blocked = @blocked, updated_at = now() WHERE id = @id RETURNING *;

-- name: UpdateUser :one
UPDATE users SET name = @name, email = @email, is_admin = @is_admin, updated_at = now()
WHERE id = @id RETURNING *;

-- name: SetUserPassword :exec
UPDATE users SET password_hash = @password_hash, updated_at = now() WHERE id = @id;

-- name: LinkUserOIDC :exec
UPDATE users SET oidc_issuer = @issuer, oidc_subject = @subject, updated_at = now() WHERE id = @id;

-- name: DeleteUser :exec
DELETE FROM users WHERE id = @id;

-- name: UsernameTaken :one
SELECT EXISTS (SELECT 1 FROM users WHERE lower(username) = lower(@username));

-- name: CreateSSOUser :one
INSERT INTO users (username, name, email, password_hash, is_admin, oidc_issuer, oidc_subject)
VALUES (@username, @name, @email, '', false, @issuer, @subject)
RETURNING *;

-- name: UpdateSSOProfile :one
UPDATE users SET name = @name, email = @email, updated_at = now() WHERE id = @id RETURNING *;

-- name: SetUserAdmin :one
UPDATE users SET is_admin = @is_admin, updated_at = now() WHERE id = @id RETURNING *;
