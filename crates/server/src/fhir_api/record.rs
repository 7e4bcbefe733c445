//! The person's imported health record: read and search for Condition, MedicationStatement, AllergyIntolerance,
//! Immunization, Procedure, DiagnosticReport and DocumentReference, and `Patient/{id}/$everything`.
//!
//! Each resource is the one imported, with its `id` set to CarePact's item id, its `subject` (or `patient`) pointing
//! at `Patient/<person id>` on this server, and `meta.lastUpdated` when CarePact last stored it; other references
//! are left as the source wrote them. The choke point decides once per label (`authorize_app_labels`): an item with
//! a label the person has not shared is "not found", like one that does not exist.
//!
//! Search: `patient`, `code` (the first coding: `system|code`, `code`, `system|`), `date` (the item's date, compared
//! by day, with the prefixes eq/ge/gt/le/lt), `_lastUpdated` (same prefixes), `_sort` (`date` or `-date`; newest
//! first when absent, undated items last), `_count`, `_offset`.
//!
//! `$everything`: the Patient, then the record's items of these types (newest first), then the readings as
//! Observations (newest first), each part only when the token's scopes allow it (Patient read, the others search);
//! pages of `_count` entries (at most and by default 1000) with `next` links.

use axum::Router;
use axum::extract::{Path, RawQuery, State};
use axum::http::{HeaderMap, StatusCode};
use axum::response::{IntoResponse, Response};
use axum::routing::get;
use carepact_domain::consent::{Action, Request, Section, Sensitivity};
use carepact_domain::identity::PersonId;
use carepact_domain::smart::{Interaction, allows};
use carepact_store::access::Grant;
use carepact_store::record::{self, FoundItem, ItemSearch};
use serde_json::{Value, json};
use time::OffsetDateTime;
use time::format_description::well_known::Rfc3339;
use uuid::Uuid;

use super::{
    Caller, DEFAULT_COUNT, MAX_COUNT, Outcome, base, caller, date_bound, fhir_json, patient_ref, query_string,
};
use crate::state::AppState;

/// The record's resource types served, each with the element that names the person.
const TYPES: [(&str, &str); 7] = [
    ("Condition", "subject"),
    ("MedicationStatement", "subject"),
    ("AllergyIntolerance", "patient"),
    ("Immunization", "patient"),
    ("Procedure", "subject"),
    ("DiagnosticReport", "subject"),
    ("DocumentReference", "subject"),
];

pub(super) fn routes() -> Router<AppState> {
    let mut router = Router::new().route("/fhir/r4/Patient/{id}/$everything", get(everything));
    for (resource_type, _) in TYPES {
        router = router
            .route(
                &format!("/fhir/r4/{resource_type}"),
                get(move |state: State<AppState>, headers: HeaderMap, query: RawQuery| {
                    search(state, headers, query, resource_type)
                }),
            )
            .route(
                &format!("/fhir/r4/{resource_type}/{{id}}"),
                get(move |state: State<AppState>, headers: HeaderMap, id: Path<String>| {
                    read(state, headers, id, resource_type)
                }),
            );
    }
    router
}

/// The CapabilityStatement's resources with the record's part added: `$everything` on Patient, and an entry for each
/// record resource type.
pub(super) fn with_capabilities(mut resources: Vec<Value>) -> Vec<Value> {
    for resource in &mut resources {
        if resource["type"] == "Patient" {
            resource["operation"] = json!([{
                "name": "everything",
                "definition": "http://hl7.org/fhir/OperationDefinition/Patient-everything"
            }]);
        }
    }
    resources.extend(TYPES.iter().map(|(resource_type, _)| {
        json!({
            "type": resource_type,
            "interaction": [{"code": "read"}, {"code": "search-type"}],
            "searchParam": [
                {"name": "patient", "type": "reference"},
                {"name": "code", "type": "token"},
                {"name": "date", "type": "date"},
                {"name": "_lastUpdated", "type": "date"},
                {"name": "_sort", "type": "string", "documentation": "date or -date"},
                {"name": "_count", "type": "number"},
                {"name": "_offset", "type": "number"}
            ]
        })
    }));
    resources
}

fn forbidden(what: &str) -> Outcome {
    Outcome::new(
        StatusCode::FORBIDDEN,
        "forbidden",
        format!("The app's access does not include this for {what}."),
    )
}

/// The scopes allow `interaction` on `resource_type`, and the choke point grants reading the record, with every
/// label the person shares (all of them for their own token).
async fn record_grant(
    who: &Caller,
    state: &AppState,
    resource_type: &str,
    interaction: Interaction,
) -> Result<Grant, Outcome> {
    if !allows(&who.scopes, resource_type, interaction) {
        return Err(forbidden(resource_type));
    }
    let entity = format!("fhir-{}", resource_type.to_ascii_lowercase());
    record_decision(who, state, &entity).await
}

async fn record_decision(who: &Caller, state: &AppState, entity: &str) -> Result<Grant, Outcome> {
    let request = Request {
        section: Section::Record,
        label: Sensitivity::General,
        action: Action::Read,
    };
    Ok(crate::access::authorize_app_labels(state, &who.user, who.person, request, entity, &who.client_id).await?)
}

/// The stored resource as this server serves it.
fn served(item: &FoundItem, person: PersonId) -> Value {
    let resource_type = item.row.resource_type.as_str();
    let mut v: Value = serde_json::from_str(&item.resource)
        .ok()
        .filter(Value::is_object)
        .unwrap_or_else(|| json!({"resourceType": resource_type}));
    v["id"] = json!(item.row.id.to_string());
    let field = TYPES
        .iter()
        .find(|(t, _)| *t == resource_type)
        .map_or("subject", |(_, f)| f);
    let mut reference = json!({"reference": patient_ref(person)});
    if let Some(display) = v.get(field).and_then(|s| s.get("display")).and_then(Value::as_str) {
        reference["display"] = json!(display);
    }
    v[field] = reference;
    if !v.get("meta").is_some_and(Value::is_object) {
        v["meta"] = json!({});
    }
    // The source's version is not CarePact's.
    if let Some(meta) = v["meta"].as_object_mut() {
        meta.remove("versionId");
    }
    if let Ok(updated) = item.updated_at.0.format(&Rfc3339) {
        v["meta"]["lastUpdated"] = json!(updated);
    }
    v
}

async fn read(
    State(state): State<AppState>,
    headers: HeaderMap,
    Path(id): Path<String>,
    resource_type: &'static str,
) -> Result<Response, Outcome> {
    let who = caller(&state, &headers).await?;
    let id = Uuid::parse_str(&id).map_err(|_| Outcome::not_found())?;
    let grant = record_grant(&who, &state, resource_type, Interaction::Read).await?;
    let wanted = ItemSearch {
        resource_types: vec![resource_type.to_owned()],
        id: Some(id),
        limit: 1,
        ..ItemSearch::default()
    };
    let (found, _) = record::search(&state.db, &grant, &wanted)
        .await?
        .map_err(|_| Outcome::not_found())?;
    let item = found.first().ok_or_else(Outcome::not_found)?;
    Ok(fhir_json(&served(item, who.person)).into_response())
}

/// The search parameters understood, read from the query string.
#[derive(Debug, Default)]
struct RecordSearch {
    wanted: ItemSearch,
    count: i64,
    offset: i64,
    /// The search names another person: it finds nothing, never "not allowed".
    elsewhere: bool,
    /// The query as received (for the `self` and `next` links), without paging.
    kept: Vec<(String, String)>,
}

/// The instants a prefixed date value allows, as (from, to), either open.
fn instant_range(value: &str) -> Result<(Option<OffsetDateTime>, Option<OffsetDateTime>), String> {
    let (prefix, start, end) = date_bound(value)?;
    let tick = time::Duration::microseconds(1);
    Ok(match prefix {
        "ge" => (Some(start), None),
        "gt" => (Some(end + tick), None),
        "le" => (None, Some(end)),
        "lt" => (None, Some(start - tick)),
        _ => (Some(start), Some(end)),
    })
}

fn narrow<T: Ord + Copy>(current: Option<T>, new: Option<T>, keep_larger: bool) -> Option<T> {
    match (current, new) {
        (Some(c), Some(n)) => Some(if keep_larger { c.max(n) } else { c.min(n) }),
        (c, n) => c.or(n),
    }
}

fn paging(key: &str, value: &str, count: &mut i64, offset: &mut i64, problems: &mut Vec<String>) {
    match key {
        "_count" => match value.parse::<i64>() {
            Ok(n) if (0..=MAX_COUNT).contains(&n) => *count = n,
            _ => problems.push(format!("_count: enter a whole number from 0 to {MAX_COUNT}")),
        },
        _ => match value.parse::<i64>() {
            Ok(n) if n >= 0 => *offset = n,
            _ => problems.push("_offset: enter a whole number, 0 or more".to_owned()),
        },
    }
}

fn invalid(problems: Vec<String>) -> Outcome {
    Outcome {
        status: StatusCode::BAD_REQUEST,
        code: "invalid",
        diagnostics: problems,
    }
}

fn pairs(query: Option<&str>) -> Vec<(String, String)> {
    form_urlencoded::parse(query.unwrap_or("").as_bytes())
        .map(|(k, v)| (k.into_owned(), v.into_owned()))
        .collect()
}

fn parse_search(query: Option<&str>, person: PersonId, resource_type: &str) -> Result<RecordSearch, Outcome> {
    let mut s = RecordSearch {
        count: DEFAULT_COUNT,
        ..RecordSearch::default()
    };
    s.wanted.resource_types = vec![resource_type.to_owned()];
    let mut problems = Vec::new();
    for (key, value) in pairs(query) {
        match key.as_str() {
            "patient" => {
                let id = value.rsplit("Patient/").next().unwrap_or(&value);
                if id != person.0.to_string() {
                    s.elsewhere = true;
                }
            }
            "code" => match value.split_once('|') {
                _ if value.contains(',') => problems.push("code: search for one code at a time".to_owned()),
                Some((system, code)) => {
                    s.wanted.code_system = Some(system.to_owned()).filter(|x| !x.is_empty());
                    s.wanted.code = Some(code.to_owned()).filter(|x| !x.is_empty());
                }
                None => s.wanted.code = Some(value.clone()).filter(|x| !x.is_empty()),
            },
            "date" => match instant_range(&value) {
                // Items are dated by day: a day matches when it overlaps the range.
                Ok((from, to)) => {
                    s.wanted.date_from = narrow(s.wanted.date_from, from.map(OffsetDateTime::date), true);
                    s.wanted.date_to = narrow(s.wanted.date_to, to.map(OffsetDateTime::date), false);
                }
                Err(p) => problems.push(p),
            },
            "_lastUpdated" => match instant_range(&value) {
                Ok((from, to)) => {
                    s.wanted.updated_from = narrow(s.wanted.updated_from, from, true);
                    s.wanted.updated_to = narrow(s.wanted.updated_to, to, false);
                }
                Err(p) => problems.push(p.replacen("date:", "_lastUpdated:", 1)),
            },
            "_sort" => match value.as_str() {
                "date" => s.wanted.oldest_first = true,
                "-date" => s.wanted.oldest_first = false,
                _ => problems.push(format!("_sort: CarePact sorts by date or -date, not \"{value}\"")),
            },
            "_count" | "_offset" => paging(&key, &value, &mut s.count, &mut s.offset, &mut problems),
            "_format" => {}
            other => problems.push(format!("{other}: CarePact does not support this search parameter")),
        }
        if key != "_offset" {
            s.kept.push((key, value));
        }
    }
    if problems.is_empty() {
        Ok(s)
    } else {
        Err(invalid(problems))
    }
}

fn searchset(links: Vec<Value>, entries: Vec<Value>, total: Option<i64>) -> Value {
    let mut bundle = json!({
        "resourceType": "Bundle",
        "id": Uuid::now_v7().to_string(),
        "type": "searchset",
        "link": links,
    });
    if let Some(total) = total {
        bundle["total"] = json!(total);
    }
    if !entries.is_empty() {
        bundle["entry"] = Value::Array(entries);
    }
    bundle
}

fn page_links(url: &str, kept: &[(String, String)], offset: i64, count: i64, more: bool) -> Vec<Value> {
    let mut links = vec![json!({"relation": "self", "url": format!("{url}?{}", query_string(kept, Some(offset)))})];
    if more {
        links.push(json!({
            "relation": "next",
            "url": format!("{url}?{}", query_string(kept, Some(offset + count)))
        }));
    }
    links
}

fn item_entry(base: &str, item: &FoundItem, person: PersonId) -> Value {
    json!({
        "fullUrl": format!("{base}/{}/{}", item.row.resource_type, item.row.id),
        "resource": served(item, person),
        "search": {"mode": "match"}
    })
}

async fn search(
    State(state): State<AppState>,
    headers: HeaderMap,
    RawQuery(query): RawQuery,
    resource_type: &'static str,
) -> Result<Response, Outcome> {
    let who = caller(&state, &headers).await?;
    let mut s = parse_search(query.as_deref(), who.person, resource_type)?;
    let grant = record_grant(&who, &state, resource_type, Interaction::Search).await?;
    let (found, total) = if s.elsewhere {
        (Vec::new(), 0)
    } else {
        // One more than asked for says whether there is a next page.
        s.wanted.limit = s.count + 1;
        s.wanted.offset = s.offset;
        record::search(&state.db, &grant, &s.wanted)
            .await?
            .map_err(|_| Outcome::not_found())?
    };
    let more = found.len() as i64 > s.count;
    let base = base(&state);
    let entries: Vec<Value> = found
        .iter()
        .take(usize::try_from(s.count).unwrap_or(0))
        .map(|item| item_entry(&base, item, who.person))
        .collect();
    let links = page_links(&format!("{base}/{resource_type}"), &s.kept, s.offset, s.count, more);
    Ok(fhir_json(&searchset(links, entries, Some(total))).into_response())
}

/// `Patient/{id}/$everything`: see the module's documentation.
async fn everything(
    State(state): State<AppState>,
    headers: HeaderMap,
    Path(id): Path<String>,
    RawQuery(query): RawQuery,
) -> Result<Response, Outcome> {
    let who = caller(&state, &headers).await?;
    if id != who.person.0.to_string() {
        return Err(Outcome::not_found());
    }
    let (mut count, mut offset) = (MAX_COUNT, 0);
    let mut kept = Vec::new();
    let mut problems = Vec::new();
    for (key, value) in pairs(query.as_deref()) {
        match key.as_str() {
            "_count" | "_offset" => paging(&key, &value, &mut count, &mut offset, &mut problems),
            "_format" => {}
            other => problems.push(format!(
                "{other}: CarePact does not support this parameter of $everything"
            )),
        }
        if key != "_offset" {
            kept.push((key, value));
        }
    }
    if !problems.is_empty() {
        return Err(invalid(problems));
    }
    let with_patient = allows(&who.scopes, "Patient", Interaction::Read);
    let types: Vec<String> = TYPES
        .iter()
        .map(|(t, _)| *t)
        .filter(|t| allows(&who.scopes, t, Interaction::Search))
        .map(str::to_owned)
        .collect();
    let with_readings = allows(&who.scopes, "Observation", Interaction::Search);
    if !with_patient && types.is_empty() && !with_readings {
        return Err(forbidden("Patient/$everything"));
    }
    // One decision per section: the record (Patient and items, every shared label), and the readings.
    let record_grant = if with_patient || !types.is_empty() {
        Some(record_decision(&who, &state, "fhir-everything").await?)
    } else {
        None
    };
    let readings_grant = if with_readings {
        let request = Request {
            section: Section::Readings,
            label: Sensitivity::General,
            action: Action::Read,
        };
        Some(
            crate::access::authorize_app(
                &state,
                &who.user,
                who.person,
                request,
                "fhir-everything",
                &who.client_id,
            )
            .await?,
        )
    } else {
        None
    };

    let base = base(&state);
    let patient = patient_ref(who.person);
    let mut entries = Vec::new();
    let mut more = false;
    // Where the page starts, counted through the parts in order.
    let mut skip = offset;
    let mut room = count;
    if let Some(grant) = record_grant.as_ref().filter(|_| with_patient) {
        if skip == 0 {
            if room > 0 {
                let person = carepact_store::people::summary(&state.db, grant)
                    .await?
                    .ok_or_else(Outcome::not_found)?;
                entries.push(json!({
                    "fullUrl": format!("{base}/{patient}"),
                    "resource": crate::pages::export::patient(&person),
                    "search": {"mode": "match"}
                }));
                room -= 1;
            } else {
                more = true;
            }
        } else {
            skip -= 1;
        }
    }
    if let Some(grant) = record_grant.as_ref().filter(|_| !types.is_empty()) {
        let wanted = ItemSearch {
            resource_types: types,
            limit: room,
            offset: skip,
            ..ItemSearch::default()
        };
        let (found, total) = record::search(&state.db, grant, &wanted)
            .await?
            .map_err(|_| Outcome::not_found())?;
        entries.extend(found.iter().map(|item| item_entry(&base, item, who.person)));
        more |= skip + (found.len() as i64) < total;
        room -= found.len() as i64;
        skip = (skip - total).max(0);
    }
    if let Some(grant) = &readings_grant {
        let window = (OffsetDateTime::UNIX_EPOCH, state.now() + time::Duration::days(1));
        let found = carepact_store::readings::search(&state.db, grant, None, window, room + 1, skip)
            .await?
            .map_err(|_| Outcome::not_found())?;
        more |= found.len() as i64 > room;
        entries.extend(found.iter().take(usize::try_from(room).unwrap_or(0)).map(|r| {
            json!({
                "fullUrl": format!("{base}/Observation/{}", r.id),
                "resource": crate::pages::export::reading_resource(r, &patient),
                "search": {"mode": "match"}
            })
        }));
    }
    let links = page_links(&format!("{base}/{patient}/$everything"), &kept, offset, count, more);
    Ok(fhir_json(&searchset(links, entries, None)).into_response())
}
