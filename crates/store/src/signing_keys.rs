//! The keys that sign OpenID Connect identity tokens. A key is made once (by the caller, which holds the
//! cryptography) and kept: the first node to store one for an algorithm wins, and every node then signs with that
//! one. The PKCS#8 document holds the private key, so the table is as sensitive as the rest of the database.

use time::OffsetDateTime;

use crate::{Db, DbTime, Result, on_db};

/// A stored signing key.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct SigningKey {
    /// The key id (JWS `kid`).
    pub kid: String,
    /// `ES256`.
    pub algorithm: String,
    /// The PKCS#8 document (private and public key).
    pub pkcs8: Vec<u8>,
    pub created_at: DbTime,
}

type Row = (String, String, Vec<u8>, DbTime);

fn from_row((kid, algorithm, pkcs8, created_at): Row) -> SigningKey {
    SigningKey {
        kid,
        algorithm,
        pkcs8,
        created_at,
    }
}

/// The current key for `algorithm`, if one has been made.
pub async fn current(db: &Db, algorithm: &str) -> Result<Option<SigningKey>> {
    let row: Option<Row> = on_db!(db, read, |p| sqlx::query_as(
        "SELECT kid, algorithm, pkcs8, created_at FROM signing_keys WHERE algorithm = $1 AND retired_at IS NULL"
    )
    .bind(algorithm)
    .fetch_optional(p)
    .await)?;
    Ok(row.map(from_row))
}

/// Stores `candidate` as the current key for its algorithm unless there is one already, and returns the current
/// key: `candidate` itself, or the one another request (or node) stored first.
pub async fn current_or_insert(db: &Db, candidate: &SigningKey, now: OffsetDateTime) -> Result<SigningKey> {
    let row: Row = on_db!(db, write, |p| async {
        let mut tx = p.begin().await?;
        sqlx::query(
            "INSERT INTO signing_keys (kid, algorithm, pkcs8, created_at) VALUES ($1, $2, $3, $4) \
             ON CONFLICT DO NOTHING",
        )
        .bind(&candidate.kid)
        .bind(&candidate.algorithm)
        .bind(&candidate.pkcs8)
        .bind(DbTime(now))
        .execute(&mut *tx)
        .await?;
        let row: Row = sqlx::query_as(
            "SELECT kid, algorithm, pkcs8, created_at FROM signing_keys WHERE algorithm = $1 AND retired_at IS NULL",
        )
        .bind(&candidate.algorithm)
        .fetch_one(&mut *tx)
        .await?;
        tx.commit().await?;
        Ok::<_, sqlx::Error>(row)
    }
    .await)?;
    Ok(from_row(row))
}

/// Every key for `algorithm` that is published (the current one, and any retired ones kept), newest first.
pub async fn published(db: &Db, algorithm: &str) -> Result<Vec<SigningKey>> {
    let rows: Vec<Row> = on_db!(db, read, |p| sqlx::query_as(
        "SELECT kid, algorithm, pkcs8, created_at FROM signing_keys WHERE algorithm = $1 ORDER BY created_at DESC"
    )
    .bind(algorithm)
    .fetch_all(p)
    .await)?;
    Ok(rows.into_iter().map(from_row).collect())
}
