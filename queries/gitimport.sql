-- Git-backed modules (gitimport package): secrets and webhook deliveries.

-- name: GetModuleGitSecrets :one
SELECT * FROM module_git_secrets WHERE module_id = @module_id;

-- name: SetModuleGitCredential :exec
INSERT INTO module_git_secrets (module_id, credential_username, credential_sealed)
VALUES (@module_id, sqlc.narg(credential_username), sqlc.narg(credential_sealed))
ON CONFLICT (module_id) DO UPDATE SET credential_username = EXCLUDED.credential_username,
    credential_sealed = EXCLUDED.credential_sealed, updated_at = now();

-- name: SetModuleWebhookSecret :exec
INSERT INTO module_git_secrets (module_id, webhook_secret_sealed)
VALUES (@module_id, @webhook_secret_sealed)
ON CONFLICT (module_id) DO UPDATE SET webhook_secret_sealed = EXCLUDED.webhook_secret_sealed, updated_at = now();

-- name: ModuleAddressByID :one
SELECT ns.full_path AS namespace, m.name, m.system
FROM terraform_modules m JOIN groups ns ON ns.id = m.namespace_id
WHERE m.id = @id;

-- name: InsertWebhookDelivery :one
-- Records a delivery; a replay (same id) returns no row.
INSERT INTO webhook_deliveries (module_id, source, delivery_id, event, outcome, message, tags, job_ids)
VALUES (@module_id, @source, @delivery_id, @event, @outcome, @message, @tags, @job_ids)
ON CONFLICT (module_id, source, delivery_id) DO NOTHING
RETURNING *;

-- name: GetWebhookDelivery :one
SELECT * FROM webhook_deliveries WHERE module_id = @module_id AND source = @source AND delivery_id = @delivery_id;

-- name: GetWebhookDeliveryByID :one
SELECT * FROM webhook_deliveries WHERE module_id = @module_id AND id = @id;

-- name: ListWebhookDeliveries :many
SELECT * FROM webhook_deliveries WHERE module_id = @module_id ORDER BY id DESC LIMIT @max_rows;

-- name: UpdateWebhookDelivery :exec
UPDATE webhook_deliveries SET outcome = @outcome, message = @message, job_ids = @job_ids WHERE id = @id;
