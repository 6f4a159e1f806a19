-- name: TryBlobSweepLock :one
-- One replica sweeps the blob store at a time: a session lock, held until
-- ReleaseBlobSweepLock or until its connection ends.
SELECT pg_try_advisory_lock(hashtextextended('cairn:blob-sweep', 0))::boolean AS locked;

-- name: ReleaseBlobSweepLock :exec
SELECT pg_advisory_unlock(hashtextextended('cairn:blob-sweep', 0));

-- name: UnreferencedBlobKeys :many
-- The keys among @keys that no module version references (as its archive
-- or its built zip).
SELECT k.key::text AS key FROM unnest(@keys::text[]) AS k (key)
WHERE k.key NOT IN (SELECT blob_key FROM module_versions WHERE blob_key = ANY (@keys::text[]))
  AND k.key NOT IN (SELECT zip_blob_key FROM module_versions WHERE zip_blob_key = ANY (@keys::text[]));
