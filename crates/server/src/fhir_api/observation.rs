//! Observation: the person's readings. Read, search (`patient`/`subject`, `code`, `date` with prefixes, `_count`,
//! `_offset`, with `next` links) and create, so a device can send readings; a reading sent again is not stored
//! twice, and a new one is checked against the person's agreed alert rules like any other.

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

use super::{DEFAULT_COUNT, MAX_COUNT, Outcome, base, caller, date_bound, fhir_json, patient_ref, query_string};
use crate::state::AppState;

/// What the CapabilityStatement says of Observation.
pub(super) fn capability() -> Value {
    json!({
        "type": "Observation",
        "interaction": [{"code": "read"}, {"code": "search-type"}, {"code": "create"}],
        "searchParam": [
            {"name": "patient", "type": "reference"},
            {"name": "subject", "type": "reference"},
            {"name": "code", "type": "token"},
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
    let who = caller(&state, &headers).await?;
    let id = Uuid::parse_str(&id).map_err(|_| Outcome::not_found())?;
    let grant = who
        .grant(&state, "Observation", Interaction::Read, Section::Readings)
        .await?;
    let found = readings::by_ids(&state.db, &grant, &[id])
        .await?
        .map_err(|_| Outcome::not_found())?;
    let reading = found.first().ok_or_else(Outcome::not_found)?;
    Ok(fhir_json(&crate::pages::export::reading_resource(
        reading,
        &patient_ref(who.person),
    ))
    .into_response())
}

/// The search parameters understood, read from the query string.
#[derive(Debug, Default)]
struct ObservationSearch {
    measure: Option<Measure>,
    from: Option<OffsetDateTime>,
    to: Option<OffsetDateTime>,
    count: i64,
    offset: i64,
    /// The search names another person: it finds nothing (as if they had no readings), never "not allowed".
    elsewhere: bool,
    /// The query as received (for the `self` and `next` links), without paging.
    kept: Vec<(String, String)>,
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
                let id = value.trim_start_matches("Patient/");
                if id != person.0.to_string() {
                    s.elsewhere = true;
                }
            }
            "code" => {
                let code = value.rsplit('|').next().unwrap_or(value);
                match Measure::from_loinc(code).map(|(m, _)| m).or_else(|| {
                    Measure::ALL
                        .into_iter()
                        .find(|m| m.loinc() == code || (m.loinc_is_local() && m.code() == code))
                }) {
                    Some(m) => s.measure = Some(m),
                    None => problems.push(format!("code: CarePact holds no readings coded \"{value}\"")),
                }
            }
            "date" => match date_bound(value) {
                Ok((prefix, start, end)) => {
                    let (lo, hi) = match prefix {
                        "ge" => (Some(start), None),
                        "gt" => (Some(end + time::Duration::microseconds(1)), None),
                        "le" => (None, Some(end)),
                        "lt" => (None, Some(start - time::Duration::microseconds(1))),
                        _ => (Some(start), Some(end)),
                    };
                    if let Some(lo) = lo {
                        s.from = Some(s.from.map_or(lo, |f| f.max(lo)));
                    }
                    if let Some(hi) = hi {
                        s.to = Some(s.to.map_or(hi, |t| t.min(hi)));
                    }
                }
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
    let who = caller(&state, &headers).await?;
    let s = parse_search(query.as_deref(), who.person)?;
    let grant = who
        .grant(&state, "Observation", Interaction::Search, Section::Readings)
        .await?;
    let window = (
        s.from.unwrap_or(OffsetDateTime::UNIX_EPOCH),
        s.to.unwrap_or_else(|| state.now() + time::Duration::days(1)),
    );
    // One more than asked for says whether there is a next page.
    let found = if s.count == 0 || s.elsewhere {
        Vec::new()
    } else {
        readings::search(&state.db, &grant, s.measure, window, s.count + 1, s.offset)
            .await?
            .map_err(|_| Outcome::not_found())?
    };
    let more = found.len() as i64 > s.count;
    let base = base(&state);
    let patient = patient_ref(who.person);
    let entries: Vec<Value> = found
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
    let who = caller(&state, &headers).await?;
    let json: Value = serde_json::from_slice(&body).map_err(|e| {
        Outcome::new(
            StatusCode::BAD_REQUEST,
            "structure",
            format!("The body is not JSON: {e}"),
        )
    })?;
    let invalid = |problems: Vec<String>| Outcome {
        status: StatusCode::UNPROCESSABLE_ENTITY,
        code: "invalid",
        diagnostics: problems,
    };
    let (measure, taken, raw, note) = carepact_fhir::observation::read_observation(&json)
        .map_err(|problems| invalid(problems.iter().map(|p| format!("{}: {}", p.path, p.message)).collect()))?;
    if let Some(subject) = json.pointer("/subject/reference").and_then(Value::as_str)
        && subject.trim_start_matches(&format!("{}/", base(&state))) != patient_ref(who.person)
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
    let now = state.now();
    if taken > now + time::Duration::minutes(5) {
        return Err(invalid(vec![
            "effective[x]: a reading cannot be taken in the future".into(),
        ]));
    }
    let grant = who
        .grant(&state, "Observation", Interaction::Create, Section::Readings)
        .await?;
    let device = json.pointer("/device/display").and_then(Value::as_str);
    let reading = NewReading {
        measure,
        taken_at: taken,
        values: &values,
        note: note.as_deref().filter(|_| measure != Measure::Symptoms),
        source: "device",
        device,
    };
    let tr = crate::access::job_tr(&state);
    let mail = crate::pages::readings::alert_mail(&state, tr, who.person);
    let added = readings::add(&state.db, &grant, &reading, &mail, now)
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
