//! Observation: the person's readings.
//!
//! - Read (with `ETag` and `Last-Modified`), vread and `_history`: a reading starts at version 1 and each
//!   correction adds one; every earlier version is kept.
//! - Search: `patient`/`subject`, `code` (a comma is "or"), `category`, `status` (`final`, or `corrected` for a
//!   corrected reading), `date` with prefixes, `_include=Observation:patient`, `_count`, `_offset`, with `next`
//!   links.
//! - Create, so a device can send readings: a reading sent again is not stored twice, and a new one is checked
//!   against the person's agreed alert rules like any other.
//! - Update with `If-Match`, to correct a reading: see [`update_observation`].

use std::collections::BTreeMap;

use axum::body::Bytes;
use axum::extract::{Path, RawQuery, State};
use axum::http::{HeaderMap, HeaderValue, StatusCode, header};
use axum::response::{IntoResponse, Response};
use carepact_domain::consent::Section;
use carepact_domain::identity::PersonId;
use carepact_domain::readings::{self as domain, Measure, Values};
use carepact_domain::smart::Interaction;
use carepact_store::readings::{self, Added, NewReading};
use serde_json::{Value, json};
use time::OffsetDateTime;
use uuid::Uuid;

use super::{Caller, DEFAULT_COUNT, MAX_COUNT, Outcome, Target, base, caller, fhir_json, patient_ref, query_string};
use crate::state::AppState;
use carepact_store::owners::Owned;

/// What the CapabilityStatement says of Observation.
pub(super) fn capability() -> Value {
    json!({
        "type": "Observation",
        "interaction": [
            {"code": "read"}, {"code": "vread"}, {"code": "history-instance"}, {"code": "search-type"},
            {"code": "create"}, {"code": "update"}
        ],
        "versioning": "versioned-update",
        "readHistory": true,
        "updateCreate": false,
        "searchInclude": ["Observation:patient", "Observation:subject"],
        "searchParam": [
            {"name": "patient", "type": "reference"},
            {"name": "subject", "type": "reference"},
            {"name": "code", "type": "token"},
            {"name": "category", "type": "token"},
            {"name": "status", "type": "token", "documentation": "final, or corrected (amended) for a corrected reading"},
            {"name": "date", "type": "date"},
            {"name": "_count", "type": "number"},
            {"name": "_offset", "type": "number"}
        ]
    })
}

pub(super) async fn read_observation(
    State(state): State<AppState>,
    headers: HeaderMap,
    Path(id): Path<String>,
) -> Result<Response, Outcome> {
    let who = caller(&state, &headers, Target::Item(Owned::Reading, &id)).await?;
    let id = Uuid::parse_str(&id).map_err(|_| Outcome::not_found())?;
    let grant = who
        .grant(&state, "Observation", Interaction::Read, Section::Readings)
        .await?;
    let found = readings::by_ids(&state.db, &grant, &[id])
        .await?
        .map_err(|_| Outcome::not_found())?;
    let reading = found.first().ok_or_else(Outcome::not_found)?;
    Ok(served(reading, who.person, StatusCode::OK))
}

/// A reading as the API serves it, with its `ETag` and `Last-Modified`.
fn served(reading: &readings::Reading, person: PersonId, status: StatusCode) -> Response {
    let body = crate::pages::export::reading_resource(reading, &patient_ref(person));
    let mut response = (status, fhir_json(&body)).into_response();
    super::version_headers(&mut response, reading.version, reading.recorded_at.0);
    response
}

/// Every version of one of the person's readings, newest first (empty when there is no such reading for them).
async fn versions_of(
    state: &AppState,
    headers: &HeaderMap,
    id: &str,
) -> Result<(Caller, Vec<readings::Reading>), Outcome> {
    let who = caller(state, headers, Target::Item(Owned::Reading, id)).await?;
    let id = Uuid::parse_str(id).map_err(|_| Outcome::not_found())?;
    let grant = who
        .grant(state, "Observation", Interaction::Read, Section::Readings)
        .await?;
    let all = readings::versions(&state.db, &grant, id)
        .await?
        .map_err(|_| Outcome::not_found())?;
    if all.is_empty() {
        return Err(Outcome::not_found());
    }
    Ok((who, all))
}

/// `Observation/{id}/_history/{vid}`: one version of a reading.
pub(super) async fn vread_observation(
    State(state): State<AppState>,
    headers: HeaderMap,
    Path((id, vid)): Path<(String, String)>,
) -> Result<Response, Outcome> {
    let (who, all) = versions_of(&state, &headers, &id).await?;
    let version: i64 = vid.parse().map_err(|_| Outcome::not_found())?;
    let reading = all
        .iter()
        .find(|r| r.version == version)
        .ok_or_else(Outcome::not_found)?;
    Ok(served(reading, who.person, StatusCode::OK))
}

/// `Observation/{id}/_history`: every version of a reading, newest first, as a history Bundle.
pub(super) async fn history_observation(
    State(state): State<AppState>,
    headers: HeaderMap,
    Path(id): Path<String>,
) -> Result<Response, Outcome> {
    let (who, all) = versions_of(&state, &headers, &id).await?;
    let base = base(&state);
    let patient = patient_ref(who.person);
    let newest = all.first().map_or(1, |r| r.version);
    let entries: Vec<Value> = all
        .iter()
        .map(|r| {
            json!({
                "fullUrl": format!("{base}/Observation/{}", r.id),
                "resource": crate::pages::export::reading_resource(r, &patient),
                "request": {
                    "method": if r.version == 1 { "POST" } else { "PUT" },
                    "url": if r.version == 1 { "Observation".to_owned() } else { format!("Observation/{}", r.id) }
                },
                "response": {
                    "status": if r.version == 1 { "201 Created" } else { "200 OK" },
                    "etag": format!("W/\"{}\"", r.version),
                    "lastModified": r.recorded_at.0.format(&time::format_description::well_known::Rfc3339).unwrap_or_default()
                }
            })
        })
        .collect();
    let body = json!({
        "resourceType": "Bundle",
        "id": Uuid::now_v7().to_string(),
        "type": "history",
        "total": entries.len(),
        "link": [{"relation": "self", "url": format!("{base}/Observation/{id}/_history")}],
        "entry": entries,
    });
    let mut response = fhir_json(&body).into_response();
    if let Ok(v) = HeaderValue::from_str(&format!("W/\"{newest}\"")) {
        response.headers_mut().insert(header::ETAG, v);
    }
    Ok(response)
}

/// The search parameters understood, read from the query string.
#[derive(Debug, Default)]
struct ObservationSearch {
    /// The measures `code` and `category` allow between them: every measure when `None`.
    measures: Option<Vec<Measure>>,
    from: Option<OffsetDateTime>,
    to: Option<OffsetDateTime>,
    /// `status`: corrected readings only, or never-corrected ones only; `None` for both.
    corrected: Option<bool>,
    /// `status` asked only for states a reading is never in (`preliminary`…): nothing matches.
    no_status: bool,
    include_patient: bool,
    count: i64,
    offset: i64,
    /// The search names another person: it finds nothing (as if they had no readings), never "not allowed".
    elsewhere: bool,
    /// The query as received (for the `self` and `next` links), without paging.
    kept: Vec<(String, String)>,
}

/// The measure a `code` token names: a LOINC code (a blood pressure's parts name the panel) or CarePact's own.
fn measure_of(token: &str) -> Option<Measure> {
    let code = token.rsplit('|').next().unwrap_or(token);
    Measure::from_loinc(code).map(|(m, _)| m).or_else(|| {
        Measure::ALL
            .into_iter()
            .find(|m| m.loinc() == code || (m.loinc_is_local() && m.code() == code))
    })
}

/// Keeps only the measures both sets allow.
fn narrow_measures(current: Option<Vec<Measure>>, allowed: Vec<Measure>) -> Option<Vec<Measure>> {
    Some(match current {
        None => allowed,
        Some(c) => c.into_iter().filter(|m| allowed.contains(m)).collect(),
    })
}

fn parse_search(query: Option<&str>, person: PersonId) -> Result<ObservationSearch, Outcome> {
    let mut s = ObservationSearch {
        count: DEFAULT_COUNT,
        ..ObservationSearch::default()
    };
    let mut problems = Vec::new();
    let pairs: Vec<(String, String)> = form_urlencoded::parse(query.unwrap_or("").as_bytes())
        .map(|(k, v)| (k.into_owned(), v.into_owned()))
        .collect();
    for (key, value) in &pairs {
        match key.as_str() {
            "patient" | "subject" => {
                if super::referenced_person(value) != Some(person) {
                    s.elsewhere = true;
                }
            }
            // A comma-separated list is any of them.
            "code" => {
                let mut allowed = Vec::new();
                for token in value.split(',') {
                    match measure_of(token) {
                        Some(m) => allowed.push(m),
                        None => problems.push(format!("code: CarePact holds no readings coded \"{token}\"")),
                    }
                }
                s.measures = narrow_measures(s.measures.take(), allowed);
            }
            "category" => {
                let mut allowed = Vec::new();
                for token in value.split(',') {
                    let (system, code) = token.split_once('|').unwrap_or(("", token));
                    if !system.is_empty() && system != carepact_fhir::observation::CATEGORY {
                        problems.push(format!(
                            "category: CarePact's categories are from {}",
                            carepact_fhir::observation::CATEGORY
                        ));
                        continue;
                    }
                    allowed.extend(
                        Measure::ALL
                            .into_iter()
                            .filter(|m| carepact_fhir::observation::category(*m).0 == code),
                    );
                }
                s.measures = narrow_measures(s.measures.take(), allowed);
            }
            "status" => {
                let (mut original, mut corrected) = (false, false);
                for token in value.split(',') {
                    match token {
                        "final" => original = true,
                        "corrected" | "amended" => corrected = true,
                        "registered" | "preliminary" | "cancelled" | "entered-in-error" | "unknown" => {}
                        other => problems.push(format!("status: \"{other}\" is not an Observation status")),
                    }
                }
                match (original, corrected) {
                    (true, true) => {}
                    (true, false) => s.corrected = Some(false),
                    (false, true) => s.corrected = Some(true),
                    (false, false) => s.no_status = true,
                }
            }
            "date" => match super::instant_range(value) {
                Ok((from, to)) => {
                    s.from = super::narrow(s.from, from, true);
                    s.to = super::narrow(s.to, to, false);
                }
                Err(p) => problems.push(p),
            },
            "_include" => match super::includes_patient("Observation", value) {
                Ok(()) => s.include_patient = true,
                Err(p) => problems.push(p),
            },
            "_count" => match value.parse::<i64>() {
                Ok(n) if (0..=MAX_COUNT).contains(&n) => s.count = n,
                _ => problems.push(format!("_count: enter a whole number from 0 to {MAX_COUNT}")),
            },
            "_offset" => match value.parse::<i64>() {
                Ok(n) if n >= 0 => s.offset = n,
                _ => problems.push("_offset: enter a whole number, 0 or more".to_owned()),
            },
            "_format" => {}
            other => problems.push(format!("{other}: CarePact does not support this search parameter")),
        }
        if !key.starts_with("_offset") {
            s.kept.push((key.clone(), value.clone()));
        }
    }
    if problems.is_empty() {
        Ok(s)
    } else {
        Err(Outcome {
            status: StatusCode::BAD_REQUEST,
            code: "invalid",
            diagnostics: problems,
        })
    }
}

pub(super) async fn search_observations(
    State(state): State<AppState>,
    headers: HeaderMap,
    RawQuery(query): RawQuery,
) -> Result<Response, Outcome> {
    let who = caller(&state, &headers, Target::Search(query.as_deref())).await?;
    let s = parse_search(query.as_deref(), who.person)?;
    let grant = who
        .grant(&state, "Observation", Interaction::Search, Section::Readings)
        .await?;
    let wanted = readings::Wanted {
        measures: s.measures.clone().unwrap_or_default(),
        window: (
            s.from.unwrap_or(OffsetDateTime::UNIX_EPOCH),
            s.to.unwrap_or_else(|| state.now() + time::Duration::days(1)),
        ),
        corrected: s.corrected,
    };
    let nothing = s.elsewhere || s.no_status || s.measures.as_ref().is_some_and(Vec::is_empty);
    // One more than asked for says whether there is a next page.
    let found = if s.count == 0 || nothing {
        Vec::new()
    } else {
        readings::search(&state.db, &grant, &wanted, s.count + 1, s.offset)
            .await?
            .map_err(|_| Outcome::not_found())?
    };
    let more = found.len() as i64 > s.count;
    let base = base(&state);
    let patient = patient_ref(who.person);
    let mut entries: Vec<Value> = found
        .iter()
        .take(usize::try_from(s.count).unwrap_or(0))
        .map(|r| {
            json!({
                "fullUrl": format!("{base}/Observation/{}", r.id),
                "resource": crate::pages::export::reading_resource(r, &patient),
                "search": {"mode": "match"}
            })
        })
        .collect();
    if s.include_patient
        && !entries.is_empty()
        && let Some(include) = super::patient_include(&state, &who).await?
    {
        entries.push(include);
    }
    let mut links = vec![
        json!({"relation": "self", "url": format!("{base}/Observation?{}", query_string(&s.kept, Some(s.offset)))}),
    ];
    if more {
        links.push(json!({
            "relation": "next",
            "url": format!("{base}/Observation?{}", query_string(&s.kept, Some(s.offset + s.count)))
        }));
    }
    let mut bundle = json!({
        "resourceType": "Bundle",
        "id": Uuid::now_v7().to_string(),
        "type": "searchset",
        "link": links,
    });
    if !entries.is_empty() {
        bundle["entry"] = Value::Array(entries);
    }
    Ok(fhir_json(&bundle).into_response())
}

/// The values an Observation carries, checked against the measure's plausible ranges.
pub(super) fn checked_values(measure: Measure, raw: &BTreeMap<&'static str, f64>) -> Result<Values, Vec<String>> {
    let mut values = Values::new();
    let mut problems = Vec::new();
    for c in measure.components() {
        match raw.get(c.key) {
            Some(v) => match domain::check_value(c, *v) {
                Ok(m) => {
                    values.insert(c.key, m);
                }
                Err(domain::EntryProblem::OutOfRange { min, max, unit }) => {
                    problems.push(format!("{}: must be between {min} and {max} {unit}", c.key));
                }
                Err(_) => problems.push(format!("{}: is not a number", c.key)),
            },
            None if c.required => problems.push(format!("{}: is missing", c.key)),
            None => {}
        }
    }
    if let (Some(s), Some(d)) = (values.get("systolic"), values.get("diastolic"))
        && d >= s
    {
        problems.push("diastolic: must be below the systolic pressure".to_owned());
    }
    if problems.is_empty() { Ok(values) } else { Err(problems) }
}

pub(super) async fn create_observation(
    State(state): State<AppState>,
    headers: HeaderMap,
    body: Bytes,
) -> Result<Response, Outcome> {
    let (who, json) = super::caller_for_new(&state, &headers, &body).await?;
    let checked = check_observation(&state, &json, who.person)?;
    let (measure, taken, values, note) = (checked.measure, checked.taken, checked.values, checked.note);
    let now = state.now();
    let grant = who
        .grant(&state, "Observation", Interaction::Create, Section::Readings)
        .await?;
    let device = json.pointer("/device/display").and_then(Value::as_str);
    let reading = NewReading {
        measure,
        taken_at: taken,
        values: &values,
        note: note.as_deref().filter(|_| measure != Measure::Symptoms),
        source: who.reading_source(&grant),
        device,
    };
    let tr = crate::access::job_tr(&state);
    let mail = crate::pages::readings::alert_mail(&state, tr, who.person);
    let added = state
        .readings
        .add(&state.db, &grant, &reading, &mail, now)
        .await?
        .map_err(|_| Outcome::not_found())?;
    let base = base(&state);
    let patient = patient_ref(who.person);
    // A device sending the same reading again gets the one CarePact already holds.
    let (status, id) = match added {
        Added::Added { id, .. } => (StatusCode::CREATED, Some(id)),
        Added::Duplicate => (StatusCode::OK, None),
    };
    let stored = match id {
        Some(id) => readings::by_ids(&state.db, &grant, &[id]).await?.unwrap_or_default(),
        None => readings::list(&state.db, &grant, Some(measure), taken, taken, 1)
            .await?
            .unwrap_or_default(),
    };
    let reading = stored.first().ok_or_else(Outcome::not_found)?;
    let mut response = (
        status,
        fhir_json(&crate::pages::export::reading_resource(reading, &patient)),
    )
        .into_response();
    if let Ok(location) = HeaderValue::from_str(&format!("{base}/Observation/{}", reading.id)) {
        response.headers_mut().insert(header::LOCATION, location);
    }
    Ok(response)
}

/// An Observation a caller sends, read and checked.
struct CheckedObservation {
    measure: Measure,
    taken: OffsetDateTime,
    values: Values,
    note: Option<String>,
}

/// Reads and checks an Observation sent for `person`: a reading CarePact can store (422 listing the problems if not).
fn check_observation(state: &AppState, json: &Value, person: PersonId) -> Result<CheckedObservation, Outcome> {
    let invalid = |problems: Vec<String>| Outcome {
        status: StatusCode::UNPROCESSABLE_ENTITY,
        code: "invalid",
        diagnostics: problems,
    };
    let (measure, taken, raw, note) = carepact_fhir::observation::read_observation(json)
        .map_err(|problems| invalid(problems.iter().map(|p| format!("{}: {}", p.path, p.message)).collect()))?;
    if let Some(subject) = json.pointer("/subject/reference").and_then(Value::as_str)
        && super::referenced_person(subject) != Some(person)
    {
        return Err(invalid(vec![
            "subject: must be the person the access token is for".into(),
        ]));
    }
    if measure.is_derived() {
        return Err(invalid(vec![
            "code: CarePact works BMI out itself; send weight and height".into(),
        ]));
    }
    let values = checked_values(measure, &raw).map_err(invalid)?;
    if taken > state.now() + time::Duration::minutes(5) {
        return Err(invalid(vec![
            "effective[x]: a reading cannot be taken in the future".into(),
        ]));
    }
    Ok(CheckedObservation {
        measure,
        taken,
        values,
        note,
    })
}

/// `PUT Observation/{id}`: corrects one of the person's readings. The request must say which version it corrects
/// (`If-Match: W/"<version>"`, else 412), and the resource must be the same reading: the same id and measure (a
/// different measure is a new reading, 422). Another reading of the measure at the new moment is a conflict (409);
/// a version someone else has replaced is 412. The corrected reading is checked against the agreed alert rules like
/// a new one, and the version it replaces is kept (`_history`).
pub(super) async fn update_observation(
    State(state): State<AppState>,
    headers: HeaderMap,
    Path(id): Path<String>,
    body: Bytes,
) -> Result<Response, Outcome> {
    let who = caller(&state, &headers, Target::Item(Owned::Reading, &id)).await?;
    let reading_id = Uuid::parse_str(&id).map_err(|_| Outcome::not_found())?;
    let grant = who
        .grant(&state, "Observation", Interaction::Update, Section::Readings)
        .await?;
    let expected = match super::if_match(&headers) {
        Some(Ok(v)) => v,
        Some(Err(())) => {
            return Err(Outcome::new(
                StatusCode::BAD_REQUEST,
                "invalid",
                "If-Match: give the version being corrected, like W/\"1\".",
            ));
        }
        None => {
            return Err(Outcome::new(
                StatusCode::PRECONDITION_FAILED,
                "conflict",
                "If-Match: say which version this corrects (W/\"<versionId>\"), so a change made meanwhile is not lost.",
            ));
        }
    };
    let json: Value = serde_json::from_slice(&body).map_err(|e| {
        Outcome::new(
            StatusCode::BAD_REQUEST,
            "structure",
            format!("The body is not JSON: {e}"),
        )
    })?;
    if json.get("id").and_then(Value::as_str) != Some(id.as_str()) {
        return Err(Outcome::new(
            StatusCode::BAD_REQUEST,
            "invalid",
            "id: the resource's id must be the one in the address.",
        ));
    }
    let checked = check_observation(&state, &json, who.person)?;
    let correction = readings::Correction {
        id: reading_id,
        expected: Some(expected),
        taken_at: checked.taken,
        values: &checked.values,
        note: checked.note.as_deref().filter(|_| checked.measure != Measure::Symptoms),
        device: json.pointer("/device/display").and_then(Value::as_str),
    };
    let tr = crate::access::job_tr(&state);
    let mail = crate::pages::readings::alert_mail(&state, tr, who.person);
    let outcome = readings::correct(&state.db, &grant, checked.measure, &correction, &mail, state.now())
        .await?
        .map_err(|_| Outcome::not_found())?;
    match outcome {
        readings::Corrected::Corrected { reading, .. } => {
            let mut response = served(&reading, who.person, StatusCode::OK);
            if let Ok(location) = HeaderValue::from_str(&format!(
                "{}/Observation/{}/_history/{}",
                base(&state),
                reading.id,
                reading.version
            )) {
                response.headers_mut().insert(header::CONTENT_LOCATION, location);
            }
            Ok(response)
        }
        readings::Corrected::NotFound => Err(Outcome::not_found()),
        readings::Corrected::VersionConflict { current } => Err(Outcome::new(
            StatusCode::PRECONDITION_FAILED,
            "conflict",
            format!(
                "This reading has changed since version {expected}: it is at version {current} now. Read it again, then correct that."
            ),
        )),
        readings::Corrected::OtherMeasure => Err(Outcome::new(
            StatusCode::UNPROCESSABLE_ENTITY,
            "invalid",
            "code: a correction cannot change what was measured; record a new reading instead.",
        )),
        readings::Corrected::Clash => Err(Outcome::new(
            StatusCode::CONFLICT,
            "duplicate",
            "effective[x]: the person already has another reading of this at that moment.",
        )),
    }
}
