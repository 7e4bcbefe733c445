//! The email outbox: messages are written here in the same breath as the change that causes them, and a worker
//! delivers them, so nothing is lost across restarts or mail-server failures.
//!
//! Several nodes may run workers: a message is claimed with a lease (`claimed_until`), on PostgreSQL with
//! `FOR UPDATE SKIP LOCKED` so workers never wait on each other. SQLite has one writer connection, which already
//! serialises claims, and does not know `SKIP LOCKED`: that clause is the one deliberate dialect difference here.

use time::OffsetDateTime;
use uuid::Uuid;

use crate::{Db, DbTime, Result, on_db};

#[derive(Debug, Clone)]
pub struct NewEmail<'a> {
    pub to: &'a str,
    pub subject: &'a str,
    pub body: &'a str,
    /// Enqueuing the same key twice sends once.
    pub idempotency_key: Option<&'a str>,
}

#[derive(Debug, Clone, PartialEq, Eq, sqlx::FromRow)]
pub struct QueuedEmail {
    pub id: Uuid,
    pub to_address: String,
    pub subject: String,
    pub body_text: String,
    pub attempts: i32,
}

#[derive(Debug, Clone, PartialEq, Eq, sqlx::FromRow)]
pub struct DeadLetter {
    pub id: Uuid,
    pub to_address: String,
    pub subject: String,
    pub attempts: i32,
    pub last_error: Option<String>,
}

/// Queues an email inside an open transaction or on a pool, so it commits with the change that caused it.
macro_rules! insert_email {
    ($exec:expr, $email:expr, $now:expr) => {
        sqlx::query(
            "INSERT INTO email_outbox (id, idempotency_key, to_address, subject, body_text, created_at, next_attempt_at) \
             VALUES ($1, $2, $3, $4, $5, $6, $6) ON CONFLICT (idempotency_key) DO NOTHING",
        )
        .bind(uuid::Uuid::now_v7())
        .bind($email.idempotency_key)
        .bind($email.to)
        .bind($email.subject)
        .bind($email.body)
        .bind($crate::DbTime($now))
        .execute($exec)
        .await
        .map(|_| ())
    };
}
pub(crate) use insert_email;

pub async fn enqueue(db: &Db, email: &NewEmail<'_>, now: OffsetDateTime) -> Result<()> {
    on_db!(db, write, |p| insert_email!(p, email, now))?;
    Ok(())
}

macro_rules! claim {
    ($lock:literal) => {
        concat!(
            "UPDATE email_outbox SET claimed_until = $2, attempts = attempts + 1 WHERE id = ( \
    SELECT id FROM email_outbox WHERE sent_at IS NULL AND NOT dead AND next_attempt_at <= $1 \
    AND (claimed_until IS NULL OR claimed_until <= $1) ORDER BY next_attempt_at LIMIT 1 ",
            $lock,
            ") \
    RETURNING id, to_address, subject, body_text, attempts"
        )
    };
}

/// Claims the next message that is due, for `lease` (after which another worker may take it if this one died).
pub async fn claim_next(db: &Db, now: OffsetDateTime, lease_until: OffsetDateTime) -> Result<Option<QueuedEmail>> {
    let row = match db {
        Db::Sqlite { writer, .. } => {
            sqlx::query_as(claim!(""))
                .bind(DbTime(now))
                .bind(DbTime(lease_until))
                .fetch_optional(writer)
                .await?
        }
        Db::Postgres { pool, .. } => {
            sqlx::query_as(claim!("FOR UPDATE SKIP LOCKED"))
                .bind(DbTime(now))
                .bind(DbTime(lease_until))
                .fetch_optional(pool)
                .await?
        }
    };
    Ok(row)
}

pub async fn mark_sent(db: &Db, id: Uuid, now: OffsetDateTime) -> Result<()> {
    on_db!(db, write, |p| {
        sqlx::query("UPDATE email_outbox SET sent_at = $2, claimed_until = NULL, last_error = NULL WHERE id = $1")
            .bind(id)
            .bind(DbTime(now))
            .execute(p)
            .await
            .map(|_| ())
    })?;
    Ok(())
}

/// Records a failed attempt: retry at `retry_at`, or with `None` give up (a dead letter an admin can see).
pub async fn mark_failed(db: &Db, id: Uuid, error: &str, retry_at: Option<OffsetDateTime>) -> Result<()> {
    on_db!(db, write, |p| sqlx::query(
        "UPDATE email_outbox SET claimed_until = NULL, last_error = $2, \
         next_attempt_at = COALESCE($3, next_attempt_at), dead = $4 WHERE id = $1"
    )
    .bind(id)
    .bind(error)
    .bind(retry_at.map(DbTime))
    .bind(retry_at.is_none())
    .execute(p)
    .await
    .map(|_| ()))?;
    Ok(())
}

pub async fn dead_letters(db: &Db) -> Result<Vec<DeadLetter>> {
    Ok(on_db!(db, read, |p| {
        sqlx::query_as(
        "SELECT id, to_address, subject, attempts, last_error FROM email_outbox WHERE dead ORDER BY created_at DESC"
    )
    .fetch_all(p)
    .await
    })?)
}

/// Messages not yet sent and not dead.
pub async fn pending_count(db: &Db) -> Result<i64> {
    Ok(on_db!(db, read, |p| sqlx::query_scalar(
        "SELECT COUNT(*) FROM email_outbox WHERE sent_at IS NULL AND NOT dead"
    )
    .fetch_one(p)
    .await)?)
}

/// Marks every email still waiting as sent, without sending it. Only for a demo world's made-up history: its
/// events "happened" before anyone could have been told, so nobody should be emailed about them when it starts.
pub async fn settle_history(db: &Db, now: OffsetDateTime) -> Result<u64> {
    Ok(on_db!(db, write, |p| sqlx::query(
        "UPDATE email_outbox SET sent_at = $1 WHERE sent_at IS NULL AND NOT dead"
    )
    .bind(DbTime(now))
    .execute(p)
    .await
    .map(|r| r.rows_affected()))?)
}
