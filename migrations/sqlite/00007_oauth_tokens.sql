-- +goose Up
-- OAuth2 access tokens shared by the workers of a deployment, sealed with the secrets
-- key; token_hash (SHA-256 of the access token) lets a 401 drop exactly that token.
CREATE TABLE oauth_tokens (
    token_key  TEXT PRIMARY KEY,
    sealed     TEXT NOT NULL,
    token_hash TEXT NOT NULL,
    refresh_at DATETIME NOT NULL,
    updated_at DATETIME NOT NULL
);

-- +goose Down
DROP TABLE oauth_tokens;
