-- FHIR Bulk Data Access ($export) of a person's own data, for an app they connected: the request and its state,
-- and the NDJSON files it produced (one row per resource type and part). Both expire 24 hours after the request.

CREATE TABLE bulk_exports (
    id BLOB PRIMARY KEY NOT NULL,
    person_id BLOB NOT NULL REFERENCES people (id),
    -- The account the token was for; only it, through the same app, may see the status and the files.
    user_id BLOB NOT NULL REFERENCES users (id),
    client_id TEXT NOT NULL,
    -- The resource types asked for and allowed, separated by commas.
    types TEXT NOT NULL,
    -- The kick-off request's address, for the manifest.
    request TEXT NOT NULL,
    -- "in-progress", "complete" or "failed".
    status TEXT NOT NULL,
    requested_at INTEGER NOT NULL,
    completed_at INTEGER,
    expires_at INTEGER NOT NULL,
    error TEXT
);
CREATE INDEX bulk_exports_expiry ON bulk_exports (expires_at);

CREATE TABLE bulk_export_files (
    export_id BLOB NOT NULL REFERENCES bulk_exports (id) ON DELETE CASCADE,
    resource_type TEXT NOT NULL,
    -- From 1; each part holds at most 10,000 resources.
    part BIGINT NOT NULL,
    ndjson TEXT NOT NULL,
    count BIGINT NOT NULL,
    PRIMARY KEY (export_id, resource_type, part)
);
