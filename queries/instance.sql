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
