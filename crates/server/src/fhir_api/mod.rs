//! The FHIR R4 REST API at `/fhir/r4`, for the apps and devices a person connects with SMART on FHIR.
//!
//! This module holds what every resource shares (errors, the caller from the bearer token, the base URL, search
//! helpers) and serves the CapabilityStatement and the person's Patient. Each resource type has its own module
//! (`observation`) with its handlers and its part of the CapabilityStatement. Every request carries a bearer token from `/oauth/token`; the token's scopes must
//! allow the interaction on the resource type, and then the one consent choke point decides and records it, with
//! the app named. Errors are OperationOutcome with the right status: 401 without a valid token, 403 when the scopes
//! do not reach, 404 for "no such resource" and for "not yours" alike, 400/422 for bad input.
//!
//! The API has no cookies or sessions: it sits outside the session and CSRF layers.

use axum::Router;
use axum::extract::{Path, State};
use axum::http::{HeaderMap, HeaderValue, StatusCode, header};
use axum::response::{IntoResponse, Response};
use axum::routing::{any, get};
use carepact_domain::consent::{Action, Request, Section, Sensitivity};
use carepact_domain::identity::PersonId;
use carepact_domain::smart::{Interaction, Scope, allows, parse_scopes};
use carepact_store::access::Grant;
use carepact_store::users::User;
use serde_json::{Value, json};
use time::OffsetDateTime;
use time::format_description::well_known::Rfc3339;

use crate::errors::AppError;
use crate::state::AppState;

/// The largest resource or Bundle the API takes.
pub const BODY_LIMIT: usize = 1024 * 1024;
/// Search pages: the default and the most entries.
pub(crate) const DEFAULT_COUNT: i64 = 50;
pub(crate) const MAX_COUNT: i64 = 1000;
const FHIR_JSON: &str = "application/fhir+json";

mod bulk;
mod bundle;
mod observation;
mod record;

pub fn routes() -> Router<AppState> {
    Router::new()
        .route(
            "/fhir/r4",
            axum::routing::post(bundle::transaction_or_batch).fallback(not_supported),
        )
        .route("/fhir/r4/metadata", get(metadata))
        .route("/fhir/r4/Patient/{id}", get(patient))
        .route("/fhir/r4/Patient/$export", get(bulk::kick_off))
        .route("/fhir/r4/Patient/{id}/$export", get(bulk::kick_off_for))
        .route("/fhir/r4/$export-status/{id}", get(bulk::status).delete(bulk::cancel))
        .route("/fhir/r4/$export-file/{id}/{type}/{part}", get(bulk::file))
        .route(
            "/fhir/r4/Observation",
            get(observation::search_observations).post(observation::create_observation),
        )
        .route("/fhir/r4/Observation/{id}", get(observation::read_observation))
        .merge(record::routes())
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
    let resources = vec![
        json!({"type": "Patient", "interaction": [{"code": "read"}]}),
        observation::capability(),
    ];
    let resources = record::with_capabilities(resources);
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
            "resource": resources,
            "interaction": bundle::capability(),
            "operation": [bulk::operation()],
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

// ---- shared by the resource modules ----

pub(crate) fn patient_ref(person: PersonId) -> String {
    format!("Patient/{}", person.0)
}

/// A FHIR date search value with its prefix, as the instant range it stands for.
pub(crate) fn date_bound(value: &str) -> Result<(&str, OffsetDateTime, OffsetDateTime), String> {
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

pub(crate) fn query_string(pairs: &[(String, String)], offset: Option<i64>) -> String {
    let mut q = form_urlencoded::Serializer::new(String::new());
    for (k, v) in pairs {
        q.append_pair(k, v);
    }
    if let Some(o) = offset {
        q.append_pair("_offset", &o.to_string());
    }
    q.finish()
}
