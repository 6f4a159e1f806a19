-- +goose Up
-- Module lookups are cached per replica; anything that changes what a
-- lookup returns (versions, modules, a project's visibility or place,
-- groups) is announced so every replica drops that cache.
-- +goose StatementBegin
CREATE FUNCTION notify_modules() RETURNS trigger LANGUAGE plpgsql AS $$
BEGIN
    PERFORM pg_notify('cairn_modules', TG_TABLE_NAME);
    RETURN NULL;
END $$;
-- +goose StatementEnd
CREATE TRIGGER module_versions_notify AFTER INSERT OR UPDATE OR DELETE ON module_versions
    FOR EACH STATEMENT EXECUTE FUNCTION notify_modules();
CREATE TRIGGER terraform_modules_notify AFTER INSERT OR UPDATE OR DELETE ON terraform_modules
    FOR EACH STATEMENT EXECUTE FUNCTION notify_modules();
CREATE TRIGGER projects_modules_notify AFTER UPDATE OF visibility, group_id, path, full_path OR DELETE ON projects
    FOR EACH STATEMENT EXECUTE FUNCTION notify_modules();
CREATE TRIGGER groups_modules_notify AFTER UPDATE OF visibility, parent_id, path, full_path, traversal_ids OR DELETE ON groups
    FOR EACH STATEMENT EXECUTE FUNCTION notify_modules();

-- +goose Down
DROP TRIGGER groups_modules_notify ON groups;
DROP TRIGGER projects_modules_notify ON projects;
DROP TRIGGER terraform_modules_notify ON terraform_modules;
DROP TRIGGER module_versions_notify ON module_versions;
DROP FUNCTION notify_modules;
