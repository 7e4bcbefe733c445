//! Consents and emergency accesses as stored. Deciding what they allow is the domain's `consent::decide`, called
//! only from [`crate::access`].

use carepact_domain::audit::Event;
use carepact_domain::consent::{BreakGlass, Consent, Grantee, Labels, Sections};
use carepact_domain::identity::{OrganisationId, PersonId, UserId};
use time::OffsetDateTime;
use uuid::Uuid;

use crate::access::{Denied, Grant};
use crate::audit::append_in_tx;
use crate::{Db, DbTime, Result, StoreError, on_db};

#[derive(sqlx::FromRow)]
struct Row {
    id: Uuid,
    grantee_kind: String,
    grantee_user_id: Option<Uuid>,
    grantee_organisation_id: Option<Uuid>,
    sections: i32,
    labels: i32,
    can_write: bool,
    starts_at: DbTime,
    ends_at: Option<DbTime>,
    revoked_at: Option<DbTime>,
}

impl TryFrom<Row> for Consent {
    type Error = StoreError;
    fn try_from(r: Row) -> Result<Self> {
        let grantee = match (r.grantee_kind.as_str(), r.grantee_user_id, r.grantee_organisation_id) {
            ("professional", Some(u), _) => Grantee::Professional(UserId(u)),
            ("carer", Some(u), _) => Grantee::Carer(UserId(u)),
            ("organisation", _, Some(o)) => Grantee::Organisation(OrganisationId(o)),
            (kind, _, _) => return Err(StoreError::Corrupt(format!("consent grantee {kind}"))),
        };
        Ok(Consent {
            id: r.id,
            grantee,
            sections: Sections::from_bits(r.sections),
            labels: Labels::from_bits(r.labels),
            write: r.can_write,
            starts: r.starts_at.0,
            ends: r.ends_at.map(|t| t.0),
            revoked: r.revoked_at.map(|t| t.0),
        })
    }
}

pub(crate) fn grantee_columns(g: Grantee) -> (&'static str, Option<Uuid>, Option<Uuid>) {
    match g {
        Grantee::Professional(u) => ("professional", Some(u.0), None),
        Grantee::Carer(u) => ("carer", Some(u.0), None),
        Grantee::Organisation(o) => ("organisation", None, Some(o.0)),
    }
}

/// Every consent the person has given, newest first (revoked and expired ones included: the person sees them).
pub(crate) async fn for_person(db: &Db, person: PersonId) -> Result<Vec<Consent>> {
    let rows: Vec<Row> = on_db!(db, read, |p| {
        sqlx::query_as(
        "SELECT id, grantee_kind, grantee_user_id, grantee_organisation_id, sections, labels, can_write, starts_at, \
         ends_at, revoked_at FROM consents WHERE person_id = $1 ORDER BY created_at DESC"
    )
    .bind(person.0)
    .fetch_all(p)
    .await
    })?;
    rows.into_iter().map(Consent::try_from).collect()
}

pub(crate) async fn break_glass_for_person(db: &Db, person: PersonId) -> Result<Vec<BreakGlass>> {
    let rows: Vec<(Uuid, Uuid, DbTime, DbTime)> = on_db!(db, read, |p| sqlx::query_as(
        "SELECT id, user_id, starts_at, ends_at FROM break_glass WHERE person_id = $1"
    )
    .bind(person.0)
    .fetch_all(p)
    .await)?;
    Ok(rows
        .into_iter()
        .map(|(id, user, s, e)| BreakGlass {
            id,
            user: UserId(user),
            starts: s.0,
            ends: e.0,
        })
        .collect())
}

/// Inserts a consent inside an open transaction (with its audit event).
macro_rules! insert_consent {
    ($exec:expr, $person:expr, $c:expr, $now:expr) => {{
        let (kind, user, org) = $crate::consents::grantee_columns($c.grantee);
        sqlx::query(
            "INSERT INTO consents (id, person_id, grantee_kind, grantee_user_id, grantee_organisation_id, sections, labels, \
             can_write, starts_at, ends_at, revoked_at, created_at) VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9, $10, NULL, $11)",
        )
        .bind($c.id)
        .bind($person.0)
        .bind(kind)
        .bind(user)
        .bind(org)
        .bind($c.sections.bits())
        .bind($c.labels.bits())
        .bind($c.write)
        .bind($crate::DbTime($c.starts))
        .bind($c.ends.map($crate::DbTime))
        .bind($crate::DbTime($now))
        .execute($exec)
        .await
        .map(|_| ())
    }};
}
pub(crate) use insert_consent;

/// The people who may have shared something with `user` (by name, as carer, or through their organisation) — only
/// their ids. Nothing about them is disclosed until each passes [`crate::access::authorize`], which audits it.
pub async fn candidates_shared_with(
    db: &Db,
    user: UserId,
    organisation: Option<OrganisationId>,
    now: OffsetDateTime,
) -> Result<Vec<PersonId>> {
    let rows: Vec<Uuid> = on_db!(db, read, |p| sqlx::query_scalar(
        "SELECT DISTINCT person_id FROM consents c \
         WHERE c.revoked_at IS NULL AND c.starts_at <= $3 AND (c.ends_at IS NULL OR c.ends_at > $3) \
         AND (c.grantee_user_id = $1 OR (c.grantee_kind = 'organisation' AND c.grantee_organisation_id = $2))"
    )
    .bind(user.0)
    .bind(organisation.map(|o| o.0))
    .bind(DbTime(now))
    .fetch_all(p)
    .await)?;
    Ok(rows.into_iter().map(PersonId).collect())
}

/// One page of [`candidates_shared_with`], in the order of the people's names (the names are only sorted on, not
/// returned), and how many there are in all: a professional's practice may hold thousands, and each one shown costs an
/// audited decision.
pub async fn candidates_shared_with_page(
    db: &Db,
    user: UserId,
    organisation: Option<OrganisationId>,
    now: OffsetDateTime,
    limit: i64,
    offset: i64,
) -> Result<(Vec<PersonId>, i64)> {
    const SHARING: &str = "FROM people p WHERE EXISTS (SELECT 1 FROM consents c WHERE c.person_id = p.id \
         AND c.revoked_at IS NULL AND c.starts_at <= $3 AND (c.ends_at IS NULL OR c.ends_at > $3) \
         AND (c.grantee_user_id = $1 OR (c.grantee_kind = 'organisation' AND c.grantee_organisation_id = $2)))";
    let total: i64 = on_db!(db, read, |p| sqlx::query_scalar(sqlx::AssertSqlSafe(format!(
        "SELECT COUNT(*) {SHARING}"
    )))
    .bind(user.0)
    .bind(organisation.map(|o| o.0))
    .bind(DbTime(now))
    .fetch_one(p)
    .await)?;
    let rows: Vec<Uuid> = on_db!(db, read, |p| sqlx::query_scalar(sqlx::AssertSqlSafe(format!(
        "SELECT p.id {SHARING} ORDER BY p.family_name, p.given_name, p.id LIMIT $4 OFFSET $5"
    )))
    .bind(user.0)
    .bind(organisation.map(|o| o.0))
    .bind(DbTime(now))
    .bind(limit)
    .bind(offset)
    .fetch_all(p)
    .await)?;
    Ok((rows.into_iter().map(PersonId).collect(), total))
}

/// A consent as the person sees it in their list, with the grantee's name.
#[derive(Debug, Clone)]
pub struct ConsentView {
    pub consent: Consent,
    pub grantee_name: String,
}

/// The person's consents, for the person only.
pub async fn list(db: &Db, grant: &Grant) -> Result<std::result::Result<Vec<ConsentView>, Denied>> {
    if !grant.is_owner() {
        return Ok(Err(Denied));
    }
    let consents = for_person(db, grant.person()).await?;
    let mut out = Vec::with_capacity(consents.len());
    for consent in consents {
        let name: Option<String> = match consent.grantee {
            Grantee::Professional(u) | Grantee::Carer(u) => on_db!(db, read, |p| sqlx::query_scalar(
                "SELECT display_name FROM users WHERE id = $1"
            )
            .bind(u.0)
            .fetch_optional(p)
            .await)?,
            Grantee::Organisation(o) => on_db!(db, read, |p| sqlx::query_scalar(
                "SELECT name FROM organisations WHERE id = $1"
            )
            .bind(o.0)
            .fetch_optional(p)
            .await)?,
        };
        out.push(ConsentView {
            consent,
            grantee_name: name.unwrap_or_default(),
        });
    }
    Ok(Ok(out))
}

fn owner_event(grant: &Grant, action: &str, entity: String, now: OffsetDateTime) -> Event {
    Event {
        id: Uuid::now_v7(),
        occurred_at: now,
        actor: grant.actor().map(|u| u.0),
        actor_role: "person".into(),
        organisation: None,
        on_behalf_of: None,
        person: Some(grant.person().0),
        action: action.into(),
        section: None,
        entity,
        purpose: "person-choice".into(),
        outcome: "permit:owner".into(),
    }
}

/// Records a consent the person gives, with its audit event, in one transaction. Only the person may.
pub async fn give(
    db: &Db,
    grant: &Grant,
    consent: &Consent,
    now: OffsetDateTime,
) -> Result<std::result::Result<(), Denied>> {
    if !grant.is_owner() {
        return Ok(Err(Denied));
    }
    let person = grant.person();
    let events = [owner_event(grant, "grant", format!("consent:{}", consent.id), now)];
    let backend = db.backend();
    on_db!(db, write, |p| async {
        let mut tx = p.begin().await?;
        insert_consent!(&mut *tx, person, consent, now)?;
        append_in_tx!(tx, backend, &events)?;
        tx.commit().await
    }
    .await)?;
    Ok(Ok(()))
}

/// Revokes one of the person's consents, effective at once, with its audit event. `Ok(Ok(false))` when there was
/// no such live consent.
pub async fn revoke(
    db: &Db,
    grant: &Grant,
    consent: Uuid,
    now: OffsetDateTime,
) -> Result<std::result::Result<bool, Denied>> {
    if !grant.is_owner() {
        return Ok(Err(Denied));
    }
    let person = grant.person();
    let events = [owner_event(grant, "revoke", format!("consent:{consent}"), now)];
    let backend = db.backend();
    let changed = on_db!(db, write, |p| async {
        let mut tx = p.begin().await?;
        let n =
            sqlx::query("UPDATE consents SET revoked_at = $3 WHERE id = $1 AND person_id = $2 AND revoked_at IS NULL")
                .bind(consent)
                .bind(person.0)
                .bind(DbTime(now))
                .execute(&mut *tx)
                .await?
                .rows_affected();
        if n == 1 {
            append_in_tx!(tx, backend, &events)?;
        }
        tx.commit().await?;
        Ok::<_, sqlx::Error>(n == 1)
    }
    .await)?;
    Ok(Ok(changed))
}

/// Emergency access as stored, for the person's log and the organisation's privacy report.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct EmergencyAccess {
    pub id: Uuid,
    pub person: PersonId,
    pub user_name: String,
    pub organisation_name: Option<String>,
    pub reason: String,
    pub starts: OffsetDateTime,
    pub ends: OffsetDateTime,
}

/// The person a clinician is looking for in an emergency, by NHS number. Only for opening break-glass: the lookup
/// happens inside [`open_break_glass`], which records it whatever the outcome.
pub async fn open_break_glass(
    db: &Db,
    actor: &carepact_domain::consent::Actor,
    nhs_number: &carepact_domain::NhsNumber,
    reason: &str,
    notice: impl FnOnce(&str) -> Option<(String, String)>,
    now: OffsetDateTime,
) -> Result<Option<(PersonId, OffsetDateTime)>> {
    let id = Uuid::now_v7();
    let ends = now + carepact_domain::consent::BREAK_GLASS_LIMIT;
    let found: Option<(Uuid, Option<String>)> = on_db!(db, read, |p| sqlx::query_as(
        "SELECT id, email FROM people WHERE nhs_number = $1"
    )
    .bind(nhs_number.as_digits())
    .fetch_optional(p)
    .await)?;
    let event = |person: Option<Uuid>, outcome: String| Event {
        id: Uuid::now_v7(),
        occurred_at: now,
        actor: Some(actor.user.0),
        actor_role: "professional".into(),
        organisation: actor.organisation.map(|o| o.0),
        on_behalf_of: None,
        person,
        action: "break-glass".into(),
        section: None,
        entity: format!("break-glass:{id}"),
        purpose: "emergency".into(),
        outcome,
    };
    let backend = db.backend();
    let Some((person, email)) = found else {
        let events = [event(None, "deny:not-found".into())];
        on_db!(db, write, |p| async {
            let mut tx = p.begin().await?;
            append_in_tx!(tx, backend, &events)?;
            tx.commit().await
        }
        .await)?;
        return Ok(None);
    };
    let events = [event(Some(person), format!("permit:break-glass:{id}"))];
    let message = email
        .as_deref()
        .and_then(|to| notice(to).map(|(subject, body)| (to.to_owned(), subject, body)));
    on_db!(db, write, |p| {
        async {
        let mut tx = p.begin().await?;
        sqlx::query(
            "INSERT INTO break_glass (id, person_id, user_id, organisation_id, reason, starts_at, ends_at) VALUES ($1, $2, $3, $4, $5, $6, $7)",
        )
        .bind(id)
        .bind(person)
        .bind(actor.user.0)
        .bind(actor.organisation.map(|o| o.0))
        .bind(reason)
        .bind(DbTime(now))
        .bind(DbTime(ends))
        .execute(&mut *tx)
        .await?;
        append_in_tx!(tx, backend, &events)?;
        if let Some((to, subject, body)) = &message {
            let mail = crate::outbox::NewEmail { to, subject, body, idempotency_key: None };
            crate::outbox::insert_email!(&mut *tx, mail, now)?;
        }
        tx.commit().await
    }
    .await
    })?;
    Ok(Some((PersonId(person), ends)))
}

#[derive(sqlx::FromRow)]
struct EmergencyRow {
    id: Uuid,
    person_id: Uuid,
    user_name: String,
    organisation_name: Option<String>,
    reason: String,
    starts_at: DbTime,
    ends_at: DbTime,
}

impl From<EmergencyRow> for EmergencyAccess {
    fn from(r: EmergencyRow) -> Self {
        Self {
            id: r.id,
            person: PersonId(r.person_id),
            user_name: r.user_name,
            organisation_name: r.organisation_name,
            reason: r.reason,
            starts: r.starts_at.0,
            ends: r.ends_at.0,
        }
    }
}

macro_rules! select_emergency {
    ($rest:literal) => {
        concat!(
            "SELECT b.id, b.person_id, u.display_name AS user_name, o.name AS organisation_name, b.reason, b.starts_at, \
             b.ends_at FROM break_glass b JOIN users u ON u.id = b.user_id LEFT JOIN organisations o ON o.id = b.organisation_id ",
            $rest
        )
    };
}

/// Emergency accesses to the person's record, newest first: the person's own only.
pub async fn emergency_accesses(db: &Db, grant: &Grant) -> Result<std::result::Result<Vec<EmergencyAccess>, Denied>> {
    if !grant.is_owner() {
        return Ok(Err(Denied));
    }
    let rows: Vec<EmergencyRow> = on_db!(db, read, |p| sqlx::query_as(select_emergency!(
        "WHERE b.person_id = $1 ORDER BY b.starts_at DESC"
    ))
    .bind(grant.person().0)
    .fetch_all(p)
    .await)?;
    Ok(Ok(rows.into_iter().map(EmergencyAccess::from).collect()))
}

/// Emergency accesses opened by an organisation's staff, for its privacy officer's report: who, when, until when
/// and why. It names no person: reviewing a case is done with the clinician, and reading the person's details would
/// itself need the person's consent.
pub async fn emergency_report(db: &Db, organisation: OrganisationId) -> Result<Vec<EmergencyAccess>> {
    let rows: Vec<EmergencyRow> = on_db!(db, read, |p| sqlx::query_as(select_emergency!(
        "WHERE b.organisation_id = $1 ORDER BY b.starts_at DESC"
    ))
    .bind(organisation.0)
    .fetch_all(p)
    .await)?;
    Ok(rows.into_iter().map(EmergencyAccess::from).collect())
}
