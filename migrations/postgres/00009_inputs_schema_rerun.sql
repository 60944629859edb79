-- +goose Up
-- A flow's declared inputs (a JSON Schema as text; '' declares none), kept with each
-- revision so that an execution is checked against the revision it runs.
ALTER TABLE flows ADD COLUMN inputs_schema TEXT NOT NULL DEFAULT '';
ALTER TABLE flow_revisions ADD COLUMN inputs_schema TEXT NOT NULL DEFAULT '';
-- The execution a re-run repeats (POST /api/v1/executions/{id}/rerun).
ALTER TABLE executions ADD COLUMN rerun_of TEXT;

-- +goose Down
ALTER TABLE executions DROP COLUMN rerun_of;
ALTER TABLE flow_revisions DROP COLUMN inputs_schema;
ALTER TABLE flows DROP COLUMN inputs_schema;
