-- The care team (named contact, members across organisations) and the personalised care and support plan, kept
-- as numbered versions of one JSON document, agreed by the person and a professional on the same version.

CREATE TABLE care_team_members (
    id BLOB PRIMARY KEY NOT NULL,
    person_id BLOB NOT NULL REFERENCES people (id),
    user_id BLOB NOT NULL REFERENCES users (id),
    organisation_id BLOB REFERENCES organisations (id),
    -- Their role in the person's care, in words ("Practice nurse", "Diabetes specialist nurse").
    role_text TEXT NOT NULL,
    -- proposed (by a professional, waiting for the person), active, declined, ended.
    status TEXT NOT NULL,
    -- The consent the person gave with the membership (what the member may see and do).
    consent_id BLOB REFERENCES consents (id),
    proposed_by BLOB REFERENCES users (id),
    is_named_contact BOOLEAN NOT NULL,
    created_at INTEGER NOT NULL,
    updated_at INTEGER NOT NULL
);
CREATE INDEX care_team_members_person ON care_team_members (person_id, status);
CREATE INDEX care_team_members_user ON care_team_members (user_id, status);

-- A professional's availability, shown to people who have them as named contact.
CREATE TABLE staff_availability (
    user_id BLOB PRIMARY KEY NOT NULL REFERENCES users (id),
    reply_within_days INTEGER NOT NULL,
    away BOOLEAN NOT NULL,
    cover_user_id BLOB REFERENCES users (id),
    updated_at INTEGER NOT NULL
);

CREATE TABLE care_plans (
    id BLOB PRIMARY KEY NOT NULL,
    person_id BLOB NOT NULL UNIQUE REFERENCES people (id),
    latest_version BIGINT NOT NULL,
    -- The latest version's review date (YYYY-MM-DD), for finding overdue reviews.
    review_date TEXT,
    created_at INTEGER NOT NULL,
    updated_at INTEGER NOT NULL
);
CREATE INDEX care_plans_review ON care_plans (review_date);

CREATE TABLE care_plan_versions (
    plan_id BLOB NOT NULL REFERENCES care_plans (id),
    version BIGINT NOT NULL,
    author_id BLOB REFERENCES users (id),
    author_role TEXT NOT NULL,
    organisation_id BLOB REFERENCES organisations (id),
    content TEXT NOT NULL,
    created_at INTEGER NOT NULL,
    PRIMARY KEY (plan_id, version)
);

CREATE TABLE care_plan_agreements (
    plan_id BLOB NOT NULL,
    version BIGINT NOT NULL,
    side TEXT NOT NULL,
    user_id BLOB NOT NULL REFERENCES users (id),
    agreed_at INTEGER NOT NULL,
    PRIMARY KEY (plan_id, version, side),
    FOREIGN KEY (plan_id, version) REFERENCES care_plan_versions (plan_id, version)
);

CREATE TABLE goal_progress (
    id BLOB PRIMARY KEY NOT NULL,
    plan_id BLOB NOT NULL REFERENCES care_plans (id),
    goal_id BLOB NOT NULL,
    author_id BLOB REFERENCES users (id),
    note TEXT NOT NULL,
    attainment INTEGER,
    created_at INTEGER NOT NULL
);
CREATE INDEX goal_progress_goal ON goal_progress (plan_id, goal_id, created_at);

-- "What I want to talk about" at the next review (the Year of Care preparation step).
CREATE TABLE review_preparations (
    plan_id BLOB PRIMARY KEY NOT NULL REFERENCES care_plans (id),
    body TEXT NOT NULL,
    author_id BLOB REFERENCES users (id),
    updated_at INTEGER NOT NULL
);
