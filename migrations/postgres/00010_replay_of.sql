-- +goose Up
-- A replay (trigger 'replay') records the execution whose recorded answers it
-- replayed; so do its child flows and its replayed connections (each the recorded
-- one it answered with).
ALTER TABLE executions ADD COLUMN replay_of TEXT;

-- +goose Down
ALTER TABLE executions DROP COLUMN replay_of;
