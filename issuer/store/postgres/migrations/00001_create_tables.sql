-- +goose Up
CREATE TABLE clients (
    id         text PRIMARY KEY,
    disabled   boolean NOT NULL DEFAULT false,
    created_at timestamptz NOT NULL
);

CREATE TABLE credentials (
    id           text PRIMARY KEY,
    client_id    text NOT NULL REFERENCES clients (id),
    type         text NOT NULL,
    secret_hash  bytea NOT NULL,
    scopes       text[] NOT NULL,
    -- A JSON array of string arrays, carried verbatim into tokens.
    permissions  jsonb NOT NULL,
    created_at   timestamptz NOT NULL,
    expires_at   timestamptz,
    last_used_at timestamptz,
    revoked_at   timestamptz
);

CREATE INDEX credentials_client_id_created_at ON credentials (client_id, created_at);

CREATE TABLE refresh_tokens (
    hash                bytea PRIMARY KEY,
    family_id           text NOT NULL,
    -- UNIQUE: a token has at most one replacement.
    parent_hash         bytea UNIQUE,
    credential_id       text NOT NULL REFERENCES credentials (id),
    client_id           text NOT NULL REFERENCES clients (id),
    scopes              text[] NOT NULL,
    -- NULL when no access token was sealed with the token, as for the first of a family.
    sealed_access_token bytea,
    created_at          timestamptz NOT NULL,
    expires_at          timestamptz NOT NULL,
    used_at             timestamptz,
    revoked_at          timestamptz
);

CREATE INDEX refresh_tokens_family_id ON refresh_tokens (family_id);
CREATE INDEX refresh_tokens_credential_id ON refresh_tokens (credential_id);

CREATE TABLE signing_keys (
    id                 text PRIMARY KEY,
    algorithm          text NOT NULL,
    sealed_private_key bytea NOT NULL,
    -- bytea rather than jsonb, so the JWK reads back byte for byte.
    public_jwk         bytea NOT NULL,
    created_at         timestamptz NOT NULL,
    activates_at       timestamptz NOT NULL,
    retired_at         timestamptz,
    expires_at         timestamptz
);

CREATE TABLE audit_events (
    id            bigint GENERATED ALWAYS AS IDENTITY PRIMARY KEY,
    time          timestamptz NOT NULL,
    actor         text NOT NULL,
    action        text NOT NULL,
    client_id     text NOT NULL,
    credential_id text NOT NULL,
    detail        text NOT NULL
);

CREATE INDEX audit_events_time ON audit_events (time, id);
CREATE INDEX audit_events_client_id_time ON audit_events (client_id, time, id);
CREATE INDEX audit_events_action_time ON audit_events (action, time, id);

-- +goose Down
DROP TABLE audit_events;
DROP TABLE signing_keys;
DROP TABLE refresh_tokens;
DROP TABLE credentials;
DROP TABLE clients;
