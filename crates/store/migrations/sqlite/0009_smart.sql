-- SMART on FHIR (App Launch 2.0, standalone patient launch): apps registered to connect to a person's record, the
-- person's connections to them, one-time authorization codes, and the tokens apps use. Codes, tokens and client
-- secrets are stored as their SHA-256 only, so a copy of the database cannot be used to reach anyone's record.

CREATE TABLE smart_clients (
    id BLOB PRIMARY KEY NOT NULL,
    -- What the app sends as client_id.
    client_id TEXT NOT NULL UNIQUE,
    name TEXT NOT NULL,
    -- The exact addresses the app may be sent back to, one per line.
    redirect_uris TEXT NOT NULL,
    -- "public" (PKCE alone) or "confidential" (also a secret, sent with HTTP Basic).
    kind TEXT NOT NULL,
    secret_hash BLOB,
    -- The most the app may be granted: scopes separated by spaces.
    allowed_scopes TEXT NOT NULL,
    created_by BLOB REFERENCES users (id),
    created_at INTEGER NOT NULL,
    active BOOLEAN NOT NULL
);

-- A person's connection to an app, from the moment they allow it until they disconnect it.
CREATE TABLE smart_connections (
    id BLOB PRIMARY KEY NOT NULL,
    client_id TEXT NOT NULL REFERENCES smart_clients (client_id),
    person_id BLOB NOT NULL REFERENCES people (id),
    -- Who allowed it (the person's own account).
    user_id BLOB NOT NULL REFERENCES users (id),
    -- Everything the person has allowed the app while connected: scopes separated by spaces.
    scopes TEXT NOT NULL,
    connected_at INTEGER NOT NULL,
    last_used_at INTEGER,
    disconnected_at INTEGER
);
-- One live connection per app and person.
CREATE UNIQUE INDEX smart_connections_live ON smart_connections (client_id, person_id) WHERE disconnected_at IS NULL;
CREATE INDEX smart_connections_person ON smart_connections (person_id, disconnected_at);

-- One-time authorization codes: 60 seconds, bound to the app, the redirect address and a PKCE S256 challenge.
CREATE TABLE smart_authorizations (
    code_hash BLOB PRIMARY KEY NOT NULL,
    connection_id BLOB NOT NULL REFERENCES smart_connections (id),
    client_id TEXT NOT NULL REFERENCES smart_clients (client_id),
    user_id BLOB NOT NULL REFERENCES users (id),
    person_id BLOB NOT NULL REFERENCES people (id),
    -- The scopes the person allowed, separated by spaces.
    scopes TEXT NOT NULL,
    redirect_uri TEXT NOT NULL,
    code_challenge TEXT NOT NULL,
    created_at INTEGER NOT NULL,
    expires_at INTEGER NOT NULL,
    used_at INTEGER,
    -- The tokens issued for the code, revoked if the code is presented again.
    family_id BLOB
);

-- Access tokens (1 hour) and refresh tokens (90 days, only with offline_access, replaced at each use).
CREATE TABLE smart_tokens (
    id BLOB PRIMARY KEY NOT NULL,
    token_hash BLOB NOT NULL UNIQUE,
    -- "access" or "refresh".
    kind TEXT NOT NULL,
    connection_id BLOB NOT NULL REFERENCES smart_connections (id),
    client_id TEXT NOT NULL REFERENCES smart_clients (client_id),
    user_id BLOB NOT NULL REFERENCES users (id),
    person_id BLOB NOT NULL REFERENCES people (id),
    scopes TEXT NOT NULL,
    -- Every token descended from one authorization code: a refresh token presented again after it was replaced
    -- revokes the whole family.
    family_id BLOB NOT NULL,
    issued_at INTEGER NOT NULL,
    expires_at INTEGER NOT NULL,
    -- When a refresh token was exchanged for a new one.
    used_at INTEGER,
    revoked_at INTEGER
);
CREATE INDEX smart_tokens_family ON smart_tokens (family_id);
CREATE INDEX smart_tokens_connection ON smart_tokens (connection_id, revoked_at);
