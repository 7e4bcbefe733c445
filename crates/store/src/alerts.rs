//! Alerts raised by agreed rules (see [`crate::readings::add`]) and by questionnaire answers that need a response:
//! who they are with, acknowledging, snoozing, and escalation when nobody acknowledges them in time
//! (person → carer → named contact → team).
//!
//! An alert is open until someone acknowledges it. A snoozed alert is out of the open list until its snooze ends.
//! Functions that show or change an alert take a [`Grant`] for the readings section; the lists of ids for a
//! professional's work list and for the escalation job return ids only, each then opened through the choke point.

use carepact_domain::consent::{Action, Section};
use carepact_domain::identity::{PersonId, UserId};
use carepact_domain::readings::{Level, Measure};
use time::{Duration, OffsetDateTime};
use uuid::Uuid;

use crate::access::{Denied, Grant};
use crate::messages::notify_in_tx;
use crate::outbox::insert_email;
use crate::readings::{AlertMail, Recipients, insert_event, notices, recipients};
use crate::{Db, DbTime, Result, StoreError, on_db};

/// Where an alert stands.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Status {
    Open,
    Snoozed { until: OffsetDateTime },
    Acknowledged,
}

/// An alert as pages show it.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Alert {
    pub id: Uuid,
    pub person: PersonId,
    pub rule: Option<Uuid>,
    pub instrument: Option<String>,
    pub measure: Option<Measure>,
    pub urgent: bool,
    pub level: Level,
    pub status: Status,
    pub advice: String,
    pub raised_at: DbTime,
    pub escalate_at: Option<DbTime>,
    pub acknowledged_by: Option<String>,
    pub acknowledged_at: Option<DbTime>,
    pub response: Option<Uuid>,
}

/// Something that happened to an alert.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Event {
    pub at: DbTime,
    /// "raised", "escalated", "snoozed", "acknowledged", "reading-added".
    pub what: String,
    pub level: Option<Level>,
    pub by: Option<String>,
}

#[derive(sqlx::FromRow)]
struct Row {
    id: Uuid,
    person_id: Uuid,
    rule_id: Option<Uuid>,
    instrument: Option<String>,
    measure: Option<String>,
    urgent: bool,
    level: String,
    status: String,
    advice: String,
    raised_at: DbTime,
    escalate_at: Option<DbTime>,
    snoozed_until: Option<DbTime>,
    acknowledged_by: Option<String>,
    acknowledged_at: Option<DbTime>,
    response_id: Option<Uuid>,
}

impl Row {
    fn into_alert(self, now: OffsetDateTime) -> Result<Alert> {
        let level =
            Level::from_code(&self.level).ok_or_else(|| StoreError::Corrupt(format!("level {}", self.level)))?;
        let status = match (self.status.as_str(), self.snoozed_until) {
            ("acknowledged", _) => Status::Acknowledged,
            ("snoozed", Some(until)) if until.0 > now => Status::Snoozed { until: until.0 },
            ("open" | "snoozed", _) => Status::Open,
            (s, _) => return Err(StoreError::Corrupt(format!("alert status {s}"))),
        };
        Ok(Alert {
            id: self.id,
            person: PersonId(self.person_id),
            rule: self.rule_id,
            instrument: self.instrument,
            measure: self.measure.as_deref().and_then(Measure::from_code),
            urgent: self.urgent,
            level,
            status,
            advice: self.advice,
            raised_at: self.raised_at,
            escalate_at: self.escalate_at,
            acknowledged_by: self.acknowledged_by,
            acknowledged_at: self.acknowledged_at,
            response: self.response_id,
        })
    }
}

const COLUMNS: &str = "a.id, a.person_id, a.rule_id, a.instrument, a.measure, a.urgent, a.level, a.status, a.advice, \
    a.raised_at, a.escalate_at, a.snoozed_until, u.display_name AS acknowledged_by, a.acknowledged_at, a.response_id \
    FROM alerts a LEFT JOIN users u ON u.id = a.acknowledged_by";

fn can(grant: &Grant) -> bool {
    grant.section() == Section::Readings
}

/// The person's alerts, newest first: those not yet acknowledged, then the last `acknowledged` acknowledged ones.
pub async fn for_person(
    db: &Db,
    grant: &Grant,
    acknowledged: i64,
    now: OffsetDateTime,
) -> Result<std::result::Result<Vec<Alert>, Denied>> {
    if !can(grant) {
        return Ok(Err(Denied));
    }
    let rows: Vec<Row> = on_db!(db, read, |p| sqlx::query_as(sqlx::AssertSqlSafe(format!(
        "SELECT {COLUMNS} WHERE a.person_id = $1 AND a.status <> 'acknowledged' ORDER BY a.raised_at DESC"
    )))
    .bind(grant.person().0)
    .fetch_all(p)
    .await)?;
    let done: Vec<Row> = on_db!(db, read, |p| sqlx::query_as(sqlx::AssertSqlSafe(format!(
        "SELECT {COLUMNS} WHERE a.person_id = $1 AND a.status = 'acknowledged' ORDER BY a.raised_at DESC LIMIT $2"
    )))
    .bind(grant.person().0)
    .bind(acknowledged)
    .fetch_all(p)
    .await)?;
    Ok(Ok(rows
        .into_iter()
        .chain(done)
        .map(|r| r.into_alert(now))
        .collect::<Result<_>>()?))
}

/// One of the person's alerts, with the readings that caused it (ids) and what happened to it.
pub async fn get(
    db: &Db,
    grant: &Grant,
    id: Uuid,
    now: OffsetDateTime,
) -> Result<std::result::Result<Option<(Alert, Vec<Uuid>, Vec<Event>)>, Denied>> {
    if !can(grant) {
        return Ok(Err(Denied));
    }
    let row: Option<Row> = on_db!(db, read, |p| sqlx::query_as(sqlx::AssertSqlSafe(format!(
        "SELECT {COLUMNS} WHERE a.person_id = $1 AND a.id = $2"
    )))
    .bind(grant.person().0)
    .bind(id)
    .fetch_optional(p)
    .await)?;
    let Some(row) = row else {
        return Ok(Ok(None));
    };
    let readings: Vec<Uuid> = on_db!(db, read, |p| sqlx::query_scalar(
        "SELECT reading_id FROM alert_readings WHERE alert_id = $1"
    )
    .bind(id)
    .fetch_all(p)
    .await)?;
    let events: Vec<(DbTime, String, Option<String>, Option<String>)> = on_db!(db, read, |p| sqlx::query_as(
        "SELECT e.at, e.what, e.level, u.display_name FROM alert_events e LEFT JOIN users u ON u.id = e.user_id \
         WHERE e.alert_id = $1 ORDER BY e.at, e.id"
    )
    .bind(id)
    .fetch_all(p)
    .await)?;
    let events = events
        .into_iter()
        .map(|(at, what, level, by)| Event {
            at,
            what,
            level: level.as_deref().and_then(Level::from_code),
            by,
        })
        .collect();
    Ok(Ok(Some((row.into_alert(now)?, readings, events))))
}

/// The alerts a professional should see in their work list, as (alert, person) ids, newest first: alerts with the
/// named contact or the team for people whose named contact they are (or cover for while they are away), and
/// alerts with the team for people whose care team they are in — and, while the named contact is away, the named
/// contact's too. Snoozed alerts are left out until their snooze ends.
pub async fn work_list(db: &Db, user: UserId, now: OffsetDateTime) -> Result<Vec<(Uuid, Uuid)>> {
    type Facts = (Uuid, Uuid, String, bool, bool, bool, bool);
    let rows: Vec<Facts> = on_db!(db, read, |p| {
        sqlx::query_as(
            "SELECT a.id, a.person_id, a.level, \
               EXISTS (SELECT 1 FROM care_team_members m WHERE m.person_id = a.person_id AND m.user_id = $1 \
                 AND m.status = 'active') AS in_team, \
               EXISTS (SELECT 1 FROM care_team_members m WHERE m.person_id = a.person_id AND m.user_id = $1 \
                 AND m.status = 'active' AND m.is_named_contact) AS is_contact, \
               EXISTS (SELECT 1 FROM care_team_members m JOIN staff_availability s ON s.user_id = m.user_id \
                 WHERE m.person_id = a.person_id AND m.status = 'active' AND m.is_named_contact AND s.away) \
                 AS contact_away, \
               EXISTS (SELECT 1 FROM care_team_members m JOIN staff_availability s ON s.user_id = m.user_id \
                 WHERE m.person_id = a.person_id AND m.status = 'active' AND m.is_named_contact AND s.away \
                 AND s.cover_user_id = $1) AS covering \
             FROM alerts a WHERE a.level IN ('named-contact', 'team') \
               AND (a.status = 'open' OR (a.status = 'snoozed' AND a.snoozed_until <= $2)) \
             ORDER BY a.urgent DESC, a.raised_at DESC",
        )
        .bind(user.0)
        .bind(DbTime(now))
        .fetch_all(p)
        .await
    })?;
    Ok(rows
        .into_iter()
        .filter(
            |(_, _, level, in_team, is_contact, away, covering)| match level.as_str() {
                "named-contact" => *is_contact || *covering || (*away && *in_team),
                _ => *in_team || *covering,
            },
        )
        .map(|(id, person, ..)| (id, person))
        .collect())
}

/// How many alerts are in the professional's work list.
pub async fn work_list_count(db: &Db, user: UserId, now: OffsetDateTime) -> Result<usize> {
    Ok(work_list(db, user, now).await?.len())
}

/// Why an alert could not be changed.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Refused {
    Denied,
    /// No such alert for this person, or it was already acknowledged.
    NotOpen,
}

/// Acknowledges an alert: it leaves every open list and stops escalating.
pub async fn acknowledge(
    db: &Db,
    grant: &Grant,
    id: Uuid,
    now: OffsetDateTime,
) -> Result<std::result::Result<(), Refused>> {
    if !can(grant) {
        return Ok(Err(Refused::Denied));
    }
    let actor = grant.actor().map(|u| u.0);
    let person = grant.person().0;
    let done = on_db!(db, write, |p| async {
        let mut tx = p.begin().await?;
        let n = sqlx::query(
            "UPDATE alerts SET status = 'acknowledged', acknowledged_by = $3, acknowledged_at = $4, \
             escalate_at = NULL, snoozed_until = NULL WHERE id = $1 AND person_id = $2 AND status <> 'acknowledged'",
        )
        .bind(id)
        .bind(person)
        .bind(actor)
        .bind(DbTime(now))
        .execute(&mut *tx)
        .await?
        .rows_affected();
        if n == 0 {
            return Ok::<_, sqlx::Error>(false);
        }
        insert_event!(&mut *tx, id, "acknowledged", None::<Level>, actor, now)?;
        tx.commit().await?;
        Ok(true)
    }
    .await)?;
    Ok(if done { Ok(()) } else { Err(Refused::NotOpen) })
}

/// The longest an alert may be snoozed.
pub const SNOOZE_LIMIT: Duration = Duration::days(7);

/// Snoozes an alert until `until` (at most [`SNOOZE_LIMIT`] ahead): it leaves the open list until then, and its
/// escalation clock starts again from then.
pub async fn snooze(
    db: &Db,
    grant: &Grant,
    id: Uuid,
    until: OffsetDateTime,
    now: OffsetDateTime,
) -> Result<std::result::Result<(), Refused>> {
    if !can(grant) {
        return Ok(Err(Refused::Denied));
    }
    let until = until.clamp(now, now + SNOOZE_LIMIT);
    let actor = grant.actor().map(|u| u.0);
    let person = grant.person().0;
    let done = on_db!(db, write, |p| async {
        let mut tx = p.begin().await?;
        let n = sqlx::query(
            "UPDATE alerts SET status = 'snoozed', snoozed_until = $3, \
             escalate_at = CASE WHEN escalate_at IS NULL THEN NULL ELSE $4 END \
             WHERE id = $1 AND person_id = $2 AND status <> 'acknowledged'",
        )
        .bind(id)
        .bind(person)
        .bind(DbTime(until))
        .bind(DbTime(until + Duration::hours(1)))
        .execute(&mut *tx)
        .await?
        .rows_affected();
        if n == 0 {
            return Ok::<_, sqlx::Error>(false);
        }
        insert_event!(&mut *tx, id, "snoozed", None::<Level>, actor, now)?;
        tx.commit().await?;
        Ok(true)
    }
    .await)?;
    Ok(if done { Ok(()) } else { Err(Refused::NotOpen) })
}

/// Alerts due to escalate now, as (alert, person) ids, for the housekeeping job (which opens each person through
/// the choke point before calling [`escalate`]).
pub async fn due(db: &Db, now: OffsetDateTime, limit: i64) -> Result<Vec<(Uuid, Uuid)>> {
    Ok(on_db!(db, read, |p| sqlx::query_as(
        "SELECT id, person_id FROM alerts WHERE status <> 'acknowledged' AND escalate_at IS NOT NULL \
         AND escalate_at <= $1 ORDER BY escalate_at LIMIT $2"
    )
    .bind(DbTime(now))
    .bind(limit)
    .fetch_all(p)
    .await)?)
}

/// Passes an unacknowledged alert up to the next level with somebody to tell, and tells them. Returns the new
/// level, or `None` when it was not due (acknowledged meanwhile) or there is nobody further up.
pub async fn escalate(
    db: &Db,
    grant: &Grant,
    id: Uuid,
    mail: &AlertMail,
    now: OffsetDateTime,
) -> Result<std::result::Result<Option<Level>, Denied>> {
    if !can(grant) || grant.action() != Action::Write {
        return Ok(Err(Denied));
    }
    let Some((alert, _, _)) = get(db, grant, id, now).await?.ok().flatten() else {
        return Ok(Ok(None));
    };
    if alert.status == Status::Acknowledged || alert.escalate_at.is_none_or(|t| t.0 > now) {
        return Ok(Ok(None));
    }
    let who: Recipients = recipients(db, alert.person, now).await?;
    let next = who.next_after(alert.level);
    let hours: i64 = on_db!(db, read, |p| sqlx::query_scalar(
        "SELECT escalate_after_hours FROM alerts WHERE id = $1"
    )
    .bind(id)
    .fetch_one(p)
    .await)?;
    let person = alert.person;
    let updated = on_db!(db, write, |p| async {
        let mut tx = p.begin().await?;
        let Some(level) = next else {
            // Nobody further up: it stays where it is, and stops escalating.
            sqlx::query("UPDATE alerts SET escalate_at = NULL WHERE id = $1")
                .bind(id)
                .execute(&mut *tx)
                .await?;
            tx.commit().await?;
            return Ok::<_, sqlx::Error>(None);
        };
        let again = who
            .next_after(level)
            .map(|_| DbTime(now + Duration::hours(hours.max(1))));
        let n = sqlx::query(
            "UPDATE alerts SET level = $2, escalate_at = $3 WHERE id = $1 AND status <> 'acknowledged' \
             AND level = $4",
        )
        .bind(id)
        .bind(level.code())
        .bind(again)
        .bind(alert.level.code())
        .execute(&mut *tx)
        .await?
        .rows_affected();
        if n == 0 {
            return Ok(None);
        }
        insert_event!(&mut *tx, id, "escalated", Some(level), None::<Uuid>, now)?;
        notify_in_tx!(tx, notices(person, level, who.at(level), mail).iter(), now)?;
        tx.commit().await?;
        Ok(Some(level))
    }
    .await)?;
    Ok(Ok(updated))
}
