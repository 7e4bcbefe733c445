//! Questionnaires: the definitions (built-in instruments, and those an organisation loads as FHIR Questionnaire
//! JSON), a person's responses, and assignments by a professional, once or on a schedule, with reminders.
//!
//! Definitions are not anybody's data: any signed-in user may list them. Responses and assignments are the
//! person's and take a [`Grant`] for the questionnaires section. A response that needs an urgent response (PHQ-9
//! item 9 above 0) raises its alert in the same transaction as the response is stored.

use carepact_domain::consent::{Action, Section};
use carepact_domain::identity::{OrganisationId, PersonId, UserId};
use carepact_domain::readings::Level;
use time::{Duration, OffsetDateTime};
use uuid::Uuid;

use crate::access::{Denied, Grant};
use crate::messages::{Notice, notify_in_tx};
use crate::outbox::insert_email;
use crate::readings::{AlertMail, insert_event, notices, recipients};
use crate::{Db, DbTime, Result, on_db};

fn can(grant: &Grant, action: Action) -> bool {
    grant.section() == Section::Questionnaires && (action == Action::Read || grant.action() == Action::Write)
}

/// A questionnaire that can be answered.
#[derive(Debug, Clone, PartialEq, Eq, sqlx::FromRow)]
pub struct Definition {
    pub id: Uuid,
    pub url: String,
    pub version: String,
    pub title: String,
    /// A built-in instrument's code; none for an organisation's own.
    pub instrument: Option<String>,
    pub organisation_id: Option<Uuid>,
    /// The FHIR Questionnaire JSON.
    pub definition: String,
    pub loaded_at: DbTime,
}

const DEFINITION_COLUMNS: &str =
    "id, url, version, title, instrument, organisation_id, definition, loaded_at FROM questionnaires";

/// Stores the built-in instruments' definitions (`carepact_fhir::questionnaire::builtin`) that are not stored yet
/// (a new version is a new row). Returns how many were added.
pub async fn ensure_builtin(db: &Db, now: OffsetDateTime) -> Result<usize> {
    let mut added = 0;
    for (i, def) in carepact_fhir::questionnaire::builtin() {
        let (instrument, url, title) = (i.code(), i.url(), def.title.as_str());
        let version = if def.version.is_empty() {
            "1"
        } else {
            def.version.as_str()
        };
        let json = carepact_fhir::questionnaire::definition(i);
        let n = on_db!(db, write, |p| {
            sqlx::query(
            "INSERT INTO questionnaires (id, url, version, title, instrument, organisation_id, definition, loaded_by, \
             loaded_at) VALUES ($1, $2, $3, $4, $5, NULL, $6, NULL, $7) ON CONFLICT (url, version) DO NOTHING"
        )
        .bind(Uuid::now_v7())
        .bind(url)
        .bind(version)
        .bind(title)
        .bind(instrument)
        .bind(json)
        .bind(DbTime(now))
        .execute(p)
        .await
        .map(|r| r.rows_affected())
        })?;
        added += usize::try_from(n).unwrap_or(0);
    }
    Ok(added)
}

/// The questionnaires a member of `organisation` may use: the built-in ones and their organisation's own, the
/// newest version of each.
pub async fn available(db: &Db, organisation: Option<OrganisationId>) -> Result<Vec<Definition>> {
    let rows: Vec<Definition> = on_db!(db, read, |p| sqlx::query_as(sqlx::AssertSqlSafe(format!(
        "SELECT {DEFINITION_COLUMNS} q WHERE (q.organisation_id IS NULL OR q.organisation_id = $1) \
         AND NOT EXISTS (SELECT 1 FROM questionnaires n WHERE n.url = q.url AND n.loaded_at > q.loaded_at) \
         ORDER BY q.instrument IS NULL, q.title"
    )))
    .bind(organisation.map(|o| o.0))
    .fetch_all(p)
    .await)?;
    Ok(rows)
}

/// One definition by id.
pub async fn definition(db: &Db, id: Uuid) -> Result<Option<Definition>> {
    Ok(on_db!(db, read, |p| sqlx::query_as(sqlx::AssertSqlSafe(format!(
        "SELECT {DEFINITION_COLUMNS} WHERE id = $1"
    )))
    .bind(id)
    .fetch_optional(p)
    .await)?)
}

/// One definition by canonical URL (and version, or the newest).
pub async fn by_url(db: &Db, url: &str, version: Option<&str>) -> Result<Option<Definition>> {
    Ok(on_db!(db, read, |p| sqlx::query_as(sqlx::AssertSqlSafe(format!(
        "SELECT {DEFINITION_COLUMNS} WHERE url = $1 AND ($2 = '' OR version = $2) ORDER BY loaded_at DESC LIMIT 1"
    )))
    .bind(url)
    .bind(version.unwrap_or(""))
    .fetch_optional(p)
    .await)?)
}

/// An organisation loads its own questionnaire. Refused (`Ok(None)`) when that URL and version already exist.
#[allow(clippy::too_many_arguments)]
pub async fn load(
    db: &Db,
    organisation: OrganisationId,
    user: UserId,
    url: &str,
    version: &str,
    title: &str,
    json: &str,
    now: OffsetDateTime,
) -> Result<Option<Uuid>> {
    let id = Uuid::now_v7();
    let n = on_db!(db, write, |p| sqlx::query(
        "INSERT INTO questionnaires (id, url, version, title, instrument, organisation_id, definition, loaded_by, \
         loaded_at) VALUES ($1, $2, $3, $4, NULL, $5, $6, $7, $8) ON CONFLICT (url, version) DO NOTHING"
    )
    .bind(id)
    .bind(url)
    .bind(version)
    .bind(title)
    .bind(organisation.0)
    .bind(json)
    .bind(user.0)
    .bind(DbTime(now))
    .execute(p)
    .await
    .map(|r| r.rows_affected()))?;
    Ok((n == 1).then_some(id))
}

/// A response as stored: the answers as JSON (the domain's answers by linkId), and the headline score ×10.
#[derive(Debug, Clone, PartialEq, Eq, sqlx::FromRow)]
pub struct Response {
    pub id: Uuid,
    pub questionnaire_id: Uuid,
    pub title: String,
    pub instrument: Option<String>,
    pub assignment_id: Option<Uuid>,
    pub authored_at: DbTime,
    pub entered_by: Option<String>,
    pub source: String,
    pub answers: String,
    pub score: Option<String>,
    pub headline: Option<i64>,
    pub urgent: bool,
}

const RESPONSE_COLUMNS: &str = "r.id, r.questionnaire_id, q.title, q.instrument, r.assignment_id, r.authored_at, \
    u.display_name AS entered_by, r.source, r.answers, r.score, r.headline, r.urgent FROM questionnaire_responses r \
    JOIN questionnaires q ON q.id = r.questionnaire_id LEFT JOIN users u ON u.id = r.entered_by";

/// A response to store.
#[derive(Debug, Clone)]
pub struct NewResponse<'a> {
    pub questionnaire: Uuid,
    pub assignment: Option<Uuid>,
    pub authored_at: OffsetDateTime,
    /// "person", "carer", "professional", "device".
    pub source: &'static str,
    pub answers: &'a str,
    pub score: Option<&'a str>,
    pub headline: Option<i64>,
    /// When the answers call for an urgent response: the instrument, and the emails to send with the alert.
    pub urgent: Option<(&'a str, &'a AlertMail)>,
}

/// Stores a response; an assignment it answers moves on to its next due date (or ends, if it was once only); an
/// urgent one raises an urgent alert with the named contact (or whoever is next up), all in one transaction.
/// Returns the response id and the alert raised.
pub async fn respond(
    db: &Db,
    grant: &Grant,
    r: &NewResponse<'_>,
    now: OffsetDateTime,
) -> Result<std::result::Result<(Uuid, Option<Uuid>), Denied>> {
    if !can(grant, Action::Write) {
        return Ok(Err(Denied));
    }
    let person = grant.person();
    let who = match r.urgent {
        Some(_) => Some(recipients(db, person, now).await?),
        None => None,
    };
    let actor = grant.actor().map(|u| u.0);
    let id = Uuid::now_v7();
    let alert = on_db!(db, write, |p| {
        async {
        let mut tx = p.begin().await?;
        sqlx::query(
            "INSERT INTO questionnaire_responses (id, person_id, questionnaire_id, assignment_id, authored_at, \
             entered_by, source, answers, score, headline, urgent) VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9, $10, $11)",
        )
        .bind(id)
        .bind(person.0)
        .bind(r.questionnaire)
        .bind(r.assignment)
        .bind(DbTime(r.authored_at))
        .bind(actor)
        .bind(r.source)
        .bind(r.answers)
        .bind(r.score)
        .bind(r.headline)
        .bind(r.urgent.is_some())
        .execute(&mut *tx)
        .await?;
        if let Some(assignment) = r.assignment {
            // A repeating assignment is next due a period after this answer; a one-off ends.
            let every: Option<Option<i64>> = sqlx::query_scalar(
                "SELECT every_days FROM questionnaire_assignments WHERE id = $1 AND person_id = $2 AND ended_at IS NULL",
            )
            .bind(assignment)
            .bind(person.0)
            .fetch_optional(&mut *tx)
            .await?;
            if let Some(every) = every {
                let (next, ended) = match every {
                    Some(days) => (Some(DbTime(now + Duration::days(days))), None),
                    None => (None, Some(DbTime(now))),
                };
                sqlx::query(
                    "UPDATE questionnaire_assignments SET next_due = COALESCE($2, next_due), ended_at = $3, \
                     reminded_for = NULL WHERE id = $1",
                )
                .bind(assignment)
                .bind(next)
                .bind(ended)
                .execute(&mut *tx)
                .await?;
            }
        }
        let mut alert = None;
        if let (Some((instrument, mail)), Some(who)) = (r.urgent, &who) {
            let a = Uuid::now_v7();
            let level = who.first_from(Level::NamedContact);
            let escalate = who.next_after(level).map(|_| DbTime(now + Duration::hours(4)));
            sqlx::query(
                "INSERT INTO alerts (id, person_id, rule_id, plan_version, instrument, measure, urgent, level, status, \
                 advice, raised_at, escalate_at, escalate_after_hours, snoozed_until, acknowledged_by, \
                 acknowledged_at, response_id) VALUES ($1, $2, NULL, NULL, $3, NULL, TRUE, $4, 'open', '', $5, $6, 4, \
                 NULL, NULL, NULL, $7)",
            )
            .bind(a)
            .bind(person.0)
            .bind(instrument)
            .bind(level.code())
            .bind(DbTime(now))
            .bind(escalate)
            .bind(id)
            .execute(&mut *tx)
            .await?;
            insert_event!(&mut *tx, a, "raised", Some(level), actor, now)?;
            notify_in_tx!(tx, notices(person, level, who.at(level), mail).iter(), now)?;
            alert = Some(a);
        }
        tx.commit().await?;
        Ok::<_, sqlx::Error>(alert)
    }
    .await
    })?;
    Ok(Ok((id, alert)))
}

/// The person's responses, newest first (to one questionnaire, or all).
pub async fn responses(
    db: &Db,
    grant: &Grant,
    questionnaire_url: Option<&str>,
    limit: i64,
) -> Result<std::result::Result<Vec<Response>, Denied>> {
    if !can(grant, Action::Read) {
        return Ok(Err(Denied));
    }
    let rows: Vec<Response> = on_db!(db, read, |p| sqlx::query_as(sqlx::AssertSqlSafe(format!(
        "SELECT {RESPONSE_COLUMNS} WHERE r.person_id = $1 AND ($2 = '' OR q.url = $2) \
         ORDER BY r.authored_at DESC, r.id DESC LIMIT $3"
    )))
    .bind(grant.person().0)
    .bind(questionnaire_url.unwrap_or(""))
    .bind(limit)
    .fetch_all(p)
    .await)?;
    Ok(Ok(rows))
}

/// One of the person's responses.
pub async fn response(db: &Db, grant: &Grant, id: Uuid) -> Result<std::result::Result<Option<Response>, Denied>> {
    if !can(grant, Action::Read) {
        return Ok(Err(Denied));
    }
    let row: Option<Response> = on_db!(db, read, |p| sqlx::query_as(sqlx::AssertSqlSafe(format!(
        "SELECT {RESPONSE_COLUMNS} WHERE r.person_id = $1 AND r.id = $2"
    )))
    .bind(grant.person().0)
    .bind(id)
    .fetch_optional(p)
    .await)?;
    Ok(Ok(row))
}

/// A questionnaire a professional asked the person to fill in.
#[derive(Debug, Clone, PartialEq, Eq, sqlx::FromRow)]
pub struct Assignment {
    pub id: Uuid,
    pub questionnaire_id: Uuid,
    pub title: String,
    pub assigned_by: Option<String>,
    pub assigned_at: DbTime,
    pub every_days: Option<i64>,
    pub next_due: DbTime,
    pub ended_at: Option<DbTime>,
}

/// The person's assignments still running, soonest due first.
pub async fn assignments(db: &Db, grant: &Grant) -> Result<std::result::Result<Vec<Assignment>, Denied>> {
    if !can(grant, Action::Read) {
        return Ok(Err(Denied));
    }
    let rows: Vec<Assignment> = on_db!(db, read, |p| sqlx::query_as(
        "SELECT a.id, a.questionnaire_id, q.title, u.display_name AS assigned_by, a.assigned_at, a.every_days, \
         a.next_due, a.ended_at FROM questionnaire_assignments a JOIN questionnaires q ON q.id = a.questionnaire_id \
         LEFT JOIN users u ON u.id = a.assigned_by WHERE a.person_id = $1 AND a.ended_at IS NULL ORDER BY a.next_due"
    )
    .bind(grant.person().0)
    .fetch_all(p)
    .await)?;
    Ok(Ok(rows))
}

/// The longest gap a schedule may have.
pub const MAX_EVERY_DAYS: i64 = 365;

/// A professional asks the person to fill in a questionnaire, first by `first_due`, then (optionally) every
/// `every_days` days after each answer.
pub async fn assign(
    db: &Db,
    grant: &Grant,
    questionnaire: Uuid,
    every_days: Option<i64>,
    first_due: OffsetDateTime,
    now: OffsetDateTime,
) -> Result<std::result::Result<Uuid, Denied>> {
    let Some(actor) = grant.actor() else {
        return Ok(Err(Denied));
    };
    if !can(grant, Action::Write) {
        return Ok(Err(Denied));
    }
    let id = Uuid::now_v7();
    on_db!(db, write, |p| sqlx::query(
        "INSERT INTO questionnaire_assignments (id, person_id, questionnaire_id, assigned_by, assigned_at, every_days, \
         next_due, reminded_for, ended_at) VALUES ($1, $2, $3, $4, $5, $6, $7, NULL, NULL)"
    )
    .bind(id)
    .bind(grant.person().0)
    .bind(questionnaire)
    .bind(actor.0)
    .bind(DbTime(now))
    .bind(every_days.map(|d| d.clamp(1, MAX_EVERY_DAYS)))
    .bind(DbTime(first_due))
    .execute(p)
    .await
    .map(|_| ()))?;
    Ok(Ok(id))
}

/// Stops an assignment.
pub async fn end_assignment(
    db: &Db,
    grant: &Grant,
    id: Uuid,
    now: OffsetDateTime,
) -> Result<std::result::Result<bool, Denied>> {
    if !can(grant, Action::Write) {
        return Ok(Err(Denied));
    }
    let n = on_db!(db, write, |p| sqlx::query(
        "UPDATE questionnaire_assignments SET ended_at = $3 WHERE id = $1 AND person_id = $2 AND ended_at IS NULL"
    )
    .bind(id)
    .bind(grant.person().0)
    .bind(DbTime(now))
    .execute(p)
    .await
    .map(|r| r.rows_affected()))?;
    Ok(Ok(n == 1))
}

/// Assignments due now whose reminder has not gone for this due date, as (assignment, person) ids, for the
/// housekeeping job.
pub async fn reminders_due(db: &Db, now: OffsetDateTime, limit: i64) -> Result<Vec<(Uuid, Uuid)>> {
    Ok(on_db!(db, read, |p| sqlx::query_as(
        "SELECT id, person_id FROM questionnaire_assignments WHERE ended_at IS NULL AND next_due <= $1 \
         AND (reminded_for IS NULL OR reminded_for <> next_due) ORDER BY next_due LIMIT $2"
    )
    .bind(DbTime(now))
    .bind(limit)
    .fetch_all(p)
    .await)?)
}

/// Reminds the person (and their carers with consent to questionnaires) that an assignment is due, once per due
/// date. Returns false when it was already reminded or has ended.
pub async fn remind(
    db: &Db,
    grant: &Grant,
    assignment: Uuid,
    notices_for: &(dyn Fn(PersonId, UserId) -> Notice + Sync),
    now: OffsetDateTime,
) -> Result<std::result::Result<bool, Denied>> {
    if !can(grant, Action::Write) {
        return Ok(Err(Denied));
    }
    let person = grant.person();
    let who = recipients(db, person, now).await?;
    let mut users = who.person.clone();
    for c in crate::consents::for_person(db, person).await? {
        if let carepact_domain::consent::Grantee::Carer(u) = c.grantee
            && c.is_active(now)
            && c.sections.contains(Section::Questionnaires)
            && !users.contains(&u)
        {
            users.push(u);
        }
    }
    let notices: Vec<Notice> = users.iter().map(|u| notices_for(person, *u)).collect();
    let done = on_db!(db, write, |p| async {
        let mut tx = p.begin().await?;
        let n = sqlx::query(
            "UPDATE questionnaire_assignments SET reminded_for = next_due WHERE id = $1 AND person_id = $2 \
             AND ended_at IS NULL AND (reminded_for IS NULL OR reminded_for <> next_due)",
        )
        .bind(assignment)
        .bind(person.0)
        .execute(&mut *tx)
        .await?
        .rows_affected();
        if n == 0 {
            return Ok::<_, sqlx::Error>(false);
        }
        notify_in_tx!(tx, notices.iter(), now)?;
        tx.commit().await?;
        Ok(true)
    }
    .await)?;
    Ok(Ok(done))
}
