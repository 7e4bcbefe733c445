//! Failed sign-in attempts, counted in the database so that every node applies the same limit.

use time::OffsetDateTime;
use uuid::Uuid;

use crate::{Db, DbTime, Result, on_db};

/// Records one failed attempt against each key (the account and the address) in one transaction.
pub async fn record_failure(db: &Db, keys: &[String], now: OffsetDateTime) -> Result<()> {
    on_db!(db, write, |p| async {
        let mut tx = p.begin().await?;
        for key in keys {
            sqlx::query("INSERT INTO sign_in_failures (id, throttle_key, failed_at) VALUES ($1, $2, $3)")
                .bind(Uuid::now_v7())
                .bind(key)
                .bind(DbTime(now))
                .execute(&mut *tx)
                .await?;
        }
        tx.commit().await
    }
    .await)?;
    Ok(())
}

/// Failed attempts for `key` since `since`.
pub async fn failures_since(db: &Db, key: &str, since: OffsetDateTime) -> Result<u32> {
    let n: i64 = on_db!(db, read, |p| sqlx::query_scalar(
        "SELECT COUNT(*) FROM sign_in_failures WHERE throttle_key = $1 AND failed_at >= $2"
    )
    .bind(key)
    .bind(DbTime(since))
    .fetch_one(p)
    .await)?;
    Ok(u32::try_from(n).unwrap_or(u32::MAX))
}

/// Forgets the failures for `key` (after a successful sign-in to that account).
pub async fn clear(db: &Db, key: &str) -> Result<()> {
    on_db!(db, write, |p| sqlx::query(
        "DELETE FROM sign_in_failures WHERE throttle_key = $1"
    )
    .bind(key)
    .execute(p)
    .await
    .map(|_| ()))?;
    Ok(())
}

/// Removes failures older than `before`.
pub async fn purge(db: &Db, before: OffsetDateTime) -> Result<u64> {
    let done = on_db!(db, write, |p| sqlx::query(
        "DELETE FROM sign_in_failures WHERE failed_at < $1"
    )
    .bind(DbTime(before))
    .execute(p)
    .await
    .map(|r| r.rows_affected()))?;
    Ok(done)
}
