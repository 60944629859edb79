-- +goose Up
-- A flow's maximum runtime in seconds (0: the server's --max-runtime).
ALTER TABLE flows ADD COLUMN max_runtime_seconds INTEGER NOT NULL DEFAULT 0;

-- +goose Down
ALTER TABLE flows DROP COLUMN max_runtime_seconds;
