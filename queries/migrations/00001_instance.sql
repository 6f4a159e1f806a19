-- +goose Up
-- Instance-wide secrets shared by every replica (e.g. the key that signs
-- download URLs). Generated once, never rotated implicitly.
CREATE TABLE instance_secrets (
    name       text PRIMARY KEY,
    value      bytea NOT NULL,
    created_at timestamptz NOT NULL DEFAULT now()
);

-- +goose Down
DROP TABLE instance_secrets;
