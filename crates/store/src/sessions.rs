//! Server-side sessions, in the database so that any node can serve any request.

use carepact_domain::identity::UserId;
use time::OffsetDateTime;
use uuid::Uuid;

use crate::{Db, DbTime, Result, on_db};

#[derive(Debug, Clone, PartialEq, Eq)]
pub struct SessionRecord {
    pub user_id: Option<UserId>,
    pub csrf_token: String,
    pub flash: Option<String>,
    pub created_at: OffsetDateTime,
    pub last_seen_at: OffsetDateTime,
}

#[derive(sqlx::FromRow)]
struct Row {
    user_id: Option<Uuid>,
    csrf_token: String,
    flash: Option<String>,
    created_at: DbTime,
    last_seen_at: DbTime,
}

macro_rules! insert_session {
    ($exec:expr, $hash:expr, $user:expr, $csrf:expr, $flash:expr, $now:expr) => {
        sqlx::query(
            "INSERT INTO sessions (token_hash, user_id, csrf_token, flash, created_at, last_seen_at) VALUES ($1, $2, $3, $4, $5, $5)",
        )
        .bind($hash)
        .bind($user.map(|u: UserId| u.0))
        .bind($csrf)
        .bind($flash)
        .bind(DbTime($now))
        .execute($exec)
        .await
        .map(|_| ())
    };
}

pub async fn create(db: &Db, hash: &[u8], user: Option<UserId>, csrf: &str, now: OffsetDateTime) -> Result<()> {
    let flash: Option<&str> = None;
    on_db!(db, write, |p| insert_session!(p, hash, user, csrf, flash, now))?;
    Ok(())
}

/// Replaces a session with a new one under a new token (sign-in and sign-out rotate the id, so a token planted
/// before sign-in is worthless after it).
pub async fn rotate(
    db: &Db,
    old_hash: Option<&[u8]>,
    new_hash: &[u8],
    user: Option<UserId>,
    csrf: &str,
    flash: Option<&str>,
    now: OffsetDateTime,
) -> Result<()> {
    on_db!(db, write, |p| async {
        let mut tx = p.begin().await?;
        if let Some(old) = old_hash {
            sqlx::query("DELETE FROM sessions WHERE token_hash = $1")
                .bind(old)
                .execute(&mut *tx)
                .await?;
        }
        insert_session!(&mut *tx, new_hash, user, csrf, flash, now)?;
        tx.commit().await
    }
    .await)?;
    Ok(())
}

pub async fn load(db: &Db, hash: &[u8]) -> Result<Option<SessionRecord>> {
    let row: Option<Row> = on_db!(db, read, |p| {
        sqlx::query_as(
            "SELECT user_id, csrf_token, flash, created_at, last_seen_at FROM sessions WHERE token_hash = $1",
        )
        .bind(hash)
        .fetch_optional(p)
        .await
    })?;
    Ok(row.map(|r| SessionRecord {
        user_id: r.user_id.map(UserId),
        csrf_token: r.csrf_token,
        flash: r.flash,
        created_at: r.created_at.0,
        last_seen_at: r.last_seen_at.0,
    }))
}

/// Records activity (keeps the idle timer from running out).
pub async fn touch(db: &Db, hash: &[u8], now: OffsetDateTime) -> Result<()> {
    on_db!(db, write, |p| sqlx::query(
        "UPDATE sessions SET last_seen_at = $2 WHERE token_hash = $1"
    )
    .bind(hash)
    .bind(DbTime(now))
    .execute(p)
    .await
    .map(|_| ()))?;
    Ok(())
}

/// Sets or clears the one-time message shown on the next page.
pub async fn set_flash(db: &Db, hash: &[u8], flash: Option<&str>) -> Result<()> {
    on_db!(db, write, |p| sqlx::query(
        "UPDATE sessions SET flash = $2 WHERE token_hash = $1"
    )
    .bind(hash)
    .bind(flash)
    .execute(p)
    .await
    .map(|_| ()))?;
    Ok(())
}

pub async fn delete(db: &Db, hash: &[u8]) -> Result<()> {
    on_db!(db, write, |p| sqlx::query("DELETE FROM sessions WHERE token_hash = $1")
        .bind(hash)
        .execute(p)
        .await
        .map(|_| ()))?;
    Ok(())
}

/// Removes sessions idle since before `idle_before` or begun before `created_before`. Returns how many.
pub async fn purge(db: &Db, idle_before: OffsetDateTime, created_before: OffsetDateTime) -> Result<u64> {
    let done = on_db!(db, write, |p| sqlx::query(
        "DELETE FROM sessions WHERE last_seen_at < $1 OR created_at < $2"
    )
    .bind(DbTime(idle_before))
    .bind(DbTime(created_before))
    .execute(p)
    .await
    .map(|r| r.rows_affected()))?;
    Ok(done)
}
