-- +goose Up
-- Catalog search. Every module carries what list and search pages need, kept
-- current by triggers, so each writer (publish, version deletion, metadata
-- re-extraction, namespace renames, download flushes) keeps it right without
-- knowing about search:
--   description, owner: from the latest version's metadata
--                       (cairn_module_description, cairn_module_owner);
--   search:             weighted document: name A, namespace path and
--                       system B, description and owner C;
--   namespace_key:      the namespace's path lower-cased, so list pages
--                       walk (namespace_key, name, system) in an index.
ALTER TABLE terraform_modules
    ADD COLUMN description   text NOT NULL DEFAULT '',
    ADD COLUMN owner         text NOT NULL DEFAULT '',
    ADD COLUMN search        tsvector NOT NULL DEFAULT '',
    ADD COLUMN namespace_key text NOT NULL DEFAULT '';

-- Each module's downloads: the sum of module_downloads over its versions,
-- so pages rank and show totals without aggregating per-day rows. A table of
-- its own: download flushes must not write terraform_modules, whose changes
-- invalidate every replica's module lookups (00007).
CREATE TABLE module_download_totals (
    module_id bigint PRIMARY KEY REFERENCES terraform_modules (id) ON DELETE CASCADE,
    downloads bigint NOT NULL
);

-- pg_trgm (PostgreSQL contrib) indexes substring matches on module names.
-- Where it cannot be installed, search behaves the same, only without that
-- index (the match is a plain LIKE).
-- +goose StatementBegin
DO $$
BEGIN
    CREATE EXTENSION IF NOT EXISTS pg_trgm;
EXCEPTION WHEN OTHERS THEN
    RAISE WARNING 'pg_trgm is unavailable (%): module names are matched without a trigram index', SQLERRM;
END $$;
-- +goose StatementEnd

-- +goose StatementBegin
DO $$
BEGIN
    IF EXISTS (SELECT 1 FROM pg_extension WHERE extname = 'pg_trgm') THEN
        CREATE INDEX terraform_modules_name_trgm_idx ON terraform_modules USING gin (name gin_trgm_ops)
            WITH (fastupdate = off);
    END IF;
END $$;
-- +goose StatementEnd

-- The GIN indexes skip the pending list (fastupdate): publishes are rare,
-- searches frequent, and a pending list is scanned by every search until
-- (auto)vacuum merges it.
CREATE INDEX terraform_modules_search_idx ON terraform_modules USING gin (search) WITH (fastupdate = off);
-- List pages walk listed modules in address order and stop after one page.
CREATE INDEX terraform_modules_address_idx ON terraform_modules (namespace_key, name, system, id)
    WHERE latest_version_id IS NOT NULL;
-- "Most downloaded this week" reads the last days only.
CREATE INDEX module_downloads_day_idx ON module_downloads (day);

-- The words of a text as search sees them: lower case, anything but letters
-- and digits separates words. Documents and queries both pass through it, so
-- "aws-vpc", "aws_vpc" and "AWS VPC" are the same two words.
-- +goose StatementBegin
CREATE FUNCTION cairn_search_words(t text) RETURNS text
    LANGUAGE sql IMMUTABLE PARALLEL SAFE AS $$
    SELECT btrim(regexp_replace(lower(coalesce(t, '')), '[^[:alnum:]]+', ' ', 'g'))
$$;
-- +goose StatementEnd

-- The query for a user's search text: each of its first ten words must begin
-- a word of the document ("net vpc" finds "network" and "vpc"); a single
-- character must be a whole word (as a prefix it matches nearly everything).
-- NULL when the text has no words.
-- +goose StatementBegin
CREATE FUNCTION cairn_search_query(q text) RETURNS tsquery
    LANGUAGE sql IMMUTABLE PARALLEL SAFE AS $$
    SELECT to_tsquery('simple', string_agg(w || CASE WHEN length(w) > 1 THEN ':*' ELSE '' END, ' & ' ORDER BY n))
    FROM unnest((string_to_array(cairn_search_words(q), ' '))[1:10]) WITH ORDINALITY AS t(w, n)
    WHERE w <> ''
$$;
-- +goose StatementEnd

-- The LIKE pattern matching q inside a module name, NULL below three
-- characters (shorter ones match nearly every name, and trigrams cannot
-- index them).
-- +goose StatementBegin
CREATE FUNCTION cairn_name_pattern(q text) RETURNS text
    LANGUAGE sql IMMUTABLE PARALLEL SAFE AS $$
    SELECT CASE WHEN length(btrim(q)) >= 3
        THEN '%' || replace(replace(replace(lower(btrim(q)), '\', '\\'), '%', '\%'), '_', '\_') || '%' END
$$;
-- +goose StatementEnd

-- A version's description: terrareg.json's "description", else the first
-- line of the root README that starts with a letter or digit (so headings,
-- badges, HTML, lists and tables are skipped), at most 250 characters.
-- +goose StatementBegin
CREATE FUNCTION cairn_module_description(metadata jsonb) RETURNS text
    LANGUAGE sql IMMUTABLE PARALLEL SAFE AS $$
    SELECT coalesce(
        nullif(btrim(metadata->'terrareg'->>'description'), ''),
        (SELECT left(btrim(l, E' \t\r'), 250)
         FROM regexp_split_to_table(metadata->'root'->>'readme', E'\n') WITH ORDINALITY AS t(l, n)
         WHERE l ~ '^[ \t]*[[:alnum:]]'
         ORDER BY n LIMIT 1),
        '')
$$;
-- +goose StatementEnd

-- A version's owner: terrareg.json's "owner", else "".
-- +goose StatementBegin
CREATE FUNCTION cairn_module_owner(metadata jsonb) RETURNS text
    LANGUAGE sql IMMUTABLE PARALLEL SAFE AS $$
    SELECT coalesce(btrim(metadata->'terrareg'->>'owner'), '')
$$;
-- +goose StatementEnd

-- A module's search document: name weighs most (A), then namespace and
-- system (B), then description and owner (C).
-- +goose StatementBegin
CREATE FUNCTION cairn_module_document(name text, namespace text, system text, description text, owner text) RETURNS tsvector
    LANGUAGE sql IMMUTABLE PARALLEL SAFE AS $$
    SELECT setweight(to_tsvector('simple', cairn_search_words(name)), 'A')
        || setweight(to_tsvector('simple', cairn_search_words(namespace || ' ' || system)), 'B')
        || setweight(to_tsvector('simple', cairn_search_words(description || ' ' || owner)), 'C')
$$;
-- +goose StatementEnd

-- Whether a principal whose policies.Scope is (scope_all, scope_internal,
-- scope_project_ids, scope_group_ids) may read the packages of a project
-- (its visibility, id and its group's traversal_ids): the SQL form of
-- policies.Authorizer.ReadableScope, used by every catalog query. Plain SQL,
-- so the planner inlines it.
-- +goose StatementBegin
CREATE FUNCTION cairn_scope_readable(visibility text, project_id bigint, traversal_ids bigint[],
        scope_all boolean, scope_internal boolean, scope_project_ids bigint[], scope_group_ids bigint[]) RETURNS boolean
    LANGUAGE sql IMMUTABLE PARALLEL SAFE AS $$
    SELECT scope_all
        OR visibility = 'public'
        OR (scope_internal AND visibility = 'internal')
        OR project_id = ANY (scope_project_ids)
        OR traversal_ids && scope_group_ids
$$;
-- +goose StatementEnd

-- Recomputes description, owner, search and namespace_key whenever the latest
-- version, the name, system or namespace of a module is written.
-- +goose StatementBegin
CREATE FUNCTION cairn_module_search_refresh() RETURNS trigger LANGUAGE plpgsql AS $$
DECLARE
    meta jsonb;
    ns   text;
BEGIN
    SELECT v.metadata INTO meta FROM module_versions v WHERE v.id = NEW.latest_version_id;
    SELECT g.full_path INTO ns FROM groups g WHERE g.id = NEW.namespace_id;
    NEW.description := cairn_module_description(meta);
    NEW.owner := cairn_module_owner(meta);
    NEW.search := cairn_module_document(NEW.name, coalesce(ns, ''), NEW.system, NEW.description, NEW.owner);
    NEW.namespace_key := lower(coalesce(ns, ''));
    RETURN NEW;
END $$;
-- +goose StatementEnd
CREATE TRIGGER terraform_modules_search BEFORE INSERT OR UPDATE OF latest_version_id, name, system, namespace_id
    ON terraform_modules FOR EACH ROW EXECUTE FUNCTION cairn_module_search_refresh();

-- A latest version whose metadata changes (re-extraction) refreshes its module.
-- +goose StatementBegin
CREATE FUNCTION cairn_module_version_metadata_changed() RETURNS trigger LANGUAGE plpgsql AS $$
BEGIN
    UPDATE terraform_modules SET latest_version_id = latest_version_id
    WHERE id = NEW.module_id AND latest_version_id = NEW.id;
    RETURN NULL;
END $$;
-- +goose StatementEnd
CREATE TRIGGER module_versions_search AFTER UPDATE OF metadata ON module_versions
    FOR EACH ROW WHEN (OLD.metadata IS DISTINCT FROM NEW.metadata)
    EXECUTE FUNCTION cairn_module_version_metadata_changed();

-- A renamed namespace refreshes its modules.
-- +goose StatementBegin
CREATE FUNCTION cairn_namespace_renamed() RETURNS trigger LANGUAGE plpgsql AS $$
BEGIN
    UPDATE terraform_modules SET namespace_id = namespace_id WHERE namespace_id = NEW.id;
    RETURN NULL;
END $$;
-- +goose StatementEnd
CREATE TRIGGER groups_module_search AFTER UPDATE OF full_path ON groups
    FOR EACH ROW WHEN (NEW.parent_id IS NULL AND OLD.full_path IS DISTINCT FROM NEW.full_path)
    EXECUTE FUNCTION cairn_namespace_renamed();

-- Download totals follow module_downloads. Statement-level triggers with
-- transition tables: one upsert per flush, taking the totals' row locks in
-- module order after the flush's own, so concurrent flushes cannot deadlock
-- on them.
-- +goose StatementBegin
CREATE FUNCTION cairn_module_downloads_changed() RETURNS trigger LANGUAGE plpgsql AS $$
BEGIN
    IF TG_OP = 'INSERT' THEN
        INSERT INTO module_download_totals AS t (module_id, downloads)
        SELECT v.module_id, sum(r.count)
        FROM new_rows r JOIN module_versions v ON v.id = r.module_version_id
        GROUP BY v.module_id ORDER BY v.module_id
        ON CONFLICT (module_id) DO UPDATE SET downloads = t.downloads + EXCLUDED.downloads;
    ELSIF TG_OP = 'UPDATE' THEN
        INSERT INTO module_download_totals AS t (module_id, downloads)
        SELECT v.module_id, sum(r.n)
        FROM (SELECT module_version_id, count AS n FROM new_rows
              UNION ALL
              SELECT module_version_id, -count FROM old_rows) r
        JOIN module_versions v ON v.id = r.module_version_id
        GROUP BY v.module_id HAVING sum(r.n) <> 0 ORDER BY v.module_id
        ON CONFLICT (module_id) DO UPDATE SET downloads = t.downloads + EXCLUDED.downloads;
    ELSE
        UPDATE module_download_totals t SET downloads = t.downloads - d.n
        FROM (SELECT v.module_id, sum(r.count) AS n
              FROM old_rows r JOIN module_versions v ON v.id = r.module_version_id
              GROUP BY v.module_id) d
        WHERE t.module_id = d.module_id;
    END IF;
    RETURN NULL;
END $$;
-- +goose StatementEnd
CREATE TRIGGER module_downloads_added AFTER INSERT ON module_downloads
    REFERENCING NEW TABLE AS new_rows
    FOR EACH STATEMENT EXECUTE FUNCTION cairn_module_downloads_changed();
CREATE TRIGGER module_downloads_updated AFTER UPDATE ON module_downloads
    REFERENCING OLD TABLE AS old_rows NEW TABLE AS new_rows
    FOR EACH STATEMENT EXECUTE FUNCTION cairn_module_downloads_changed();
CREATE TRIGGER module_downloads_deleted AFTER DELETE ON module_downloads
    REFERENCING OLD TABLE AS old_rows
    FOR EACH STATEMENT EXECUTE FUNCTION cairn_module_downloads_changed();

-- A deleted version takes its downloads with it. (Its module_downloads rows
-- go by cascade once the version row is gone, when the statement trigger
-- above can no longer attribute them, so they are subtracted here.)
-- +goose StatementBegin
CREATE FUNCTION cairn_module_version_deleted() RETURNS trigger LANGUAGE plpgsql AS $$
BEGIN
    UPDATE module_download_totals SET downloads = downloads
        - (SELECT coalesce(sum(d.count), 0) FROM module_downloads d WHERE d.module_version_id = OLD.id)
    WHERE module_id = OLD.module_id;
    RETURN OLD;
END $$;
-- +goose StatementEnd
CREATE TRIGGER module_versions_downloads BEFORE DELETE ON module_versions
    FOR EACH ROW EXECUTE FUNCTION cairn_module_version_deleted();

-- Existing modules: documents and totals.
UPDATE terraform_modules SET latest_version_id = latest_version_id;
INSERT INTO module_download_totals (module_id, downloads)
SELECT v.module_id, sum(d.count) FROM module_downloads d JOIN module_versions v ON v.id = d.module_version_id
GROUP BY v.module_id;

-- What a catalog page shows of a listed module (one with a latest version):
-- its namespace, project, latest version and downloads.
CREATE VIEW catalog_modules AS
SELECT m.id, m.name, m.system, m.description, m.owner, coalesce(t.downloads, 0)::bigint AS downloads,
       m.namespace_id, ns.full_path AS namespace, ns.name AS namespace_name,
       m.project_id, p.full_path AS project_path, p.visibility AS project_visibility, p.group_id AS project_group_id,
       v.id AS version_id, v.version, v.created_at AS published_at
FROM terraform_modules m
JOIN module_versions v ON v.id = m.latest_version_id
JOIN groups ns ON ns.id = m.namespace_id
JOIN projects p ON p.id = m.project_id
LEFT JOIN module_download_totals t ON t.module_id = m.id;

-- +goose Down
DROP VIEW catalog_modules;
DROP TRIGGER module_versions_downloads ON module_versions;
DROP TRIGGER module_downloads_added ON module_downloads;
DROP TRIGGER module_downloads_updated ON module_downloads;
DROP TRIGGER module_downloads_deleted ON module_downloads;
DROP TRIGGER groups_module_search ON groups;
DROP TRIGGER module_versions_search ON module_versions;
DROP TRIGGER terraform_modules_search ON terraform_modules;
DROP FUNCTION cairn_module_version_deleted, cairn_module_downloads_changed, cairn_namespace_renamed,
    cairn_module_version_metadata_changed, cairn_module_search_refresh, cairn_scope_readable,
    cairn_module_document, cairn_module_owner, cairn_name_pattern, cairn_module_description, cairn_search_query,
    cairn_search_words;
DROP INDEX module_downloads_day_idx;
DROP INDEX terraform_modules_address_idx;
DROP INDEX terraform_modules_search_idx;
DROP INDEX IF EXISTS terraform_modules_name_trgm_idx;
DROP TABLE module_download_totals;
ALTER TABLE terraform_modules DROP COLUMN description, DROP COLUMN owner, DROP COLUMN search,
    DROP COLUMN namespace_key;
