-- +goose Up
-- Filters of GET /api/v1/executions: by trigger, newest first.
CREATE INDEX executions_trigger_created ON executions ("trigger", created_at DESC);

-- +goose Down
DROP INDEX executions_trigger_created;
