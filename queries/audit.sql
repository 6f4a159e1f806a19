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

-- name: FilterAuditEventsNewestFirst :many
-- A page of audit events, newest first, matching every filter given (NULL
-- matches all): search as SearchAuditEventsNewestFirst (a substring of the
-- actor, action, object "type:id" or values, ignoring case); actor, action
-- and object_type exactly, ignoring case; since <= created_at < until.
SELECT * FROM audit_events
WHERE (sqlc.narg(search)::text IS NULL
   OR strpos(lower(actor_name), lower(sqlc.narg(search))) > 0
   OR strpos(lower(action), lower(sqlc.narg(search))) > 0
   OR strpos(lower(object_type || ':' || object_id), lower(sqlc.narg(search))) > 0
   OR strpos(lower(coalesce(old_value::text, '')), lower(sqlc.narg(search))) > 0
   OR strpos(lower(coalesce(new_value::text, '')), lower(sqlc.narg(search))) > 0)
  AND (sqlc.narg(actor)::text IS NULL OR lower(actor_name) = lower(sqlc.narg(actor)))
  AND (sqlc.narg(action)::text IS NULL OR lower(action) = lower(sqlc.narg(action)))
  AND (sqlc.narg(object_type)::text IS NULL OR lower(object_type) = lower(sqlc.narg(object_type)))
  AND (sqlc.narg(since)::timestamptz IS NULL OR created_at >= sqlc.narg(since))
  AND (sqlc.narg(until)::timestamptz IS NULL OR created_at < sqlc.narg(until))
ORDER BY created_at DESC, id DESC
LIMIT @lim OFFSET @off;

-- name: FilterAuditEventsOldestFirst :many
-- FilterAuditEventsNewestFirst in the other order.
SELECT * FROM audit_events
WHERE (sqlc.narg(search)::text IS NULL
   OR strpos(lower(actor_name), lower(sqlc.narg(search))) > 0
   OR strpos(lower(action), lower(sqlc.narg(search))) > 0
   OR strpos(lower(object_type || ':' || object_id), lower(sqlc.narg(search))) > 0
   OR strpos(lower(coalesce(old_value::text, '')), lower(sqlc.narg(search))) > 0
   OR strpos(lower(coalesce(new_value::text, '')), lower(sqlc.narg(search))) > 0)
  AND (sqlc.narg(actor)::text IS NULL OR lower(actor_name) = lower(sqlc.narg(actor)))
  AND (sqlc.narg(action)::text IS NULL OR lower(action) = lower(sqlc.narg(action)))
  AND (sqlc.narg(object_type)::text IS NULL OR lower(object_type) = lower(sqlc.narg(object_type)))
  AND (sqlc.narg(since)::timestamptz IS NULL OR created_at >= sqlc.narg(since))
  AND (sqlc.narg(until)::timestamptz IS NULL OR created_at < sqlc.narg(until))
ORDER BY created_at, id
LIMIT @lim OFFSET @off;

-- name: CountAuditEventsFiltered :one
-- The events FilterAuditEventsNewestFirst pages through.
SELECT count(*) FROM audit_events
WHERE (sqlc.narg(search)::text IS NULL
   OR strpos(lower(actor_name), lower(sqlc.narg(search))) > 0
   OR strpos(lower(action), lower(sqlc.narg(search))) > 0
   OR strpos(lower(object_type || ':' || object_id), lower(sqlc.narg(search))) > 0
   OR strpos(lower(coalesce(old_value::text, '')), lower(sqlc.narg(search))) > 0
   OR strpos(lower(coalesce(new_value::text, '')), lower(sqlc.narg(search))) > 0)
  AND (sqlc.narg(actor)::text IS NULL OR lower(actor_name) = lower(sqlc.narg(actor)))
  AND (sqlc.narg(action)::text IS NULL OR lower(action) = lower(sqlc.narg(action)))
  AND (sqlc.narg(object_type)::text IS NULL OR lower(object_type) = lower(sqlc.narg(object_type)))
  AND (sqlc.narg(since)::timestamptz IS NULL OR created_at >= sqlc.narg(since))
  AND (sqlc.narg(until)::timestamptz IS NULL OR created_at < sqlc.narg(until));
