-- name: CreateUserSession :exec
INSERT INTO user_sessions (id, user_id, method, user_agent, address, expires_at)
VALUES (@id, @user_id, @method, @user_agent, @address, @expires_at);

-- name: SessionUser :one
-- The user of a live session: the row exists, has not expired, and the user
-- is not blocked.
SELECT u.*, s.last_seen_at AS session_seen_at
FROM user_sessions s JOIN users u ON u.id = s.user_id
WHERE s.id = @id AND s.expires_at > now() AND NOT u.blocked;

-- name: TouchUserSession :exec
UPDATE user_sessions SET last_seen_at = now() WHERE id = @id;

-- name: DeleteUserSession :execrows
DELETE FROM user_sessions WHERE id = @id;

-- name: DeleteUserSessionOf :execrows
DELETE FROM user_sessions WHERE id = @id AND user_id = @user_id;

-- name: DeleteUserSessions :execrows
DELETE FROM user_sessions WHERE user_id = @user_id;

-- name: DeleteOtherUserSessions :execrows
DELETE FROM user_sessions WHERE user_id = @user_id AND id <> @keep;

-- name: ListUserSessions :many
SELECT * FROM user_sessions WHERE user_id = @user_id AND expires_at > now() ORDER BY last_seen_at DESC;

-- name: DeleteExpiredUserSessions :execrows
DELETE FROM user_sessions WHERE expires_at <= now();

-- name: CreateOAuthCode :exec
INSERT INTO oauth_codes (code_hash, user_id, client_id, redirect_uri, code_challenge, expires_at)
VALUES (@code_hash, @user_id, @client_id, @redirect_uri, @code_challenge, @expires_at);

-- name: TakeOAuthCode :one
-- A code is redeemed once: taking it deletes it.
DELETE FROM oauth_codes WHERE code_hash = @code_hash RETURNING *;

-- name: SetUserSSOGroups :exec
-- Replace a user's SSO-derived user group memberships with the user groups
-- named (case-insensitively); memberships added by hand are kept.
WITH wanted AS (
    SELECT id FROM user_groups WHERE lower(name) = ANY (@names::text[])
), dropped AS (
    DELETE FROM user_group_members m
    WHERE m.user_id = @user_id AND m.source = 'sso' AND m.user_group_id NOT IN (SELECT id FROM wanted)
)
INSERT INTO user_group_members (user_group_id, user_id, source)
SELECT id, @user_id, 'sso' FROM wanted
ON CONFLICT DO NOTHING;

-- name: ListUserGroupNamesOf :many
SELECT g.name, m.source FROM user_group_members m JOIN user_groups g ON g.id = m.user_group_id
WHERE m.user_id = @user_id ORDER BY lower(g.name);
