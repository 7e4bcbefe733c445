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
use carepact_store::owners::Owned;
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
pub(crate) const DEFAULT_COUNT: i64 = 50;
pub(crate) const MAX_COUNT: i64 = 1000;
const FHIR_JSON: &str = "application/fhir+json";

mod bulk;
mod bundle;
mod care;
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
        .route(
            "/fhir/r4/Observation/{id}",
            get(observation::read_observation).put(observation::update_observation),
        )
        .route(
            "/fhir/r4/Observation/{id}/_history",
            get(observation::history_observation),
        )
        .route(
            "/fhir/r4/Observation/{id}/_history/{vid}",
            get(observation::vread_observation),
        )
        .merge(record::routes())
        .merge(care::routes())
        // Anything else under the base: an OperationOutcome saying so (the pages' fallback is an HTML page).
        .route("/fhir/r4/{*rest}", any(not_supported))
        // A method a resource does not take (writing an AuditEvent, say): an OperationOutcome too.
        .method_not_allowed_fallback(not_allowed)
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

async fn not_allowed() -> Outcome {
    Outcome::new(
        StatusCode::METHOD_NOT_ALLOWED,
        "not-supported",
        "This resource does not take that request: see /fhir/r4/metadata for what it does.",
    )
}

async fn not_supported() -> Outcome {
    Outcome::new(
        StatusCode::NOT_FOUND,
        "not-supported",
        "CarePact does not support this: see /fhir/r4/metadata for what it does.",
    )
}

// ---- who is asking ----

/// How a caller reaches the API.
pub(crate) enum Via {
    /// An app the person connected with SMART on FHIR, limited to the scopes they allowed.
    App { client_id: String, scopes: Vec<Scope> },
    /// A user's API token (`carepact token create`): what the user may do on the pages, limited by consent in the
    /// same way, for every type the API serves.
    Token { id: Uuid },
}

/// What a request is about, so that the person it reaches is known before anything is read.
pub(crate) enum Target<'a> {
    /// A search, with its query string: the person its `patient` (or `subject`) parameter names. A token holder must
    /// name one; an app's token is for one person.
    Search(Option<&'a str>),
    /// One item by its id.
    Item(Owned, &'a str),
    /// The person by id: `Patient/{id}`, `$everything`, `$export`.
    Person(&'a str),
    /// The token's own person: an app's person, or the token holder's own record.
    Own,
    /// A new resource, for the person its `subject` reference names (`Patient/<id>`, maybe with the base URL).
    Subject(Option<&'a str>),
}

/// A request's user, the person it reaches, and how it came.
pub(crate) struct Caller {
    pub(crate) user: User,
    pub(crate) person: PersonId,
    pub(crate) via: Via,
}

/// A new resource's caller and body: the token is checked first (401 before anything else), the caller reaches the
/// person the resource's `subject` names, and then a body that is not JSON is a 400.
pub(crate) async fn caller_for_new(
    state: &AppState,
    headers: &HeaderMap,
    body: &[u8],
) -> Result<(Caller, Value), Outcome> {
    let parsed = serde_json::from_slice::<Value>(body);
    let subject = parsed
        .as_ref()
        .ok()
        .and_then(|j| j.pointer("/subject/reference"))
        .and_then(Value::as_str);
    let who = caller(state, headers, Target::Subject(subject)).await?;
    let json = parsed.map_err(|e| {
        Outcome::new(
            StatusCode::BAD_REQUEST,
            "structure",
            format!("The body is not JSON: {e}"),
        )
    })?;
    Ok((who, json))
}

fn unauthorised() -> Outcome {
    Outcome::new(
        StatusCode::UNAUTHORIZED,
        "login",
        "A valid bearer access token is needed.",
    )
}

/// A valid bearer token, before the person it reaches is known.
pub(crate) enum Bearer {
    App {
        user: User,
        person: PersonId,
        client_id: String,
        scopes: Vec<Scope>,
    },
    Token {
        user: User,
        id: Uuid,
    },
}

/// The request's bearer token, checked: 401 without a live one.
pub(crate) async fn bearer(state: &AppState, headers: &HeaderMap) -> Result<Bearer, Outcome> {
    let token = headers
        .get(header::AUTHORIZATION)
        .and_then(|v| v.to_str().ok())
        .and_then(|v| v.strip_prefix("Bearer "))
        .map(str::trim)
        .filter(|t| !t.is_empty())
        .ok_or_else(unauthorised)?;
    let now = state.now();
    if token.starts_with(carepact_store::api_tokens::PREFIX) {
        let found = carepact_store::api_tokens::holder(&state.db, token, now)
            .await?
            .ok_or_else(unauthorised)?;
        return Ok(Bearer::Token {
            user: found.user,
            id: found.token.id,
        });
    }
    let found = carepact_store::smart::access_token(&state.db, token, now)
        .await?
        .ok_or_else(unauthorised)?;
    let user = active_user(state, found.user).await?;
    let (scopes, _) = parse_scopes(&found.scopes.join(" "));
    Ok(Bearer::App {
        user,
        person: found.person,
        client_id: found.client_id,
        scopes,
    })
}

impl Bearer {
    /// The caller, reaching the person `target` names. An app's token reaches its own person only (a search
    /// naming someone else finds nothing, a read of their item is "not found"); a user's API token reaches whoever
    /// the target names, and the choke point then decides as for the user on the pages. A target naming no one that
    /// exists is "not found", the same answer as a refusal.
    pub(crate) async fn reaching(self, state: &AppState, target: Target<'_>) -> Result<Caller, Outcome> {
        match self {
            Bearer::App {
                user,
                person,
                client_id,
                scopes,
            } => Ok(Caller {
                user,
                person,
                via: Via::App { client_id, scopes },
            }),
            Bearer::Token { user, id } => {
                let person = match target {
                    Target::Own => carepact_store::people::id_for_user(&state.db, user.id)
                        .await?
                        .ok_or_else(Outcome::not_found)?,
                    target => target_person(state, target).await?,
                };
                Ok(Caller {
                    user,
                    person,
                    via: Via::Token { id },
                })
            }
        }
    }
}

/// The bearer token's caller, reaching the person `target` names: see [`Bearer::reaching`].
pub(crate) async fn caller(state: &AppState, headers: &HeaderMap, target: Target<'_>) -> Result<Caller, Outcome> {
    bearer(state, headers).await?.reaching(state, target).await
}

async fn active_user(state: &AppState, id: carepact_domain::identity::UserId) -> Result<User, Outcome> {
    carepact_store::users::get(&state.db, id)
        .await?
        .filter(|u| u.active)
        .ok_or_else(unauthorised)
}

/// A reference to a person on this server, as an id: `Patient/<id>`, `<base>/Patient/<id>` or the bare id.
pub(crate) fn referenced_person(reference: &str) -> Option<PersonId> {
    let id = reference.rsplit_once("Patient/").map_or(reference, |(_, id)| id);
    Uuid::parse_str(id.trim()).ok().map(PersonId)
}

/// The person a token holder's request names.
async fn target_person(state: &AppState, target: Target<'_>) -> Result<PersonId, Outcome> {
    match target {
        Target::Search(query) => {
            let named = form_urlencoded::parse(query.unwrap_or("").as_bytes())
                .find(|(k, _)| k == "patient" || k == "subject")
                .map(|(_, v)| v.into_owned());
            let Some(named) = named else {
                return Err(Outcome::new(
                    StatusCode::BAD_REQUEST,
                    "required",
                    "patient: name the person this search is about (patient=<id>).",
                ));
            };
            referenced_person(&named).ok_or_else(Outcome::not_found)
        }
        Target::Item(kind, id) => {
            let id = Uuid::parse_str(id).map_err(|_| Outcome::not_found())?;
            carepact_store::owners::owner(&state.db, kind, id)
                .await?
                .ok_or_else(Outcome::not_found)
        }
        Target::Person(id) => referenced_person(id).ok_or_else(Outcome::not_found),
        Target::Own => Err(Outcome::not_found()),
        Target::Subject(reference) => reference.and_then(referenced_person).ok_or_else(|| {
            Outcome::new(
                StatusCode::UNPROCESSABLE_ENTITY,
                "required",
                "subject: name the person this is about (Patient/<id>).",
            )
        }),
    }
}

/// 403: the token does not reach `what`.
pub(crate) fn forbidden(what: &str) -> Outcome {
    Outcome::new(
        StatusCode::FORBIDDEN,
        "forbidden",
        format!("The token's access does not include this for {what}."),
    )
}

impl Caller {
    /// The access log's record of how the user came: `app:<client id>` or `token:<id>`.
    pub(crate) fn via(&self) -> String {
        match &self.via {
            Via::App { client_id, .. } => format!("app:{client_id}"),
            Via::Token { id } => format!("token:{id}"),
        }
    }

    /// The app's client id, for an app's token.
    pub(crate) fn client_id(&self) -> Option<&str> {
        match &self.via {
            Via::App { client_id, .. } => Some(client_id),
            Via::Token { .. } => None,
        }
    }

    /// Whether the token lets its holder do `interaction` on `resource_type` at all (before consent): an app's
    /// scopes; for a user's token, any type the API serves, never writing a read-only one (Consent, AuditEvent).
    pub(crate) fn allows(&self, resource_type: &str, interaction: Interaction) -> bool {
        match &self.via {
            Via::App { scopes, .. } => allows(scopes, resource_type, interaction),
            Via::Token { .. } => carepact_domain::smart::section_of(resource_type)
                .is_some_and(|(_, read_only)| !(read_only && interaction.is_write())),
        }
    }

    /// 403 unless the token allows `interaction` on `resource_type`.
    pub(crate) fn check(&self, resource_type: &str, interaction: Interaction) -> Result<(), Outcome> {
        if self.allows(resource_type, interaction) {
            Ok(())
        } else {
            Err(forbidden(resource_type))
        }
    }

    /// The token allows `interaction` on `resource_type`, and the choke point grants it for the person, recording
    /// how the user came.
    pub(crate) async fn grant(
        &self,
        state: &AppState,
        resource_type: &str,
        interaction: Interaction,
        section: Section,
    ) -> Result<Grant, Outcome> {
        self.check(resource_type, interaction)?;
        let request = Request {
            section,
            label: Sensitivity::General,
            action: if interaction.is_write() {
                Action::Write
            } else {
                Action::Read
            },
        };
        let entity = format!("fhir-{}", resource_type.to_ascii_lowercase());
        Ok(crate::access::authorize_via(state, &self.user, self.person, request, &entity, &self.via()).await?)
    }

    /// Who a reading the caller sends comes from: a device, for an app; else the user, as on the pages.
    pub(crate) fn reading_source(&self, grant: &Grant) -> &'static str {
        match self.via {
            Via::App { .. } => "device",
            Via::Token { .. } => crate::pages::readings::source_for(grant, &self.user),
        }
    }

    /// Like [`Caller::grant`] for reading the record's items of every sensitivity: the grant covers the labels the
    /// person shares with the user (all of them for their own token), decided once per label, under `entity`.
    pub(crate) async fn grant_labels(&self, state: &AppState, entity: &str) -> Result<Grant, Outcome> {
        let request = Request {
            section: Section::Record,
            label: Sensitivity::General,
            action: Action::Read,
        };
        Ok(crate::access::authorize_via_labels(state, &self.user, self.person, request, entity, &self.via()).await?)
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
    let resources = [resources, care::capabilities()].concat();
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
                "cors": true,
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
    let who = caller(&state, &headers, Target::Person(&id)).await?;
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

/// The instants a prefixed date value allows, as (from, to), either open.
pub(super) fn instant_range(value: &str) -> Result<(Option<OffsetDateTime>, Option<OffsetDateTime>), String> {
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

/// The tighter of two bounds: the larger of two lower bounds (`keep_larger`), or the smaller of two upper ones.
pub(super) fn narrow<T: Ord + Copy>(current: Option<T>, new: Option<T>, keep_larger: bool) -> Option<T> {
    match (current, new) {
        (Some(c), Some(n)) => Some(if keep_larger { c.max(n) } else { c.min(n) }),
        (c, n) => c.or(n),
    }
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

/// The query string's parameters, in order.
pub(super) fn pairs(query: Option<&str>) -> Vec<(String, String)> {
    form_urlencoded::parse(query.unwrap_or("").as_bytes())
        .map(|(k, v)| (k.into_owned(), v.into_owned()))
        .collect()
}

/// Reads `_count` (at most [`MAX_COUNT`]) or `_offset` into `count` or `offset`, or says what is wrong with it.
pub(super) fn paging(key: &str, value: &str, count: &mut i64, offset: &mut i64, problems: &mut Vec<String>) {
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

/// A search the API cannot do: 400, naming every problem.
pub(super) fn invalid(problems: Vec<String>) -> Outcome {
    Outcome {
        status: StatusCode::BAD_REQUEST,
        code: "invalid",
        diagnostics: problems,
    }
}

/// A searchset Bundle of `entries`, with its links and, when known, the total.
pub(super) fn searchset(links: Vec<Value>, entries: Vec<Value>, total: Option<i64>) -> Value {
    let mut bundle = json!({
        "resourceType": "Bundle",
        "id": uuid::Uuid::now_v7().to_string(),
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

/// A page's `self` link and, when there is more, its `next` link: the query as received, paged by `_offset`.
pub(super) fn page_links(url: &str, kept: &[(String, String)], offset: i64, count: i64, more: bool) -> Vec<Value> {
    let mut links = vec![json!({"relation": "self", "url": format!("{url}?{}", query_string(kept, Some(offset)))})];
    if more {
        links.push(json!({
            "relation": "next",
            "url": format!("{url}?{}", query_string(kept, Some(offset + count)))
        }));
    }
    links
}

/// Whether an `_include` value names the subject of a `resource_type` search (`<type>:patient` or
/// `<type>:subject`, or `*`); anything else is a problem to report.
pub(crate) fn includes_patient(resource_type: &str, value: &str) -> Result<(), String> {
    let named = value == "*"
        || value
            .split_once(':')
            .is_some_and(|(t, p)| t == resource_type && matches!(p.split(':').next(), Some("patient" | "subject")));
    if named {
        Ok(())
    } else {
        Err(format!(
            "_include: CarePact can include the person ({resource_type}:patient), not \"{value}\""
        ))
    }
}

/// The person's Patient as an `include` entry of a searchset: only when the token may read Patient and the choke
/// point lets the user see the person's record. Otherwise nothing, and no error: an include the caller may not
/// see is left out, as if it were not there.
pub(crate) async fn patient_include(state: &AppState, who: &Caller) -> Result<Option<Value>, Outcome> {
    if !who.allows("Patient", Interaction::Read) {
        return Ok(None);
    }
    let grant = match who.grant(state, "Patient", Interaction::Read, Section::Record).await {
        Ok(grant) => grant,
        Err(e) if e.status == StatusCode::NOT_FOUND => return Ok(None),
        Err(e) => return Err(e),
    };
    let Some(person) = carepact_store::people::summary(&state.db, &grant).await? else {
        return Ok(None);
    };
    Ok(Some(json!({
        "fullUrl": format!("{}/{}", base(state), patient_ref(who.person)),
        "resource": crate::pages::export::patient(&person),
        "search": {"mode": "include"}
    })))
}

/// A version id from an `If-Match` header: `W/"3"`, `"3"` or `3`.
pub(crate) fn if_match(headers: &HeaderMap) -> Option<Result<i64, ()>> {
    let value = headers.get(header::IF_MATCH)?;
    let text = value.to_str().map_err(|_| ()).map(|t| {
        t.trim()
            .trim_start_matches("W/")
            .trim_matches('"')
            .parse::<i64>()
            .map_err(|_| ())
    });
    Some(text.and_then(|r| r))
}

/// `ETag` and `Last-Modified` for a served resource with this version and time.
pub(crate) fn version_headers(response: &mut Response, version: i64, updated: OffsetDateTime) {
    if let Ok(v) = HeaderValue::from_str(&format!("W/\"{version}\"")) {
        response.headers_mut().insert(header::ETAG, v);
    }
    let http_date = time::macros::format_description!(
        "[weekday repr:short], [day] [month repr:short] [year] [hour]:[minute]:[second] GMT"
    );
    if let Ok(text) = updated.to_offset(time::UtcOffset::UTC).format(&http_date)
        && let Ok(v) = HeaderValue::from_str(&text)
    {
        response.headers_mut().insert(header::LAST_MODIFIED, v);
    }
}
