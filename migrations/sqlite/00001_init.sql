-- +goose Up
CREATE TABLE flows (
    name        TEXT PRIMARY KEY,
    description TEXT NOT NULL DEFAULT '',
    revision    INTEGER NOT NULL,
    script      TEXT NOT NULL,
    created_at  DATETIME NOT NULL,
    updated_at  DATETIME NOT NULL
);

CREATE TABLE flow_revisions (
    flow_name   TEXT NOT NULL,
    revision    INTEGER NOT NULL,
    script      TEXT NOT NULL,
    description TEXT NOT NULL DEFAULT '',
    created_at  DATETIME NOT NULL,
    PRIMARY KEY (flow_name, revision)
);

CREATE TABLE executions (
    id             TEXT PRIMARY KEY,
    type           TEXT NOT NULL,
    name           TEXT NOT NULL,
    status         TEXT NOT NULL,
    status_message TEXT NOT NULL DEFAULT '',
    parent_id      TEXT,
    root_id        TEXT NOT NULL,
    flow_revision  INTEGER NOT NULL DEFAULT 0,
    inputs         TEXT NOT NULL DEFAULT '{}',
    outputs        TEXT NOT NULL DEFAULT '{}',
    trigger        TEXT NOT NULL DEFAULT 'api',
    created_at     DATETIME NOT NULL,
    started_at     DATETIME,
    ended_at       DATETIME
);
CREATE INDEX executions_created ON executions (created_at DESC, id DESC);
CREATE INDEX executions_name_created ON executions (name, created_at DESC);
CREATE INDEX executions_status_created ON executions (status, created_at DESC);
CREATE INDEX executions_parent ON executions (parent_id, created_at);
CREATE INDEX executions_root ON executions (root_id);

CREATE TABLE log_lines (
    execution_id TEXT NOT NULL,
    seq          INTEGER NOT NULL,
    ts           DATETIME NOT NULL,
    level        TEXT NOT NULL,
    message      TEXT NOT NULL,
    PRIMARY KEY (execution_id, seq)
);

CREATE TABLE api_clients (
    id          TEXT PRIMARY KEY,
    name        TEXT NOT NULL DEFAULT '',
    secret_hash TEXT NOT NULL,
    role        TEXT NOT NULL,
    created_at  DATETIME NOT NULL
);

CREATE TABLE server_keys (
    name       TEXT PRIMARY KEY,
    value      TEXT NOT NULL,
    created_at DATETIME NOT NULL
);

-- +goose Down
DROP TABLE server_keys;
DROP TABLE api_clients;
DROP TABLE log_lines;
DROP TABLE executions;
DROP TABLE flow_revisions;
DROP TABLE flows;
