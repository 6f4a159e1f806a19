-- +goose Up
-- Git-backed modules: durable background jobs, per module provider git
-- secrets and webhook deliveries. The repository settings themselves (clone
-- URL template, tag format, git path) are Terrareg's columns on
-- terraform_modules (00040).

-- Durable jobs, run by any replica: a worker claims one runnable job with
-- SELECT ... FOR UPDATE SKIP LOCKED and holds a lease it renews while it
-- runs. A job whose lease has expired (its replica died) is runnable again;
-- lease_token names the one claim allowed to renew or finish it, so a job
-- is never finished by two runs.
CREATE TABLE jobs (
    id           bigserial PRIMARY KEY,
    kind         text NOT NULL,
    module_id    bigint REFERENCES terraform_modules (id) ON DELETE CASCADE,
    args         jsonb NOT NULL DEFAULT '{}',
    state        text NOT NULL DEFAULT 'queued' CHECK (state IN ('queued', 'running', 'succeeded', 'failed')),
    attempts     integer NOT NULL DEFAULT 0,
    max_attempts integer NOT NULL DEFAULT 3,
    run_after    timestamptz NOT NULL DEFAULT now(),
    lease_token  text,
    lease_until  timestamptz,
    result       jsonb,
    error        text NOT NULL DEFAULT '',
    requested_by text NOT NULL,
    created_at   timestamptz NOT NULL DEFAULT now(),
    started_at   timestamptz,
    finished_at  timestamptz
);
CREATE INDEX jobs_runnable_idx ON jobs (id) WHERE state IN ('queued', 'running');
CREATE INDEX jobs_module_idx ON jobs (module_id, id);

-- Per module provider git secrets, AES-256-GCM sealed with a key derived
-- (HKDF) from CAIRN_SECRET_KEY and bound to the module id: the HTTPS token
-- used to clone, and the webhook secret (HMAC key for GitHub and Bitbucket,
-- token for GitLab). Neither is ever shown again after it is set.
CREATE TABLE module_git_secrets (
    module_id             bigint PRIMARY KEY REFERENCES terraform_modules (id) ON DELETE CASCADE,
    credential_username   text,
    credential_sealed     bytea,
    webhook_secret_sealed bytea,
    updated_at            timestamptz NOT NULL DEFAULT now()
);

-- Webhook deliveries, recorded only once their signature was verified. A
-- delivery id is recorded once per module and source: a replay is answered
-- from the record.
CREATE TABLE webhook_deliveries (
    id          bigserial PRIMARY KEY,
    module_id   bigint NOT NULL REFERENCES terraform_modules (id) ON DELETE CASCADE,
    source      text NOT NULL,
    delivery_id text NOT NULL,
    event       text NOT NULL,
    outcome     text NOT NULL,
    message     text NOT NULL DEFAULT '',
    tags        text[] NOT NULL DEFAULT '{}',
    job_ids     bigint[] NOT NULL DEFAULT '{}',
    created_at  timestamptz NOT NULL DEFAULT now()
);
CREATE UNIQUE INDEX webhook_deliveries_delivery_key ON webhook_deliveries (module_id, source, delivery_id);
CREATE INDEX webhook_deliveries_module_idx ON webhook_deliveries (module_id, id);

-- +goose Down
DROP TABLE webhook_deliveries;
DROP TABLE module_git_secrets;
DROP TABLE jobs;
