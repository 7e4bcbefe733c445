-- The person's record: imported FHIR resources, kept whole, with the few facts pages show and search by.
-- An item's identity within its source system (identifier, else id, else fullUrl, else content hash) makes a
-- second import of the same file change nothing.

CREATE TABLE record_imports (
    id UUID PRIMARY KEY NOT NULL,
    person_id UUID NOT NULL REFERENCES people (id),
    actor_id UUID REFERENCES users (id),
    organisation_id UUID REFERENCES organisations (id),
    source TEXT NOT NULL,
    file_name TEXT,
    format TEXT NOT NULL,
    added INTEGER NOT NULL,
    updated INTEGER NOT NULL,
    unchanged INTEGER NOT NULL,
    created_at TIMESTAMPTZ NOT NULL
);
CREATE INDEX record_imports_person ON record_imports (person_id, created_at);

CREATE TABLE record_items (
    id UUID PRIMARY KEY NOT NULL,
    person_id UUID NOT NULL REFERENCES people (id),
    source TEXT NOT NULL,
    identity TEXT NOT NULL,
    resource_type TEXT NOT NULL,
    kind TEXT NOT NULL,
    source_id TEXT,
    full_url TEXT,
    label TEXT NOT NULL,
    label_bit INTEGER NOT NULL,
    title TEXT NOT NULL,
    detail TEXT,
    status TEXT,
    code_system TEXT,
    code TEXT,
    effective_date TEXT,
    effective_text TEXT,
    is_current BOOLEAN NOT NULL,
    supplier_id UUID REFERENCES organisations (id),
    import_id UUID NOT NULL REFERENCES record_imports (id),
    content_hash BYTEA NOT NULL,
    resource TEXT NOT NULL,
    created_at TIMESTAMPTZ NOT NULL,
    updated_at TIMESTAMPTZ NOT NULL,
    UNIQUE (person_id, source, identity)
);
CREATE INDEX record_items_timeline ON record_items (person_id, effective_date);
CREATE INDEX record_items_kind ON record_items (person_id, kind, effective_date);
CREATE INDEX record_items_source_id ON record_items (person_id, resource_type, source_id);

-- References between items, resolved at import (urn:uuid fullUrls and relative Type/id references).
CREATE TABLE record_links (
    from_item UUID NOT NULL REFERENCES record_items (id) ON DELETE CASCADE,
    path TEXT NOT NULL,
    to_item UUID NOT NULL REFERENCES record_items (id) ON DELETE CASCADE,
    PRIMARY KEY (from_item, path, to_item)
);
CREATE INDEX record_links_to ON record_links (to_item);

-- The person's own notes on items of their record.
CREATE TABLE record_notes (
    id UUID PRIMARY KEY NOT NULL,
    item_id UUID NOT NULL REFERENCES record_items (id),
    person_id UUID NOT NULL REFERENCES people (id),
    author_id UUID NOT NULL REFERENCES users (id),
    body TEXT NOT NULL,
    created_at TIMESTAMPTZ NOT NULL
);
CREATE INDEX record_notes_item ON record_notes (item_id, created_at);

-- "This is wrong or missing": a request to the organisation that supplied the item (its work list).
CREATE TABLE correction_requests (
    id UUID PRIMARY KEY NOT NULL,
    item_id UUID REFERENCES record_items (id),
    person_id UUID NOT NULL REFERENCES people (id),
    organisation_id UUID REFERENCES organisations (id),
    raised_by UUID NOT NULL REFERENCES users (id),
    body TEXT NOT NULL,
    status TEXT NOT NULL,
    response TEXT,
    answered_by UUID REFERENCES users (id),
    created_at TIMESTAMPTZ NOT NULL,
    answered_at TIMESTAMPTZ
);
CREATE INDEX correction_requests_organisation ON correction_requests (organisation_id, status, created_at);
CREATE INDEX correction_requests_person ON correction_requests (person_id, created_at);

-- "I don't recognise this": a query about an access in the person's log, to the organisation of whoever looked.
CREATE TABLE access_queries (
    id UUID PRIMARY KEY NOT NULL,
    person_id UUID NOT NULL REFERENCES people (id),
    audit_event_id UUID NOT NULL,
    organisation_id UUID REFERENCES organisations (id),
    raised_by UUID NOT NULL REFERENCES users (id),
    body TEXT NOT NULL,
    status TEXT NOT NULL,
    response TEXT,
    answered_by UUID REFERENCES users (id),
    created_at TIMESTAMPTZ NOT NULL,
    answered_at TIMESTAMPTZ,
    UNIQUE (person_id, audit_event_id)
);
CREATE INDEX access_queries_organisation ON access_queries (organisation_id, status, created_at);
