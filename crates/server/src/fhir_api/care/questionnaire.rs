//! Questionnaire definitions, and questionnaire answers sent through the API.
//!
//! Questionnaire: read and search of the definitions the caller may use: the built-in instruments and those the
//! user's organisation loaded (a search finds the newest version of each; a read by id finds any version). They are
//! nobody's data, so there is no consent decision, but a valid bearer token is needed and an app's scopes must allow
//! Questionnaire. Each is served as it was loaded, with `id` set to CarePact's id for that version,
//! `meta.versionId` "1" (a loaded version never changes; a new version is a new resource) and `meta.lastUpdated`
//! when it was loaded. Search: `url` (with or without `|version`), `version`, `name` and `title` (starting with,
//! ignoring case; `:exact` and `:contains` too), `status`, `_id`, `_lastUpdated`, `_count` and `_offset`, in the
//! order the pages list them (built-in first, then by title).
//!
//! Creating a QuestionnaireResponse (`POST QuestionnaireResponse`): the `questionnaire` canonical url (with its
//! version, if given) finds the definition; the answers are read and checked against it
//! (`carepact_fhir::questionnaire::read_response`), scored, and stored by `questionnaires::respond`, exactly as the
//! page does, so a PHQ-9 with item 9 above 0 raises the urgent alert with the named contact in the same transaction.
//! `authored` is kept when given (never in the future), else it is now. The answer is 201 with `Location` and the
//! stored resource. Every problem is listed in one 422 OperationOutcome; a questionnaire CarePact does not hold, or
//! another organisation's that the person was not asked to fill in, is a 422 too.

use axum::Router;
use axum::body::Bytes;
use axum::extract::{Path, RawQuery, State};
use axum::http::{HeaderMap, HeaderValue, StatusCode, header};
use axum::response::{IntoResponse, Response};
use axum::routing::get;
use carepact_domain::consent::Section;
use carepact_domain::identity::OrganisationId;
use carepact_domain::questionnaire::Instrument;
use carepact_domain::smart::{Interaction, allows};
use carepact_store::questionnaires::{self as store, Definition, NewResponse};
use carepact_store::users::User;
use serde_json::{Value, json};
use time::OffsetDateTime;
use time::format_description::well_known::Rfc3339;
use uuid::Uuid;

use super::{Shape, TokenValue, codes, date_matches, date_value, token_matches, token_value, updated_of, with_meta};
use crate::fhir_api::{
    Bearer, DEFAULT_COUNT, Outcome, base, bearer, fhir_json, forbidden, invalid, paging, pairs, patient_ref,
    referenced_person,
};
use crate::state::AppState;

pub(super) fn routes() -> Router<AppState> {
    Router::new()
        .route("/fhir/r4/Questionnaire", get(search))
        .route("/fhir/r4/Questionnaire/{id}", get(read))
}

/// What the CapabilityStatement says of Questionnaire.
pub(super) fn capability() -> Value {
    json!({
        "type": "Questionnaire",
        "interaction": [{"code": "read"}, {"code": "search-type"}],
        "searchParam": [
            {"name": "url", "type": "uri"},
            {"name": "version", "type": "token"},
            {"name": "name", "type": "string"},
            {"name": "title", "type": "string"},
            {"name": "status", "type": "token"},
            {"name": "_id", "type": "token"},
            {"name": "_lastUpdated", "type": "date"},
            {"name": "_count", "type": "number"},
            {"name": "_offset", "type": "number"}
        ]
    })
}

/// The user whose token it is, once the token allows `interaction` on Questionnaire: an app's scopes must say so; a
/// user's own API token reaches every type the API serves.
async fn reader(state: &AppState, headers: &HeaderMap, interaction: Interaction) -> Result<User, Outcome> {
    match bearer(state, headers).await? {
        Bearer::App { user, scopes, .. } => {
            if allows(&scopes, "Questionnaire", interaction) {
                Ok(user)
            } else {
                Err(forbidden("Questionnaire"))
            }
        }
        Bearer::Token { user, .. } => Ok(user),
    }
}

/// Built-in, or loaded by the user's organisation.
fn visible(def: &Definition, user: &User) -> bool {
    def.organisation_id
        .is_none_or(|org| user.organisation_id == Some(OrganisationId(org)))
}

/// The definition as served; none when the stored JSON no longer reads.
fn served(def: &Definition) -> Option<Value> {
    let mut v: Value = serde_json::from_str(&def.definition).ok().filter(Value::is_object)?;
    v["id"] = json!(def.id.to_string());
    Some(with_meta(v, "1", Some(def.loaded_at.0)))
}

async fn read(State(state): State<AppState>, headers: HeaderMap, Path(id): Path<String>) -> Result<Response, Outcome> {
    let user = reader(&state, &headers, Interaction::Read).await?;
    let id = Uuid::parse_str(&id).map_err(|_| Outcome::not_found())?;
    let resource = store::definition(&state.db, id)
        .await?
        .filter(|d| visible(d, &user))
        .as_ref()
        .and_then(served)
        .ok_or_else(Outcome::not_found)?;
    Ok(fhir_json(&resource).into_response())
}

/// How a string parameter compares.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum Compare {
    StartsWith,
    Exact,
    Contains,
}

fn string_matches(found: Option<&str>, compare: Compare, wanted: &str) -> bool {
    let Some(found) = found else { return false };
    match compare {
        Compare::Exact => found == wanted,
        Compare::StartsWith => found.to_lowercase().starts_with(&wanted.to_lowercase()),
        Compare::Contains => found.to_lowercase().contains(&wanted.to_lowercase()),
    }
}

/// A Questionnaire search, read from the query string.
#[derive(Debug, Default)]
struct Search {
    ids: Option<Vec<String>>,
    /// (url, version) pairs, any of which may match; each `url` parameter must match.
    urls: Vec<Vec<(String, Option<String>)>>,
    /// (element, comparison, values): any value may match; each parameter must match.
    strings: Vec<(&'static str, Compare, Vec<String>)>,
    tokens: Vec<(&'static str, Vec<TokenValue>)>,
    updated: Vec<(&'static str, OffsetDateTime, OffsetDateTime)>,
    count: i64,
    offset: i64,
    kept: Vec<(String, String)>,
}

fn parse_search(query: Option<&str>) -> Result<Search, Outcome> {
    let mut s = Search {
        count: DEFAULT_COUNT,
        ..Search::default()
    };
    let mut problems = Vec::new();
    for (key, value) in pairs(query) {
        let (name, modifier) = key.split_once(':').unwrap_or((key.as_str(), ""));
        let list = || value.split(',').map(|v| v.trim().to_owned()).collect::<Vec<_>>();
        match (name, modifier) {
            ("_id", "") => s.ids = Some(list()),
            ("url", "") => s.urls.push(
                list()
                    .into_iter()
                    .map(|u| match u.split_once('|') {
                        Some((url, version)) => (url.to_owned(), Some(version.to_owned())),
                        None => (u, None),
                    })
                    .collect(),
            ),
            ("name" | "title", "" | "exact" | "contains") => {
                let compare = match modifier {
                    "exact" => Compare::Exact,
                    "contains" => Compare::Contains,
                    _ => Compare::StartsWith,
                };
                let element = if name == "name" { "name" } else { "title" };
                s.strings.push((element, compare, list()));
            }
            ("status" | "version", "") => {
                let element = if name == "status" { "status" } else { "version" };
                match value
                    .split(',')
                    .map(|v| token_value(name, v))
                    .collect::<Result<Vec<_>, _>>()
                {
                    Ok(values) => s.tokens.push((element, values)),
                    Err(p) => problems.push(p),
                }
            }
            ("_lastUpdated", "") => match date_value(name, &value) {
                Ok(d) => s.updated.push(d),
                Err(p) => problems.push(p),
            },
            ("_count" | "_offset", "") => paging(name, &value, &mut s.count, &mut s.offset, &mut problems),
            ("_format", "") => {}
            _ => problems.push(format!(
                "{key}: CarePact does not support this search parameter for Questionnaire"
            )),
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

impl Search {
    fn matches(&self, q: &Value) -> bool {
        let text = |key: &str| q.get(key).and_then(Value::as_str);
        self.ids
            .as_ref()
            .is_none_or(|ids| ids.iter().any(|i| Some(i.as_str()) == text("id")))
            && self.urls.iter().all(|urls| {
                urls.iter().any(|(url, version)| {
                    Some(url.as_str()) == text("url") && version.as_deref().is_none_or(|v| Some(v) == text("version"))
                })
            })
            && self
                .strings
                .iter()
                .all(|(element, compare, values)| values.iter().any(|v| string_matches(text(element), *compare, v)))
            && self.tokens.iter().all(|(element, values)| {
                let found = codes(q, &format!("/{element}"), Shape::Code);
                values.iter().any(|v| token_matches(&found, v))
            })
            && self
                .updated
                .iter()
                .all(|d| updated_of(q).is_some_and(|range| date_matches(*d, range)))
    }
}

async fn search(
    State(state): State<AppState>,
    headers: HeaderMap,
    RawQuery(query): RawQuery,
) -> Result<Response, Outcome> {
    let user = reader(&state, &headers, Interaction::Search).await?;
    let s = parse_search(query.as_deref())?;
    let found: Vec<Value> = store::available(&state.db, user.organisation_id)
        .await?
        .iter()
        .filter(|d| visible(d, &user))
        .filter_map(served)
        .filter(|q| s.matches(q))
        .collect();
    let bundle = super::page(&state, "Questionnaire", found, &s.kept, s.count, s.offset);
    Ok(fhir_json(&bundle).into_response())
}

// ---- answers ----

fn unprocessable(problems: Vec<String>) -> Outcome {
    Outcome {
        status: StatusCode::UNPROCESSABLE_ENTITY,
        code: "invalid",
        diagnostics: problems,
    }
}

/// `authored`, when given: an instant, or a day (taken as its start, in UTC).
fn authored(json: &Value, now: OffsetDateTime) -> Result<Option<OffsetDateTime>, String> {
    let Some(value) = json.get("authored") else {
        return Ok(None);
    };
    let bad = || "authored: give when it was completed, like 2026-03-15T08:30:00Z".to_owned();
    let text = value.as_str().ok_or_else(bad)?;
    let at = match OffsetDateTime::parse(text, &Rfc3339) {
        Ok(t) => t,
        Err(_) => time::Date::parse(text, time::macros::format_description!("[year]-[month]-[day]"))
            .map_err(|_| bad())?
            .midnight()
            .assume_utc(),
    };
    if at > now + time::Duration::minutes(5) {
        return Err("authored: a questionnaire cannot be completed in the future".to_owned());
    }
    Ok(Some(at))
}

/// `POST QuestionnaireResponse`: see the module's documentation.
pub(super) async fn create_response(
    State(state): State<AppState>,
    headers: HeaderMap,
    body: Bytes,
) -> Result<Response, Outcome> {
    let (who, json) = super::super::caller_for_new(&state, &headers, &body).await?;
    if json.get("resourceType").and_then(Value::as_str) != Some("QuestionnaireResponse") {
        return Err(unprocessable(vec![
            "resourceType: this is not a QuestionnaireResponse".into(),
        ]));
    }
    let Some(canonical) = json.get("questionnaire").and_then(Value::as_str) else {
        return Err(unprocessable(vec![
            "questionnaire: say which questionnaire this answers, by its canonical url".into(),
        ]));
    };
    let unknown = || {
        unprocessable(vec![format!(
            "questionnaire: CarePact has no questionnaire {canonical}"
        )])
    };
    let (url, version) = match canonical.split_once('|') {
        Some((url, version)) => (url, Some(version).filter(|v| !v.is_empty())),
        None => (canonical, None),
    };
    let def = store::by_url(&state.db, url, version).await?.ok_or_else(unknown)?;
    let stored: Value = serde_json::from_str(&def.definition).map_err(|_| unknown())?;
    let qn = carepact_fhir::questionnaire::parse(&stored).map_err(|_| unknown())?;
    let now = state.now();
    let mut problems = Vec::new();
    let answers = match carepact_fhir::questionnaire::read_response(&qn, &json) {
        Ok(answers) => Some(answers),
        Err(found) => {
            problems.extend(found.iter().map(|p| format!("{}: {}", p.path, p.message)));
            None
        }
    };
    if let Some(subject) = json.pointer("/subject/reference").and_then(Value::as_str)
        && referenced_person(subject) != Some(who.person)
    {
        problems.push("subject: must be the person the access token is for".into());
    }
    let authored_at = match authored(&json, now) {
        Ok(at) => at.unwrap_or(now),
        Err(p) => {
            problems.push(p);
            now
        }
    };
    let Some(answers) = answers.filter(|_| problems.is_empty()) else {
        return Err(unprocessable(problems));
    };
    let grant = who
        .grant(
            &state,
            "QuestionnaireResponse",
            Interaction::Create,
            Section::Questionnaires,
        )
        .await?;
    // An organisation's own questionnaire is answered only when the person was asked to fill it in, or by its staff
    // (as on the page).
    if let Some(org) = def.organisation_id {
        let assigned = store::assignments(&state.db, &grant)
            .await?
            .map_err(|_| Outcome::not_found())?
            .iter()
            .any(|a| a.questionnaire_id == def.id);
        if !assigned && who.user.organisation_id != Some(OrganisationId(org)) {
            return Err(unknown());
        }
    }
    let fail = |e: serde_json::Error| Outcome::from(crate::errors::AppError::Internal(e.into()));
    let score = qn.instrument.and_then(|i| i.score(&answers));
    let answers_json = serde_json::to_string(&answers).map_err(fail)?;
    let score_json = score.as_ref().map(serde_json::to_string).transpose().map_err(fail)?;
    let urgent = score.as_ref().is_some_and(|s| s.urgent);
    let mail = crate::pages::readings::alert_mail(&state, crate::access::job_tr(&state), who.person);
    let instrument = qn.instrument.map(Instrument::code).unwrap_or_default();
    let new = NewResponse {
        questionnaire: def.id,
        assignment: None,
        authored_at,
        source: crate::pages::readings::source_for(&grant, &who.user),
        answers: &answers_json,
        score: score_json.as_deref(),
        headline: score.as_ref().and_then(|s| s.headline.as_ref()).map(|h| h.value_tenths),
        urgent: urgent.then_some((instrument, &mail)),
    };
    let (id, _) = store::respond(&state.db, &grant, &new, now)
        .await?
        .map_err(|_| Outcome::not_found())?;
    let stored = store::response(&state.db, &grant, id)
        .await?
        .map_err(|_| Outcome::not_found())?;
    let resource = super::responses_served(&state, stored.into_iter().collect(), &patient_ref(who.person))
        .await?
        .into_iter()
        .next()
        .ok_or_else(Outcome::not_found)?;
    let mut response = (StatusCode::CREATED, fhir_json(&resource)).into_response();
    if let Ok(location) = HeaderValue::from_str(&format!("{}/QuestionnaireResponse/{id}", base(&state))) {
        response.headers_mut().insert(header::LOCATION, location);
    }
    Ok(response)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn strings_compare_as_fhir_says() {
        let title = Some("Patient Health Questionnaire (PHQ-9)");
        assert!(string_matches(title, Compare::StartsWith, "patient health"));
        assert!(!string_matches(title, Compare::StartsWith, "health"));
        assert!(string_matches(title, Compare::Contains, "phq-9"));
        assert!(!string_matches(
            title,
            Compare::Exact,
            "patient health questionnaire (phq-9)"
        ));
        assert!(string_matches(
            None.or(title),
            Compare::Exact,
            "Patient Health Questionnaire (PHQ-9)"
        ));
        assert!(!string_matches(None, Compare::Contains, ""));
    }
}
