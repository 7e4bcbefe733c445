//! Questionnaire pages: what the person has been asked to fill in and their results over time (charted, and
//! explained in plain words), a form drawn from any FHIR Questionnaire definition, a result page, a professional
//! asking the person to fill one in (once or on a schedule), and an organisation loading its own definitions.
//!
//! Every page about a person asks the choke point for the questionnaires section. A PHQ-9 answered with any
//! thoughts of self-harm (item 9 above 0) shows safety-netting advice at once and raises an urgent alert to the
//! named contact in the same transaction as the answers are stored.

use std::collections::BTreeMap;

use askama::Template;
use axum::extract::{Path, Query, State};
use axum::response::{IntoResponse, Redirect, Response};
use carepact_domain::consent::{Action, Section};
use carepact_domain::identity::{OrganisationId, PersonId, Role};
use carepact_domain::questionnaire::{self as q, AnswerValue, Answers, Instrument, ItemKind, Questionnaire};
use carepact_store::access::Grant;
use carepact_store::questionnaires::{self as store, Definition, NewResponse};
use carepact_store::users::User;
use serde::Deserialize;
use time::{Duration, OffsetDateTime};
use uuid::Uuid;

use crate::chart;
use crate::errors::AppError;
use crate::forms::{Errors, Fields};
use crate::i18n::Tr;
use crate::pages::layout::{Chrome, render, require_role};
use crate::pages::{person_chrome, person_id, person_name};
use crate::session::Session;
use crate::state::AppState;

async fn grant(
    state: &AppState,
    user: &User,
    person: PersonId,
    action: Action,
    entity: &str,
) -> Result<Grant, AppError> {
    crate::pages::section_grant(state, user, person, Section::Questionnaires, action, entity).await
}

/// Stores the built-in instruments' definitions that are not stored yet. Run at start.
pub async fn ensure_builtin(state: &AppState) -> anyhow::Result<usize> {
    Ok(store::ensure_builtin(&state.db, state.now()).await?)
}

/// A stored definition read back into the model; a definition that no longer parses is "not found".
fn model(def: &Definition) -> Result<Questionnaire, AppError> {
    let json: serde_json::Value = serde_json::from_str(&def.definition).map_err(|_| AppError::NotFound)?;
    carepact_fhir::questionnaire::parse(&json).map_err(|_| AppError::NotFound)
}

/// A score (tenths) in words: "12", "6.5".
fn tenths(v: i64) -> String {
    if v % 10 == 0 {
        (v / 10).to_string()
    } else {
        format!("{}.{}", v / 10, (v % 10).abs())
    }
}

/// The score of a response, part by part, in words: "Total: 12 out of 27 (moderate)".
fn score_lines(tr: Tr<'_>, instrument: Option<Instrument>, answers: &Answers) -> Vec<String> {
    let Some(score) = instrument.and_then(|i| i.score(answers)) else {
        return Vec::new();
    };
    score
        .parts
        .iter()
        .map(|p| {
            let mut text = tr.t_with(
                "questionnaire-score-part",
                &[
                    ("part", tr.t(&format!("questionnaire-part-{}", p.key)).as_str()),
                    ("value", tenths(p.value_tenths).as_str()),
                    ("max", tenths(p.max_tenths).as_str()),
                ],
            );
            if let Some(band) = p.band {
                text = format!("{text} ({})", tr.t(band));
            }
            text
        })
        .collect()
}

// ---- the person's questionnaires ----

struct DueView {
    href: String,
    title: String,
    due: String,
    every: String,
    by: String,
    end_action: Option<String>,
}

struct ResultView {
    href: String,
    title: String,
    when: String,
    score: String,
    urgent: bool,
}

struct ChartView {
    title: String,
    svg: String,
    summary: String,
}

#[derive(Template)]
#[template(path = "questionnaires.html")]
struct ListPage<'a> {
    c: Chrome<'a>,
    base: String,
    name: String,
    own: bool,
    can_write: bool,
    staff: bool,
    due: Vec<DueView>,
    available: Vec<(Uuid, String)>,
    results: Vec<ResultView>,
    charts: Vec<ChartView>,
    form: Fields,
    errors: Errors,
}

pub async fn list(
    State(state): State<AppState>,
    session: Session,
    Path(id): Path<String>,
) -> Result<Response, AppError> {
    let user = session.require_user()?.clone();
    let grant = grant(&state, &user, person_id(&id)?, Action::Read, "questionnaires").await?;
    list_page(
        &state,
        &session,
        &user,
        &id,
        &grant,
        Fields::default(),
        Errors::default(),
    )
    .await
}

async fn list_page(
    state: &AppState,
    session: &Session,
    user: &User,
    id: &str,
    grant: &Grant,
    form: Fields,
    errors: Errors,
) -> Result<Response, AppError> {
    let due = store::assignments(&state.db, grant)
        .await?
        .map_err(|_| AppError::NotFound)?;
    let responses = store::responses(&state.db, grant, None, 500)
        .await?
        .map_err(|_| AppError::NotFound)?;
    let staff = user.has_role(Role::Professional);
    let available = if grant.is_owner() || staff {
        store::available(&state.db, user.organisation_id.filter(|_| staff)).await?
    } else {
        Vec::new()
    };
    let name = person_name(state, grant).await?;
    let (c, base) = person_chrome(state, session, grant, id).await?;
    let c = c
        .crumb(&format!("{base}/questionnaires"), "questionnaires-title")
        .with_errors(&errors);
    let now = state.now();
    let due = due
        .iter()
        .map(|a| DueView {
            href: format!(
                "{base}/questionnaires/{}/answer?assignment={}",
                a.questionnaire_id, a.id
            ),
            title: a.title.clone(),
            due: if a.next_due.0 <= now {
                c.t("questionnaires-due-now")
            } else {
                c.t_with(
                    "questionnaires-due-on",
                    &[("date", c.date(&a.next_due.0.date()).as_str())],
                )
            },
            every: a
                .every_days
                .map(|d| c.t_with("questionnaires-every", &[("days", d.to_string().as_str())]))
                .unwrap_or_else(|| c.t("questionnaires-once")),
            by: a
                .assigned_by
                .as_deref()
                .map(|n| c.t_with("questionnaires-asked-by", &[("name", n)]))
                .unwrap_or_default(),
            end_action: (grant.may_write() && staff && !grant.is_owner())
                .then(|| format!("{base}/questionnaires/assignments/{}/end", a.id)),
        })
        .collect();
    let results = responses
        .iter()
        .take(50)
        .map(|r| {
            let answers: Answers = serde_json::from_str(&r.answers).unwrap_or_default();
            let instrument = r.instrument.as_deref().and_then(Instrument::from_code);
            ResultView {
                href: format!("{base}/questionnaires/responses/{}", r.id),
                title: r.title.clone(),
                when: c.when(r.authored_at.0),
                score: score_lines(c.tr, instrument, &answers).join("; "),
                urgent: r.urgent,
            }
        })
        .collect();
    let charts = charts(&c, &responses, now);
    let page = ListPage {
        name,
        own: grant.is_owner(),
        can_write: grant.may_write(),
        staff,
        due,
        available: available.iter().map(|d| (d.id, d.title.clone())).collect(),
        results,
        charts,
        form,
        errors,
        base,
        c,
    };
    let status = page.errors.status();
    Ok((status, render(&page)?).into_response())
}

/// One chart per instrument answered, over the last year: the headline score, or ONS4's four parts.
fn charts(c: &Chrome<'_>, responses: &[store::Response], now: OffsetDateTime) -> Vec<ChartView> {
    let from = now - Duration::days(365);
    let mut by_instrument: BTreeMap<Instrument, Vec<(OffsetDateTime, Answers)>> = BTreeMap::new();
    for r in responses.iter().filter(|r| r.authored_at.0 >= from) {
        if let Some(i) = r.instrument.as_deref().and_then(Instrument::from_code) {
            let answers: Answers = serde_json::from_str(&r.answers).unwrap_or_default();
            by_instrument.entry(i).or_default().push((r.authored_at.0, answers));
        }
    }
    by_instrument
        .into_iter()
        .map(|(instrument, mut answered)| {
            answered.sort_by_key(|(at, _)| *at);
            let scores: Vec<(OffsetDateTime, q::Score)> = answered
                .iter()
                .filter_map(|(at, a)| instrument.score(a).map(|s| (*at, s)))
                .collect();
            let keys: Vec<&'static str> = match instrument {
                Instrument::Ons4 => vec!["life-satisfaction", "worthwhile", "happiness", "anxiety"],
                _ => scores
                    .iter()
                    .find_map(|(_, s)| s.headline.as_ref().map(|h| h.key))
                    .into_iter()
                    .collect(),
            };
            let points: Vec<Vec<chart::Point>> = keys
                .iter()
                .map(|k| {
                    scores
                        .iter()
                        .filter_map(|(at, s)| {
                            s.part(k).map(|p| chart::Point {
                                at: *at,
                                value: p.value_tenths as f64 / 10.0,
                            })
                        })
                        .collect()
                })
                .collect();
            let labels: Vec<String> = keys.iter().map(|k| c.t(&format!("questionnaire-part-{k}"))).collect();
            let max = scores
                .iter()
                .find_map(|(_, s)| s.parts.first().map(|p| p.max_tenths as f64 / 10.0))
                .unwrap_or(10.0);
            let series = points
                .iter()
                .zip(labels.iter())
                .enumerate()
                .map(|(i, (p, l))| chart::Series {
                    label: l.as_str(),
                    points: p.as_slice(),
                    marker: chart::Marker::for_index(i),
                })
                .collect();
            let title = c.t(&format!("questionnaire-name-{}", instrument.code()));
            let summary = match scores.last() {
                Some((at, s)) => c.t_with(
                    "questionnaires-chart-summary",
                    &[
                        ("count", scores.len().to_string().as_str()),
                        ("when", c.date(&at.date()).as_str()),
                        (
                            "latest",
                            s.parts
                                .iter()
                                .map(|p| {
                                    format!(
                                        "{} {}",
                                        c.t(&format!("questionnaire-part-{}", p.key)),
                                        tenths(p.value_tenths)
                                    )
                                })
                                .collect::<Vec<_>>()
                                .join(", ")
                                .as_str(),
                        ),
                    ],
                ),
                None => c.t("questionnaires-chart-none"),
            };
            let x_label =
                |d: time::Date| format!("{} {}", d.day(), c.t(&format!("month-short-{}", u8::from(d.month()))));
            let chart = chart::Chart {
                id: &format!("chart-{}", instrument.code()),
                title: &title,
                description: &summary,
                unit: "",
                from,
                to: now,
                series,
                band: None,
                band_label: "",
                lines: Vec::new(),
                y_min: Some(0.0),
                y_max: Some(max),
                decimals: u8::from(instrument == Instrument::Semcd6),
                x_label: &x_label,
            };
            ChartView {
                svg: chart::render(&chart),
                title,
                summary,
            }
        })
        .collect()
}

// ---- answering ----

struct OptionView {
    value: String,
    label: String,
    checked: bool,
}

struct ItemView {
    link_id: String,
    text: String,
    /// "display", "radios", "text", "textarea"
    kind: &'static str,
    options: Vec<OptionView>,
    value: String,
    required: bool,
    conditional: bool,
    inline: bool,
}

#[derive(Template)]
#[template(path = "questionnaire_form.html")]
struct AnswerPage<'a> {
    c: Chrome<'a>,
    base: String,
    action: String,
    title: String,
    description: String,
    items: Vec<ItemView>,
    errors: Errors,
}

#[derive(Debug, Deserialize)]
pub struct AssignmentQuery {
    #[serde(default)]
    assignment: Option<String>,
}

fn item_views(c: &Chrome<'_>, qn: &Questionnaire, form: &Fields) -> Vec<ItemView> {
    qn.items
        .iter()
        .map(|item| {
            let value = form.get(&item.link_id).to_owned();
            let option = |v: String, label: String| OptionView {
                checked: v == value,
                value: v,
                label,
            };
            let (kind, options, inline) = match &item.kind {
                ItemKind::Display => ("display", Vec::new(), false),
                ItemKind::Choice { options } => (
                    "radios",
                    options
                        .iter()
                        .map(|o| option(o.code.clone(), o.display.clone()))
                        .collect(),
                    false,
                ),
                ItemKind::Integer {
                    min: Some(lo),
                    max: Some(hi),
                } if hi - lo <= 10 && hi >= lo => (
                    "radios",
                    (*lo..=*hi).map(|n| option(n.to_string(), n.to_string())).collect(),
                    true,
                ),
                ItemKind::Boolean => (
                    "radios",
                    vec![
                        option("true".into(), c.t("questionnaire-yes")),
                        option("false".into(), c.t("questionnaire-no")),
                    ],
                    true,
                ),
                ItemKind::String => ("textarea", Vec::new(), false),
                ItemKind::Integer { .. } | ItemKind::Decimal { .. } => ("text", Vec::new(), false),
            };
            ItemView {
                link_id: item.link_id.clone(),
                text: item.text.clone(),
                kind,
                options,
                value,
                required: item.required,
                conditional: !item.enable_when.is_empty(),
                inline,
            }
        })
        .collect()
}

async fn definition_for(state: &AppState, user: &User, grant: &Grant, qid: &str) -> Result<Definition, AppError> {
    let qid = Uuid::parse_str(qid).map_err(|_| AppError::NotFound)?;
    let def = store::definition(&state.db, qid).await?.ok_or(AppError::NotFound)?;
    // An organisation's own questionnaire is answered only when that organisation asked for it, or by its staff.
    if let Some(org) = def.organisation_id {
        let assigned = store::assignments(&state.db, grant)
            .await?
            .map_err(|_| AppError::NotFound)?
            .iter()
            .any(|a| a.questionnaire_id == def.id);
        if !assigned && user.organisation_id != Some(OrganisationId(org)) {
            return Err(AppError::NotFound);
        }
    }
    Ok(def)
}

#[allow(clippy::too_many_arguments)]
async fn answer_page(
    state: &AppState,
    session: &Session,
    id: &str,
    grant: &Grant,
    def: &Definition,
    assignment: Option<Uuid>,
    form: &Fields,
    errors: Errors,
) -> Result<Response, AppError> {
    let qn = model(def)?;
    let (c, base) = person_chrome(state, session, grant, id).await?;
    let mut action = format!("{base}/questionnaires/{}/answer", def.id);
    if let Some(a) = assignment {
        action = format!("{action}?assignment={a}");
    }
    let c = c
        .crumb(&format!("{base}/questionnaires"), "questionnaires-title")
        .link(&action, qn.title.clone())
        .with_errors(&errors);
    let items = item_views(&c, &qn, form);
    let status = errors.status();
    let page = AnswerPage {
        title: qn.title.clone(),
        description: qn.description.clone(),
        items,
        errors,
        action,
        base,
        c,
    };
    Ok((status, render(&page)?).into_response())
}

fn assignment_of(q: &AssignmentQuery) -> Option<Uuid> {
    q.assignment.as_deref().and_then(|a| Uuid::parse_str(a).ok())
}

pub async fn answer_form(
    State(state): State<AppState>,
    session: Session,
    Path((id, qid)): Path<(String, String)>,
    Query(query): Query<AssignmentQuery>,
) -> Result<Response, AppError> {
    let user = session.require_user()?.clone();
    let grant = grant(&state, &user, person_id(&id)?, Action::Write, "questionnaire-answer").await?;
    let def = definition_for(&state, &user, &grant, &qid).await?;
    answer_page(
        &state,
        &session,
        &id,
        &grant,
        &def,
        assignment_of(&query),
        &Fields::default(),
        Errors::default(),
    )
    .await
}

/// The form's fields by link id.
fn form_map(qn: &Questionnaire, form: &Fields) -> BTreeMap<String, String> {
    qn.items
        .iter()
        .map(|i| (i.link_id.clone(), form.get(&i.link_id).to_owned()))
        .collect()
}

pub async fn answer(
    State(state): State<AppState>,
    session: Session,
    Path((id, qid)): Path<(String, String)>,
    Query(query): Query<AssignmentQuery>,
    form: Fields,
) -> Result<Response, AppError> {
    let user = session.require_user()?.clone();
    let person = person_id(&id)?;
    let grant = grant(&state, &user, person, Action::Write, "questionnaire-answer").await?;
    let def = definition_for(&state, &user, &grant, &qid).await?;
    let qn = model(&def)?;
    let tr = session.tr();
    let assignment = assignment_of(&query);
    let answers = match q::read_form(&qn, &form_map(&qn, &form)) {
        Ok(a) => a,
        Err(problems) => {
            let mut errors = Errors::default();
            for p in problems {
                let text = match p.problem.limit() {
                    Some(limit) => tr.t_with(p.problem.message_id(), &[("limit", limit)]),
                    None => tr.t(p.problem.message_id()),
                };
                errors.add_text(&p.link_id, text);
            }
            return answer_page(&state, &session, &id, &grant, &def, assignment, &form, errors).await;
        }
    };
    let score = qn.instrument.and_then(|i| i.score(&answers));
    let answers_json = serde_json::to_string(&answers).map_err(|e| AppError::Internal(e.into()))?;
    let score_json = score
        .as_ref()
        .map(serde_json::to_string)
        .transpose()
        .map_err(|e| AppError::Internal(e.into()))?;
    let urgent = score.as_ref().is_some_and(|s| s.urgent);
    let mail = crate::pages::readings::alert_mail(&state, tr, person);
    let instrument = qn.instrument.map(Instrument::code).unwrap_or_default();
    let new = NewResponse {
        questionnaire: def.id,
        assignment,
        authored_at: state.now(),
        source: crate::pages::readings::source_for(&grant, &user),
        answers: &answers_json,
        score: score_json.as_deref(),
        headline: score.as_ref().and_then(|s| s.headline.as_ref()).map(|h| h.value_tenths),
        urgent: urgent.then_some((instrument, &mail)),
    };
    let (response, _) = store::respond(&state.db, &grant, &new, state.now())
        .await?
        .map_err(|_| AppError::NotFound)?;
    session.set_flash("flash-done-questionnaire-saved").await?;
    Ok(Redirect::to(&format!("/records/{id}/questionnaires/responses/{response}")).into_response())
}

// ---- one response ----

#[derive(Template)]
#[template(path = "questionnaire_result.html")]
struct ResultPage<'a> {
    c: Chrome<'a>,
    base: String,
    title: String,
    when: String,
    by: String,
    own: bool,
    urgent: bool,
    scores: Vec<String>,
    explain: String,
    /// (question, answer)
    answers: Vec<(String, String)>,
}

/// An answer in words: the option's label, or the value.
fn answer_words(c: &Chrome<'_>, qn: &Questionnaire, link_id: &str, value: &AnswerValue) -> String {
    match (qn.item(link_id).map(|i| &i.kind), value) {
        (Some(ItemKind::Choice { options }), AnswerValue::Code(code)) => options
            .iter()
            .find(|o| &o.code == code)
            .map_or_else(|| code.clone(), |o| o.display.clone()),
        (_, AnswerValue::Code(s) | AnswerValue::String(s)) => s.clone(),
        (_, AnswerValue::Integer(n)) => n.to_string(),
        (_, AnswerValue::Decimal(x)) => x.to_string(),
        (_, AnswerValue::Boolean(b)) => c.t(if *b { "questionnaire-yes" } else { "questionnaire-no" }),
    }
}

pub async fn result(
    State(state): State<AppState>,
    session: Session,
    Path((id, rid)): Path<(String, String)>,
) -> Result<Response, AppError> {
    let rid = Uuid::parse_str(&rid).map_err(|_| AppError::NotFound)?;
    let user = session.require_user()?.clone();
    let grant = grant(&state, &user, person_id(&id)?, Action::Read, "questionnaire-response").await?;
    let r = store::response(&state.db, &grant, rid)
        .await?
        .map_err(|_| AppError::NotFound)?
        .ok_or(AppError::NotFound)?;
    let def = store::definition(&state.db, r.questionnaire_id)
        .await?
        .ok_or(AppError::NotFound)?;
    let qn = model(&def)?;
    let answers: Answers = serde_json::from_str(&r.answers).unwrap_or_default();
    let (c, base) = person_chrome(&state, &session, &grant, &id).await?;
    let c = c
        .crumb(&format!("{base}/questionnaires"), "questionnaires-title")
        .crumb(
            &format!("{base}/questionnaires/responses/{rid}"),
            "questionnaire-result-title",
        );
    let instrument = qn.instrument;
    let scores = score_lines(c.tr, instrument, &answers);
    let explain = instrument
        .map(|i| c.t(&format!("questionnaire-explain-{}", i.code())))
        .unwrap_or_default();
    let shown = qn
        .items
        .iter()
        .filter_map(|item| {
            let a = answers.get(&item.link_id)?;
            Some((item.text.clone(), answer_words(&c, &qn, &item.link_id, a)))
        })
        .collect();
    Ok(render(&ResultPage {
        title: qn.title.clone(),
        when: c.when(r.authored_at.0),
        by: r.entered_by.clone().unwrap_or_default(),
        own: grant.is_owner(),
        urgent: r.urgent,
        scores,
        explain,
        answers: shown,
        base,
        c,
    })?
    .into_response())
}

// ---- asking the person to fill one in ----

pub async fn assign(
    State(state): State<AppState>,
    session: Session,
    Path(id): Path<String>,
    form: Fields,
) -> Result<Response, AppError> {
    let user = require_role(&session, &[Role::Professional])?;
    let grant = grant(&state, &user, person_id(&id)?, Action::Write, "questionnaire-assign").await?;
    let tr = session.tr();
    let mut errors = Errors::default();
    let available = store::available(&state.db, user.organisation_id).await?;
    let chosen = Uuid::parse_str(form.get("questionnaire"))
        .ok()
        .filter(|q| available.iter().any(|d| d.id == *q));
    if chosen.is_none() {
        errors.add(tr, "questionnaire", "error-questionnaire-choose");
    }
    let every = match form.get("every") {
        "" | "once" => None,
        weeks => match weeks.parse::<i64>() {
            Ok(w) if (1..=52).contains(&w) => Some(w * 7),
            _ => {
                errors.add(tr, "every", "error-questionnaire-every");
                None
            }
        },
    };
    let Some(questionnaire) = chosen.filter(|_| errors.is_empty()) else {
        return list_page(&state, &session, &user, &id, &grant, form, errors).await;
    };
    let now = state.now();
    store::assign(&state.db, &grant, questionnaire, every, now, now)
        .await?
        .map_err(|_| AppError::NotFound)?;
    session.set_flash("flash-done-questionnaire-assigned").await?;
    Ok(Redirect::to(&format!("/records/{id}/questionnaires")).into_response())
}

pub async fn end_assignment(
    State(state): State<AppState>,
    session: Session,
    Path((id, aid)): Path<(String, String)>,
) -> Result<Response, AppError> {
    let aid = Uuid::parse_str(&aid).map_err(|_| AppError::NotFound)?;
    let user = require_role(&session, &[Role::Professional])?;
    let grant = grant(&state, &user, person_id(&id)?, Action::Write, "questionnaire-assign").await?;
    store::end_assignment(&state.db, &grant, aid, state.now())
        .await?
        .map_err(|_| AppError::NotFound)?;
    session.set_flash("flash-done-questionnaire-ended").await?;
    Ok(Redirect::to(&format!("/records/{id}/questionnaires")).into_response())
}

/// Reminds people of questionnaires that are due, once per due date. Run by the housekeeping loop; each person is
/// opened through the choke point as the operator.
pub async fn remind_due(state: &AppState) -> anyhow::Result<usize> {
    let now = state.now();
    let tr = crate::access::job_tr(state);
    let mut sent = 0;
    for (assignment, person) in store::reminders_due(&state.db, now, 100).await? {
        let person = PersonId(person);
        let grant = crate::access::job_grant(
            state,
            person,
            Section::Questionnaires,
            Action::Write,
            "questionnaire-reminder",
        );
        let Some(g) = grant.await? else {
            continue;
        };
        let link = format!("/records/{}/questionnaires", person.0);
        let url = format!("{}{link}", state.config.public_url.trim_end_matches('/'));
        let (subject, body) = crate::mail::compose(tr, "email-questionnaire", &url);
        let notice = |_: PersonId, user| carepact_store::messages::Notice {
            user,
            kind: "questionnaire",
            link: link.clone(),
            email_subject: subject.clone(),
            email_body: body.clone(),
        };
        if let Ok(true) = store::remind(&state.db, &g, assignment, &notice, now).await? {
            sent += 1;
        }
    }
    Ok(sent)
}

// ---- an organisation's own questionnaires ----

#[derive(Template)]
#[template(path = "organisation_questionnaires.html")]
struct OrgPage<'a> {
    c: Chrome<'a>,
    action: String,
    own: Vec<(String, String, String)>,
    json: String,
    problems: Vec<(String, String)>,
    errors: Errors,
}

async fn org_admin(session: &Session, org: &str) -> Result<(User, OrganisationId), AppError> {
    let user = require_role(session, &[Role::OrganisationAdmin])?;
    let org = Uuid::parse_str(org).map_err(|_| AppError::NotFound)?;
    if user.organisation_id != Some(OrganisationId(org)) {
        return Err(AppError::NotFound);
    }
    Ok((user, OrganisationId(org)))
}

async fn org_page(
    state: &AppState,
    session: &Session,
    org: OrganisationId,
    json: String,
    problems: Vec<(String, String)>,
    errors: Errors,
) -> Result<Response, AppError> {
    let action = format!("/organisations/{}/questionnaires", org.0);
    let c = Chrome::new(session)
        .await?
        .crumb(&action, "org-questionnaires-title")
        .with_errors(&errors);
    let own = store::available(&state.db, Some(org))
        .await?
        .into_iter()
        .filter(|d| d.organisation_id == Some(org.0))
        .map(|d| (d.title, d.url, d.version))
        .collect();
    let status = errors.status();
    let page = OrgPage {
        c,
        action,
        own,
        json,
        problems,
        errors,
    };
    Ok((status, render(&page)?).into_response())
}

pub async fn organisation(
    State(state): State<AppState>,
    session: Session,
    Path(org): Path<String>,
) -> Result<Response, AppError> {
    let (_, org) = org_admin(&session, &org).await?;
    org_page(&state, &session, org, String::new(), Vec::new(), Errors::default()).await
}

/// Loads an organisation's own Questionnaire (FHIR R4 JSON, pasted). Built-in instruments' URLs are refused: a
/// definition at one of them would be scored as that instrument.
pub async fn load(
    State(state): State<AppState>,
    session: Session,
    Path(org): Path<String>,
    form: Fields,
) -> Result<Response, AppError> {
    let (user, org) = org_admin(&session, &org).await?;
    let tr = session.tr();
    let text = form.get("json").trim().to_owned();
    let mut errors = Errors::default();
    let parsed = match serde_json::from_str::<serde_json::Value>(&text) {
        Ok(json) => Some(carepact_fhir::questionnaire::parse(&json)),
        Err(_) => {
            errors.add(tr, "json", "error-questionnaire-json");
            None
        }
    };
    let problems: Vec<(String, String)> = match &parsed {
        Some(Err(problems)) => problems.iter().map(|p| (p.path.clone(), p.message.clone())).collect(),
        _ => Vec::new(),
    };
    if !problems.is_empty() {
        errors.add(tr, "json", "error-questionnaire-invalid");
    }
    let Some(Ok(qn)) = parsed.filter(|_| errors.is_empty()) else {
        return org_page(&state, &session, org, text, problems, errors).await;
    };
    if qn.instrument.is_some() {
        errors.add(tr, "json", "error-questionnaire-builtin");
        return org_page(&state, &session, org, text, problems, errors).await;
    }
    let version = if qn.version.is_empty() {
        "1"
    } else {
        qn.version.as_str()
    };
    match store::load(&state.db, org, user.id, &qn.url, version, &qn.title, &text, state.now()).await? {
        Some(_) => {
            session.set_flash("flash-done-questionnaire-loaded").await?;
            Ok(Redirect::to(&format!("/organisations/{}/questionnaires", org.0)).into_response())
        }
        None => {
            errors.add(tr, "json", "error-questionnaire-exists");
            org_page(&state, &session, org, text, problems, errors).await
        }
    }
}
