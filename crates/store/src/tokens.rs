//! Single-use tokens sent by email: password-reset links and invitations.
//!
//! Only a SHA-256 hash of each token is stored, so a copy of the database cannot be used to take over accounts.
//! Consuming a token is one atomic `UPDATE … RETURNING`, so a link cannot be used twice even by two nodes at once.

use carepact_domain::identity::UserId;
use time::OffsetDateTime;
use uuid::Uuid;

use crate::outbox::{NewEmail, insert_email};
use crate::users::{NewUser, insert_user};
use crate::{Db, DbTime, Result, on_db};

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Purpose {
    PasswordReset,
    Invitation,
}

impl Purpose {
    pub(crate) fn code(self) -> &'static str {
        match self {
            Self::PasswordReset => "password_reset",
            Self::Invitation => "invitation",
        }
    }
}

macro_rules! insert_token {
    ($exec:expr, $hash:expr, $purpose:expr, $user:expr, $now:expr, $expires:expr) => {
        sqlx::query(
            "INSERT INTO one_time_tokens (token_hash, purpose, user_id, created_at, expires_at) VALUES ($1, $2, $3, $4, $5)",
        )
        .bind($hash)
        .bind($purpose.code())
        .bind($user.0)
        .bind(DbTime($now))
        .bind(DbTime($expires))
        .execute($exec)
        .await
        .map(|_| ())
    };
}
pub(crate) use insert_token;

/// Stores a new token for `user`. Earlier unused tokens of the same purpose are withdrawn: only the newest works.
pub async fn issue(
    db: &Db,
    hash: &[u8],
    purpose: Purpose,
    user: UserId,
    now: OffsetDateTime,
    expires: OffsetDateTime,
) -> Result<()> {
    on_db!(db, write, |p| {
        async {
            let mut tx = p.begin().await?;
            sqlx::query(
                "UPDATE one_time_tokens SET used_at = $3 WHERE user_id = $1 AND purpose = $2 AND used_at IS NULL",
            )
            .bind(user.0)
            .bind(purpose.code())
            .bind(DbTime(now))
            .execute(&mut *tx)
            .await?;
            insert_token!(&mut *tx, hash, purpose, user, now, expires)?;
            tx.commit().await
        }
        .await
    })?;
    Ok(())
}

/// The user a live token belongs to, without using it up (to show the "set your password" form).
pub async fn peek(db: &Db, hash: &[u8], purpose: Purpose, now: OffsetDateTime) -> Result<Option<UserId>> {
    let id: Option<Uuid> = on_db!(db, read, |p| {
        sqlx::query_scalar(
        "SELECT user_id FROM one_time_tokens WHERE token_hash = $1 AND purpose = $2 AND used_at IS NULL AND expires_at > $3"
    )
    .bind(hash)
    .bind(purpose.code())
    .bind(DbTime(now))
    .fetch_optional(p)
    .await
    })?;
    Ok(id.map(UserId))
}

/// Uses up a live token and sets the user's password in one transaction. `None` when the token is unknown,
/// expired or already used; then nothing changes.
pub async fn consume_and_set_password(
    db: &Db,
    hash: &[u8],
    purpose: Purpose,
    password_hash: &str,
    now: OffsetDateTime,
) -> Result<Option<UserId>> {
    let id: Option<Uuid> = on_db!(db, write, |p| {
        async {
            let mut tx = p.begin().await?;
            let id: Option<Uuid> = sqlx::query_scalar(
                "UPDATE one_time_tokens SET used_at = $3 \
             WHERE token_hash = $1 AND purpose = $2 AND used_at IS NULL AND expires_at > $3 RETURNING user_id",
            )
            .bind(hash)
            .bind(purpose.code())
            .bind(DbTime(now))
            .fetch_optional(&mut *tx)
            .await?;
            if let Some(id) = id {
                sqlx::query("UPDATE users SET password_hash = $2, updated_at = $3 WHERE id = $1")
                    .bind(id)
                    .bind(password_hash)
                    .bind(DbTime(now))
                    .execute(&mut *tx)
                    .await?;
                // A new password ends every existing session of that user.
                sqlx::query("DELETE FROM sessions WHERE user_id = $1")
                    .bind(id)
                    .execute(&mut *tx)
                    .await?;
            }
            tx.commit().await?;
            Ok::<_, sqlx::Error>(id)
        }
        .await
    })?;
    Ok(id.map(UserId))
}

/// Creates a user who has no password yet, with an invitation token and the email that carries it, in one
/// transaction.
pub async fn invite(
    db: &Db,
    new: &NewUser<'_>,
    hash: &[u8],
    email: &NewEmail<'_>,
    now: OffsetDateTime,
    expires: OffsetDateTime,
) -> Result<UserId> {
    let id = UserId::new();
    on_db!(db, write, |p| async {
        let mut tx = p.begin().await?;
        insert_user!(&mut *tx, id, new, now)?;
        insert_token!(&mut *tx, hash, Purpose::Invitation, id, now, expires)?;
        insert_email!(&mut *tx, email, now)?;
        tx.commit().await?;
        Ok::<_, crate::StoreError>(())
    }
    .await)?;
    Ok(id)
}
