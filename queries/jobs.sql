-- Durable background jobs (jobs package).

-- name: EnqueueJob :one
INSERT INTO jobs (kind, module_id, args, requested_by, max_attempts)
VALUES (@kind, sqlc.narg(module_id), @args, @requested_by, @max_attempts)
RETURNING *;

-- name: GetJob :one
SELECT * FROM jobs WHERE id = @id;

-- name: ListModuleJobs :many
SELECT * FROM jobs WHERE module_id = @module_id ORDER BY id DESC LIMIT @max_rows;

-- name: ClaimJob :one
-- Claims the oldest runnable job of the given kinds: queued and due, or
-- running with an expired lease (its replica died). SKIP LOCKED lets every
-- replica claim at once without waiting on each other.
UPDATE jobs SET state = 'running', attempts = attempts + 1, lease_token = @lease_token,
    lease_until = now() + make_interval(secs => @lease_seconds::double precision), started_at = now()
WHERE id = (
    SELECT j.id FROM jobs j
    WHERE j.kind = ANY(@kinds::text[])
      AND ((j.state = 'queued' AND j.run_after <= now()) OR (j.state = 'running' AND j.lease_until < now()))
    ORDER BY j.id
    LIMIT 1
    FOR UPDATE SKIP LOCKED)
RETURNING *;

-- name: RenewJobLease :execrows
UPDATE jobs SET lease_until = now() + make_interval(secs => @lease_seconds::double precision)
WHERE id = @id AND lease_token = @lease_token AND state = 'running';

-- name: FinishJob :execrows
UPDATE jobs SET state = @state, result = @result, error = @error, finished_at = now(),
    lease_token = NULL, lease_until = NULL
WHERE id = @id AND lease_token = @lease_token AND state = 'running';

-- name: RetryJob :execrows
UPDATE jobs SET state = 'queued', error = @error,
    run_after = now() + make_interval(secs => @delay_seconds::double precision),
    lease_token = NULL, lease_until = NULL
WHERE id = @id AND lease_token = @lease_token AND state = 'running';
