-- name: InsertAuditEvent :exec
INSERT INTO audit_events (actor_id, actor_name, action, object_type, object_id, old_value, new_value)
VALUES (sqlc.narg(actor_id), @actor_name, @action, @object_type, @object_id, @old_value, @new_value);

-- name: ListAuditEvents :many
SELECT * FROM audit_events
WHERE (sqlc.narg(object_type)::text IS NULL OR object_type = sqlc.narg(object_type))
ORDER BY created_at DESC, id DESC
LIMIT @lim OFFSET @off;

-- name: CountAuditEvents :one
SELECT count(*) FROM audit_events;
