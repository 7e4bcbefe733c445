-- Consent the person controls, requests for access, emergency (break-glass) access, and the audit log.

CREATE TABLE consents (
    id BLOB PRIMARY KEY NOT NULL,
    person_id BLOB NOT NULL REFERENCES people (id),
    grantee_kind TEXT NOT NULL,
    grantee_user_id BLOB REFERENCES users (id),
    grantee_organisation_id BLOB REFERENCES organisations (id),
    sections INTEGER NOT NULL,
    labels INTEGER NOT NULL,
    can_write BOOLEAN NOT NULL,
    starts_at INTEGER NOT NULL,
    ends_at INTEGER,
    revoked_at INTEGER,
    created_at INTEGER NOT NULL
);
CREATE INDEX consents_person ON consents (person_id);
CREATE INDEX consents_grantee_user ON consents (grantee_user_id);
CREATE INDEX consents_grantee_organisation ON consents (grantee_organisation_id);

CREATE TABLE break_glass (
    id BLOB PRIMARY KEY NOT NULL,
    person_id BLOB NOT NULL REFERENCES people (id),
    user_id BLOB NOT NULL REFERENCES users (id),
    organisation_id BLOB REFERENCES organisations (id),
    reason TEXT NOT NULL,
    starts_at INTEGER NOT NULL,
    ends_at INTEGER NOT NULL
);
CREATE INDEX break_glass_person ON break_glass (person_id);
CREATE INDEX break_glass_organisation ON break_glass (organisation_id, starts_at);

-- One hash chain per person (the nil id for events about no person); the head is the newest event's hash.
CREATE TABLE audit_chain_heads (
    chain_id BLOB PRIMARY KEY NOT NULL,
    seq INTEGER NOT NULL,
    hash BLOB NOT NULL
);

-- Append-only. No foreign keys: the log outlives what it describes.
CREATE TABLE audit_events (
    chain_id BLOB NOT NULL,
    seq INTEGER NOT NULL,
    id BLOB NOT NULL UNIQUE,
    occurred_at INTEGER NOT NULL,
    actor_id BLOB,
    actor_role TEXT NOT NULL,
    organisation_id BLOB,
    on_behalf_of TEXT,
    person_id BLOB,
    action TEXT NOT NULL,
    section TEXT,
    entity TEXT NOT NULL,
    purpose TEXT NOT NULL,
    outcome TEXT NOT NULL,
    prev_hash BLOB NOT NULL,
    hash BLOB NOT NULL,
    PRIMARY KEY (chain_id, seq)
);
CREATE INDEX audit_events_person ON audit_events (person_id, occurred_at);
