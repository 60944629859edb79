-- +goose Up
-- An API client's generation is a random value given at its creation and named in
-- its tokens, so that a token of a deleted client does not work for a new client
-- with the same id. Clients created before have '' and so do their tokens.
ALTER TABLE api_clients ADD COLUMN generation TEXT NOT NULL DEFAULT '';

-- +goose Down
ALTER TABLE api_clients DROP COLUMN generation;
