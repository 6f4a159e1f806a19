-- +goose Up
-- A change of a module or one of its versions names the namespaces whose
-- cached lookups it affects ('ns:<namespace_key>': the module's, and each
-- namespace it still answers at through a redirect), so replicas drop those
-- and keep the rest: at 100,000 modules a publish no longer empties every
-- replica's lookup cache. pg_notify folds repeats within a transaction.
-- Project, group and redirect changes still announce their table (every
-- lookup dropped).
DROP TRIGGER module_versions_notify ON module_versions;
DROP TRIGGER terraform_modules_notify ON terraform_modules;

-- +goose StatementBegin
CREATE FUNCTION cairn_notify_module(module bigint) RETURNS void LANGUAGE plpgsql AS $$
BEGIN
    PERFORM pg_notify('cairn_modules', 'ns:' || x.key)
    FROM (SELECT m.namespace_key AS key FROM terraform_modules m WHERE m.id = module
          UNION
          SELECT lower(g.full_path) FROM module_redirects r JOIN groups g ON g.id = r.namespace_id
          WHERE r.module_id = module) x;
END $$;
-- +goose StatementEnd

-- +goose StatementBegin
CREATE FUNCTION cairn_module_version_changed() RETURNS trigger LANGUAGE plpgsql AS $$
BEGIN
    IF TG_OP <> 'INSERT' THEN
        PERFORM cairn_notify_module(OLD.module_id);
    END IF;
    IF TG_OP <> 'DELETE' THEN
        PERFORM cairn_notify_module(NEW.module_id);
    END IF;
    RETURN NULL;
END $$;
-- +goose StatementEnd

-- +goose StatementBegin
CREATE FUNCTION cairn_module_changed() RETURNS trigger LANGUAGE plpgsql AS $$
BEGIN
    IF TG_OP <> 'INSERT' THEN
        PERFORM pg_notify('cairn_modules', 'ns:' || OLD.namespace_key);
    END IF;
    IF TG_OP <> 'DELETE' THEN
        PERFORM cairn_notify_module(NEW.id);
    END IF;
    RETURN NULL;
END $$;
-- +goose StatementEnd

-- The columns lookups read (00071).
CREATE TRIGGER module_versions_notify
    AFTER INSERT OR DELETE OR UPDATE OF module_id, version, is_prerelease, blob_key, archive_format, sha256, size,
        providers, published_by, published, created_at, zip_blob_key
    ON module_versions FOR EACH ROW EXECUTE FUNCTION cairn_module_version_changed();
CREATE TRIGGER terraform_modules_notify AFTER INSERT OR UPDATE OR DELETE ON terraform_modules
    FOR EACH ROW EXECUTE FUNCTION cairn_module_changed();

-- +goose Down
DROP TRIGGER terraform_modules_notify ON terraform_modules;
DROP TRIGGER module_versions_notify ON module_versions;
DROP FUNCTION cairn_module_changed, cairn_module_version_changed, cairn_notify_module;
CREATE TRIGGER module_versions_notify
    AFTER INSERT OR DELETE OR UPDATE OF module_id, version, is_prerelease, blob_key, archive_format, sha256, size,
        providers, published_by, published, created_at, zip_blob_key
    ON module_versions FOR EACH STATEMENT EXECUTE FUNCTION notify_modules();
CREATE TRIGGER terraform_modules_notify AFTER INSERT OR UPDATE OR DELETE ON terraform_modules
    FOR EACH STATEMENT EXECUTE FUNCTION notify_modules();
