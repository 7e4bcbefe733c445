-- Secure messages between a person (and carers they authorise) and their care team, and in-app notifications
-- with each user's choice of which kinds also come by email.

CREATE TABLE message_threads (
    id BLOB PRIMARY KEY NOT NULL,
    person_id BLOB NOT NULL REFERENCES people (id),
    subject TEXT NOT NULL,
    -- The professional who answers the thread (the named contact, or whoever it was passed to).
    assigned_user_id BLOB NOT NULL REFERENCES users (id),
    created_by BLOB NOT NULL REFERENCES users (id),
    created_at INTEGER NOT NULL,
    updated_at INTEGER NOT NULL
);
CREATE INDEX message_threads_person ON message_threads (person_id, updated_at);
CREATE INDEX message_threads_assigned ON message_threads (assigned_user_id, updated_at);

CREATE TABLE messages (
    id BLOB PRIMARY KEY NOT NULL,
    thread_id BLOB NOT NULL REFERENCES message_threads (id),
    author_id BLOB REFERENCES users (id),
    -- "person", "carer", "professional"; "system" for notes such as "passed to a colleague".
    author_role TEXT NOT NULL,
    body TEXT NOT NULL,
    created_at INTEGER NOT NULL
);
CREATE INDEX messages_thread ON messages (thread_id, created_at);

CREATE TABLE message_reads (
    thread_id BLOB NOT NULL REFERENCES message_threads (id),
    user_id BLOB NOT NULL REFERENCES users (id),
    read_at INTEGER NOT NULL,
    PRIMARY KEY (thread_id, user_id)
);

CREATE TABLE notifications (
    id BLOB PRIMARY KEY NOT NULL,
    user_id BLOB NOT NULL REFERENCES users (id),
    kind TEXT NOT NULL,
    -- Where to look: a path in CarePact. Never clinical detail.
    link TEXT NOT NULL,
    created_at INTEGER NOT NULL,
    read_at INTEGER
);
CREATE INDEX notifications_user ON notifications (user_id, read_at, created_at);

-- Kinds a user has chosen not to get by email (email is on unless chosen off).
CREATE TABLE notification_email_off (
    user_id BLOB NOT NULL REFERENCES users (id),
    kind TEXT NOT NULL,
    PRIMARY KEY (user_id, kind)
);
