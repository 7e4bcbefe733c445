-- SMART on FHIR for carers, and OpenID Connect identity tokens.
--
-- A carer can connect an app to the record of someone who shares it with them as their carer. A connection is
-- (app, person, user who connected it), so a carer's connection is separate from the person's own connection to
-- the same app, and each can be disconnected on its own.
DROP INDEX smart_connections_live;
CREATE UNIQUE INDEX smart_connections_live ON smart_connections (client_id, person_id, user_id)
    WHERE disconnected_at IS NULL;
CREATE INDEX smart_connections_user ON smart_connections (user_id, disconnected_at);

-- The keys that sign identity tokens (ES256): made once, on first use, and kept. The PKCS#8 document holds the
-- private key. One current key per algorithm; a retired key is kept so that it can still be published for a while.
CREATE TABLE signing_keys (
    -- The key id (JWS "kid"), as published in the JWKS.
    kid TEXT PRIMARY KEY NOT NULL,
    -- "ES256".
    algorithm TEXT NOT NULL,
    pkcs8 BLOB NOT NULL,
    created_at INTEGER NOT NULL,
    retired_at INTEGER
);
CREATE UNIQUE INDEX signing_keys_current ON signing_keys (algorithm) WHERE retired_at IS NULL;
