-- +goose Up
-- Browser sessions: scs's pgx store keeps each session's data here, so any
-- replica serves any request.
CREATE TABLE sessions (
    token  text PRIMARY KEY,
    data   bytea NOT NULL,
    expiry timestamptz NOT NULL
);
CREATE INDEX sessions_expiry_idx ON sessions (expiry);

-- Signed-in sessions by user. A browser session is valid only while its row
-- exists, so ending a user's sessions (an admin, the user, blocking) signs
-- them out on every replica at once. id is the SHA-256 of the random session
-- id kept in the session's data.
CREATE TABLE user_sessions (
    id           bytea PRIMARY KEY,
    user_id      bigint NOT NULL REFERENCES users (id) ON DELETE CASCADE,
    method       text NOT NULL CHECK (method IN ('password', 'sso')),
    user_agent   text NOT NULL DEFAULT '',
    address      text NOT NULL DEFAULT '',
    created_at   timestamptz NOT NULL DEFAULT now(),
    last_seen_at timestamptz NOT NULL DEFAULT now(),
    expires_at   timestamptz NOT NULL
);
CREATE INDEX user_sessions_user_idx ON user_sessions (user_id);

-- How a user came into a user group: put there by an administrator, or
-- synchronised from the SSO groups claim at sign-in.
ALTER TABLE user_group_members ADD COLUMN source text NOT NULL DEFAULT 'manual' CHECK (source IN ('manual', 'sso'));

-- terraform login (login.v1) authorization codes: single use, short-lived,
-- bound to the client, redirect URI, PKCE challenge and user; stored hashed
-- so any replica can redeem them and a database read reveals none.
CREATE TABLE oauth_codes (
    code_hash      bytea PRIMARY KEY,
    user_id        bigint NOT NULL REFERENCES users (id) ON DELETE CASCADE,
    client_id      text NOT NULL,
    redirect_uri   text NOT NULL,
    code_challenge text NOT NULL,
    expires_at     timestamptz NOT NULL
);

-- +goose Down
DROP TABLE oauth_codes;
ALTER TABLE user_group_members DROP COLUMN source;
DROP TABLE user_sessions;
DROP TABLE sessions;
