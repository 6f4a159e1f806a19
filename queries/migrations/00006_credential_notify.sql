-- +goose Up
-- Resolved credentials are cached per replica; any change that could revoke
-- or narrow one is announced so every replica drops its cache. Last-used
-- updates touch other columns and announce nothing.
-- +goose StatementBegin
CREATE FUNCTION notify_credentials() RETURNS trigger LANGUAGE plpgsql AS $$
BEGIN
    PERFORM pg_notify('cairn_credentials', TG_TABLE_NAME);
    RETURN NULL;
END $$;
-- +goose StatementEnd
CREATE TRIGGER personal_access_tokens_notify
    AFTER UPDATE OF revoked, expires_at, scopes, user_id OR DELETE ON personal_access_tokens
    FOR EACH STATEMENT EXECUTE FUNCTION notify_credentials();
CREATE TRIGGER deploy_tokens_notify
    AFTER UPDATE OF revoked, expires_at, scopes, username, group_id, project_id OR DELETE ON deploy_tokens
    FOR EACH STATEMENT EXECUTE FUNCTION notify_credentials();
CREATE TRIGGER users_notify
    AFTER UPDATE OF blocked, is_admin, username OR DELETE ON users
    FOR EACH STATEMENT EXECUTE FUNCTION notify_credentials();

-- +goose Down
DROP TRIGGER users_notify ON users;
DROP TRIGGER deploy_tokens_notify ON deploy_tokens;
DROP TRIGGER personal_access_tokens_notify ON personal_access_tokens;
DROP FUNCTION notify_credentials;
