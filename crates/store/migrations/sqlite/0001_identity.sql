-- Organisations, users, people, sessions, sign-in throttling, one-time tokens and the email outbox.
-- Times are integer microseconds since the Unix epoch (UTC); PostgreSQL uses timestamptz for the same columns.

CREATE TABLE organisations (
    id BLOB PRIMARY KEY NOT NULL,
    name TEXT NOT NULL,
    kind TEXT NOT NULL,
    created_at INTEGER NOT NULL
);
CREATE UNIQUE INDEX organisations_name ON organisations (lower(name));

CREATE TABLE users (
    id BLOB PRIMARY KEY NOT NULL,
    email TEXT NOT NULL UNIQUE,
    display_name TEXT NOT NULL,
    roles TEXT NOT NULL,
    organisation_id BLOB REFERENCES organisations (id),
    password_hash TEXT,
    language TEXT,
    active BOOLEAN NOT NULL DEFAULT TRUE,
    created_at INTEGER NOT NULL,
    updated_at INTEGER NOT NULL
);
CREATE INDEX users_organisation ON users (organisation_id);

-- An external sign-in (NHS login, CIS2) linked to a CarePact user by issuer and subject.
CREATE TABLE external_identities (
    id BLOB PRIMARY KEY NOT NULL,
    user_id BLOB NOT NULL REFERENCES users (id) ON DELETE CASCADE,
    issuer TEXT NOT NULL,
    subject TEXT NOT NULL,
    created_at INTEGER NOT NULL,
    UNIQUE (issuer, subject)
);

CREATE TABLE people (
    id BLOB PRIMARY KEY NOT NULL,
    user_id BLOB UNIQUE REFERENCES users (id),
    nhs_number TEXT UNIQUE,
    given_name TEXT NOT NULL,
    family_name TEXT NOT NULL,
    preferred_name TEXT,
    date_of_birth TEXT NOT NULL,
    email TEXT,
    phone TEXT,
    communication_needs TEXT,
    named_contact_id BLOB REFERENCES users (id),
    created_at INTEGER NOT NULL,
    updated_at INTEGER NOT NULL
);

-- Server-side sessions. The cookie holds a random token; only its SHA-256 is stored.
CREATE TABLE sessions (
    token_hash BLOB PRIMARY KEY NOT NULL,
    user_id BLOB REFERENCES users (id) ON DELETE CASCADE,
    csrf_token TEXT NOT NULL,
    flash TEXT,
    created_at INTEGER NOT NULL,
    last_seen_at INTEGER NOT NULL
);
CREATE INDEX sessions_last_seen ON sessions (last_seen_at);
CREATE INDEX sessions_user ON sessions (user_id);

CREATE TABLE sign_in_failures (
    id BLOB PRIMARY KEY NOT NULL,
    throttle_key TEXT NOT NULL,
    failed_at INTEGER NOT NULL
);
CREATE INDEX sign_in_failures_key ON sign_in_failures (throttle_key, failed_at);

-- Password-reset links and invitations: single use, short-lived, stored hashed.
CREATE TABLE one_time_tokens (
    token_hash BLOB PRIMARY KEY NOT NULL,
    purpose TEXT NOT NULL,
    user_id BLOB NOT NULL REFERENCES users (id) ON DELETE CASCADE,
    created_at INTEGER NOT NULL,
    expires_at INTEGER NOT NULL,
    used_at INTEGER
);
CREATE INDEX one_time_tokens_user ON one_time_tokens (user_id, purpose);

CREATE TABLE email_outbox (
    id BLOB PRIMARY KEY NOT NULL,
    idempotency_key TEXT UNIQUE,
    to_address TEXT NOT NULL,
    subject TEXT NOT NULL,
    body_text TEXT NOT NULL,
    created_at INTEGER NOT NULL,
    next_attempt_at INTEGER NOT NULL,
    attempts INTEGER NOT NULL DEFAULT 0,
    claimed_until INTEGER,
    last_error TEXT,
    sent_at INTEGER,
    dead BOOLEAN NOT NULL DEFAULT FALSE
);
CREATE INDEX email_outbox_due ON email_outbox (sent_at, dead, next_attempt_at);
