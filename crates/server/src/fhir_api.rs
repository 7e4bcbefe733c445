//! The FHIR R4 REST API at `/fhir/r4`, for the apps and devices a person connects with SMART on FHIR.
//!
//! This first part serves the CapabilityStatement, the person's Patient, and Observation (their readings): read,
//! search (`patient`/`subject`, `code`, `date` with prefixes, `_count`, paging with `next` links) and create, so a
//! device can send readings. Every request carries a bearer token from `/oauth/token`; the token's scopes must
//! allow the interaction on the resource type, and then the one consent choke point decides and records it, with
//! the app named. Errors are OperationOutcome with the right status: 401 without a valid token, 403 when the scopes
//! do not reach, 404 for "no such resource" and for "not yours" alike, 400/422 for bad input.
//!
//! The API has no cookies or sessions: it sits outside the session and CSRF layers.

use std::collections::BTreeMap;

use axum::Router;
use axum::body::Bytes;
use axum::extract::{Path, RawQuery, State};
use axum::http::{HeaderMap, HeaderValue, StatusCode, header};
use axum::response::{IntoResponse, Response};
use axum::routing::{any, get};
use carepact_domain::consent::{Action, Request, Section, Sensitivity};
use carepact_domain::identity::PersonId;
use carepact_domain::readings::{self as domain, Measure, Values};
use carepact_domain::smart::{Interaction, Scope, allows, parse_scopes};
use carepact_store::access::Grant;
use carepact_store::readings::{self, Added, NewReading};
use carepact_store::users::User;
use serde_json::{Value, json};
use time::OffsetDateTime;
use time::format_description::well_known::Rfc3339;
use uuid::Uuid;

use crate::errors::AppError;
use crate::state::AppState;

/// The largest resource or Bundle the API takes.
pub const BODY_LIMIT: usize = 1024 * 1024;
/// Search pages: the default and the most entries.
const DEFAULT_COUNT: i64 = 50;
const MAX_COUNT: i64 = 1000;
const FHIR_JSON: &str = "application/fhir+json";

pub fn routes() -> Router<AppState> {
    Router::new()
        .route("/fhir/r4/metadata", get(metadata))
        .route("/fhir/r4/Patient/{id}", get(patient))
        .route(
            "/fhir/r4/Observation",
            get(search_observations).post(create_observation),
        )
        .route("/fhir/r4/Observation/{id}", get(read_observation))
        // Anything else under the base: an OperationOutcome saying so (the pages' fallback is an HTML page).
        .route("/fhir/r4/{*rest}", any(not_supported))
        .layer(axum::extract::DefaultBodyLimit::max(BODY_LIMIT))
}

// ---- errors ----

/// An error as the API answers it: an OperationOutcome.
#[derive(Debug)]
pub struct Outcome {
    status: StatusCode,
    /// The FHIR issue type: "login", "forbidden", "not-found", "invalid", "not-supported", "exception"…
    code: &'static str,
    diagnostics: Vec<String>,
}

impl Outcome {
    fn new(status: StatusCode, code: &'static str, diagnostics: impl Into<String>) -> Outcome {
        Outcome {
            status,
            code,
            diagnostics: vec![diagnostics.into()],
        }
    }

    fn not_found() -> Outcome {
        Outcome::new(StatusCode::NOT_FOUND, "not-found", "No such resource.")
    }
}

impl From<AppError> for Outcome {
    fn from(e: AppError) -> Outcome {
        match e {
            AppError::NotFound => Outcome::not_found(),
            other => {
                tracing::error!(error = ?other, "FHIR API request failed");
                Outcome::new(StatusCode::INTERNAL_SERVER_ERROR, "exception", "Something went wrong.")
            }
        }
    }
}

impl From<carepact_store::StoreError> for Outcome {
    fn from(e: carepact_store::StoreError) -> Outcome {
        Outcome::from(AppError::from(e))
    }
}

impl IntoResponse for Outcome {
    fn into_response(self) -> Response {
        let issues: Vec<Value> = self
            .diagnostics
            .iter()
            .map(|d| json!({"severity": "error", "code": self.code, "diagnostics": d}))
            .collect();
        let body = json!({"resourceType": "OperationOutcome", "issue": issues});
        let mut response = (self.status, fhir_json(&body)).into_response();
        if self.status == StatusCode::UNAUTHORIZED {
            response.headers_mut().insert(
                header::WWW_AUTHENTICATE,
                HeaderValue::from_static("Bearer realm=\"CarePact\", error=\"invalid_token\""),
            );
        }
        response
    }
}

/// A FHIR JSON body with its content type.
fn fhir_json(body: &Value) -> impl IntoResponse + use<> {
    let text = serde_json::to_vec(body).unwrap_or_default();
    ([(header::CONTENT_TYPE, FHIR_JSON)], text)
}

async fn not_supported() -> Outcome {
    Outcome::new(
        StatusCode::NOT_FOUND,
        "not-supported",
        "CarePact does not support this: see /fhir/r4/metadata for what it does.",
    )
}

// ---- who is asking ----

/// A request's app, user and person, from its bearer token.
struct Caller {
    user: User,
    person: PersonId,
    client_id: String,
    scopes: Vec<Scope>,
}

async fn caller(state: &AppState, headers: &HeaderMap) -> Result<Caller, Outcome> {
    let unauthorised = || {
        Outcome::new(
            StatusCode::UNAUTHORIZED,
            "login",
            "A valid bearer access token is needed.",
        )
    };
    let token = headers
        .get(header::AUTHORIZATION)
        .and_then(|v| v.to_str().ok())
        .and_then(|v| v.strip_prefix("Bearer "))
        .map(str::trim)
        .filter(|t| !t.is_empty())
        .ok_or_else(unauthorised)?;
    let found = carepact_store::smart::access_token(&state.db, token, state.now())
        .await?
        .ok_or_else(unauthorised)?;
    let user = carepact_store::users::get(&state.db, found.user)
        .await?
        .filter(|u| u.active)
        .ok_or_else(unauthorised)?;
    let (scopes, _) = parse_scopes(&found.scopes.join(" "));
    Ok(Caller {
        user,
        person: found.person,
        client_id: found.client_id,
        scopes,
    })
}

impl Caller {
    /// The scopes allow `interaction` on `resource_type`, and the choke point grants it for the token's person.
    async fn grant(
        &self,
        state: &AppState,
        resource_type: &str,
        interaction: Interaction,
        section: Section,
    ) -> Result<Grant, Outcome> {
        if !allows(&self.scopes, resource_type, interaction) {
            return Err(Outcome::new(
                StatusCode::FORBIDDEN,
                "forbidden",
                format!("The app's access does not include this for {resource_type}."),
            ));
        }
        let request = Request {
            section,
            label: Sensitivity::General,
            action: if matches!(interaction, Interaction::Read | Interaction::Search) {
                Action::Read
            } else {
                Action::Write
            },
        };
        let entity = format!("fhir-{}", resource_type.to_ascii_lowercase());
        Ok(crate::access::authorize_app(state, &self.user, self.person, request, &entity, &self.client_id).await?)
    }
}

fn base(state: &AppState) -> String {
    format!("{}/fhir/r4", state.config.public_url.trim_end_matches('/'))
}

// ---- the capability statement ----

pub async fn metadata(State(state): State<AppState>) -> impl IntoResponse {
    let public = state.config.public_url.trim_end_matches('/').to_owned();
    let body = json!({
        "resourceType": "CapabilityStatement",
        "status": "active",
        "date": OffsetDateTime::now_utc().date().to_string(),
        "publisher": "CarePact",
        "kind": "instance",
        "software": {"name": "CarePact"},
        "implementation": {"description": "CarePact FHIR R4 API", "url": base(&state)},
        "fhirVersion": "4.0.1",
        "format": ["application/fhir+json", "json"],
        "rest": [{
            "mode": "server",
            "security": {
                "cors": false,
                "service": [{"coding": [{"system": "http://terminology.hl7.org/CodeSystem/restful-security-service", "code": "SMART-on-FHIR"}]}],
                "description": "OAuth 2 with SMART App Launch 2.0 (standalone patient launch, PKCE). See /.well-known/smart-configuration.",
                "extension": [{
                    "url": "http://fhir-registry.smarthealthit.org/StructureDefinition/oauth-uris",
                    "extension": [
                        {"url": "authorize", "valueUri": format!("{public}/oauth/authorize")},
                        {"url": "token", "valueUri": format!("{public}/oauth/token")},
                        {"url": "revoke", "valueUri": format!("{public}/oauth/revoke")}
                    ]
                }]
            },
            "resource": [
                {
                    "type": "Patient",
                    "interaction": [{"code": "read"}]
                },
                {
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
                }
            ]
        }]
    });
    fhir_json(&body)
}

// ---- Patient ----

async fn patient(
    State(state): State<AppState>,
    headers: HeaderMap,
    Path(id): Path<String>,
) -> Result<Response, Outcome> {
    let who = caller(&state, &headers).await?;
    if id != who.person.0.to_string() {
        return Err(Outcome::not_found());
    }
    let grant = who.grant(&state, "Patient", Interaction::Read, Section::Record).await?;
    let person = carepact_store::people::summary(&state.db, &grant)
        .await?
        .ok_or_else(Outcome::not_found)?;
    Ok(fhir_json(&crate::pages::export::patient(&person)).into_response())
}

// ---- Observation ----

fn patient_ref(person: PersonId) -> String {
    format!("Patient/{}", person.0)
}

async fn read_observation(
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

/// A FHIR date search value with its prefix, as the instant range it stands for.
fn date_bound(value: &str) -> Result<(&str, OffsetDateTime, OffsetDateTime), String> {
    let (prefix, text) = match value.get(..2) {
        Some(p @ ("eq" | "ge" | "le" | "gt" | "lt")) => (p, &value[2..]),
        _ => ("eq", value),
    };
    let bad = || format!("date: \"{value}\" is not a FHIR date (like 2026-03-15 or 2026-03-15T08:30:00Z)");
    if let Ok(t) = OffsetDateTime::parse(text, &Rfc3339) {
        return Ok((prefix, t, t));
    }
    let parts: Vec<&str> = text.split('-').collect();
    let number = |i: usize| parts.get(i).and_then(|p| p.parse::<i32>().ok());
    let (start, end) = match parts.len() {
        1 => {
            let y = number(0).ok_or_else(bad)?;
            let start = time::Date::from_calendar_date(y, time::Month::January, 1).map_err(|_| bad())?;
            let end = time::Date::from_calendar_date(y + 1, time::Month::January, 1).map_err(|_| bad())?;
            (start, end)
        }
        2 => {
            let (y, m) = (number(0).ok_or_else(bad)?, number(1).ok_or_else(bad)?);
            let month = time::Month::try_from(u8::try_from(m).map_err(|_| bad())?).map_err(|_| bad())?;
            let start = time::Date::from_calendar_date(y, month, 1).map_err(|_| bad())?;
            let end = if month == time::Month::December {
                time::Date::from_calendar_date(y + 1, time::Month::January, 1)
            } else {
                time::Date::from_calendar_date(y, month.next(), 1)
            }
            .map_err(|_| bad())?;
            (start, end)
        }
        3 => {
            let d = time::Date::parse(text, time::macros::format_description!("[year]-[month]-[day]"))
                .map_err(|_| bad())?;
            (d, d.next_day().ok_or_else(bad)?)
        }
        _ => return Err(bad()),
    };
    let start = start.midnight().assume_utc();
    let end = end.midnight().assume_utc() - time::Duration::microseconds(1);
    Ok((prefix, start, end))
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

fn query_string(pairs: &[(String, String)], offset: Option<i64>) -> String {
    let mut q = form_urlencoded::Serializer::new(String::new());
    for (k, v) in pairs {
        q.append_pair(k, v);
    }
    if let Some(o) = offset {
        q.append_pair("_offset", &o.to_string());
    }
    q.finish()
}

async fn search_observations(
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
fn checked_values(measure: Measure, raw: &BTreeMap<&'static str, f64>) -> Result<Values, Vec<String>> {
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

async fn create_observation(
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
