-- name: VersionDownloadTotal :one
-- Every download of one version, the per-version count Terrareg's details show.
SELECT coalesce(sum(count), 0)::bigint AS total FROM module_downloads WHERE module_version_id = @version_id;
