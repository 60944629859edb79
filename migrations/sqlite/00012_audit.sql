-- +goose Up
-- The audit log: who (actor: "client:<id>", "user:<name>", "webhook:<name>",
-- "schedule:<name>"), when, what and from which address. Rows are only ever added:
-- no route updates or deletes them. id is a UUIDv7, so (at, id) orders entries and
-- is the cursor of GET /api/v1/audit.
CREATE TABLE audit_log (
    id          TEXT PRIMARY KEY,
    at          DATETIME NOT NULL,
    actor       TEXT NOT NULL,
    actor_kind  TEXT NOT NULL,
    action      TEXT NOT NULL,
    target_type TEXT NOT NULL DEFAULT '',
    target      TEXT NOT NULL DEFAULT '',
    address     TEXT NOT NULL DEFAULT '',
    detail      TEXT NOT NULL DEFAULT '{}'
);
-- Newest first, alone or after one of the filters.
CREATE INDEX audit_log_at ON audit_log (at DESC, id DESC);
CREATE INDEX audit_log_actor_at ON audit_log (actor, at DESC, id DESC);
CREATE INDEX audit_log_action_at ON audit_log (action, at DESC, id DESC);
CREATE INDEX audit_log_target_at ON audit_log (target, at DESC, id DESC);

-- Who started a root execution (NULL for child executions and older rows), and who
-- saved a revision (NULL for older rows and the seeded examples); flows.author is
-- the latest revision's.
ALTER TABLE executions ADD COLUMN started_by TEXT;
ALTER TABLE flow_revisions ADD COLUMN author TEXT;
ALTER TABLE flows ADD COLUMN author TEXT;

-- +goose Down
ALTER TABLE flows DROP COLUMN author;
ALTER TABLE flow_revisions DROP COLUMN author;
ALTER TABLE executions DROP COLUMN started_by;
DROP TABLE audit_log;
