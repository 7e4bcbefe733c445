-- Self-monitoring: readings a person (or their carer, a device or a file) records, the alerts agreed rules raise
-- and what happened to them, and questionnaires with their responses and assignments.

CREATE TABLE readings (
    id BLOB PRIMARY KEY NOT NULL,
    person_id BLOB NOT NULL REFERENCES people (id),
    -- A measure code from the catalogue (carepact_domain::readings::Measure).
    measure TEXT NOT NULL,
    taken_at INTEGER NOT NULL,
    -- The measure's components in catalogue order, in thousandths of the unit (systolic, diastolic, pulse for
    -- blood pressure; just the first for the rest; none for symptoms).
    value_1 BIGINT,
    value_2 BIGINT,
    value_3 BIGINT,
    note TEXT,
    -- "person", "carer", "professional", "device", "file" or "derived".
    source TEXT NOT NULL,
    device TEXT,
    entered_by BLOB REFERENCES users (id),
    recorded_at INTEGER NOT NULL,
    -- One reading of a measure per moment: a file or device sending it again is a duplicate, skipped.
    UNIQUE (person_id, measure, taken_at)
);

CREATE TABLE alerts (
    id BLOB PRIMARY KEY NOT NULL,
    person_id BLOB NOT NULL REFERENCES people (id),
    -- The agreed rule (its id in the care plan) and the plan version it came from; a questionnaire alert names
    -- the instrument instead.
    rule_id BLOB,
    plan_version BIGINT,
    instrument TEXT,
    measure TEXT,
    urgent BOOLEAN NOT NULL,
    -- Who it is with now: "person", "carer", "named-contact", "team".
    level TEXT NOT NULL,
    -- "open", "snoozed", "acknowledged".
    status TEXT NOT NULL,
    advice TEXT NOT NULL,
    raised_at INTEGER NOT NULL,
    -- When it goes to the next level if nobody has acknowledged it.
    escalate_at INTEGER,
    escalate_after_hours BIGINT NOT NULL,
    snoozed_until INTEGER,
    acknowledged_by BLOB REFERENCES users (id),
    acknowledged_at INTEGER,
    response_id BLOB
);
CREATE INDEX alerts_person ON alerts (person_id, status, raised_at);
CREATE INDEX alerts_due ON alerts (status, escalate_at);

CREATE TABLE alert_readings (
    alert_id BLOB NOT NULL REFERENCES alerts (id),
    reading_id BLOB NOT NULL REFERENCES readings (id),
    PRIMARY KEY (alert_id, reading_id)
);

-- What happened to an alert: raised, passed up a level, snoozed, acknowledged, another reading added.
CREATE TABLE alert_events (
    id BLOB PRIMARY KEY NOT NULL,
    alert_id BLOB NOT NULL REFERENCES alerts (id),
    at INTEGER NOT NULL,
    what TEXT NOT NULL,
    level TEXT,
    user_id BLOB REFERENCES users (id)
);
CREATE INDEX alert_events_alert ON alert_events (alert_id, at);

CREATE TABLE questionnaires (
    id BLOB PRIMARY KEY NOT NULL,
    url TEXT NOT NULL,
    version TEXT NOT NULL,
    title TEXT NOT NULL,
    -- A built-in instrument's code ("phq-9"…), scored by CarePact; none for an organisation's own.
    instrument TEXT,
    -- The organisation that loaded it; none for the built-in ones, which everyone may use.
    organisation_id BLOB REFERENCES organisations (id),
    -- The FHIR R4 Questionnaire as loaded.
    definition TEXT NOT NULL,
    loaded_by BLOB REFERENCES users (id),
    loaded_at INTEGER NOT NULL,
    UNIQUE (url, version)
);

CREATE TABLE questionnaire_assignments (
    id BLOB PRIMARY KEY NOT NULL,
    person_id BLOB NOT NULL REFERENCES people (id),
    questionnaire_id BLOB NOT NULL REFERENCES questionnaires (id),
    assigned_by BLOB NOT NULL REFERENCES users (id),
    assigned_at INTEGER NOT NULL,
    -- Repeats every so many days; none for once.
    every_days BIGINT,
    next_due INTEGER NOT NULL,
    reminded_for INTEGER,
    ended_at INTEGER
);
CREATE INDEX questionnaire_assignments_person ON questionnaire_assignments (person_id, ended_at);
CREATE INDEX questionnaire_assignments_due ON questionnaire_assignments (ended_at, next_due);

CREATE TABLE questionnaire_responses (
    id BLOB PRIMARY KEY NOT NULL,
    person_id BLOB NOT NULL REFERENCES people (id),
    questionnaire_id BLOB NOT NULL REFERENCES questionnaires (id),
    assignment_id BLOB REFERENCES questionnaire_assignments (id),
    authored_at INTEGER NOT NULL,
    entered_by BLOB REFERENCES users (id),
    -- "person", "carer", "professional" or "device".
    source TEXT NOT NULL,
    -- The answers by linkId (JSON), and the score's parts (JSON); the headline score ×10 for charting.
    answers TEXT NOT NULL,
    score TEXT,
    headline BIGINT,
    urgent BOOLEAN NOT NULL
);
CREATE INDEX questionnaire_responses_person ON questionnaire_responses (person_id, questionnaire_id, authored_at);
