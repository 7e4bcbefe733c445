-- Organisations, users, people, sessions, sign-in throttling, one-time tokens and the email outbox.
-- Times are timestamptz; SQLite stores the same columns as integer microseconds since the Unix epoch.

CREATE TABLE organisations (
    id UUID PRIMARY KEY NOT NULL,
    name TEXT NOT NULL,
    kind TEXT NOT NULL,
    created_at TIMESTAMPTZ NOT NULL
);
CREATE UNIQUE INDEX organisations_name ON organisations (lower(name));

CREATE TABLE users (
    id UUID PRIMARY KEY NOT NULL,
    email TEXT NOT NULL UNIQUE,
    display_name TEXT NOT NULL,
    roles TEXT NOT NULL,
    organisation_id UUID REFERENCES organisations (id),
    password_hash TEXT,
    language TEXT,
    active BOOLEAN NOT NULL DEFAULT TRUE,
    created_at TIMESTAMPTZ NOT NULL,
    updated_at TIMESTAMPTZ NOT NULL
);
CREATE INDEX users_organisation ON users (organisation_id);

-- An external sign-in (NHS login, CIS2) linked to a CarePact user by issuer and subject.
CREATE TABLE external_identities (
    id UUID PRIMARY KEY NOT NULL,
    user_id UUID NOT NULL REFERENCES users (id) ON DELETE CASCADE,
    issuer TEXT NOT NULL,
    subject TEXT NOT NULL,
    created_at TIMESTAMPTZ NOT NULL,
    UNIQUE (issuer, subject)
);

CREATE TABLE people (
    id UUID PRIMARY KEY NOT NULL,
    user_id UUID UNIQUE REFERENCES users (id),
    nhs_number TEXT UNIQUE,
    given_name TEXT NOT NULL,
    family_name TEXT NOT NULL,
    preferred_name TEXT,
    date_of_birth DATE NOT NULL,
    email TEXT,
    phone TEXT,
    communication_needs TEXT,
    named_contact_id UUID REFERENCES users (id),
    created_at TIMESTAMPTZ NOT NULL,
    updated_at TIMESTAMPTZ NOT NULL
);

-- Server-side sessions. The cookie holds a random token; only its SHA-256 is stored.
CREATE TABLE sessions (
    token_hash BYTEA PRIMARY KEY NOT NULL,
    user_id UUID REFERENCES users (id) ON DELETE CASCADE,
    csrf_token TEXT NOT NULL,
    flash TEXT,
    created_at TIMESTAMPTZ NOT NULL,
    last_seen_at TIMESTAMPTZ NOT NULL
);
CREATE INDEX sessions_last_seen ON sessions (last_seen_at);
CREATE INDEX sessions_user ON sessions (user_id);

CREATE TABLE sign_in_failures (
    id UUID PRIMARY KEY NOT NULL,
    throttle_key TEXT NOT NULL,
    failed_at TIMESTAMPTZ NOT NULL
);
CREATE INDEX sign_in_failures_key ON sign_in_failures (throttle_key, failed_at);

-- Password-reset links and invitations: single use, short-lived, stored hashed.
CREATE TABLE one_time_tokens (
    token_hash BYTEA PRIMARY KEY NOT NULL,
    purpose TEXT NOT NULL,
    user_id UUID NOT NULL REFERENCES users (id) ON DELETE CASCADE,
    created_at TIMESTAMPTZ NOT NULL,
    expires_at TIMESTAMPTZ NOT NULL,
    used_at TIMESTAMPTZ
);
CREATE INDEX one_time_tokens_user ON one_time_tokens (user_id, purpose);

CREATE TABLE email_outbox (
    id UUID PRIMARY KEY NOT NULL,
    idempotency_key TEXT UNIQUE,
    to_address TEXT NOT NULL,
    subject TEXT NOT NULL,
    body_text TEXT NOT NULL,
    created_at TIMESTAMPTZ NOT NULL,
    next_attempt_at TIMESTAMPTZ NOT NULL,
    attempts INTEGER NOT NULL DEFAULT 0,
    claimed_until TIMESTAMPTZ,
    last_error TEXT,
    sent_at TIMESTAMPTZ,
    dead BOOLEAN NOT NULL DEFAULT FALSE
);
CREATE INDEX email_outbox_due ON email_outbox (sent_at, dead, next_attempt_at);
