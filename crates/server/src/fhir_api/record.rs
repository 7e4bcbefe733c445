//! The person's imported health record: read and search for Condition, MedicationStatement, AllergyIntolerance,
//! Immunization, Procedure, DiagnosticReport and DocumentReference, and `Patient/{id}/$everything`.
//!
//! Each resource is the one imported, with its `id` set to CarePact's item id, its `subject` (or `patient`) pointing
//! at `Patient/<person id>` on this server, and `meta.lastUpdated` when CarePact last stored it; other references
//! are left as the source wrote them. The choke point decides once per label (`authorize_via_labels`): an item with
//! a label the person has not shared is "not found", like one that does not exist.
//!
//! Search: `patient`, `code` (the first coding: `system|code`, `code`, `system|`), `date` (the item's date, compared
//! by day, with the prefixes eq/ge/gt/le/lt), `_lastUpdated` (same prefixes), `_sort` (`date` or `-date`; newest
//! first when absent, undated items last), `_include=<type>:patient` (the Patient, when the token may read it),
//! `_count`, `_offset`.
//!
//! `$everything`: the Patient, then the record's items of these types (newest first), then the readings as
//! Observations (newest first), each part only when the token's scopes allow it (Patient read, the others search);
//! pages of `_count` entries (at most and by default 1000) with `next` links.

use axum::Router;
use axum::extract::{Path, RawQuery, State};
use axum::http::{HeaderMap, StatusCode};
use axum::response::{IntoResponse, Response};
use axum::routing::get;
use carepact_domain::consent::Section;
use carepact_domain::identity::PersonId;
use carepact_domain::smart::Interaction;
use carepact_store::access::Grant;
use carepact_store::record::{self, FoundItem, ItemSearch};
use serde_json::{Value, json};
use time::OffsetDateTime;
use time::format_description::well_known::Rfc3339;
use uuid::Uuid;

use super::{
    Caller, DEFAULT_COUNT, MAX_COUNT, Outcome, Target, base, caller, fhir_json, forbidden, instant_range, invalid,
    narrow, page_links, paging, pairs, patient_ref, searchset,
};
use crate::state::AppState;
use carepact_store::owners::Owned;

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
            "searchInclude": [format!("{resource_type}:patient")],
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

/// The token allows `interaction` on `resource_type`, and the choke point grants reading the record, with every
/// label the person shares (all of them for their own token).
async fn record_grant(
    who: &Caller,
    state: &AppState,
    resource_type: &str,
    interaction: Interaction,
) -> Result<Grant, Outcome> {
    who.check(resource_type, interaction)?;
    let entity = format!("fhir-{}", resource_type.to_ascii_lowercase());
    who.grant_labels(state, &entity).await
}

/// How the source named the person's items, for turning the source's references into CarePact's: `Type/<source
/// id>` and full URLs, each to `Type/<CarePact id>`. Only items the grant reaches are named.
pub(super) struct Names(std::collections::HashMap<String, String>);

impl Names {
    pub(super) async fn of(state: &AppState, grant: &Grant) -> Result<Names, Outcome> {
        let names = record::source_names(&state.db, grant)
            .await?
            .map_err(|_| Outcome::not_found())?;
        let mut map = std::collections::HashMap::new();
        for n in names {
            let ours = format!("{}/{}", n.resource_type, n.id);
            if let Some(source_id) = n.source_id {
                map.insert(format!("{}/{source_id}", n.resource_type), ours.clone());
            }
            if let Some(url) = n.full_url {
                map.insert(url, ours);
            }
        }
        Ok(Names(map))
    }

    /// Rewrites every reference inside `v`: to an item CarePact holds and the caller may see, its CarePact address;
    /// to the source's patient, the person here; anything else (an item not imported, or one the caller may not
    /// see) keeps only its words, so no reference points at another system's ids or at something hidden.
    fn rewrite(&self, v: &mut Value, person: PersonId) {
        match v {
            Value::Object(map) => {
                if let Some(Value::String(reference)) = map.get("reference").cloned()
                    && !reference.starts_with('#')
                {
                    let tail = record::relative_tail(&reference);
                    let ours = self.0.get(&reference).or_else(|| self.0.get(tail)).cloned();
                    match ours {
                        Some(ours) => {
                            map.insert("reference".into(), json!(ours));
                        }
                        None if tail.starts_with("Patient/") => {
                            map.insert("reference".into(), json!(patient_ref(person)));
                        }
                        None => {
                            map.remove("reference");
                            let kind = tail.split('/').next().unwrap_or("item").to_owned();
                            map.entry("display")
                                .or_insert_with(|| json!(format!("A {kind} not held in CarePact")));
                        }
                    }
                }
                for (_, child) in map.iter_mut() {
                    self.rewrite(child, person);
                }
            }
            Value::Array(items) => {
                for child in items {
                    self.rewrite(child, person);
                }
            }
            _ => {}
        }
    }
}

/// A record item as this server serves it: the resource the source sent, with CarePact's id, the person here as its
/// subject (or patient), its references made CarePact's (see [`Names::rewrite`]), and `meta.lastUpdated` when
/// CarePact last stored it (when known).
pub(super) fn served(
    row: &record::ItemRow,
    text: &str,
    updated: Option<OffsetDateTime>,
    person: PersonId,
    names: &Names,
) -> Value {
    let resource_type = row.resource_type.as_str();
    let mut v: Value = serde_json::from_str(text)
        .ok()
        .filter(Value::is_object)
        .unwrap_or_else(|| json!({"resourceType": resource_type}));
    v["id"] = json!(row.id.to_string());
    // Contained resources keep their own references as they are.
    let contained = v.as_object_mut().and_then(|o| o.remove("contained"));
    names.rewrite(&mut v, person);
    if let Some(contained) = contained {
        v["contained"] = contained;
    }
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
    if let Some(Ok(updated)) = updated.map(|t| t.format(&Rfc3339)) {
        v["meta"]["lastUpdated"] = json!(updated);
    }
    if v["meta"].as_object().is_some_and(serde_json::Map::is_empty)
        && let Some(o) = v.as_object_mut()
    {
        o.remove("meta");
    }
    v
}

async fn read(
    State(state): State<AppState>,
    headers: HeaderMap,
    Path(id): Path<String>,
    resource_type: &'static str,
) -> Result<Response, Outcome> {
    let who = caller(&state, &headers, Target::Item(Owned::RecordItem, &id)).await?;
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
    let names = Names::of(&state, &grant).await?;
    Ok(fhir_json(&served(
        &item.row,
        &item.resource,
        Some(item.updated_at.0),
        who.person,
        &names,
    ))
    .into_response())
}

/// The search parameters understood, read from the query string.
#[derive(Debug, Default)]
struct RecordSearch {
    wanted: ItemSearch,
    count: i64,
    offset: i64,
    /// The search names another person: it finds nothing, never "not allowed".
    elsewhere: bool,
    /// `_include` of the person.
    include_patient: bool,
    /// The query as received (for the `self` and `next` links), without paging.
    kept: Vec<(String, String)>,
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
            "_include" => match super::includes_patient(resource_type, &value) {
                Ok(()) => s.include_patient = true,
                Err(p) => problems.push(p),
            },
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

fn item_entry(base: &str, item: &FoundItem, person: PersonId, names: &Names) -> Value {
    json!({
        "fullUrl": format!("{base}/{}/{}", item.row.resource_type, item.row.id),
        "resource": served(&item.row, &item.resource, Some(item.updated_at.0), person, names),
        "search": {"mode": "match"}
    })
}

async fn search(
    State(state): State<AppState>,
    headers: HeaderMap,
    RawQuery(query): RawQuery,
    resource_type: &'static str,
) -> Result<Response, Outcome> {
    let who = caller(&state, &headers, Target::Search(query.as_deref())).await?;
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
    let names = Names::of(&state, &grant).await?;
    let mut entries: Vec<Value> = found
        .iter()
        .take(usize::try_from(s.count).unwrap_or(0))
        .map(|item| item_entry(&base, item, who.person, &names))
        .collect();
    if s.include_patient
        && !entries.is_empty()
        && let Some(include) = super::patient_include(&state, &who).await?
    {
        entries.push(include);
    }
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
    let who = caller(&state, &headers, Target::Person(&id)).await?;
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
    let with_patient = who.allows("Patient", Interaction::Read);
    let types: Vec<String> = TYPES
        .iter()
        .map(|(t, _)| *t)
        .filter(|t| who.allows(t, Interaction::Search))
        .map(str::to_owned)
        .collect();
    let with_readings = who.allows("Observation", Interaction::Search);
    if !with_patient && types.is_empty() && !with_readings {
        return Err(forbidden("Patient/$everything"));
    }
    // One decision per section: the record (Patient and items, every shared label), and the readings.
    let record_grant = if with_patient || !types.is_empty() {
        Some(who.grant_labels(&state, "fhir-everything").await?)
    } else {
        None
    };
    // The readings are left out when the person does not share them with the user (a professional's token): as if
    // there were none.
    let readings_grant = if with_readings {
        match who
            .grant(&state, "Observation", Interaction::Search, Section::Readings)
            .await
        {
            Ok(grant) => Some(grant),
            Err(e) if e.status == StatusCode::NOT_FOUND => None,
            Err(e) => return Err(e),
        }
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
        let names = Names::of(&state, grant).await?;
        entries.extend(found.iter().map(|item| item_entry(&base, item, who.person, &names)));
        more |= skip + (found.len() as i64) < total;
        room -= found.len() as i64;
        skip = (skip - total).max(0);
    }
    if let Some(grant) = &readings_grant {
        let window = (OffsetDateTime::UNIX_EPOCH, state.now() + time::Duration::days(1));
        let found = carepact_store::readings::search(
            &state.db,
            grant,
            &carepact_store::readings::Wanted {
                measures: Vec::new(),
                window,
                corrected: None,
            },
            room + 1,
            skip,
        )
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
