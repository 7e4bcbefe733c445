//! The person's care team: professionals from any organisation, each with their role in the person's care, one of
//! them the named contact. The person adds members (with the consent they choose, written in the same
//! transaction), or a professional proposes themself and the person accepts or declines. Ending a membership
//! revokes its consent. Availability (usual reply time, away, cover) belongs to the professional.

use carepact_domain::audit::Event;
use carepact_domain::consent::Consent;
use carepact_domain::identity::{OrganisationId, PersonId, UserId};
use time::OffsetDateTime;
use uuid::Uuid;

use crate::access::{Denied, Grant};
use crate::audit::append_in_tx;
use crate::consents::insert_consent;
use crate::{Db, DbTime, Result, on_db};

/// One member as pages show them.
#[derive(Debug, Clone, PartialEq, Eq, sqlx::FromRow)]
pub struct Member {
    pub id: Uuid,
    pub user_id: Uuid,
    pub name: String,
    pub organisation: Option<String>,
    pub role_text: String,
    /// proposed, active, declined, ended.
    pub status: String,
    pub is_named_contact: bool,
    pub reply_within_days: Option<i32>,
    pub away: Option<bool>,
    pub cover_name: Option<String>,
}

const MEMBER_COLUMNS: &str = "m.id, m.user_id, u.display_name AS name, o.name AS organisation, m.role_text, m.status, \
    m.is_named_contact, a.reply_within_days, a.away, cu.display_name AS cover_name FROM care_team_members m \
    JOIN users u ON u.id = m.user_id LEFT JOIN organisations o ON o.id = m.organisation_id \
    LEFT JOIN staff_availability a ON a.user_id = m.user_id LEFT JOIN users cu ON cu.id = a.cover_user_id";

/// The team (active members and open proposals), named contact first. Any grant for the person will do: who looks
/// after them is part of every section.
pub async fn members(db: &Db, grant: &Grant) -> Result<std::result::Result<Vec<Member>, Denied>> {
    Ok(Ok(on_db!(db, read, |p| sqlx::query_as(sqlx::AssertSqlSafe(format!(
        "SELECT {MEMBER_COLUMNS} WHERE m.person_id = $1 AND m.status IN ('active', 'proposed') \
         ORDER BY m.is_named_contact DESC, m.status, u.display_name"
    )))
    .bind(grant.person().0)
    .fetch_all(p)
    .await)?))
}

fn event(grant: &Grant, action: &str, entity: String, now: OffsetDateTime) -> Event {
    Event {
        id: Uuid::now_v7(),
        occurred_at: now,
        actor: grant.actor().map(|u| u.0),
        actor_role: if grant.is_owner() { "person" } else { "professional" }.into(),
        organisation: None,
        on_behalf_of: None,
        person: Some(grant.person().0),
        action: action.into(),
        section: None,
        entity,
        purpose: "person-choice".into(),
        outcome: if grant.is_owner() {
            "permit:owner".into()
        } else {
            "permit:consent".into()
        },
    }
}

/// The person adds a professional to their team, sharing what `consent` says with them, in one transaction.
#[allow(clippy::too_many_arguments)]
pub async fn add(
    db: &Db,
    grant: &Grant,
    professional: UserId,
    organisation: Option<OrganisationId>,
    role_text: &str,
    consent: &Consent,
    named: bool,
    now: OffsetDateTime,
) -> Result<std::result::Result<Uuid, Denied>> {
    if !grant.is_owner() {
        return Ok(Err(Denied));
    }
    let person = grant.person();
    let id = Uuid::now_v7();
    let events = [event(grant, "grant", format!("consent:{}", consent.id), now)];
    let backend = db.backend();
    on_db!(db, write, |p| async {
        let mut tx = p.begin().await?;
        insert_consent!(&mut *tx, person, consent, now)?;
        if named {
            sqlx::query("UPDATE care_team_members SET is_named_contact = FALSE WHERE person_id = $1")
                .bind(person.0)
                .execute(&mut *tx)
                .await?;
        }
        sqlx::query(
            "INSERT INTO care_team_members (id, person_id, user_id, organisation_id, role_text, status, consent_id, \
             proposed_by, is_named_contact, created_at, updated_at) \
             VALUES ($1, $2, $3, $4, $5, 'active', $6, NULL, $7, $8, $8)",
        )
        .bind(id)
        .bind(person.0)
        .bind(professional.0)
        .bind(organisation.map(|o| o.0))
        .bind(role_text)
        .bind(consent.id)
        .bind(named)
        .bind(DbTime(now))
        .execute(&mut *tx)
        .await?;
        if named {
            sqlx::query("UPDATE people SET named_contact_id = $2 WHERE id = $1")
                .bind(person.0)
                .bind(professional.0)
                .execute(&mut *tx)
                .await?;
        }
        append_in_tx!(tx, backend, &events)?;
        tx.commit().await
    }
    .await)?;
    Ok(Ok(id))
}

/// A professional who may already see something of the person proposes themself for the team; the person accepts
/// or declines. A second proposal while one is open changes nothing.
pub async fn propose(
    db: &Db,
    grant: &Grant,
    organisation: Option<OrganisationId>,
    role_text: &str,
    now: OffsetDateTime,
) -> Result<std::result::Result<bool, Denied>> {
    let Some(actor) = grant.actor().filter(|_| !grant.is_owner()) else {
        return Ok(Err(Denied));
    };
    let person = grant.person();
    let open: i64 = on_db!(db, read, |p| {
        sqlx::query_scalar(
        "SELECT COUNT(*) FROM care_team_members WHERE person_id = $1 AND user_id = $2 AND status IN ('active', 'proposed')"
    )
    .bind(person.0)
    .bind(actor.0)
    .fetch_one(p)
    .await
    })?;
    if open > 0 {
        return Ok(Ok(false));
    }
    on_db!(db, write, |p| {
        sqlx::query(
        "INSERT INTO care_team_members (id, person_id, user_id, organisation_id, role_text, status, consent_id, \
         proposed_by, is_named_contact, created_at, updated_at) VALUES ($1, $2, $3, $4, $5, 'proposed', NULL, $3, FALSE, $6, $6)"
    )
    .bind(Uuid::now_v7())
    .bind(person.0)
    .bind(actor.0)
    .bind(organisation.map(|o| o.0))
    .bind(role_text)
    .bind(DbTime(now))
    .execute(p)
    .await
    .map(|_| ())
    })?;
    Ok(Ok(true))
}

/// The person accepts a proposal, sharing what `consent` says (its grantee must be the proposer).
pub async fn accept(
    db: &Db,
    grant: &Grant,
    member: Uuid,
    consent: &Consent,
    now: OffsetDateTime,
) -> Result<std::result::Result<bool, Denied>> {
    if !grant.is_owner() {
        return Ok(Err(Denied));
    }
    let person = grant.person();
    let events = [event(grant, "grant", format!("consent:{}", consent.id), now)];
    let backend = db.backend();
    let done = on_db!(db, write, |p| async {
        let mut tx = p.begin().await?;
        // The consent first, so the membership can refer to it; without an open proposal, neither is kept.
        insert_consent!(&mut *tx, person, consent, now)?;
        let n = sqlx::query(
            "UPDATE care_team_members SET status = 'active', consent_id = $3, updated_at = $4 \
             WHERE id = $1 AND person_id = $2 AND status = 'proposed'",
        )
        .bind(member)
        .bind(person.0)
        .bind(consent.id)
        .bind(DbTime(now))
        .execute(&mut *tx)
        .await?
        .rows_affected();
        if n != 1 {
            tx.rollback().await?;
            return Ok::<_, sqlx::Error>(false);
        }
        append_in_tx!(tx, backend, &events)?;
        tx.commit().await?;
        Ok(true)
    }
    .await)?;
    Ok(Ok(done))
}

/// The user a proposal is from, for building the consent the person gives when accepting it.
pub async fn proposer(db: &Db, grant: &Grant, member: Uuid) -> Result<std::result::Result<Option<UserId>, Denied>> {
    if !grant.is_owner() {
        return Ok(Err(Denied));
    }
    let user: Option<Uuid> = on_db!(db, read, |p| sqlx::query_scalar(
        "SELECT user_id FROM care_team_members WHERE id = $1 AND person_id = $2 AND status = 'proposed'"
    )
    .bind(member)
    .bind(grant.person().0)
    .fetch_optional(p)
    .await)?;
    Ok(Ok(user.map(UserId)))
}

/// The person declines a proposal, or ends a membership (which revokes the consent that came with it).
pub async fn end(
    db: &Db,
    grant: &Grant,
    member: Uuid,
    now: OffsetDateTime,
) -> Result<std::result::Result<bool, Denied>> {
    if !grant.is_owner() {
        return Ok(Err(Denied));
    }
    let person = grant.person();
    let backend = db.backend();
    let grant_event = event(grant, "revoke", format!("care-team-member:{member}"), now);
    let done = on_db!(db, write, |p| async {
        let mut tx = p.begin().await?;
        let found: Option<(Option<Uuid>, bool)> = sqlx::query_as(
            "SELECT consent_id, is_named_contact FROM care_team_members WHERE id = $1 AND person_id = $2 \
             AND status IN ('active', 'proposed')",
        )
        .bind(member)
        .bind(person.0)
        .fetch_optional(&mut *tx)
        .await?;
        let Some((consent, was_named)) = found else {
            return Ok::<_, sqlx::Error>(false);
        };
        if was_named {
            sqlx::query("UPDATE people SET named_contact_id = NULL WHERE id = $1")
                .bind(person.0)
                .execute(&mut *tx)
                .await?;
        }
        sqlx::query(
            "UPDATE care_team_members SET status = CASE WHEN status = 'proposed' THEN 'declined' ELSE 'ended' END, \
             is_named_contact = FALSE, updated_at = $2 WHERE id = $1",
        )
        .bind(member)
        .bind(DbTime(now))
        .execute(&mut *tx)
        .await?;
        if let Some(consent) = consent {
            sqlx::query("UPDATE consents SET revoked_at = $2 WHERE id = $1 AND revoked_at IS NULL")
                .bind(consent)
                .bind(DbTime(now))
                .execute(&mut *tx)
                .await?;
            append_in_tx!(tx, backend, std::slice::from_ref(&grant_event))?;
        }
        tx.commit().await?;
        Ok(true)
    }
    .await)?;
    Ok(Ok(done))
}

/// Makes an active member the named contact (and no one else).
pub async fn make_named_contact(
    db: &Db,
    grant: &Grant,
    member: Uuid,
    now: OffsetDateTime,
) -> Result<std::result::Result<bool, Denied>> {
    if !grant.is_owner() {
        return Ok(Err(Denied));
    }
    let person = grant.person();
    let done = on_db!(db, write, |p| async {
        let mut tx = p.begin().await?;
        let active: Option<Uuid> = sqlx::query_scalar(
            "SELECT user_id FROM care_team_members WHERE id = $1 AND person_id = $2 AND status = 'active'",
        )
        .bind(member)
        .bind(person.0)
        .fetch_optional(&mut *tx)
        .await?;
        let Some(user) = active else {
            return Ok::<_, sqlx::Error>(false);
        };
        sqlx::query("UPDATE people SET named_contact_id = $2 WHERE id = $1")
            .bind(person.0)
            .bind(user)
            .execute(&mut *tx)
            .await?;
        sqlx::query("UPDATE care_team_members SET is_named_contact = (id = $2), updated_at = $3 WHERE person_id = $1")
            .bind(person.0)
            .bind(member)
            .bind(DbTime(now))
            .execute(&mut *tx)
            .await?;
        tx.commit().await?;
        Ok(true)
    }
    .await)?;
    Ok(Ok(done))
}

/// The named contact's user id and, when they are away, their cover's: who messages and alerts go to. Ids only.
pub async fn named_contact(db: &Db, person: PersonId) -> Result<Option<(UserId, Option<UserId>)>> {
    let row: Option<(Uuid, Option<bool>, Option<Uuid>)> = on_db!(db, read, |p| sqlx::query_as(
        "SELECT m.user_id, a.away, a.cover_user_id FROM care_team_members m \
         LEFT JOIN staff_availability a ON a.user_id = m.user_id \
         WHERE m.person_id = $1 AND m.status = 'active' AND m.is_named_contact"
    )
    .bind(person.0)
    .fetch_optional(p)
    .await)?;
    Ok(row.map(|(user, away, cover)| (UserId(user), cover.filter(|_| away.unwrap_or(false)).map(UserId))))
}

/// A professional's availability: usual reply time in working days, whether they are away, and who covers.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Availability {
    pub reply_within_days: i32,
    pub away: bool,
    pub cover: Option<UserId>,
}

pub async fn availability(db: &Db, user: UserId) -> Result<Option<Availability>> {
    let row: Option<(i32, bool, Option<Uuid>)> = on_db!(db, read, |p| sqlx::query_as(
        "SELECT reply_within_days, away, cover_user_id FROM staff_availability WHERE user_id = $1"
    )
    .bind(user.0)
    .fetch_optional(p)
    .await)?;
    Ok(row.map(|(reply_within_days, away, cover)| Availability {
        reply_within_days,
        away,
        cover: cover.map(UserId),
    }))
}

pub async fn set_availability(db: &Db, user: UserId, a: &Availability, now: OffsetDateTime) -> Result<()> {
    on_db!(db, write, |p| {
        sqlx::query(
        "INSERT INTO staff_availability (user_id, reply_within_days, away, cover_user_id, updated_at) \
         VALUES ($1, $2, $3, $4, $5) ON CONFLICT (user_id) DO UPDATE SET reply_within_days = excluded.reply_within_days, \
         away = excluded.away, cover_user_id = excluded.cover_user_id, updated_at = excluded.updated_at"
    )
    .bind(user.0)
    .bind(a.reply_within_days)
    .bind(a.away)
    .bind(a.cover.map(|u| u.0))
    .bind(DbTime(now))
    .execute(p)
    .await
    .map(|_| ())
    })?;
    Ok(())
}
