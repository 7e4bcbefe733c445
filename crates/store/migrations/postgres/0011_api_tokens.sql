-- Personal API tokens: a professional's scripts and an organisation's integrations call the FHIR API as that user,
-- limited by consent exactly as the pages are. Made by the operator (`carepact token create`), listed and revoked
-- by the user and their organisation's admin. Only the SHA-256 of each token is stored.

CREATE TABLE api_tokens (
    id UUID PRIMARY KEY NOT NULL,
    -- Whose token: calls with it act as this user.
    user_id UUID NOT NULL REFERENCES users (id),
    -- What it is for, in the words of whoever made it.
    label TEXT NOT NULL,
    token_hash BYTEA NOT NULL UNIQUE,
    created_at TIMESTAMPTZ NOT NULL,
    expires_at TIMESTAMPTZ NOT NULL,
    -- Written back at most once a minute.
    last_used_at TIMESTAMPTZ,
    revoked_at TIMESTAMPTZ,
    -- The user who revoked it (none when the operator did, at the command line).
    revoked_by UUID REFERENCES users (id),
    -- "command-line", or the id of the user who made it.
    created_by TEXT NOT NULL
);
CREATE INDEX api_tokens_user ON api_tokens (user_id, created_at);
