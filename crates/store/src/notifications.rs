//! In-app notifications ("there is something new", with a link) and each user's choice of which kinds also come by
//! email. Notifications are written by the change that causes them (see `messages`); they carry no clinical detail.

use time::OffsetDateTime;
use uuid::Uuid;

use carepact_domain::identity::UserId;

use crate::{Db, DbTime, Result, on_db};

/// The kinds of notification, each with its own email choice.
pub const KINDS: [&str; 5] = ["message", "message-passed", "plan-review", "alert", "questionnaire"];

#[derive(Debug, Clone, PartialEq, Eq, sqlx::FromRow)]
pub struct Notification {
    pub id: Uuid,
    pub kind: String,
    pub link: String,
    pub created_at: DbTime,
    pub read_at: Option<DbTime>,
}

/// The user's newest notifications.
pub async fn list(db: &Db, user: UserId, limit: i64) -> Result<Vec<Notification>> {
    Ok(on_db!(db, read, |p| sqlx::query_as(
        "SELECT id, kind, link, created_at, read_at FROM notifications WHERE user_id = $1 \
         ORDER BY created_at DESC, id DESC LIMIT $2"
    )
    .bind(user.0)
    .bind(limit)
    .fetch_all(p)
    .await)?)
}

pub async fn unread_count(db: &Db, user: UserId) -> Result<i64> {
    Ok(on_db!(db, read, |p| sqlx::query_scalar(
        "SELECT COUNT(*) FROM notifications WHERE user_id = $1 AND read_at IS NULL"
    )
    .bind(user.0)
    .fetch_one(p)
    .await)?)
}

/// Marks one of the user's notifications read and returns where it points.
pub async fn open(db: &Db, user: UserId, id: Uuid, now: OffsetDateTime) -> Result<Option<String>> {
    let link: Option<String> = on_db!(db, read, |p| sqlx::query_scalar(
        "SELECT link FROM notifications WHERE id = $1 AND user_id = $2"
    )
    .bind(id)
    .bind(user.0)
    .fetch_optional(p)
    .await)?;
    if link.is_some() {
        on_db!(db, write, |p| sqlx::query(
            "UPDATE notifications SET read_at = $3 WHERE id = $1 AND user_id = $2 AND read_at IS NULL"
        )
        .bind(id)
        .bind(user.0)
        .bind(DbTime(now))
        .execute(p)
        .await
        .map(|_| ()))?;
    }
    Ok(link)
}

/// The kinds the user gets by email.
pub async fn email_kinds(db: &Db, user: UserId) -> Result<Vec<&'static str>> {
    let off: Vec<String> = on_db!(db, read, |p| sqlx::query_scalar(
        "SELECT kind FROM notification_email_off WHERE user_id = $1"
    )
    .bind(user.0)
    .fetch_all(p)
    .await)?;
    Ok(KINDS.into_iter().filter(|k| !off.iter().any(|o| o == k)).collect())
}

/// Sets which kinds the user gets by email (unknown kinds are ignored).
pub async fn set_email_kinds(db: &Db, user: UserId, on: &[&str]) -> Result<()> {
    on_db!(db, write, |p| async {
        let mut tx = p.begin().await?;
        sqlx::query("DELETE FROM notification_email_off WHERE user_id = $1")
            .bind(user.0)
            .execute(&mut *tx)
            .await?;
        for kind in KINDS.iter().filter(|k| !on.contains(k)) {
            sqlx::query("INSERT INTO notification_email_off (user_id, kind) VALUES ($1, $2)")
                .bind(user.0)
                .bind(*kind)
                .execute(&mut *tx)
                .await?;
        }
        tx.commit().await
    }
    .await)?;
    Ok(())
}
