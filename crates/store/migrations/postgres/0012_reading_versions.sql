-- Readings can be corrected (a FHIR update of an Observation): each reading has a version, and every version it
-- had before is kept as it was (the next version says when and by whom it was replaced).

ALTER TABLE readings ADD COLUMN version BIGINT NOT NULL DEFAULT 1;

CREATE TABLE reading_versions (
    reading_id UUID NOT NULL REFERENCES readings (id),
    version BIGINT NOT NULL,
    measure TEXT NOT NULL,
    taken_at TIMESTAMPTZ NOT NULL,
    value_1 BIGINT,
    value_2 BIGINT,
    value_3 BIGINT,
    note TEXT,
    source TEXT NOT NULL,
    device TEXT,
    entered_by UUID REFERENCES users (id),
    recorded_at TIMESTAMPTZ NOT NULL,
    PRIMARY KEY (reading_id, version)
);
