//! What a person addresses to an organisation: "this is wrong or missing" about an item of their record
//! (`correction_requests`, raised in [`crate::record`]) and "I don't recognise this" about an access in their log
//! (`access_queries`). The organisation's staff open each one through
//! [`crate::access::authorize_addressed`], which grants that one thing only.

use carepact_domain::consent::{Action, Basis};
use carepact_domain::identity::{OrganisationId, PersonId};
use time::OffsetDateTime;
use uuid::Uuid;

use crate::access::{Addressed, Denied, Grant};
use crate::{Db, DbTime, Result, on_db};

/// Raises "I don't recognise this" about one access in the person's own log, addressed to the organisation of
/// whoever made it. `Ok(Ok(false))` when the person already asked about it.
pub async fn raise(
    db: &Db,
    grant: &Grant,
    event: Uuid,
    body: &str,
    now: OffsetDateTime,
) -> Result<std::result::Result<bool, Denied>> {
    let Some(author) = grant
        .actor()
        .filter(|_| grant.is_owner() && grant.action() == Action::Write)
    else {
        return Ok(Err(Denied));
    };
    let person = grant.person().0;
    let organisation: Option<Option<Uuid>> = on_db!(db, read, |p| sqlx::query_scalar(
        "SELECT organisation_id FROM audit_events WHERE id = $1 AND chain_id = $2"
    )
    .bind(event)
    .bind(person)
    .fetch_optional(p)
    .await)?;
    let Some(Some(organisation)) = organisation else {
        return Ok(Err(Denied));
    };
    let n = on_db!(db, write, |p| {
        sqlx::query(
        "INSERT INTO access_queries (id, person_id, audit_event_id, organisation_id, raised_by, body, status, created_at) \
         VALUES ($1, $2, $3, $4, $5, $6, 'open', $7) ON CONFLICT (person_id, audit_event_id) DO NOTHING"
    )
    .bind(Uuid::now_v7())
    .bind(person)
    .bind(event)
    .bind(organisation)
    .bind(author.0)
    .bind(body)
    .bind(DbTime(now))
    .execute(p)
    .await
    .map(|r| r.rows_affected())
    })?;
    Ok(Ok(n == 1))
}

/// The open requests and queries addressed to an organisation, oldest first, as ids only: each is opened through
/// the choke point.
pub async fn addressed_to(db: &Db, organisation: OrganisationId) -> Result<Vec<(Addressed, PersonId)>> {
    let rows: Vec<(String, Uuid, Uuid, DbTime)> = on_db!(db, read, |p| {
        sqlx::query_as(
        "SELECT 'correction', id, person_id, created_at FROM correction_requests WHERE organisation_id = $1 AND status = 'open' \
         UNION ALL SELECT 'access', id, person_id, created_at FROM access_queries WHERE organisation_id = $1 AND status = 'open' \
         ORDER BY 4"
    )
    .bind(organisation.0)
    .fetch_all(p)
    .await
    })?;
    Ok(rows
        .into_iter()
        .map(|(kind, id, person, _)| {
            let what = if kind == "correction" {
                Addressed::Correction(id)
            } else {
                Addressed::AccessQuery(id)
            };
            (what, PersonId(person))
        })
        .collect())
}

/// One request or query as the organisation's staff see it.
#[derive(Debug, Clone, PartialEq, Eq, sqlx::FromRow)]
pub struct AddressedView {
    pub id: Uuid,
    pub given_name: String,
    pub family_name: String,
    pub nhs_number: Option<String>,
    /// The item's title, or for an access query who looked and what at.
    pub about: Option<String>,
    pub about_when: Option<DbTime>,
    pub body: String,
    pub created_at: DbTime,
}

fn id_of(addressed: Addressed) -> Uuid {
    match addressed {
        Addressed::Correction(id) | Addressed::AccessQuery(id) => id,
    }
}

fn permits(grant: &Grant, addressed: Addressed) -> bool {
    grant.basis() == Basis::Addressed(id_of(addressed))
}

/// The request or query `grant` was given for.
pub async fn view(db: &Db, grant: &Grant, addressed: Addressed) -> Result<std::result::Result<AddressedView, Denied>> {
    if !permits(grant, addressed) {
        return Ok(Err(Denied));
    }
    let sql = match addressed {
        Addressed::Correction(_) => {
            "SELECT c.id, p.given_name, p.family_name, p.nhs_number, i.title AS about, NULL AS about_when, c.body, \
             c.created_at FROM correction_requests c JOIN people p ON p.id = c.person_id \
             LEFT JOIN record_items i ON i.id = c.item_id WHERE c.id = $1"
        }
        Addressed::AccessQuery(_) => {
            "SELECT q.id, p.given_name, p.family_name, p.nhs_number, u.display_name AS about, \
             e.occurred_at AS about_when, q.body, q.created_at FROM access_queries q JOIN people p ON p.id = q.person_id \
             LEFT JOIN audit_events e ON e.id = q.audit_event_id LEFT JOIN users u ON u.id = e.actor_id WHERE q.id = $1"
        }
    };
    let row: Option<AddressedView> = on_db!(db, read, |p| sqlx::query_as(sql)
        .bind(id_of(addressed))
        .fetch_optional(p)
        .await)?;
    Ok(row.ok_or(Denied))
}

/// Answers a request or query: the person sees the reply, and it leaves the organisation's work list.
pub async fn answer(
    db: &Db,
    grant: &Grant,
    addressed: Addressed,
    response: &str,
    now: OffsetDateTime,
) -> Result<std::result::Result<(), Denied>> {
    let Some(by) = grant
        .actor()
        .filter(|_| permits(grant, addressed) && grant.action() == Action::Write)
    else {
        return Ok(Err(Denied));
    };
    let sql = match addressed {
        Addressed::Correction(_) => {
            "UPDATE correction_requests SET status = 'answered', response = $2, answered_by = $3, answered_at = $4 \
             WHERE id = $1"
        }
        Addressed::AccessQuery(_) => {
            "UPDATE access_queries SET status = 'answered', response = $2, answered_by = $3, answered_at = $4 WHERE id = $1"
        }
    };
    on_db!(db, write, |p| sqlx::query(sql)
        .bind(id_of(addressed))
        .bind(response)
        .bind(by.0)
        .bind(DbTime(now))
        .execute(p)
        .await
        .map(|_| ()))?;
    Ok(Ok(()))
}
