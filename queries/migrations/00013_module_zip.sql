-- +goose Up
-- The zip Terrareg's source.zip serves, built once at publish from a .tar.gz
-- upload (an uploaded .zip is served as stored, so this stays NULL). Versions
-- published before this column existed get it on their first source.zip
-- request.
ALTER TABLE module_versions ADD COLUMN zip_blob_key text;

-- +goose Down
ALTER TABLE module_versions DROP COLUMN zip_blob_key;
