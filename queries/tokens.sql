-- name: CreatePersonalAccessToken :one
INSERT INTO personal_access_tokens (user_id, name, token_hash, token_prefix, scopes, expires_at)
VALUES (@user_id, @name, @token_hash, @token_prefix, @scopes, sqlc.narg(expires_at))
RETURNING *;

-- name: GetPersonalAccessTokenByHash :one
SELECT t.*, u.username, u.is_admin, u.blocked
FROM personal_access_tokens t JOIN users u ON u.id = t.user_id
WHERE t.token_hash = @token_hash;

-- name: GetPersonalAccessToken :one
SELECT * FROM personal_access_tokens WHERE id = @id;

-- name: ListPersonalAccessTokens :many
SELECT * FROM personal_access_tokens
WHERE (sqlc.narg(user_id)::bigint IS NULL OR user_id = sqlc.narg(user_id))
ORDER BY id;

-- name: RevokePersonalAccessToken :execrows
UPDATE personal_access_tokens SET revoked = true WHERE id = @id AND NOT revoked;

-- name: TouchPersonalAccessToken :exec
-- Last-used time, written at most once a minute per token.
UPDATE personal_access_tokens SET last_used_at = now()
WHERE id = @id AND (last_used_at IS NULL OR last_used_at < now() - interval '1 minute');

-- name: CreateDeployToken :one
INSERT INTO deploy_tokens (group_id, project_id, name, username, token_hash, token_prefix, scopes, expires_at)
VALUES (sqlc.narg(group_id), sqlc.narg(project_id), @name, @username, @token_hash, @token_prefix, @scopes, sqlc.narg(expires_at))
RETURNING *;

-- name: GetDeployTokenByHash :one
SELECT * FROM deploy_tokens WHERE token_hash = @token_hash;

-- name: GetDeployToken :one
SELECT * FROM deploy_tokens WHERE id = @id;

-- name: ListGroupDeployTokens :many
SELECT * FROM deploy_tokens WHERE group_id = @group_id ORDER BY id;

-- name: ListProjectDeployTokens :many
SELECT * FROM deploy_tokens WHERE project_id = @project_id ORDER BY id;

-- name: RevokeDeployToken :execrows
UPDATE deploy_tokens SET revoked = true WHERE id = @id AND NOT revoked;

-- name: TouchDeployToken :exec
UPDATE deploy_tokens SET last_used_at = now()
WHERE id = @id AND (last_used_at IS NULL OR last_used_at < now() - interval '1 minute');

-- name: CreateTrustRule :one
INSERT INTO job_trust_rules (project_id, issuer, audience, conditions, description)
VALUES (@project_id, @issuer, @audience, @conditions, @description)
RETURNING *;

-- name: ListTrustRulesForIssuer :many
SELECT * FROM job_trust_rules WHERE issuer = @issuer ORDER BY id;

-- name: ListProjectTrustRules :many
SELECT * FROM job_trust_rules WHERE project_id = @project_id ORDER BY id;

-- name: GetTrustRule :one
SELECT * FROM job_trust_rules WHERE id = @id;

-- name: DeleteTrustRule :execrows
DELETE FROM job_trust_rules WHERE id = @id AND project_id = @project_id;

-- name: SetDeployTokenUsername :exec
UPDATE deploy_tokens SET username = @username WHERE id = @id;
