//! Readings a person records (or their carer, a device or a file), and the alerts their agreed rules raise.
//!
//! Every function takes a [`Grant`] for the readings section. Adding a reading checks the alert rules of the
//! person's latest care plan in the same transaction: a rule that fires raises an alert (or adds the reading to
//! the alert it already raised), links the readings that caused it, and notifies whoever the alert is with, so a
//! reading is never stored without its alert, nor an alert without its notices.

use std::collections::BTreeMap;

use carepact_domain::care_plan::PlanDoc;
use carepact_domain::consent::{Action, Grantee, Section};
use carepact_domain::identity::{PersonId, UserId};
use carepact_domain::readings::{AlertRule, Level, Measure, Milli, Target, Values, bmi};
use time::{Duration, OffsetDateTime};
use uuid::Uuid;

use crate::access::{Denied, Grant};
use crate::messages::{Notice, notify_in_tx};
use crate::outbox::insert_email;
use crate::{Db, DbTime, Result, StoreError, on_db};

fn can(grant: &Grant, action: Action) -> bool {
    grant.section() == Section::Readings && (action == Action::Read || grant.action() == Action::Write)
}

/// A reading to add. `values` are in the measure's own units, already checked.
#[derive(Debug, Clone)]
pub struct NewReading<'a> {
    pub measure: Measure,
    pub taken_at: OffsetDateTime,
    pub values: &'a Values,
    pub note: Option<&'a str>,
    /// "person", "carer", "professional", "device", "file".
    pub source: &'static str,
    pub device: Option<&'a str>,
}

/// A reading as stored.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Reading {
    pub id: Uuid,
    pub measure: Measure,
    pub taken_at: DbTime,
    /// The measure's components in catalogue order.
    pub values: Vec<Option<Milli>>,
    pub note: Option<String>,
    pub source: String,
    pub device: Option<String>,
    pub entered_by: Option<String>,
    pub recorded_at: DbTime,
    /// 1 when recorded, one more for each correction.
    pub version: i64,
}

impl Reading {
    /// The value of one component, by key.
    pub fn value(&self, key: &str) -> Option<Milli> {
        let i = self.measure.components().iter().position(|c| c.key == key)?;
        self.values.get(i).copied().flatten()
    }
}

#[derive(sqlx::FromRow)]
struct Row {
    id: Uuid,
    measure: String,
    taken_at: DbTime,
    value_1: Option<i64>,
    value_2: Option<i64>,
    value_3: Option<i64>,
    note: Option<String>,
    source: String,
    device: Option<String>,
    entered_by: Option<String>,
    recorded_at: DbTime,
    version: i64,
}

impl TryFrom<Row> for Reading {
    type Error = StoreError;
    fn try_from(r: Row) -> Result<Reading> {
        let measure =
            Measure::from_code(&r.measure).ok_or_else(|| StoreError::Corrupt(format!("measure {}", r.measure)))?;
        let values = [r.value_1, r.value_2, r.value_3]
            .into_iter()
            .take(measure.components().len())
            .map(|v| v.map(Milli))
            .collect();
        Ok(Reading {
            id: r.id,
            measure,
            taken_at: r.taken_at,
            values,
            note: r.note,
            source: r.source,
            device: r.device,
            entered_by: r.entered_by,
            recorded_at: r.recorded_at,
            version: r.version,
        })
    }
}

const COLUMNS: &str = "r.id, r.measure, r.taken_at, r.value_1, r.value_2, r.value_3, r.note, r.source, r.device, \
    u.display_name AS entered_by, r.recorded_at, r.version FROM readings r LEFT JOIN users u ON u.id = r.entered_by";

/// The values in column order (value_1…value_3).
fn columns(measure: Measure, values: &Values) -> [Option<i64>; 3] {
    let mut out = [None; 3];
    for (slot, c) in out.iter_mut().zip(measure.components()) {
        *slot = values.get(c.key).map(|v| v.0);
    }
    out
}

/// The person's readings of one measure (or all) taken in `[from, to]`, newest first, at most `limit`.
pub async fn list(
    db: &Db,
    grant: &Grant,
    measure: Option<Measure>,
    from: OffsetDateTime,
    to: OffsetDateTime,
    limit: i64,
) -> Result<std::result::Result<Vec<Reading>, Denied>> {
    let wanted = Wanted {
        measures: measure.into_iter().collect(),
        window: (from, to),
        corrected: None,
    };
    search(db, grant, &wanted, limit, 0).await
}

/// Which readings a search wants.
#[derive(Debug, Clone)]
pub struct Wanted {
    /// These measures only; every measure when empty.
    pub measures: Vec<Measure>,
    /// Taken within this window (inclusive).
    pub window: (OffsetDateTime, OffsetDateTime),
    /// Only corrected readings (`Some(true)`), only those never corrected (`Some(false)`), or both.
    pub corrected: Option<bool>,
}

/// One page of the person's readings that `wanted` describes, newest first: `limit` of them after skipping
/// `offset`.
pub async fn search(
    db: &Db,
    grant: &Grant,
    wanted: &Wanted,
    limit: i64,
    offset: i64,
) -> Result<std::result::Result<Vec<Reading>, Denied>> {
    if !can(grant, Action::Read) {
        return Ok(Err(Denied));
    }
    // The measure codes come from the catalogue, never from the request.
    let measures = if wanted.measures.is_empty() {
        String::new()
    } else {
        let codes: Vec<String> = wanted.measures.iter().map(|m| format!("'{}'", m.code())).collect();
        format!(" AND r.measure IN ({})", codes.join(", "))
    };
    let corrected = match wanted.corrected {
        None => "",
        Some(true) => " AND r.version > 1",
        Some(false) => " AND r.version = 1",
    };
    let rows: Vec<Row> = on_db!(db, read, |p| sqlx::query_as(sqlx::AssertSqlSafe(format!(
        "SELECT {COLUMNS} WHERE r.person_id = $1{measures}{corrected} AND r.taken_at >= $2 AND r.taken_at <= $3 \
         ORDER BY r.taken_at DESC, r.id DESC LIMIT $4 OFFSET $5"
    )))
    .bind(grant.person().0)
    .bind(DbTime(wanted.window.0))
    .bind(DbTime(wanted.window.1))
    .bind(limit)
    .bind(offset)
    .fetch_all(p)
    .await)?;
    Ok(Ok(rows.into_iter().map(Reading::try_from).collect::<Result<_>>()?))
}

/// The newest reading of each measure the person has recorded, in catalogue order.
pub async fn latest_each(db: &Db, grant: &Grant) -> Result<std::result::Result<Vec<Reading>, Denied>> {
    if !can(grant, Action::Read) {
        return Ok(Err(Denied));
    }
    let rows: Vec<Row> = on_db!(db, read, |p| sqlx::query_as(sqlx::AssertSqlSafe(format!(
        "SELECT {COLUMNS} WHERE r.person_id = $1 AND r.taken_at = (SELECT MAX(x.taken_at) FROM readings x \
         WHERE x.person_id = r.person_id AND x.measure = r.measure)"
    )))
    .bind(grant.person().0)
    .fetch_all(p)
    .await)?;
    let mut out: Vec<Reading> = rows.into_iter().map(Reading::try_from).collect::<Result<_>>()?;
    out.sort_by_key(|r| r.measure);
    Ok(Ok(out))
}

/// The readings with these ids that belong to the grant's person, newest first.
pub async fn by_ids(db: &Db, grant: &Grant, ids: &[Uuid]) -> Result<std::result::Result<Vec<Reading>, Denied>> {
    if !can(grant, Action::Read) {
        return Ok(Err(Denied));
    }
    let mut out = Vec::with_capacity(ids.len());
    for id in ids {
        let row: Option<Row> = on_db!(db, read, |p| sqlx::query_as(sqlx::AssertSqlSafe(format!(
            "SELECT {COLUMNS} WHERE r.person_id = $1 AND r.id = $2"
        )))
        .bind(grant.person().0)
        .bind(id)
        .fetch_optional(p)
        .await)?;
        if let Some(r) = row {
            out.push(Reading::try_from(r)?);
        }
    }
    out.sort_by_key(|r| std::cmp::Reverse(r.taken_at));
    Ok(Ok(out))
}

/// The alert rules (and the version they come from) in the person's latest care plan. The rules belong to the
/// readings they watch, so the readings grant reaches them.
pub async fn rules(db: &Db, grant: &Grant) -> Result<std::result::Result<(i64, Vec<AlertRule>), Denied>> {
    if !can(grant, Action::Read) {
        return Ok(Err(Denied));
    }
    Ok(Ok(plan_rules(db, grant.person()).await?))
}

/// The target ranges agreed in the person's latest care plan, shaded on their charts.
pub async fn targets(db: &Db, grant: &Grant) -> Result<std::result::Result<Vec<Target>, Denied>> {
    if !can(grant, Action::Read) {
        return Ok(Err(Denied));
    }
    Ok(Ok(latest_plan(db, grant.person())
        .await?
        .map(|(_, d)| d.reading_targets)
        .unwrap_or_default()))
}

async fn latest_plan(db: &Db, person: PersonId) -> Result<Option<(i64, PlanDoc)>> {
    let row: Option<(i64, String)> = on_db!(db, read, |p| sqlx::query_as(
        "SELECT v.version, v.content FROM care_plans c JOIN care_plan_versions v ON v.plan_id = c.id \
         AND v.version = c.latest_version WHERE c.person_id = $1"
    )
    .bind(person.0)
    .fetch_optional(p)
    .await)?;
    row.map(|(version, content)| {
        serde_json::from_str(&content)
            .map(|doc| (version, doc))
            .map_err(|e| StoreError::Corrupt(format!("care plan: {e}")))
    })
    .transpose()
}

async fn plan_rules(db: &Db, person: PersonId) -> Result<(i64, Vec<AlertRule>)> {
    Ok(latest_plan(db, person)
        .await?
        .map(|(v, d)| (v, d.alert_rules))
        .unwrap_or((0, Vec::new())))
}

/// Who an alert at each level goes to: user ids only.
#[derive(Debug, Clone, Default)]
pub struct Recipients {
    pub person: Vec<UserId>,
    pub carers: Vec<UserId>,
    pub named_contact: Vec<UserId>,
    pub team: Vec<UserId>,
}

impl Recipients {
    pub fn at(&self, level: Level) -> &[UserId] {
        match level {
            Level::Person => &self.person,
            Level::Carer => &self.carers,
            Level::NamedContact => &self.named_contact,
            Level::Team => &self.team,
        }
    }

    /// The first level from `start` upwards with somebody to tell; `start` itself when nobody is anywhere.
    pub fn first_from(&self, start: Level) -> Level {
        let mut level = Some(start);
        while let Some(l) = level {
            if !self.at(l).is_empty() {
                return l;
            }
            level = l.next();
        }
        start
    }

    /// The next level above `level` with somebody to tell.
    pub fn next_after(&self, level: Level) -> Option<Level> {
        let mut next = level.next();
        while let Some(l) = next {
            if !self.at(l).is_empty() {
                return Some(l);
            }
            next = l.next();
        }
        None
    }
}

/// Works out who an alert for the person goes to at each level: the person's account; carers whose consent
/// covers readings now; the named contact, or their cover while they are away; and the active care team.
pub async fn recipients(db: &Db, person: PersonId, now: OffsetDateTime) -> Result<Recipients> {
    let mut out = Recipients {
        person: crate::people::account_of(db, person).await?.into_iter().collect(),
        ..Recipients::default()
    };
    for c in crate::consents::for_person(db, person).await? {
        if let Grantee::Carer(u) = c.grantee
            && c.is_active(now)
            && c.sections.contains(Section::Readings)
            && !out.carers.contains(&u)
        {
            out.carers.push(u);
        }
    }
    if let Some((contact, cover)) = crate::care_team::named_contact(db, person).await? {
        out.named_contact.push(cover.unwrap_or(contact));
    }
    let team: Vec<Uuid> = on_db!(db, read, |p| sqlx::query_scalar(
        "SELECT m.user_id FROM care_team_members m JOIN users u ON u.id = m.user_id \
         WHERE m.person_id = $1 AND m.status = 'active' AND u.active ORDER BY m.created_at"
    )
    .bind(person.0)
    .fetch_all(p)
    .await)?;
    out.team = team.into_iter().map(UserId).collect();
    Ok(out)
}

/// What to write to each person told about an alert. Emails never say what the alert is about.
#[derive(Debug, Clone)]
pub struct AlertMail {
    pub subject: String,
    /// For the person and their carers, linking to the person's readings.
    pub body_for_person: String,
    /// For professionals, linking to their alerts list.
    pub body_for_staff: String,
}

/// The notices for telling `users` at `level` about an alert on `person`'s readings.
pub fn notices(person: PersonId, level: Level, users: &[UserId], mail: &AlertMail) -> Vec<Notice> {
    let staff = level >= Level::NamedContact;
    users
        .iter()
        .map(|u| Notice {
            user: *u,
            kind: "alert",
            link: if staff {
                "/alerts".into()
            } else {
                format!("/records/{}/readings", person.0)
            },
            email_subject: mail.subject.clone(),
            email_body: if staff {
                mail.body_for_staff.clone()
            } else {
                mail.body_for_person.clone()
            },
        })
        .collect()
}

/// An alert rule that fired on a new reading: the rule (for its advice) and the alert.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Fired {
    pub rule: AlertRule,
    pub alert: Uuid,
    /// True when the alert was raised by this reading; false when it was already open and the reading was added.
    pub raised: bool,
}

/// What adding a reading did.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Added {
    Added {
        id: Uuid,
        fired: Vec<Fired>,
    },
    /// The person already has a reading of this measure at that moment: nothing was stored.
    Duplicate,
}

/// Inserts one reading inside an open transaction unless the person already has one of that measure at that
/// moment. Evaluates to the number of rows added (0 or 1).
macro_rules! insert_reading {
    ($tx:expr, $id:expr, $person:expr, $reading:expr, $taken:expr, $actor:expr, $now:expr) => {{
        let r: &NewReading<'_> = $reading;
        let cols = columns(r.measure, r.values);
        sqlx::query(
            "INSERT INTO readings (id, person_id, measure, taken_at, value_1, value_2, value_3, note, source, device, \
             entered_by, recorded_at) VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9, $10, $11, $12) \
             ON CONFLICT (person_id, measure, taken_at) DO NOTHING",
        )
        .bind($id)
        .bind($person.0)
        .bind(r.measure.code())
        .bind(DbTime($taken))
        .bind(cols[0])
        .bind(cols[1])
        .bind(cols[2])
        .bind(r.note)
        .bind(r.source)
        .bind(r.device)
        .bind($actor)
        .bind(DbTime($now))
        .execute($tx)
        .await
        .map(|done| done.rows_affected())
    }};
}

/// Records what happened to an alert, inside an open transaction.
macro_rules! insert_event {
    ($tx:expr, $alert:expr, $what:expr, $level:expr, $actor:expr, $now:expr) => {
        sqlx::query("INSERT INTO alert_events (id, alert_id, at, what, level, user_id) VALUES ($1, $2, $3, $4, $5, $6)")
            .bind(Uuid::now_v7())
            .bind($alert)
            .bind(DbTime($now))
            .bind($what)
            .bind($level.map(|l: Level| l.code()))
            .bind($actor)
            .execute($tx)
            .await
            .map(|_| ())
    };
}
pub(crate) use insert_event;

/// Checks one rule against a reading just inserted in the open transaction `$tx`, and raises or extends its alert.
/// Evaluates to `Ok(Option<Fired>)`.
macro_rules! evaluate_in_tx {
    ($tx:expr, $person:expr, $reading:expr, $taken:expr, $value:expr, $rule:expr, $version:expr, $recipients:expr,
     $mail:expr, $actor:expr, $now:expr) => {
        async {
            let rule: &AlertRule = $rule;
            let col = match rule.measure.components().iter().position(|c| c.key == rule.component) {
                Some(0) => "value_1",
                Some(1) => "value_2",
                Some(2) => "value_3",
                _ => return Ok(None),
            };
            let window = rule.window();
            let history: Vec<(Uuid, DbTime, Option<i64>)> = sqlx::query_as(sqlx::AssertSqlSafe(format!(
                "SELECT id, taken_at, {col} FROM readings WHERE person_id = $1 AND measure = $2 AND id <> $3 \
                 AND taken_at >= $4 AND taken_at <= $5"
            )))
            .bind($person.0)
            .bind(rule.measure.code())
            .bind($reading)
            .bind(DbTime($taken - window))
            .bind(DbTime($taken + window))
            .fetch_all(&mut *$tx)
            .await?;
            let points: Vec<(OffsetDateTime, Milli)> =
                history.iter().filter_map(|(_, t, v)| v.map(|v| (t.0, Milli(v)))).collect();
            if !rule.fires($taken, $value, &points) {
                return Ok(None);
            }
            let open: Option<Uuid> = sqlx::query_scalar(
                "SELECT id FROM alerts WHERE person_id = $1 AND rule_id = $2 AND status <> 'acknowledged' \
                 ORDER BY raised_at DESC LIMIT 1",
            )
            .bind($person.0)
            .bind(rule.id)
            .fetch_optional(&mut *$tx)
            .await?;
            let recipients: &Recipients = $recipients;
            let (alert, raised, linked) = match open {
                Some(alert) => (alert, false, vec![$reading]),
                None => {
                    let alert = Uuid::now_v7();
                    let level = recipients.first_from(rule.tell);
                    let escalate = (rule.escalate_after_hours > 0 && recipients.next_after(level).is_some())
                        .then(|| DbTime($now + Duration::hours(i64::from(rule.escalate_after_hours))));
                    sqlx::query(
                        "INSERT INTO alerts (id, person_id, rule_id, plan_version, instrument, measure, urgent, level, \
                         status, advice, raised_at, escalate_at, escalate_after_hours, snoozed_until, acknowledged_by, \
                         acknowledged_at, response_id) VALUES ($1, $2, $3, $4, NULL, $5, $6, $7, 'open', $8, $9, $10, \
                         $11, NULL, NULL, NULL, NULL)",
                    )
                    .bind(alert)
                    .bind($person.0)
                    .bind(rule.id)
                    .bind($version)
                    .bind(rule.measure.code())
                    .bind(rule.urgent)
                    .bind(level.code())
                    .bind(&rule.advice)
                    .bind(DbTime($now))
                    .bind(escalate)
                    .bind(i64::from(rule.escalate_after_hours))
                    .execute(&mut *$tx)
                    .await?;
                    insert_event!(&mut *$tx, alert, "raised", Some(level), $actor, $now)?;
                    notify_in_tx!(
                        $tx,
                        notices($person, level, recipients.at(level), $mail).iter(),
                        $now
                    )?;
                    // The readings across the threshold within the window, this one included.
                    let mut linked: Vec<Uuid> = history
                        .iter()
                        .filter(|(_, t, v)| {
                            v.is_some_and(|v| rule.breached_by(Milli(v))) && (t.0 - $taken).abs() <= window
                        })
                        .map(|(id, _, _)| *id)
                        .collect();
                    if rule.times <= 1 {
                        linked.clear();
                    }
                    linked.push($reading);
                    (alert, true, linked)
                }
            };
            for r in &linked {
                sqlx::query("INSERT INTO alert_readings (alert_id, reading_id) VALUES ($1, $2) ON CONFLICT DO NOTHING")
                    .bind(alert)
                    .bind(r)
                    .execute(&mut *$tx)
                    .await?;
            }
            if !raised {
                insert_event!(&mut *$tx, alert, "reading-added", None::<Level>, $actor, $now)?;
            }
            Ok::<_, sqlx::Error>(Some(Fired {
                rule: rule.clone(),
                alert,
                raised,
            }))
        }
        .await
    };
}

/// The agreed alert rules for one measure (and the plan version they come from), and who alerts would go to (looked
/// up only when there are rules).
async fn rules_for(
    db: &Db,
    person: PersonId,
    measure: Measure,
    now: OffsetDateTime,
) -> Result<(i64, Vec<AlertRule>, Recipients)> {
    let (version, rules) = plan_rules(db, person).await?;
    let rules: Vec<AlertRule> = rules.into_iter().filter(|r| r.measure == measure).collect();
    let recipients = if rules.is_empty() {
        Recipients::default()
    } else {
        recipients(db, person, now).await?
    };
    Ok((version, rules, recipients))
}

/// The work of [`add`] inside an open transaction `$tx`: stores the reading (with its body mass index for a weight),
/// then checks `$rules` against it and raises the alerts they call for. Shared by [`add`] (a transaction of its own)
/// and [`ReadingWriter`] (a savepoint in a transaction shared with other requests).
macro_rules! add_in_tx {
    ($tx:expr, $person:expr, $id:expr, $reading:expr, $actor:expr, $rules:expr, $version:expr, $recipients:expr,
     $mail:expr, $now:expr) => {
        async {
            let (person, id, reading, actor, now): (PersonId, Uuid, &NewReading<'_>, Option<Uuid>, OffsetDateTime) =
                ($person, $id, $reading, $actor, $now);
            let (rules, version, recipients, mail): (&[AlertRule], i64, &Recipients, &AlertMail) =
                ($rules, $version, $recipients, $mail);
            let taken = DbTime::truncate(reading.taken_at);
            // Readings for one person are added one at a time, so two readings at once both see each other.
            sqlx::query("UPDATE people SET id = id WHERE id = $1")
                .bind(person.0)
                .execute(&mut *$tx)
                .await?;
            let n = insert_reading!(&mut *$tx, id, person, reading, taken, actor, now)?;
            if n == 0 {
                return Ok::<_, sqlx::Error>(Added::Duplicate);
            }
            if reading.measure == Measure::Weight
                && let Some(weight) = reading.values.get("value")
            {
                let height: Option<Option<i64>> = sqlx::query_scalar(
                    "SELECT value_1 FROM readings WHERE person_id = $1 AND measure = 'height' \
                     ORDER BY taken_at DESC LIMIT 1",
                )
                .bind(person.0)
                .fetch_optional(&mut *$tx)
                .await?;
                if let Some(b) = height.flatten().and_then(|h| bmi(*weight, Milli(h))) {
                    sqlx::query(
                        "INSERT INTO readings (id, person_id, measure, taken_at, value_1, value_2, value_3, note, source, \
                         device, entered_by, recorded_at) VALUES ($1, $2, 'bmi', $3, $4, NULL, NULL, NULL, 'derived', \
                         NULL, $5, $6) ON CONFLICT (person_id, measure, taken_at) DO NOTHING",
                    )
                    .bind(Uuid::now_v7())
                    .bind(person.0)
                    .bind(DbTime(taken))
                    .bind(b.0)
                    .bind(actor)
                    .bind(DbTime(now))
                    .execute(&mut *$tx)
                    .await?;
                }
            }
            let mut fired = Vec::new();
            for rule in rules {
                let Some(value) = reading.values.get(rule.component.as_str()) else {
                    continue;
                };
                if let Some(f) = evaluate_in_tx!(
                    $tx,
                    person,
                    id,
                    taken,
                    *value,
                    rule,
                    version,
                    recipients,
                    mail,
                    actor,
                    now
                )? {
                    fired.push(f);
                }
            }
            Ok(Added::Added { id, fired })
        }
        .await
    };
}

/// Adds a reading, checks the person's agreed alert rules against it, and raises the alerts they call for, all in
/// one transaction. A weight also records the body mass index when the person has a height on record.
pub async fn add(
    db: &Db,
    grant: &Grant,
    reading: &NewReading<'_>,
    mail: &AlertMail,
    now: OffsetDateTime,
) -> Result<std::result::Result<Added, Denied>> {
    if !can(grant, Action::Write) {
        return Ok(Err(Denied));
    }
    let person = grant.person();
    let (version, rules, recipients) = rules_for(db, person, reading.measure, now).await?;
    let id = Uuid::now_v7();
    let actor = grant.actor().map(|u| u.0);
    let added = on_db!(db, write, |p| async {
        let mut tx = p.begin().await?;
        let added = add_in_tx!(tx, person, id, reading, actor, &rules, version, &recipients, mail, now)?;
        tx.commit().await?;
        Ok::<_, sqlx::Error>(added)
    }
    .await)?;
    Ok(Ok(added))
}

/// One reading waiting for [`ReadingWriter`]: what [`add`] is given, owned, with the rules read beforehand.
struct Job {
    person: PersonId,
    id: Uuid,
    measure: Measure,
    taken_at: OffsetDateTime,
    values: Values,
    note: Option<String>,
    source: &'static str,
    device: Option<String>,
    actor: Option<Uuid>,
    rules: Vec<AlertRule>,
    version: i64,
    recipients: Recipients,
    mail: AlertMail,
    now: OffsetDateTime,
    done: tokio::sync::oneshot::Sender<Result<Added>>,
}

/// Most readings committed together.
const GROUP_MAX: usize = 256;

/// Group commit for readings added one at a time (a page's form, an app's or a device's single Observation): each
/// caller waits until its reading is durable, but shares the transaction, and its fsync, with every reading waiting
/// at the same moment. Each reading runs in a savepoint of its own, so one that fails is undone alone and the others
/// are stored. What is stored, and the alerts raised, are exactly as [`add`] makes them. Cloning is cheap; the task
/// stops when the last clone is dropped.
#[derive(Clone)]
pub struct ReadingWriter {
    queue: tokio::sync::mpsc::Sender<Job>,
}

impl std::fmt::Debug for ReadingWriter {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str("ReadingWriter")
    }
}

impl ReadingWriter {
    /// Starts the writer task on the current runtime.
    pub fn start(db: Db) -> Self {
        let (queue, mut rx) = tokio::sync::mpsc::channel::<Job>(4 * GROUP_MAX);
        tokio::spawn(async move {
            while let Some(first) = rx.recv().await {
                commit_group(&db, crate::audit::waiting_with(first, &mut rx, GROUP_MAX)).await;
            }
        });
        Self { queue }
    }

    /// Like [`add`], sharing the commit with other readings added at the same moment.
    pub async fn add(
        &self,
        db: &Db,
        grant: &Grant,
        reading: &NewReading<'_>,
        mail: &AlertMail,
        now: OffsetDateTime,
    ) -> Result<std::result::Result<Added, Denied>> {
        if !can(grant, Action::Write) {
            return Ok(Err(Denied));
        }
        let person = grant.person();
        let (version, rules, recipients) = rules_for(db, person, reading.measure, now).await?;
        let (done, wait) = tokio::sync::oneshot::channel();
        let job = Job {
            person,
            id: Uuid::now_v7(),
            measure: reading.measure,
            taken_at: reading.taken_at,
            values: reading.values.clone(),
            note: reading.note.map(str::to_owned),
            source: reading.source,
            device: reading.device.map(str::to_owned),
            actor: grant.actor().map(|u| u.0),
            rules,
            version,
            recipients,
            mail: mail.clone(),
            now,
            done,
        };
        let stopped = || StoreError::Corrupt("the readings writer has stopped".into());
        self.queue.send(job).await.map_err(|_| stopped())?;
        Ok(Ok(wait.await.map_err(|_| stopped())??))
    }
}

/// Stores a group of readings in one transaction, each in its own savepoint, and tells each caller how theirs went.
async fn commit_group(db: &Db, jobs: Vec<Job>) {
    let outcome = on_db!(db, write, |p| async {
        let mut tx = p.begin().await?;
        let mut results = Vec::with_capacity(jobs.len());
        for job in &jobs {
            let reading = NewReading {
                measure: job.measure,
                taken_at: job.taken_at,
                values: &job.values,
                note: job.note.as_deref(),
                source: job.source,
                device: job.device.as_deref(),
            };
            let mut savepoint = sqlx::Connection::begin(&mut *tx).await?;
            let (rules, recipients) = (job.rules.as_slice(), &job.recipients);
            let added = add_in_tx!(
                savepoint,
                job.person,
                job.id,
                &reading,
                job.actor,
                rules,
                job.version,
                recipients,
                &job.mail,
                job.now
            );
            match added {
                Ok(added) => {
                    savepoint.commit().await?;
                    results.push(Ok(added));
                }
                Err(e) => {
                    savepoint.rollback().await?;
                    results.push(Err(StoreError::from(e)));
                }
            }
        }
        tx.commit().await?;
        Ok::<_, sqlx::Error>(results)
    }
    .await);
    match outcome {
        Ok(results) => {
            for (job, result) in jobs.into_iter().zip(results) {
                let _ = job.done.send(result);
            }
        }
        Err(e) => {
            let shared = e.to_string();
            for job in jobs {
                let _ = job
                    .done
                    .send(Err(StoreError::Corrupt(format!("storing readings failed: {shared}"))));
            }
        }
    }
}

/// What a batch of readings from a file did.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct BatchOutcome {
    pub added: usize,
    pub duplicates: usize,
    pub fired: Vec<Fired>,
    /// One per reading of the batch, in its order: the reading stored, or the one already held.
    pub items: Vec<BatchItem>,
}

/// What became of one reading of a batch.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct BatchItem {
    /// The new reading's id; for a duplicate, the id of the reading the person already has at that moment.
    pub id: Uuid,
    /// False when the person already had a reading of that measure at that moment (in the store or earlier in the
    /// batch): nothing was stored for it.
    pub added: bool,
}

/// Adds many readings (from a file or a device) in one transaction; those the person already has are skipped.
/// Alert rules are checked against the newest new reading of each measure, when it is recent enough for the rule
/// to matter now (within its window of today), so importing years of history does not raise years of alerts.
pub async fn add_batch(
    db: &Db,
    grant: &Grant,
    batch: &[NewReading<'_>],
    mail: &AlertMail,
    now: OffsetDateTime,
) -> Result<std::result::Result<BatchOutcome, Denied>> {
    if !can(grant, Action::Write) {
        return Ok(Err(Denied));
    }
    let person = grant.person();
    let (version, rules) = plan_rules(db, person).await?;
    let recipients = if rules.is_empty() {
        Recipients::default()
    } else {
        recipients(db, person, now).await?
    };
    let actor = grant.actor().map(|u| u.0);
    let outcome = on_db!(db, write, |p| async {
        let mut tx = p.begin().await?;
        sqlx::query("UPDATE people SET id = id WHERE id = $1")
            .bind(person.0)
            .execute(&mut *tx)
            .await?;
        let mut outcome = BatchOutcome::default();
        // The newest reading added of each measure: (id, taken, values).
        let mut newest: BTreeMap<Measure, (Uuid, OffsetDateTime, &Values)> = BTreeMap::new();
        for r in batch {
            let id = Uuid::now_v7();
            let taken = DbTime::truncate(r.taken_at);
            let n = insert_reading!(&mut *tx, id, person, r, taken, actor, now)?;
            if n == 0 {
                let held: Uuid = sqlx::query_scalar(
                    "SELECT id FROM readings WHERE person_id = $1 AND measure = $2 AND taken_at = $3",
                )
                .bind(person.0)
                .bind(r.measure.code())
                .bind(DbTime(taken))
                .fetch_one(&mut *tx)
                .await?;
                outcome.items.push(BatchItem { id: held, added: false });
                outcome.duplicates += 1;
                continue;
            }
            outcome.items.push(BatchItem { id, added: true });
            outcome.added += 1;
            if newest.get(&r.measure).is_none_or(|(_, t, _)| *t < taken) {
                newest.insert(r.measure, (id, taken, r.values));
            }
        }
        for rule in &rules {
            let Some((id, taken, values)) = newest.get(&rule.measure) else {
                continue;
            };
            let Some(value) = values.get(rule.component.as_str()) else {
                continue;
            };
            if now - *taken > rule.window() {
                continue;
            }
            if let Some(f) = evaluate_in_tx!(
                tx,
                person,
                *id,
                *taken,
                *value,
                rule,
                version,
                &recipients,
                mail,
                actor,
                now
            )? {
                outcome.fired.push(f);
            }
        }
        tx.commit().await?;
        Ok::<_, sqlx::Error>(outcome)
    }
    .await)?;
    Ok(Ok(outcome))
}

/// A correction of a reading: its new moment, values and note, replacing version `expected` (any version when
/// `None`). The measure stays what it was.
#[derive(Debug, Clone)]
pub struct Correction<'a> {
    pub id: Uuid,
    pub expected: Option<i64>,
    pub taken_at: OffsetDateTime,
    pub values: &'a Values,
    pub note: Option<&'a str>,
    pub device: Option<&'a str>,
}

/// What a correction did.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Corrected {
    /// The reading as it now is, and the alerts the correction raised or extended.
    Corrected { reading: Box<Reading>, fired: Vec<Fired> },
    /// The person has no reading with that id.
    NotFound,
    /// Someone else changed it first: the version it is at now.
    VersionConflict { current: i64 },
    /// The measure is not the reading's: a different measure is a different reading.
    OtherMeasure,
    /// The person already has another reading of that measure at the new moment.
    Clash,
}

/// Corrects one of the person's readings, keeping the version it replaces, and checks the agreed alert rules against
/// the corrected values, all in one transaction. The version check and the change are one statement, so two
/// corrections of the same version cannot both succeed.
pub async fn correct(
    db: &Db,
    grant: &Grant,
    measure: Measure,
    c: &Correction<'_>,
    mail: &AlertMail,
    now: OffsetDateTime,
) -> Result<std::result::Result<Corrected, Denied>> {
    if !can(grant, Action::Write) {
        return Ok(Err(Denied));
    }
    let person = grant.person();
    let (plan_version, rules, recipients) = rules_for(db, person, measure, now).await?;
    let actor = grant.actor().map(|u| u.0);
    let taken = DbTime::truncate(c.taken_at);
    let cols = columns(measure, c.values);
    let outcome = on_db!(db, write, |p| async {
        let mut tx = p.begin().await?;
        let current: Option<(String, i64)> =
            sqlx::query_as("SELECT measure, version FROM readings WHERE id = $1 AND person_id = $2")
                .bind(c.id)
                .bind(person.0)
                .fetch_optional(&mut *tx)
                .await?;
        let Some((stored_measure, version)) = current else {
            return Ok::<_, sqlx::Error>(Corrected::NotFound);
        };
        if stored_measure != measure.code() {
            return Ok(Corrected::OtherMeasure);
        }
        if c.expected.is_some_and(|e| e != version) {
            return Ok(Corrected::VersionConflict { current: version });
        }
        let clash: Option<Uuid> = sqlx::query_scalar(
            "SELECT id FROM readings WHERE person_id = $1 AND measure = $2 AND taken_at = $3 AND id <> $4",
        )
        .bind(person.0)
        .bind(measure.code())
        .bind(DbTime(taken))
        .bind(c.id)
        .fetch_optional(&mut *tx)
        .await?;
        if clash.is_some() {
            return Ok(Corrected::Clash);
        }
        sqlx::query(
            "INSERT INTO reading_versions (reading_id, version, measure, taken_at, value_1, value_2, value_3, note, \
             source, device, entered_by, recorded_at) SELECT id, version, measure, taken_at, value_1, value_2, \
             value_3, note, source, device, entered_by, recorded_at FROM readings WHERE id = $1",
        )
        .bind(c.id)
        .execute(&mut *tx)
        .await?;
        let changed = sqlx::query(
            "UPDATE readings SET taken_at = $1, value_1 = $2, value_2 = $3, value_3 = $4, note = $5, device = $6, \
             entered_by = $7, recorded_at = $8, version = version + 1 WHERE id = $9 AND version = $10",
        )
        .bind(DbTime(taken))
        .bind(cols[0])
        .bind(cols[1])
        .bind(cols[2])
        .bind(c.note)
        .bind(c.device)
        .bind(actor)
        .bind(DbTime(now))
        .bind(c.id)
        .bind(version)
        .execute(&mut *tx)
        .await?
        .rows_affected();
        if changed == 0 {
            // Another correction committed between the read and the update: nothing of this one is kept.
            return Ok(Corrected::VersionConflict { current: version + 1 });
        }
        let mut fired = Vec::new();
        for rule in &rules {
            let Some(value) = c.values.get(rule.component.as_str()) else {
                continue;
            };
            if let Some(f) = evaluate_in_tx!(
                tx,
                person,
                c.id,
                taken,
                *value,
                rule,
                plan_version,
                &recipients,
                mail,
                actor,
                now
            )? {
                fired.push(f);
            }
        }
        let row: Row = sqlx::query_as(sqlx::AssertSqlSafe(format!("SELECT {COLUMNS} WHERE r.id = $1")))
            .bind(c.id)
            .fetch_one(&mut *tx)
            .await?;
        tx.commit().await?;
        Ok(Corrected::Corrected {
            reading: Box::new(Reading::try_from(row).map_err(|e| sqlx::Error::Decode(Box::new(e)))?),
            fired,
        })
    }
    .await)?;
    Ok(Ok(outcome))
}

/// Every version of one of the person's readings, newest first: the current one, then those it replaced. Empty
/// when the person has no reading with that id.
pub async fn versions(db: &Db, grant: &Grant, id: Uuid) -> Result<std::result::Result<Vec<Reading>, Denied>> {
    let current = match by_ids(db, grant, &[id]).await? {
        Ok(found) => found,
        Err(denied) => return Ok(Err(denied)),
    };
    let Some(current) = current.into_iter().next() else {
        return Ok(Ok(Vec::new()));
    };
    let rows: Vec<Row> = on_db!(db, read, |p| sqlx::query_as(
        "SELECT r.reading_id AS id, r.measure, r.taken_at, r.value_1, r.value_2, r.value_3, r.note, r.source, \
         r.device, u.display_name AS entered_by, r.recorded_at, r.version FROM reading_versions r \
         LEFT JOIN users u ON u.id = r.entered_by WHERE r.reading_id = $1 ORDER BY r.version DESC"
    )
    .bind(id)
    .fetch_all(p)
    .await)?;
    let mut out = vec![current];
    for row in rows {
        out.push(Reading::try_from(row)?);
    }
    Ok(Ok(out))
}
