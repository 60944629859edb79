-- +goose Up
-- The pending this.message of a WAITING execution (JSON), NULL otherwise.
ALTER TABLE executions ADD COLUMN message TEXT;

-- system.setting(name): a JSON value shared by executions.
CREATE TABLE settings (
    name       TEXT PRIMARY KEY,
    value      TEXT NOT NULL,
    updated_at DATETIME NOT NULL
);

-- system.file(name) and /api/v1/files.
CREATE TABLE files (
    name       TEXT PRIMARY KEY,
    content    BLOB NOT NULL,
    size       INTEGER NOT NULL,
    updated_at DATETIME NOT NULL
);

-- +goose Down
DROP TABLE files;
DROP TABLE settings;
ALTER TABLE executions DROP COLUMN message;
