-- Secure messages between a person (and carers they authorise) and their care team, and in-app notifications
-- with each user's choice of which kinds also come by email.

CREATE TABLE message_threads (
    id UUID PRIMARY KEY NOT NULL,
    person_id UUID NOT NULL REFERENCES people (id),
    subject TEXT NOT NULL,
    -- The professional who answers the thread (the named contact, or whoever it was passed to).
    assigned_user_id UUID NOT NULL REFERENCES users (id),
    created_by UUID NOT NULL REFERENCES users (id),
    created_at TIMESTAMPTZ NOT NULL,
    updated_at TIMESTAMPTZ NOT NULL
);
CREATE INDEX message_threads_person ON message_threads (person_id, updated_at);
CREATE INDEX message_threads_assigned ON message_threads (assigned_user_id, updated_at);

CREATE TABLE messages (
    id UUID PRIMARY KEY NOT NULL,
    thread_id UUID NOT NULL REFERENCES message_threads (id),
    author_id UUID REFERENCES users (id),
    -- "person", "carer", "professional"; "system" for notes such as "passed to a colleague".
    author_role TEXT NOT NULL,
    body TEXT NOT NULL,
    created_at TIMESTAMPTZ NOT NULL
);
CREATE INDEX messages_thread ON messages (thread_id, created_at);

CREATE TABLE message_reads (
    thread_id UUID NOT NULL REFERENCES message_threads (id),
    user_id UUID NOT NULL REFERENCES users (id),
    read_at TIMESTAMPTZ NOT NULL,
    PRIMARY KEY (thread_id, user_id)
);

CREATE TABLE notifications (
    id UUID PRIMARY KEY NOT NULL,
    user_id UUID NOT NULL REFERENCES users (id),
    kind TEXT NOT NULL,
    -- Where to look: a path in CarePact. Never clinical detail.
    link TEXT NOT NULL,
    created_at TIMESTAMPTZ NOT NULL,
    read_at TIMESTAMPTZ
);
CREATE INDEX notifications_user ON notifications (user_id, read_at, created_at);

-- Kinds a user has chosen not to get by email (email is on unless chosen off).
CREATE TABLE notification_email_off (
    user_id UUID NOT NULL REFERENCES users (id),
    kind TEXT NOT NULL,
    PRIMARY KEY (user_id, kind)
);
