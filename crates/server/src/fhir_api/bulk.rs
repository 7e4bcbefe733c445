//! FHIR Bulk Data Access (`$export`) of the person's own data, for the app the token was issued to.
//!
//! - Kick-off (`Patient/$export`, `Patient/{own id}/$export`) needs `Prefer: respond-async`; `_outputFormat` may be
//!   NDJSON only; `_type` narrows the types; `_since` keeps readings, questionnaire responses, messages and audit
//!   events recorded since then (the rest, which has no such time, comes whole). Record items of types outside
//!   the record section (a GP's Observations, say) and the source's own Patient are left out, as are types the
//!   token's scopes do not let the app read (none left → 403). The answer is 202 at once with `Content-Location`
//!   naming the status address.
//! - The export runs in a spawned task: one choke-point decision per consent section, recorded with the app named
//!   (`fhir-bulk-export`), the data the person's own export holds for those types, grouped into NDJSON
//!   per resource type in parts of at most 10,000 lines, stored with the status in one transaction.
//! - Status, files and cancelling are for the same user through the same app only; anything else is 404. Exports
//!   and their files are kept 24 hours (expired ones are purged by the housekeeping loop and at each kick-off).

use std::collections::BTreeMap;

use axum::extract::{Path, RawQuery, State};
use axum::http::{HeaderMap, HeaderValue, StatusCode, header};
use axum::response::{IntoResponse, Response};
use carepact_domain::consent::{Action, Request, Section, Sensitivity};
use carepact_domain::smart::{Interaction, section_of};
use carepact_store::access::Grant;
use carepact_store::bulk_export::{self, NewFile};
use carepact_store::users::User;
use serde_json::{Value, json};
use time::OffsetDateTime;
use time::format_description::well_known::Rfc3339;
use uuid::Uuid;

use super::{Caller, Outcome, Target, base, caller, patient_ref};
use crate::errors::AppError;
use crate::state::AppState;

/// The most resources in one NDJSON file.
const PART_SIZE: usize = 10_000;
const NDJSON: &str = "application/fhir+ndjson";
const ENTITY: &str = "fhir-bulk-export";

/// The types a bulk export can hold, in the order the manifest lists them.
const EXPORTABLE: [&str; 16] = [
    "Patient",
    "Condition",
    "MedicationStatement",
    "AllergyIntolerance",
    "Immunization",
    "Procedure",
    "DiagnosticReport",
    "DocumentReference",
    "Consent",
    "AuditEvent",
    "CarePlan",
    "Goal",
    "CareTeam",
    "Observation",
    "QuestionnaireResponse",
    "Communication",
];

/// What the CapabilityStatement says of `$export`.
pub(super) fn operation() -> Value {
    json!({"name": "export", "definition": "http://hl7.org/fhir/uv/bulkdata/OperationDefinition/patient-export"})
}

fn invalid(diagnostics: impl Into<String>) -> Outcome {
    Outcome::new(StatusCode::BAD_REQUEST, "invalid", diagnostics)
}

/// A kick-off request, read.
struct Ask {
    types: Vec<&'static str>,
    since: Option<OffsetDateTime>,
}

fn read_kick_off(headers: &HeaderMap, query: Option<&str>) -> Result<Ask, Outcome> {
    let prefer_async = headers
        .get_all("prefer")
        .iter()
        .filter_map(|v| v.to_str().ok())
        .flat_map(|v| v.split(','))
        .any(|p| p.trim().eq_ignore_ascii_case("respond-async"));
    if !prefer_async {
        return Err(invalid("$export needs the header Prefer: respond-async."));
    }
    let mut types: Vec<&'static str> = Vec::new();
    let mut since = None;
    let mut problems = Vec::new();
    for (key, value) in form_urlencoded::parse(query.unwrap_or("").as_bytes()) {
        match key.as_ref() {
            "_outputFormat" => {
                if !matches!(
                    value.as_ref(),
                    "application/fhir+ndjson" | "application/ndjson" | "ndjson"
                ) {
                    problems.push(format!(
                        "_outputFormat: \"{value}\" is not supported (only application/fhir+ndjson)"
                    ));
                }
            }
            "_type" => {
                for t in value.split(',').map(str::trim).filter(|t| !t.is_empty()) {
                    match EXPORTABLE.iter().find(|e| **e == t) {
                        Some(e) if !types.contains(e) => types.push(e),
                        Some(_) => {}
                        None => problems.push(format!("_type: CarePact does not export {t}")),
                    }
                }
            }
            "_since" => match OffsetDateTime::parse(&value, &Rfc3339) {
                Ok(t) => since = Some(t),
                Err(_) => problems.push(format!(
                    "_since: \"{value}\" is not a FHIR instant (like 2026-03-15T08:30:00Z)"
                )),
            },
            other => problems.push(format!("{other}: CarePact does not support this parameter of $export")),
        }
    }
    if !problems.is_empty() {
        return Err(Outcome {
            status: StatusCode::BAD_REQUEST,
            code: "invalid",
            diagnostics: problems,
        });
    }
    if types.is_empty() {
        types = EXPORTABLE.to_vec();
    }
    Ok(Ask { types, since })
}

/// The consent section of a type the bulk export holds.
fn section(resource_type: &str) -> Section {
    section_of(resource_type).map_or(Section::Record, |(s, _)| s)
}

/// One decision of the choke point for one section, for the app: the record mixes items of every label.
async fn decide(state: &AppState, user: &User, who: &Exporter, section: Section) -> Result<Grant, AppError> {
    let request = Request {
        section,
        label: Sensitivity::General,
        action: Action::Read,
    };
    if section == Section::Record {
        crate::access::authorize_via_labels(state, user, who.person, request, ENTITY, &who.via()).await
    } else {
        crate::access::authorize_via(state, user, who.person, request, ENTITY, &who.via()).await
    }
}

/// Who an export is for, as the spawned task needs it.
struct Exporter {
    user: User,
    person: carepact_domain::identity::PersonId,
    client_id: String,
}

impl Exporter {
    fn via(&self) -> String {
        format!("app:{}", self.client_id)
    }
}

/// The caller, through an app: bulk export is for the apps a person connects to their own record (a user's API
/// token gets 403 at kick-off, and "not found" for anything else).
async fn app_caller(state: &AppState, headers: &HeaderMap) -> Result<(Caller, String), Outcome> {
    let who = caller(state, headers, Target::Own).await?;
    let client_id = who.client_id().map(str::to_owned).ok_or_else(Outcome::not_found)?;
    Ok((who, client_id))
}

/// The caller of a kick-off: an app (403 for a user's API token).
async fn app_kick_off(state: &AppState, headers: &HeaderMap) -> Result<Caller, Outcome> {
    let bearer = super::bearer(state, headers).await?;
    if matches!(bearer, super::Bearer::Token { .. }) {
        return Err(only_apps());
    }
    bearer.reaching(state, Target::Own).await
}

/// 403 for a caller who is not an app.
fn only_apps() -> Outcome {
    Outcome::new(
        StatusCode::FORBIDDEN,
        "forbidden",
        "Bulk export is for the apps a person connects to their own record.",
    )
}

/// `Patient/$export`.
pub(super) async fn kick_off(
    State(state): State<AppState>,
    headers: HeaderMap,
    RawQuery(query): RawQuery,
) -> Result<Response, Outcome> {
    let who = app_kick_off(&state, &headers).await?;
    start(state, headers, query, who).await
}

/// `Patient/{id}/$export`: the person's own id only.
pub(super) async fn kick_off_for(
    State(state): State<AppState>,
    headers: HeaderMap,
    Path(id): Path<String>,
    RawQuery(query): RawQuery,
) -> Result<Response, Outcome> {
    let who = app_kick_off(&state, &headers).await?;
    if id != who.person.0.to_string() {
        return Err(Outcome::not_found());
    }
    start(state, headers, query, who).await
}

async fn start(state: AppState, headers: HeaderMap, query: Option<String>, who: Caller) -> Result<Response, Outcome> {
    let ask = read_kick_off(&headers, query.as_deref())?;
    let types: Vec<&'static str> = ask
        .types
        .into_iter()
        .filter(|t| who.allows(t, Interaction::Read) || who.allows(t, Interaction::Search))
        .collect();
    let Some(first) = types.first() else {
        return Err(Outcome::new(
            StatusCode::FORBIDDEN,
            "forbidden",
            "The app's access does not include any of the types asked for.",
        ));
    };
    let now = state.now();
    bulk_export::purge_expired(&state.db, now).await?;
    let client_id = who.client_id().map(str::to_owned).ok_or_else(only_apps)?;
    let exporter = Exporter {
        user: who.user,
        person: who.person,
        client_id,
    };
    // The first section's decision starts the export; the task decides the others.
    let first_section = section(first);
    let grant = decide(&state, &exporter.user, &exporter, first_section).await?;
    let request = match query.as_deref().filter(|q| !q.is_empty()) {
        Some(q) => format!("{}/Patient/$export?{q}", base(&state)),
        None => format!("{}/Patient/$export", base(&state)),
    };
    let type_names: Vec<String> = types.iter().map(|t| (*t).to_owned()).collect();
    let id = bulk_export::create(&state.db, &grant, &exporter.client_id, &type_names, &request, now).await?;
    let task_state = state.clone();
    let since = ask.since;
    tokio::spawn(async move {
        let state = task_state;
        let result = collect(&state, &exporter, &types, since, (first_section, grant)).await;
        let outcome = match result {
            Ok(files) => bulk_export::complete(&state.db, id, &files, state.now())
                .await
                .map(|_| ()),
            Err(e) => {
                tracing::error!(error = ?e, export = %id, "bulk export failed");
                bulk_export::fail(&state.db, id, "The export could not be made.", state.now()).await
            }
        };
        if let Err(e) = outcome {
            tracing::error!(error = ?e, export = %id, "bulk export could not be stored");
        }
    });
    let mut response = StatusCode::ACCEPTED.into_response();
    let location = format!("{}/$export-status/{id}", base(&state));
    if let Ok(v) = HeaderValue::from_str(&location) {
        response.headers_mut().insert(header::CONTENT_LOCATION, v);
    }
    Ok(response)
}

/// Everything the export holds, as NDJSON files.
async fn collect(
    state: &AppState,
    who: &Exporter,
    types: &[&'static str],
    since: Option<OffsetDateTime>,
    first: (Section, Grant),
) -> anyhow::Result<Vec<NewFile>> {
    let wanted = |t: &str| types.contains(&t);
    let denied = |_| anyhow::anyhow!("the grant did not reach");
    let fail = |e: AppError| anyhow::anyhow!("{e:?}");
    let mut grants: BTreeMap<u8, Grant> = BTreeMap::new();
    let key = |s: Section| Section::ALL.iter().position(|x| *x == s).unwrap_or(0) as u8;
    grants.insert(key(first.0), first.1);
    for t in types {
        let s = section(t);
        if let std::collections::btree_map::Entry::Vacant(e) = grants.entry(key(s)) {
            e.insert(decide(state, &who.user, who, s).await.map_err(fail)?);
        }
    }
    let after = |t: OffsetDateTime| since.is_none_or(|s| t >= s);
    let patient = patient_ref(who.person);
    let db = &state.db;
    let mut out: BTreeMap<&str, Vec<Value>> = BTreeMap::new();

    if let Some(grant) = grants.get(&key(Section::Record)) {
        if wanted("Patient") {
            let person = carepact_store::people::summary(db, grant)
                .await?
                .ok_or_else(|| anyhow::anyhow!("the person is missing"))?;
            out.entry("Patient")
                .or_default()
                .push(crate::pages::export::patient(&person));
        }
        let items = carepact_store::record::all_resources(db, grant)
            .await?
            .map_err(denied)?;
        let names = super::record::Names::of(state, grant)
            .await
            .map_err(|e| anyhow::anyhow!("{e:?}"))?;
        for (row, text) in items {
            let Some(t) = types.iter().find(|t| **t == row.resource_type) else {
                continue;
            };
            // The source's own Patient is the person as the source knew them: CarePact's Patient stands for them.
            if section(t) != Section::Record || *t == "Patient" {
                continue;
            }
            out.entry(t)
                .or_default()
                .push(super::record::served(&row, &text, None, who.person, &names));
        }
        if wanted("Consent") {
            let consents = carepact_store::consents::list(db, grant).await?.map_err(denied)?;
            out.entry("Consent").or_default().extend(
                consents
                    .iter()
                    .map(|c| crate::pages::export::consent_resource(c, &patient)),
            );
        }
        if wanted("AuditEvent") {
            let events = carepact_store::audit::events_for(db, grant).await?.map_err(denied)?;
            out.entry("AuditEvent").or_default().extend(
                events
                    .iter()
                    .filter(|e| after(e.occurred_at))
                    .map(|e| carepact_fhir::audit_event::to_fhir(e, Some(&patient))),
            );
        }
    }
    if let Some(grant) = grants.get(&key(Section::CarePlan)) {
        let plan = carepact_store::care_plan::get(db, grant).await?.map_err(denied)?;
        let team = carepact_store::care_team::members(db, grant).await?.map_err(denied)?;
        let care = crate::pages::export::Care {
            person: who.person,
            person_name: None,
            plan: plan.as_ref(),
            team: &team,
            threads: &[],
        };
        sort(&mut out, crate::pages::export::care_resources(&care, &patient), &wanted);
    }
    if let Some(grant) = grants.get(&key(Section::Messages)) {
        let threads = carepact_store::messages::everything(db, grant, who.user.id)
            .await?
            .map_err(denied)?;
        let threads: Vec<_> = threads
            .into_iter()
            .map(|(t, messages)| {
                let kept = messages.into_iter().filter(|m| after(m.created_at.0)).collect();
                (t, kept)
            })
            .collect();
        let care = crate::pages::export::Care {
            person: who.person,
            person_name: None,
            plan: None,
            team: &[],
            threads: &threads,
        };
        sort(&mut out, crate::pages::export::care_resources(&care, &patient), &wanted);
    }
    if let Some(grant) = grants.get(&key(Section::Readings)).filter(|_| wanted("Observation")) {
        let from = time::macros::datetime!(1900-01-01 00:00 UTC);
        let to = time::macros::datetime!(9999-12-31 23:59:59 UTC);
        let readings = carepact_store::readings::list(db, grant, None, from, to, 500_000)
            .await?
            .map_err(denied)?;
        out.entry("Observation").or_default().extend(
            readings
                .iter()
                .filter(|r| after(r.recorded_at.0))
                .map(|r| crate::pages::export::reading_resource(r, &patient)),
        );
    }
    if let Some(grant) = grants
        .get(&key(Section::Questionnaires))
        .filter(|_| wanted("QuestionnaireResponse"))
    {
        let responses = carepact_store::questionnaires::responses(db, grant, None, 100_000)
            .await?
            .map_err(denied)?;
        let responses = responses.into_iter().filter(|r| after(r.authored_at.0)).collect();
        let read = crate::pages::export::read_responses(state, responses)
            .await
            .map_err(fail)?;
        out.entry("QuestionnaireResponse").or_default().extend(
            read.iter()
                .map(|(r, q, a)| crate::pages::export::response_resource(r, q, a, &patient)),
        );
    }

    let mut files = Vec::new();
    for t in EXPORTABLE {
        let Some(resources) = out.get(t) else { continue };
        for (i, chunk) in resources.chunks(PART_SIZE).enumerate() {
            let mut ndjson = String::new();
            for r in chunk {
                ndjson.push_str(&serde_json::to_string(r)?);
                ndjson.push('\n');
            }
            files.push(NewFile {
                resource_type: t.to_owned(),
                part: i as i64 + 1,
                ndjson,
                count: chunk.len() as i64,
            });
        }
    }
    Ok(files)
}

/// Puts each resource under its type, keeping only the types asked for.
fn sort(out: &mut BTreeMap<&'static str, Vec<Value>>, resources: Vec<Value>, wanted: &impl Fn(&str) -> bool) {
    for r in resources {
        let t = r.get("resourceType").and_then(Value::as_str).unwrap_or("");
        if let Some(t) = EXPORTABLE.iter().find(|e| **e == t).filter(|e| wanted(e)) {
            out.entry(t).or_default().push(r);
        }
    }
}

/// The export, if it is the caller's (same user, same app) and not expired.
async fn mine(state: &AppState, who: &(Caller, String), id: &str) -> Result<bulk_export::Export, Outcome> {
    let id = Uuid::parse_str(id).map_err(|_| Outcome::not_found())?;
    bulk_export::get(&state.db, id, who.0.user.id, &who.1, state.now())
        .await?
        .ok_or_else(Outcome::not_found)
}

/// `$export-status/{id}`: 202 while running, the manifest when done, an OperationOutcome if it failed.
pub(super) async fn status(
    State(state): State<AppState>,
    headers: HeaderMap,
    Path(id): Path<String>,
) -> Result<Response, Outcome> {
    let who = app_caller(&state, &headers).await?;
    let export = mine(&state, &who, &id).await?;
    match export.status.as_str() {
        "complete" => {
            let base = base(&state);
            let output: Vec<Value> = bulk_export::files(&state.db, export.id)
                .await?
                .into_iter()
                .map(|f| {
                    json!({
                        "type": f.resource_type,
                        "url": format!("{base}/$export-file/{}/{}/{}", export.id, f.resource_type, f.part),
                        "count": f.count,
                    })
                })
                .collect();
            let body = json!({
                "transactionTime": export.requested_at.0.format(&Rfc3339).unwrap_or_default(),
                "request": export.request,
                "requiresAccessToken": true,
                "output": output,
                "error": [],
            });
            let text = serde_json::to_vec(&body).unwrap_or_default();
            Ok(([(header::CONTENT_TYPE, "application/json")], text).into_response())
        }
        "failed" => Err(Outcome::new(
            StatusCode::INTERNAL_SERVER_ERROR,
            "exception",
            export
                .error
                .unwrap_or_else(|| "The export could not be made.".to_owned()),
        )),
        _ => {
            let mut response = StatusCode::ACCEPTED.into_response();
            response
                .headers_mut()
                .insert("x-progress", HeaderValue::from_static("in progress"));
            response
                .headers_mut()
                .insert(header::RETRY_AFTER, HeaderValue::from_static("1"));
            Ok(response)
        }
    }
}

/// `DELETE $export-status/{id}`: cancels the export, or discards it and its files.
pub(super) async fn cancel(
    State(state): State<AppState>,
    headers: HeaderMap,
    Path(id): Path<String>,
) -> Result<Response, Outcome> {
    let who = app_caller(&state, &headers).await?;
    let export = mine(&state, &who, &id).await?;
    bulk_export::delete(&state.db, export.id, who.0.user.id, &who.1, state.now()).await?;
    Ok(StatusCode::ACCEPTED.into_response())
}

/// `$export-file/{id}/{type}/{part}`: one NDJSON file, for the same user through the same app.
pub(super) async fn file(
    State(state): State<AppState>,
    headers: HeaderMap,
    Path((id, resource_type, part)): Path<(String, String, String)>,
) -> Result<Response, Outcome> {
    let (who, client_id) = app_caller(&state, &headers).await?;
    let id = Uuid::parse_str(&id).map_err(|_| Outcome::not_found())?;
    let part: i64 = part.parse().map_err(|_| Outcome::not_found())?;
    let text = bulk_export::file(
        &state.db,
        id,
        who.user.id,
        &client_id,
        &resource_type,
        part,
        state.now(),
    )
    .await?
    .ok_or_else(Outcome::not_found)?;
    Ok(([(header::CONTENT_TYPE, NDJSON)], text).into_response())
}
