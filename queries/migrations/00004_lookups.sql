-- +goose Up
-- GitLab's traversal_ids: the ids from the top-level group down to this
-- group, so a resource's ancestor chain is read without recursion.
ALTER TABLE groups ADD COLUMN traversal_ids bigint[] NOT NULL DEFAULT '{}';
WITH RECURSIVE chain AS (
    SELECT id, ARRAY[id] AS ids FROM groups WHERE parent_id IS NULL
    UNION ALL
    SELECT g.id, c.ids || g.id FROM groups g JOIN chain c ON g.parent_id = c.id
)
UPDATE groups SET traversal_ids = chain.ids FROM chain WHERE chain.id = groups.id;

-- The providers a version requires, small enough to list with every version
-- (the full metadata stays in metadata).
ALTER TABLE module_versions ADD COLUMN providers jsonb NOT NULL DEFAULT '[]';

-- +goose Down
ALTER TABLE module_versions DROP COLUMN providers;
ALTER TABLE groups DROP COLUMN traversal_ids;
