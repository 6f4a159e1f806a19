-- +goose Up
-- Provider lookups and GPG keys are cached per replica; changes to them are
-- announced so every replica drops those caches (project and group changes
-- already are, on cairn_modules).
-- +goose StatementBegin
CREATE FUNCTION notify_providers() RETURNS trigger LANGUAGE plpgsql AS $$
BEGIN
    PERFORM pg_notify('cairn_providers', TG_TABLE_NAME);
    RETURN NULL;
END $$;
-- +goose StatementEnd
CREATE TRIGGER terraform_providers_notify AFTER INSERT OR UPDATE OR DELETE ON terraform_providers
    FOR EACH STATEMENT EXECUTE FUNCTION notify_providers();
CREATE TRIGGER provider_versions_notify AFTER INSERT OR UPDATE OR DELETE ON provider_versions
    FOR EACH STATEMENT EXECUTE FUNCTION notify_providers();
CREATE TRIGGER provider_platforms_notify AFTER INSERT OR UPDATE OR DELETE ON provider_platforms
    FOR EACH STATEMENT EXECUTE FUNCTION notify_providers();
CREATE TRIGGER gpg_keys_notify AFTER INSERT OR UPDATE OR DELETE ON gpg_keys
    FOR EACH STATEMENT EXECUTE FUNCTION notify_providers();

-- +goose Down
DROP TRIGGER gpg_keys_notify ON gpg_keys;
DROP TRIGGER provider_platforms_notify ON provider_platforms;
DROP TRIGGER provider_versions_notify ON provider_versions;
DROP TRIGGER terraform_providers_notify ON terraform_providers;
DROP FUNCTION notify_providers;
