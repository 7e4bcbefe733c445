//! Secure messages between a person (and carers they authorise) and their care team, and the notifications they
//! cause. Threads belong to the person; each is answered by one professional (the named contact, or a colleague it
//! was passed to). Every function takes a [`Grant`] for the messages section; a new message writes its
//! notifications — and the emails for those who want them — in the same transaction, so none is lost.

use carepact_domain::consent::{Action, Section};
use carepact_domain::identity::UserId;
use time::OffsetDateTime;
use uuid::Uuid;

use crate::access::{Denied, Grant};
use crate::outbox::insert_email;
use crate::{Db, DbTime, Result, on_db};

/// Longest message.
pub const MAX_BODY: usize = 5000;
/// Longest subject.
pub const MAX_SUBJECT: usize = 150;

fn can(grant: &Grant, action: Action) -> bool {
    grant.section() == Section::Messages && (action == Action::Read || grant.action() == Action::Write)
}

/// A thread in a list.
#[derive(Debug, Clone, PartialEq, Eq, sqlx::FromRow)]
pub struct ThreadRow {
    pub id: Uuid,
    pub subject: String,
    pub assigned_user_id: Uuid,
    pub assigned_name: String,
    pub updated_at: DbTime,
    /// Messages from others since the viewer last read the thread.
    pub unread: i64,
}

/// One message.
#[derive(Debug, Clone, PartialEq, Eq, sqlx::FromRow)]
pub struct MessageRow {
    pub id: Uuid,
    pub author_name: Option<String>,
    pub author_role: String,
    pub body: String,
    pub created_at: DbTime,
}

const THREAD_COLUMNS: &str = "t.id, t.subject, t.assigned_user_id, u.display_name AS assigned_name, t.updated_at, \
    (SELECT COUNT(*) FROM messages m WHERE m.thread_id = t.id AND (m.author_id IS NULL OR m.author_id <> $2) \
     AND m.created_at > COALESCE((SELECT r.read_at FROM message_reads r WHERE r.thread_id = t.id AND r.user_id = $2), \
     $3)) AS unread \
    FROM message_threads t JOIN users u ON u.id = t.assigned_user_id";

/// The person's threads, newest activity first, with the viewer's unread counts.
pub async fn threads(db: &Db, grant: &Grant, viewer: UserId) -> Result<std::result::Result<Vec<ThreadRow>, Denied>> {
    if !can(grant, Action::Read) {
        return Ok(Err(Denied));
    }
    Ok(Ok(on_db!(db, read, |p| sqlx::query_as(sqlx::AssertSqlSafe(format!(
        "SELECT {THREAD_COLUMNS} WHERE t.person_id = $1 ORDER BY t.updated_at DESC"
    )))
    .bind(grant.person().0)
    .bind(viewer.0)
    .bind(DbTime(OffsetDateTime::UNIX_EPOCH))
    .fetch_all(p)
    .await)?))
}

/// One thread and its messages, oldest first; reading it marks it read for the viewer.
pub async fn open(
    db: &Db,
    grant: &Grant,
    thread: Uuid,
    viewer: UserId,
    now: OffsetDateTime,
) -> Result<std::result::Result<Option<(ThreadRow, Vec<MessageRow>)>, Denied>> {
    if !can(grant, Action::Read) {
        return Ok(Err(Denied));
    }
    let row: Option<ThreadRow> = on_db!(db, read, |p| sqlx::query_as(sqlx::AssertSqlSafe(format!(
        "SELECT {THREAD_COLUMNS} WHERE t.person_id = $1 AND t.id = $4"
    )))
    .bind(grant.person().0)
    .bind(viewer.0)
    .bind(DbTime(OffsetDateTime::UNIX_EPOCH))
    .bind(thread)
    .fetch_optional(p)
    .await)?;
    let Some(row) = row else {
        return Ok(Ok(None));
    };
    let messages = in_thread(db, thread).await?;
    on_db!(db, write, |p| sqlx::query(
        "INSERT INTO message_reads (thread_id, user_id, read_at) VALUES ($1, $2, $3) \
         ON CONFLICT (thread_id, user_id) DO UPDATE SET read_at = excluded.read_at"
    )
    .bind(thread)
    .bind(viewer.0)
    .bind(DbTime(now))
    .execute(p)
    .await
    .map(|_| ()))?;
    Ok(Ok(Some((row, messages))))
}

/// Someone to tell about a new message: an in-app notification, and an email unless they turned that kind off.
/// The email says only that there is something new, with a link.
#[derive(Debug, Clone)]
pub struct Notice {
    pub user: UserId,
    pub kind: &'static str,
    pub link: String,
    pub email_subject: String,
    pub email_body: String,
}

/// Writes the notices inside an open transaction.
macro_rules! notify_in_tx {
    ($tx:expr, $notices:expr, $now:expr) => {
        async {
            for n in $notices {
                sqlx::query("INSERT INTO notifications (id, user_id, kind, link, created_at, read_at) VALUES ($1, $2, $3, $4, $5, NULL)")
                    .bind(Uuid::now_v7())
                    .bind(n.user.0)
                    .bind(n.kind)
                    .bind(&n.link)
                    .bind(DbTime($now))
                    .execute(&mut *$tx)
                    .await?;
                let to: Option<String> = sqlx::query_scalar(
                    "SELECT u.email FROM users u WHERE u.id = $1 AND u.active AND NOT EXISTS \
                     (SELECT 1 FROM notification_email_off o WHERE o.user_id = u.id AND o.kind = $2)",
                )
                .bind(n.user.0)
                .bind(n.kind)
                .fetch_optional(&mut *$tx)
                .await?;
                if let Some(to) = to {
                    let email = crate::outbox::NewEmail {
                        to: &to,
                        subject: &n.email_subject,
                        body: &n.email_body,
                        idempotency_key: None,
                    };
                    insert_email!(&mut *$tx, email, $now)?;
                }
            }
            Ok::<(), sqlx::Error>(())
        }
        .await
    };
}
pub(crate) use notify_in_tx;

/// Adds a message to a thread inside an open transaction, and moves the thread's activity time.
macro_rules! insert_message {
    ($tx:expr, $thread:expr, $author:expr, $role:expr, $body:expr, $now:expr) => {
        async {
            sqlx::query(
                "INSERT INTO messages (id, thread_id, author_id, author_role, body, created_at) \
                 VALUES ($1, $2, $3, $4, $5, $6)",
            )
            .bind(Uuid::now_v7())
            .bind($thread)
            .bind($author.map(|a: UserId| a.0))
            .bind($role)
            .bind($body)
            .bind(DbTime($now))
            .execute(&mut *$tx)
            .await?;
            sqlx::query("UPDATE message_threads SET updated_at = $2 WHERE id = $1")
                .bind($thread)
                .bind(DbTime($now))
                .execute(&mut *$tx)
                .await?;
            Ok::<(), sqlx::Error>(())
        }
        .await
    };
}

/// Marks a thread read for a user inside an open transaction.
macro_rules! mark_read {
    ($tx:expr, $thread:expr, $user:expr, $now:expr) => {
        sqlx::query(
            "INSERT INTO message_reads (thread_id, user_id, read_at) VALUES ($1, $2, $3) \
             ON CONFLICT (thread_id, user_id) DO UPDATE SET read_at = excluded.read_at",
        )
        .bind($thread)
        .bind($user.0)
        .bind(DbTime($now))
        .execute(&mut *$tx)
        .await
        .map(|_| ())
    };
}

/// Starts a thread to `to` (a member of the person's team) with its first message; the notices go out with it.
#[allow(clippy::too_many_arguments)]
pub async fn start(
    db: &Db,
    grant: &Grant,
    to: UserId,
    subject: &str,
    body: &str,
    author_role: &str,
    notices: &[Notice],
    now: OffsetDateTime,
) -> Result<std::result::Result<Uuid, Denied>> {
    let Some(actor) = grant.actor().filter(|_| can(grant, Action::Write)) else {
        return Ok(Err(Denied));
    };
    let id = Uuid::now_v7();
    let person = grant.person();
    on_db!(db, write, |p| {
        async {
        let mut tx = p.begin().await?;
        sqlx::query(
            "INSERT INTO message_threads (id, person_id, subject, assigned_user_id, created_by, created_at, updated_at) \
             VALUES ($1, $2, $3, $4, $5, $6, $6)",
        )
        .bind(id)
        .bind(person.0)
        .bind(subject)
        .bind(to.0)
        .bind(actor.0)
        .bind(DbTime(now))
        .execute(&mut *tx)
        .await?;
        insert_message!(tx, id, Some(actor), author_role, body, now)?;
        mark_read!(tx, id, actor, now)?;
        notify_in_tx!(tx, notices, now)?;
        tx.commit().await
    }
    .await
    })?;
    Ok(Ok(id))
}

/// Adds a reply to one of the person's threads; `Ok(Ok(false))` when there is no such thread.
pub async fn reply(
    db: &Db,
    grant: &Grant,
    thread: Uuid,
    body: &str,
    author_role: &str,
    notices: &[Notice],
    now: OffsetDateTime,
) -> Result<std::result::Result<bool, Denied>> {
    let Some(actor) = grant.actor().filter(|_| can(grant, Action::Write)) else {
        return Ok(Err(Denied));
    };
    let person = grant.person();
    let done = on_db!(db, write, |p| async {
        let mut tx = p.begin().await?;
        let found: Option<Uuid> = sqlx::query_scalar("SELECT id FROM message_threads WHERE id = $1 AND person_id = $2")
            .bind(thread)
            .bind(person.0)
            .fetch_optional(&mut *tx)
            .await?;
        if found.is_none() {
            return Ok::<_, sqlx::Error>(false);
        }
        insert_message!(tx, thread, Some(actor), author_role, body, now)?;
        mark_read!(tx, thread, actor, now)?;
        notify_in_tx!(tx, notices, now)?;
        tx.commit().await?;
        Ok(true)
    }
    .await)?;
    Ok(Ok(done))
}

/// Passes a thread to a colleague, with a note in the thread saying so.
pub async fn pass(
    db: &Db,
    grant: &Grant,
    thread: Uuid,
    to: UserId,
    note: &str,
    notices: &[Notice],
    now: OffsetDateTime,
) -> Result<std::result::Result<bool, Denied>> {
    let Some(actor) = grant.actor().filter(|_| can(grant, Action::Write) && !grant.is_owner()) else {
        return Ok(Err(Denied));
    };
    let person = grant.person();
    let done = on_db!(db, write, |p| async {
        let mut tx = p.begin().await?;
        let n = sqlx::query("UPDATE message_threads SET assigned_user_id = $3 WHERE id = $1 AND person_id = $2")
            .bind(thread)
            .bind(person.0)
            .bind(to.0)
            .execute(&mut *tx)
            .await?
            .rows_affected();
        if n == 0 {
            return Ok::<_, sqlx::Error>(false);
        }
        insert_message!(tx, thread, Some(actor), "system", note, now)?;
        notify_in_tx!(tx, notices, now)?;
        tx.commit().await?;
        Ok(true)
    }
    .await)?;
    Ok(Ok(done))
}

/// The people with threads assigned to `user`, with how many of those threads have messages the user has not read:
/// ids and counts only, for a professional's inbox (each person is then opened through the choke point).
pub async fn assigned_to(db: &Db, user: UserId) -> Result<Vec<(Uuid, i64)>> {
    Ok(on_db!(db, read, |p| sqlx::query_as(
        "SELECT t.person_id, SUM(CASE WHEN EXISTS (SELECT 1 FROM messages m WHERE m.thread_id = t.id \
           AND (m.author_id IS NULL OR m.author_id <> $1) AND m.created_at > COALESCE((SELECT r.read_at FROM \
           message_reads r WHERE r.thread_id = t.id AND r.user_id = $1), $2)) THEN 1 ELSE 0 END) AS unread \
         FROM message_threads t WHERE t.assigned_user_id = $1 GROUP BY t.person_id ORDER BY MAX(t.updated_at) DESC"
    )
    .bind(user.0)
    .bind(DbTime(OffsetDateTime::UNIX_EPOCH))
    .fetch_all(p)
    .await)?)
}

/// Every thread of the person's with its messages, oldest first, for their export. Unlike [`open`], reading
/// here marks nothing read.
pub async fn everything(
    db: &Db,
    grant: &Grant,
    viewer: UserId,
) -> Result<std::result::Result<Vec<(ThreadRow, Vec<MessageRow>)>, Denied>> {
    let threads = match threads(db, grant, viewer).await? {
        Ok(t) => t,
        Err(d) => return Ok(Err(d)),
    };
    let mut out = Vec::with_capacity(threads.len());
    for t in threads {
        let messages = in_thread(db, t.id).await?;
        out.push((t, messages));
    }
    Ok(Ok(out))
}

async fn in_thread(db: &Db, thread: Uuid) -> Result<Vec<MessageRow>> {
    Ok(on_db!(db, read, |p| sqlx::query_as(
        "SELECT m.id, u.display_name AS author_name, m.author_role, m.body, m.created_at FROM messages m \
         LEFT JOIN users u ON u.id = m.author_id WHERE m.thread_id = $1 ORDER BY m.created_at, m.id"
    )
    .bind(thread)
    .fetch_all(p)
    .await)?)
}
