//! The care and support plan: numbered versions of one document per person, agreements by side, goal progress and
//! the person's preparation for their review. Every function takes a [`Grant`] for the care plan section (writes
//! need a write grant); edits name the version they started from, so two people editing at once cannot overwrite
//! each other: the second is told the plan has changed.

use carepact_domain::care_plan::{Agreement, Attainment, PlanDoc, Side, agreement};
use carepact_domain::consent::{Action, Section};
use time::{Date, OffsetDateTime};
use uuid::Uuid;

use crate::access::{Denied, Grant};
use crate::{Db, DbTime, Result, StoreError, on_db};

fn can(grant: &Grant, action: Action) -> bool {
    grant.section() == Section::CarePlan && (action == Action::Read || grant.action() == Action::Write)
}

/// One version as stored.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Version {
    pub number: i64,
    pub doc: PlanDoc,
    pub author_name: Option<String>,
    pub author_role: String,
    pub organisation_name: Option<String>,
    pub created_at: DbTime,
}

/// One agreement to a version.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Agreed {
    pub version: i64,
    pub side: Side,
    pub name: Option<String>,
    pub at: DbTime,
}

/// A progress note on a goal, with the goal-attainment rating given at the time.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Progress {
    pub goal: Uuid,
    pub note: String,
    pub attainment: Option<Attainment>,
    pub author_name: Option<String>,
    pub at: DbTime,
}

/// The plan as pages show it.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Plan {
    pub id: Uuid,
    pub latest: Version,
    pub agreements: Vec<Agreed>,
    pub agreement: Agreement,
    pub progress: Vec<Progress>,
    /// "What I want to talk about" at the next review, and when it was written.
    pub preparation: Option<(String, DbTime)>,
}

/// goal, note, attainment, author, when.
type ProgressRow = (Uuid, String, Option<i32>, Option<String>, DbTime);

#[derive(sqlx::FromRow)]
struct VersionRow {
    version: i64,
    content: String,
    author_name: Option<String>,
    author_role: String,
    organisation_name: Option<String>,
    created_at: DbTime,
}

impl VersionRow {
    fn into_version(self) -> Result<Version> {
        Ok(Version {
            number: self.version,
            doc: serde_json::from_str(&self.content).map_err(|e| StoreError::Corrupt(format!("care plan: {e}")))?,
            author_name: self.author_name,
            author_role: self.author_role,
            organisation_name: self.organisation_name,
            created_at: self.created_at,
        })
    }
}

const VERSION_COLUMNS: &str = "v.version, v.content, u.display_name AS author_name, v.author_role, \
    o.name AS organisation_name, v.created_at FROM care_plan_versions v LEFT JOIN users u ON u.id = v.author_id \
    LEFT JOIN organisations o ON o.id = v.organisation_id";

async fn plan_id(db: &Db, grant: &Grant) -> Result<Option<(Uuid, i64)>> {
    Ok(on_db!(db, read, |p| sqlx::query_as(
        "SELECT id, latest_version FROM care_plans WHERE person_id = $1"
    )
    .bind(grant.person().0)
    .fetch_optional(p)
    .await)?)
}

async fn load_version(db: &Db, plan: Uuid, number: i64) -> Result<Option<Version>> {
    let row: Option<VersionRow> = on_db!(db, read, |p| sqlx::query_as(sqlx::AssertSqlSafe(format!(
        "SELECT {VERSION_COLUMNS} WHERE v.plan_id = $1 AND v.version = $2"
    )))
    .bind(plan)
    .bind(number)
    .fetch_optional(p)
    .await)?;
    row.map(VersionRow::into_version).transpose()
}

fn parse_side(code: &str) -> Option<Side> {
    match code {
        "person" => Some(Side::Person),
        "professional" => Some(Side::Professional),
        _ => None,
    }
}

/// The person's plan, or `None` when nobody has started one.
pub async fn get(db: &Db, grant: &Grant) -> Result<std::result::Result<Option<Plan>, Denied>> {
    if !can(grant, Action::Read) {
        return Ok(Err(Denied));
    }
    let Some((id, latest)) = plan_id(db, grant).await? else {
        return Ok(Ok(None));
    };
    let latest = load_version(db, id, latest)
        .await?
        .ok_or_else(|| StoreError::Corrupt("care plan without its latest version".into()))?;
    let rows: Vec<(i64, String, Option<String>, DbTime)> = on_db!(db, read, |p| sqlx::query_as(
        "SELECT a.version, a.side, u.display_name, a.agreed_at FROM care_plan_agreements a \
         LEFT JOIN users u ON u.id = a.user_id WHERE a.plan_id = $1 ORDER BY a.version, a.agreed_at"
    )
    .bind(id)
    .fetch_all(p)
    .await)?;
    let agreements: Vec<Agreed> = rows
        .into_iter()
        .filter_map(|(version, s, name, at)| {
            Some(Agreed {
                version,
                side: parse_side(&s)?,
                name,
                at,
            })
        })
        .collect();
    let pairs: Vec<(i64, Side)> = agreements.iter().map(|a| (a.version, a.side)).collect();
    let progress: Vec<ProgressRow> = on_db!(db, read, |p| sqlx::query_as(
        "SELECT g.goal_id, g.note, g.attainment, u.display_name, g.created_at FROM goal_progress g \
         LEFT JOIN users u ON u.id = g.author_id WHERE g.plan_id = $1 ORDER BY g.created_at DESC"
    )
    .bind(id)
    .fetch_all(p)
    .await)?;
    let preparation: Option<(String, DbTime)> = on_db!(db, read, |p| sqlx::query_as(
        "SELECT body, updated_at FROM review_preparations WHERE plan_id = $1"
    )
    .bind(id)
    .fetch_optional(p)
    .await)?;
    Ok(Ok(Some(Plan {
        id,
        agreement: agreement(latest.number, &pairs),
        latest,
        agreements,
        progress: progress
            .into_iter()
            .map(|(goal, note, attainment, author_name, at)| Progress {
                goal,
                note,
                attainment: attainment.and_then(|a| i8::try_from(a).ok()).and_then(Attainment::new),
                author_name,
                at,
            })
            .collect(),
        preparation,
    })))
}

/// Every version, newest first, without their content.
pub async fn versions(db: &Db, grant: &Grant) -> Result<std::result::Result<Vec<Version>, Denied>> {
    if !can(grant, Action::Read) {
        return Ok(Err(Denied));
    }
    let Some((id, _)) = plan_id(db, grant).await? else {
        return Ok(Ok(Vec::new()));
    };
    let rows: Vec<VersionRow> = on_db!(db, read, |p| sqlx::query_as(sqlx::AssertSqlSafe(format!(
        "SELECT {VERSION_COLUMNS} WHERE v.plan_id = $1 ORDER BY v.version DESC"
    )))
    .bind(id)
    .fetch_all(p)
    .await)?;
    Ok(Ok(rows
        .into_iter()
        .map(VersionRow::into_version)
        .collect::<Result<_>>()?))
}

/// One version of the plan.
pub async fn version(db: &Db, grant: &Grant, number: i64) -> Result<std::result::Result<Option<Version>, Denied>> {
    if !can(grant, Action::Read) {
        return Ok(Err(Denied));
    }
    let Some((id, _)) = plan_id(db, grant).await? else {
        return Ok(Ok(None));
    };
    Ok(Ok(load_version(db, id, number).await?))
}

/// Why a change was not made.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Refused {
    Denied,
    /// Someone changed the plan since `expected`: the latest version is this.
    Changed {
        latest: i64,
    },
}

/// Who is writing: for the version's author columns.
#[derive(Debug, Clone)]
pub struct Author {
    /// "person", "professional", "carer"…
    pub role: &'static str,
    pub organisation: Option<Uuid>,
}

/// Saves `doc` as the next version after `expected` (0 when starting the plan). Saving what is already the latest
/// version changes nothing. Returns the latest version number.
pub async fn save(
    db: &Db,
    grant: &Grant,
    expected: i64,
    doc: &PlanDoc,
    author: &Author,
    now: OffsetDateTime,
) -> Result<std::result::Result<i64, Refused>> {
    if !can(grant, Action::Write) {
        return Ok(Err(Refused::Denied));
    }
    let existing = plan_id(db, grant).await?;
    if let Some((id, latest)) = existing {
        if latest != expected {
            return Ok(Err(Refused::Changed { latest }));
        }
        if load_version(db, id, latest).await?.is_some_and(|v| v.doc == *doc) {
            return Ok(Ok(latest));
        }
    } else if expected != 0 {
        return Ok(Err(Refused::Changed { latest: 0 }));
    }
    let content = serde_json::to_string(doc).map_err(|e| StoreError::Corrupt(format!("care plan: {e}")))?;
    let review = doc.review_date.map(iso);
    let next = expected + 1;
    let person = grant.person().0;
    let actor = grant.actor().map(|u| u.0);
    let saved = on_db!(db, write, |p| async {
        let mut tx = p.begin().await?;
        let id = match existing {
            None => {
                let id = Uuid::now_v7();
                // A plan started by two people at once: the second insert finds the first.
                let n = sqlx::query(
                    "INSERT INTO care_plans (id, person_id, latest_version, review_date, created_at, updated_at) \
                     VALUES ($1, $2, 1, $3, $4, $4) ON CONFLICT (person_id) DO NOTHING",
                )
                .bind(id)
                .bind(person)
                .bind(&review)
                .bind(DbTime(now))
                .execute(&mut *tx)
                .await?
                .rows_affected();
                if n == 0 {
                    return Ok::<_, sqlx::Error>(None);
                }
                id
            }
            Some((id, _)) => {
                let n = sqlx::query(
                    "UPDATE care_plans SET latest_version = $2, review_date = $3, updated_at = $4 \
                     WHERE id = $1 AND latest_version = $5",
                )
                .bind(id)
                .bind(next)
                .bind(&review)
                .bind(DbTime(now))
                .bind(expected)
                .execute(&mut *tx)
                .await?
                .rows_affected();
                if n == 0 {
                    return Ok(None);
                }
                id
            }
        };
        sqlx::query(
            "INSERT INTO care_plan_versions (plan_id, version, author_id, author_role, organisation_id, content, \
             created_at) VALUES ($1, $2, $3, $4, $5, $6, $7)",
        )
        .bind(id)
        .bind(next)
        .bind(actor)
        .bind(author.role)
        .bind(author.organisation)
        .bind(&content)
        .bind(DbTime(now))
        .execute(&mut *tx)
        .await?;
        tx.commit().await?;
        Ok(Some(next))
    }
    .await)?;
    match saved {
        Some(n) => Ok(Ok(n)),
        None => {
            let latest = plan_id(db, grant).await?.map(|(_, v)| v).unwrap_or(0);
            Ok(Err(Refused::Changed { latest }))
        }
    }
}

fn iso(d: Date) -> String {
    format!("{:04}-{:02}-{:02}", d.year(), u8::from(d.month()), d.day())
}

/// Agrees `version` on `side`: the person on their own plan, a professional on theirs. Only the latest version
/// can be agreed; agreeing one already agreed on that side changes nothing. Returns where the plan then stands.
pub async fn agree(
    db: &Db,
    grant: &Grant,
    version: i64,
    side: Side,
    now: OffsetDateTime,
) -> Result<std::result::Result<Agreement, Refused>> {
    let allowed = match side {
        Side::Person => grant.is_owner(),
        Side::Professional => !grant.is_owner() && grant.actor().is_some(),
    };
    if !can(grant, Action::Write) || !allowed {
        return Ok(Err(Refused::Denied));
    }
    let Some((id, latest)) = plan_id(db, grant).await? else {
        return Ok(Err(Refused::Changed { latest: 0 }));
    };
    let Some(actor) = grant.actor() else {
        return Ok(Err(Refused::Denied));
    };
    let written = on_db!(db, write, |p| async {
        let mut tx = p.begin().await?;
        // Checked inside the transaction: an edit that lands first makes this agreement refer to an old version.
        let current: i64 = sqlx::query_scalar("SELECT latest_version FROM care_plans WHERE id = $1")
            .bind(id)
            .fetch_one(&mut *tx)
            .await?;
        if current != version {
            return Ok::<_, sqlx::Error>(Some(current));
        }
        sqlx::query(
            "INSERT INTO care_plan_agreements (plan_id, version, side, user_id, agreed_at) VALUES ($1, $2, $3, $4, $5) \
             ON CONFLICT (plan_id, version, side) DO NOTHING",
        )
        .bind(id)
        .bind(version)
        .bind(side.code())
        .bind(actor.0)
        .bind(DbTime(now))
        .execute(&mut *tx)
        .await?;
        tx.commit().await?;
        Ok(None)
    }
    .await)?;
    if let Some(latest) = written {
        return Ok(Err(Refused::Changed { latest }));
    }
    let _ = latest;
    let pairs: Vec<(i64, String)> = on_db!(db, read, |p| sqlx::query_as(
        "SELECT version, side FROM care_plan_agreements WHERE plan_id = $1"
    )
    .bind(id)
    .fetch_all(p)
    .await)?;
    let pairs: Vec<(i64, Side)> = pairs
        .into_iter()
        .filter_map(|(v, s)| Some((v, parse_side(&s)?)))
        .collect();
    Ok(Ok(agreement(version, &pairs)))
}

/// Adds a progress note (and optionally a goal-attainment rating) to one of the plan's goals.
pub async fn add_progress(
    db: &Db,
    grant: &Grant,
    goal: Uuid,
    note: &str,
    attainment: Option<Attainment>,
    now: OffsetDateTime,
) -> Result<std::result::Result<bool, Denied>> {
    if !can(grant, Action::Write) {
        return Ok(Err(Denied));
    }
    let Some((id, latest)) = plan_id(db, grant).await? else {
        return Ok(Ok(false));
    };
    let known = load_version(db, id, latest)
        .await?
        .is_some_and(|v| v.doc.goals.iter().any(|g| g.id == goal));
    if !known {
        return Ok(Ok(false));
    }
    on_db!(db, write, |p| sqlx::query(
        "INSERT INTO goal_progress (id, plan_id, goal_id, author_id, note, attainment, created_at) \
         VALUES ($1, $2, $3, $4, $5, $6, $7)"
    )
    .bind(Uuid::now_v7())
    .bind(id)
    .bind(goal)
    .bind(grant.actor().map(|u| u.0))
    .bind(note)
    .bind(attainment.map(|a| i32::from(a.value())))
    .bind(DbTime(now))
    .execute(p)
    .await
    .map(|_| ()))?;
    Ok(Ok(true))
}

/// The person's "what I want to talk about" for their next review. Only the person (or someone writing for them
/// with consent) writes it; it replaces what was there.
pub async fn prepare(
    db: &Db,
    grant: &Grant,
    body: &str,
    now: OffsetDateTime,
) -> Result<std::result::Result<bool, Denied>> {
    if !can(grant, Action::Write) {
        return Ok(Err(Denied));
    }
    let Some((id, _)) = plan_id(db, grant).await? else {
        return Ok(Ok(false));
    };
    on_db!(db, write, |p| sqlx::query(
        "INSERT INTO review_preparations (plan_id, body, author_id, updated_at) VALUES ($1, $2, $3, $4) \
         ON CONFLICT (plan_id) DO UPDATE SET body = excluded.body, author_id = excluded.author_id, \
         updated_at = excluded.updated_at"
    )
    .bind(id)
    .bind(body)
    .bind(grant.actor().map(|u| u.0))
    .bind(DbTime(now))
    .execute(p)
    .await
    .map(|_| ()))?;
    Ok(Ok(true))
}

/// Plans whose review date has passed and that have not been flagged for that date: (plan, person, review date).
/// Ids only; reading anything else goes through the choke point.
pub async fn overdue_unflagged(db: &Db, today: Date) -> Result<Vec<(Uuid, Uuid, String)>> {
    Ok(on_db!(db, read, |p| sqlx::query_as(
        "SELECT p.id, p.person_id, p.review_date FROM care_plans p WHERE p.review_date IS NOT NULL \
         AND p.review_date < $1 AND NOT EXISTS (SELECT 1 FROM care_plan_review_flags f \
         WHERE f.plan_id = p.id AND f.review_date = p.review_date) ORDER BY p.review_date"
    )
    .bind(iso(today))
    .fetch_all(p)
    .await)?)
}

/// Flags one overdue review: records it, and sends the notices, in one transaction; a second call for the same
/// plan and date (another node got there first) does nothing. Returns whether this call flagged it.
pub async fn flag_overdue(
    db: &Db,
    plan: Uuid,
    review_date: &str,
    notices: &[crate::messages::Notice],
    now: OffsetDateTime,
) -> Result<bool> {
    use crate::messages::notify_in_tx;
    use crate::outbox::insert_email;
    Ok(on_db!(db, write, |p| async {
        let mut tx = p.begin().await?;
        let n = sqlx::query(
            "INSERT INTO care_plan_review_flags (plan_id, review_date, flagged_at) VALUES ($1, $2, $3) \
             ON CONFLICT (plan_id, review_date) DO NOTHING",
        )
        .bind(plan)
        .bind(review_date)
        .bind(DbTime(now))
        .execute(&mut *tx)
        .await?
        .rows_affected();
        if n == 1 {
            notify_in_tx!(tx, notices, now)?;
        }
        tx.commit().await?;
        Ok::<_, sqlx::Error>(n == 1)
    }
    .await)?)
}
