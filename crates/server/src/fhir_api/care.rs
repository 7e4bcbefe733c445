//! The person's care, sharing and answers through the API: CarePlan (with vread and history), Goal, CareTeam,
//! Communication, Consent, AuditEvent and QuestionnaireResponse. The definitions (Questionnaire) and creating a
//! QuestionnaireResponse are in [`questionnaire`].
//!
//! Each resource is built exactly as the person's export builds it (`pages::export`), after one decision of the
//! choke point for the type's consent section, and then searched in memory: CarePlan, Goal and CareTeam are the
//! care plan section; Communication the messages; Consent and AuditEvent the record (the person's sharing and their
//! access log, which only the person themself may see; never writable); QuestionnaireResponse the questionnaires.
//! Ids: the plan's, the goal's, the message's, the consent's, the audit event's and the response's own ids; the
//! care team's is derived from the person's (the export's rule). An id that is not a UUID, is nobody's or is
//! another person's is "not found", the same answer whether or not it exists.
//!
//! `meta.versionId` is the plan's version number for CarePlan and for its Goals (a goal is part of the plan's
//! document); the store keeps no versions of the others, which are "1". `meta.lastUpdated` is when the plan's
//! version was written (for a Goal, its latest progress if later), when a message was sent, an event recorded or a
//! questionnaire completed; CareTeam and Consent carry no such time and go without.
//!
//! Search, where the parameter means something for the type (the CapabilityStatement lists them per type):
//! - `patient` (and `subject`, except on Consent and AuditEvent): another person's id finds nothing, never 403;
//! - `_id` (ids, comma-separated);
//! - tokens, each `system|code`, `code`, `system|` or `|code`, commas meaning "or": `status` (CarePlan, CareTeam,
//!   Communication, Consent, QuestionnaireResponse), `category` (CarePlan, Consent), `intent` (CarePlan),
//!   `lifecycle-status` and `achievement-status` (Goal), `identifier` (Communication: the thread), `action`,
//!   `outcome`, `type` and `subtype` (AuditEvent);
//! - `questionnaire` (QuestionnaireResponse): the canonical url, with or without `|version`;
//! - `date`, with the prefixes eq/ge/gt/le/lt (a resource dated by day matches when the day overlaps the range).
//!   It means: CarePlan `period.end` (the review date); Goal `target.dueDate`; Communication `sent`; Consent
//!   `provision.period.start` (when the sharing starts); AuditEvent `recorded`; QuestionnaireResponse `authored`.
//!   Where FHIR names that parameter otherwise, its own name works too (`target-date`, `sent`, `authored`).
//!   CareTeam has no date;
//! - `_lastUpdated` (same prefixes), where the type has `meta.lastUpdated`;
//! - `_sort`: `date` or `-date` (or the type's own name for its date, or `_lastUpdated`). Without it, newest first
//!   by the date (undated last), except Goal and CareTeam, which keep the plan's and the team's order;
//! - `_count` (default 50, at most 1000) and `_offset`, in searchset Bundles with `total`, `self` and `next` links.
//!
//! Any other parameter is refused with 400 naming it.
//!
//! CarePlan history: `CarePlan/{id}/_history` (a history Bundle, newest version first; `_count`, `_offset`,
//! `_since`) and `CarePlan/{id}/_history/{version}`, from the plan's stored versions. An older version's status is
//! the plan's standing as it was then: agreed by both sides at that version or an earlier one ("active"), or not
//! ("draft").

mod questionnaire;

use axum::Router;
use axum::extract::{Path, RawQuery, State};
use axum::http::HeaderMap;
use axum::response::{IntoResponse, Response};
use axum::routing::get;
use carepact_domain::care_plan::agreement;
use carepact_domain::consent::Section;
use carepact_domain::identity::PersonId;
use carepact_domain::smart::Interaction;
use carepact_store::access::Grant;
use carepact_store::care_plan::{Plan, Version};
use carepact_store::owners::Owned;
use serde_json::{Value, json};
use time::OffsetDateTime;
use time::format_description::well_known::Rfc3339;
use uuid::Uuid;

use super::{
    Caller, DEFAULT_COUNT, Outcome, Target, base, caller, date_bound, fhir_json, invalid, page_links, paging, pairs,
    patient_ref, referenced_person, searchset,
};
use crate::pages::export::{self, Care};
use crate::state::AppState;

/// Every questionnaire response the person has: a weekly questionnaire for a hundred years is 5,200.
const RESPONSES_LIMIT: i64 = 100_000;

/// The person-scoped types this module serves.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum Type {
    CarePlan,
    Goal,
    CareTeam,
    Communication,
    Consent,
    AuditEvent,
    QuestionnaireResponse,
}

/// How a token search parameter finds its codes in a resource.
#[derive(Debug, Clone, Copy)]
enum Shape {
    /// A code (string) at the pointer.
    Code,
    /// A CodeableConcept, or a list of them.
    Concept,
    /// A Coding, or a list of them.
    Coding,
    /// An Identifier, or a list of them.
    Identifier,
}

/// A token search parameter: its name, where its element is, and what shape that is.
type TokenParam = (&'static str, &'static str, Shape);

impl Type {
    const ALL: [Type; 7] = [
        Type::CarePlan,
        Type::Goal,
        Type::CareTeam,
        Type::Communication,
        Type::Consent,
        Type::AuditEvent,
        Type::QuestionnaireResponse,
    ];

    fn name(self) -> &'static str {
        match self {
            Type::CarePlan => "CarePlan",
            Type::Goal => "Goal",
            Type::CareTeam => "CareTeam",
            Type::Communication => "Communication",
            Type::Consent => "Consent",
            Type::AuditEvent => "AuditEvent",
            Type::QuestionnaireResponse => "QuestionnaireResponse",
        }
    }

    fn section(self) -> Section {
        match self {
            Type::CarePlan | Type::Goal | Type::CareTeam => Section::CarePlan,
            Type::Communication => Section::Messages,
            Type::Consent | Type::AuditEvent => Section::Record,
            Type::QuestionnaireResponse => Section::Questionnaires,
        }
    }

    /// The search parameters that name the person.
    fn patient_params(self) -> &'static [&'static str] {
        match self {
            Type::Consent | Type::AuditEvent => &["patient"],
            _ => &["patient", "subject"],
        }
    }

    fn tokens(self) -> &'static [TokenParam] {
        match self {
            Type::CarePlan => &[
                ("status", "/status", Shape::Code),
                ("category", "/category", Shape::Concept),
                ("intent", "/intent", Shape::Code),
            ],
            Type::Goal => &[
                ("lifecycle-status", "/lifecycleStatus", Shape::Code),
                ("achievement-status", "/achievementStatus", Shape::Concept),
            ],
            Type::CareTeam | Type::QuestionnaireResponse => &[("status", "/status", Shape::Code)],
            Type::Communication => &[
                ("status", "/status", Shape::Code),
                ("identifier", "/identifier", Shape::Identifier),
            ],
            Type::Consent => &[
                ("status", "/status", Shape::Code),
                ("category", "/category", Shape::Concept),
            ],
            Type::AuditEvent => &[
                ("action", "/action", Shape::Code),
                ("outcome", "/outcome", Shape::Code),
                ("type", "/type", Shape::Coding),
                ("subtype", "/subtype", Shape::Coding),
            ],
        }
    }

    /// The names of the date parameter (`date`, and FHIR's own name for it when that differs) and where the date is.
    fn date(self) -> Option<(&'static [&'static str], &'static str)> {
        match self {
            Type::CarePlan => Some((&["date"], "/period/end")),
            Type::Goal => Some((&["date", "target-date"], "/target/0/dueDate")),
            Type::CareTeam => None,
            Type::Communication => Some((&["date", "sent"], "/sent")),
            Type::Consent => Some((&["date"], "/provision/period/start")),
            Type::AuditEvent => Some((&["date"], "/recorded")),
            Type::QuestionnaireResponse => Some((&["date", "authored"], "/authored")),
        }
    }

    fn has_last_updated(self) -> bool {
        !matches!(self, Type::CareTeam | Type::Consent)
    }

    /// Newest first by date unless asked otherwise; goals and the team keep their own order.
    fn newest_first(self) -> bool {
        !matches!(self, Type::Goal | Type::CareTeam)
    }

    /// What the CapabilityStatement says of the type.
    fn capability(self) -> Value {
        let mut params: Vec<Value> = self
            .patient_params()
            .iter()
            .map(|p| json!({"name": p, "type": "reference"}))
            .collect();
        params.push(json!({"name": "_id", "type": "token"}));
        params.extend(
            self.tokens()
                .iter()
                .map(|(p, _, _)| json!({"name": p, "type": "token"})),
        );
        if self == Type::QuestionnaireResponse {
            params.push(json!({"name": "questionnaire", "type": "reference"}));
        }
        if let Some((names, pointer)) = self.date() {
            let element = pointer.trim_start_matches('/').replace("/0/", ".").replace('/', ".");
            params.extend(
                names
                    .iter()
                    .map(|n| json!({"name": n, "type": "date", "documentation": format!("{}.{element}", self.name())})),
            );
        }
        if self.has_last_updated() {
            params.push(json!({"name": "_lastUpdated", "type": "date"}));
        }
        if self.date().is_some() {
            params.push(json!({"name": "_sort", "type": "string", "documentation": "date or -date"}));
        }
        params.push(json!({"name": "_count", "type": "number"}));
        params.push(json!({"name": "_offset", "type": "number"}));
        let mut interactions = vec![json!({"code": "read"}), json!({"code": "search-type"})];
        let mut capability = json!({"type": self.name()});
        match self {
            Type::CarePlan => {
                interactions.insert(1, json!({"code": "vread"}));
                interactions.push(json!({"code": "history-instance"}));
                capability["versioning"] = json!("versioned");
                capability["readHistory"] = json!(true);
            }
            Type::QuestionnaireResponse => interactions.push(json!({"code": "create"})),
            _ => {}
        }
        capability["interaction"] = json!(interactions);
        capability["searchParam"] = json!(params);
        capability
    }
}

pub(super) fn routes() -> Router<AppState> {
    let mut router = Router::new()
        .route("/fhir/r4/CarePlan/{id}/_history", get(history))
        .route("/fhir/r4/CarePlan/{id}/_history/{version}", get(vread))
        .merge(questionnaire::routes());
    for t in Type::ALL {
        let search =
            get(move |state: State<AppState>, headers: HeaderMap, query: RawQuery| search(state, headers, query, t));
        let search = match t {
            Type::QuestionnaireResponse => search.post(questionnaire::create_response),
            _ => search,
        };
        router = router.route(&format!("/fhir/r4/{}", t.name()), search).route(
            &format!("/fhir/r4/{}/{{id}}", t.name()),
            get(move |state: State<AppState>, headers: HeaderMap, id: Path<String>| read(state, headers, id, t)),
        );
    }
    router
}

/// The CapabilityStatement's entries for this module's types and the Questionnaire definitions.
pub(super) fn capabilities() -> Vec<Value> {
    let mut out: Vec<Value> = Type::ALL.iter().map(|t| t.capability()).collect();
    out.push(questionnaire::capability());
    out
}

// ---- building the resources ----

fn instant(t: OffsetDateTime) -> Option<String> {
    t.to_offset(time::UtcOffset::UTC).format(&Rfc3339).ok()
}

/// Sets `meta.versionId` and, when known, `meta.lastUpdated`, keeping whatever else `meta` holds.
fn with_meta(mut resource: Value, version: &str, updated: Option<OffsetDateTime>) -> Value {
    if !resource.get("meta").is_some_and(Value::is_object) {
        resource["meta"] = json!({});
    }
    resource["meta"]["versionId"] = json!(version);
    if let Some(updated) = updated.and_then(instant) {
        resource["meta"]["lastUpdated"] = json!(updated);
    }
    resource
}

/// The export derives the care team's id from the person's by flipping these bits (`pages::export::care_resources`).
const TEAM: u128 = 0x7ea;

/// The id the export gives the person's care team.
fn team_id(person: PersonId) -> Uuid {
    Uuid::from_u128(person.0.as_u128() ^ TEAM)
}

/// One version of the plan as a CarePlan, with the plan's standing as it was at that version.
fn plan_version(plan: &Plan, v: &Version, patient: &str) -> Value {
    let pairs: Vec<_> = plan
        .agreements
        .iter()
        .filter(|a| a.version <= v.number)
        .map(|a| (a.version, a.side))
        .collect();
    let meta = carepact_fhir::care_plan::PlanMeta {
        plan_id: plan.id,
        version: v.number,
        patient_ref: patient,
        updated: v.created_at.0,
        agreement: agreement(v.number, &pairs),
        author_display: v.author_name.as_deref(),
    };
    carepact_fhir::care_plan::care_plan(&v.doc, &meta)
}

/// The grant for `t`'s section: the token must allow `interaction` on the type, and the choke point decides.
async fn grant(state: &AppState, who: &Caller, t: Type, interaction: Interaction) -> Result<Grant, Outcome> {
    who.grant(state, t.name(), interaction, t.section()).await
}

/// Every resource of type `t` the person has, as served, under `grant` (the choke point's decision for it).
async fn load(state: &AppState, who: &Caller, grant: &Grant, t: Type) -> Result<Vec<Value>, Outcome> {
    let db = &state.db;
    let patient = patient_ref(who.person);
    let denied = |_| Outcome::not_found();
    let of_type = |resources: Vec<Value>| -> Vec<Value> {
        resources
            .into_iter()
            .filter(|r| r["resourceType"] == t.name())
            .collect()
    };
    Ok(match t {
        Type::CarePlan | Type::Goal => {
            let Some(plan) = carepact_store::care_plan::get(db, grant).await?.map_err(denied)? else {
                return Ok(Vec::new());
            };
            let care = Care {
                person: who.person,
                person_name: None,
                plan: Some(&plan),
                team: &[],
                threads: &[],
            };
            let version = plan.latest.number.to_string();
            let written = plan.latest.created_at.0;
            of_type(export::care_resources(&care, &patient))
                .into_iter()
                .map(|r| {
                    // A goal changes with the plan's versions and with its progress notes.
                    let progress = plan
                        .progress
                        .iter()
                        .filter(|p| r["id"] == p.goal.to_string())
                        .map(|p| p.at.0)
                        .max();
                    let updated = progress.map_or(written, |p| p.max(written));
                    with_meta(r, &version, Some(updated))
                })
                .collect()
        }
        Type::CareTeam => {
            let team = carepact_store::care_team::members(db, grant).await?.map_err(denied)?;
            let care = Care {
                person: who.person,
                person_name: None,
                plan: None,
                team: &team,
                threads: &[],
            };
            of_type(export::care_resources(&care, &patient))
                .into_iter()
                .map(|r| with_meta(r, "1", None))
                .collect()
        }
        Type::Communication => {
            let threads = carepact_store::messages::everything(db, grant, who.user.id)
                .await?
                .map_err(denied)?;
            let care = Care {
                person: who.person,
                person_name: None,
                plan: None,
                team: &[],
                threads: &threads,
            };
            let sent: std::collections::HashMap<String, OffsetDateTime> = threads
                .iter()
                .flat_map(|(_, messages)| messages.iter().map(|m| (m.id.to_string(), m.created_at.0)))
                .collect();
            of_type(export::care_resources(&care, &patient))
                .into_iter()
                .map(|r| {
                    let at = r["id"].as_str().and_then(|id| sent.get(id)).copied();
                    with_meta(r, "1", at)
                })
                .collect()
        }
        Type::Consent => carepact_store::consents::list(db, grant)
            .await?
            .map_err(denied)?
            .iter()
            .map(|c| with_meta(export::consent_resource(c, &patient), "1", None))
            .collect(),
        Type::AuditEvent => carepact_store::audit::events_for(db, grant)
            .await?
            .map_err(denied)?
            .iter()
            .map(|e| {
                with_meta(
                    carepact_fhir::audit_event::to_fhir(e, Some(&patient)),
                    "1",
                    Some(e.occurred_at),
                )
            })
            .collect(),
        Type::QuestionnaireResponse => {
            let responses = carepact_store::questionnaires::responses(db, grant, None, RESPONSES_LIMIT)
                .await?
                .map_err(denied)?;
            responses_served(state, responses, &patient).await?
        }
    })
}

/// Stored questionnaire responses as served.
async fn responses_served(
    state: &AppState,
    responses: Vec<carepact_store::questionnaires::Response>,
    patient: &str,
) -> Result<Vec<Value>, Outcome> {
    Ok(export::read_responses(state, responses)
        .await?
        .iter()
        .map(|(r, q, a)| with_meta(export::response_resource(r, q, a, patient), "1", Some(r.authored_at.0)))
        .collect())
}

/// Who a read by id reaches: the person whose item it is.
fn item_target(t: Type, id: &str) -> Target<'_> {
    match t {
        Type::CarePlan => Target::Item(Owned::CarePlan, id),
        Type::Communication => Target::Item(Owned::Message, id),
        Type::Consent => Target::Item(Owned::Consent, id),
        Type::AuditEvent => Target::Item(Owned::AuditEvent, id),
        Type::QuestionnaireResponse => Target::Item(Owned::QuestionnaireResponse, id),
        // A goal lives inside its plan's document: it has no row of its own to look its person up by. (The team's id
        // names its person: see `read`.)
        Type::Goal | Type::CareTeam => Target::Own,
    }
}

async fn read(
    State(state): State<AppState>,
    headers: HeaderMap,
    Path(id): Path<String>,
    t: Type,
) -> Result<Response, Outcome> {
    // The team's id is derived from its person's, so it names them.
    let team_of = (t == Type::CareTeam)
        .then(|| Uuid::parse_str(&id).ok())
        .flatten()
        .map(|team| Uuid::from_u128(team.as_u128() ^ TEAM).to_string());
    let target = match &team_of {
        Some(person) => Target::Person(person),
        None => item_target(t, &id),
    };
    let who = caller(&state, &headers, target).await?;
    let id = Uuid::parse_str(&id).map_err(|_| Outcome::not_found())?;
    if t == Type::CareTeam && id != team_id(who.person) {
        return Err(Outcome::not_found());
    }
    let grant = grant(&state, &who, t, Interaction::Read).await?;
    let found = if t == Type::QuestionnaireResponse {
        // One response, read by its id rather than all of them.
        let one = carepact_store::questionnaires::response(&state.db, &grant, id)
            .await?
            .map_err(|_| Outcome::not_found())?;
        let patient = patient_ref(who.person);
        responses_served(&state, one.into_iter().collect(), &patient).await?
    } else {
        load(&state, &who, &grant, t).await?
    };
    let id = id.to_string();
    let resource = found
        .into_iter()
        .find(|r| r["id"] == id.as_str())
        .ok_or_else(Outcome::not_found)?;
    Ok(fhir_json(&resource).into_response())
}

// ---- search ----

/// One token search value: (system, code), either left open. `Some("")` as the system means "no system".
type TokenValue = (Option<String>, Option<String>);

/// A search, read from the query string.
#[derive(Debug, Default)]
struct Search {
    ids: Option<Vec<String>>,
    /// Each parameter given, with its values (any of which may match); every parameter must match.
    tokens: Vec<(&'static str, Shape, Vec<TokenValue>)>,
    /// `questionnaire`: canonical urls, any of which may match.
    questionnaires: Vec<Vec<String>>,
    dates: Vec<(&'static str, OffsetDateTime, OffsetDateTime)>,
    updated: Vec<(&'static str, OffsetDateTime, OffsetDateTime)>,
    /// By the date (or `meta.lastUpdated`), newest first when true.
    sort: Option<(bool, bool)>,
    count: i64,
    offset: i64,
    /// The search names another person: it finds nothing, never "not allowed".
    elsewhere: bool,
    /// The query as received (for the `self` and `next` links), without paging.
    kept: Vec<(String, String)>,
}

/// A token search value: `system|code`, `code`, `system|` or `|code`.
fn token_value(name: &str, value: &str) -> Result<TokenValue, String> {
    let (system, code) = match value.split_once('|') {
        Some((system, code)) => (Some(system.to_owned()), code),
        None => (None, value),
    };
    let code = Some(code.to_owned()).filter(|c| !c.is_empty());
    if code.is_none() && system.as_deref().is_none_or(str::is_empty) {
        return Err(format!("{name}: give a code, system|code or system|"));
    }
    Ok((system, code))
}

/// A prefixed date value, or the problem with it named by its parameter.
fn date_value(name: &str, value: &str) -> Result<(&'static str, OffsetDateTime, OffsetDateTime), String> {
    let (prefix, start, end) = date_bound(value).map_err(|p| p.replacen("date:", &format!("{name}:"), 1))?;
    let prefix = match prefix {
        "ge" => "ge",
        "gt" => "gt",
        "le" => "le",
        "lt" => "lt",
        _ => "eq",
    };
    Ok((prefix, start, end))
}

fn parse_search(t: Type, query: Option<&str>, person: PersonId) -> Result<Search, Outcome> {
    let mut s = Search {
        count: DEFAULT_COUNT,
        ..Search::default()
    };
    let mut problems = Vec::new();
    let date_names = t.date().map_or(&[][..], |(names, _)| names);
    for (key, value) in pairs(query) {
        let k = key.as_str();
        if t.patient_params().contains(&k) {
            if referenced_person(&value) != Some(person) {
                s.elsewhere = true;
            }
        } else if k == "_id" {
            let ids: Vec<String> = value.split(',').map(|v| v.trim().to_owned()).collect();
            s.ids = Some(match s.ids.take() {
                // Two `_id`s: both must hold.
                Some(before) => before.into_iter().filter(|i| ids.contains(i)).collect(),
                None => ids,
            });
        } else if let Some((name, _, shape)) = t.tokens().iter().find(|(n, _, _)| *n == k) {
            match value
                .split(',')
                .map(|v| token_value(name, v))
                .collect::<Result<Vec<_>, _>>()
            {
                Ok(values) => s.tokens.push((name, *shape, values)),
                Err(p) => problems.push(p),
            }
        } else if k == "questionnaire" && t == Type::QuestionnaireResponse {
            s.questionnaires
                .push(value.split(',').map(|v| v.trim().to_owned()).collect());
        } else if date_names.contains(&k) {
            match date_value(k, &value) {
                Ok(d) => s.dates.push(d),
                Err(p) => problems.push(p),
            }
        } else if k == "_lastUpdated" && t.has_last_updated() {
            match date_value(k, &value) {
                Ok(d) => s.updated.push(d),
                Err(p) => problems.push(p),
            }
        } else if k == "_sort" && t.date().is_some() {
            let (newest, field) = match value.strip_prefix('-') {
                Some(field) => (true, field),
                None => (false, value.as_str()),
            };
            if date_names.contains(&field) {
                s.sort = Some((false, newest));
            } else if field == "_lastUpdated" && t.has_last_updated() {
                s.sort = Some((true, newest));
            } else {
                problems.push(format!("_sort: CarePact sorts by date or -date, not \"{value}\""));
            }
        } else if k == "_count" || k == "_offset" {
            paging(k, &value, &mut s.count, &mut s.offset, &mut problems);
        } else if k != "_format" {
            problems.push(format!(
                "{k}: CarePact does not support this search parameter for {}",
                t.name()
            ));
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

/// The values at `pointer`: the one there, or each of a list.
fn at<'a>(resource: &'a Value, pointer: &str) -> Vec<&'a Value> {
    match resource.pointer(pointer) {
        Some(Value::Array(items)) => items.iter().collect(),
        Some(v) => vec![v],
        None => Vec::new(),
    }
}

/// The (system, code) pairs of a token element; "" when there is no system.
fn codes(resource: &Value, pointer: &str, shape: Shape) -> Vec<(String, String)> {
    let text = |v: &Value, key: &str| v.get(key).and_then(Value::as_str).unwrap_or("").to_owned();
    let coding = |c: &Value| (text(c, "system"), text(c, "code"));
    at(resource, pointer)
        .into_iter()
        .flat_map(|v| match shape {
            Shape::Code => v.as_str().map(|c| (String::new(), c.to_owned())).into_iter().collect(),
            Shape::Coding => vec![coding(v)],
            Shape::Concept => at(v, "/coding").into_iter().map(coding).collect(),
            Shape::Identifier => vec![(text(v, "system"), text(v, "value"))],
        })
        .collect()
}

fn token_matches(found: &[(String, String)], wanted: &TokenValue) -> bool {
    found.iter().any(|(system, code)| {
        wanted.0.as_ref().is_none_or(|s| s == system) && wanted.1.as_ref().is_none_or(|c| c == code)
    })
}

/// The instant range of a FHIR date or dateTime written in a resource.
fn range_of(text: &str) -> Option<(OffsetDateTime, OffsetDateTime)> {
    // A value written in a resource has no prefix; one that looks like one is not a date.
    if text
        .get(..2)
        .is_some_and(|p| p.chars().any(|c| c.is_ascii_alphabetic()))
    {
        return None;
    }
    date_bound(text).ok().map(|(_, start, end)| (start, end))
}

/// Whether a resource's range (`rs`..`re`) meets a prefixed search range: it overlaps the range (eq) or the part
/// of time at or after (ge), after (gt), at or before (le) or before (lt) it.
pub(super) fn date_matches(
    (prefix, ss, se): (&str, OffsetDateTime, OffsetDateTime),
    (rs, re): (OffsetDateTime, OffsetDateTime),
) -> bool {
    match prefix {
        "ge" => re >= ss,
        "gt" => re > se,
        "le" => rs <= se,
        "lt" => rs < ss,
        _ => rs <= se && re >= ss,
    }
}

fn date_of(t: Type, resource: &Value) -> Option<(OffsetDateTime, OffsetDateTime)> {
    let (_, pointer) = t.date()?;
    range_of(resource.pointer(pointer)?.as_str()?)
}

pub(super) fn updated_of(resource: &Value) -> Option<(OffsetDateTime, OffsetDateTime)> {
    range_of(resource.pointer("/meta/lastUpdated")?.as_str()?)
}

impl Search {
    fn matches(&self, t: Type, r: &Value) -> bool {
        let id = r["id"].as_str().unwrap_or("");
        self.ids.as_ref().is_none_or(|ids| ids.iter().any(|i| i == id))
            && self.tokens.iter().all(|(name, shape, values)| {
                let pointer = t.tokens().iter().find(|(n, _, _)| n == name).map_or("", |(_, p, _)| *p);
                let found = codes(r, pointer, *shape);
                values.iter().any(|v| token_matches(&found, v))
            })
            && self.questionnaires.iter().all(|wanted| {
                let canonical = r["questionnaire"].as_str().unwrap_or("");
                let url = canonical.split('|').next().unwrap_or("");
                wanted.iter().any(|w| w == canonical || w == url)
            })
            && self
                .dates
                .iter()
                .all(|d| date_of(t, r).is_some_and(|range| date_matches(*d, range)))
            && self
                .updated
                .iter()
                .all(|d| updated_of(r).is_some_and(|range| date_matches(*d, range)))
    }

    /// Sorts by the date asked for (or the type's default), undated last; equal dates keep the stored order, or its
    /// reverse when newest first (so the newest of several events recorded at one instant comes first).
    fn sort(&self, t: Type, found: &mut Vec<Value>) {
        let (by_updated, newest) = match self.sort {
            Some(s) => s,
            None if t.newest_first() => (false, true),
            None => return,
        };
        let key = |r: &Value| if by_updated { updated_of(r) } else { date_of(t, r) }.map(|(start, _)| start);
        let (mut dated, undated): (Vec<Value>, Vec<Value>) = found.drain(..).partition(|r| key(r).is_some());
        dated.sort_by_key(|r| key(r));
        if newest {
            dated.reverse();
        }
        found.extend(dated);
        found.extend(undated);
    }
}

/// One page of `found`, as a searchset Bundle with its `total`, `self` and `next` links.
pub(super) fn page(
    state: &AppState,
    resource_type: &str,
    found: Vec<Value>,
    kept: &[(String, String)],
    count: i64,
    offset: i64,
) -> Value {
    let total = found.len() as i64;
    let base = base(state);
    let entries: Vec<Value> = found
        .into_iter()
        .skip(usize::try_from(offset).unwrap_or(usize::MAX))
        .take(usize::try_from(count).unwrap_or(0))
        .map(|r| {
            let id = r["id"].as_str().unwrap_or("").to_owned();
            json!({"fullUrl": format!("{base}/{resource_type}/{id}"), "resource": r, "search": {"mode": "match"}})
        })
        .collect();
    let more = count > 0 && offset.saturating_add(count) < total;
    let links = page_links(&format!("{base}/{resource_type}"), kept, offset, count, more);
    searchset(links, entries, Some(total))
}

async fn search(
    State(state): State<AppState>,
    headers: HeaderMap,
    RawQuery(query): RawQuery,
    t: Type,
) -> Result<Response, Outcome> {
    let who = caller(&state, &headers, Target::Search(query.as_deref())).await?;
    let s = parse_search(t, query.as_deref(), who.person)?;
    let grant = grant(&state, &who, t, Interaction::Search).await?;
    let mut found = if s.elsewhere {
        Vec::new()
    } else {
        load(&state, &who, &grant, t).await?
    };
    found.retain(|r| s.matches(t, r));
    s.sort(t, &mut found);
    Ok(fhir_json(&page(&state, t.name(), found, &s.kept, s.count, s.offset)).into_response())
}

// ---- CarePlan versions ----

/// The plan and the grant to read it, when `id` is the person's plan's id.
async fn the_plan(state: &AppState, headers: &HeaderMap, id: &str) -> Result<(Caller, Grant, Plan), Outcome> {
    let who = caller(state, headers, Target::Item(Owned::CarePlan, id)).await?;
    let id = Uuid::parse_str(id).map_err(|_| Outcome::not_found())?;
    let grant = grant(state, &who, Type::CarePlan, Interaction::Read).await?;
    let plan = carepact_store::care_plan::get(&state.db, &grant)
        .await?
        .map_err(|_| Outcome::not_found())?
        .filter(|p| p.id == id)
        .ok_or_else(Outcome::not_found)?;
    Ok((who, grant, plan))
}

/// `CarePlan/{id}/_history/{version}`.
async fn vread(
    State(state): State<AppState>,
    headers: HeaderMap,
    Path((id, version)): Path<(String, String)>,
) -> Result<Response, Outcome> {
    let (who, grant, plan) = the_plan(&state, &headers, &id).await?;
    let number: i64 = version.parse().map_err(|_| Outcome::not_found())?;
    let v = carepact_store::care_plan::version(&state.db, &grant, number)
        .await?
        .map_err(|_| Outcome::not_found())?
        .ok_or_else(Outcome::not_found)?;
    Ok(fhir_json(&plan_version(&plan, &v, &patient_ref(who.person))).into_response())
}

/// `CarePlan/{id}/_history`: every version, newest first, as a history Bundle.
async fn history(
    State(state): State<AppState>,
    headers: HeaderMap,
    Path(id): Path<String>,
    RawQuery(query): RawQuery,
) -> Result<Response, Outcome> {
    let (mut count, mut offset) = (DEFAULT_COUNT, 0);
    let mut since = None;
    let mut kept = Vec::new();
    let mut problems = Vec::new();
    for (key, value) in pairs(query.as_deref()) {
        match key.as_str() {
            "_count" | "_offset" => paging(&key, &value, &mut count, &mut offset, &mut problems),
            "_since" => match OffsetDateTime::parse(&value, &Rfc3339) {
                Ok(t) => since = Some(t),
                Err(_) => problems.push(format!(
                    "_since: \"{value}\" is not a FHIR instant (like 2026-03-15T08:30:00Z)"
                )),
            },
            "_format" => {}
            other => problems.push(format!("{other}: CarePact does not support this parameter of _history")),
        }
        if key != "_offset" {
            kept.push((key, value));
        }
    }
    if !problems.is_empty() {
        return Err(invalid(problems));
    }
    let (who, grant, plan) = the_plan(&state, &headers, &id).await?;
    let versions: Vec<Version> = carepact_store::care_plan::versions(&state.db, &grant)
        .await?
        .map_err(|_| Outcome::not_found())?
        .into_iter()
        .filter(|v| since.is_none_or(|s| v.created_at.0 >= s))
        .collect();
    let total = versions.len() as i64;
    let base = base(&state);
    let patient = patient_ref(who.person);
    let entries: Vec<Value> = versions
        .iter()
        .skip(usize::try_from(offset).unwrap_or(usize::MAX))
        .take(usize::try_from(count).unwrap_or(0))
        .map(|v| {
            let (method, url, status) = if v.number == 1 {
                ("POST", "CarePlan".to_owned(), "201 Created")
            } else {
                ("PUT", format!("CarePlan/{}", plan.id), "200 OK")
            };
            let mut response = json!({"status": status, "etag": format!("W/\"{}\"", v.number)});
            if let Some(at) = instant(v.created_at.0) {
                response["lastModified"] = json!(at);
            }
            json!({
                "fullUrl": format!("{base}/CarePlan/{}", plan.id),
                "resource": plan_version(&plan, v, &patient),
                "request": {"method": method, "url": url},
                "response": response
            })
        })
        .collect();
    let more = count > 0 && offset.saturating_add(count) < total;
    let links = page_links(
        &format!("{base}/CarePlan/{}/_history", plan.id),
        &kept,
        offset,
        count,
        more,
    );
    let mut bundle = searchset(links, entries, Some(total));
    bundle["type"] = json!("history");
    Ok(fhir_json(&bundle).into_response())
}

#[cfg(test)]
mod tests {
    use super::*;
    use time::macros::datetime;

    #[test]
    fn token_values() {
        assert_eq!(token_value("status", "active"), Ok((None, Some("active".to_owned()))));
        assert_eq!(
            token_value("category", "http://snomed.info/sct|734163000"),
            Ok((Some("http://snomed.info/sct".to_owned()), Some("734163000".to_owned())))
        );
        assert_eq!(
            token_value("category", "http://snomed.info/sct|"),
            Ok((Some("http://snomed.info/sct".to_owned()), None))
        );
        assert_eq!(
            token_value("status", "|active"),
            Ok((Some(String::new()), Some("active".to_owned())))
        );
        assert!(token_value("status", "").is_err());
        assert!(token_value("status", "|").is_err());
        let found = vec![("http://snomed.info/sct".to_owned(), "734163000".to_owned())];
        assert!(token_matches(&found, &(None, Some("734163000".into()))));
        assert!(token_matches(&found, &(Some("http://snomed.info/sct".into()), None)));
        assert!(!token_matches(&found, &(Some(String::new()), Some("734163000".into()))));
        assert!(!token_matches(
            &found,
            &(Some("http://loinc.org".into()), Some("734163000".into()))
        ));
    }

    #[test]
    fn dates_by_day_overlap_and_instants_compare() {
        let day = range_of("2026-11-23").unwrap();
        let at = |v: &str| date_value("date", v).unwrap();
        assert!(
            date_matches(at("2026-11-23T10:00:00Z"), day),
            "the day holds the instant"
        );
        assert!(date_matches(at("2026-11"), day));
        assert!(date_matches(at("ge2026-11-23"), day) && date_matches(at("le2026-11-23"), day));
        assert!(!date_matches(at("gt2026-11-23"), day) && !date_matches(at("lt2026-11-23"), day));
        assert!(date_matches(at("gt2026-11-22"), day) && date_matches(at("lt2026-11-24"), day));
        let instant = (datetime!(2026-11-23 10:00 UTC), datetime!(2026-11-23 10:00 UTC));
        assert!(date_matches(at("ge2026-11-23T10:00:00Z"), instant));
        assert!(!date_matches(at("gt2026-11-23T10:00:00Z"), instant));
        assert!(range_of("ge2026").is_none());
    }
}
