-- +goose Up
-- Writing a version's metadata back (a README rendered once for a version
-- published before READMEs were rendered at upload) changed nothing any
-- cache holds, yet it announced a module change — every replica then
-- dropped all its lookups, rankings and overviews — and touched the module
-- row. At 100,000 legacy versions that made every first page view clear
-- every cache. Lookups never read metadata, and the search document reads
-- only the description and owner derived from it.
DROP TRIGGER module_versions_notify ON module_versions;
CREATE TRIGGER module_versions_notify
    AFTER INSERT OR DELETE OR UPDATE OF module_id, version, is_prerelease, blob_key, archive_format, sha256, size,
        providers, published_by, published, created_at, zip_blob_key
    ON module_versions FOR EACH STATEMENT EXECUTE FUNCTION notify_modules();

DROP TRIGGER module_versions_search ON module_versions;
CREATE TRIGGER module_versions_search AFTER UPDATE OF metadata ON module_versions
    FOR EACH ROW WHEN (cairn_module_description(OLD.metadata) IS DISTINCT FROM cairn_module_description(NEW.metadata)
                       OR cairn_module_owner(OLD.metadata) IS DISTINCT FROM cairn_module_owner(NEW.metadata))
    EXECUTE FUNCTION cairn_module_version_metadata_changed();

-- +goose Down
DROP TRIGGER module_versions_search ON module_versions;
CREATE TRIGGER module_versions_search AFTER UPDATE OF metadata ON module_versions
    FOR EACH ROW WHEN (OLD.metadata IS DISTINCT FROM NEW.metadata)
    EXECUTE FUNCTION cairn_module_version_metadata_changed();
DROP TRIGGER module_versions_notify ON module_versions;
CREATE TRIGGER module_versions_notify AFTER INSERT OR UPDATE OR DELETE ON module_versions
    FOR EACH STATEMENT EXECUTE FUNCTION notify_modules();
