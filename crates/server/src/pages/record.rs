//! The person's health record: the summary (on the record's front page), the timeline filtered by kind and date,
//! and each item with its source, the person's notes and their "this is wrong or missing" requests. The person sees
//! all of it; anyone else sees what the person shares with them, label by label, through the choke point.

use askama::Template;
use axum::extract::{Path, Query, State};
use axum::response::{IntoResponse, Redirect, Response};
use carepact_domain::consent::{Action, Request, Section, Sensitivity};
use carepact_domain::identity::PersonId;
use carepact_fhir::Kind;
use carepact_store::access::Grant;
use carepact_store::record::{self, ItemRow, Summary, TimelineFilter};
use serde::Deserialize;
use uuid::Uuid;

use crate::access::{authorize, authorize_labels};
use crate::errors::AppError;
use crate::forms::{Errors, Fields};
use crate::pages::layout::{Chrome, render};
use crate::session::Session;
use crate::state::AppState;

/// One item as lists show it, in words.
pub struct ItemView {
    pub id: Uuid,
    pub title: String,
    pub detail: String,
    pub kind: String,
    pub date: String,
    pub status: String,
    /// The sensitivity, in words, for items that are not general.
    pub label: Option<String>,
}

fn item_date(c: &Chrome<'_>, row: &ItemRow) -> String {
    let parsed = row
        .effective_date
        .as_deref()
        .and_then(|d| time::Date::parse(d, time::macros::format_description!("[year]-[month]-[day]")).ok());
    match (parsed, row.effective_text.as_deref()) {
        // A year or a month alone is shown as written, not as its first day.
        (Some(_), Some(text)) if text.len() < 10 => text.to_owned(),
        (Some(d), _) => c.date(&d),
        (None, _) => c.t("record-date-unknown"),
    }
}

pub fn view(c: &Chrome<'_>, row: &ItemRow) -> ItemView {
    let label = Sensitivity::from_code(&row.label)
        .filter(|l| *l != Sensitivity::General)
        .map(|l| c.t(&format!("label-sensitivity-{}", l.code())));
    ItemView {
        id: row.id,
        title: row.title.clone(),
        detail: row.detail.clone().unwrap_or_default(),
        kind: c.t(&format!("kind-{}", row.kind)),
        date: item_date(c, row),
        status: row.status.clone().unwrap_or_default(),
        label,
    }
}

/// The record summary's lists, in words.
pub struct SummaryView {
    pub problems: Vec<ItemView>,
    pub medicines: Vec<ItemView>,
    pub allergies: Vec<ItemView>,
    pub results: Vec<ItemView>,
    pub total: i64,
}

/// The summary of `person`'s record that `user` may see (audited as one decision over every label).
pub async fn summary(
    state: &AppState,
    c: &Chrome<'_>,
    user: &carepact_store::users::User,
    person: PersonId,
    purpose: &str,
) -> Result<SummaryView, AppError> {
    let grant = authorize_labels(state, user, person, read(), "summary-of-record", purpose).await?;
    let s: Summary = record::summary(&state.db, &grant)
        .await?
        .map_err(|_| AppError::NotFound)?;
    let views = |rows: &[ItemRow]| rows.iter().map(|r| view(c, r)).collect();
    Ok(SummaryView {
        problems: views(&s.problems),
        medicines: views(&s.medicines),
        allergies: views(&s.allergies),
        results: views(&s.results),
        total: s.counts.iter().map(|(_, n)| n).sum(),
    })
}

fn read() -> Request {
    Request {
        section: Section::Record,
        label: Sensitivity::General,
        action: Action::Read,
    }
}

use crate::pages::person_id;

use crate::access::authorize_care_labels;

#[derive(Debug, Default, Deserialize)]
pub struct TimelineQuery {
    #[serde(default)]
    kind: String,
    #[serde(default)]
    from: String,
    #[serde(default)]
    to: String,
    #[serde(default)]
    page: String,
}

/// How many items one timeline page shows.
const PAGE: i64 = 50;

struct KindOption {
    code: &'static str,
    name: String,
    selected: bool,
}

#[derive(Template)]
#[template(path = "record_timeline.html")]
struct TimelinePage<'a> {
    c: Chrome<'a>,
    base: String,
    kinds: Vec<KindOption>,
    from: String,
    to: String,
    errors: Errors,
    items: Vec<ItemView>,
    total: i64,
    page: i64,
    pages: i64,
    /// The query string for another page, without `page`.
    query: String,
}

pub async fn timeline(
    State(state): State<AppState>,
    session: Session,
    Path(id): Path<String>,
    Query(q): Query<TimelineQuery>,
) -> Result<Response, AppError> {
    let user = session.require_user()?.clone();
    let person = person_id(&id)?;
    let c = Chrome::new(&session).await?;
    let tr = session.tr();
    let mut errors = Errors::default();
    let kinds: Vec<Kind> = q.kind.split(',').filter_map(Kind::from_code).collect();
    let (from, to) = crate::forms::date_range(&q.from, &q.to, &mut errors, tr);
    let page = q.page.parse::<i64>().unwrap_or(1).max(1);
    let grant = authorize_care_labels(&state, &user, person, read(), "timeline-of-record").await?;
    let filter = TimelineFilter {
        kinds: kinds.clone(),
        from,
        to,
        offset: (page - 1) * PAGE,
        limit: PAGE,
    };
    let found = record::timeline(&state.db, &grant, &filter)
        .await?
        .map_err(|_| AppError::NotFound)?;
    let base = format!("/records/{id}");
    let c = c
        .link(&base, c_name(&state, &grant).await?)
        .crumb(&format!("{base}/timeline"), "record-timeline");
    let items = found.items.iter().map(|r| view(&c, r)).collect();
    let options = Kind::ALL
        .into_iter()
        .filter(|k| *k != Kind::Patient)
        .map(|k| KindOption {
            code: k.code(),
            name: c.t(&format!("kind-{}", k.code())),
            selected: kinds.contains(&k),
        })
        .collect();
    let query = form_urlencoded::Serializer::new(String::new())
        .append_pair("kind", &q.kind)
        .append_pair("from", &q.from)
        .append_pair("to", &q.to)
        .finish();
    let pages = ((found.total + PAGE - 1) / PAGE).max(1);
    Ok(render(&TimelinePage {
        c,
        base,
        kinds: options,
        from: q.from.clone(),
        to: q.to.clone(),
        errors,
        items,
        total: found.total,
        page,
        pages,
        query,
    })?
    .into_response())
}

/// The person's name for breadcrumbs: read with the grant already given (no second decision).
async fn c_name(state: &AppState, grant: &Grant) -> Result<String, AppError> {
    Ok(carepact_store::people::summary(&state.db, grant)
        .await?
        .map(|p| p.full_name())
        .unwrap_or_default())
}

struct LinkView {
    item: ItemView,
}

struct Attachment {
    index: usize,
    title: String,
    content_type: String,
    text: Option<String>,
}

#[derive(Template)]
#[template(path = "record_item.html")]
struct ItemPage<'a> {
    c: Chrome<'a>,
    base: String,
    item: ItemView,
    resource_type: String,
    code: String,
    source: String,
    supplier: String,
    imported: String,
    imported_by: String,
    refers_to: Vec<LinkView>,
    referred_by: Vec<LinkView>,
    notes: Vec<(String, String, String)>,
    corrections: Vec<(String, String, String, String)>,
    attachments: Vec<Attachment>,
    json: String,
    owner: bool,
    errors: Errors,
    note: String,
    correction: String,
}

/// Attachments of a DocumentReference: plain text is shown on the page; anything else can be downloaded.
fn attachments(resource: &serde_json::Value) -> Vec<(String, String, Option<Vec<u8>>)> {
    let mut out = Vec::new();
    for content in resource.get("content").and_then(|c| c.as_array()).into_iter().flatten() {
        let Some(a) = content.get("attachment") else { continue };
        let content_type = a
            .get("contentType")
            .and_then(|v| v.as_str())
            .unwrap_or("application/octet-stream");
        let title = a.get("title").and_then(|v| v.as_str()).unwrap_or("").to_owned();
        let data = a.get("data").and_then(|v| v.as_str()).and_then(decode_base64);
        out.push((title, content_type.to_owned(), data));
    }
    out
}

fn decode_base64(text: &str) -> Option<Vec<u8>> {
    const ALPHABET: &[u8; 64] = b"ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789+/";
    let mut out = Vec::with_capacity(text.len() * 3 / 4);
    let (mut acc, mut bits) = (0u32, 0u32);
    for b in text.bytes().filter(|b| !b.is_ascii_whitespace()) {
        if b == b'=' {
            break;
        }
        let v = ALPHABET.iter().position(|a| *a == b)? as u32;
        acc = (acc << 6) | v;
        bits += 6;
        if bits >= 8 {
            bits -= 8;
            out.push((acc >> bits) as u8);
            acc &= (1 << bits) - 1;
        }
    }
    Some(out)
}

async fn item_page(
    state: &AppState,
    session: &Session,
    id: &str,
    item: &str,
    errors: Errors,
    note: String,
    correction: String,
) -> Result<Response, AppError> {
    let user = session.require_user()?.clone();
    let person = person_id(id)?;
    let item_id = Uuid::parse_str(item).map_err(|_| AppError::NotFound)?;
    let grant = authorize_care_labels(state, &user, person, read(), &format!("record-item:{item_id}")).await?;
    let detail = record::item(&state.db, &grant, item_id)
        .await?
        .map_err(|_| AppError::NotFound)?;
    let base = format!("/records/{id}");
    let c = Chrome::new(session).await?;
    let c = c
        .link(&base, c_name(state, &grant).await?)
        .crumb(&format!("{base}/timeline"), "record-timeline")
        .link(&format!("{base}/items/{item_id}"), detail.row.title.clone());
    let resource: serde_json::Value = serde_json::from_str(&detail.resource).unwrap_or_default();
    let links = |rows: &[(String, ItemRow)]| {
        rows.iter()
            .map(|(_, row)| LinkView { item: view(&c, row) })
            .collect::<Vec<_>>()
    };
    let page = ItemPage {
        item: view(&c, &detail.row),
        resource_type: detail.row.resource_type.clone(),
        code: match (&detail.row.code_system, &detail.row.code) {
            (Some(system), Some(code)) => format!("{} {code}", system_name(system)),
            _ => String::new(),
        },
        source: detail.source.clone(),
        supplier: detail.supplier.as_ref().map(|(_, n)| n.clone()).unwrap_or_default(),
        imported: c.date(&detail.imported_at.0.date()),
        imported_by: detail.imported_by.clone().unwrap_or_default(),
        refers_to: links(&detail.refers_to),
        referred_by: links(&detail.referred_by),
        notes: detail
            .notes
            .iter()
            .map(|n| (n.author_name.clone(), c.date(&n.created_at.0.date()), n.body.clone()))
            .collect(),
        corrections: detail
            .corrections
            .iter()
            .map(|r| {
                (
                    c.date(&r.created_at.0.date()),
                    r.body.clone(),
                    c.t(&format!("correction-status-{}", r.status)),
                    r.response.clone().unwrap_or_default(),
                )
            })
            .collect(),
        attachments: attachments(&resource)
            .into_iter()
            .enumerate()
            .map(|(index, (title, content_type, data))| Attachment {
                index,
                text: data
                    .filter(|_| content_type.starts_with("text/plain"))
                    .map(|d| String::from_utf8_lossy(&d).into_owned()),
                title,
                content_type,
            })
            .collect(),
        json: serde_json::to_string_pretty(&resource).unwrap_or_default(),
        owner: grant.is_owner(),
        errors,
        note,
        correction,
        base,
        c,
    };
    Ok(render(&page)?.into_response())
}

fn system_name(system: &str) -> &str {
    match system {
        "http://snomed.info/sct" => "SNOMED CT",
        "http://loinc.org" => "LOINC",
        "https://dmd.nhs.uk" => "dm+d",
        other => other,
    }
}

pub async fn item(
    State(state): State<AppState>,
    session: Session,
    Path((id, item)): Path<(String, String)>,
) -> Result<Response, AppError> {
    item_page(
        &state,
        &session,
        &id,
        &item,
        Errors::default(),
        String::new(),
        String::new(),
    )
    .await
}

/// An attachment of a document in the record, as a download.
pub async fn attachment(
    State(state): State<AppState>,
    session: Session,
    Path((id, item, index)): Path<(String, String, usize)>,
) -> Result<Response, AppError> {
    let user = session.require_user()?.clone();
    let person = person_id(&id)?;
    let item_id = Uuid::parse_str(&item).map_err(|_| AppError::NotFound)?;
    let grant = authorize_care_labels(&state, &user, person, read(), &format!("record-attachment:{item_id}")).await?;
    let detail = record::item(&state.db, &grant, item_id)
        .await?
        .map_err(|_| AppError::NotFound)?;
    let resource: serde_json::Value = serde_json::from_str(&detail.resource).unwrap_or_default();
    let (title, content_type, data) = attachments(&resource)
        .into_iter()
        .nth(index)
        .ok_or(AppError::NotFound)?;
    let data = data.ok_or(AppError::NotFound)?;
    let name: String = if title.is_empty() {
        format!("attachment-{index}")
    } else {
        title
    }
    .chars()
    .map(|ch| {
        if ch.is_ascii_alphanumeric() || ch == '.' || ch == '-' {
            ch
        } else {
            '_'
        }
    })
    .collect();
    let ext = match content_type.as_str() {
        "application/pdf" if !name.ends_with(".pdf") => ".pdf",
        "text/plain" if !name.ends_with(".txt") => ".txt",
        _ => "",
    };
    Ok((
        [
            (axum::http::header::CONTENT_TYPE, content_type),
            (
                axum::http::header::CONTENT_DISPOSITION,
                format!("attachment; filename=\"{name}{ext}\""),
            ),
        ],
        data,
    )
        .into_response())
}

/// The owner's write grant on their record, or "not found".
async fn own_write(state: &AppState, session: &Session, id: &str, entity: &str) -> Result<Grant, AppError> {
    let user = session.require_user()?.clone();
    let person = person_id(id)?;
    let request = Request {
        section: Section::Record,
        label: Sensitivity::General,
        action: Action::Write,
    };
    let grant = authorize(state, &user, person, request, entity, "person-access").await?;
    if !grant.is_owner() {
        return Err(AppError::NotFound);
    }
    Ok(grant)
}

const MAX_TEXT: usize = 2000;

fn text_field(form: &Fields, name: &str, errors: &mut Errors, tr: crate::i18n::Tr<'_>) -> String {
    let text = form.get(name).trim().to_owned();
    if text.is_empty() {
        errors.add(tr, name, &format!("error-{name}-empty"));
    } else if text.chars().count() > MAX_TEXT {
        errors.add(tr, name, &format!("error-{name}-long"));
    }
    text
}

/// The person's text about one of their items, from `field` of the form: the item, the owner's write grant and the
/// text, or the item page again with the error.
async fn owner_text(
    state: &AppState,
    session: &Session,
    id: &str,
    item: &str,
    form: &Fields,
    field: &'static str,
) -> Result<Result<(Uuid, Grant, String), Response>, AppError> {
    let item_id = Uuid::parse_str(item).map_err(|_| AppError::NotFound)?;
    let grant = own_write(state, session, id, &format!("record-{field}:{item_id}")).await?;
    let mut errors = Errors::default();
    let body = text_field(form, field, &mut errors, session.tr());
    if errors.is_empty() {
        return Ok(Ok((item_id, grant, body)));
    }
    let (note, correction) = if field == "note" {
        (body, String::new())
    } else {
        (String::new(), body)
    };
    Ok(Err(item_page(state, session, id, item, errors, note, correction).await?))
}

pub async fn add_note(
    State(state): State<AppState>,
    session: Session,
    Path((id, item)): Path<(String, String)>,
    form: Fields,
) -> Result<Response, AppError> {
    let (item_id, grant, body) = match owner_text(&state, &session, &id, &item, &form, "note").await? {
        Ok(ok) => ok,
        Err(page) => return Ok(page),
    };
    record::add_note(&state.db, &grant, item_id, &body, state.now())
        .await?
        .map_err(|_| AppError::NotFound)?;
    session.set_flash("flash-done-note-added").await?;
    Ok(Redirect::to(&format!("/records/{id}/items/{item_id}")).into_response())
}

pub async fn request_correction(
    State(state): State<AppState>,
    session: Session,
    Path((id, item)): Path<(String, String)>,
    form: Fields,
) -> Result<Response, AppError> {
    let (item_id, grant, body) = match owner_text(&state, &session, &id, &item, &form, "correction").await? {
        Ok(ok) => ok,
        Err(page) => return Ok(page),
    };
    let sent = record::request_correction(&state.db, &grant, item_id, &body, state.now())
        .await?
        .map_err(|_| AppError::NotFound)?;
    session
        .set_flash(if sent.is_some() {
            "flash-done-correction-sent"
        } else {
            "flash-done-correction-recorded"
        })
        .await?;
    Ok(Redirect::to(&format!("/records/{id}/items/{item_id}")).into_response())
}

#[cfg(test)]
mod tests {
    use super::decode_base64;

    #[test]
    fn base64_attachments_decode() {
        assert_eq!(
            decode_base64("SGVsbG8sIHdvcmxkIQ==").as_deref(),
            Some(&b"Hello, world!"[..])
        );
        assert_eq!(decode_base64("SGVs\nbG8=").as_deref(), Some(&b"Hello"[..]));
        assert_eq!(decode_base64("not base64!"), None);
    }
}
