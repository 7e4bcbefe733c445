//! SMART on FHIR authorization (App Launch 2.0, standalone patient launch): apps registered by the system admin,
//! the person's connections to them, one-time authorization codes, and the access and refresh tokens apps use.
//!
//! - Codes, tokens and client secrets are random (256 bits) and stored as their SHA-256 only.
//! - A code lasts 60 seconds, is bound to its app, redirect address and PKCE S256 challenge, and is used up by the
//!   first attempt to exchange it, right or wrong. Presenting it again revokes the tokens it gave.
//! - Access tokens last an hour. Refresh tokens come only with `offline_access`, last 90 days and are replaced at
//!   each use; presenting a replaced one again (a sign it was stolen) revokes every token descended from the same
//!   code (its family).
//! - Connecting (allowing an app) needs the person's own write [`Grant`] from the choke point, or a carer's grant
//!   resting on the person's consent to them as their carer, and is recorded in the person's audit log in the same
//!   transaction, as is disconnecting, which revokes everything the app holds at once. A connection is (app,
//!   person, user who connected it): a carer's connection is separate from the person's own to the same app. The
//!   person sees and can disconnect every connection to their record; a carer sees and can disconnect their own.
//! - Every token lookup checks the token, its connection, the app and the user's account, so revocation,
//!   disconnection, an app switched off or an account closed take effect on the next request.

use std::collections::HashMap;

use carepact_domain::audit::Event;
use carepact_domain::consent::{Action, Basis};
use carepact_domain::identity::{PersonId, UserId};
use carepact_domain::smart::{ACCESS_LIFETIME, CODE_LIFETIME, REFRESH_LIFETIME, Scope, parse_scopes, token_hash};
use time::{Duration, OffsetDateTime};
use uuid::Uuid;

use crate::access::{Denied, Grant};
use crate::audit::append_in_tx;
use crate::{Backend, Db, DbTime, Result, StoreError, on_db};

/// How often a connection's "last used" time is written back when its tokens are used.
const TOUCH_EVERY: Duration = Duration::minutes(1);

/// `n` random bytes as lowercase hex.
fn random_hex(n: usize) -> Result<String> {
    let mut bytes = vec![0u8; n];
    getrandom::fill(&mut bytes).map_err(|e| StoreError::Corrupt(format!("random number generator failed: {e}")))?;
    Ok(bytes.iter().map(|b| format!("{b:02x}")).collect())
}

/// A new code or token: 32 random bytes as 64 hex characters.
fn new_token() -> Result<String> {
    random_hex(32)
}

/// True when `token` has the shape of the codes and tokens issued here, so junk never reaches the database.
fn well_formed(token: &str) -> bool {
    token.len() == 64 && token.bytes().all(|b| b.is_ascii_digit() || (b'a'..=b'f').contains(&b))
}

fn constant_time_eq(a: &[u8], b: &[u8]) -> bool {
    a.len() == b.len() && a.iter().zip(b).fold(0u8, |acc, (x, y)| acc | (x ^ y)) == 0
}

fn words(text: &str) -> Vec<String> {
    text.split_ascii_whitespace().map(str::to_owned).collect()
}

/// Whether an app can keep a secret.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum ClientKind {
    /// An app on a phone or in a browser: no secret, PKCE alone.
    Public,
    /// An app with a server that keeps a secret, sent with HTTP Basic.
    Confidential,
}

impl ClientKind {
    pub fn code(self) -> &'static str {
        match self {
            Self::Public => "public",
            Self::Confidential => "confidential",
        }
    }

    pub fn from_code(code: &str) -> Option<Self> {
        [Self::Public, Self::Confidential]
            .into_iter()
            .find(|k| k.code() == code)
    }
}

/// An app to register.
#[derive(Debug, Clone)]
pub struct NewClient<'a> {
    pub name: &'a str,
    /// Exact addresses, already checked (`carepact_domain::smart::redirect_uri`).
    pub redirect_uris: &'a [String],
    pub kind: ClientKind,
    /// The most it may be granted, already checked (`carepact_domain::smart::registrable`).
    pub scopes: &'a [String],
    /// The system admin registering it.
    pub created_by: Option<UserId>,
}

/// A registered app.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Client {
    /// The app's id in CarePact (audit entries name it).
    pub id: Uuid,
    pub client_id: String,
    pub name: String,
    pub redirect_uris: Vec<String>,
    pub kind: ClientKind,
    pub scopes: Vec<String>,
    pub created_at: DbTime,
    pub active: bool,
}

impl Client {
    /// The scopes it may be granted.
    pub fn allowed(&self) -> Vec<Scope> {
        parse_scopes(&self.scopes.join(" ")).0
    }

    /// True when `uri` is exactly one of its registered addresses.
    pub fn redirects_to(&self, uri: &str) -> bool {
        self.redirect_uris.iter().any(|r| r == uri)
    }
}

type ClientRow = (
    Uuid,
    String,
    String,
    String,
    String,
    Option<Vec<u8>>,
    String,
    DbTime,
    bool,
);

const CLIENT_COLUMNS: &str =
    "id, client_id, name, redirect_uris, kind, secret_hash, allowed_scopes, created_at, active FROM smart_clients";

fn client_from(row: ClientRow) -> Result<(Client, Option<Vec<u8>>)> {
    let (id, client_id, name, redirects, kind, secret_hash, scopes, created_at, active) = row;
    let kind = ClientKind::from_code(&kind).ok_or_else(|| StoreError::Corrupt(format!("app kind {kind:?}")))?;
    Ok((
        Client {
            id,
            client_id,
            name,
            redirect_uris: redirects.lines().map(str::to_owned).filter(|l| !l.is_empty()).collect(),
            kind,
            scopes: words(&scopes),
            created_at,
            active,
        },
        secret_hash,
    ))
}

/// An audit event on the system chain (about no person) for the system admin's work on apps.
fn admin_event(actor: Option<UserId>, action: &str, app: Uuid, now: OffsetDateTime) -> Event {
    Event {
        id: Uuid::now_v7(),
        occurred_at: now,
        actor: actor.map(|u| u.0),
        actor_role: "system_admin".into(),
        organisation: None,
        on_behalf_of: None,
        person: None,
        action: action.into(),
        section: None,
        entity: format!("smart-app:{app}"),
        purpose: "operations".into(),
        outcome: "permit:system-admin".into(),
    }
}

/// An event in the person's own log: they (or their carer, with the consent the carer acts under) connected
/// (`grant`) or disconnected (`revoke`) an app.
fn person_event(grant: &Grant, action: &str, app: Uuid, now: OffsetDateTime) -> Event {
    let (role, purpose, outcome) = match grant.basis() {
        Basis::Consent(id) => ("carer", "direct-care", format!("permit:consent:{id}")),
        _ => ("person", "person-choice", "permit:owner".to_owned()),
    };
    Event {
        id: Uuid::now_v7(),
        occurred_at: now,
        actor: grant.actor().map(|u| u.0),
        actor_role: role.into(),
        organisation: None,
        on_behalf_of: None,
        person: Some(grant.person().0),
        action: action.into(),
        section: None,
        entity: format!("smart-app:{app}"),
        purpose: purpose.into(),
        outcome,
    }
}

/// The outcome recorded when a carer disconnects an app they connected: taking access away needs no consent.
const OWN_CONNECTION: &str = "permit:own-connection";

/// True when `grant` rests on the person's consent to its actor as their carer, in force at `now`: what lets a
/// carer connect an app to the person's record. Grants on any other basis (the person's own, a professional's
/// consent, emergency access) are `false`.
pub async fn acts_as_carer(db: &Db, grant: &Grant, now: OffsetDateTime) -> Result<bool> {
    let (Basis::Consent(consent), Some(actor)) = (grant.basis(), grant.actor()) else {
        return Ok(false);
    };
    let found: Option<Uuid> = on_db!(db, read, |p| sqlx::query_scalar(CARER_CONSENT)
        .bind(consent)
        .bind(grant.person().0)
        .bind(actor.0)
        .bind(DbTime(now))
        .fetch_optional(p)
        .await)?;
    Ok(found.is_some())
}

/// The consent (`$1`) is the person's (`$2`) to the user (`$3`) as their carer, in force at `$4`.
const CARER_CONSENT: &str = "SELECT id FROM consents WHERE id = $1 AND person_id = $2 AND grantee_kind = 'carer' \
                             AND grantee_user_id = $3 AND revoked_at IS NULL AND starts_at <= $4 \
                             AND (ends_at IS NULL OR ends_at > $4)";

/// Registers an app; returns its client_id, and for a confidential app its secret (shown once: only its hash is
/// kept). The registration is audited on the system chain in the same transaction.
pub async fn register_client(db: &Db, c: &NewClient<'_>, now: OffsetDateTime) -> Result<(String, Option<String>)> {
    let id = Uuid::now_v7();
    let client_id = random_hex(16)?;
    let secret = match c.kind {
        ClientKind::Confidential => Some(new_token()?),
        ClientKind::Public => None,
    };
    let events = [admin_event(c.created_by, "register-app", id, now)];
    let backend = db.backend();
    on_db!(db, write, |p| async {
        let mut tx = p.begin().await?;
        sqlx::query(
            "INSERT INTO smart_clients (id, client_id, name, redirect_uris, kind, secret_hash, allowed_scopes, \
             created_by, created_at, active) VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9, $10)",
        )
        .bind(id)
        .bind(&client_id)
        .bind(c.name)
        .bind(c.redirect_uris.join("\n"))
        .bind(c.kind.code())
        .bind(secret.as_deref().map(token_hash))
        .bind(c.scopes.join(" "))
        .bind(c.created_by.map(|u| u.0))
        .bind(DbTime(now))
        .bind(true)
        .execute(&mut *tx)
        .await?;
        append_in_tx!(tx, backend, &events)?;
        tx.commit().await
    }
    .await)?;
    Ok((client_id, secret))
}

/// Every registered app, newest first.
pub async fn clients(db: &Db) -> Result<Vec<Client>> {
    let sql = client_sql("ORDER BY created_at DESC");
    let rows: Vec<ClientRow> = on_db!(db, read, |p| sqlx::query_as(sqlx::AssertSqlSafe(sql.clone()))
        .fetch_all(p)
        .await)?;
    rows.into_iter().map(|r| client_from(r).map(|(c, _)| c)).collect()
}

fn client_sql(tail: &str) -> String {
    format!("SELECT {CLIENT_COLUMNS} {tail}")
}

async fn client_row(db: &Db, client_id: &str) -> Result<Option<(Client, Option<Vec<u8>>)>> {
    let sql = client_sql("WHERE client_id = $1");
    let row: Option<ClientRow> = on_db!(db, read, |p| sqlx::query_as(sqlx::AssertSqlSafe(sql.clone()))
        .bind(client_id)
        .fetch_optional(p)
        .await)?;
    row.map(client_from).transpose()
}

/// The app with this client_id, switched on or not.
pub async fn client(db: &Db, client_id: &str) -> Result<Option<Client>> {
    Ok(client_row(db, client_id).await?.map(|(c, _)| c))
}

/// The active app that `client_id` (and `secret`) authenticate: a public app sends no secret, a confidential app
/// must send its own. `None` otherwise.
pub async fn authenticate(db: &Db, client_id: &str, secret: Option<&str>) -> Result<Option<Client>> {
    let Some((client, stored)) = client_row(db, client_id).await? else {
        return Ok(None);
    };
    let ok = client.active
        && match (client.kind, secret, stored) {
            (ClientKind::Public, None, _) => true,
            (ClientKind::Confidential, Some(secret), Some(stored)) => constant_time_eq(&token_hash(secret), &stored),
            _ => false,
        };
    Ok(ok.then_some(client))
}

/// Switches an app off (or on again). Off, none of its tokens work and it cannot be connected; nothing is deleted.
/// Audited on the system chain. `false` when there is no such app.
pub async fn set_active(
    db: &Db,
    client_id: &str,
    active: bool,
    by: Option<UserId>,
    now: OffsetDateTime,
) -> Result<bool> {
    let backend = db.backend();
    let action = if active { "enable-app" } else { "disable-app" };
    let changed = on_db!(db, write, |p| async {
        let mut tx = p.begin().await?;
        let id: Option<Uuid> =
            sqlx::query_scalar("UPDATE smart_clients SET active = $2 WHERE client_id = $1 RETURNING id")
                .bind(client_id)
                .bind(active)
                .fetch_optional(&mut *tx)
                .await?;
        if let Some(id) = id {
            let events = [admin_event(by, action, id, now)];
            append_in_tx!(tx, backend, &events)?;
        }
        tx.commit().await?;
        Ok::<_, sqlx::Error>(id.is_some())
    }
    .await)?;
    Ok(changed)
}

/// The names of apps by their ids (for the person's access log). Unknown ids are left out.
pub async fn app_names(db: &Db, ids: &[Uuid]) -> Result<HashMap<Uuid, String>> {
    let mut out = HashMap::new();
    for id in ids {
        if out.contains_key(id) {
            continue;
        }
        let name: Option<String> = on_db!(db, read, |p| sqlx::query_scalar(
            "SELECT name FROM smart_clients WHERE id = $1"
        )
        .bind(id)
        .fetch_optional(p)
        .await)?;
        if let Some(name) = name {
            out.insert(*id, name);
        }
    }
    Ok(out)
}

/// What the person allowed, to turn into a code.
#[derive(Debug, Clone)]
pub struct NewAuthorization<'a> {
    pub client_id: &'a str,
    /// The scopes granted (`carepact_domain::smart::grantable`), as text.
    pub scopes: &'a [String],
    /// Exactly as the app sent it (and as registered).
    pub redirect_uri: &'a str,
    /// The PKCE S256 challenge the app sent.
    pub code_challenge: &'a str,
}

/// Tokens handed to an app.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Issued {
    pub access_token: String,
    /// Seconds until the access token expires.
    pub expires_in: i64,
    /// With `offline_access` only.
    pub refresh_token: Option<String>,
    pub scopes: Vec<String>,
    /// The user who connected the app (the OpenID Connect `sub`).
    pub user: UserId,
    /// The person the tokens are for (the SMART `patient` launch context).
    pub person: PersonId,
}

/// Why the token endpoint refuses a grant, as RFC 6749 §5.2 names it.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum GrantError {
    /// The code or refresh token is unknown, expired, used, revoked, for another app or redirect address, or the
    /// PKCE verifier does not match.
    InvalidGrant,
    /// A refresh asked for scopes beyond those first granted.
    InvalidScope,
}

impl GrantError {
    pub fn code(self) -> &'static str {
        match self {
            Self::InvalidGrant => "invalid_grant",
            Self::InvalidScope => "invalid_scope",
        }
    }
}

/// A live access token, for the FHIR API.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct AccessToken {
    pub user: UserId,
    pub person: PersonId,
    pub client_id: String,
    pub client_name: String,
    pub scopes: Vec<String>,
    pub expires_at: DbTime,
}

/// The connection's tokens, codes and app are still live: something the app holds still works.
const LIVE: &str = "(EXISTS (SELECT 1 FROM smart_tokens t WHERE t.connection_id = c.id AND t.revoked_at IS NULL \
                    AND t.used_at IS NULL AND t.expires_at > $2) \
                    OR EXISTS (SELECT 1 FROM smart_authorizations a WHERE a.connection_id = c.id \
                    AND a.used_at IS NULL AND a.expires_at > $2))";

fn for_update(backend: Backend, sqlite: &'static str, postgres: &'static str) -> &'static str {
    match backend {
        Backend::Sqlite => sqlite,
        Backend::Postgres => postgres,
    }
}

/// The person allows an app — or their carer does, for them: records the connection of this app, person and user
/// (or widens a live one to include the new scopes) and a one-time code for it, with "connected" in the person's
/// audit log, in one transaction. Only the person, with a write grant over their own data, or a carer whose grant
/// rests on the person's live consent to them as their carer (checked again here), may; the app must be active
/// (checked by the caller, and again here).
pub async fn approve(
    db: &Db,
    grant: &Grant,
    a: &NewAuthorization<'_>,
    now: OffsetDateTime,
) -> Result<std::result::Result<String, Denied>> {
    let Some(user) = grant.actor() else {
        return Ok(Err(Denied));
    };
    let carer_consent = match grant.basis() {
        Basis::Owner if grant.action() == Action::Write => None,
        Basis::Consent(id) => Some(id),
        _ => return Ok(Err(Denied)),
    };
    let person = grant.person();
    let code = new_token()?;
    let backend = db.backend();
    let live_sql = format!(
        "SELECT c.id, c.scopes, {LIVE} FROM smart_connections c \
         WHERE c.client_id = $1 AND c.person_id = $3 AND c.user_id = $4 AND c.disconnected_at IS NULL{}",
        if backend == Backend::Postgres {
            " FOR UPDATE"
        } else {
            ""
        }
    );
    on_db!(db, write, |p| async {
        let mut tx = p.begin().await?;
        if let Some(consent) = carer_consent {
            let carer: Option<Uuid> = sqlx::query_scalar(CARER_CONSENT)
                .bind(consent)
                .bind(person.0)
                .bind(user.0)
                .bind(DbTime(now))
                .fetch_optional(&mut *tx)
                .await?;
            if carer.is_none() {
                return Ok(Err(Denied));
            }
        }
        let app: Uuid = sqlx::query_scalar("SELECT id FROM smart_clients WHERE client_id = $1 AND active")
            .bind(a.client_id)
            .fetch_one(&mut *tx)
            .await?;
        let found: Option<(Uuid, String, bool)> = sqlx::query_as(sqlx::AssertSqlSafe(live_sql.clone()))
            .bind(a.client_id)
            .bind(DbTime(now))
            .bind(person.0)
            .bind(user.0)
            .fetch_optional(&mut *tx)
            .await?;
        let connection = match found {
            Some((id, scopes, true)) => {
                // Still connected: what it may do is everything allowed while connected.
                let mut all = words(&scopes);
                for s in a.scopes {
                    if !all.contains(s) {
                        all.push(s.clone());
                    }
                }
                sqlx::query("UPDATE smart_connections SET scopes = $2 WHERE id = $1")
                    .bind(id)
                    .bind(all.join(" "))
                    .execute(&mut *tx)
                    .await?;
                id
            }
            dormant => {
                if let Some((old, _, _)) = dormant {
                    // Everything it held has run out: that connection ended then; this is a new one.
                    sqlx::query("UPDATE smart_connections SET disconnected_at = $2 WHERE id = $1")
                        .bind(old)
                        .bind(DbTime(now))
                        .execute(&mut *tx)
                        .await?;
                }
                let id = Uuid::now_v7();
                sqlx::query(
                    "INSERT INTO smart_connections (id, client_id, person_id, user_id, scopes, connected_at) \
                     VALUES ($1, $2, $3, $4, $5, $6)",
                )
                .bind(id)
                .bind(a.client_id)
                .bind(person.0)
                .bind(user.0)
                .bind(a.scopes.join(" "))
                .bind(DbTime(now))
                .execute(&mut *tx)
                .await
                .map_err(StoreError::conflict_on("smart connection"))?;
                id
            }
        };
        sqlx::query(
            "INSERT INTO smart_authorizations (code_hash, connection_id, client_id, user_id, person_id, scopes, \
             redirect_uri, code_challenge, created_at, expires_at) VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9, $10)",
        )
        .bind(token_hash(&code))
        .bind(connection)
        .bind(a.client_id)
        .bind(user.0)
        .bind(person.0)
        .bind(a.scopes.join(" "))
        .bind(a.redirect_uri)
        .bind(a.code_challenge)
        .bind(DbTime(now))
        .bind(DbTime(now + CODE_LIFETIME))
        .execute(&mut *tx)
        .await?;
        let events = [person_event(grant, "grant", app, now)];
        append_in_tx!(tx, backend, &events)?;
        tx.commit().await?;
        Ok::<_, StoreError>(Ok(code))
    }
    .await)
}

/// New tokens, made before the transaction that stores them.
struct Fresh {
    access: String,
    refresh: Option<String>,
}

impl Fresh {
    fn new(offline: bool) -> Result<Self> {
        Ok(Self {
            access: new_token()?,
            refresh: if offline { Some(new_token()?) } else { None },
        })
    }

    fn issued(self, scopes: Vec<String>, user: UserId, person: PersonId) -> Issued {
        Issued {
            access_token: self.access,
            expires_in: ACCESS_LIFETIME.whole_seconds(),
            refresh_token: self.refresh,
            scopes,
            user,
            person,
        }
    }
}

fn offline(scopes: &[String]) -> bool {
    scopes.iter().any(|s| s == "offline_access")
}

/// Stores `fresh` tokens for one connection inside the open transaction `tx`, and marks the connection used.
macro_rules! store_tokens {
    ($tx:expr, $fresh:expr, $connection:expr, $client_id:expr, $user:expr, $person:expr, $scopes:expr, $family:expr, $now:expr) => {{
        async {
            let scopes: String = $scopes.join(" ");
            let mut rows = vec![("access", &$fresh.access, ACCESS_LIFETIME)];
            if let Some(refresh) = &$fresh.refresh {
                rows.push(("refresh", refresh, REFRESH_LIFETIME));
            }
            for (kind, token, lifetime) in rows {
                sqlx::query(
                    "INSERT INTO smart_tokens (id, token_hash, kind, connection_id, client_id, user_id, person_id, \
                     scopes, family_id, issued_at, expires_at) VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9, $10, $11)",
                )
                .bind(Uuid::now_v7())
                .bind(token_hash(token))
                .bind(kind)
                .bind($connection)
                .bind($client_id)
                .bind($user)
                .bind($person)
                .bind(&scopes)
                .bind($family)
                .bind(DbTime($now))
                .bind(DbTime($now + lifetime))
                .execute(&mut *$tx)
                .await?;
            }
            sqlx::query("UPDATE smart_connections SET last_used_at = $2 WHERE id = $1")
                .bind($connection)
                .bind(DbTime($now))
                .execute(&mut *$tx)
                .await?;
            Ok::<(), sqlx::Error>(())
        }
        .await
    }};
}

/// True when the connection is not disconnected, its app is active and its user's account is open.
macro_rules! connection_open {
    ($tx:expr, $connection:expr) => {
        sqlx::query_scalar::<_, bool>(
            "SELECT k.active AND u.active AND c.disconnected_at IS NULL FROM smart_connections c \
             JOIN smart_clients k ON k.client_id = c.client_id JOIN users u ON u.id = c.user_id WHERE c.id = $1",
        )
        .bind($connection)
        .fetch_optional(&mut *$tx)
        .await
        .map(|open| open.unwrap_or(false))
    };
}

/// Revokes every live token of a family.
macro_rules! revoke_family {
    ($tx:expr, $family:expr, $now:expr) => {
        sqlx::query("UPDATE smart_tokens SET revoked_at = $2 WHERE family_id = $1 AND revoked_at IS NULL")
            .bind($family)
            .bind(DbTime($now))
            .execute(&mut *$tx)
            .await
    };
}

type CodeRow = (Uuid, String, Uuid, Uuid, String, String, String, DbTime);

/// Exchanges a one-time code for tokens (the token endpoint's `authorization_code` grant). The code is used up by
/// this attempt whatever its outcome; presenting a used code again revokes the tokens it gave.
pub async fn exchange_code(
    db: &Db,
    client_id: &str,
    code: &str,
    redirect_uri: &str,
    code_verifier: &str,
    now: OffsetDateTime,
) -> Result<std::result::Result<Issued, GrantError>> {
    if !well_formed(code) {
        return Ok(Err(GrantError::InvalidGrant));
    }
    let hash = token_hash(code);
    // Made now, stored only if the code is good.
    let fresh_offline = Fresh::new(true)?;
    on_db!(db, write, |p| async {
        let mut tx = p.begin().await?;
        let row: Option<CodeRow> = sqlx::query_as(
            "UPDATE smart_authorizations SET used_at = $2 WHERE code_hash = $1 AND used_at IS NULL \
             RETURNING connection_id, client_id, user_id, person_id, scopes, redirect_uri, code_challenge, expires_at",
        )
        .bind(&hash)
        .bind(DbTime(now))
        .fetch_optional(&mut *tx)
        .await?;
        let Some((connection, owner, user, person, scopes, registered_redirect, challenge, expires_at)) = row else {
            // Unknown, or presented again: then whatever it gave is revoked (RFC 6749 §4.1.2).
            let family: Option<Option<Uuid>> = sqlx::query_scalar(
                "SELECT family_id FROM smart_authorizations WHERE code_hash = $1 AND client_id = $2",
            )
            .bind(&hash)
            .bind(client_id)
            .fetch_optional(&mut *tx)
            .await?;
            if let Some(Some(family)) = family {
                revoke_family!(tx, family, now)?;
            }
            tx.commit().await?;
            return Ok(Err(GrantError::InvalidGrant));
        };
        let good = owner == client_id
            && registered_redirect == redirect_uri
            && expires_at.0 > now
            && carepact_domain::smart::pkce_matches(code_verifier, &challenge)
            && connection_open!(tx, connection)?;
        if !good {
            tx.commit().await?;
            return Ok(Err(GrantError::InvalidGrant));
        }
        let scopes = words(&scopes);
        let fresh = if offline(&scopes) {
            fresh_offline
        } else {
            Fresh {
                access: fresh_offline.access,
                refresh: None,
            }
        };
        let family = Uuid::now_v7();
        sqlx::query("UPDATE smart_authorizations SET family_id = $2 WHERE code_hash = $1")
            .bind(&hash)
            .bind(family)
            .execute(&mut *tx)
            .await?;
        store_tokens!(tx, fresh, connection, client_id, user, person, scopes, family, now)?;
        tx.commit().await?;
        Ok::<_, StoreError>(Ok(fresh.issued(scopes, UserId(user), PersonId(person))))
    }
    .await)
}

type RefreshRow = (
    Uuid,
    Uuid,
    String,
    Uuid,
    Uuid,
    String,
    Uuid,
    DbTime,
    Option<DbTime>,
    Option<DbTime>,
);

/// Exchanges a refresh token for new tokens (the token endpoint's `refresh_token` grant), replacing it: the old
/// one stops working. Presenting a replaced refresh token again revokes its whole family. `scopes`, when given,
/// must be among those first granted, and narrow the new tokens.
pub async fn refresh(
    db: &Db,
    client_id: &str,
    refresh_token: &str,
    scopes: Option<&[String]>,
    now: OffsetDateTime,
) -> Result<std::result::Result<Issued, GrantError>> {
    if !well_formed(refresh_token) {
        return Ok(Err(GrantError::InvalidGrant));
    }
    let hash = token_hash(refresh_token);
    let fresh_offline = Fresh::new(true)?;
    let backend = db.backend();
    let select = for_update(
        backend,
        "SELECT id, connection_id, client_id, user_id, person_id, scopes, family_id, expires_at, used_at, revoked_at \
         FROM smart_tokens WHERE token_hash = $1 AND kind = 'refresh'",
        "SELECT id, connection_id, client_id, user_id, person_id, scopes, family_id, expires_at, used_at, revoked_at \
         FROM smart_tokens WHERE token_hash = $1 AND kind = 'refresh' FOR UPDATE",
    );
    on_db!(db, write, |p| async {
        let mut tx = p.begin().await?;
        let row: Option<RefreshRow> = sqlx::query_as(select).bind(&hash).fetch_optional(&mut *tx).await?;
        let Some((id, connection, owner, user, person, granted, family, expires_at, used_at, revoked_at)) = row else {
            return Ok(Err(GrantError::InvalidGrant));
        };
        if owner != client_id || revoked_at.is_some() {
            return Ok(Err(GrantError::InvalidGrant));
        }
        if used_at.is_some() {
            // Replaced already: someone else has a copy. Nothing from this family may work any more.
            revoke_family!(tx, family, now)?;
            tx.commit().await?;
            return Ok(Err(GrantError::InvalidGrant));
        }
        if expires_at.0 <= now || !connection_open!(tx, connection)? {
            return Ok(Err(GrantError::InvalidGrant));
        }
        let granted = words(&granted);
        let scopes = match scopes {
            Some(asked) if asked.iter().any(|s| !granted.contains(s)) => {
                return Ok(Err(GrantError::InvalidScope));
            }
            Some(asked) if !asked.is_empty() => asked.to_vec(),
            _ => granted,
        };
        let used = sqlx::query("UPDATE smart_tokens SET used_at = $2 WHERE id = $1 AND used_at IS NULL")
            .bind(id)
            .bind(DbTime(now))
            .execute(&mut *tx)
            .await?
            .rows_affected();
        if used != 1 {
            revoke_family!(tx, family, now)?;
            tx.commit().await?;
            return Ok(Err(GrantError::InvalidGrant));
        }
        let fresh = if offline(&scopes) {
            fresh_offline
        } else {
            Fresh {
                access: fresh_offline.access,
                refresh: None,
            }
        };
        store_tokens!(tx, fresh, connection, client_id, user, person, scopes, family, now)?;
        tx.commit().await?;
        Ok::<_, StoreError>(Ok(fresh.issued(scopes, UserId(user), PersonId(person))))
    }
    .await)
}

/// Issues tokens for an app and person directly — an access token, and a refresh token when `offline_access` is
/// among `scopes` — on the live connection of the app, person and user, starting one if there is none. The token endpoint
/// issues through [`exchange_code`] and [`refresh`]; this is for tests and tools. It records nothing in the
/// person's log (connecting is recorded by [`approve`]). Fails with `RowNotFound` when the app is not active.
pub async fn issue_tokens(
    db: &Db,
    client_id: &str,
    user: UserId,
    person: PersonId,
    scopes: &[String],
    now: OffsetDateTime,
) -> Result<Issued> {
    let fresh = Fresh::new(offline(scopes))?;
    let scopes = scopes.to_vec();
    on_db!(db, write, |p| async {
        let mut tx = p.begin().await?;
        sqlx::query_scalar::<_, Uuid>("SELECT id FROM smart_clients WHERE client_id = $1 AND active")
            .bind(client_id)
            .fetch_one(&mut *tx)
            .await?;
        let found: Option<Uuid> = sqlx::query_scalar(
            "SELECT id FROM smart_connections WHERE client_id = $1 AND person_id = $2 AND user_id = $3 \
             AND disconnected_at IS NULL",
        )
        .bind(client_id)
        .bind(person.0)
        .bind(user.0)
        .fetch_optional(&mut *tx)
        .await?;
        let connection = match found {
            Some(id) => id,
            None => {
                let id = Uuid::now_v7();
                sqlx::query(
                    "INSERT INTO smart_connections (id, client_id, person_id, user_id, scopes, connected_at) \
                     VALUES ($1, $2, $3, $4, $5, $6)",
                )
                .bind(id)
                .bind(client_id)
                .bind(person.0)
                .bind(user.0)
                .bind(scopes.join(" "))
                .bind(DbTime(now))
                .execute(&mut *tx)
                .await?;
                id
            }
        };
        store_tokens!(
            tx,
            fresh,
            connection,
            client_id,
            user.0,
            person.0,
            scopes,
            Uuid::now_v7(),
            now
        )?;
        tx.commit().await
    }
    .await)?;
    Ok(fresh.issued(scopes, user, person))
}

type AccessRow = (Uuid, Uuid, String, String, String, DbTime, Uuid, Option<DbTime>);

/// The token's grant if it is known, not expired and not revoked (looked up by its SHA-256 hash) — and its
/// connection not disconnected, its app active and its user's account open. Marks the connection as used (at most
/// once a minute).
pub async fn access_token(db: &Db, token: &str, now: OffsetDateTime) -> Result<Option<AccessToken>> {
    if !well_formed(token) {
        return Ok(None);
    }
    let row: Option<AccessRow> = on_db!(db, read, |p| sqlx::query_as(
        "SELECT t.user_id, t.person_id, t.client_id, k.name, t.scopes, t.expires_at, c.id, c.last_used_at \
         FROM smart_tokens t JOIN smart_connections c ON c.id = t.connection_id \
         JOIN smart_clients k ON k.client_id = t.client_id JOIN users u ON u.id = t.user_id \
         WHERE t.token_hash = $1 AND t.kind = 'access' AND t.revoked_at IS NULL AND t.expires_at > $2 \
         AND c.disconnected_at IS NULL AND k.active AND u.active"
    )
    .bind(token_hash(token))
    .bind(DbTime(now))
    .fetch_optional(p)
    .await)?;
    let Some((user, person, client_id, client_name, scopes, expires_at, connection, last_used)) = row else {
        return Ok(None);
    };
    if last_used.is_none_or(|t| now - t.0 >= TOUCH_EVERY) {
        on_db!(db, write, |p| {
            sqlx::query(
            "UPDATE smart_connections SET last_used_at = $2 WHERE id = $1 AND (last_used_at IS NULL OR last_used_at < $2)"
        )
        .bind(connection)
        .bind(DbTime(now))
        .execute(p)
        .await
        .map(|_| ())
        })?;
    }
    Ok(Some(AccessToken {
        user: UserId(user),
        person: PersonId(person),
        client_id,
        client_name,
        scopes: words(&scopes),
        expires_at,
    }))
}

/// Revokes a token on its app's request (RFC 7009): an access token alone; a refresh token with every token of its
/// family. A token that is unknown or another app's is left alone, and that is not an error.
pub async fn revoke_token(db: &Db, client_id: &str, token: &str, now: OffsetDateTime) -> Result<()> {
    if !well_formed(token) {
        return Ok(());
    }
    on_db!(db, write, |p| async {
        let mut tx = p.begin().await?;
        let row: Option<(Uuid, String, Uuid)> =
            sqlx::query_as("SELECT id, kind, family_id FROM smart_tokens WHERE token_hash = $1 AND client_id = $2")
                .bind(token_hash(token))
                .bind(client_id)
                .fetch_optional(&mut *tx)
                .await?;
        match row {
            Some((_, kind, family)) if kind == "refresh" => {
                revoke_family!(tx, family, now)?;
            }
            Some((id, _, _)) => {
                sqlx::query("UPDATE smart_tokens SET revoked_at = $2 WHERE id = $1 AND revoked_at IS NULL")
                    .bind(id)
                    .bind(DbTime(now))
                    .execute(&mut *tx)
                    .await?;
            }
            None => {}
        }
        tx.commit().await
    }
    .await)?;
    Ok(())
}

/// An app connected to the person's record.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Connection {
    pub id: Uuid,
    /// The app's id in CarePact.
    pub app: Uuid,
    pub client_id: String,
    pub name: String,
    /// Everything allowed it while connected.
    pub scopes: Vec<String>,
    pub connected_at: DbTime,
    pub last_used_at: Option<DbTime>,
    /// Who connected it, when it was not the person themself (their carer): their name.
    pub connected_by: Option<String>,
}

/// The apps connected to the person's record, by the person or by a carer they share with: connections not
/// disconnected, whose app is active and that still hold something that works (a live token, or a code not yet
/// exchanged). Newest first. Only the person may see them.
pub async fn connections(
    db: &Db,
    grant: &Grant,
    now: OffsetDateTime,
) -> Result<std::result::Result<Vec<Connection>, Denied>> {
    if !grant.is_owner() {
        return Ok(Err(Denied));
    }
    let sql = format!(
        "SELECT c.id, k.id, k.client_id, k.name, c.scopes, c.connected_at, c.last_used_at, c.user_id, u.display_name \
         FROM smart_connections c JOIN smart_clients k ON k.client_id = c.client_id \
         JOIN users u ON u.id = c.user_id \
         WHERE c.person_id = $1 AND c.disconnected_at IS NULL AND k.active AND {LIVE} \
         ORDER BY c.connected_at DESC"
    );
    type Row = (Uuid, Uuid, String, String, String, DbTime, Option<DbTime>, Uuid, String);
    let rows: Vec<Row> = on_db!(db, read, |p| sqlx::query_as(sqlx::AssertSqlSafe(sql.clone()))
        .bind(grant.person().0)
        .bind(DbTime(now))
        .fetch_all(p)
        .await)?;
    let me = grant.actor().map(|u| u.0);
    Ok(Ok(rows
        .into_iter()
        .map(
            |(id, app, client_id, name, scopes, connected_at, last_used_at, user, user_name)| Connection {
                id,
                app,
                client_id,
                name,
                scopes: words(&scopes),
                connected_at,
                last_used_at,
                connected_by: (Some(user) != me).then_some(user_name),
            },
        )
        .collect()))
}

/// An app a carer connected to the record of someone they care for. Only the person's id: their name is read
/// through the choke point, only while they share with the carer.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct CarerConnection {
    pub id: Uuid,
    pub app: Uuid,
    pub client_id: String,
    pub name: String,
    pub scopes: Vec<String>,
    pub person: PersonId,
    pub connected_at: DbTime,
    pub last_used_at: Option<DbTime>,
}

/// The apps `user` connected to other people's records (as their carer), live as in [`connections`]. Newest
/// first. These are the user's own doing, so no grant is needed to list them; nothing about the people is read.
pub async fn connections_made_by(db: &Db, user: UserId, now: OffsetDateTime) -> Result<Vec<CarerConnection>> {
    let sql = format!(
        "SELECT c.id, k.id, k.client_id, k.name, c.scopes, c.person_id, c.connected_at, c.last_used_at \
         FROM smart_connections c JOIN smart_clients k ON k.client_id = c.client_id \
         WHERE c.user_id = $1 AND c.disconnected_at IS NULL AND k.active AND {LIVE} \
         AND NOT EXISTS (SELECT 1 FROM people p WHERE p.id = c.person_id AND p.user_id = $1) \
         ORDER BY c.connected_at DESC"
    );
    type Row = (Uuid, Uuid, String, String, String, Uuid, DbTime, Option<DbTime>);
    let rows: Vec<Row> = on_db!(db, read, |p| sqlx::query_as(sqlx::AssertSqlSafe(sql.clone()))
        .bind(user.0)
        .bind(DbTime(now))
        .fetch_all(p)
        .await)?;
    Ok(rows
        .into_iter()
        .map(
            |(id, app, client_id, name, scopes, person, connected_at, last_used_at)| CarerConnection {
                id,
                app,
                client_id,
                name,
                scopes: words(&scopes),
                person: PersonId(person),
                connected_at,
                last_used_at,
            },
        )
        .collect())
}

/// Ends a connection inside the open transaction `tx`: every token and unused code it holds stops working at once.
macro_rules! end_connection {
    ($tx:expr, $connection:expr, $now:expr) => {
        async {
            sqlx::query("UPDATE smart_tokens SET revoked_at = $2 WHERE connection_id = $1 AND revoked_at IS NULL")
                .bind($connection)
                .bind(DbTime($now))
                .execute(&mut *$tx)
                .await?;
            sqlx::query("UPDATE smart_authorizations SET used_at = $2 WHERE connection_id = $1 AND used_at IS NULL")
                .bind($connection)
                .bind(DbTime($now))
                .execute(&mut *$tx)
                .await
                .map(|_| ())
        }
        .await
    };
}

/// A carer disconnects an app they connected to someone else's record: every token and unused code it holds stops
/// working at once, with "disconnected" (naming the carer) in the person's audit log, in one transaction. Taking
/// access away needs no consent, so this works even after the person stopped sharing with the carer. `false` when
/// there is no such live connection made by `user` (their connections to their own record are disconnected as the
/// person, with [`disconnect`]).
pub async fn disconnect_made_by(db: &Db, user: UserId, connection: Uuid, now: OffsetDateTime) -> Result<bool> {
    let backend = db.backend();
    let done = on_db!(db, write, |p| async {
        let mut tx = p.begin().await?;
        let row: Option<(String, Uuid)> = sqlx::query_as(
            "UPDATE smart_connections SET disconnected_at = $3 WHERE id = $1 AND user_id = $2 \
             AND disconnected_at IS NULL \
             AND NOT EXISTS (SELECT 1 FROM people p WHERE p.id = person_id AND p.user_id = $2) \
             RETURNING client_id, person_id",
        )
        .bind(connection)
        .bind(user.0)
        .bind(DbTime(now))
        .fetch_optional(&mut *tx)
        .await?;
        let Some((client_id, person)) = row else {
            tx.commit().await?;
            return Ok::<_, sqlx::Error>(false);
        };
        let app: Uuid = sqlx::query_scalar("SELECT id FROM smart_clients WHERE client_id = $1")
            .bind(&client_id)
            .fetch_one(&mut *tx)
            .await?;
        end_connection!(tx, connection, now)?;
        let events = [Event {
            id: Uuid::now_v7(),
            occurred_at: now,
            actor: Some(user.0),
            actor_role: "carer".into(),
            organisation: None,
            on_behalf_of: None,
            person: Some(person),
            action: "revoke".into(),
            section: None,
            entity: format!("smart-app:{app}"),
            purpose: "direct-care".into(),
            outcome: OWN_CONNECTION.into(),
        }];
        append_in_tx!(tx, backend, &events)?;
        tx.commit().await?;
        Ok(true)
    }
    .await)?;
    Ok(done)
}

/// The person disconnects an app from their record — one they connected, or one a carer connected for them: every
/// token and unused code it holds stops working at once, with "disconnected" in their audit log, in one
/// transaction. `Ok(Ok(false))` when there is no such live connection to their record. Only the person, with a
/// write grant over their own data, may.
pub async fn disconnect(
    db: &Db,
    grant: &Grant,
    connection: Uuid,
    now: OffsetDateTime,
) -> Result<std::result::Result<bool, Denied>> {
    if !grant.is_owner() || grant.action() != Action::Write {
        return Ok(Err(Denied));
    }
    let backend = db.backend();
    let done = on_db!(db, write, |p| async {
        let mut tx = p.begin().await?;
        let client_id: Option<String> = sqlx::query_scalar(
            "UPDATE smart_connections SET disconnected_at = $3 WHERE id = $1 AND person_id = $2 \
             AND disconnected_at IS NULL RETURNING client_id",
        )
        .bind(connection)
        .bind(grant.person().0)
        .bind(DbTime(now))
        .fetch_optional(&mut *tx)
        .await?;
        let Some(client_id) = client_id else {
            tx.commit().await?;
            return Ok::<_, sqlx::Error>(false);
        };
        let app: Uuid = sqlx::query_scalar("SELECT id FROM smart_clients WHERE client_id = $1")
            .bind(&client_id)
            .fetch_one(&mut *tx)
            .await?;
        end_connection!(tx, connection, now)?;
        let events = [person_event(grant, "revoke", app, now)];
        append_in_tx!(tx, backend, &events)?;
        tx.commit().await?;
        Ok(true)
    }
    .await)?;
    Ok(Ok(done))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn tokens_are_random_hex_and_junk_is_refused() {
        let a = new_token().unwrap();
        let b = new_token().unwrap();
        assert_ne!(a, b);
        assert!(well_formed(&a) && well_formed(&b));
        assert_eq!(random_hex(16).unwrap().len(), 32);
        for junk in [
            "",
            "abc",
            &a.to_uppercase(),
            &format!("{a}0"),
            &a.replace(|c: char| c.is_ascii_digit(), "g"),
        ] {
            assert!(!well_formed(junk), "{junk}");
        }
        assert!(constant_time_eq(b"abc", b"abc"));
        assert!(!constant_time_eq(b"abc", b"abd"));
        assert!(!constant_time_eq(b"abc", b"ab"));
    }

    #[test]
    fn apps_know_their_scopes_and_addresses() {
        let client = Client {
            id: Uuid::nil(),
            client_id: "x".into(),
            name: "App".into(),
            redirect_uris: vec!["https://app.example/cb".into()],
            kind: ClientKind::Public,
            scopes: words("launch/patient  patient/Observation.rs"),
            created_at: DbTime(OffsetDateTime::UNIX_EPOCH),
            active: true,
        };
        assert_eq!(client.allowed().len(), 2);
        assert!(client.redirects_to("https://app.example/cb"));
        assert!(!client.redirects_to("https://app.example/cb/"));
        assert_eq!(ClientKind::from_code("confidential"), Some(ClientKind::Confidential));
        assert_eq!(ClientKind::from_code("secret"), None);
        assert_eq!(GrantError::InvalidGrant.code(), "invalid_grant");
    }
}
