-- +goose Up
CREATE TABLE webhooks (
    name       TEXT PRIMARY KEY,
    flow       TEXT NOT NULL,
    key_hash   TEXT NOT NULL,
    enabled    BOOLEAN NOT NULL DEFAULT TRUE,
    created_at TIMESTAMPTZ NOT NULL,
    updated_at TIMESTAMPTZ NOT NULL
);

CREATE TABLE schedules (
    name       TEXT PRIMARY KEY,
    flow       TEXT NOT NULL,
    cron       TEXT NOT NULL,
    inputs     TEXT NOT NULL DEFAULT '{}',
    enabled    BOOLEAN NOT NULL DEFAULT TRUE,
    timezone   TEXT NOT NULL DEFAULT '',
    overlap    TEXT NOT NULL DEFAULT 'skip',
    created_at TIMESTAMPTZ NOT NULL,
    updated_at TIMESTAMPTZ NOT NULL
);

-- +goose Down
DROP TABLE schedules;
DROP TABLE webhooks;
