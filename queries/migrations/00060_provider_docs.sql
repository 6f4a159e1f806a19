-- +goose Up
-- Provider docs: the docs/ tree (tfplugindocs layout) uploaded with a
-- release, one row a page. A version's docs are replaced as a whole.
CREATE TABLE provider_docs (
    id          bigserial PRIMARY KEY,
    version_id  bigint NOT NULL REFERENCES provider_versions (id) ON DELETE CASCADE,
    category    text NOT NULL CHECK (category IN ('overview', 'resources', 'data-sources', 'guides', 'functions')),
    slug        text NOT NULL,
    title       text NOT NULL,
    subcategory text,
    path        text NOT NULL,
    content     text NOT NULL,
    created_at  timestamptz NOT NULL DEFAULT now(),
    UNIQUE (version_id, category, slug)
);

-- +goose Down
DROP TABLE provider_docs;
