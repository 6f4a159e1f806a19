-- name: EnsureInstanceSecret :one
-- Stores value under name unless a secret already exists, and returns the
-- stored one, so concurrent replicas agree on a single value.
WITH ins AS (
    INSERT INTO instance_secrets (name, value) VALUES (@name, @value)
    ON CONFLICT (name) DO NOTHING
    RETURNING value
)
SELECT value FROM ins
UNION ALL
SELECT value FROM instance_secrets WHERE name = @name
LIMIT 1;

-- name: Ping :one
SELECT 1::int AS ok;

-- name: EnsureSigningKey :exec
-- Creates the first download signing key unless one exists. (Replicas
-- starting together may both insert one; the newest then signs and the
-- other verifies until retired, which is harmless.)
INSERT INTO download_signing_keys (value)
SELECT @value::bytea
WHERE NOT EXISTS (SELECT 1 FROM download_signing_keys);

-- name: SigningKeys :many
SELECT id, value, created_at FROM download_signing_keys ORDER BY id;

-- name: InsertSigningKey :one
INSERT INTO download_signing_keys (value) VALUES (@value) RETURNING id;

-- name: RetireSigningKeys :execrows
-- Deletes the keys that stopped signing (a newer key exists) more than
-- overlap_seconds ago: every token they signed has expired.
DELETE FROM download_signing_keys k
WHERE EXISTS (
    SELECT 1 FROM download_signing_keys n
    WHERE n.id > k.id AND n.created_at < now() - make_interval(secs => @overlap_seconds::float8)
);
