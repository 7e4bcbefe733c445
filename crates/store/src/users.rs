//! Users: anyone who signs in. Roles say what they may do; staff belong to an organisation.
//!
//! A user made by an invitation has no password until they accept it, so cannot sign in before then.

use carepact_domain::identity::{Email, OrganisationId, Role, UserId};
use time::OffsetDateTime;
use uuid::Uuid;

use crate::{Db, DbTime, Result, StoreError, on_db};

#[derive(Debug, Clone, PartialEq, Eq)]
pub struct User {
    pub id: UserId,
    pub email: String,
    pub display_name: String,
    pub roles: Vec<Role>,
    pub organisation_id: Option<OrganisationId>,
    pub language: Option<String>,
    pub active: bool,
    /// False until an invited user sets a password.
    pub has_password: bool,
}

impl User {
    pub fn has_role(&self, role: Role) -> bool {
        self.roles.contains(&role)
    }
}

/// What sign-in needs: the stored hash, and whether the account may sign in at all.
#[derive(Debug, Clone)]
pub struct Credentials {
    pub user_id: UserId,
    pub password_hash: Option<String>,
    pub active: bool,
}

#[derive(Debug, Clone)]
pub struct NewUser<'a> {
    pub email: &'a Email,
    pub display_name: &'a str,
    pub roles: &'a [Role],
    pub organisation_id: Option<OrganisationId>,
    pub password_hash: Option<&'a str>,
}

#[derive(sqlx::FromRow)]
struct Row {
    id: Uuid,
    email: String,
    display_name: String,
    roles: String,
    organisation_id: Option<Uuid>,
    language: Option<String>,
    active: bool,
    has_password: bool,
}

macro_rules! select {
    ($rest:literal) => {
        concat!(
            "SELECT id, email, display_name, roles, organisation_id, language, active, \
             password_hash IS NOT NULL AS has_password FROM users ",
            $rest
        )
    };
}

impl TryFrom<Row> for User {
    type Error = StoreError;
    fn try_from(r: Row) -> Result<Self> {
        Ok(Self {
            id: UserId(r.id),
            email: r.email,
            display_name: r.display_name,
            roles: decode_roles(&r.roles)?,
            organisation_id: r.organisation_id.map(OrganisationId),
            language: r.language,
            active: r.active,
            has_password: r.has_password,
        })
    }
}

pub(crate) fn encode_roles(roles: &[Role]) -> String {
    let mut codes: Vec<&str> = roles.iter().map(|r| r.code()).collect();
    codes.sort_unstable();
    codes.dedup();
    codes.join(" ")
}

fn decode_roles(s: &str) -> Result<Vec<Role>> {
    let mut roles = s
        .split_whitespace()
        .map(|c| Role::from_code(c).ok_or_else(|| StoreError::Corrupt(format!("role {c}"))))
        .collect::<Result<Vec<_>>>()?;
    roles.sort();
    Ok(roles)
}

/// Inserts a user inside an open transaction or on a pool; shared by [`create`] and the composite writes in
/// `people` and `tokens`.
macro_rules! insert_user {
    ($exec:expr, $id:expr, $new:expr, $now:expr) => {
        sqlx::query(
            "INSERT INTO users (id, email, display_name, roles, organisation_id, password_hash, active, created_at, updated_at) \
             VALUES ($1, $2, $3, $4, $5, $6, TRUE, $7, $7)",
        )
        .bind($id.0)
        .bind($new.email.as_str())
        .bind($new.display_name)
        .bind($crate::users::encode_roles($new.roles))
        .bind($new.organisation_id.map(|o: carepact_domain::identity::OrganisationId| o.0))
        .bind($new.password_hash)
        .bind($crate::DbTime($now))
        .execute($exec)
        .await
        .map(|_| ())
        .map_err($crate::StoreError::conflict_on("email address"))
    };
}
pub(crate) use insert_user;

pub async fn create(db: &Db, new: &NewUser<'_>, now: OffsetDateTime) -> Result<UserId> {
    let id = UserId::new();
    on_db!(db, write, |p| insert_user!(p, id, new, now))?;
    Ok(id)
}

pub async fn get(db: &Db, id: UserId) -> Result<Option<User>> {
    let row: Option<Row> = on_db!(db, read, |p| sqlx::query_as(select!("WHERE id = $1"))
        .bind(id.0)
        .fetch_optional(p)
        .await)?;
    row.map(User::try_from).transpose()
}

pub async fn find_by_email(db: &Db, email: &Email) -> Result<Option<User>> {
    let row: Option<Row> = on_db!(db, read, |p| sqlx::query_as(select!("WHERE email = $1"))
        .bind(email.as_str())
        .fetch_optional(p)
        .await)?;
    row.map(User::try_from).transpose()
}

pub async fn credentials(db: &Db, email: &Email) -> Result<Option<Credentials>> {
    let row: Option<(Uuid, Option<String>, bool)> = on_db!(db, read, |p| sqlx::query_as(
        "SELECT id, password_hash, active FROM users WHERE email = $1"
    )
    .bind(email.as_str())
    .fetch_optional(p)
    .await)?;
    Ok(row.map(|(id, password_hash, active)| Credentials {
        user_id: UserId(id),
        password_hash,
        active,
    }))
}

pub async fn set_password(db: &Db, id: UserId, hash: &str, now: OffsetDateTime) -> Result<()> {
    on_db!(db, write, |p| sqlx::query(
        "UPDATE users SET password_hash = $2, updated_at = $3 WHERE id = $1"
    )
    .bind(id.0)
    .bind(hash)
    .bind(DbTime(now))
    .execute(p)
    .await
    .map(|_| ()))?;
    Ok(())
}

pub async fn set_language(db: &Db, id: UserId, language: Option<&str>, now: OffsetDateTime) -> Result<()> {
    on_db!(db, write, |p| sqlx::query(
        "UPDATE users SET language = $2, updated_at = $3 WHERE id = $1"
    )
    .bind(id.0)
    .bind(language)
    .bind(DbTime(now))
    .execute(p)
    .await
    .map(|_| ()))?;
    Ok(())
}

/// Staff of one organisation, by name.
pub async fn list_staff(db: &Db, organisation: OrganisationId) -> Result<Vec<User>> {
    let rows: Vec<Row> = on_db!(db, read, |p| sqlx::query_as(select!(
        "WHERE organisation_id = $1 ORDER BY lower(display_name)"
    ))
    .bind(organisation.0)
    .fetch_all(p)
    .await)?;
    rows.into_iter().map(User::try_from).collect()
}

pub async fn count(db: &Db) -> Result<i64> {
    Ok(on_db!(db, read, |p| sqlx::query_scalar("SELECT COUNT(*) FROM users")
        .fetch_one(p)
        .await)?)
}

/// Links an external OpenID Connect subject (NHS login, CIS2) to an existing user.
pub async fn link_external_identity(
    db: &Db,
    user: UserId,
    issuer: &str,
    subject: &str,
    now: OffsetDateTime,
) -> Result<()> {
    on_db!(db, write, |p| sqlx::query(
        "INSERT INTO external_identities (id, user_id, issuer, subject, created_at) VALUES ($1, $2, $3, $4, $5)"
    )
    .bind(Uuid::now_v7())
    .bind(user.0)
    .bind(issuer)
    .bind(subject)
    .bind(DbTime(now))
    .execute(p)
    .await
    .map(|_| ()))
    .map_err(StoreError::conflict_on("external identity"))?;
    Ok(())
}

/// The user an external subject is linked to, if any.
pub async fn find_by_external_identity(db: &Db, issuer: &str, subject: &str) -> Result<Option<UserId>> {
    let id: Option<Uuid> = on_db!(db, read, |p| sqlx::query_scalar(
        "SELECT user_id FROM external_identities WHERE issuer = $1 AND subject = $2"
    )
    .bind(issuer)
    .bind(subject)
    .fetch_optional(p)
    .await)?;
    Ok(id.map(UserId))
}
