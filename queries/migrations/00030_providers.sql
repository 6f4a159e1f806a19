-- +goose Up
-- Private providers: a provider namespace/type is owned by a project; a
-- version carries its protocols, the id of the GPG key that signed it, and
-- (once uploaded and verified) its SHA256SUMS and detached signature; a
-- platform is one os/arch zip. Blob columns are NULL until their upload
-- has been verified and stored, so nothing partial is ever served.
CREATE TABLE gpg_keys (
    id           bigserial PRIMARY KEY,
    namespace_id bigint NOT NULL REFERENCES groups (id) ON DELETE CASCADE,
    key_id       text NOT NULL,
    ascii_armor  text NOT NULL,
    created_at   timestamptz NOT NULL DEFAULT now(),
    updated_at   timestamptz NOT NULL DEFAULT now(),
    UNIQUE (namespace_id, key_id)
);

CREATE TABLE terraform_providers (
    id           bigserial PRIMARY KEY,
    project_id   bigint NOT NULL REFERENCES projects (id) ON DELETE CASCADE,
    namespace_id bigint NOT NULL REFERENCES groups (id) ON DELETE CASCADE,
    name         text NOT NULL,
    created_at   timestamptz NOT NULL DEFAULT now(),
    updated_at   timestamptz NOT NULL DEFAULT now(),
    UNIQUE (namespace_id, name)
);
CREATE INDEX terraform_providers_project_idx ON terraform_providers (project_id);

CREATE TABLE provider_versions (
    id                   bigserial PRIMARY KEY,
    provider_id          bigint NOT NULL REFERENCES terraform_providers (id) ON DELETE CASCADE,
    version              text NOT NULL,
    key_id               text NOT NULL,
    protocols            text[] NOT NULL,
    shasums              text,
    shasums_blob_key     text,
    shasums_sig_blob_key text,
    published_by         text NOT NULL DEFAULT '',
    created_at           timestamptz NOT NULL DEFAULT now(),
    updated_at           timestamptz NOT NULL DEFAULT now(),
    UNIQUE (provider_id, version)
);

CREATE TABLE provider_platforms (
    id         bigserial PRIMARY KEY,
    version_id bigint NOT NULL REFERENCES provider_versions (id) ON DELETE CASCADE,
    os         text NOT NULL,
    arch       text NOT NULL,
    filename   text NOT NULL,
    sha256     text NOT NULL,
    blob_key   text,
    size       bigint NOT NULL DEFAULT 0,
    h1         text NOT NULL DEFAULT '',
    created_at timestamptz NOT NULL DEFAULT now(),
    UNIQUE (version_id, os, arch)
);

-- Registry modules created through the TFE API before (or without) a
-- published version, and version uploads announced there and awaiting
-- their PUT: the upload link carries no credentials, so the principal that
-- asked for it is kept with it.
CREATE TABLE tfe_registry_modules (
    id           bigserial PRIMARY KEY,
    project_id   bigint NOT NULL REFERENCES projects (id) ON DELETE CASCADE,
    namespace_id bigint NOT NULL REFERENCES groups (id) ON DELETE CASCADE,
    name         text NOT NULL,
    system       text NOT NULL,
    created_at   timestamptz NOT NULL DEFAULT now(),
    UNIQUE (namespace_id, name, system)
);

CREATE TABLE tfe_module_uploads (
    id                 bigserial PRIMARY KEY,
    registry_module_id bigint NOT NULL REFERENCES tfe_registry_modules (id) ON DELETE CASCADE,
    version            text NOT NULL,
    principal          jsonb NOT NULL,
    status             text NOT NULL DEFAULT 'pending',
    error              text NOT NULL DEFAULT '',
    created_at         timestamptz NOT NULL DEFAULT now(),
    UNIQUE (registry_module_id, version)
);

-- +goose Down
DROP TABLE tfe_module_uploads;
DROP TABLE tfe_registry_modules;
DROP TABLE provider_platforms;
DROP TABLE provider_versions;
DROP TABLE terraform_providers;
DROP TABLE gpg_keys;
