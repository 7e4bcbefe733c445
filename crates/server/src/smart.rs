//! SMART on FHIR (App Launch 2.0, standalone patient launch): the authorization server that lets a person connect
//! apps and devices to their record.
//!
//! - `/.well-known/smart-configuration` (also under the FHIR base, `/fhir/r4`) tells apps where everything is.
//! - `/oauth/authorize`: a signed-in user (sign-in keeps the request) sees in plain words which app is asking,
//!   what it wants to see and change (grouped by consent section), and for how long, and allows it or not. They can
//!   connect it to their own record (if they are a person with one) or, as a carer, to the record of someone who
//!   shares with them as their carer and lets them read at least one section the app's scopes reach (asked of the
//!   choke point, so nothing about anyone is shown unless they consented); with more than one choice, they choose
//!   whose. The answer checks the chosen person again through the choke point. Allowing is recorded in the
//!   person's log (naming the carer when it was them). A bad app or return address shows an error page and never
//!   redirects; other problems go back to the app as OAuth errors.
//! - `/oauth/token` and `/oauth/revoke` are called by apps, not browsers: they sit outside the session layer (no
//!   cookies, no CSRF), like `/healthz`, and answer RFC 6749 JSON. Confidential apps authenticate with HTTP Basic;
//!   public apps send their client_id and prove the code with PKCE S256.
//! - `/apps`: the apps connected to the person's record (by them, or by a carer: "Connected by …"), and the apps a
//!   carer connected for the people they care for, each with Disconnect (which revokes everything it holds at
//!   once).
//! - With `openid`, the token response carries an OpenID Connect identity token (see `oidc`).
//! - `/admin/apps`: the system admin registers apps (the secret of a confidential app is shown once) and can switch
//!   one off.
//!
//! Nothing here logs a code, token or secret: the trace layer logs route templates only, and no body is logged.

use std::collections::HashMap;

use askama::Template;
use axum::Router;
use axum::body::Bytes;
use axum::extract::{DefaultBodyLimit, Path, RawQuery, State};
use axum::http::{HeaderMap, HeaderValue, StatusCode, header};
use axum::response::{IntoResponse, Json, Redirect, Response};
use axum::routing::{get, post};
use carepact_domain::consent::{Action, Request, Section, Sensitivity};
use carepact_domain::identity::{PersonId, Role, required_text};
use carepact_domain::smart::{self as rules, Scope};
use carepact_store::access::Grant;
use carepact_store::audit::AccessEntry;
use carepact_store::smart::{self as store, Client, ClientKind, GrantError, Issued};
use carepact_store::users::User;
use carepact_store::{consents, people};
use serde_json::json;
use tower::ServiceBuilder;
use tower_http::catch_panic::CatchPanicLayer;
use tower_http::set_header::SetResponseHeaderLayer;
use uuid::Uuid;

use crate::errors::AppError;
use crate::forms::{Errors, Fields};
use crate::pages::layout::{Chrome, render, require_role};
use crate::session::Session;
use crate::state::AppState;

/// The pages: behind the session layer (cookies, CSRF), like every page.
pub fn routes() -> Router<AppState> {
    Router::new()
        .route("/oauth/authorize", get(authorize_form).post(authorize))
        .route("/apps", get(apps))
        .route("/apps/{id}/disconnect", post(disconnect))
        .route("/admin/apps", get(admin_apps).post(register))
        .route("/admin/apps/{client_id}/{verb}", post(switch))
}

/// What apps call. Outside the session and error-page layers: no cookies, no CSRF, JSON answers. Bodies are small
/// forms; answers are never cached and may be read by browser apps on other origins (they carry no cookies: see
/// `http::cors`).
pub fn api_routes() -> Router<AppState> {
    Router::new()
        .route("/.well-known/smart-configuration", get(configuration))
        .route("/fhir/r4/.well-known/smart-configuration", get(configuration))
        .route("/oauth/token", post(token))
        .route("/oauth/revoke", post(revoke))
        .route("/oauth/introspect", post(introspect))
        .route("/.well-known/openid-configuration", get(crate::oidc::configuration))
        .route(
            "/fhir/r4/.well-known/openid-configuration",
            get(crate::oidc::configuration),
        )
        .route("/.well-known/jwks.json", get(crate::oidc::jwks))
        .layer(
            ServiceBuilder::new()
                .layer(CatchPanicLayer::new())
                .layer(DefaultBodyLimit::max(crate::session::FORM_LIMIT))
                .layer(SetResponseHeaderLayer::overriding(
                    header::CACHE_CONTROL,
                    HeaderValue::from_static("no-store"),
                )),
        )
}

/// The FHIR base URL: the `aud` apps must name.
fn fhir_base(state: &AppState) -> String {
    format!("{}/fhir/r4", state.config.public_url.trim_end_matches('/'))
}

fn public_base(state: &AppState) -> &str {
    state.config.public_url.trim_end_matches('/')
}

/// The scopes apps may ask for, for the SMART and OpenID Connect configurations.
pub(crate) fn scopes_supported() -> Vec<String> {
    let mut scopes = vec![
        "openid".to_owned(),
        "fhirUser".to_owned(),
        "launch/patient".to_owned(),
        "offline_access".to_owned(),
        "patient/*.cruds".to_owned(),
        "patient/*.rs".to_owned(),
    ];
    scopes.extend(
        rules::RESOURCE_TYPES
            .iter()
            .map(|(t, _, read_only)| format!("patient/{t}.{}", if *read_only { "rs" } else { "cruds" })),
    );
    scopes
}

async fn configuration(State(state): State<AppState>) -> Response {
    let base = public_base(&state);
    Json(json!({
        "issuer": crate::oidc::issuer(&state),
        "jwks_uri": format!("{base}/.well-known/jwks.json"),
        "authorization_endpoint": format!("{base}/oauth/authorize"),
        "token_endpoint": format!("{base}/oauth/token"),
        "revocation_endpoint": format!("{base}/oauth/revoke"),
        "introspection_endpoint": format!("{base}/oauth/introspect"),
        "management_endpoint": format!("{base}/apps"),
        "token_endpoint_auth_methods_supported": ["client_secret_basic", "none"],
        "grant_types_supported": ["authorization_code", "refresh_token"],
        "scopes_supported": scopes_supported(),
        "response_types_supported": ["code"],
        "code_challenge_methods_supported": ["S256"],
        "id_token_signing_alg_values_supported": [crate::oidc::ALG],
        "capabilities": [
            "launch-standalone",
            "client-public",
            "client-confidential-symmetric",
            "context-standalone-patient",
            "permission-offline",
            "permission-patient",
            "permission-v1",
            "permission-v2",
            "sso-openid-connect"
        ],
    }))
    .into_response()
}

// ---------------------------------------------------------------------------------------------------------------
// Authorization: the person allows an app, or not.

/// The parameters of an authorization request (each may appear once).
const AUTH_PARAMS: [&str; 8] = [
    "response_type",
    "client_id",
    "redirect_uri",
    "scope",
    "state",
    "aud",
    "code_challenge",
    "code_challenge_method",
];

/// The longest `state` carried back to an app.
const STATE_MAX: usize = 1024;

/// A request that passed every check.
struct AuthRequest {
    client: Client,
    redirect_uri: String,
    state: String,
    granted: Vec<Scope>,
    code_challenge: String,
}

enum Checked {
    Ready(AuthRequest),
    /// Sent back to the app with an OAuth error.
    Refused(Response),
}

/// A redirect to `uri` (an app's registered address) with `params` added to its query; empty values left out.
fn redirect_with(uri: &str, params: &[(&str, &str)]) -> Response {
    let mut query = form_urlencoded::Serializer::new(String::new());
    for (k, v) in params.iter().filter(|(_, v)| !v.is_empty()) {
        query.append_pair(k, v);
    }
    let separator = if uri.contains('?') { '&' } else { '?' };
    match HeaderValue::from_str(&format!("{uri}{separator}{}", query.finish())) {
        Ok(location) => (StatusCode::SEE_OTHER, [(header::LOCATION, location)]).into_response(),
        // Registered addresses are checked ASCII, so this cannot happen; never redirect somewhere half-made.
        Err(_) => AppError::BadRequest("error-smart-redirect").into_response(),
    }
}

/// Checks an authorization request. The app and its return address first: if either is wrong, an error page
/// (never a redirect to an address we cannot trust). Then the rest, refused back to the app with an OAuth error.
async fn check(state: &AppState, p: &Fields) -> Result<Checked, AppError> {
    let client = match p.all("client_id").as_slice() {
        [id] => store::client(&state.db, id).await?.filter(|c| c.active),
        _ => None,
    }
    .ok_or(AppError::BadRequest("error-smart-unknown-app"))?;
    let redirect_uri = match p.all("redirect_uri").as_slice() {
        [uri] if client.redirects_to(uri) => (*uri).to_owned(),
        _ => return Err(AppError::BadRequest("error-smart-redirect")),
    };
    let app_state = p.get("state");
    let refuse = |error: &str, description: &str| {
        Checked::Refused(redirect_with(
            &redirect_uri,
            &[
                ("error", error),
                ("error_description", description),
                ("state", app_state),
            ],
        ))
    };
    if AUTH_PARAMS.iter().any(|name| p.all(name).len() > 1) {
        return Ok(refuse("invalid_request", "A parameter is repeated."));
    }
    if p.get("response_type") != "code" {
        return Ok(refuse(
            "unsupported_response_type",
            "Only response_type=code is supported.",
        ));
    }
    if app_state.is_empty() || app_state.len() > STATE_MAX {
        return Ok(refuse(
            "invalid_request",
            "state is required (at most 1024 characters).",
        ));
    }
    if p.get("aud").trim_end_matches('/') != fhir_base(state) {
        return Ok(refuse("invalid_request", "aud must be this server's FHIR base URL."));
    }
    if p.get("code_challenge_method") != "S256" || !rules::pkce_challenge_ok(p.get("code_challenge")) {
        return Ok(refuse(
            "invalid_request",
            "PKCE is required: a code_challenge with code_challenge_method=S256.",
        ));
    }
    let (requested, _unknown) = rules::parse_scopes(p.get("scope"));
    let granted = rules::grantable(&requested, &client.allowed());
    if !granted.iter().any(Scope::is_resource) {
        return Ok(refuse(
            "invalid_scope",
            "None of the scopes asked for can be granted to this app.",
        ));
    }
    Ok(Checked::Ready(AuthRequest {
        client,
        redirect_uri,
        state: app_state.to_owned(),
        granted,
        code_challenge: p.get("code_challenge").to_owned(),
    }))
}

/// The record of the signed-in user themself, if they are a person with one.
async fn own_record(state: &AppState, user: &User) -> Result<Option<PersonId>, AppError> {
    if !user.has_role(Role::Person) {
        return Ok(None);
    }
    Ok(people::id_for_user(&state.db, user.id).await?)
}

/// The consent sections an app's scopes reach.
fn scope_sections(scopes: &[Scope]) -> Vec<Section> {
    rules::section_access(scopes).into_iter().map(|a| a.section).collect()
}

/// A carer's grant over `person`'s data: the choke point (which audits each decision) lets `user` read at least one
/// of `sections`, on the person's consent to them as their carer. `None` otherwise — for anyone who is not a carer,
/// and for sharing on any other basis (a professional's consent).
async fn carer_grant(
    state: &AppState,
    user: &User,
    person: PersonId,
    sections: &[Section],
) -> Result<Option<Grant>, AppError> {
    if !user.has_role(Role::Carer) {
        return Ok(None);
    }
    for section in sections {
        let request = Request {
            section: *section,
            label: Sensitivity::General,
            action: Action::Read,
        };
        match crate::access::authorize(state, user, person, request, "smart-app-connect", "direct-care").await {
            Ok(grant) => {
                return Ok(store::acts_as_carer(&state.db, &grant, state.now())
                    .await?
                    .then_some(grant));
            }
            Err(AppError::NotFound) => continue,
            Err(e) => return Err(e),
        }
    }
    Ok(None)
}

/// A record the signed-in user can connect an app to.
struct Choice {
    person: PersonId,
    /// The person's name; `None` for the user's own record.
    name: Option<String>,
}

/// Every record `user` can connect an app asking for `scopes` to: their own first (if they are a person with a
/// record), then, by name, each person who shares with them as their carer and lets them read at least one section
/// the scopes reach. Candidates are ids only until the choke point permits, so nothing about anyone else is read
/// unless they consented.
async fn choices(state: &AppState, user: &User, scopes: &[Scope]) -> Result<Vec<Choice>, AppError> {
    let own = own_record(state, user).await?;
    let mut out: Vec<Choice> = own.map(|person| Choice { person, name: None }).into_iter().collect();
    if !user.has_role(Role::Carer) {
        return Ok(out);
    }
    let sections = scope_sections(scopes);
    let mut others = Vec::new();
    for person in consents::candidates_shared_with(&state.db, user.id, user.organisation_id, state.now()).await? {
        if Some(person) == own {
            continue;
        }
        let Some(grant) = carer_grant(state, user, person, &sections).await? else {
            continue;
        };
        if let Some(p) = people::summary(&state.db, &grant).await? {
            others.push(Choice {
                person,
                name: Some(p.full_name()),
            });
        }
    }
    others.sort_by(|a, b| a.name.cmp(&b.name));
    out.extend(others);
    Ok(out)
}

/// The grant to connect an app to `person`'s record with, checked now through the choke point (never trusting the
/// form): the person's own write grant over their sharing, or a carer's grant. A person who is neither is "not
/// found".
async fn connect_grant(state: &AppState, user: &User, person: PersonId, scopes: &[Scope]) -> Result<Grant, AppError> {
    if own_record(state, user).await? == Some(person) {
        return own_sharing(state, user, person, Action::Write).await;
    }
    carer_grant(state, user, person, &scope_sections(scopes))
        .await?
        .ok_or(AppError::NotFound)
}

/// The person's grant over their own sharing: connecting and disconnecting apps is a change to who can reach
/// their data, decided and audited by the choke point like any change to their sharing.
async fn own_sharing(
    state: &AppState,
    user: &User,
    person: PersonId,
    action: Action,
) -> Result<carepact_store::access::Grant, AppError> {
    let request = Request {
        section: Section::Record,
        label: Sensitivity::General,
        action,
    };
    crate::access::authorize(state, user, person, request, "consents", "person-access").await
}

/// One section of what an app may do, in words.
struct SectionWords {
    name: String,
    see: Vec<String>,
    change: Vec<String>,
}

/// How a FHIR resource type is described to the person (`own`) or, in words that fit anyone's record, to a carer.
fn type_message(resource_type: &str, own: bool) -> Option<&'static str> {
    if !own {
        return type_message_any(resource_type);
    }
    Some(match resource_type {
        "Patient" => "apps-type-patient",
        "Condition" => "apps-type-condition",
        "MedicationStatement" => "apps-type-medication-statement",
        "AllergyIntolerance" => "apps-type-allergy-intolerance",
        "Immunization" => "apps-type-immunization",
        "Procedure" => "apps-type-procedure",
        "DiagnosticReport" => "apps-type-diagnostic-report",
        "DocumentReference" => "apps-type-document-reference",
        "Consent" => "apps-type-consent",
        "AuditEvent" => "apps-type-audit-event",
        "CarePlan" => "apps-type-care-plan",
        "Goal" => "apps-type-goal",
        "CareTeam" => "apps-type-care-team",
        "Observation" => "apps-type-observation",
        "Questionnaire" => "apps-type-questionnaire",
        "QuestionnaireResponse" => "apps-type-questionnaire-response",
        "Communication" => "apps-type-communication",
        _ => return None,
    })
}

fn type_message_any(resource_type: &str) -> Option<&'static str> {
    Some(match resource_type {
        "Patient" => "apps-any-type-patient",
        "Condition" => "apps-any-type-condition",
        "MedicationStatement" => "apps-any-type-medication-statement",
        "AllergyIntolerance" => "apps-any-type-allergy-intolerance",
        "Immunization" => "apps-any-type-immunization",
        "Procedure" => "apps-any-type-procedure",
        "DiagnosticReport" => "apps-any-type-diagnostic-report",
        "DocumentReference" => "apps-any-type-document-reference",
        "Consent" => "apps-any-type-consent",
        "AuditEvent" => "apps-any-type-audit-event",
        "CarePlan" => "apps-any-type-care-plan",
        "Goal" => "apps-any-type-goal",
        "CareTeam" => "apps-any-type-care-team",
        "Observation" => "apps-any-type-observation",
        "Questionnaire" => "apps-any-type-questionnaire",
        "QuestionnaireResponse" => "apps-any-type-questionnaire-response",
        "Communication" => "apps-any-type-communication",
        _ => return None,
    })
}

/// What `scopes` let an app see and change, grouped by section, in words for the person (`own`) or for anyone.
fn describe(c: &Chrome<'_>, scopes: &[Scope], own: bool) -> Vec<SectionWords> {
    let words = |types: &[&str]| -> Vec<String> {
        types
            .iter()
            .filter_map(|t| type_message(t, own))
            .map(|id| c.t(id))
            .collect()
    };
    rules::section_access(scopes)
        .into_iter()
        .map(|a| SectionWords {
            name: c.t(&format!("section-{}", a.section.code())),
            see: words(&a.see),
            change: words(&a.change),
        })
        .collect()
}

/// A choice of record on the consent page: the person's id and how it is named.
struct ChoiceRow {
    value: String,
    label: String,
}

#[derive(Template)]
#[template(path = "smart_authorize.html")]
struct AuthorizePage<'a> {
    c: Chrome<'a>,
    csrf: String,
    title: String,
    intro: String,
    sections: Vec<SectionWords>,
    offline: bool,
    /// Only the user's own record can be chosen: the page speaks of "your record".
    own_only: bool,
    /// Someone else's record can be chosen (the user is their carer).
    for_others: bool,
    /// The app asks who the user is (`openid`).
    identity: bool,
    origin: String,
    /// With more than one, the user chooses whose record (a required radio group).
    choices: Vec<ChoiceRow>,
    chosen: String,
    errors: Errors,
    /// The request, carried to the form's answer.
    hidden: Vec<(&'static str, String)>,
}

/// The consent page: which app, whose record (chosen, with more than one), what it asks to see and change, for how
/// long; Allow or Do not allow.
async fn consent_page(
    session: &Session,
    req: &AuthRequest,
    p: &Fields,
    choices: &[Choice],
    errors: Errors,
) -> Result<Response, AppError> {
    let origin = rules::redirect_origin(&req.redirect_uri).ok_or(AppError::BadRequest("error-smart-redirect"))?;
    let c = Chrome::new(session).await?.with_errors(&errors);
    let app = req.client.name.as_str();
    let (title, intro, own_only) = match choices {
        [Choice { name: None, .. }] => (
            c.t_with("apps-authorize-title", &[("app", app)]),
            c.t_with("apps-authorize-intro", &[("app", app)]),
            true,
        ),
        [Choice { name: Some(name), .. }] => (
            c.t_with("apps-authorize-title-other", &[("app", app), ("name", name.as_str())]),
            c.t_with("apps-authorize-intro-other", &[("app", app), ("name", name.as_str())]),
            false,
        ),
        _ => (
            c.t_with("apps-authorize-title-choose", &[("app", app)]),
            c.t_with("apps-authorize-intro-choose", &[("app", app)]),
            false,
        ),
    };
    let rows = if choices.len() > 1 {
        choices
            .iter()
            .map(|choice| ChoiceRow {
                value: choice.person.to_string(),
                label: choice.name.clone().unwrap_or_else(|| c.t("apps-authorize-whose-own")),
            })
            .collect()
    } else {
        Vec::new()
    };
    let status = errors.status();
    let page = AuthorizePage {
        csrf: session.csrf_token().await?,
        title,
        intro,
        sections: describe(&c, &req.granted, own_only),
        offline: req.granted.contains(&Scope::OfflineAccess),
        own_only,
        for_others: choices.iter().any(|choice| choice.name.is_some()),
        identity: req.granted.contains(&Scope::OpenId),
        hidden: AUTH_PARAMS.iter().map(|name| (*name, p.get(name).to_owned())).collect(),
        origin: origin.clone(),
        choices: rows,
        chosen: p.get("person").to_owned(),
        errors,
        c,
    };
    let mut response = (status, render(&page)?).into_response();
    // The answer to this form redirects to the app, so the app's origin must be allowed as a form target:
    // browsers apply form-action to the redirect too.
    let policy = crate::http::CSP.replace("form-action 'self'", &format!("form-action 'self' {origin}"));
    if let Ok(value) = HeaderValue::from_str(&policy) {
        response.headers_mut().insert(header::CONTENT_SECURITY_POLICY, value);
    }
    Ok(response)
}

/// The consent page, for a signed-in user who can connect the app to at least one record.
async fn authorize_form(
    State(state): State<AppState>,
    session: Session,
    RawQuery(query): RawQuery,
) -> Result<Response, AppError> {
    let query = query.unwrap_or_default();
    let p = Fields::parse(query.as_bytes());
    let req = match check(&state, &p).await? {
        Checked::Ready(req) => req,
        Checked::Refused(response) => return Ok(response),
    };
    let Some(user) = session.user() else {
        // Sign in first, then come back to this same request.
        let next: String = form_urlencoded::byte_serialize(format!("/oauth/authorize?{query}").as_bytes()).collect();
        return Ok(Redirect::to(&format!("/sign-in?next={next}")).into_response());
    };
    let choices = choices(&state, user, &req.granted).await?;
    if choices.is_empty() {
        return Err(AppError::Forbidden("error-smart-person-only"));
    }
    consent_page(&session, &req, &p, &choices, Errors::default()).await
}

/// The user's answer: a code for the app (recorded as connecting it to the chosen record), or `access_denied`.
async fn authorize(State(state): State<AppState>, session: Session, form: Fields) -> Result<Response, AppError> {
    let req = match check(&state, &form).await? {
        Checked::Ready(req) => req,
        Checked::Refused(response) => return Ok(response),
    };
    let user = session.require_user()?.clone();
    match form.get("decision") {
        "allow" => {
            let grant = match form.get("person") {
                "" => {
                    let choices = choices(&state, &user, &req.granted).await?;
                    match choices.as_slice() {
                        [] => return Err(AppError::Forbidden("error-smart-person-only")),
                        [only] => connect_grant(&state, &user, only.person, &req.granted).await?,
                        _ => {
                            let mut errors = Errors::default();
                            errors.add(session.tr(), "person", "error-smart-choose-person");
                            return consent_page(&session, &req, &form, &choices, errors).await;
                        }
                    }
                }
                chosen => {
                    let person = Uuid::parse_str(chosen).map_err(|_| AppError::NotFound)?;
                    connect_grant(&state, &user, PersonId(person), &req.granted).await?
                }
            };
            let scopes: Vec<String> = req.granted.iter().map(ToString::to_string).collect();
            let allowed = store::NewAuthorization {
                client_id: &req.client.client_id,
                scopes: &scopes,
                redirect_uri: &req.redirect_uri,
                code_challenge: &req.code_challenge,
            };
            let code = store::approve(&state.db, &grant, &allowed, state.now())
                .await?
                .map_err(|_| AppError::NotFound)?;
            Ok(redirect_with(
                &req.redirect_uri,
                &[("code", &code), ("state", &req.state)],
            ))
        }
        "deny" => Ok(redirect_with(
            &req.redirect_uri,
            &[
                ("error", "access_denied"),
                ("error_description", "The person did not allow the app."),
                ("state", &req.state),
            ],
        )),
        _ => Err(AppError::BadRequest("error-bad-request-body")),
    }
}

// ---------------------------------------------------------------------------------------------------------------
// The token and revocation endpoints, called by apps.

/// An RFC 6749 §5.2 error: its code and a description for the app's developers.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
struct OAuthError(&'static str, &'static str);

impl IntoResponse for OAuthError {
    /// `invalid_client` is 401 with a Basic challenge; the rest are 400.
    fn into_response(self) -> Response {
        let OAuthError(error, description) = self;
        let status = if error == "invalid_client" {
            StatusCode::UNAUTHORIZED
        } else {
            StatusCode::BAD_REQUEST
        };
        let mut response = (
            status,
            Json(json!({ "error": error, "error_description": description })),
        )
            .into_response();
        if status == StatusCode::UNAUTHORIZED {
            response.headers_mut().insert(
                header::WWW_AUTHENTICATE,
                HeaderValue::from_static("Basic realm=\"CarePact\""),
            );
        }
        response
    }
}

fn oauth_error(error: &'static str, description: &'static str) -> Response {
    OAuthError(error, description).into_response()
}

/// Standard base64 (RFC 4648 §4), padding optional; `None` for anything else.
fn decode_base64(text: &str) -> Option<Vec<u8>> {
    let value = |c: u8| -> Option<u32> {
        Some(match c {
            b'A'..=b'Z' => c - b'A',
            b'a'..=b'z' => c - b'a' + 26,
            b'0'..=b'9' => c - b'0' + 52,
            b'+' => 62,
            b'/' => 63,
            _ => return None,
        } as u32)
    };
    let text = text.trim_end_matches('=').as_bytes();
    if text.len() % 4 == 1 {
        return None;
    }
    let mut out = Vec::with_capacity(text.len() * 3 / 4);
    for chunk in text.chunks(4) {
        let mut n = 0u32;
        for (i, c) in chunk.iter().enumerate() {
            n |= value(*c)? << (18 - 6 * i);
        }
        let bytes = n.to_be_bytes();
        out.extend_from_slice(&bytes[1..chunk.len()]);
    }
    Some(out)
}

/// Undoes `application/x-www-form-urlencoded` encoding of one value (RFC 6749 §2.3.1 encodes both halves of the
/// Basic credentials that way).
fn form_decode(text: &str) -> String {
    form_urlencoded::parse(format!("v={}", text.replace('&', "%26")).as_bytes())
        .next()
        .map(|(_, v)| v.into_owned())
        .unwrap_or_default()
}

/// The client id and secret from an `Authorization: Basic` header.
fn basic_credentials(value: &HeaderValue) -> Option<(String, String)> {
    let (scheme, encoded) = value.to_str().ok()?.trim().split_once(' ')?;
    if !scheme.eq_ignore_ascii_case("basic") {
        return None;
    }
    let decoded = String::from_utf8(decode_base64(encoded.trim())?).ok()?;
    let (id, secret) = decoded.split_once(':')?;
    Some((form_decode(id), form_decode(secret)))
}

/// Authenticates the calling app: HTTP Basic for a confidential app, `client_id` alone for a public one.
async fn authenticate(
    state: &AppState,
    headers: &HeaderMap,
    p: &Fields,
) -> Result<Result<Client, OAuthError>, AppError> {
    let body_id = p.all("client_id");
    if body_id.len() > 1 {
        return Ok(Err(OAuthError("invalid_request", "client_id is repeated.")));
    }
    if !p.get("client_secret").is_empty() {
        return Ok(Err(OAuthError(
            "invalid_client",
            "Send the client secret with HTTP Basic authentication, not in the body.",
        )));
    }
    let (id, secret) = match headers.get(header::AUTHORIZATION) {
        Some(value) => match basic_credentials(value) {
            Some((id, secret)) if body_id.iter().all(|b| *b == id) => (id, Some(secret)),
            _ => {
                return Ok(Err(OAuthError(
                    "invalid_client",
                    "The client credentials are not valid.",
                )));
            }
        },
        None => match body_id.as_slice() {
            [id] if !id.is_empty() => ((*id).to_owned(), None),
            _ => return Ok(Err(OAuthError("invalid_client", "client_id is missing."))),
        },
    };
    Ok(match store::authenticate(&state.db, &id, secret.as_deref()).await? {
        Some(client) => Ok(client),
        None => Err(OAuthError(
            "invalid_client",
            "The client is unknown, switched off, or its credentials are wrong.",
        )),
    })
}

/// Reads a token or revocation request: a form body, each parameter once.
fn token_params(headers: &HeaderMap, body: &Bytes) -> Result<Fields, OAuthError> {
    if !crate::forms::is_form(headers) {
        return Err(OAuthError(
            "invalid_request",
            "The body must be application/x-www-form-urlencoded.",
        ));
    }
    let p = Fields::parse(body);
    let repeated = [
        "grant_type",
        "code",
        "redirect_uri",
        "code_verifier",
        "refresh_token",
        "scope",
        "token",
        "token_type_hint",
    ]
    .iter()
    .any(|name| p.all(name).len() > 1);
    if repeated {
        return Err(OAuthError("invalid_request", "A parameter is repeated."));
    }
    Ok(p)
}

/// The token response: the tokens, the granted scopes, the `patient` launch context, and with `openid` an identity
/// token naming the user (with `fhirUser`, as a FHIR resource).
async fn issued_response(state: &AppState, client_id: &str, issued: Issued) -> Result<Response, AppError> {
    let has = |scope: &str| issued.scopes.iter().any(|s| s == scope);
    let id_token = if has("openid") {
        let subject = crate::oidc::Subject {
            user: issued.user,
            person: issued.person,
            fhir_user: has("fhirUser"),
        };
        Some(crate::oidc::id_token(state, client_id, &subject).await?)
    } else {
        None
    };
    let mut body = json!({
        "access_token": issued.access_token,
        "token_type": "Bearer",
        "expires_in": issued.expires_in,
        "scope": issued.scopes.join(" "),
        "patient": issued.person.to_string(),
    });
    if let Some(refresh) = issued.refresh_token {
        body["refresh_token"] = json!(refresh);
    }
    if let Some(id_token) = id_token {
        body["id_token"] = json!(id_token);
    }
    Ok((
        StatusCode::OK,
        [
            (header::CACHE_CONTROL, HeaderValue::from_static("no-store")),
            (header::PRAGMA, HeaderValue::from_static("no-cache")),
        ],
        Json(body),
    )
        .into_response())
}

fn grant_error(e: GrantError) -> Response {
    match e {
        GrantError::InvalidGrant => oauth_error(
            "invalid_grant",
            "The code or refresh token is not valid: it may have expired, been used already or been revoked.",
        ),
        GrantError::InvalidScope => oauth_error("invalid_scope", "The scope asked for was not granted."),
    }
}

/// `POST /oauth/token`: the `authorization_code` (with PKCE) and `refresh_token` grants.
async fn token(State(state): State<AppState>, headers: HeaderMap, body: Bytes) -> Result<Response, AppError> {
    let p = match token_params(&headers, &body) {
        Ok(p) => p,
        Err(e) => return Ok(e.into_response()),
    };
    let client = match authenticate(&state, &headers, &p).await? {
        Ok(client) => client,
        Err(e) => return Ok(e.into_response()),
    };
    let now = state.now();
    let outcome = match p.get("grant_type") {
        "authorization_code" => {
            let (code, redirect_uri, verifier) = (p.get("code"), p.get("redirect_uri"), p.get("code_verifier"));
            if code.is_empty() || redirect_uri.is_empty() || verifier.is_empty() {
                return Ok(oauth_error(
                    "invalid_request",
                    "code, redirect_uri and code_verifier are required.",
                ));
            }
            store::exchange_code(&state.db, &client.client_id, code, redirect_uri, verifier, now).await?
        }
        "refresh_token" => {
            let refresh_token = p.get("refresh_token");
            if refresh_token.is_empty() {
                return Ok(oauth_error("invalid_request", "refresh_token is required."));
            }
            let scopes: Vec<String> = p.get("scope").split_ascii_whitespace().map(str::to_owned).collect();
            let narrowed = (!scopes.is_empty()).then_some(scopes.as_slice());
            store::refresh(&state.db, &client.client_id, refresh_token, narrowed, now).await?
        }
        "" => return Ok(oauth_error("invalid_request", "grant_type is required.")),
        _ => {
            return Ok(oauth_error(
                "unsupported_grant_type",
                "Only authorization_code and refresh_token are supported.",
            ));
        }
    };
    match outcome {
        Ok(issued) => issued_response(&state, &client.client_id, issued).await,
        Err(e) => Ok(grant_error(e)),
    }
}

/// `POST /oauth/revoke` (RFC 7009): an app gives up a token. Unknown tokens are not an error.
async fn revoke(State(state): State<AppState>, headers: HeaderMap, body: Bytes) -> Result<Response, AppError> {
    let p = match token_params(&headers, &body) {
        Ok(p) => p,
        Err(e) => return Ok(e.into_response()),
    };
    let client = match authenticate(&state, &headers, &p).await? {
        Ok(client) => client,
        Err(e) => return Ok(e.into_response()),
    };
    let token = p.get("token");
    if token.is_empty() {
        return Ok(oauth_error("invalid_request", "token is required."));
    }
    store::revoke_token(&state.db, &client.client_id, token, state.now()).await?;
    Ok(StatusCode::OK.into_response())
}

/// Token introspection (RFC 7662): an app asks whether one of its own tokens is live, and what it allows. Another
/// app's token, or an unknown, expired or revoked one, is simply `{"active": false}`.
async fn introspect(State(state): State<AppState>, headers: HeaderMap, body: Bytes) -> Result<Response, AppError> {
    let p = match token_params(&headers, &body) {
        Ok(p) => p,
        Err(e) => return Ok(e.into_response()),
    };
    let client = match authenticate(&state, &headers, &p).await? {
        Ok(client) => client,
        Err(e) => return Ok(e.into_response()),
    };
    let token = p.get("token");
    if token.is_empty() {
        return Ok(oauth_error("invalid_request", "token is required."));
    }
    let found = store::access_token(&state.db, token, state.now())
        .await?
        .filter(|t| t.client_id == client.client_id);
    let body = match found {
        Some(t) => json!({
            "active": true,
            "scope": t.scopes.join(" "),
            "client_id": t.client_id,
            "token_type": "Bearer",
            "exp": t.expires_at.0.unix_timestamp(),
            "sub": t.user.0.to_string(),
            "patient": t.person.0.to_string(),
        }),
        None => json!({"active": false}),
    };
    Ok(Json(body).into_response())
}

// ---------------------------------------------------------------------------------------------------------------
// Connected apps: those connected to the person's record, and those a carer connected for others.

struct AppRow {
    id: Uuid,
    name: String,
    sections: Vec<SectionWords>,
    offline: bool,
    connected: String,
    last_used: Option<String>,
    /// On the person's list: who connected it, when it was not them (their carer).
    connected_by: Option<String>,
    /// On a carer's list: whose record it reaches.
    whose: Option<String>,
}

#[derive(Template)]
#[template(path = "smart_apps.html")]
struct AppsPage<'a> {
    c: Chrome<'a>,
    csrf: String,
    /// The user is a person with a record: the page lists the apps connected to it.
    own: bool,
    rows: Vec<AppRow>,
    /// The user is a carer: the page lists the apps they connected for others.
    carer: bool,
    carer_rows: Vec<AppRow>,
}

/// The name under which a carer's list shows the person a connection reaches: asked of the choke point (audited),
/// and only while the person still shares with the carer what the app reaches.
async fn carer_sees(
    state: &AppState,
    user: &User,
    person: PersonId,
    scopes: &[Scope],
    sharing: &[PersonId],
) -> Result<Option<String>, AppError> {
    if !sharing.contains(&person) {
        return Ok(None);
    }
    let Some(grant) = carer_grant(state, user, person, &scope_sections(scopes)).await? else {
        return Ok(None);
    };
    Ok(people::summary(&state.db, &grant).await?.map(|p| p.full_name()))
}

async fn apps(State(state): State<AppState>, session: Session) -> Result<Response, AppError> {
    let user = require_role(&session, &[Role::Person, Role::Carer])?;
    let own = own_record(&state, &user).await?;
    let carer = user.has_role(Role::Carer);
    if own.is_none() && !carer {
        return Err(AppError::Forbidden("error-smart-person-only"));
    }
    let c = Chrome::new(&session)
        .await?
        .crumb("/apps", if own.is_some() { "nav-apps" } else { "nav-apps-carer" });
    let now = state.now();
    let mut rows = Vec::new();
    if let Some(person) = own {
        let grant = own_sharing(&state, &user, person, Action::Read).await?;
        let list = store::connections(&state.db, &grant, now)
            .await?
            .map_err(|_| AppError::NotFound)?;
        for conn in list {
            let scopes = rules::parse_scopes(&conn.scopes.join(" ")).0;
            rows.push(AppRow {
                id: conn.id,
                name: conn.name,
                sections: describe(&c, &scopes, true),
                offline: scopes.contains(&Scope::OfflineAccess),
                connected: c.when(conn.connected_at.0),
                last_used: conn.last_used_at.map(|t| c.when(t.0)),
                connected_by: conn
                    .connected_by
                    .map(|name| c.t_with("apps-connected-by", &[("name", name.as_str())])),
                whose: None,
            });
        }
    }
    let mut carer_rows = Vec::new();
    if carer {
        let list = store::connections_made_by(&state.db, user.id, now).await?;
        let sharing = if list.is_empty() {
            Vec::new()
        } else {
            consents::candidates_shared_with(&state.db, user.id, user.organisation_id, now).await?
        };
        for conn in list {
            let scopes = rules::parse_scopes(&conn.scopes.join(" ")).0;
            let whose = carer_sees(&state, &user, conn.person, &scopes, &sharing)
                .await?
                .unwrap_or_else(|| c.t("apps-for-unnamed"));
            carer_rows.push(AppRow {
                id: conn.id,
                name: conn.name,
                sections: describe(&c, &scopes, false),
                offline: scopes.contains(&Scope::OfflineAccess),
                connected: c.when(conn.connected_at.0),
                last_used: conn.last_used_at.map(|t| c.when(t.0)),
                connected_by: None,
                whose: Some(whose),
            });
        }
    }
    Ok(render(&AppsPage {
        csrf: session.csrf_token().await?,
        c,
        own: own.is_some(),
        rows,
        carer,
        carer_rows,
    })?
    .into_response())
}

/// Disconnect: an app connected to the user's own record (by them or by a carer), or one they connected, as a carer,
/// to someone else's. Anything else is "not found".
async fn disconnect(
    State(state): State<AppState>,
    session: Session,
    Path(id): Path<String>,
) -> Result<Response, AppError> {
    let user = require_role(&session, &[Role::Person, Role::Carer])?;
    let connection = Uuid::parse_str(&id).map_err(|_| AppError::NotFound)?;
    if let Some(person) = own_record(&state, &user).await? {
        let grant = own_sharing(&state, &user, person, Action::Write).await?;
        if store::disconnect(&state.db, &grant, connection, state.now())
            .await?
            .map_err(|_| AppError::NotFound)?
        {
            session.set_flash("flash-done-app-disconnected").await?;
            return Ok(Redirect::to("/apps").into_response());
        }
    }
    if user.has_role(Role::Carer) && store::disconnect_made_by(&state.db, user.id, connection, state.now()).await? {
        session.set_flash("flash-done-app-disconnected-carer").await?;
        return Ok(Redirect::to("/apps").into_response());
    }
    Err(AppError::NotFound)
}

// ---------------------------------------------------------------------------------------------------------------
// The person's access log: naming the apps they connected and disconnected.

/// The names of the apps the log's entries are about (`smart-app:{id}`).
pub(crate) async fn app_names(state: &AppState, entries: &[AccessEntry]) -> Result<HashMap<Uuid, String>, AppError> {
    let ids: Vec<Uuid> = entries
        .iter()
        .filter_map(|e| e.entity.split(';').next()?.strip_prefix("smart-app:"))
        .filter_map(|id| Uuid::parse_str(id).ok())
        .collect();
    Ok(store::app_names(&state.db, &ids).await?)
}

/// How the log describes connecting (or disconnecting) the app called `name`: by the person themself (`own`), or by
/// someone else (their carer, named in the log's "who").
pub(crate) fn log_what(c: &Chrome<'_>, own: bool, connected: bool, name: Option<&String>) -> String {
    let id = match (own, connected, name.is_some()) {
        (true, true, true) => "log-what-app-connected",
        (true, true, false) => "log-what-app-connected-unnamed",
        (true, false, true) => "log-what-app-disconnected",
        (true, false, false) => "log-what-app-disconnected-unnamed",
        (false, true, true) => "log-what-app-connected-by-other",
        (false, true, false) => "log-what-app-connected-by-other-unnamed",
        (false, false, true) => "log-what-app-disconnected-by-other",
        (false, false, false) => "log-what-app-disconnected-by-other-unnamed",
    };
    match name {
        Some(name) => c.t_with(id, &[("title", name.as_str())]),
        None => c.t(id),
    }
}

// ---------------------------------------------------------------------------------------------------------------
// Registering apps (the system admin).

struct ClientRow {
    client_id: String,
    name: String,
    kind: String,
    redirects: Vec<String>,
    scopes: String,
    active: bool,
}

#[derive(Template)]
#[template(path = "smart_admin_apps.html")]
struct AdminAppsPage<'a> {
    c: Chrome<'a>,
    csrf: String,
    clients: Vec<ClientRow>,
    /// The form's values (not `name`: that is the form macros' own parameter).
    app_name: String,
    redirects: String,
    kind: String,
    scopes: String,
    errors: Errors,
}

/// The scopes offered when registering an app.
const DEFAULT_SCOPES: &str = "launch/patient offline_access patient/*.rs";

async fn admin_page(
    state: &AppState,
    session: &Session,
    form: Option<&Fields>,
    errors: Errors,
) -> Result<Response, AppError> {
    let c = Chrome::new(session)
        .await?
        .crumb("/admin/apps", "nav-admin-apps")
        .with_errors(&errors);
    let clients = store::clients(&state.db)
        .await?
        .into_iter()
        .map(|k| ClientRow {
            kind: c.t(match k.kind {
                ClientKind::Public => "admin-apps-kind-public",
                ClientKind::Confidential => "admin-apps-kind-confidential",
            }),
            client_id: k.client_id,
            name: k.name,
            redirects: k.redirect_uris,
            scopes: k.scopes.join(" "),
            active: k.active,
        })
        .collect();
    let value = |name: &str, default: &str| form.map_or(default.to_owned(), |f| f.get(name).to_owned());
    let status = errors.status();
    let page = AdminAppsPage {
        csrf: session.csrf_token().await?,
        clients,
        app_name: value("name", ""),
        redirects: value("redirect_uris", ""),
        kind: value("kind", ""),
        scopes: value("scopes", DEFAULT_SCOPES),
        errors,
        c,
    };
    Ok((status, render(&page)?).into_response())
}

async fn admin_apps(State(state): State<AppState>, session: Session) -> Result<Response, AppError> {
    require_role(&session, &[Role::SystemAdmin])?;
    admin_page(&state, &session, None, Errors::default()).await
}

/// The most return addresses one app may register.
const REDIRECTS_MAX: usize = 10;

#[derive(Template)]
#[template(path = "smart_admin_registered.html")]
struct RegisteredPage<'a> {
    c: Chrome<'a>,
    title: String,
    client_id: String,
    secret: Option<String>,
    fhir_base: String,
}

async fn register(State(state): State<AppState>, session: Session, form: Fields) -> Result<Response, AppError> {
    let admin = require_role(&session, &[Role::SystemAdmin])?;
    let tr = session.tr();
    let mut errors = Errors::default();
    let name = required_text("name", form.get("name"), 200, "error-app-name-empty")
        .map_err(|e| errors.add(tr, e.field, e.message_id))
        .ok();
    let mut redirects = Vec::new();
    for line in form.get("redirect_uris").lines().filter(|l| !l.trim().is_empty()) {
        match rules::redirect_uri(line) {
            Ok(uri) if !redirects.contains(&uri) => redirects.push(uri),
            Ok(_) => {}
            Err(id) => errors.add(tr, "redirect_uris", id),
        }
    }
    if redirects.is_empty() {
        errors.add(tr, "redirect_uris", "error-app-redirect-empty");
    } else if redirects.len() > REDIRECTS_MAX {
        errors.add(tr, "redirect_uris", "error-app-redirect-too-many");
    }
    let kind = ClientKind::from_code(form.get("kind"));
    if kind.is_none() {
        errors.add(tr, "kind", "error-app-kind");
    }
    let (scopes, unknown) = rules::parse_scopes(form.get("scopes"));
    if !unknown.is_empty() || !scopes.iter().all(rules::registrable) {
        errors.add(tr, "scopes", "error-app-scopes");
    } else if !scopes.iter().any(Scope::is_resource) {
        errors.add(tr, "scopes", "error-app-scopes-none");
    }
    let (Some(name), Some(kind)) = (name, kind) else {
        return admin_page(&state, &session, Some(&form), errors).await;
    };
    if !errors.is_empty() {
        return admin_page(&state, &session, Some(&form), errors).await;
    }
    let scopes: Vec<String> = scopes.iter().map(ToString::to_string).collect();
    let new = store::NewClient {
        name: &name,
        redirect_uris: &redirects,
        kind,
        scopes: &scopes,
        created_by: Some(admin.id),
    };
    let (client_id, secret) = store::register_client(&state.db, &new, state.now()).await?;
    let c = Chrome::new(&session).await?.crumb("/admin/apps", "nav-admin-apps");
    Ok(render(&RegisteredPage {
        title: c.t_with("admin-apps-registered-title", &[("app", name.as_str())]),
        client_id,
        secret,
        fhir_base: fhir_base(&state),
        c,
    })?
    .into_response())
}

/// Switches an app off (its tokens stop working at once) or on again.
async fn switch(
    State(state): State<AppState>,
    session: Session,
    Path((client_id, verb)): Path<(String, String)>,
) -> Result<Response, AppError> {
    let admin = require_role(&session, &[Role::SystemAdmin])?;
    let (active, flash) = match verb.as_str() {
        "disable" => (false, "flash-done-app-disabled"),
        "enable" => (true, "flash-done-app-enabled"),
        _ => return Err(AppError::NotFound),
    };
    if !store::set_active(&state.db, &client_id, active, Some(admin.id), state.now()).await? {
        return Err(AppError::NotFound);
    }
    session.set_flash(flash).await?;
    Ok(Redirect::to("/admin/apps").into_response())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn decodes_basic_credentials() {
        let value = HeaderValue::from_static("Basic YWJjOmRlZiUzQWc=");
        assert_eq!(basic_credentials(&value), Some(("abc".into(), "def:g".into())));
        assert_eq!(decode_base64("SGVsbG8"), Some(b"Hello".to_vec()));
        assert_eq!(decode_base64("SGVsbG8="), Some(b"Hello".to_vec()));
        assert_eq!(decode_base64("S"), None);
        assert_eq!(decode_base64("SGV!"), None);
        assert_eq!(basic_credentials(&HeaderValue::from_static("Bearer abc")), None);
        assert_eq!(basic_credentials(&HeaderValue::from_static("Basic")), None);
        assert_eq!(basic_credentials(&HeaderValue::from_static("Basic bm9jb2xvbg==")), None);
        assert_eq!(form_decode("a+b%26c&d"), "a b&c&d");
    }

    #[test]
    fn every_resource_type_is_described() {
        for (t, _, _) in rules::RESOURCE_TYPES {
            assert!(
                type_message(t, true).is_some() && type_message(t, false).is_some(),
                "{t}"
            );
        }
    }

    #[test]
    fn redirects_add_to_the_query() {
        let r = redirect_with("https://app.example/cb?x=1", &[("code", "a b"), ("state", "")]);
        assert_eq!(r.status(), StatusCode::SEE_OTHER);
        assert_eq!(
            r.headers().get(header::LOCATION).and_then(|v| v.to_str().ok()),
            Some("https://app.example/cb?x=1&code=a+b")
        );
    }
}
