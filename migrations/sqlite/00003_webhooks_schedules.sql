-- +goose Up
CREATE TABLE webhooks (
    name       TEXT PRIMARY KEY,
    flow       TEXT NOT NULL,
    key_hash   TEXT NOT NULL,
    enabled    INTEGER NOT NULL DEFAULT 1,
    created_at DATETIME NOT NULL,
    updated_at DATETIME NOT NULL
);

CREATE TABLE schedules (
    name       TEXT PRIMARY KEY,
    flow       TEXT NOT NULL,
    cron       TEXT NOT NULL,
    inputs     TEXT NOT NULL DEFAULT '{}',
    enabled    INTEGER NOT NULL DEFAULT 1,
    timezone   TEXT NOT NULL DEFAULT '',
    overlap    TEXT NOT NULL DEFAULT 'skip',
    created_at DATETIME NOT NULL,
    updated_at DATETIME NOT NULL
);

-- +goose Down
DROP TABLE schedules;
DROP TABLE webhooks;
