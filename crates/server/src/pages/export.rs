//! The person's copy of everything CarePact holds about them (UK GDPR articles 15 and 20): a FHIR R4 Bundle to
//! download, and a printable page. Only the person may export; it passes the choke point and is in their log.

use askama::Template;
use axum::extract::{Path, State};
use axum::http::header;
use axum::response::{IntoResponse, Response};
use carepact_domain::audit::Event;
use carepact_domain::consent::{Action, Grantee, Request, Section, Sensitivity};
use carepact_domain::identity::PersonId;
use carepact_domain::questionnaire::{Answers, Questionnaire};
use carepact_domain::readings::Measure;
use carepact_fhir::{audit_event, observation, questionnaire};
use carepact_store::consents::{self, ConsentView};
use carepact_store::people::{self, Person};
use carepact_store::questionnaires::{self, Response as StoredResponse};
use carepact_store::readings::{self, Reading};
use carepact_store::record::{self, Correction, ItemRow, Note};
use serde_json::{Value, json};
use time::format_description::well_known::Rfc3339;
use uuid::Uuid;

use crate::access::authorize_labels;
use crate::errors::AppError;
use crate::pages::layout::{Chrome, render};
use crate::pages::record::{ItemView, view};
use crate::session::Session;
use crate::state::AppState;

struct Everything {
    person: Person,
    items: Vec<(ItemRow, String)>,
    notes: Vec<(Uuid, Note)>,
    corrections: Vec<Correction>,
    consents: Vec<ConsentView>,
    events: Vec<Event>,
    plan: Option<carepact_store::care_plan::Plan>,
    team: Vec<carepact_store::care_team::Member>,
    threads: Vec<(
        carepact_store::messages::ThreadRow,
        Vec<carepact_store::messages::MessageRow>,
    )>,
    /// Every reading, newest first.
    readings: Vec<Reading>,
    /// Every questionnaire response, newest first, with its definition and answers read.
    responses: Vec<(StoredResponse, Questionnaire, Answers)>,
}

/// The export holds every reading: the window runs from long before anyone now living was born to the last year
/// dates are written in, and the limit is far more than anyone records (ten readings a day for fifty years is
/// 182,500). A person with more (a device sending every minute, say) would get the newest 500,000.
const READINGS_FROM: time::OffsetDateTime = time::macros::datetime!(1900-01-01 00:00 UTC);
const READINGS_TO: time::OffsetDateTime = time::macros::datetime!(9999-12-31 23:59:59 UTC);
const READINGS_LIMIT: i64 = 500_000;
/// Every questionnaire response: a weekly questionnaire for a hundred years is 5,200.
const RESPONSES_LIMIT: i64 = 100_000;

/// Each response with its definition (parsed once for all the responses to it) and its answers. A stored definition
/// or answers that no longer read are corrupt data: the export fails rather than leave them out without a word.
pub(crate) async fn read_responses(
    state: &AppState,
    responses: Vec<StoredResponse>,
) -> Result<Vec<(StoredResponse, Questionnaire, Answers)>, AppError> {
    let mut definitions: std::collections::HashMap<Uuid, Questionnaire> = std::collections::HashMap::new();
    let mut out = Vec::with_capacity(responses.len());
    for r in responses {
        let q = match definitions.get(&r.questionnaire_id) {
            Some(q) => q.clone(),
            None => {
                let stored = questionnaires::definition(&state.db, r.questionnaire_id)
                    .await?
                    .ok_or_else(|| {
                        anyhow::anyhow!("questionnaire {} of response {} is missing", r.questionnaire_id, r.id)
                    })?;
                let json: Value = serde_json::from_str(&stored.definition)
                    .map_err(|e| anyhow::anyhow!("questionnaire {} is not JSON: {e}", stored.id))?;
                let q = questionnaire::parse(&json)
                    .map_err(|p| anyhow::anyhow!("questionnaire {} does not parse: {p:?}", stored.id))?;
                definitions.insert(r.questionnaire_id, q.clone());
                q
            }
        };
        let answers: Answers = serde_json::from_str(&r.answers)
            .map_err(|e| anyhow::anyhow!("answers of response {} do not read: {e}", r.id))?;
        out.push((r, q, answers));
    }
    Ok(out)
}

async fn gather(state: &AppState, session: &Session, id: &str) -> Result<Everything, AppError> {
    let user = session.require_user()?.clone();
    let person = Uuid::parse_str(id).map(PersonId).map_err(|_| AppError::NotFound)?;
    let request = Request {
        section: Section::Record,
        label: Sensitivity::General,
        action: Action::Read,
    };
    let grant = authorize_labels(state, &user, person, request, "export", "person-access").await?;
    if !grant.is_owner() {
        return Err(AppError::NotFound);
    }
    let denied = |_| AppError::NotFound;
    let own = |section: Section| {
        let (state, user) = (state, &user);
        async move {
            let request = Request {
                section,
                label: Sensitivity::General,
                action: Action::Read,
            };
            crate::access::authorize(state, user, person, request, "export", "person-access").await
        }
    };
    let plan_grant = own(Section::CarePlan).await?;
    let message_grant = own(Section::Messages).await?;
    let readings_grant = own(Section::Readings).await?;
    let questionnaires_grant = own(Section::Questionnaires).await?;
    let responses = questionnaires::responses(&state.db, &questionnaires_grant, None, RESPONSES_LIMIT)
        .await?
        .map_err(denied)?;
    Ok(Everything {
        readings: readings::list(
            &state.db,
            &readings_grant,
            None,
            READINGS_FROM,
            READINGS_TO,
            READINGS_LIMIT,
        )
        .await?
        .map_err(denied)?,
        responses: read_responses(state, responses).await?,
        plan: carepact_store::care_plan::get(&state.db, &plan_grant)
            .await?
            .map_err(denied)?,
        team: carepact_store::care_team::members(&state.db, &plan_grant)
            .await?
            .map_err(denied)?,
        threads: carepact_store::messages::everything(&state.db, &message_grant, user.id)
            .await?
            .map_err(denied)?,
        person: people::summary(&state.db, &grant).await?.ok_or(AppError::NotFound)?,
        items: record::all_resources(&state.db, &grant).await?.map_err(denied)?,
        notes: record::all_notes(&state.db, &grant).await?.map_err(denied)?,
        corrections: record::corrections(&state.db, &grant).await?.map_err(denied)?,
        consents: consents::list(&state.db, &grant).await?.map_err(denied)?,
        events: carepact_store::audit::events_for(&state.db, &grant)
            .await?
            .map_err(denied)?,
    })
}

fn instant(t: time::OffsetDateTime) -> String {
    t.format(&Rfc3339).unwrap_or_default()
}

fn entry(resource: Value) -> Value {
    let url = match resource.get("id").and_then(Value::as_str) {
        Some(id) => format!("urn:uuid:{id}"),
        None => format!("urn:uuid:{}", Uuid::now_v7()),
    };
    json!({"fullUrl": url, "resource": resource})
}

/// The person as a FHIR Patient (for the export and the FHIR API).
pub(crate) fn patient(p: &Person) -> Value {
    let mut telecom = Vec::new();
    if let Some(phone) = &p.phone {
        telecom.push(json!({"system": "phone", "value": phone}));
    }
    if let Some(email) = &p.email {
        telecom.push(json!({"system": "email", "value": email}));
    }
    let mut names = vec![json!({"use": "official", "family": p.family_name, "given": [p.given_name]})];
    if let Some(preferred) = &p.preferred_name {
        names.push(json!({"use": "usual", "given": [preferred]}));
    }
    let mut out = json!({
        "resourceType": "Patient",
        "id": p.id.0.to_string(),
        "name": names,
        "birthDate": p.date_of_birth.to_string(),
        "telecom": telecom,
    });
    if let Some(n) = &p.nhs_number {
        out["identifier"] = json!([{"system": carepact_fhir::resource::NHS_NUMBER_SYSTEM, "value": n.as_digits()}]);
    }
    if let Some(needs) = &p.communication_needs {
        out["communication"] = json!([{"language": {"text": "English"}, "preferred": true}]);
        out["extension"] = json!([{"url": "https://carepact.example/fhir/StructureDefinition/communication-needs", "valueString": needs}]);
    }
    out
}

pub(crate) fn consent_resource(c: &ConsentView, patient: &str) -> Value {
    let who = match c.consent.grantee {
        Grantee::Professional(u) | Grantee::Carer(u) => {
            json!({"identifier": {"system": "urn:ietf:rfc:3986", "value": format!("urn:uuid:{}", u.0)}, "display": c.grantee_name})
        }
        Grantee::Organisation(o) => {
            json!({"identifier": {"system": "urn:ietf:rfc:3986", "value": format!("urn:uuid:{}", o.0)}, "display": c.grantee_name})
        }
    };
    let status = if c.consent.revoked.is_some() {
        "inactive"
    } else {
        "active"
    };
    let mut period = json!({"start": instant(c.consent.starts)});
    if let Some(end) = c.consent.ends.or(c.consent.revoked) {
        period["end"] = json!(instant(end));
    }
    let actions: Vec<Value> = std::iter::once("access")
        .chain(c.consent.write.then_some("correct"))
        .map(|a| json!({"coding": [{"system": "http://terminology.hl7.org/CodeSystem/consentaction", "code": a}]}))
        .collect();
    json!({
        "resourceType": "Consent",
        "id": c.consent.id.to_string(),
        "status": status,
        "scope": {"coding": [{"system": "http://terminology.hl7.org/CodeSystem/consentscope", "code": "patient-privacy"}]},
        "category": [{"coding": [{"system": "http://loinc.org", "code": "59284-0", "display": "Patient Consent"}]}],
        "patient": {"reference": patient},
        "provision": {
            "type": "permit",
            "period": period,
            "actor": [{"role": {"coding": [{"system": "http://terminology.hl7.org/CodeSystem/v3-ParticipationType", "code": "IRCP"}]}, "reference": who}],
            "action": actions,
            "securityLabel": c.consent.labels.iter().map(|l| json!({"system": "https://carepact.example/fhir/CodeSystem/sensitivity", "code": l.code()})).collect::<Vec<_>>(),
            "class": c.consent.sections.iter().map(|s| json!({"system": "https://carepact.example/fhir/CodeSystem/section", "code": s.code()})).collect::<Vec<_>>(),
        }
    })
}

/// The whole export as one FHIR R4 Bundle (type collection).
/// The plan and its goals, the care team and the messages, as FHIR.
fn care_entries(all: &Everything, patient_ref: &str) -> Vec<Value> {
    let name = all.person.full_name();
    let care = Care {
        person: all.person.id,
        person_name: Some(&name),
        plan: all.plan.as_ref(),
        team: &all.team,
        threads: &all.threads,
    };
    care_resources(&care, patient_ref).into_iter().map(entry).collect()
}

/// The person's care plan, team and messages, for [`care_resources`].
pub(crate) struct Care<'a> {
    pub person: PersonId,
    pub person_name: Option<&'a str>,
    pub plan: Option<&'a carepact_store::care_plan::Plan>,
    pub team: &'a [carepact_store::care_team::Member],
    pub threads: &'a [(
        carepact_store::messages::ThreadRow,
        Vec<carepact_store::messages::MessageRow>,
    )],
}

/// The plan and its goals, the care team and the messages, as FHIR resources (for the export and the bulk export).
pub(crate) fn care_resources(all: &Care<'_>, patient_ref: &str) -> Vec<Value> {
    use carepact_fhir::{care_plan, messaging};
    let mut out = Vec::new();
    if let Some(plan) = all.plan {
        let meta = care_plan::PlanMeta {
            plan_id: plan.id,
            version: plan.latest.number,
            patient_ref,
            updated: plan.latest.created_at.0,
            agreement: plan.agreement,
            author_display: plan.latest.author_name.as_deref(),
        };
        out.push(care_plan::care_plan(&plan.latest.doc, &meta));
        let latest_rating = |goal: Uuid| {
            plan.progress
                .iter()
                .find(|p| p.goal == goal && p.attainment.is_some())
                .and_then(|p| p.attainment)
        };
        out.extend(care_plan::goals(&plan.latest.doc, patient_ref, &latest_rating));
    }
    let members: Vec<messaging::TeamMember> = all
        .team
        .iter()
        .filter(|m| m.status == "active")
        .map(|m| messaging::TeamMember {
            id: m.id,
            practitioner_name: &m.name,
            practitioner_id: m.user_id,
            role_text: &m.role_text,
            organisation_name: m.organisation.as_deref(),
            organisation_id: None,
            named_contact: m.is_named_contact,
        })
        .collect();
    if !members.is_empty() {
        // The team has no id of its own: one is derived from the person's, distinct from their Patient's.
        let team_id = Uuid::from_u128(all.person.0.as_u128() ^ 0x7ea);
        out.push(messaging::care_team(team_id, patient_ref, all.person_name, &members));
    }
    for (thread, messages) in all.threads {
        let mut previous = None;
        for m in messages.iter().filter(|m| m.author_role != "system") {
            let from_person = matches!(m.author_role.as_str(), "person" | "carer");
            let message = messaging::Message {
                id: m.id,
                thread_id: thread.id,
                subject_text: &thread.subject,
                body: &m.body,
                sent: m.created_at.0,
                sender_ref: if from_person { patient_ref } else { "" },
                sender_name: m.author_name.as_deref(),
                recipient_ref: if from_person { "" } else { patient_ref },
                recipient_name: if from_person {
                    Some(thread.assigned_name.as_str())
                } else {
                    None
                },
                in_reply_to: previous,
            };
            out.push(messaging::communication(patient_ref, &message));
            previous = Some(m.id);
        }
    }
    out
}

/// One reading as a FHIR Observation (for the export and the FHIR API).
pub(crate) fn reading_resource(r: &carepact_store::readings::Reading, patient_ref: &str) -> Value {
    let mut v = observation::observation(&observation::ObservationInput {
        id: r.id,
        patient_ref,
        measure: r.measure,
        taken: r.taken_at.0,
        recorded: r.recorded_at.0,
        values: &r.values,
        note: r.note.as_deref(),
        performer_display: r.entered_by.as_deref(),
        device: r.device.as_deref(),
    });
    v["meta"] = json!({"versionId": r.version.to_string(), "lastUpdated": instant(r.recorded_at.0)});
    if r.version > 1 {
        v["status"] = json!("corrected");
    }
    v
}

/// The readings as Observations and the questionnaire responses as QuestionnaireResponses.
fn self_report_entries(all: &Everything, patient_ref: &str) -> Vec<Value> {
    let readings = all.readings.iter().map(|r| reading_resource(r, patient_ref));
    let responses = all
        .responses
        .iter()
        .map(|(r, q, answers)| response_resource(r, q, answers, patient_ref));
    readings.chain(responses).map(entry).collect()
}

/// One questionnaire response as a FHIR QuestionnaireResponse (for the export and the bulk export).
pub(crate) fn response_resource(r: &StoredResponse, q: &Questionnaire, answers: &Answers, patient_ref: &str) -> Value {
    let meta = questionnaire::ResponseMeta {
        id: r.id,
        patient_ref,
        authored: r.authored_at.0,
        // The person's own answers need no author; someone else's (a carer, a professional) are named.
        author_display: if r.source == "person" {
            None
        } else {
            r.entered_by.as_deref()
        },
    };
    questionnaire::response(q, answers, &meta)
}

fn bundle(all: &Everything, now: time::OffsetDateTime) -> Value {
    let patient_ref = format!("urn:uuid:{}", all.person.id.0);
    let mut entries = vec![entry(patient(&all.person))];
    for (_, json) in &all.items {
        entries.push(json!({"resource": serde_json::from_str::<Value>(json).unwrap_or(Value::Null)}));
    }
    for (item, note) in &all.notes {
        entries.push(entry(json!({
            "resourceType": "Basic",
            "id": note.id.to_string(),
            "code": {"text": "A note by the person on an item of their record"},
            "subject": {"reference": patient_ref},
            "created": note.created_at.0.date().to_string(),
            "author": {"display": note.author_name},
            "extension": [
                {"url": "https://carepact.example/fhir/StructureDefinition/note-text", "valueString": note.body},
                {"url": "https://carepact.example/fhir/StructureDefinition/note-about", "valueString": format!("record-item:{item}")}
            ]
        })));
    }
    for c in &all.corrections {
        entries.push(entry(json!({
            "resourceType": "Task",
            "id": c.id.to_string(),
            "status": if c.status == "open" { "requested" } else { "completed" },
            "intent": "proposal",
            "code": {"coding": [{"system": "http://hl7.org/fhir/CodeSystem/task-code", "code": "change", "display": "Change the focal resource"}]},
            "description": c.body,
            "for": {"reference": patient_ref},
            "authoredOn": instant(c.created_at.0),
            "owner": {"display": c.organisation_name.clone().unwrap_or_default()},
            "note": c.response.as_ref().map(|r| vec![json!({"text": r})]).unwrap_or_default(),
        })));
    }
    for c in &all.consents {
        entries.push(entry(consent_resource(c, &patient_ref)));
    }
    for e in &all.events {
        entries.push(entry(audit_event::to_fhir(e, Some(&patient_ref))));
    }
    entries.extend(care_entries(all, &patient_ref));
    entries.extend(self_report_entries(all, &patient_ref));
    json!({
        "resourceType": "Bundle",
        "id": Uuid::now_v7().to_string(),
        "meta": {"lastUpdated": instant(now)},
        "type": "collection",
        "timestamp": instant(now),
        "total": entries.len(),
        "entry": entries,
    })
}

/// Everything, as a FHIR R4 Bundle to download.
pub async fn fhir(
    State(state): State<AppState>,
    session: Session,
    Path(id): Path<String>,
) -> Result<Response, AppError> {
    let all = gather(&state, &session, &id).await?;
    let now = state.now();
    let body = serde_json::to_vec_pretty(&bundle(&all, now)).map_err(|e| AppError::Internal(e.into()))?;
    Ok((
        [
            (header::CONTENT_TYPE, "application/fhir+json".to_owned()),
            (
                header::CONTENT_DISPOSITION,
                format!("attachment; filename=\"carepact-record-{}.json\"", now.date()),
            ),
        ],
        body,
    )
        .into_response())
}

struct Group {
    kind: String,
    items: Vec<ItemView>,
}

#[derive(Template)]
#[template(path = "record_export.html")]
struct PrintPage<'a> {
    c: Chrome<'a>,
    base: String,
    person: Person,
    groups: Vec<Group>,
    notes: Vec<(String, String, String)>,
    corrections: Vec<(String, String, String, String)>,
    consents: Vec<(String, String)>,
    accesses: usize,
    /// How many readings there are of each measure recorded, in catalogue order.
    readings: Vec<(String, usize)>,
    reading_count: usize,
    /// How many responses there are to each questionnaire, by title.
    responses: Vec<(String, usize)>,
    response_count: usize,
}

/// Everything, as a page to read or print.
pub async fn printable(
    State(state): State<AppState>,
    session: Session,
    Path(id): Path<String>,
) -> Result<Response, AppError> {
    let all = gather(&state, &session, &id).await?;
    let base = format!("/records/{id}");
    let c = Chrome::new(&session)
        .await?
        .link(&base, all.person.full_name())
        .crumb(&format!("{base}/export"), "export-title");
    let mut groups: Vec<Group> = Vec::new();
    for kind in carepact_fhir::Kind::ALL {
        let items: Vec<ItemView> = all
            .items
            .iter()
            .filter(|(r, _)| r.kind == kind.code())
            .map(|(r, _)| view(&c, r))
            .collect();
        if !items.is_empty() {
            groups.push(Group {
                kind: c.t(&format!("kind-{}", kind.code())),
                items,
            });
        }
    }
    let titles: std::collections::HashMap<Uuid, &str> =
        all.items.iter().map(|(r, _)| (r.id, r.title.as_str())).collect();
    let notes = all
        .notes
        .iter()
        .map(|(item, n)| {
            (
                titles.get(item).copied().unwrap_or("").to_owned(),
                c.date(&n.created_at.0.date()),
                n.body.clone(),
            )
        })
        .collect();
    let corrections = all
        .corrections
        .iter()
        .map(|r| {
            (
                r.item_title.clone().unwrap_or_default(),
                c.date(&r.created_at.0.date()),
                r.body.clone(),
                c.t(&format!("correction-status-{}", r.status)),
            )
        })
        .collect();
    let consents = all
        .consents
        .iter()
        .map(|v| {
            let status = if v.consent.revoked.is_some() {
                c.t("export-consent-stopped")
            } else {
                c.t("export-consent-active")
            };
            (v.grantee_name.clone(), status)
        })
        .collect();
    let readings = Measure::ALL
        .into_iter()
        .map(|m| (m, all.readings.iter().filter(|r| r.measure == m).count()))
        .filter(|(_, n)| *n > 0)
        .map(|(m, n)| (c.t(&format!("measure-{}", m.code())), n))
        .collect();
    let mut by_title: std::collections::BTreeMap<&str, usize> = std::collections::BTreeMap::new();
    for (r, _, _) in &all.responses {
        *by_title.entry(r.title.as_str()).or_default() += 1;
    }
    let responses = by_title.into_iter().map(|(t, n)| (t.to_owned(), n)).collect();
    let page = PrintPage {
        readings,
        reading_count: all.readings.len(),
        responses,
        response_count: all.responses.len(),
        base,
        person: all.person,
        groups,
        notes,
        corrections,
        consents,
        accesses: all.events.len(),
        c,
    };
    Ok(render(&page)?.into_response())
}
