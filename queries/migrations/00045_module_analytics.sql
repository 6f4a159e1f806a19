-- +goose Up
-- Terrareg's module analytics, aggregated: one row per module version,
-- analytics token, Terraform version, environment and day, with how many
-- downloads (or analytics submissions) it stands for and when the last one
-- came. Terrareg stores a row per download; Cairn buffers and upserts in
-- batches (modules.Service.FlushAnalytics), as it does download counts.
-- '' is Terrareg's NULL (no token, no Terraform version, no environment).
CREATE TABLE module_analytics (
    module_version_id bigint NOT NULL REFERENCES module_versions (id) ON DELETE CASCADE,
    analytics_token   text NOT NULL,
    terraform_version text NOT NULL,
    environment       text NOT NULL,
    day               date NOT NULL,
    count             bigint NOT NULL,
    last_at           timestamptz NOT NULL,
    PRIMARY KEY (module_version_id, analytics_token, terraform_version, environment, day)
);

-- +goose Down
DROP TABLE module_analytics;
