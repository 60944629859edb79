-- +goose Up
-- Secrets hold values sealed with AES-256-GCM by the process's key
-- (FLOWD_SECRET_KEY or <data dir>/secret.key): "v1.<key id>.<base64>".
CREATE TABLE secrets (
    name       TEXT PRIMARY KEY,
    sealed     TEXT NOT NULL,
    created_at TIMESTAMPTZ NOT NULL,
    updated_at TIMESTAMPTZ NOT NULL
);

-- Saved connectors: default inputs (JSON, secrets as {"secret": "NAME"}), the
-- allowed domains (a JSON list) and the outcome of the last test since the
-- connector was saved (tested_at NULL: not tested).
CREATE TABLE connectors (
    name           TEXT PRIMARY KEY,
    connector_type TEXT NOT NULL,
    inputs         TEXT NOT NULL DEFAULT '{}',
    domains        TEXT NOT NULL DEFAULT '[]',
    description    TEXT NOT NULL DEFAULT '',
    test_ok        BOOLEAN NOT NULL DEFAULT FALSE,
    test_message   TEXT NOT NULL DEFAULT '',
    test_status    INTEGER NOT NULL DEFAULT 0,
    tested_at      TIMESTAMPTZ,
    created_at     TIMESTAMPTZ NOT NULL,
    updated_at     TIMESTAMPTZ NOT NULL
);

-- Saved OAuth2 grants: the PUT body as JSON, secrets as {"secret": "NAME"}.
CREATE TABLE oauth_grants (
    name       TEXT PRIMARY KEY,
    config     TEXT NOT NULL,
    created_at TIMESTAMPTZ NOT NULL,
    updated_at TIMESTAMPTZ NOT NULL
);

-- +goose Down
DROP TABLE oauth_grants;
DROP TABLE connectors;
DROP TABLE secrets;
