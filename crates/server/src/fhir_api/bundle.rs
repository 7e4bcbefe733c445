//! Transaction and batch Bundles at `POST /fhir/r4`, for devices and apps sending many readings at once. Each entry
//! must be `POST Observation`; each Observation is checked as a single create is (what was measured, plausible
//! values, the token's person, not in the future).
//!
//! - A **transaction** is all or nothing: every entry is checked first, and one problem anywhere refuses the whole
//!   Bundle (400, or 422 when the requests are right but a resource is not) with every problem listed by entry
//!   index and path. Otherwise all the readings are stored with one `readings::add_batch` (one database
//!   transaction, agreed alert rules checked as for a file), and the `transaction-response` answers each entry in
//!   order: `201 Created` for a new reading, `200 OK` for one CarePact already held, with its location.
//! - A **batch** takes each entry on its own: the good ones are stored (again with one `add_batch`), and each bad
//!   one answers with its status and an OperationOutcome in the `batch-response`.
//!
//! The app's scopes must allow creating Observations (`patient/Observation.c`), whatever the entries are. At most
//! [`MAX_ENTRIES`] entries and [`BODY_LIMIT`] bytes a Bundle.

use axum::body::Body;
use axum::extract::State;
use axum::http::{HeaderMap, StatusCode};
use axum::response::{IntoResponse, Response};
use carepact_domain::consent::Section;
use carepact_domain::identity::PersonId;
use carepact_domain::readings::{Measure, Values};
use carepact_domain::smart::Interaction;
use carepact_store::readings::{self, NewReading};
use serde_json::{Value, json};
use time::OffsetDateTime;
use uuid::Uuid;

use super::{Outcome, Target, base, fhir_json};
use crate::state::AppState;

/// The most entries one Bundle may carry.
pub const MAX_ENTRIES: usize = 10_000;
/// The largest Bundle taken, in bytes: room for [`MAX_ENTRIES`] readings as devices write them.
pub const BODY_LIMIT: usize = 16 * 1024 * 1024;

/// What the CapabilityStatement's `rest.interaction` says.
pub(super) fn capability() -> Value {
    json!([{"code": "transaction"}, {"code": "batch"}])
}

/// One entry's reading, checked and ready to store.
struct Checked {
    measure: Measure,
    taken: OffsetDateTime,
    values: Values,
    note: Option<String>,
    device: Option<String>,
}

/// Why an entry cannot be taken: a request CarePact does not serve (400) or a resource it cannot accept (422).
struct Refused {
    status: StatusCode,
    problems: Vec<String>,
}

impl Refused {
    fn outcome(&self) -> Value {
        let code = if self.status == StatusCode::BAD_REQUEST {
            "not-supported"
        } else {
            "invalid"
        };
        let issues: Vec<Value> = self
            .problems
            .iter()
            .map(|d| json!({"severity": "error", "code": code, "diagnostics": d}))
            .collect();
        json!({"resourceType": "OperationOutcome", "issue": issues})
    }

    fn status_line(&self) -> String {
        format!(
            "{} {}",
            self.status.as_u16(),
            self.status.canonical_reason().unwrap_or("")
        )
    }
}

/// Checks entry `i`: a `POST Observation` whose resource is a reading CarePact can store for `person`.
fn check_entry(i: usize, entry: &Value, person: PersonId, base: &str, now: OffsetDateTime) -> Result<Checked, Refused> {
    let at = format!("Bundle.entry[{i}]");
    let request = |problem: String| Refused {
        status: StatusCode::BAD_REQUEST,
        problems: vec![problem],
    };
    let method = entry.pointer("/request/method").and_then(Value::as_str);
    let url = entry.pointer("/request/url").and_then(Value::as_str);
    match (method, url) {
        (None, _) | (_, None) => {
            return Err(request(format!(
                "{at}.request: each entry needs a request with a method and a url"
            )));
        }
        (Some(m), Some(u)) => {
            let path = u.strip_prefix(base).unwrap_or(u).trim_matches('/');
            if m != "POST" || path != "Observation" {
                return Err(request(format!(
                    "{at}.request: CarePact takes only \"POST Observation\" in a Bundle, not \"{m} {u}\""
                )));
            }
        }
    }
    let invalid = |problems: Vec<String>| Refused {
        status: StatusCode::UNPROCESSABLE_ENTITY,
        problems,
    };
    let Some(resource) = entry.get("resource") else {
        return Err(invalid(vec![format!("{at}.resource: the entry has no resource")]));
    };
    let at = format!("{at}.resource");
    let (measure, taken, raw, note) = carepact_fhir::observation::read_observation(resource).map_err(|problems| {
        invalid(
            problems
                .iter()
                .map(|p| {
                    if p.path.is_empty() {
                        format!("{at}: {}", p.message)
                    } else {
                        format!("{at}.{}: {}", p.path, p.message)
                    }
                })
                .collect(),
        )
    })?;
    let mut problems = Vec::new();
    match resource.pointer("/subject/reference").and_then(Value::as_str) {
        Some(subject) if super::referenced_person(subject) == Some(person) => {}
        // A reading without a subject is the token's person's.
        None if resource.get("subject").is_none() => {}
        _ => problems.push(format!("{at}.subject: must be the person the access token is for")),
    }
    if measure.is_derived() {
        problems.push(format!(
            "{at}.code: CarePact works BMI out itself; send weight and height"
        ));
    }
    let values = match super::observation::checked_values(measure, &raw) {
        Ok(v) => Some(v),
        Err(p) => {
            problems.extend(p.into_iter().map(|p| format!("{at}: {p}")));
            None
        }
    };
    if taken > now + time::Duration::minutes(5) {
        problems.push(format!("{at}.effective[x]: a reading cannot be taken in the future"));
    }
    match values {
        Some(values) if problems.is_empty() => Ok(Checked {
            measure,
            taken,
            values,
            note: note.filter(|_| measure != Measure::Symptoms),
            device: resource
                .pointer("/device/display")
                .and_then(Value::as_str)
                .map(str::to_owned),
        }),
        _ => Err(invalid(problems)),
    }
}

fn bad_bundle(problem: impl Into<String>) -> Outcome {
    Outcome::new(StatusCode::BAD_REQUEST, "invalid", problem)
}

/// `POST /fhir/r4`: a transaction or batch Bundle of Observations.
pub(super) async fn transaction_or_batch(
    State(state): State<AppState>,
    headers: HeaderMap,
    body: Body,
) -> Result<Response, Outcome> {
    let bearer = super::bearer(&state, &headers).await?;
    let too_big = || {
        Outcome::new(
            StatusCode::PAYLOAD_TOO_LARGE,
            "too-costly",
            format!(
                "A Bundle may carry at most {MAX_ENTRIES} entries and {} MiB: send the rest in another.",
                BODY_LIMIT / (1024 * 1024)
            ),
        )
    };
    let body = axum::body::to_bytes(body, BODY_LIMIT).await.map_err(|_| too_big())?;
    let bundle: Value = serde_json::from_slice(&body).map_err(|e| {
        Outcome::new(
            StatusCode::BAD_REQUEST,
            "structure",
            format!("The body is not JSON: {e}"),
        )
    })?;
    drop(body);
    if bundle.get("resourceType").and_then(Value::as_str) != Some("Bundle") {
        return Err(bad_bundle("resourceType: CarePact takes a Bundle here."));
    }
    let transaction = match bundle.get("type").and_then(Value::as_str) {
        Some("transaction") => true,
        Some("batch") => false,
        other => {
            return Err(bad_bundle(format!(
                "Bundle.type: must be \"transaction\" or \"batch\", not {}",
                other.map_or_else(|| "missing".to_owned(), |t| format!("\"{t}\""))
            )));
        }
    };
    let entries: &[Value] = match bundle.get("entry") {
        None => &[],
        Some(Value::Array(a)) => a,
        Some(_) => return Err(bad_bundle("Bundle.entry: must be a list")),
    };
    if entries.len() > MAX_ENTRIES {
        return Err(too_big());
    }
    // A user's token reaches the person the first entry is about; every entry must be about the same person.
    let subject = entries
        .first()
        .and_then(|e| e.pointer("/resource/subject/reference"))
        .and_then(Value::as_str);
    let who = bearer.reaching(&state, Target::Subject(subject)).await?;
    if !who.allows("Observation", Interaction::Create) {
        return Err(Outcome::new(
            StatusCode::FORBIDDEN,
            "forbidden",
            "The token's access does not include creating Observations, which is all a Bundle here may do.",
        ));
    }

    let base = base(&state);
    let now = state.now();
    let checked: Vec<Result<Checked, Refused>> = entries
        .iter()
        .enumerate()
        .map(|(i, e)| check_entry(i, e, who.person, &base, now))
        .collect();
    if transaction && checked.iter().any(Result::is_err) {
        let status = if checked
            .iter()
            .any(|c| c.as_ref().is_err_and(|r| r.status == StatusCode::BAD_REQUEST))
        {
            StatusCode::BAD_REQUEST
        } else {
            StatusCode::UNPROCESSABLE_ENTITY
        };
        let diagnostics = checked
            .iter()
            .filter_map(|c| c.as_ref().err())
            .flat_map(|r| r.problems.iter().cloned())
            .collect();
        return Err(Outcome {
            status,
            code: "invalid",
            diagnostics,
        });
    }

    // The good entries go to the store together: one transaction, the agreed alert rules checked as for a file.
    let grant = if checked.iter().any(Result::is_ok) {
        Some(
            who.grant(&state, "Observation", Interaction::Create, Section::Readings)
                .await?,
        )
    } else {
        None
    };
    let source = grant.as_ref().map_or("device", |g| who.reading_source(g));
    let good: Vec<NewReading<'_>> = checked
        .iter()
        .filter_map(|c| c.as_ref().ok())
        .map(|c| NewReading {
            measure: c.measure,
            taken_at: c.taken,
            values: &c.values,
            note: c.note.as_deref(),
            source,
            device: c.device.as_deref(),
        })
        .collect();
    let mut stored = Vec::new().into_iter();
    if let Some(grant) = grant.as_ref().filter(|_| !good.is_empty()) {
        let tr = crate::access::job_tr(&state);
        let mail = crate::pages::readings::alert_mail(&state, tr, who.person);
        let outcome = readings::add_batch(&state.db, grant, &good, &mail, now)
            .await?
            .map_err(|_| Outcome::not_found())?;
        if outcome.items.len() != good.len() {
            return Err(Outcome::new(
                StatusCode::INTERNAL_SERVER_ERROR,
                "exception",
                "Something went wrong.",
            ));
        }
        stored = outcome.items.into_iter();
    }
    let answers: Vec<Value> = checked
        .iter()
        .map(|c| match c {
            Ok(_) => {
                let item = stored.next();
                let (status, id) = match item {
                    Some(item) if item.added => ("201 Created", item.id),
                    Some(item) => ("200 OK", item.id),
                    None => ("500 Internal Server Error", Uuid::nil()),
                };
                json!({"response": {"status": status, "location": format!("{base}/Observation/{id}")}})
            }
            Err(refused) => json!({"response": {"status": refused.status_line(), "outcome": refused.outcome()}}),
        })
        .collect();
    let mut reply = json!({
        "resourceType": "Bundle",
        "id": Uuid::now_v7().to_string(),
        "type": if transaction { "transaction-response" } else { "batch-response" },
    });
    if !answers.is_empty() {
        reply["entry"] = Value::Array(answers);
    }
    Ok(fhir_json(&reply).into_response())
}
