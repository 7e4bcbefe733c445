//! Bulk writes for `carepact seed`: a synthetic population written many rows per statement, one chunk of people
//! per transaction.
//!
//! The seeder holds the one writer connection for the whole run, so its settings stay with it: on SQLite
//! `synchronous = NORMAL` (in WAL mode a crash can lose the last chunks, never corrupt the file; seeding is simply
//! run again) and a larger page cache; on PostgreSQL `synchronous_commit = off` (the same trade). [`Seeder::finish`]
//! puts them back, checkpoints SQLite's WAL and runs `ANALYZE` on PostgreSQL so the planner knows the new sizes.
//!
//! Rows are plain data made by the generator; nothing here decides what a person's data looks like. Each chunk is
//! written in foreign-key order in one transaction: it is stored whole or not at all. Statements carry as many rows
//! as SQLite's limit of 32,766 bound values allows (PostgreSQL's is 65,535), and repeat the same text for every
//! full statement, so each is prepared once per run. A person's audit chain starts with the chunk's event for
//! them; a chain that already exists is refused by its primary key, so seeding never forks a chain.

use std::collections::BTreeMap;

use carepact_domain::audit::{Event, GENESIS, chain_hash};
use carepact_domain::consent::{Grantee, Labels, Sections};
use carepact_domain::identity::{OrganisationKind, Role};
use sqlx::Connection;
use sqlx::pool::PoolConnection;
use sqlx::{Postgres, Sqlite};
use time::{Date, OffsetDateTime};
use uuid::Uuid;

use crate::{Backend, Db, DbTime, Result, on_db};

/// An organisation (GP practice, community service…).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Organisation {
    pub id: Uuid,
    pub name: String,
    pub kind: OrganisationKind,
    pub created_at: OffsetDateTime,
}

/// A user account: staff of an organisation, or a person. No password hash means they cannot sign in.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct User {
    pub id: Uuid,
    pub email: String,
    pub display_name: String,
    pub roles: Vec<Role>,
    pub organisation: Option<Uuid>,
    pub password_hash: Option<String>,
    pub created_at: OffsetDateTime,
}

/// A professional's usual reply time.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Availability {
    pub user: Uuid,
    pub reply_within_days: i32,
    pub updated_at: OffsetDateTime,
}

/// A person (the owner of a record).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Person {
    pub id: Uuid,
    pub user: Option<Uuid>,
    /// Ten digits, already checked.
    pub nhs_number: String,
    pub given_name: String,
    pub family_name: String,
    pub preferred_name: Option<String>,
    pub date_of_birth: Date,
    pub email: Option<String>,
    pub phone: Option<String>,
    pub communication_needs: Option<String>,
    pub named_contact: Option<Uuid>,
    pub created_at: OffsetDateTime,
}

/// A consent the person has given.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Consent {
    pub id: Uuid,
    pub person: Uuid,
    pub grantee: Grantee,
    pub sections: Sections,
    pub labels: Labels,
    pub write: bool,
    pub starts: OffsetDateTime,
    pub created_at: OffsetDateTime,
}

/// An active member of the person's care team, with the consent given with the membership.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct TeamMember {
    pub id: Uuid,
    pub person: Uuid,
    pub user: Uuid,
    pub organisation: Option<Uuid>,
    pub role_text: String,
    pub consent: Uuid,
    pub named_contact: bool,
    pub created_at: OffsetDateTime,
}

/// One import of a record (the practice's file), as `record::import` writes it.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct RecordImport {
    pub id: Uuid,
    pub person: Uuid,
    pub organisation: Option<Uuid>,
    pub source: String,
    pub format: &'static str,
    pub added: i64,
    pub created_at: OffsetDateTime,
}

/// One item of the record: a checked FHIR resource, stored as the importer stores it.
#[derive(Debug, Clone)]
pub struct RecordItem {
    pub id: Uuid,
    pub person: Uuid,
    pub import: Uuid,
    pub supplier: Option<Uuid>,
    /// The source system the item belongs to (its `meta.source`, else the Bundle's).
    pub source: String,
    pub item: carepact_fhir::Item,
    pub created_at: OffsetDateTime,
}

/// A resolved reference between two items.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct RecordLink {
    pub from: Uuid,
    pub path: String,
    pub to: Uuid,
}

/// A care plan with its one version (JSON of `PlanDoc`) and the sides that agreed it.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Plan {
    pub id: Uuid,
    pub person: Uuid,
    /// YYYY-MM-DD.
    pub review_date: Option<String>,
    pub content: String,
    pub author: Uuid,
    pub author_role: &'static str,
    pub organisation: Option<Uuid>,
    pub created_at: OffsetDateTime,
    /// (side code, user, when).
    pub agreements: Vec<(&'static str, Uuid, OffsetDateTime)>,
}

/// A reading: `values` are the measure's components in catalogue order, in thousandths.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Reading {
    pub id: Uuid,
    pub person: Uuid,
    pub measure: &'static str,
    pub taken_at: OffsetDateTime,
    pub values: [Option<i64>; 3],
    pub source: &'static str,
    pub device: Option<&'static str>,
    pub entered_by: Option<Uuid>,
    pub recorded_at: OffsetDateTime,
}

/// A questionnaire a professional asked the person to answer, repeating.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Assignment {
    pub id: Uuid,
    pub person: Uuid,
    pub questionnaire: Uuid,
    pub assigned_by: Uuid,
    pub assigned_at: OffsetDateTime,
    pub every_days: Option<i64>,
    pub next_due: OffsetDateTime,
    /// Set to `next_due` when the person has already been reminded for it.
    pub reminded_for: Option<OffsetDateTime>,
}

/// A questionnaire response with its score.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Response {
    pub id: Uuid,
    pub person: Uuid,
    pub questionnaire: Uuid,
    pub assignment: Option<Uuid>,
    pub authored_at: OffsetDateTime,
    pub entered_by: Option<Uuid>,
    pub source: &'static str,
    pub answers: String,
    pub score: Option<String>,
    pub headline: Option<i64>,
    pub urgent: bool,
}

/// A message thread.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Thread {
    pub id: Uuid,
    pub person: Uuid,
    pub subject: String,
    pub assigned: Uuid,
    pub created_by: Uuid,
    pub created_at: OffsetDateTime,
    pub updated_at: OffsetDateTime,
}

/// A message in a thread.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Message {
    pub id: Uuid,
    pub thread: Uuid,
    pub author: Option<Uuid>,
    pub author_role: &'static str,
    pub body: String,
    pub created_at: OffsetDateTime,
}

/// When a user last read a thread.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct MessageRead {
    pub thread: Uuid,
    pub user: Uuid,
    pub read_at: OffsetDateTime,
}

/// An alert, as the rules (or a questionnaire) raised it and as it now stands.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Alert {
    pub id: Uuid,
    pub person: Uuid,
    pub rule: Option<Uuid>,
    pub plan_version: Option<i64>,
    pub instrument: Option<&'static str>,
    pub measure: Option<&'static str>,
    pub urgent: bool,
    pub level: &'static str,
    pub status: &'static str,
    pub advice: String,
    pub raised_at: OffsetDateTime,
    pub escalate_at: Option<OffsetDateTime>,
    pub escalate_after_hours: i64,
    pub acknowledged_by: Option<Uuid>,
    pub acknowledged_at: Option<OffsetDateTime>,
    pub response: Option<Uuid>,
}

/// What happened to an alert.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct AlertEvent {
    pub id: Uuid,
    pub alert: Uuid,
    pub at: OffsetDateTime,
    pub what: &'static str,
    pub level: Option<&'static str>,
    pub user: Option<Uuid>,
}

/// Everything written in one transaction.
#[derive(Debug, Clone, Default)]
pub struct Chunk {
    pub organisations: Vec<Organisation>,
    pub users: Vec<User>,
    pub availability: Vec<Availability>,
    pub people: Vec<Person>,
    pub consents: Vec<Consent>,
    pub team: Vec<TeamMember>,
    pub imports: Vec<RecordImport>,
    pub items: Vec<RecordItem>,
    pub links: Vec<RecordLink>,
    pub plans: Vec<Plan>,
    pub readings: Vec<Reading>,
    pub assignments: Vec<Assignment>,
    pub responses: Vec<Response>,
    pub threads: Vec<Thread>,
    pub messages: Vec<Message>,
    pub reads: Vec<MessageRead>,
    pub alerts: Vec<Alert>,
    /// (alert, reading).
    pub alert_readings: Vec<(Uuid, Uuid)>,
    pub alert_events: Vec<AlertEvent>,
    /// Each starts (or continues, within the chunk) its person's chain, which must not exist yet.
    pub audit: Vec<Event>,
}

impl Chunk {
    /// Rows in the chunk, for progress reports.
    pub fn rows(&self) -> usize {
        self.organisations.len()
            + self.users.len()
            + self.availability.len()
            + self.people.len()
            + self.consents.len()
            + self.team.len()
            + self.imports.len()
            + self.items.len()
            + self.links.len()
            + self.plans.iter().map(|p| 2 + p.agreements.len()).sum::<usize>()
            + self.readings.len()
            + self.assignments.len()
            + self.responses.len()
            + self.threads.len()
            + self.messages.len()
            + self.reads.len()
            + self.alerts.len()
            + self.alert_readings.len()
            + self.alert_events.len()
            + self.audit.len()
    }
}

/// How many people the database holds.
pub async fn people_count(db: &Db) -> Result<i64> {
    Ok(on_db!(db, read, |p| sqlx::query_scalar("SELECT COUNT(*) FROM people")
        .fetch_one(p)
        .await)?)
}

/// The highest NHS number in `[low, high]` (ten digits each), for carrying on where an earlier seeding stopped.
pub async fn highest_nhs_number(db: &Db, low: &str, high: &str) -> Result<Option<String>> {
    Ok(on_db!(db, read, |p| sqlx::query_scalar(
        "SELECT MAX(nhs_number) FROM people WHERE nhs_number >= $1 AND nhs_number <= $2"
    )
    .bind(low)
    .bind(high)
    .fetch_one(p)
    .await)?)
}

/// The ids of the users with these email addresses (those that exist).
pub async fn user_ids(db: &Db, emails: &[String]) -> Result<BTreeMap<String, Uuid>> {
    let mut out = BTreeMap::new();
    for email in emails {
        let id: Option<Uuid> = on_db!(db, read, |p| sqlx::query_scalar(
            "SELECT id FROM users WHERE email = $1"
        )
        .bind(email)
        .fetch_optional(p)
        .await)?;
        if let Some(id) = id {
            out.insert(email.clone(), id);
        }
    }
    Ok(out)
}

/// The ids of the built-in questionnaires, by instrument code.
pub async fn builtin_questionnaires(db: &Db) -> Result<BTreeMap<String, Uuid>> {
    let rows: Vec<(String, Uuid)> = on_db!(db, read, |p| sqlx::query_as(
        "SELECT instrument, id FROM questionnaires WHERE instrument IS NOT NULL AND organisation_id IS NULL \
         ORDER BY loaded_at"
    )
    .fetch_all(p)
    .await)?;
    // The newest version of each wins.
    Ok(rows.into_iter().collect())
}

/// The database's size in bytes: SQLite's pages in the main file, PostgreSQL's `pg_database_size`.
pub async fn database_bytes(db: &Db) -> Result<Option<i64>> {
    let bytes: i64 = match db {
        Db::Sqlite { reader, .. } => {
            sqlx::query_scalar("SELECT page_count * page_size FROM pragma_page_count(), pragma_page_size()")
                .fetch_one(reader)
                .await?
        }
        Db::Postgres { pool, .. } => {
            sqlx::query_scalar("SELECT pg_database_size(current_database())")
                .fetch_one(pool)
                .await?
        }
    };
    Ok(Some(bytes))
}

/// The one writer connection, held for the whole run with the seeding settings.
pub struct Seeder {
    conn: Conn,
}

enum Conn {
    Sqlite(PoolConnection<Sqlite>),
    Postgres(PoolConnection<Postgres>),
}

/// The most bound values in one SQLite statement.
const SQLITE_MAX_VARIABLES: usize = 32_766;
/// The most rows in one statement, whatever the width.
const MAX_ROWS_PER_STATEMENT: usize = 2_000;

fn rows_per_statement(columns: usize) -> usize {
    (SQLITE_MAX_VARIABLES / columns).clamp(1, MAX_ROWS_PER_STATEMENT)
}

/// `INSERT INTO … VALUES (…), (…)` for `rows` rows of `columns` values. SQLite gets anonymous `?` placeholders:
/// it looks each `$N` up by name in a list, which makes a statement of thousands of values take seconds to prepare.
fn values_sql(backend: Backend, head: &str, columns: usize, rows: usize) -> String {
    let mut sql = String::with_capacity(head.len() + rows * columns * 7);
    sql.push_str(head);
    sql.push_str(" VALUES ");
    let mut n = 0;
    for r in 0..rows {
        if r > 0 {
            sql.push_str(", ");
        }
        sql.push('(');
        for c in 0..columns {
            if c > 0 {
                sql.push_str(", ");
            }
            n += 1;
            match backend {
                Backend::Sqlite => sql.push('?'),
                Backend::Postgres => {
                    sql.push('$');
                    sql.push_str(&n.to_string());
                }
            }
        }
        sql.push(')');
    }
    sql
}

/// Inserts `$rows` into the open transaction `$tx`, as many to a statement as fit; `$bind` binds one row `$r` to
/// the query `$q` (in column order) and evaluates to the query.
macro_rules! insert_rows {
    ($tx:expr, $backend:expr, $head:literal, $columns:literal, $rows:expr, |$q:ident, $r:ident| $bind:expr) => {{
        for part in $rows.chunks(rows_per_statement($columns)) {
            let mut $q = sqlx::query(sqlx::AssertSqlSafe(values_sql($backend, $head, $columns, part.len())));
            for $r in part {
                $q = $bind;
            }
            $q.execute(&mut *$tx).await?;
        }
    }};
}

fn grantee_columns(g: Grantee) -> (&'static str, Option<Uuid>, Option<Uuid>) {
    crate::consents::grantee_columns(g)
}

/// One audit event with its place in its chain.
struct Chained<'a> {
    event: &'a Event,
    seq: i64,
    prev: [u8; 32],
    hash: [u8; 32],
}

/// A chain's newest position and hash.
type Head = (Uuid, i64, [u8; 32]);

/// Chains the events: each chain starts from the genesis hash, in the order its events come.
fn chain(events: &[Event]) -> (Vec<Chained<'_>>, Vec<Head>) {
    let mut heads: BTreeMap<Uuid, (i64, [u8; 32])> = BTreeMap::new();
    let mut out = Vec::with_capacity(events.len());
    for event in events {
        let (seq, prev) = heads.get(&event.chain()).copied().unwrap_or((0, GENESIS));
        let seq = seq + 1;
        let hash = chain_hash(&prev, seq, event);
        heads.insert(event.chain(), (seq, hash));
        out.push(Chained { event, seq, prev, hash });
    }
    (out, heads.into_iter().map(|(c, (s, h))| (c, s, h)).collect())
}

/// Writes the whole chunk in one transaction on `$conn` (a pool connection of either backend).
macro_rules! write_chunk {
    ($conn:expr, $backend:expr, $chunk:expr, $readings:expr) => {{
        let c: &Chunk = $chunk;
        let backend: Backend = $backend;
        let mut tx = $conn.begin().await?;
        insert_rows!(
            tx,
            backend,
            "INSERT INTO organisations (id, name, kind, created_at)",
            4,
            c.organisations,
            |q, r| q
                .bind(r.id)
                .bind(&r.name)
                .bind(r.kind.code())
                .bind(DbTime(r.created_at))
        );
        insert_rows!(
            tx,
            backend,
            "INSERT INTO users (id, email, display_name, roles, organisation_id, password_hash, active, created_at, \
             updated_at)",
            9,
            c.users,
            |q, r| q
                .bind(r.id)
                .bind(&r.email)
                .bind(&r.display_name)
                .bind(crate::users::encode_roles(&r.roles))
                .bind(r.organisation)
                .bind(&r.password_hash)
                .bind(true)
                .bind(DbTime(r.created_at))
                .bind(DbTime(r.created_at))
        );
        insert_rows!(
            tx,
            backend,
            "INSERT INTO staff_availability (user_id, reply_within_days, away, cover_user_id, updated_at)",
            5,
            c.availability,
            |q, r| q
                .bind(r.user)
                .bind(r.reply_within_days)
                .bind(false)
                .bind(None::<Uuid>)
                .bind(DbTime(r.updated_at))
        );
        insert_rows!(
            tx,
            backend,
            "INSERT INTO people (id, user_id, nhs_number, given_name, family_name, preferred_name, date_of_birth, \
             email, phone, communication_needs, named_contact_id, created_at, updated_at)",
            13,
            c.people,
            |q, r| q
                .bind(r.id)
                .bind(r.user)
                .bind(&r.nhs_number)
                .bind(&r.given_name)
                .bind(&r.family_name)
                .bind(&r.preferred_name)
                .bind(r.date_of_birth)
                .bind(&r.email)
                .bind(&r.phone)
                .bind(&r.communication_needs)
                .bind(r.named_contact)
                .bind(DbTime(r.created_at))
                .bind(DbTime(r.created_at))
        );
        insert_rows!(
            tx,
            backend,
            "INSERT INTO consents (id, person_id, grantee_kind, grantee_user_id, grantee_organisation_id, sections, \
             labels, can_write, starts_at, ends_at, revoked_at, created_at)",
            12,
            c.consents,
            |q, r| {
                let (kind, user, org) = grantee_columns(r.grantee);
                q.bind(r.id)
                    .bind(r.person)
                    .bind(kind)
                    .bind(user)
                    .bind(org)
                    .bind(r.sections.bits())
                    .bind(r.labels.bits())
                    .bind(r.write)
                    .bind(DbTime(r.starts))
                    .bind(None::<DbTime>)
                    .bind(None::<DbTime>)
                    .bind(DbTime(r.created_at))
            }
        );
        insert_rows!(
            tx,
            backend,
            "INSERT INTO care_team_members (id, person_id, user_id, organisation_id, role_text, status, consent_id, \
             proposed_by, is_named_contact, created_at, updated_at)",
            11,
            c.team,
            |q, r| q
                .bind(r.id)
                .bind(r.person)
                .bind(r.user)
                .bind(r.organisation)
                .bind(&r.role_text)
                .bind("active")
                .bind(r.consent)
                .bind(None::<Uuid>)
                .bind(r.named_contact)
                .bind(DbTime(r.created_at))
                .bind(DbTime(r.created_at))
        );
        insert_rows!(
            tx,
            backend,
            "INSERT INTO record_imports (id, person_id, actor_id, organisation_id, source, file_name, format, added, \
             updated, unchanged, created_at)",
            11,
            c.imports,
            |q, r| q
                .bind(r.id)
                .bind(r.person)
                .bind(None::<Uuid>)
                .bind(r.organisation)
                .bind(&r.source)
                .bind(None::<String>)
                .bind(r.format)
                .bind(r.added)
                .bind(0_i64)
                .bind(0_i64)
                .bind(DbTime(r.created_at))
        );
        insert_rows!(
            tx,
            backend,
            "INSERT INTO record_items (id, person_id, source, identity, resource_type, kind, source_id, full_url, \
             label, label_bit, title, detail, status, code_system, code, effective_date, effective_text, is_current, \
             supplier_id, import_id, content_hash, resource, created_at, updated_at)",
            24,
            c.items,
            |q, r| {
                let i = &r.item;
                let (system, code) = i.code.clone().unzip();
                q.bind(r.id)
                    .bind(r.person)
                    .bind(&r.source)
                    .bind(&i.identity)
                    .bind(&i.resource_type)
                    .bind(i.kind.code())
                    .bind(&i.source_id)
                    .bind(&i.full_url)
                    .bind(i.label.code())
                    .bind(Labels::of(&[i.label]).bits())
                    .bind(&i.title)
                    .bind(&i.detail)
                    .bind(&i.status)
                    .bind(system)
                    .bind(code)
                    .bind(&i.date)
                    .bind(&i.date_text)
                    .bind(i.current)
                    .bind(r.supplier)
                    .bind(r.import)
                    .bind(i.content_hash.as_slice())
                    .bind(&i.json)
                    .bind(DbTime(r.created_at))
                    .bind(DbTime(r.created_at))
            }
        );
        insert_rows!(
            tx,
            backend,
            "INSERT INTO record_links (from_item, path, to_item)",
            3,
            c.links,
            |q, r| q.bind(r.from).bind(&r.path).bind(r.to)
        );
        insert_rows!(
            tx,
            backend,
            "INSERT INTO care_plans (id, person_id, latest_version, review_date, created_at, updated_at)",
            6,
            c.plans,
            |q, r| q
                .bind(r.id)
                .bind(r.person)
                .bind(1_i64)
                .bind(&r.review_date)
                .bind(DbTime(r.created_at))
                .bind(DbTime(r.created_at))
        );
        insert_rows!(
            tx,
            backend,
            "INSERT INTO care_plan_versions (plan_id, version, author_id, author_role, organisation_id, content, \
             created_at)",
            7,
            c.plans,
            |q, r| q
                .bind(r.id)
                .bind(1_i64)
                .bind(r.author)
                .bind(r.author_role)
                .bind(r.organisation)
                .bind(&r.content)
                .bind(DbTime(r.created_at))
        );
        let agreements: Vec<(Uuid, &'static str, Uuid, OffsetDateTime)> = c
            .plans
            .iter()
            .flat_map(|p| {
                p.agreements
                    .iter()
                    .map(move |(side, user, at)| (p.id, *side, *user, *at))
            })
            .collect();
        insert_rows!(
            tx,
            backend,
            "INSERT INTO care_plan_agreements (plan_id, version, side, user_id, agreed_at)",
            5,
            agreements,
            |q, r| q.bind(r.0).bind(1_i64).bind(r.1).bind(r.2).bind(DbTime(r.3))
        );
        $readings(&mut *tx, &c.readings).await?;
        insert_rows!(
            tx,
            backend,
            "INSERT INTO questionnaire_assignments (id, person_id, questionnaire_id, assigned_by, assigned_at, \
             every_days, next_due, reminded_for, ended_at)",
            9,
            c.assignments,
            |q, r| q
                .bind(r.id)
                .bind(r.person)
                .bind(r.questionnaire)
                .bind(r.assigned_by)
                .bind(DbTime(r.assigned_at))
                .bind(r.every_days)
                .bind(DbTime(r.next_due))
                .bind(r.reminded_for.map(DbTime))
                .bind(None::<DbTime>)
        );
        insert_rows!(
            tx,
            backend,
            "INSERT INTO questionnaire_responses (id, person_id, questionnaire_id, assignment_id, authored_at, \
             entered_by, source, answers, score, headline, urgent)",
            11,
            c.responses,
            |q, r| q
                .bind(r.id)
                .bind(r.person)
                .bind(r.questionnaire)
                .bind(r.assignment)
                .bind(DbTime(r.authored_at))
                .bind(r.entered_by)
                .bind(r.source)
                .bind(&r.answers)
                .bind(&r.score)
                .bind(r.headline)
                .bind(r.urgent)
        );
        insert_rows!(
            tx,
            backend,
            "INSERT INTO message_threads (id, person_id, subject, assigned_user_id, created_by, created_at, \
             updated_at)",
            7,
            c.threads,
            |q, r| q
                .bind(r.id)
                .bind(r.person)
                .bind(&r.subject)
                .bind(r.assigned)
                .bind(r.created_by)
                .bind(DbTime(r.created_at))
                .bind(DbTime(r.updated_at))
        );
        insert_rows!(
            tx,
            backend,
            "INSERT INTO messages (id, thread_id, author_id, author_role, body, created_at)",
            6,
            c.messages,
            |q, r| q
                .bind(r.id)
                .bind(r.thread)
                .bind(r.author)
                .bind(r.author_role)
                .bind(&r.body)
                .bind(DbTime(r.created_at))
        );
        insert_rows!(
            tx,
            backend,
            "INSERT INTO message_reads (thread_id, user_id, read_at)",
            3,
            c.reads,
            |q, r| q.bind(r.thread).bind(r.user).bind(DbTime(r.read_at))
        );
        insert_rows!(
            tx,
            backend,
            "INSERT INTO alerts (id, person_id, rule_id, plan_version, instrument, measure, urgent, level, status, \
             advice, raised_at, escalate_at, escalate_after_hours, snoozed_until, acknowledged_by, acknowledged_at, \
             response_id)",
            17,
            c.alerts,
            |q, r| q
                .bind(r.id)
                .bind(r.person)
                .bind(r.rule)
                .bind(r.plan_version)
                .bind(r.instrument)
                .bind(r.measure)
                .bind(r.urgent)
                .bind(r.level)
                .bind(r.status)
                .bind(&r.advice)
                .bind(DbTime(r.raised_at))
                .bind(r.escalate_at.map(DbTime))
                .bind(r.escalate_after_hours)
                .bind(None::<DbTime>)
                .bind(r.acknowledged_by)
                .bind(r.acknowledged_at.map(DbTime))
                .bind(r.response)
        );
        insert_rows!(
            tx,
            backend,
            "INSERT INTO alert_readings (alert_id, reading_id)",
            2,
            c.alert_readings,
            |q, r| q.bind(r.0).bind(r.1)
        );
        insert_rows!(
            tx,
            backend,
            "INSERT INTO alert_events (id, alert_id, at, what, level, user_id)",
            6,
            c.alert_events,
            |q, r| q
                .bind(r.id)
                .bind(r.alert)
                .bind(DbTime(r.at))
                .bind(r.what)
                .bind(r.level)
                .bind(r.user)
        );
        let (events, heads) = chain(&c.audit);
        insert_rows!(
            tx,
            backend,
            "INSERT INTO audit_chain_heads (chain_id, seq, hash)",
            3,
            heads,
            |q, r| q.bind(r.0).bind(r.1).bind(r.2.to_vec())
        );
        insert_rows!(
            tx,
            backend,
            "INSERT INTO audit_events (chain_id, seq, id, occurred_at, actor_id, actor_role, organisation_id, \
             on_behalf_of, person_id, action, section, entity, purpose, outcome, prev_hash, hash)",
            16,
            events,
            |q, r| {
                let e = r.event;
                q.bind(e.chain())
                    .bind(r.seq)
                    .bind(e.id)
                    .bind(DbTime(e.occurred_at))
                    .bind(e.actor)
                    .bind(&e.actor_role)
                    .bind(e.organisation)
                    .bind(&e.on_behalf_of)
                    .bind(e.person)
                    .bind(&e.action)
                    .bind(&e.section)
                    .bind(&e.entity)
                    .bind(&e.purpose)
                    .bind(&e.outcome)
                    .bind(r.prev.to_vec())
                    .bind(r.hash.to_vec())
            }
        );
        tx.commit().await?;
        Ok::<(), sqlx::Error>(())
    }};
}

/// Readings on SQLite: many rows to a statement, like every other table.
async fn readings_sqlite(tx: &mut sqlx::SqliteConnection, readings: &[Reading]) -> sqlx::Result<()> {
    insert_rows!(
        tx,
        Backend::Sqlite,
        "INSERT INTO readings (id, person_id, measure, taken_at, value_1, value_2, value_3, note, source, device, \
         entered_by, recorded_at)",
        12,
        readings,
        |q, r| q
            .bind(r.id)
            .bind(r.person)
            .bind(r.measure)
            .bind(DbTime(r.taken_at))
            .bind(r.values[0])
            .bind(r.values[1])
            .bind(r.values[2])
            .bind(None::<String>)
            .bind(r.source)
            .bind(r.device)
            .bind(r.entered_by)
            .bind(DbTime(r.recorded_at))
    );
    Ok(())
}

/// Most readings in one PostgreSQL statement.
const POSTGRES_READINGS_PER_STATEMENT: usize = 50_000;

/// Readings on PostgreSQL: one array per column, unnested by the server, so a statement of 50,000 readings has 11
/// parameters (the readings are most of the rows, and PostgreSQL parses a statement of thousands of placeholders
/// slowly).
async fn readings_postgres(tx: &mut sqlx::PgConnection, readings: &[Reading]) -> sqlx::Result<()> {
    for part in readings.chunks(POSTGRES_READINGS_PER_STATEMENT) {
        let column = |f: fn(&Reading) -> Option<i64>| part.iter().map(f).collect::<Vec<_>>();
        sqlx::query(
            "INSERT INTO readings (id, person_id, measure, taken_at, value_1, value_2, value_3, note, source, device, \
             entered_by, recorded_at) SELECT id, person, measure, taken, v1, v2, v3, NULL, source, device, entered, \
             recorded FROM UNNEST($1::uuid[], $2::uuid[], $3::text[], $4::timestamptz[], $5::int8[], $6::int8[], \
             $7::int8[], $8::text[], $9::text[], $10::uuid[], $11::timestamptz[]) \
             AS t (id, person, measure, taken, v1, v2, v3, source, device, entered, recorded)",
        )
        .bind(part.iter().map(|r| r.id).collect::<Vec<_>>())
        .bind(part.iter().map(|r| r.person).collect::<Vec<_>>())
        .bind(part.iter().map(|r| r.measure).collect::<Vec<_>>())
        .bind(part.iter().map(|r| DbTime::truncate(r.taken_at)).collect::<Vec<_>>())
        .bind(column(|r| r.values[0]))
        .bind(column(|r| r.values[1]))
        .bind(column(|r| r.values[2]))
        .bind(part.iter().map(|r| r.source).collect::<Vec<_>>())
        .bind(part.iter().map(|r| r.device).collect::<Vec<_>>())
        .bind(part.iter().map(|r| r.entered_by).collect::<Vec<_>>())
        .bind(part.iter().map(|r| DbTime::truncate(r.recorded_at)).collect::<Vec<_>>())
        .execute(&mut *tx)
        .await?;
    }
    Ok(())
}

impl Seeder {
    /// Takes the writer connection for the run and applies the seeding settings.
    pub async fn open(db: &Db) -> Result<Seeder> {
        let conn = match db {
            Db::Sqlite { writer, .. } => {
                let mut c = writer.acquire().await?;
                for pragma in [
                    "PRAGMA synchronous = NORMAL",
                    "PRAGMA cache_size = -262144",
                    "PRAGMA temp_store = MEMORY",
                ] {
                    sqlx::query(pragma).execute(&mut *c).await?;
                }
                Conn::Sqlite(c)
            }
            Db::Postgres { pool, .. } => {
                let mut c = pool.acquire().await?;
                sqlx::query("SET synchronous_commit = off").execute(&mut *c).await?;
                Conn::Postgres(c)
            }
        };
        Ok(Seeder { conn })
    }

    pub fn backend(&self) -> Backend {
        match self.conn {
            Conn::Sqlite(_) => Backend::Sqlite,
            Conn::Postgres(_) => Backend::Postgres,
        }
    }

    /// Writes one chunk in one transaction: all of it, or (on any error) none of it.
    pub async fn write(&mut self, chunk: &Chunk) -> Result<()> {
        match &mut self.conn {
            Conn::Sqlite(c) => write_chunk!(c, Backend::Sqlite, chunk, readings_sqlite)?,
            Conn::Postgres(c) => write_chunk!(c, Backend::Postgres, chunk, readings_postgres)?,
        }
        Ok(())
    }

    /// Puts the connection's settings back, checkpoints SQLite's write-ahead log into the database file, and has
    /// PostgreSQL gather fresh statistics for its planner.
    pub async fn finish(self) -> Result<()> {
        match self.conn {
            Conn::Sqlite(mut c) => {
                sqlx::query("PRAGMA wal_checkpoint(TRUNCATE)").execute(&mut *c).await?;
                for pragma in ["PRAGMA synchronous = FULL", "PRAGMA cache_size = -2000"] {
                    sqlx::query(pragma).execute(&mut *c).await?;
                }
            }
            Conn::Postgres(mut c) => {
                sqlx::query("ANALYZE").execute(&mut *c).await?;
                sqlx::query("RESET synchronous_commit").execute(&mut *c).await?;
            }
        }
        Ok(())
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn statements_stay_within_sqlites_limit() {
        for columns in 1..=40 {
            let rows = rows_per_statement(columns);
            assert!(rows * columns <= SQLITE_MAX_VARIABLES);
            assert!(rows >= 1);
        }
        assert_eq!(
            values_sql(Backend::Postgres, "INSERT INTO t (a, b)", 2, 2),
            "INSERT INTO t (a, b) VALUES ($1, $2), ($3, $4)"
        );
        assert_eq!(
            values_sql(Backend::Sqlite, "INSERT INTO t (a, b)", 2, 2),
            "INSERT INTO t (a, b) VALUES (?, ?), (?, ?)"
        );
    }

    #[test]
    fn each_chain_starts_at_genesis() {
        let event = |person: Uuid, n: u128| Event {
            id: Uuid::from_u128(n),
            occurred_at: OffsetDateTime::UNIX_EPOCH,
            actor: None,
            actor_role: "operator".into(),
            organisation: None,
            on_behalf_of: Some("command-line".into()),
            person: Some(person),
            action: "write".into(),
            section: None,
            entity: "seed".into(),
            purpose: "operations".into(),
            outcome: "permit:operator".into(),
        };
        let (a, b) = (Uuid::from_u128(1), Uuid::from_u128(2));
        let events = [event(a, 10), event(b, 11), event(a, 12)];
        let (chained, heads) = chain(&events);
        assert_eq!(chained.iter().map(|c| c.seq).collect::<Vec<_>>(), [1, 1, 2]);
        assert_eq!(chained[0].prev, GENESIS);
        assert_eq!(chained[2].prev, chained[0].hash);
        assert_eq!(heads, vec![(a, 2, chained[2].hash), (b, 1, chained[1].hash)]);
    }
}
