-- Times are INTEGER unix microseconds in UTC. Lists are JSON arrays in TEXT.

-- +goose Up
CREATE TABLE clients (
    id         TEXT PRIMARY KEY,
    disabled   INTEGER NOT NULL DEFAULT 0,
    created_at INTEGER NOT NULL
) STRICT;

CREATE TABLE credentials (
    id           TEXT PRIMARY KEY,
    client_id    TEXT NOT NULL REFERENCES clients (id),
    type         TEXT NOT NULL,
    secret_hash  BLOB NOT NULL,
    scopes       TEXT NOT NULL,
    permissions  TEXT NOT NULL,
    created_at   INTEGER NOT NULL,
    expires_at   INTEGER,
    last_used_at INTEGER,
    revoked_at   INTEGER
) STRICT;

CREATE INDEX credentials_client_id_created_at ON credentials (client_id, created_at);

CREATE TABLE refresh_tokens (
    hash                BLOB PRIMARY KEY,
    family_id           TEXT NOT NULL,
    -- UNIQUE: a token has at most one replacement.
    parent_hash         BLOB UNIQUE,
    credential_id       TEXT NOT NULL REFERENCES credentials (id),
    client_id           TEXT NOT NULL REFERENCES clients (id),
    scopes              TEXT NOT NULL,
    -- NULL when no access token was sealed with the token, as for the first of a family.
    sealed_access_token BLOB,
    created_at          INTEGER NOT NULL,
    expires_at          INTEGER NOT NULL,
    used_at             INTEGER,
    revoked_at          INTEGER
) STRICT, WITHOUT ROWID;

CREATE INDEX refresh_tokens_family_id ON refresh_tokens (family_id);
CREATE INDEX refresh_tokens_credential_id ON refresh_tokens (credential_id);

CREATE TABLE signing_keys (
    id                 TEXT PRIMARY KEY,
    algorithm          TEXT NOT NULL,
    sealed_private_key BLOB NOT NULL,
    public_jwk         BLOB NOT NULL,
    created_at         INTEGER NOT NULL,
    activates_at       INTEGER NOT NULL,
    retired_at         INTEGER,
    expires_at         INTEGER
) STRICT;

CREATE TABLE audit_events (
    id            INTEGER PRIMARY KEY,
    time          INTEGER NOT NULL,
    actor         TEXT NOT NULL,
    action        TEXT NOT NULL,
    client_id     TEXT NOT NULL,
    credential_id TEXT NOT NULL,
    detail        TEXT NOT NULL
) STRICT;

CREATE INDEX audit_events_time ON audit_events (time, id);
CREATE INDEX audit_events_client_id_time ON audit_events (client_id, time, id);
CREATE INDEX audit_events_action_time ON audit_events (action, time, id);

-- +goose Down
DROP TABLE audit_events;
DROP TABLE signing_keys;
DROP TABLE refresh_tokens;
DROP TABLE credentials;
DROP TABLE clients;
