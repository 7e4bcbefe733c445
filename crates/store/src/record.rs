//! The person's record: imported FHIR resources, the person's notes on them, and their requests to correct them.
//!
//! Every function takes a [`Grant`] for the record section, and reads only items whose sensitivity label the grant
//! covers: an item the grant does not reach is "not found", exactly like one that does not exist.

use std::collections::HashMap;

use carepact_domain::consent::{Action, Labels, Section, Sensitivity};
use carepact_domain::identity::OrganisationId;
use carepact_fhir::{Item, Kind, Problem};
use time::OffsetDateTime;
use tokio::sync::mpsc;
use uuid::Uuid;

use crate::access::{Denied, Grant};
use crate::{Db, DbTime, Result, on_db};

/// What arrives from a file being read: a checked item, or a problem.
#[derive(Debug)]
pub enum Incoming {
    Item(Box<Item>),
    Problem(Problem),
}

/// About the file being imported.
#[derive(Debug, Clone)]
pub struct ImportMeta {
    /// The source system for items that do not name their own (`meta.source`).
    pub source: String,
    pub file_name: Option<String>,
    /// "bundle" or "ndjson".
    pub format: &'static str,
    /// The organisation that supplied the record: correction requests about its items go to it.
    pub supplier: Option<OrganisationId>,
    pub actor_organisation: Option<OrganisationId>,
}

#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct ImportReport {
    pub import_id: Uuid,
    pub added: u64,
    pub updated: u64,
    pub unchanged: u64,
    /// References between items that were resolved.
    pub links: u64,
}

/// The most problems listed for a rejected file; the count says how many there were in all.
pub const MAX_PROBLEMS_LISTED: usize = 200;

#[derive(Debug, Clone, PartialEq, Eq)]
pub enum ImportOutcome {
    Imported(ImportReport),
    /// The file was rejected whole and nothing was stored.
    Rejected {
        problems: Vec<Problem>,
        total: usize,
    },
}

/// Imports items as they arrive on `incoming`, all in one transaction: if any problem arrives, or an item is about
/// someone else, or carries a label the grant may not write, nothing is stored and every problem is returned. The
/// same item imported again (same source and identity, same content) changes nothing.
pub async fn import(
    db: &Db,
    grant: &Grant,
    meta: &ImportMeta,
    mut incoming: mpsc::Receiver<Incoming>,
    now: OffsetDateTime,
) -> Result<std::result::Result<ImportOutcome, Denied>> {
    if grant.section() != Section::Record || grant.action() != Action::Write {
        return Ok(Err(Denied));
    }
    let person = grant.person();
    let labels = grant.labels();
    let import_id = Uuid::now_v7();
    let outcome = on_db!(db, write, |p| {
        async {
        let mut tx = p.begin().await?;
        let expected: Option<String> = sqlx::query_scalar("SELECT nhs_number FROM people WHERE id = $1")
            .bind(person.0)
            .fetch_one(&mut *tx)
            .await?;
        sqlx::query(
            "INSERT INTO record_imports (id, person_id, actor_id, organisation_id, source, file_name, format, added, \
             updated, unchanged, created_at) VALUES ($1, $2, $3, $4, $5, $6, $7, 0, 0, 0, $8)",
        )
        .bind(import_id)
        .bind(person.0)
        .bind(grant.actor().map(|u| u.0))
        .bind(meta.actor_organisation.map(|o| o.0))
        .bind(&meta.source)
        .bind(&meta.file_name)
        .bind(meta.format)
        .bind(DbTime(now))
        .execute(&mut *tx)
        .await?;
        let mut problems: Vec<Problem> = Vec::new();
        let mut total_problems = 0usize;
        let mut report = ImportReport { import_id, ..Default::default() };
        // fullUrl and Type/id of items in this file → stored id, for resolving references at the end.
        let mut by_ref: HashMap<String, Uuid> = HashMap::new();
        let mut references: Vec<(Uuid, String, String)> = Vec::new();
        let mut patient_identity: Option<String> = None;
        while let Some(next) = incoming.recv().await {
            let item = match next {
                Incoming::Problem(problem) => {
                    total_problems += 1;
                    if problems.len() < MAX_PROBLEMS_LISTED {
                        problems.push(problem);
                    }
                    continue;
                }
                Incoming::Item(item) => item,
            };
            let mut refuse = |message: String| {
                total_problems += 1;
                if problems.len() < MAX_PROBLEMS_LISTED {
                    problems.push(Problem::at(None, item.identity.clone(), message));
                }
            };
            if !labels.contains(item.label) {
                refuse(format!(
                    "This item is labelled {}, and the person has not agreed that you may add such items.",
                    label_words(item.label)
                ));
            }
            if let Some(facts) = &item.patient {
                if let (Some(file), Some(ours)) = (facts.nhs_number, expected.as_deref())
                    && file.as_digits() != ours
                {
                    refuse("This record is about a person with a different NHS number.".into());
                }
                match &patient_identity {
                    Some(first) if *first != item.identity => {
                        refuse("The file holds more than one person: import one person's record at a time.".into())
                    }
                    _ => patient_identity = Some(item.identity.clone()),
                }
            }
            if total_problems > 0 {
                // Keep reading to list every problem, but store nothing more.
                continue;
            }
            let source = item.source.clone().unwrap_or_else(|| meta.source.clone());
            let existing: Option<(Uuid, Vec<u8>)> = sqlx::query_as(
                "SELECT id, content_hash FROM record_items WHERE person_id = $1 AND source = $2 AND identity = $3",
            )
            .bind(person.0)
            .bind(&source)
            .bind(&item.identity)
            .fetch_optional(&mut *tx)
            .await?;
            let code = item.code.clone().unzip();
            let changed = existing.as_ref().is_none_or(|(_, hash)| *hash != item.content_hash);
            let id = match existing {
                Some((id, _)) if !changed => {
                    report.unchanged += 1;
                    id
                }
                existing => {
                    let id = existing.as_ref().map(|(id, _)| *id).unwrap_or_else(Uuid::now_v7);
                    sqlx::query(
                        "INSERT INTO record_items (id, person_id, source, identity, resource_type, kind, source_id, \
                         full_url, label, label_bit, title, detail, status, code_system, code, effective_date, \
                         effective_text, is_current, supplier_id, import_id, content_hash, resource, created_at, \
                         updated_at) VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9, $10, $11, $12, $13, $14, $15, $16, $17, \
                         $18, $19, $20, $21, $22, $23, $23) ON CONFLICT (person_id, source, identity) DO UPDATE SET \
                         resource_type = excluded.resource_type, kind = excluded.kind, source_id = excluded.source_id, \
                         full_url = excluded.full_url, label = excluded.label, label_bit = excluded.label_bit, \
                         title = excluded.title, detail = excluded.detail, status = excluded.status, \
                         code_system = excluded.code_system, code = excluded.code, \
                         effective_date = excluded.effective_date, effective_text = excluded.effective_text, \
                         is_current = excluded.is_current, supplier_id = excluded.supplier_id, \
                         import_id = excluded.import_id, content_hash = excluded.content_hash, \
                         resource = excluded.resource, updated_at = excluded.updated_at",
                    )
                    .bind(id)
                    .bind(person.0)
                    .bind(&source)
                    .bind(&item.identity)
                    .bind(&item.resource_type)
                    .bind(item.kind.code())
                    .bind(&item.source_id)
                    .bind(&item.full_url)
                    .bind(item.label.code())
                    .bind(Labels::of(&[item.label]).bits())
                    .bind(&item.title)
                    .bind(&item.detail)
                    .bind(&item.status)
                    .bind(&code.0)
                    .bind(&code.1)
                    .bind(&item.date)
                    .bind(&item.date_text)
                    .bind(item.current)
                    .bind(meta.supplier.map(|o| o.0))
                    .bind(import_id)
                    .bind(item.content_hash.as_slice())
                    .bind(&item.json)
                    .bind(DbTime(now))
                    .execute(&mut *tx)
                    .await?;
                    if existing.is_some() {
                        // Its references are made again from the new content.
                        sqlx::query("DELETE FROM record_links WHERE from_item = $1").bind(id).execute(&mut *tx).await?;
                        report.updated += 1;
                    } else {
                        report.added += 1;
                    }
                    id
                }
            };
            if let Some(url) = &item.full_url {
                by_ref.insert(url.clone(), id);
            }
            if let Some(source_id) = &item.source_id {
                by_ref.insert(format!("{}/{}", item.resource_type, source_id), id);
            }
            // Unchanged items keep the links made when they were stored.
            if changed {
                for (path, reference) in &item.references {
                    references.push((id, path.clone(), reference.clone()));
                }
            }
        }
        if total_problems > 0 {
            tx.rollback().await?;
            return Ok::<_, sqlx::Error>(ImportOutcome::Rejected { problems, total: total_problems });
        }
        for (from, path, reference) in references {
            let target = match by_ref.get(&reference).or_else(|| by_ref.get(relative_tail(&reference))) {
                Some(id) => Some(*id),
                None => {
                    // A reference to an item from an earlier import of this person's record.
                    let (kind, id) = relative_tail(&reference).split_once('/').unwrap_or(("", ""));
                    sqlx::query_scalar(
                        "SELECT id FROM record_items WHERE person_id = $1 AND resource_type = $2 AND source_id = $3 \
                         ORDER BY updated_at DESC LIMIT 1",
                    )
                    .bind(person.0)
                    .bind(kind)
                    .bind(id)
                    .fetch_optional(&mut *tx)
                    .await?
                }
            };
            if let Some(to) = target.filter(|to| *to != from) {
                let n = sqlx::query(
                    "INSERT INTO record_links (from_item, path, to_item) VALUES ($1, $2, $3) ON CONFLICT DO NOTHING",
                )
                .bind(from)
                .bind(&path)
                .bind(to)
                .execute(&mut *tx)
                .await?
                .rows_affected();
                report.links += n;
            }
        }
        sqlx::query("UPDATE record_imports SET added = $2, updated = $3, unchanged = $4 WHERE id = $1")
            .bind(import_id)
            .bind(report.added as i64)
            .bind(report.updated as i64)
            .bind(report.unchanged as i64)
            .execute(&mut *tx)
            .await?;
        tx.commit().await?;
        Ok(ImportOutcome::Imported(report))
    }
    .await
    })?;
    Ok(Ok(outcome))
}

/// `Observation/1` from `https://server.example/fhir/Observation/1/_history/2` or `Observation/1`.
/// The `Type/id` end of a reference (`http://host/fhir/Condition/1/_history/2` → `Condition/1`).
pub fn relative_tail(reference: &str) -> &str {
    let without_version = reference.split("/_history/").next().unwrap_or(reference);
    let parts: Vec<&str> = without_version.rsplitn(3, '/').collect();
    match parts.as_slice() {
        [id, kind, _] | [id, kind] if !kind.is_empty() => {
            let start = without_version.len() - id.len() - kind.len() - 1;
            &without_version[start..]
        }
        _ => without_version,
    }
}

pub fn label_words(label: Sensitivity) -> &'static str {
    match label {
        Sensitivity::General => "general",
        Sensitivity::MentalHealth => "mental health",
        Sensitivity::SexualHealth => "sexual health",
        Sensitivity::SocialCare => "social care",
    }
}

/// One item as lists show it.
#[derive(Debug, Clone, PartialEq, Eq, sqlx::FromRow)]
pub struct ItemRow {
    pub id: Uuid,
    pub kind: String,
    pub resource_type: String,
    pub label: String,
    pub title: String,
    pub detail: Option<String>,
    pub status: Option<String>,
    pub code_system: Option<String>,
    pub code: Option<String>,
    pub effective_date: Option<String>,
    pub effective_text: Option<String>,
    pub is_current: bool,
}

const ITEM_COLUMNS: &str = "i.id, i.kind, i.resource_type, i.label, i.title, i.detail, i.status, i.code_system, \
    i.code, i.effective_date, i.effective_text, i.is_current";

fn can_read(grant: &Grant) -> bool {
    grant.section() == Section::Record
}

/// The front page of the record: current problems, medicines and allergies, and the latest result of each test.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct Summary {
    pub problems: Vec<ItemRow>,
    pub medicines: Vec<ItemRow>,
    pub allergies: Vec<ItemRow>,
    pub results: Vec<ItemRow>,
    /// How many items of each kind the grant reaches.
    pub counts: Vec<(String, i64)>,
}

/// How many latest results the summary shows.
pub const SUMMARY_RESULTS: usize = 12;

pub async fn summary(db: &Db, grant: &Grant) -> Result<std::result::Result<Summary, Denied>> {
    if !can_read(grant) {
        return Ok(Err(Denied));
    }
    let (person, mask) = (grant.person().0, grant.labels().bits());
    let current: Vec<ItemRow> = on_db!(db, read, |p| sqlx::query_as(sqlx::AssertSqlSafe(format!(
        "SELECT {ITEM_COLUMNS} FROM record_items i WHERE i.person_id = $1 AND (i.label_bit & $2) <> 0 \
         AND i.is_current AND i.kind IN ('condition', 'medication', 'allergy') ORDER BY i.effective_date DESC, i.title"
    )))
    .bind(person)
    .bind(mask)
    .fetch_all(p)
    .await)?;
    let observations: Vec<ItemRow> = on_db!(db, read, |p| sqlx::query_as(sqlx::AssertSqlSafe(format!(
        "SELECT {ITEM_COLUMNS} FROM record_items i WHERE i.person_id = $1 AND (i.label_bit & $2) <> 0 \
         AND i.kind = 'result' AND i.effective_date IS NOT NULL ORDER BY i.effective_date DESC, i.updated_at DESC"
    )))
    .bind(person)
    .bind(mask)
    .fetch_all(p)
    .await)?;
    let counts: Vec<(String, i64)> = on_db!(db, read, |p| sqlx::query_as(
        "SELECT kind, COUNT(*) FROM record_items WHERE person_id = $1 AND (label_bit & $2) <> 0 GROUP BY kind"
    )
    .bind(person)
    .bind(mask)
    .fetch_all(p)
    .await)?;
    let mut out = Summary {
        counts,
        ..Default::default()
    };
    for row in current {
        match row.kind.as_str() {
            "condition" => out.problems.push(row),
            "medication" => out.medicines.push(row),
            _ => out.allergies.push(row),
        }
    }
    let mut seen = std::collections::HashSet::new();
    for row in observations {
        let key = match (&row.code_system, &row.code) {
            (Some(s), Some(c)) => format!("{s}|{c}"),
            _ => row.title.clone(),
        };
        if seen.insert(key) {
            out.results.push(row);
            if out.results.len() == SUMMARY_RESULTS {
                break;
            }
        }
    }
    Ok(Ok(out))
}

/// Which items the timeline shows.
#[derive(Debug, Clone, Default)]
pub struct TimelineFilter {
    /// Empty means every kind.
    pub kinds: Vec<Kind>,
    pub from: Option<time::Date>,
    pub to: Option<time::Date>,
    pub offset: i64,
    pub limit: i64,
}

#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct TimelinePage {
    pub items: Vec<ItemRow>,
    pub total: i64,
}

fn iso(d: time::Date) -> String {
    format!("{:04}-{:02}-{:02}", d.year(), u8::from(d.month()), d.day())
}

/// The record newest first, filtered by kind and date; items with no date come last.
pub async fn timeline(
    db: &Db,
    grant: &Grant,
    filter: &TimelineFilter,
) -> Result<std::result::Result<TimelinePage, Denied>> {
    if !can_read(grant) {
        return Ok(Err(Denied));
    }
    // Kinds are fixed codes, never user text, so they can be written into the query.
    let kinds = if filter.kinds.is_empty() {
        String::new()
    } else {
        let list: Vec<String> = filter.kinds.iter().map(|k| format!("'{}'", k.code())).collect();
        format!(" AND i.kind IN ({})", list.join(", "))
    };
    let from = filter.from.map(iso).unwrap_or_default();
    let to = filter.to.map(iso).unwrap_or_else(|| "9999-12-31".into());
    let dated = if filter.from.is_some() || filter.to.is_some() {
        " AND i.effective_date >= $3 AND i.effective_date <= $4"
    } else {
        " AND ($3 = $3) AND ($4 = $4)"
    };
    let where_ = format!("i.person_id = $1 AND (i.label_bit & $2) <> 0{kinds}{dated}");
    let (person, mask) = (grant.person().0, grant.labels().bits());
    let total: i64 = on_db!(db, read, |p| sqlx::query_scalar(sqlx::AssertSqlSafe(format!(
        "SELECT COUNT(*) FROM record_items i WHERE {where_}"
    )))
    .bind(person)
    .bind(mask)
    .bind(&from)
    .bind(&to)
    .fetch_one(p)
    .await)?;
    let items: Vec<ItemRow> = on_db!(db, read, |p| sqlx::query_as(sqlx::AssertSqlSafe(format!(
        "SELECT {ITEM_COLUMNS} FROM record_items i WHERE {where_} \
         ORDER BY CASE WHEN i.effective_date IS NULL THEN 1 ELSE 0 END, i.effective_date DESC, i.title, i.id \
         LIMIT $5 OFFSET $6"
    )))
    .bind(person)
    .bind(mask)
    .bind(&from)
    .bind(&to)
    .bind(filter.limit)
    .bind(filter.offset)
    .fetch_all(p)
    .await)?;
    Ok(Ok(TimelinePage { items, total }))
}

/// The titles of those of `ids` that the grant reaches, for describing them (the person's access log).
pub async fn titles(
    db: &Db,
    grant: &Grant,
    ids: &[Uuid],
) -> Result<std::result::Result<HashMap<Uuid, String>, Denied>> {
    if !can_read(grant) {
        return Ok(Err(Denied));
    }
    let mut out = HashMap::new();
    for id in ids {
        if out.contains_key(id) {
            continue;
        }
        let title: Option<String> = on_db!(db, read, |p| sqlx::query_scalar(
            "SELECT title FROM record_items WHERE id = $1 AND person_id = $2 AND (label_bit & $3) <> 0"
        )
        .bind(id)
        .bind(grant.person().0)
        .bind(grant.labels().bits())
        .fetch_optional(p)
        .await)?;
        if let Some(title) = title {
            out.insert(*id, title);
        }
    }
    Ok(Ok(out))
}

/// One item with everything about it.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ItemDetail {
    pub row: ItemRow,
    pub resource: String,
    pub source: String,
    pub supplier: Option<(Uuid, String)>,
    pub imported_at: DbTime,
    pub imported_by: Option<String>,
    /// Items this one refers to, and items that refer to it, that the grant reaches: (path, item).
    pub refers_to: Vec<(String, ItemRow)>,
    pub referred_by: Vec<(String, ItemRow)>,
    pub notes: Vec<Note>,
    pub corrections: Vec<Correction>,
}

#[derive(Debug, Clone, PartialEq, Eq, sqlx::FromRow)]
pub struct Note {
    pub id: Uuid,
    pub body: String,
    pub author_name: String,
    pub created_at: DbTime,
}

#[derive(Debug, Clone, PartialEq, Eq, sqlx::FromRow)]
pub struct Correction {
    pub id: Uuid,
    pub item_id: Option<Uuid>,
    pub item_title: Option<String>,
    pub body: String,
    pub status: String,
    pub response: Option<String>,
    pub organisation_name: Option<String>,
    pub created_at: DbTime,
    pub answered_at: Option<DbTime>,
}

#[derive(sqlx::FromRow)]
struct DetailRow {
    resource: String,
    source: String,
    supplier_id: Option<Uuid>,
    supplier_name: Option<String>,
    imported_at: DbTime,
    imported_by: Option<String>,
}

const CORRECTION_COLUMNS: &str = "c.id, c.item_id, i.title AS item_title, c.body, c.status, c.response, \
    o.name AS organisation_name, c.created_at, c.answered_at";

/// One item, if it exists in this person's record and the grant covers its label.
pub async fn item(db: &Db, grant: &Grant, id: Uuid) -> Result<std::result::Result<ItemDetail, Denied>> {
    if !can_read(grant) {
        return Ok(Err(Denied));
    }
    let (person, mask) = (grant.person().0, grant.labels().bits());
    let row: Option<ItemRow> = on_db!(db, read, |p| sqlx::query_as(sqlx::AssertSqlSafe(format!(
        "SELECT {ITEM_COLUMNS} FROM record_items i WHERE i.id = $1 AND i.person_id = $2 AND (i.label_bit & $3) <> 0"
    )))
    .bind(id)
    .bind(person)
    .bind(mask)
    .fetch_optional(p)
    .await)?;
    let Some(row) = row else {
        return Ok(Err(Denied));
    };
    let detail: DetailRow = on_db!(db, read, |p| sqlx::query_as(
        "SELECT i.resource, i.source, i.supplier_id, o.name AS supplier_name, m.created_at AS imported_at, \
         u.display_name AS imported_by FROM record_items i JOIN record_imports m ON m.id = i.import_id \
         LEFT JOIN organisations o ON o.id = i.supplier_id LEFT JOIN users u ON u.id = m.actor_id WHERE i.id = $1"
    )
    .bind(id)
    .fetch_one(p)
    .await)?;
    let linked = |direction: &'static str| {
        let (mine, theirs) = if direction == "out" {
            ("from_item", "to_item")
        } else {
            ("to_item", "from_item")
        };
        format!(
            "SELECT l.path, {ITEM_COLUMNS} FROM record_links l JOIN record_items i ON i.id = l.{theirs} \
             WHERE l.{mine} = $1 AND (i.label_bit & $2) <> 0 ORDER BY l.path, i.effective_date"
        )
    };
    let refers_to = links(db, &linked("out"), id, mask).await?;
    let referred_by = links(db, &linked("in"), id, mask).await?;
    let notes: Vec<Note> = on_db!(db, read, |p| sqlx::query_as(
        "SELECT n.id, n.body, u.display_name AS author_name, n.created_at FROM record_notes n \
         JOIN users u ON u.id = n.author_id WHERE n.item_id = $1 ORDER BY n.created_at"
    )
    .bind(id)
    .fetch_all(p)
    .await)?;
    let corrections: Vec<Correction> = on_db!(db, read, |p| sqlx::query_as(sqlx::AssertSqlSafe(format!(
        "SELECT {CORRECTION_COLUMNS} FROM correction_requests c LEFT JOIN record_items i ON i.id = c.item_id \
         LEFT JOIN organisations o ON o.id = c.organisation_id WHERE c.item_id = $1 ORDER BY c.created_at"
    )))
    .bind(id)
    .fetch_all(p)
    .await)?;
    Ok(Ok(ItemDetail {
        row,
        resource: detail.resource,
        source: detail.source,
        supplier: detail.supplier_id.zip(detail.supplier_name),
        imported_at: detail.imported_at,
        imported_by: detail.imported_by,
        refers_to,
        referred_by,
        notes,
        corrections,
    }))
}

#[derive(sqlx::FromRow)]
struct LinkRow {
    path: String,
    #[sqlx(flatten)]
    item: ItemRow,
}

async fn links(db: &Db, sql: &str, id: Uuid, mask: i32) -> Result<Vec<(String, ItemRow)>> {
    let rows: Vec<LinkRow> = on_db!(db, read, |p| sqlx::query_as(sqlx::AssertSqlSafe(sql.to_owned()))
        .bind(id)
        .bind(mask)
        .fetch_all(p)
        .await)?;
    Ok(rows.into_iter().map(|r| (r.path, r.item)).collect())
}

/// The person's own grant to write to their record: notes and correction requests are theirs alone.
fn owner_writes(grant: &Grant) -> bool {
    grant.is_owner() && grant.action() == Action::Write && grant.section() == Section::Record
}

/// True when `item` is in the record `grant` is for.
async fn owned_item(db: &Db, grant: &Grant, item: Uuid) -> Result<bool> {
    let found: Option<Uuid> = on_db!(db, read, |p| sqlx::query_scalar(
        "SELECT i.id FROM record_items i WHERE i.id = $1 AND i.person_id = $2"
    )
    .bind(item)
    .bind(grant.person().0)
    .fetch_optional(p)
    .await)?;
    Ok(found.is_some())
}

/// Adds the person's own note to an item of their record.
pub async fn add_note(
    db: &Db,
    grant: &Grant,
    item: Uuid,
    body: &str,
    now: OffsetDateTime,
) -> Result<std::result::Result<Uuid, Denied>> {
    let Some(author) = grant.actor().filter(|_| owner_writes(grant)) else {
        return Ok(Err(Denied));
    };
    if !owned_item(db, grant, item).await? {
        return Ok(Err(Denied));
    }
    let id = Uuid::now_v7();
    on_db!(db, write, |p| sqlx::query(
        "INSERT INTO record_notes (id, item_id, person_id, author_id, body, created_at) VALUES ($1, $2, $3, $4, $5, $6)"
    )
    .bind(id)
    .bind(item)
    .bind(grant.person().0)
    .bind(author.0)
    .bind(body)
    .bind(DbTime(now))
    .execute(p)
    .await
    .map(|_| ()))?;
    Ok(Ok(id))
}

/// Records "this is wrong or missing" about an item, addressed to the organisation that supplied it (or, when the
/// supplier is not known, to the organisation of whoever imported it). Returns the organisation it went to.
pub async fn request_correction(
    db: &Db,
    grant: &Grant,
    item: Uuid,
    body: &str,
    now: OffsetDateTime,
) -> Result<std::result::Result<Option<OrganisationId>, Denied>> {
    let Some(author) = grant.actor().filter(|_| owner_writes(grant)) else {
        return Ok(Err(Denied));
    };
    let organisation: Option<Option<Uuid>> = on_db!(db, read, |p| sqlx::query_scalar(
        "SELECT COALESCE(i.supplier_id, m.organisation_id) FROM record_items i \
         JOIN record_imports m ON m.id = i.import_id WHERE i.id = $1 AND i.person_id = $2"
    )
    .bind(item)
    .bind(grant.person().0)
    .fetch_optional(p)
    .await)?;
    let Some(organisation) = organisation else {
        return Ok(Err(Denied));
    };
    on_db!(db, write, |p| {
        sqlx::query(
        "INSERT INTO correction_requests (id, item_id, person_id, organisation_id, raised_by, body, status, created_at) \
         VALUES ($1, $2, $3, $4, $5, $6, 'open', $7)"
    )
    .bind(Uuid::now_v7())
    .bind(item)
    .bind(grant.person().0)
    .bind(organisation)
    .bind(author.0)
    .bind(body)
    .bind(DbTime(now))
    .execute(p)
    .await
    .map(|_| ())
    })?;
    Ok(Ok(organisation.map(OrganisationId)))
}

/// The person's correction requests, newest first.
pub async fn corrections(db: &Db, grant: &Grant) -> Result<std::result::Result<Vec<Correction>, Denied>> {
    if !grant.is_owner() {
        return Ok(Err(Denied));
    }
    Ok(Ok(on_db!(db, read, |p| sqlx::query_as(sqlx::AssertSqlSafe(format!(
        "SELECT {CORRECTION_COLUMNS} FROM correction_requests c LEFT JOIN record_items i ON i.id = c.item_id \
         LEFT JOIN organisations o ON o.id = c.organisation_id WHERE c.person_id = $1 ORDER BY c.created_at DESC"
    )))
    .bind(grant.person().0)
    .fetch_all(p)
    .await)?))
}

/// Every item the grant reaches, whole, oldest first: for the person's export.
pub async fn all_resources(db: &Db, grant: &Grant) -> Result<std::result::Result<Vec<(ItemRow, String)>, Denied>> {
    if !can_read(grant) {
        return Ok(Err(Denied));
    }
    #[derive(sqlx::FromRow)]
    struct Whole {
        #[sqlx(flatten)]
        row: ItemRow,
        resource: String,
    }
    let rows: Vec<Whole> = on_db!(db, read, |p| sqlx::query_as(sqlx::AssertSqlSafe(format!(
        "SELECT {ITEM_COLUMNS}, i.resource FROM record_items i WHERE i.person_id = $1 AND (i.label_bit & $2) <> 0 \
         ORDER BY i.created_at, i.id"
    )))
    .bind(grant.person().0)
    .bind(grant.labels().bits())
    .fetch_all(p)
    .await)?;
    Ok(Ok(rows.into_iter().map(|w| (w.row, w.resource)).collect()))
}

/// How the source named one of the person's items, for turning the source's references into CarePact's.
#[derive(Debug, Clone, PartialEq, Eq, sqlx::FromRow)]
pub struct SourceName {
    pub id: Uuid,
    pub resource_type: String,
    pub source_id: Option<String>,
    pub full_url: Option<String>,
}

/// How the source named each of the person's items the grant reaches (labels it does not reach are left out).
pub async fn source_names(db: &Db, grant: &Grant) -> Result<std::result::Result<Vec<SourceName>, Denied>> {
    if !can_read(grant) {
        return Ok(Err(Denied));
    }
    let rows: Vec<SourceName> = on_db!(db, read, |p| sqlx::query_as(
        "SELECT i.id, i.resource_type, i.source_id, i.full_url FROM record_items i WHERE i.person_id = $1 \
         AND (i.label_bit & $2) <> 0"
    )
    .bind(grant.person().0)
    .bind(grant.labels().bits())
    .fetch_all(p)
    .await)?;
    Ok(Ok(rows))
}

/// What [`search`] looks for. Empty or `None` fields do not narrow the search.
#[derive(Debug, Clone, Default)]
pub struct ItemSearch {
    /// FHIR resource types ("Condition", …); empty means every type.
    pub resource_types: Vec<String>,
    /// The first coding's system and code (`None` for either means any).
    pub code_system: Option<String>,
    pub code: Option<String>,
    /// The item's date (`YYYY-MM-DD`) from and to, inclusive; items with no date are left out when either is set.
    pub date_from: Option<time::Date>,
    pub date_to: Option<time::Date>,
    /// When the item was last stored or changed, from and to, inclusive.
    pub updated_from: Option<OffsetDateTime>,
    pub updated_to: Option<OffsetDateTime>,
    /// One item by its id.
    pub id: Option<Uuid>,
    /// Oldest first by date; otherwise newest first. Items with no date come last either way.
    pub oldest_first: bool,
    pub limit: i64,
    pub offset: i64,
}

/// An item found by [`search`], whole.
#[derive(Debug, Clone, PartialEq, Eq, sqlx::FromRow)]
pub struct FoundItem {
    #[sqlx(flatten)]
    pub row: ItemRow,
    /// The resource as imported (compact JSON).
    pub resource: String,
    pub updated_at: DbTime,
}

/// The items the grant reaches that match `search`, whole, one page of them, and how many match in all.
pub async fn search(
    db: &Db,
    grant: &Grant,
    search: &ItemSearch,
) -> Result<std::result::Result<(Vec<FoundItem>, i64), Denied>> {
    if !can_read(grant) {
        return Ok(Err(Denied));
    }
    let dated = if search.date_from.is_some() || search.date_to.is_some() {
        " AND i.effective_date >= $5 AND i.effective_date <= $6"
    } else {
        " AND ($5 = $5) AND ($6 = $6)"
    };
    let one = if search.id.is_some() {
        " AND i.id = $11"
    } else {
        " AND ($11 = $11)"
    };
    // Placeholders only: the types themselves are bound.
    let types = if search.resource_types.is_empty() {
        String::new()
    } else {
        let marks: Vec<String> = (0..search.resource_types.len())
            .map(|n| format!("${}", n + 12))
            .collect();
        format!(" AND i.resource_type IN ({})", marks.join(", "))
    };
    let where_ = format!(
        "i.person_id = $1 AND (i.label_bit & $2) <> 0 AND ($3 = '' OR i.code_system = $3) \
         AND ($4 = '' OR i.code = $4){dated} AND i.updated_at >= $7 AND i.updated_at <= $8 \
         AND ($9 = $9) AND ($10 = $10){one}{types}"
    );
    let order = if search.oldest_first { "ASC" } else { "DESC" };
    let count_sql = format!("SELECT COUNT(*) FROM record_items i WHERE {where_}");
    let rows_sql = format!(
        "SELECT {ITEM_COLUMNS}, i.resource, i.updated_at FROM record_items i WHERE {where_} \
         ORDER BY CASE WHEN i.effective_date IS NULL THEN 1 ELSE 0 END, i.effective_date {order}, i.title, i.id \
         LIMIT $9 OFFSET $10"
    );
    let (person, mask) = (grant.person().0, grant.labels().bits());
    let system = search.code_system.clone().unwrap_or_default();
    let code = search.code.clone().unwrap_or_default();
    let from = search.date_from.map(iso).unwrap_or_default();
    let to = search.date_to.map(iso).unwrap_or_else(|| "9999-12-31".into());
    let updated_from = DbTime(search.updated_from.unwrap_or(OffsetDateTime::UNIX_EPOCH));
    let updated_to = DbTime(
        search
            .updated_to
            .unwrap_or(time::macros::datetime!(9999-12-31 0:00 UTC)),
    );
    let total: i64 = on_db!(db, read, |p| {
        let mut q = sqlx::query_scalar(sqlx::AssertSqlSafe(count_sql.clone()))
            .bind(person)
            .bind(mask)
            .bind(&system)
            .bind(&code)
            .bind(&from)
            .bind(&to)
            .bind(updated_from)
            .bind(updated_to)
            .bind(search.limit)
            .bind(search.offset)
            .bind(search.id.unwrap_or_default());
        for t in &search.resource_types {
            q = q.bind(t);
        }
        q.fetch_one(p).await
    })?;
    let items: Vec<FoundItem> = on_db!(db, read, |p| {
        let mut q = sqlx::query_as(sqlx::AssertSqlSafe(rows_sql.clone()))
            .bind(person)
            .bind(mask)
            .bind(&system)
            .bind(&code)
            .bind(&from)
            .bind(&to)
            .bind(updated_from)
            .bind(updated_to)
            .bind(search.limit)
            .bind(search.offset)
            .bind(search.id.unwrap_or_default());
        for t in &search.resource_types {
            q = q.bind(t);
        }
        q.fetch_all(p).await
    })?;
    Ok(Ok((items, total)))
}

/// Every note the person has written, for their export: (item id, note).
pub async fn all_notes(db: &Db, grant: &Grant) -> Result<std::result::Result<Vec<(Uuid, Note)>, Denied>> {
    if !grant.is_owner() {
        return Ok(Err(Denied));
    }
    #[derive(sqlx::FromRow)]
    struct Row {
        item_id: Uuid,
        #[sqlx(flatten)]
        note: Note,
    }
    let rows: Vec<Row> = on_db!(db, read, |p| sqlx::query_as(
        "SELECT n.item_id, n.id, n.body, u.display_name AS author_name, n.created_at FROM record_notes n \
         JOIN users u ON u.id = n.author_id WHERE n.person_id = $1 ORDER BY n.created_at"
    )
    .bind(grant.person().0)
    .fetch_all(p)
    .await)?;
    Ok(Ok(rows.into_iter().map(|r| (r.item_id, r.note)).collect()))
}

#[cfg(test)]
mod tests {
    use super::relative_tail;

    #[test]
    fn references_are_reduced_to_type_and_id() {
        assert_eq!(relative_tail("Observation/1"), "Observation/1");
        assert_eq!(
            relative_tail("https://fhir.example/r4/Observation/1/_history/3"),
            "Observation/1"
        );
        assert_eq!(relative_tail("urn:uuid:abc"), "urn:uuid:abc");
    }
}
