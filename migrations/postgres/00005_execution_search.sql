-- +goose Up
-- Filters of GET /api/v1/executions: by trigger, newest first, and input.<path>=<value>
-- (a containment query that this GIN index answers).
CREATE INDEX executions_trigger_created ON executions ("trigger", created_at DESC);
CREATE INDEX executions_inputs ON executions USING GIN ((inputs::jsonb) jsonb_path_ops);

-- +goose Down
DROP INDEX executions_inputs;
DROP INDEX executions_trigger_created;
