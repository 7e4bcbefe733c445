//! Requests for access: a professional asks, by NHS number and with a reason; the person approves (giving a
//! read-only consent for the sections asked) or declines. To the professional, a request is either granted or
//! still waiting — a declined request, and one for an NHS number nobody uses, look exactly the same.

use carepact_domain::NhsNumber;
use carepact_domain::audit::Event;
use carepact_domain::consent::{Actor, Consent, Grantee, Labels, Sections, Sensitivity};
use carepact_domain::identity::PersonId;
use time::OffsetDateTime;
use uuid::Uuid;

use crate::access::{Denied, Grant};
use crate::audit::append_in_tx;
use crate::consents::insert_consent;
use crate::outbox::{NewEmail, insert_email};
use crate::{Db, DbTime, Result, on_db};

/// Who acted: user, role and organisation.
type Who<'a> = (Option<Uuid>, &'a str, Option<Uuid>);

fn event(who: Who<'_>, person: Option<Uuid>, action: &str, id: Uuid, outcome: &str, now: OffsetDateTime) -> Event {
    Event {
        id: Uuid::now_v7(),
        occurred_at: now,
        actor: who.0,
        actor_role: who.1.into(),
        organisation: who.2,
        on_behalf_of: None,
        person,
        action: action.into(),
        section: None,
        entity: format!("access-request:{id}"),
        purpose: "direct-care".into(),
        outcome: outcome.into(),
    }
}

/// Records a request. If someone with that NHS number uses CarePact, they are emailed (`notice` composes the email
/// for their address) in the same transaction.
pub async fn ask(
    db: &Db,
    actor: &Actor,
    nhs_number: &NhsNumber,
    reason: &str,
    sections: Sections,
    notice: impl FnOnce(&str) -> (String, String),
    now: OffsetDateTime,
) -> Result<()> {
    let id = Uuid::now_v7();
    let person: Option<(Uuid, Option<String>)> = on_db!(db, read, |p| sqlx::query_as(
        "SELECT id, email FROM people WHERE nhs_number = $1"
    )
    .bind(nhs_number.as_digits())
    .fetch_optional(p)
    .await)?;
    let person_id = person.as_ref().map(|(id, _)| *id);
    let events = [event(
        (Some(actor.user.0), "professional", actor.organisation.map(|o| o.0)),
        person_id,
        "request-access",
        id,
        "recorded",
        now,
    )];
    let message = person.as_ref().and_then(|(_, email)| email.clone()).map(|to| {
        let (subject, body) = notice(&to);
        (to, subject, body)
    });
    let backend = db.backend();
    on_db!(db, write, |p| {
        async {
        let mut tx = p.begin().await?;
        sqlx::query(
            "INSERT INTO access_requests (id, person_id, nhs_number, requester_id, organisation_id, reason, sections, status, created_at) \
             VALUES ($1, $2, $3, $4, $5, $6, $7, 'pending', $8)",
        )
        .bind(id)
        .bind(person_id)
        .bind(nhs_number.as_digits())
        .bind(actor.user.0)
        .bind(actor.organisation.map(|o| o.0))
        .bind(reason)
        .bind(sections.bits())
        .bind(DbTime(now))
        .execute(&mut *tx)
        .await?;
        append_in_tx!(tx, backend, &events)?;
        if let Some((to, subject, body)) = &message {
            let mail = NewEmail { to, subject, body, idempotency_key: None };
            insert_email!(&mut *tx, mail, now)?;
        }
        tx.commit().await
    }
    .await
    })?;
    Ok(())
}

/// A request as the person sees it.
#[derive(Debug, Clone, PartialEq, Eq, sqlx::FromRow)]
pub struct PendingRequest {
    pub id: Uuid,
    pub requester_name: String,
    pub organisation_name: Option<String>,
    pub reason: String,
    pub sections: i32,
    pub created_at: DbTime,
}

/// Requests waiting for the person's answer: the person's own only.
pub async fn pending(db: &Db, grant: &Grant) -> Result<std::result::Result<Vec<PendingRequest>, Denied>> {
    if !grant.is_owner() {
        return Ok(Err(Denied));
    }
    Ok(Ok(on_db!(db, read, |p| {
        sqlx::query_as(
        "SELECT r.id, u.display_name AS requester_name, o.name AS organisation_name, r.reason, r.sections, r.created_at \
         FROM access_requests r JOIN users u ON u.id = r.requester_id LEFT JOIN organisations o ON o.id = r.organisation_id \
         WHERE r.person_id = $1 AND r.status = 'pending' ORDER BY r.created_at"
    )
    .bind(grant.person().0)
    .fetch_all(p)
    .await
    })?))
}

/// The person answers. Approving gives the requester a read-only consent to the sections asked (general
/// information), in the same transaction. `Ok(Ok(false))` when there is no such pending request.
pub async fn answer(
    db: &Db,
    grant: &Grant,
    request: Uuid,
    approve: bool,
    now: OffsetDateTime,
) -> Result<std::result::Result<bool, Denied>> {
    if !grant.is_owner() {
        return Ok(Err(Denied));
    }
    let person: PersonId = grant.person();
    let found: Option<(Uuid, i32)> = on_db!(db, read, |p| sqlx::query_as(
        "SELECT requester_id, sections FROM access_requests WHERE id = $1 AND person_id = $2 AND status = 'pending'"
    )
    .bind(request)
    .bind(person.0)
    .fetch_optional(p)
    .await)?;
    let Some((requester, sections)) = found else {
        return Ok(Ok(false));
    };
    let consent = Consent {
        id: Uuid::now_v7(),
        grantee: Grantee::Professional(carepact_domain::identity::UserId(requester)),
        sections: Sections::from_bits(sections),
        labels: Labels::of(&[Sensitivity::General]),
        write: false,
        starts: now,
        ends: None,
        revoked: None,
    };
    let (action, outcome) = if approve {
        ("approve-request", "permit:owner")
    } else {
        ("decline-request", "permit:owner")
    };
    let mut events = vec![event(
        (grant.actor().map(|u| u.0), "person", None),
        Some(person.0),
        action,
        request,
        outcome,
        now,
    )];
    if approve {
        let mut grant_event = event(
            (grant.actor().map(|u| u.0), "person", None),
            Some(person.0),
            "grant",
            request,
            "permit:owner",
            now,
        );
        grant_event.entity = format!("consent:{}", consent.id);
        grant_event.purpose = "person-choice".into();
        events.push(grant_event);
    }
    let backend = db.backend();
    let status = if approve { "approved" } else { "declined" };
    let changed = on_db!(db, write, |p| {
        async {
        let mut tx = p.begin().await?;
        let n = sqlx::query("UPDATE access_requests SET status = $3, decided_at = $4 WHERE id = $1 AND person_id = $2 AND status = 'pending'")
            .bind(request)
            .bind(person.0)
            .bind(status)
            .bind(DbTime(now))
            .execute(&mut *tx)
            .await?
            .rows_affected();
        if n == 1 {
            if approve {
                insert_consent!(&mut *tx, person, consent, now)?;
            }
            append_in_tx!(tx, backend, &events)?;
        }
        tx.commit().await?;
        Ok::<_, sqlx::Error>(n == 1)
    }
    .await
    })?;
    Ok(Ok(changed))
}

/// A professional's own requests: the NHS number asked about, when, and whether access was granted.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct MyRequest {
    pub nhs_number: String,
    pub created_at: OffsetDateTime,
    pub granted: bool,
}

pub async fn mine(db: &Db, requester: carepact_domain::identity::UserId) -> Result<Vec<MyRequest>> {
    let rows: Vec<(String, DbTime, String)> = on_db!(db, read, |p| {
        sqlx::query_as(
        "SELECT nhs_number, created_at, status FROM access_requests WHERE requester_id = $1 ORDER BY created_at DESC"
    )
    .bind(requester.0)
    .fetch_all(p)
    .await
    })?;
    Ok(rows
        .into_iter()
        .map(|(nhs_number, at, status)| MyRequest {
            nhs_number,
            created_at: at.0,
            granted: status == "approved",
        })
        .collect())
}
