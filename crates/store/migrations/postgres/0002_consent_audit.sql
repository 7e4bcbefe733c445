-- Consent the person controls, requests for access, emergency (break-glass) access, and the audit log.

CREATE TABLE consents (
    id UUID PRIMARY KEY NOT NULL,
    person_id UUID NOT NULL REFERENCES people (id),
    grantee_kind TEXT NOT NULL,
    grantee_user_id UUID REFERENCES users (id),
    grantee_organisation_id UUID REFERENCES organisations (id),
    sections INTEGER NOT NULL,
    labels INTEGER NOT NULL,
    can_write BOOLEAN NOT NULL,
    starts_at TIMESTAMPTZ NOT NULL,
    ends_at TIMESTAMPTZ,
    revoked_at TIMESTAMPTZ,
    created_at TIMESTAMPTZ NOT NULL
);
CREATE INDEX consents_person ON consents (person_id);
CREATE INDEX consents_grantee_user ON consents (grantee_user_id);
CREATE INDEX consents_grantee_organisation ON consents (grantee_organisation_id);

CREATE TABLE break_glass (
    id UUID PRIMARY KEY NOT NULL,
    person_id UUID NOT NULL REFERENCES people (id),
    user_id UUID NOT NULL REFERENCES users (id),
    organisation_id UUID REFERENCES organisations (id),
    reason TEXT NOT NULL,
    starts_at TIMESTAMPTZ NOT NULL,
    ends_at TIMESTAMPTZ NOT NULL
);
CREATE INDEX break_glass_person ON break_glass (person_id);
CREATE INDEX break_glass_organisation ON break_glass (organisation_id, starts_at);

-- One hash chain per person (the nil id for events about no person); the head is the newest event's hash.
CREATE TABLE audit_chain_heads (
    chain_id UUID PRIMARY KEY NOT NULL,
    seq BIGINT NOT NULL,
    hash BYTEA NOT NULL
);

-- Append-only. No foreign keys: the log outlives what it describes.
CREATE TABLE audit_events (
    chain_id UUID NOT NULL,
    seq BIGINT NOT NULL,
    id UUID NOT NULL UNIQUE,
    occurred_at TIMESTAMPTZ NOT NULL,
    actor_id UUID,
    actor_role TEXT NOT NULL,
    organisation_id UUID,
    on_behalf_of TEXT,
    person_id UUID,
    action TEXT NOT NULL,
    section TEXT,
    entity TEXT NOT NULL,
    purpose TEXT NOT NULL,
    outcome TEXT NOT NULL,
    prev_hash BYTEA NOT NULL,
    hash BYTEA NOT NULL,
    PRIMARY KEY (chain_id, seq)
);
CREATE INDEX audit_events_person ON audit_events (person_id, occurred_at);
