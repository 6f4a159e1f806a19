-- +goose Up
-- Terrareg's write API.
--
-- The publish flag: a version uploaded through Terrareg's upload path stays
-- unpublished until published (CAIRN_TERRAREG_AUTO_PUBLISH aside). An
-- unpublished version is never a module's latest (modules.refreshLatest
-- reads published versions only), so the search document, catalog lists
-- and statistics, which follow latest_version_id, never show it.
ALTER TABLE module_versions ADD COLUMN published boolean NOT NULL DEFAULT true;

-- Terrareg's module provider settings, stored per module. NULL is
-- Terrareg's unset.
ALTER TABLE terraform_modules
    ADD COLUMN git_provider_id          bigint,
    ADD COLUMN repo_base_url_template   text,
    ADD COLUMN repo_clone_url_template  text,
    ADD COLUMN repo_browse_url_template text,
    ADD COLUMN git_tag_format           text,
    ADD COLUMN git_path                 text,
    ADD COLUMN archive_git_path         boolean NOT NULL DEFAULT false,
    ADD COLUMN verified                 boolean NOT NULL DEFAULT false;

-- The addresses a module was moved away from: lookups of namespace/name/
-- system resolve to module_id until the redirect is deleted. The namespace
-- is the old top-level group (a redirect goes with it).
CREATE TABLE module_redirects (
    id           bigserial PRIMARY KEY,
    module_id    bigint NOT NULL REFERENCES terraform_modules (id) ON DELETE CASCADE,
    namespace_id bigint NOT NULL REFERENCES groups (id) ON DELETE CASCADE,
    name         text NOT NULL,
    system       text NOT NULL,
    created_at   timestamptz NOT NULL DEFAULT now()
);
CREATE UNIQUE INDEX module_redirects_address_key ON module_redirects (namespace_id, name, system);
CREATE INDEX module_redirects_module_idx ON module_redirects (module_id);

-- Redirects change what lookups return (00007).
CREATE TRIGGER module_redirects_notify AFTER INSERT OR UPDATE OR DELETE ON module_redirects
    FOR EACH STATEMENT EXECUTE FUNCTION notify_modules();

-- +goose Down
DROP TRIGGER module_redirects_notify ON module_redirects;
DROP TABLE module_redirects;
ALTER TABLE terraform_modules
    DROP COLUMN git_provider_id, DROP COLUMN repo_base_url_template, DROP COLUMN repo_clone_url_template,
    DROP COLUMN repo_browse_url_template, DROP COLUMN git_tag_format, DROP COLUMN git_path,
    DROP COLUMN archive_git_path, DROP COLUMN verified;
ALTER TABLE module_versions DROP COLUMN published;
