//! Personal API tokens: a professional's scripts and an organisation's integrations call the FHIR API with a
//! bearer token that acts as one user, so what it reaches is limited by consent exactly as the pages are.
//!
//! - The operator makes them (`carepact token create`); the user and their organisation's admin list and revoke
//!   them. Making and revoking are audited on the system chain (tokens are not a person's data), in the same
//!   transaction as the change.
//! - A token is `cpt_` and 32 random bytes in base64url (no padding). Only its SHA-256 is stored, so a copy of the
//!   database cannot be used to call the API; the secret is shown once, when it is made.
//! - [`find`] is the one lookup the FHIR API makes: one query by the (unique, indexed) hash that also checks expiry,
//!   revocation and that the account is open, so revoking or closing an account takes effect on the next call.
//!   "Last used" is written back at most once a minute.

use carepact_domain::audit::Event;
use carepact_domain::identity::{OrganisationId, Role, UserId};
use carepact_domain::smart::{base64url, token_hash};
use time::{Duration, OffsetDateTime};
use uuid::Uuid;

use crate::audit::append_in_tx;
use crate::{Db, DbTime, Result, StoreError, on_db};

/// What every token starts with, so one found in a log or a repository is recognisable.
pub const PREFIX: &str = "cpt_";
/// The longest a token may last.
pub const MAX_LIFETIME: Duration = Duration::days(365);
/// The longest label.
pub const LABEL_MAX_CHARS: usize = 100;
/// How often "last used" is written back.
const TOUCH_EVERY: Duration = Duration::minutes(1);
/// 32 bytes in base64url without padding.
const SECRET_CHARS: usize = 43;

/// True when `secret` has the shape of the tokens made here, so junk never reaches the database.
pub fn well_formed(secret: &str) -> bool {
    secret.strip_prefix(PREFIX).is_some_and(|rest| {
        rest.len() == SECRET_CHARS
            && rest
                .bytes()
                .all(|b| b.is_ascii_alphanumeric() || b == b'-' || b == b'_')
    })
}

fn new_secret() -> Result<String> {
    let mut bytes = [0u8; 32];
    getrandom::fill(&mut bytes).map_err(|e| StoreError::Corrupt(format!("random number generator failed: {e}")))?;
    Ok(format!("{PREFIX}{}", base64url(&bytes)))
}

/// Who makes or revokes a token.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum By {
    /// The operator, at CarePact's command line.
    CommandLine,
    /// A signed-in user: the token's own user, or an admin of their organisation.
    User(UserId),
}

impl By {
    /// As stored in `api_tokens.created_by`.
    fn stored(self) -> String {
        match self {
            Self::CommandLine => "command-line".into(),
            Self::User(u) => u.0.to_string(),
        }
    }
}

/// Where a token stands at a moment.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Status {
    Active,
    Expired,
    Revoked,
    /// The token's account is switched off: the token does not work while it is (and works again if the account is
    /// switched back on before the token expires).
    AccountOff,
}

/// A token as stored (never its secret, which is not kept).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ApiToken {
    pub id: Uuid,
    pub user_id: UserId,
    pub label: String,
    pub created_at: DbTime,
    pub expires_at: DbTime,
    pub last_used_at: Option<DbTime>,
    pub revoked_at: Option<DbTime>,
    pub revoked_by: Option<UserId>,
    /// "command-line", or the id of the user who made it.
    pub created_by: String,
    /// Whether the token's account is switched on.
    pub user_active: bool,
}

impl ApiToken {
    pub fn status(&self, now: OffsetDateTime) -> Status {
        if self.revoked_at.is_some() {
            Status::Revoked
        } else if self.expires_at.0 <= now {
            Status::Expired
        } else if !self.user_active {
            Status::AccountOff
        } else {
            Status::Active
        }
    }
}

/// A token of one of an organisation's users, with whose it is.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct OrganisationToken {
    pub token: ApiToken,
    pub user_name: String,
    pub user_email: String,
}

/// A live token: which it is, and the user calls with it act as.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Found {
    pub id: Uuid,
    pub user: UserId,
}

/// Why a token was not made. Nothing is written.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum NotCreated {
    NoSuchUser,
    Deactivated,
    /// Empty, longer than [`LABEL_MAX_CHARS`], or with control characters.
    BadLabel,
    /// Not after now, or more than [`MAX_LIFETIME`] away.
    BadExpiry,
    /// The maker is neither the operator, the user, nor an admin of the user's organisation.
    NotAllowed,
}

/// What revoking did.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Revoked {
    /// Revoked now: it stops working at once.
    Done,
    /// It was revoked before; nothing changed.
    Already,
    /// No such token, or one the asker may not revoke (the two look the same). A refusal is audited.
    NotFound,
}

#[derive(sqlx::FromRow)]
struct Row {
    id: Uuid,
    user_id: Uuid,
    label: String,
    created_at: DbTime,
    expires_at: DbTime,
    last_used_at: Option<DbTime>,
    revoked_at: Option<DbTime>,
    revoked_by: Option<Uuid>,
    created_by: String,
    user_active: bool,
}

impl From<Row> for ApiToken {
    fn from(r: Row) -> Self {
        Self {
            id: r.id,
            user_id: UserId(r.user_id),
            label: r.label,
            created_at: r.created_at,
            expires_at: r.expires_at,
            last_used_at: r.last_used_at,
            revoked_at: r.revoked_at,
            revoked_by: r.revoked_by.map(UserId),
            created_by: r.created_by,
            user_active: r.user_active,
        }
    }
}

#[derive(sqlx::FromRow)]
struct OrgRow {
    #[sqlx(flatten)]
    token: Row,
    user_name: String,
    user_email: String,
}

const COLUMNS: &str = "t.id, t.user_id, t.label, t.created_at, t.expires_at, t.last_used_at, t.revoked_at, \
                       t.revoked_by, t.created_by, u.active AS user_active";

/// The audit event (system chain: about no person) for making or revoking token `id` of `user`.
#[allow(clippy::too_many_arguments)]
fn event(
    by: By,
    role: &str,
    organisation: Option<Uuid>,
    action: &str,
    id: Uuid,
    user: Uuid,
    outcome: &str,
    now: OffsetDateTime,
) -> Event {
    let (actor, on_behalf_of, role) = match by {
        By::CommandLine => (None, Some("command-line".to_owned()), "operator"),
        By::User(u) => (Some(u.0), None, role),
    };
    Event {
        id: Uuid::now_v7(),
        occurred_at: now,
        actor,
        actor_role: role.into(),
        organisation,
        on_behalf_of,
        person: None,
        action: action.into(),
        section: None,
        entity: format!("api-token:{id}; user:{user}"),
        purpose: "operations".into(),
        outcome: outcome.into(),
    }
}

fn label_ok(label: &str) -> bool {
    let n = label.chars().count();
    n > 0 && n <= LABEL_MAX_CHARS && !label.chars().any(char::is_control)
}

/// Who may make or revoke a token of `owner` (of organisation `owner_org`), decided inside the open transaction
/// `tx`: the operator; the owner themself; an active organisation admin of the owner's organisation. Evaluates to
/// `Result<Decision, sqlx::Error>`.
macro_rules! decide {
    ($tx:expr, $by:expr, $owner:expr, $owner_org:expr) => {
        async {
            let owner: Uuid = $owner;
            let owner_org: Option<Uuid> = $owner_org;
            Ok::<Decision, sqlx::Error>(match $by {
                By::CommandLine => Decision {
                    role: "operator",
                    organisation: None,
                    permit: Some("permit:operator"),
                },
                By::User(u) if u.0 == owner => Decision {
                    role: "account-holder",
                    organisation: owner_org,
                    permit: Some("permit:self"),
                },
                By::User(u) => {
                    let asker: Option<(String, Option<Uuid>, bool)> =
                        sqlx::query_as("SELECT roles, organisation_id, active FROM users WHERE id = $1")
                            .bind(u.0)
                            .fetch_optional(&mut *$tx)
                            .await?;
                    let (roles, org, active) = asker.unwrap_or_default();
                    let admin = roles.split_whitespace().any(|r| r == Role::OrganisationAdmin.code());
                    let permitted = active && admin && org.is_some() && org == owner_org;
                    Decision {
                        role: if admin { "organisation_admin" } else { "user" },
                        organisation: org,
                        permit: permitted.then_some("permit:organisation-admin"),
                    }
                }
            })
        }
        .await
    };
}

/// Whether someone may act on a user's tokens, and how that is audited.
struct Decision {
    /// The role they act in.
    role: &'static str,
    /// Their organisation.
    organisation: Option<Uuid>,
    /// The audit outcome when permitted; `None` when refused.
    permit: Option<&'static str>,
}

/// Makes a token for `user` that lasts until `expires_at`; returns it and its secret, which is shown once and not
/// kept. The user must exist and be active; `created_by` is the operator, the user themself, or an admin of their
/// organisation (anyone else is refused, and the refusal audited). Audited (`create-api-token`) in the same
/// transaction.
pub async fn create(
    db: &Db,
    user: UserId,
    label: &str,
    expires_at: OffsetDateTime,
    now: OffsetDateTime,
    created_by: By,
) -> Result<std::result::Result<(ApiToken, String), NotCreated>> {
    let label = label.trim();
    if !label_ok(label) {
        return Ok(Err(NotCreated::BadLabel));
    }
    if expires_at <= now || expires_at - now > MAX_LIFETIME {
        return Ok(Err(NotCreated::BadExpiry));
    }
    let secret = new_secret()?;
    let id = Uuid::now_v7();
    let backend = db.backend();
    let stored_by = created_by.stored();
    let row: std::result::Result<Row, NotCreated> = on_db!(db, write, |p| async {
        let mut tx = p.begin().await?;
        let account: Option<(bool, Option<Uuid>)> =
            sqlx::query_as("SELECT active, organisation_id FROM users WHERE id = $1")
                .bind(user.0)
                .fetch_optional(&mut *tx)
                .await?;
        let organisation = match account {
            None => return Ok(Err(NotCreated::NoSuchUser)),
            Some((false, _)) => return Ok(Err(NotCreated::Deactivated)),
            Some((true, organisation)) => organisation,
        };
        let decision = decide!(tx, created_by, user.0, organisation)?;
        let action = "create-api-token";
        let Some(permit) = decision.permit else {
            let outcome = "deny:not-allowed";
            let events = [event(
                created_by,
                decision.role,
                decision.organisation,
                action,
                id,
                user.0,
                outcome,
                now,
            )];
            append_in_tx!(tx, backend, &events)?;
            tx.commit().await?;
            return Ok(Err(NotCreated::NotAllowed));
        };
        let row: Row = sqlx::query_as(
            "INSERT INTO api_tokens (id, user_id, label, token_hash, created_at, expires_at, created_by) \
             VALUES ($1, $2, $3, $4, $5, $6, $7) RETURNING id, user_id, label, created_at, expires_at, last_used_at, \
             revoked_at, revoked_by, created_by, TRUE AS user_active",
        )
        .bind(id)
        .bind(user.0)
        .bind(label)
        .bind(token_hash(&secret))
        .bind(DbTime(now))
        .bind(DbTime(expires_at))
        .bind(&stored_by)
        .fetch_one(&mut *tx)
        .await?;
        let events = [event(
            created_by,
            decision.role,
            decision.organisation,
            action,
            id,
            user.0,
            permit,
            now,
        )];
        append_in_tx!(tx, backend, &events)?;
        tx.commit().await?;
        Ok::<_, sqlx::Error>(Ok(row))
    }
    .await)?;
    Ok(row.map(|r| (ApiToken::from(r), secret)))
}

/// A live token and the account calls with it act as, as [`holder`] finds them.
#[derive(Debug, Clone)]
pub struct Holder {
    pub token: Found,
    pub user: crate::users::User,
    expires_at: OffsetDateTime,
    last_used_at: Option<OffsetDateTime>,
}

/// The live token with this secret — not revoked, not expired, its user's account open — or `None` for anything
/// else (including text that is not a token).
pub async fn find(db: &Db, secret: &str, now: OffsetDateTime) -> Result<Option<Found>> {
    Ok(holder(db, secret, now).await?.map(|h| h.token))
}

/// Like [`find`], with the holder's account. Kept in memory between calls while no token or account changes
/// ([`crate::cache`]), so a call usually costs one read; marks the token used at most once a minute.
pub async fn holder(db: &Db, secret: &str, now: OffsetDateTime) -> Result<Option<Holder>> {
    if !well_formed(secret) {
        return Ok(None);
    }
    let hash = token_hash(secret);
    let epoch = crate::cache::epoch(db).await?;
    let kept = db.cache().tokens.get(&hash, epoch);
    let mut holder = match kept {
        Some(kept) => kept,
        None => {
            let row: Option<(Uuid, Uuid, DbTime, Option<DbTime>)> = on_db!(db, read, |p| sqlx::query_as(
                "SELECT id, user_id, expires_at, last_used_at FROM api_tokens \
                 WHERE token_hash = $1 AND revoked_at IS NULL"
            )
            .bind(&hash)
            .fetch_optional(p)
            .await)?;
            let Some((id, user, expires_at, last_used_at)) = row else {
                return Ok(None);
            };
            let Some(user) = crate::users::get(db, UserId(user)).await? else {
                return Ok(None);
            };
            let holder = Holder {
                token: Found { id, user: user.id },
                user,
                expires_at: expires_at.0,
                last_used_at: last_used_at.map(|t| t.0),
            };
            db.cache().tokens.put(hash.clone(), epoch, holder.clone());
            holder
        }
    };
    if holder.expires_at <= now || !holder.user.active {
        return Ok(None);
    }
    if holder.last_used_at.is_none_or(|t| now - t >= TOUCH_EVERY) {
        on_db!(db, write, |p| sqlx::query(
            "UPDATE api_tokens SET last_used_at = $2 WHERE id = $1 AND (last_used_at IS NULL OR last_used_at <= $3)"
        )
        .bind(holder.token.id)
        .bind(DbTime(now))
        .bind(DbTime(now - TOUCH_EVERY))
        .execute(p)
        .await
        .map(|_| ()))?;
        holder.last_used_at = Some(now);
        db.cache().tokens.put(hash, epoch, holder.clone());
    }
    Ok(Some(holder))
}

/// One token, whatever its status.
pub async fn get(db: &Db, id: Uuid) -> Result<Option<ApiToken>> {
    let sql = format!("SELECT {COLUMNS} FROM api_tokens t JOIN users u ON u.id = t.user_id WHERE t.id = $1");
    let row: Option<Row> = on_db!(db, read, |p| sqlx::query_as(sqlx::AssertSqlSafe(sql.clone()))
        .bind(id)
        .fetch_optional(p)
        .await)?;
    Ok(row.map(ApiToken::from))
}

/// The user's tokens, newest first, whatever their status.
pub async fn list_for_user(db: &Db, user: UserId) -> Result<Vec<ApiToken>> {
    let sql = format!(
        "SELECT {COLUMNS} FROM api_tokens t JOIN users u ON u.id = t.user_id WHERE t.user_id = $1 \
         ORDER BY t.created_at DESC, t.id DESC"
    );
    let rows: Vec<Row> = on_db!(db, read, |p| sqlx::query_as(sqlx::AssertSqlSafe(sql.clone()))
        .bind(user.0)
        .fetch_all(p)
        .await)?;
    Ok(rows.into_iter().map(ApiToken::from).collect())
}

/// The tokens of the organisation's users, newest first, with whose each is.
pub async fn list_for_organisation(db: &Db, organisation: OrganisationId) -> Result<Vec<OrganisationToken>> {
    let sql = format!(
        "SELECT {COLUMNS}, u.display_name AS user_name, u.email AS user_email \
         FROM api_tokens t JOIN users u ON u.id = t.user_id WHERE u.organisation_id = $1 \
         ORDER BY t.created_at DESC, t.id DESC"
    );
    let rows: Vec<OrgRow> = on_db!(db, read, |p| sqlx::query_as(sqlx::AssertSqlSafe(sql.clone()))
        .bind(organisation.0)
        .fetch_all(p)
        .await)?;
    Ok(rows
        .into_iter()
        .map(|r| OrganisationToken {
            token: r.token.into(),
            user_name: r.user_name,
            user_email: r.user_email,
        })
        .collect())
}

/// Revokes token `id` at once. Allowed for the operator, the token's own user, and an active admin of the token
/// user's organisation; anyone else is told [`Revoked::NotFound`], as for a token that does not exist, and the
/// refusal is audited. Revoking is audited (`revoke-api-token`) in the same transaction.
pub async fn revoke(db: &Db, id: Uuid, by: By, now: OffsetDateTime) -> Result<Revoked> {
    let backend = db.backend();
    let outcome = on_db!(db, write, |p| async {
        let mut tx = p.begin().await?;
        let token: Option<(Uuid, Option<Uuid>)> = sqlx::query_as(
            "SELECT t.user_id, u.organisation_id FROM api_tokens t JOIN users u ON u.id = t.user_id WHERE t.id = $1",
        )
        .bind(id)
        .fetch_optional(&mut *tx)
        .await?;
        let Some((owner, owner_org)) = token else {
            return Ok(Revoked::NotFound);
        };
        let decision = decide!(tx, by, owner, owner_org)?;
        let action = "revoke-api-token";
        let Some(permit) = decision.permit else {
            let outcome = "deny:not-allowed";
            let events = [event(
                by,
                decision.role,
                decision.organisation,
                action,
                id,
                owner,
                outcome,
                now,
            )];
            append_in_tx!(tx, backend, &events)?;
            tx.commit().await?;
            return Ok(Revoked::NotFound);
        };
        let revoked_by = match by {
            By::CommandLine => None,
            By::User(u) => Some(u.0),
        };
        let changed =
            sqlx::query("UPDATE api_tokens SET revoked_at = $2, revoked_by = $3 WHERE id = $1 AND revoked_at IS NULL")
                .bind(id)
                .bind(DbTime(now))
                .bind(revoked_by)
                .execute(&mut *tx)
                .await?
                .rows_affected();
        if changed == 0 {
            return Ok(Revoked::Already);
        }
        let events = [event(
            by,
            decision.role,
            decision.organisation,
            action,
            id,
            owner,
            permit,
            now,
        )];
        append_in_tx!(tx, backend, &events)?;
        tx.commit().await?;
        Ok::<_, sqlx::Error>(Revoked::Done)
    }
    .await)?;
    Ok(outcome)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn secrets_have_the_documented_shape() {
        let a = new_secret().unwrap();
        let b = new_secret().unwrap();
        assert_ne!(a, b);
        assert_eq!(a.len(), 4 + 43);
        assert!(a.starts_with("cpt_"));
        assert!(well_formed(&a));
        assert!(!well_formed(&a[1..]));
        assert!(!well_formed(&format!("{a}x")));
        assert!(!well_formed(&a.replace("cpt_", "cpx_")));
        assert!(!well_formed(&format!("cpt_{}", "=".repeat(43))));
        assert!(!well_formed(""));
    }

    #[test]
    fn labels_are_short_plain_text() {
        assert!(label_ok("Practice integration"));
        assert!(!label_ok(""));
        assert!(!label_ok(&"x".repeat(101)));
        assert!(!label_ok("two\nlines"));
    }
}
