-- A professional's request to see a person's record. The person approves (which gives consent) or declines.
-- A request names an NHS number; if nobody with that number uses CarePact it stays unanswered, so the
-- professional cannot tell an unknown number from a person who has not answered.
CREATE TABLE access_requests (
    id BLOB PRIMARY KEY NOT NULL,
    person_id BLOB REFERENCES people (id),
    nhs_number TEXT NOT NULL,
    requester_id BLOB NOT NULL REFERENCES users (id),
    organisation_id BLOB REFERENCES organisations (id),
    reason TEXT NOT NULL,
    sections INTEGER NOT NULL,
    status TEXT NOT NULL,
    created_at INTEGER NOT NULL,
    decided_at INTEGER
);
CREATE INDEX access_requests_person ON access_requests (person_id, status);
CREATE INDEX access_requests_requester ON access_requests (requester_id, created_at);
