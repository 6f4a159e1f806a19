-- +goose Up
-- A Terraform module (name/system) owned by one project. namespace_id is the
-- top-level group of the project (the Terraform namespace), denormalised for
-- namespace-wide lookups. latest_version_id is maintained by the application
-- (modules/version decides the order) whenever versions change.
CREATE TABLE terraform_modules (
    id                bigserial PRIMARY KEY,
    project_id        bigint NOT NULL REFERENCES projects (id) ON DELETE CASCADE,
    namespace_id      bigint NOT NULL REFERENCES groups (id) ON DELETE CASCADE,
    name              text NOT NULL,
    system            text NOT NULL,
    latest_version_id bigint,
    created_at        timestamptz NOT NULL DEFAULT now()
);
CREATE UNIQUE INDEX terraform_modules_project_key ON terraform_modules (project_id, name, system);
CREATE INDEX terraform_modules_namespace_idx ON terraform_modules (namespace_id, name, system);

-- One published version. It exists only once its archive is durable in the
-- blob store (blob_key), so no half-published version is ever served.
CREATE TABLE module_versions (
    id             bigserial PRIMARY KEY,
    module_id      bigint NOT NULL REFERENCES terraform_modules (id) ON DELETE CASCADE,
    version        text NOT NULL,
    is_prerelease  boolean NOT NULL,
    blob_key       text NOT NULL,
    archive_format text NOT NULL CHECK (archive_format IN ('tgz', 'zip')),
    sha256         text NOT NULL,
    size           bigint NOT NULL,
    metadata       jsonb,
    published_by   text NOT NULL DEFAULT '',
    created_at     timestamptz NOT NULL DEFAULT now()
);
CREATE UNIQUE INDEX module_versions_key ON module_versions (module_id, version);

ALTER TABLE terraform_modules ADD CONSTRAINT terraform_modules_latest_fk
    FOREIGN KEY (latest_version_id) REFERENCES module_versions (id) ON DELETE SET NULL;

-- Downloads aggregated per version and day (one row per day, not per hit).
CREATE TABLE module_downloads (
    module_version_id bigint NOT NULL REFERENCES module_versions (id) ON DELETE CASCADE,
    day               date NOT NULL,
    count             bigint NOT NULL,
    PRIMARY KEY (module_version_id, day)
);

-- +goose Down
DROP TABLE module_downloads;
ALTER TABLE terraform_modules DROP CONSTRAINT terraform_modules_latest_fk;
DROP TABLE module_versions, terraform_modules;
