//! FHIR Bulk Data Access (`$export`) of a person's own data, for an app they connected: the request, its state
//! (`in-progress`, `complete`, `failed`) and the NDJSON files it produced.
//!
//! - Starting one needs a grant from the choke point for the person, to the user acting ([`create`]).
//! - An export and its files are seen only by the same user through the same app ([`get`], [`file`]); anyone else
//!   finds nothing, as if it did not exist. They expire 24 hours after the request ([`purge_expired`]).
//! - The files are written with the status, in one transaction ([`complete`]); an export cancelled meanwhile
//!   ([`delete`]) stays gone.

use carepact_domain::identity::{PersonId, UserId};
use time::{Duration, OffsetDateTime};
use uuid::Uuid;

use crate::access::Grant;
use crate::{Db, DbTime, Result, StoreError, on_db};

/// How long an export and its files are kept.
pub const LIFETIME: Duration = Duration::hours(24);

/// An export, as its app sees it.
#[derive(Debug, Clone, sqlx::FromRow)]
pub struct Export {
    pub id: Uuid,
    pub person_id: Uuid,
    pub user_id: Uuid,
    pub client_id: String,
    /// The resource types, separated by commas.
    pub types: String,
    pub request: String,
    /// "in-progress", "complete" or "failed".
    pub status: String,
    pub requested_at: DbTime,
    pub completed_at: Option<DbTime>,
    pub expires_at: DbTime,
    pub error: Option<String>,
}

impl Export {
    pub fn person(&self) -> PersonId {
        PersonId(self.person_id)
    }

    pub fn types(&self) -> Vec<&str> {
        self.types.split(',').filter(|t| !t.is_empty()).collect()
    }
}

/// One file of a finished export, without its text.
#[derive(Debug, Clone, PartialEq, Eq, sqlx::FromRow)]
pub struct FileInfo {
    pub resource_type: String,
    pub part: i64,
    pub count: i64,
}

/// One file to store: its resource type, part number (from 1), NDJSON text and how many resources it holds.
#[derive(Debug, Clone)]
pub struct NewFile {
    pub resource_type: String,
    pub part: i64,
    pub ndjson: String,
    pub count: i64,
}

/// Starts an export of `types` for the grant's person, by the grant's user through the app `client_id`. The grant
/// must be the user's own (an app acts for the person who connected it).
pub async fn create(
    db: &Db,
    grant: &Grant,
    client_id: &str,
    types: &[String],
    request: &str,
    now: OffsetDateTime,
) -> Result<Uuid> {
    let user: UserId = grant
        .actor()
        .ok_or_else(|| StoreError::Corrupt("a bulk export needs a user's grant".to_owned()))?;
    let id = Uuid::now_v7();
    on_db!(db, write, |p| sqlx::query(
        "INSERT INTO bulk_exports (id, person_id, user_id, client_id, types, request, status, requested_at, \
         expires_at) VALUES ($1, $2, $3, $4, $5, $6, 'in-progress', $7, $8)"
    )
    .bind(id)
    .bind(grant.person().0)
    .bind(user.0)
    .bind(client_id)
    .bind(types.join(","))
    .bind(request)
    .bind(DbTime(now))
    .bind(DbTime(now + LIFETIME))
    .execute(p)
    .await
    .map(|_| ()))?;
    Ok(id)
}

/// Stores the files and marks the export complete, together. False (and nothing stored) when the export is no
/// longer in progress (cancelled meanwhile).
pub async fn complete(db: &Db, id: Uuid, files: &[NewFile], now: OffsetDateTime) -> Result<bool> {
    Ok(on_db!(db, write, |p| async {
        let mut tx = p.begin().await?;
        let changed = sqlx::query(
            "UPDATE bulk_exports SET status = 'complete', completed_at = $2 WHERE id = $1 AND status = 'in-progress'",
        )
        .bind(id)
        .bind(DbTime(now))
        .execute(&mut *tx)
        .await?
        .rows_affected();
        if changed == 0 {
            tx.rollback().await?;
            return Ok::<bool, sqlx::Error>(false);
        }
        for f in files {
            sqlx::query(
                "INSERT INTO bulk_export_files (export_id, resource_type, part, ndjson, count) \
                 VALUES ($1, $2, $3, $4, $5)",
            )
            .bind(id)
            .bind(&f.resource_type)
            .bind(f.part)
            .bind(&f.ndjson)
            .bind(f.count)
            .execute(&mut *tx)
            .await?;
        }
        tx.commit().await?;
        Ok(true)
    }
    .await)?)
}

/// Marks the export failed, saying why.
pub async fn fail(db: &Db, id: Uuid, error: &str, now: OffsetDateTime) -> Result<()> {
    on_db!(db, write, |p| {
        sqlx::query(
            "UPDATE bulk_exports SET status = 'failed', completed_at = $2, error = $3 \
         WHERE id = $1 AND status = 'in-progress'",
        )
        .bind(id)
        .bind(DbTime(now))
        .bind(error)
        .execute(p)
        .await
        .map(|_| ())
    })?;
    Ok(())
}

/// The export, if it is `user`'s through the app `client_id` and has not expired.
pub async fn get(db: &Db, id: Uuid, user: UserId, client_id: &str, now: OffsetDateTime) -> Result<Option<Export>> {
    Ok(on_db!(db, read, |p| sqlx::query_as(
        "SELECT id, person_id, user_id, client_id, types, request, status, requested_at, completed_at, expires_at, \
         error FROM bulk_exports WHERE id = $1 AND user_id = $2 AND client_id = $3 AND expires_at > $4"
    )
    .bind(id)
    .bind(user.0)
    .bind(client_id)
    .bind(DbTime(now))
    .fetch_optional(p)
    .await)?)
}

/// The files of an export, by resource type and part (for its manifest; the caller has found it with [`get`]).
pub async fn files(db: &Db, id: Uuid) -> Result<Vec<FileInfo>> {
    Ok(on_db!(db, read, |p| sqlx::query_as(
        "SELECT resource_type, part, count FROM bulk_export_files WHERE export_id = $1 ORDER BY resource_type, part"
    )
    .bind(id)
    .fetch_all(p)
    .await)?)
}

/// One file's NDJSON text, if the export is `user`'s through the app `client_id`, complete and not expired.
pub async fn file(
    db: &Db,
    id: Uuid,
    user: UserId,
    client_id: &str,
    resource_type: &str,
    part: i64,
    now: OffsetDateTime,
) -> Result<Option<String>> {
    Ok(on_db!(db, read, |p| sqlx::query_scalar(
        "SELECT f.ndjson FROM bulk_export_files f JOIN bulk_exports e ON e.id = f.export_id \
         WHERE e.id = $1 AND e.user_id = $2 AND e.client_id = $3 AND e.expires_at > $4 AND e.status = 'complete' \
         AND f.resource_type = $5 AND f.part = $6"
    )
    .bind(id)
    .bind(user.0)
    .bind(client_id)
    .bind(DbTime(now))
    .bind(resource_type)
    .bind(part)
    .fetch_optional(p)
    .await)?)
}

/// Cancels (or, once fetched, discards) the export, if it is `user`'s through the app `client_id`. False when
/// there was no such export.
pub async fn delete(db: &Db, id: Uuid, user: UserId, client_id: &str, now: OffsetDateTime) -> Result<bool> {
    Ok(on_db!(db, write, |p| async {
        let mut tx = p.begin().await?;
        let found: Option<Uuid> = sqlx::query_scalar(
            "SELECT id FROM bulk_exports WHERE id = $1 AND user_id = $2 AND client_id = $3 AND expires_at > $4",
        )
        .bind(id)
        .bind(user.0)
        .bind(client_id)
        .bind(DbTime(now))
        .fetch_optional(&mut *tx)
        .await?;
        if found.is_none() {
            tx.rollback().await?;
            return Ok::<bool, sqlx::Error>(false);
        }
        sqlx::query("DELETE FROM bulk_export_files WHERE export_id = $1")
            .bind(id)
            .execute(&mut *tx)
            .await?;
        sqlx::query("DELETE FROM bulk_exports WHERE id = $1")
            .bind(id)
            .execute(&mut *tx)
            .await?;
        tx.commit().await?;
        Ok(true)
    }
    .await)?)
}

/// Removes every export (and its files) that has expired; how many.
pub async fn purge_expired(db: &Db, now: OffsetDateTime) -> Result<u64> {
    Ok(on_db!(db, write, |p| async {
        let mut tx = p.begin().await?;
        sqlx::query(
            "DELETE FROM bulk_export_files WHERE export_id IN (SELECT id FROM bulk_exports WHERE expires_at <= $1)",
        )
        .bind(DbTime(now))
        .execute(&mut *tx)
        .await?;
        let n = sqlx::query("DELETE FROM bulk_exports WHERE expires_at <= $1")
            .bind(DbTime(now))
            .execute(&mut *tx)
            .await?
            .rows_affected();
        tx.commit().await?;
        Ok::<u64, sqlx::Error>(n)
    }
    .await)?)
}
