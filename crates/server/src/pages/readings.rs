//! Self-monitoring pages: the person's readings at a glance with any open alerts, a quick entry form per measure
//! (phone-sized, plain HTML), each measure's chart over 7, 30, 90 or 365 days with its data table, an alert with
//! the agreed advice and the readings that caused it, and a professional's list of alerts to act on.
//!
//! Every page asks the choke point for the readings section. Adding a reading checks the agreed alert rules in the
//! same transaction (see `carepact_store::readings::add`): a rule that fires takes the person straight to the
//! advice agreed in their plan.

use std::collections::BTreeMap;

use askama::Template;
use axum::extract::{Path, Query, State};
use axum::response::{IntoResponse, Redirect, Response};
use carepact_domain::consent::{Action, Section};
use carepact_domain::identity::{PersonId, Role};
use carepact_domain::readings::{self as domain, InputUnit, Measure, Milli};
use carepact_store::access::Grant;
use carepact_store::alerts::{self, Alert, Status};
use carepact_store::readings::{self, Added, AlertMail, NewReading, Reading};
use carepact_store::users::User;
use serde::Deserialize;
use time::{Duration, OffsetDateTime};
use uuid::Uuid;

use crate::chart;
use crate::errors::AppError;
use crate::forms::{Errors, Fields};
use crate::i18n::Tr;
use crate::pages::layout::{Chrome, render};
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
    crate::pages::section_grant(state, user, person, Section::Readings, action, entity).await
}

fn measure_of(code: &str) -> Result<Measure, AppError> {
    Measure::from_code(code).ok_or(AppError::NotFound)
}

/// The measure's name in words.
pub(crate) fn measure_name(tr: Tr<'_>, m: Measure) -> String {
    tr.t(&format!("measure-{}", m.code()))
}

/// A reading's values in words: "148/92 mmHg, pulse 71", "7.8 mmol/L", or the note for symptoms.
pub(crate) fn reading_text(tr: Tr<'_>, r: &Reading) -> String {
    let m = r.measure;
    if m == Measure::Symptoms {
        return r.note.clone().unwrap_or_default();
    }
    let v = |key: &str| {
        let c = m.component(key);
        r.value(key)
            .map(|v| v.format(c.map_or(0, |c| c.decimals)))
            .unwrap_or_default()
    };
    if m == Measure::BloodPressure {
        let mut text = format!("{}/{} mmHg", v("systolic"), v("diastolic"));
        if r.value("pulse").is_some() {
            text = format!(
                "{text}, {}",
                tr.t_with("reading-pulse", &[("pulse", v("pulse").as_str())])
            );
        }
        return text;
    }
    let unit = m.main_component().map_or("", |c| c.unit);
    format!("{} {unit}", v("value")).trim().to_owned()
}

/// The emails an alert sends: no clinical detail, a link to look.
pub(crate) fn alert_mail(state: &AppState, tr: Tr<'_>, person: PersonId) -> AlertMail {
    let base = state.config.public_url.trim_end_matches('/');
    let (subject, body_for_person) =
        crate::mail::compose(tr, "email-alert", &format!("{base}/records/{}/readings", person.0));
    let (_, body_for_staff) = crate::mail::compose(tr, "email-alert", &format!("{base}/alerts"));
    AlertMail {
        subject,
        body_for_person,
        body_for_staff,
    }
}

// ---- the person's readings at a glance ----

struct LatestView {
    code: &'static str,
    name: String,
    text: String,
    when: String,
}

struct AlertView {
    id: Uuid,
    what: String,
    advice: String,
    urgent: bool,
    when: String,
    status: String,
    open: bool,
    level: String,
}

fn alert_what(tr: Tr<'_>, a: &Alert) -> String {
    match (&a.instrument, a.measure) {
        (Some(i), _) => tr.t(&format!("questionnaire-name-{i}")),
        (None, Some(m)) => measure_name(tr, m),
        (None, None) => String::new(),
    }
}

fn alert_view(c: &Chrome<'_>, a: &Alert) -> AlertView {
    let advice = if a.instrument.is_some() {
        c.t("alert-advice-questionnaire")
    } else {
        a.advice.clone()
    };
    AlertView {
        id: a.id,
        what: alert_what(c.tr, a),
        advice,
        urgent: a.urgent,
        when: c.when(a.raised_at.0),
        status: match a.status {
            Status::Open => c.t("alert-status-open"),
            Status::Snoozed { until } => c.t_with("alert-status-snoozed", &[("until", c.when(until).as_str())]),
            Status::Acknowledged => c.t("alert-status-acknowledged"),
        },
        open: a.status != Status::Acknowledged,
        level: c.t(&format!("alert-level-{}", a.level.code())),
    }
}

#[derive(Template)]
#[template(path = "readings.html")]
struct OverviewPage<'a> {
    c: Chrome<'a>,
    base: String,
    name: String,
    own: bool,
    can_write: bool,
    latest: Vec<LatestView>,
    alerts: Vec<AlertView>,
    /// How many of the alerts are acknowledged (listed below the readings).
    past: usize,
    /// (code, name) of every measure that can be typed in.
    measures: Vec<(&'static str, String)>,
}

pub async fn overview(
    State(state): State<AppState>,
    session: Session,
    Path(id): Path<String>,
) -> Result<Response, AppError> {
    let user = session.require_user()?.clone();
    let grant = grant(&state, &user, person_id(&id)?, Action::Read, "readings").await?;
    let now = state.now();
    let latest = readings::latest_each(&state.db, &grant)
        .await?
        .map_err(|_| AppError::NotFound)?;
    let alerts = alerts::for_person(&state.db, &grant, 5, now)
        .await?
        .map_err(|_| AppError::NotFound)?;
    let name = person_name(&state, &grant).await?;
    let (c, base) = person_chrome(&state, &session, &grant, &id).await?;
    let c = c.crumb(&format!("{base}/readings"), "readings-title");
    let latest = latest
        .iter()
        .map(|r| LatestView {
            code: r.measure.code(),
            name: measure_name(c.tr, r.measure),
            text: reading_text(c.tr, r),
            when: c.when(r.taken_at.0),
        })
        .collect();
    let alerts: Vec<AlertView> = alerts.iter().map(|a| alert_view(&c, a)).collect();
    let past = alerts.iter().filter(|a| !a.open).count();
    let measures = Measure::ALL
        .into_iter()
        .filter(|m| !m.is_derived())
        .map(|m| (m.code(), measure_name(c.tr, m)))
        .collect();
    Ok(render(&OverviewPage {
        c,
        base,
        name,
        own: grant.is_owner(),
        can_write: grant.may_write(),
        latest,
        alerts,
        past,
        measures,
    })?
    .into_response())
}

// ---- a new reading ----

struct FieldView {
    key: &'static str,
    label: String,
    hint: String,
    value: String,
    width: &'static str,
}

#[derive(Template)]
#[template(path = "reading_new.html")]
struct NewPage<'a> {
    c: Chrome<'a>,
    base: String,
    code: &'static str,
    title: String,
    /// (code, label, chosen) when the measure can be typed in more than one unit.
    units: Vec<(&'static str, String, bool)>,
    fields: Vec<FieldView>,
    /// The stones-and-pounds pair, shown instead when that unit is chosen.
    stones: Option<(String, String)>,
    symptoms: bool,
    note: String,
    when_open: bool,
    form: Fields,
    errors: Errors,
}

fn component_label(tr: Tr<'_>, m: Measure, c: &domain::Component) -> String {
    if m.components().len() == 1 {
        tr.t_with("reading-value-in", &[("unit", c.unit)])
    } else {
        tr.t(&format!("reading-component-{}", c.key))
    }
}

fn new_page(
    session: &Session,
    c: Chrome<'_>,
    base: String,
    m: Measure,
    form: Fields,
    errors: Errors,
) -> Result<Response, AppError> {
    let _ = session;
    let c = c
        .crumb(&format!("{base}/readings"), "readings-title")
        .crumb(&format!("{base}/readings/new/{}", m.code()), "readings-add")
        .with_errors(&errors);
    let unit = InputUnit::from_code(form.get("unit")).unwrap_or(InputUnit::Standard);
    let units: Vec<(&'static str, String, bool)> = if m.input_units().len() > 1 {
        m.input_units()
            .iter()
            .map(|u| (u.code(), c.t(&format!("reading-unit-{}", u.code())), *u == unit))
            .collect()
    } else {
        Vec::new()
    };
    let fields = m
        .components()
        .iter()
        .map(|comp| FieldView {
            key: comp.key,
            label: component_label(c.tr, m, comp),
            hint: if comp.required {
                String::new()
            } else {
                c.t("reading-optional")
            },
            value: form.get(comp.key).to_owned(),
            width: if comp.decimals > 0 {
                "nhsuk-input--width-5"
            } else {
                "nhsuk-input--width-4"
            },
        })
        .collect();
    let stones = (m == Measure::Weight).then(|| (form.get("stones").to_owned(), form.get("pounds").to_owned()));
    let when_open = !form.get("when_day").is_empty() || errors.get("when_day").is_some();
    let status = errors.status();
    let page = NewPage {
        title: measure_name(c.tr, m),
        c,
        base,
        code: m.code(),
        units,
        fields,
        stones,
        symptoms: m == Measure::Symptoms,
        note: form.get("note").to_owned(),
        when_open,
        form,
        errors,
    };
    Ok((status, render(&page)?).into_response())
}

pub async fn new_form(
    State(state): State<AppState>,
    session: Session,
    Path((id, code)): Path<(String, String)>,
) -> Result<Response, AppError> {
    let m = measure_of(&code)
        .ok()
        .filter(|m| !m.is_derived())
        .ok_or(AppError::NotFound)?;
    let user = session.require_user()?.clone();
    let grant = grant(&state, &user, person_id(&id)?, Action::Write, "reading-new").await?;
    let (c, base) = person_chrome(&state, &session, &grant, &id).await?;
    new_page(&session, c, base, m, Fields::default(), Errors::default())
}

/// When the reading was taken: now, unless an earlier date and time (UTC) were given. Never in the future.
fn taken_at(form: &Fields, now: OffsetDateTime, errors: &mut Errors, tr: Tr<'_>) -> OffsetDateTime {
    let (d, mo, y, t) = (
        form.get("when_day").trim(),
        form.get("when_month").trim(),
        form.get("when_year").trim(),
        form.get("when_time").trim(),
    );
    if d.is_empty() && mo.is_empty() && y.is_empty() && t.is_empty() {
        return now;
    }
    let date = (|| {
        let month = time::Month::try_from(mo.parse::<u8>().ok()?).ok()?;
        time::Date::from_calendar_date(y.parse().ok()?, month, d.parse().ok()?).ok()
    })();
    let clock = if t.is_empty() {
        Some(time::Time::MIDNIGHT)
    } else {
        t.split_once(':')
            .and_then(|(h, m)| time::Time::from_hms(h.parse().ok()?, m.parse().ok()?, 0).ok())
    };
    match (date, clock) {
        (Some(date), Some(clock)) => {
            let at = date.with_time(clock).assume_utc();
            if at > now + Duration::minutes(5) {
                errors.add(tr, "when_day", "reading-error-future");
            } else if now - at > Duration::days(3650) {
                errors.add(tr, "when_day", "reading-error-too-old");
            }
            at
        }
        (None, _) => {
            errors.add(tr, "when_day", "reading-error-date");
            now
        }
        (_, None) => {
            errors.add(tr, "when_time", "reading-error-time");
            now
        }
    }
}

/// Where a reading comes from, by who entered it.
pub(crate) fn source_for(grant: &Grant, user: &User) -> &'static str {
    if grant.is_owner() {
        "person"
    } else if user.has_role(Role::Carer) {
        "carer"
    } else {
        "professional"
    }
}

pub async fn add(
    State(state): State<AppState>,
    session: Session,
    Path((id, code)): Path<(String, String)>,
    form: Fields,
) -> Result<Response, AppError> {
    let m = measure_of(&code)
        .ok()
        .filter(|m| !m.is_derived())
        .ok_or(AppError::NotFound)?;
    let user = session.require_user()?.clone();
    let person = person_id(&id)?;
    let grant = grant(&state, &user, person, Action::Write, "reading-new").await?;
    let tr = session.tr();
    let now = state.now();
    let mut errors = Errors::default();
    let unit = InputUnit::from_code(form.get("unit"))
        .filter(|u| m.input_units().contains(u))
        .unwrap_or(InputUnit::Standard);
    let mut raw = BTreeMap::new();
    for key in ["value", "systolic", "diastolic", "pulse", "stones", "pounds"] {
        raw.insert(key.to_owned(), form.get(key).to_owned());
    }
    let note = form.get("note").trim().to_owned();
    let values = match domain::read_entry(m, unit, &raw, &note) {
        Ok(v) => Some(v),
        Err(problems) => {
            for p in problems {
                let text = match &p.problem {
                    domain::EntryProblem::OutOfRange { min, max, unit } => {
                        tr.t_with(p.problem.message_id(), &[("min", min), ("max", max), ("unit", unit)])
                    }
                    other => tr.t(other.message_id()),
                };
                errors.add_text(p.field, text);
            }
            None
        }
    };
    let at = taken_at(&form, now, &mut errors, tr);
    let Some(values) = values.filter(|_| errors.is_empty()) else {
        let (c, base) = person_chrome(&state, &session, &grant, &id).await?;
        return new_page(&session, c, base, m, form, errors);
    };
    let reading = NewReading {
        measure: m,
        taken_at: at,
        values: &values,
        note: Some(note.as_str()).filter(|n| !n.is_empty()),
        source: source_for(&grant, &user),
        device: None,
    };
    let mail = alert_mail(&state, tr, person);
    let added = state
        .readings
        .add(&state.db, &grant, &reading, &mail, now)
        .await?
        .map_err(|_| AppError::NotFound)?;
    let base = format!("/records/{id}");
    match added {
        Added::Duplicate => {
            session.set_flash("flash-reading-duplicate").await?;
            Ok(Redirect::to(&format!("{base}/readings/{}", m.code())).into_response())
        }
        Added::Added { fired, .. } => {
            session.set_flash("flash-done-reading-saved").await?;
            // A rule that fired: straight to the advice agreed for it (the most urgent first).
            let first = fired.iter().max_by_key(|f| (f.rule.urgent, f.rule.tell));
            Ok(match first {
                Some(f) => Redirect::to(&format!("{base}/alerts/{}", f.alert)),
                None => Redirect::to(&format!("{base}/readings/{}", m.code())),
            }
            .into_response())
        }
    }
}

// ---- one measure over time ----

#[derive(Debug, Deserialize)]
pub struct WindowQuery {
    #[serde(default)]
    days: Option<String>,
}

const WINDOWS: [i64; 4] = [7, 30, 90, 365];
/// The most readings drawn on one chart, and listed in its table.
const CHART_LIMIT: i64 = 5000;
const TABLE_LIMIT: usize = 100;

struct RowView {
    when: String,
    text: String,
    note: String,
    source: String,
}

#[derive(Template)]
#[template(path = "reading_measure.html")]
struct MeasurePage<'a> {
    c: Chrome<'a>,
    base: String,
    code: &'static str,
    title: String,
    days: i64,
    windows: Vec<(i64, String, bool)>,
    svg: String,
    summary: String,
    rows: Vec<RowView>,
    more: bool,
    can_write: bool,
    symptoms: bool,
    target: Option<String>,
}

pub async fn measure(
    State(state): State<AppState>,
    session: Session,
    Path((id, code)): Path<(String, String)>,
    Query(q): Query<WindowQuery>,
) -> Result<Response, AppError> {
    let m = measure_of(&code)?;
    let user = session.require_user()?.clone();
    let grant = grant(&state, &user, person_id(&id)?, Action::Read, "readings-measure").await?;
    let days = q
        .days
        .as_deref()
        .and_then(|d| d.parse::<i64>().ok())
        .filter(|d| WINDOWS.contains(d))
        .unwrap_or(30);
    let now = state.now();
    let from = now - Duration::days(days);
    let list = readings::list(&state.db, &grant, Some(m), from, now, CHART_LIMIT)
        .await?
        .map_err(|_| AppError::NotFound)?;
    let (_, rules) = readings::rules(&state.db, &grant)
        .await?
        .map_err(|_| AppError::NotFound)?;
    let targets = plan_targets(&state, &grant).await?;
    let (c, base) = person_chrome(&state, &session, &grant, &id).await?;
    let title = measure_name(c.tr, m);
    let c = c
        .crumb(&format!("{base}/readings"), "readings-title")
        .link(&format!("{base}/readings/{}", m.code()), title.clone());
    let target = targets.iter().find(|t| t.measure == m);
    let (svg, summary) = draw(&c, m, &title, &list, &rules, target, from, now);
    let rows = list
        .iter()
        .take(TABLE_LIMIT)
        .map(|r| RowView {
            when: c.when(r.taken_at.0),
            text: reading_text(c.tr, r),
            note: if m == Measure::Symptoms {
                String::new()
            } else {
                r.note.clone().unwrap_or_default()
            },
            source: c.t(&format!("reading-source-{}", r.source)),
        })
        .collect();
    let windows = WINDOWS
        .iter()
        .map(|d| {
            (
                *d,
                c.t_with("readings-window", &[("days", d.to_string().as_str())]),
                *d == days,
            )
        })
        .collect();
    let target = target.map(|t| target_text(c.tr, t));
    Ok(render(&MeasurePage {
        c,
        base,
        code: m.code(),
        title,
        days,
        windows,
        svg,
        summary,
        more: list.len() > TABLE_LIMIT,
        rows,
        can_write: grant.may_write() && !m.is_derived(),
        symptoms: m == Measure::Symptoms,
        target,
    })?
    .into_response())
}

/// The target ranges in the person's latest plan (read as part of their readings: a target belongs to the measure
/// it is for).
async fn plan_targets(state: &AppState, grant: &Grant) -> Result<Vec<domain::Target>, AppError> {
    readings::targets(&state.db, grant)
        .await?
        .map_err(|_| AppError::NotFound)
}

/// A target range in words: "Systolic between 100 and 135 mmHg".
pub(crate) fn target_text(tr: Tr<'_>, t: &domain::Target) -> String {
    let c = t.measure.component(&t.component);
    let (decimals, unit) = c.map_or((0, ""), |c| (c.decimals, c.unit));
    let f = |v: Milli| v.format(decimals);
    let what = if t.measure.components().len() > 1 {
        tr.t(&format!("reading-component-{}", t.component))
    } else {
        measure_name(tr, t.measure)
    };
    match (t.low, t.high) {
        (Some(l), Some(h)) => tr.t_with(
            "target-between",
            &[
                ("what", what.as_str()),
                ("low", f(l).as_str()),
                ("high", f(h).as_str()),
                ("unit", unit),
            ],
        ),
        (None, Some(h)) => tr.t_with(
            "target-below",
            &[("what", what.as_str()), ("high", f(h).as_str()), ("unit", unit)],
        ),
        (Some(l), None) => tr.t_with(
            "target-above",
            &[("what", what.as_str()), ("low", f(l).as_str()), ("unit", unit)],
        ),
        (None, None) => String::new(),
    }
}

/// An alert rule in words: "If systolic is above 160 mmHg 2 times within 7 days, tell the named contact."
pub(crate) fn rule_words(tr: Tr<'_>, r: &domain::AlertRule) -> String {
    let comp = r.watched();
    let (decimals, unit) = comp.map_or((0, ""), |c| (c.decimals, c.unit));
    let what = match comp {
        Some(c) if r.measure.components().len() > 1 => tr.t(&format!("reading-component-{}", c.key)),
        _ => measure_name(tr, r.measure),
    };
    let times = r.times.to_string();
    let days = r.within_days.to_string();
    let hours = r.escalate_after_hours.to_string();
    let when = tr.t_with(
        if r.comparison == domain::Comparison::Above {
            "rule-words-above"
        } else {
            "rule-words-below"
        },
        &[
            ("what", what.as_str()),
            ("value", r.threshold.format(decimals).as_str()),
            ("unit", unit),
            ("times", times.as_str()),
            ("days", days.as_str()),
        ],
    );
    let tell = tr.t(&format!("rule-words-tell-{}", r.tell.code()));
    let urgent = if r.urgent {
        tr.t("rule-words-urgent")
    } else {
        String::new()
    };
    let escalate = if r.escalate_after_hours > 0 {
        tr.t_with("rule-words-escalate", &[("hours", hours.as_str())])
    } else {
        String::new()
    };
    let advice = tr.t_with("rule-words-advice", &[("advice", r.advice.as_str())]);
    [when, tell, urgent, escalate, advice]
        .into_iter()
        .filter(|p| !p.is_empty())
        .collect::<Vec<_>>()
        .join(" ")
}

/// The chart and its plain-words summary.
#[allow(clippy::too_many_arguments)]
fn draw(
    c: &Chrome<'_>,
    m: Measure,
    title: &str,
    list: &[Reading],
    rules: &[domain::AlertRule],
    target: Option<&domain::Target>,
    from: OffsetDateTime,
    to: OffsetDateTime,
) -> (String, String) {
    if m == Measure::Symptoms {
        return (
            String::new(),
            c.t_with("readings-count", &[("count", list.len().to_string().as_str())]),
        );
    }
    let shown: Vec<&domain::Component> = m.components().iter().filter(|comp| comp.key != "pulse").collect();
    let points: Vec<Vec<chart::Point>> = shown
        .iter()
        .map(|comp| {
            let mut p: Vec<chart::Point> = list
                .iter()
                .filter_map(|r| {
                    r.value(comp.key).map(|v| chart::Point {
                        at: r.taken_at.0,
                        value: v.as_f64(),
                    })
                })
                .collect();
            p.reverse();
            p
        })
        .collect();
    let labels: Vec<String> = shown.iter().map(|comp| component_label(c.tr, m, comp)).collect();
    let series = shown
        .iter()
        .zip(points.iter())
        .zip(labels.iter())
        .enumerate()
        .map(|(i, ((_, points), label))| chart::Series {
            label: label.as_str(),
            points: points.as_slice(),
            marker: chart::Marker::for_index(i),
        })
        .collect();
    let line_labels: Vec<(f64, String)> = rules
        .iter()
        .filter(|r| r.measure == m)
        .filter_map(|r| {
            let comp = r.watched()?;
            Some((
                r.threshold.as_f64(),
                c.t_with(
                    &format!(
                        "chart-threshold-{}",
                        if r.comparison == domain::Comparison::Above {
                            "above"
                        } else {
                            "below"
                        }
                    ),
                    &[("value", r.threshold.format(comp.decimals).as_str())],
                ),
            ))
        })
        .collect();
    let lines = line_labels
        .iter()
        .map(|(value, label)| chart::Line {
            value: *value,
            label: label.as_str(),
        })
        .collect();
    let main = m.main_component();
    let band = target.and_then(|t| {
        let comp = m.component(&t.component)?;
        let low = t.low.map_or(comp.min.as_f64(), Milli::as_f64);
        let high = t.high.map_or(comp.max.as_f64(), Milli::as_f64);
        Some(chart::Band { low, high })
    });
    let main_values: Vec<Milli> = list
        .iter()
        .filter_map(|r| main.and_then(|comp| r.value(comp.key)))
        .collect();
    let summary = summarise(c, m, list, &main_values);
    let band_label = c.t("chart-target");
    let x_label = |d: time::Date| format!("{} {}", d.day(), c.t(&format!("month-short-{}", u8::from(d.month()))));
    let desc = summary.clone();
    let chart = chart::Chart {
        id: &format!("chart-{}", m.code()),
        title,
        description: &desc,
        unit: main.map_or("", |comp| comp.unit),
        from,
        to,
        series,
        band,
        band_label: &band_label,
        lines,
        y_min: main.filter(|comp| comp.max.0 <= 10_000).map(|_| 0.0),
        y_max: main.filter(|comp| comp.max.0 <= 10_000).map(|comp| comp.max.as_f64()),
        decimals: main.map_or(0, |comp| comp.decimals),
        x_label: &x_label,
    };
    (chart::render(&chart), summary)
}

/// "12 readings. The latest, 148/92 mmHg, on 20 November 2026. Highest 162, lowest 131."
fn summarise(c: &Chrome<'_>, m: Measure, list: &[Reading], main: &[Milli]) -> String {
    let Some(latest) = list.first() else {
        return c.t("readings-none-in-window");
    };
    let decimals = m.main_component().map_or(0, |comp| comp.decimals);
    let (hi, lo) = (main.iter().max(), main.iter().min());
    let mut text = c.t_with(
        "readings-summary",
        &[
            ("count", list.len().to_string().as_str()),
            ("latest", reading_text(c.tr, latest).as_str()),
            ("when", c.date(&latest.taken_at.0.date()).as_str()),
        ],
    );
    if let (Some(hi), Some(lo)) = (hi, lo)
        && list.len() > 1
    {
        text = format!(
            "{text} {}",
            c.t_with(
                "readings-range",
                &[
                    ("high", hi.format(decimals).as_str()),
                    ("low", lo.format(decimals).as_str())
                ]
            )
        );
    }
    text
}

// ---- one alert ----

struct EventView {
    when: String,
    what: String,
}

#[derive(Template)]
#[template(path = "alert.html")]
struct AlertPage<'a> {
    c: Chrome<'a>,
    base: String,
    alert: AlertView,
    own: bool,
    staff: bool,
    readings: Vec<(String, String, String)>,
    events: Vec<EventView>,
    response: Option<Uuid>,
}

pub async fn alert(
    State(state): State<AppState>,
    session: Session,
    Path((id, alert)): Path<(String, String)>,
) -> Result<Response, AppError> {
    let alert = Uuid::parse_str(&alert).map_err(|_| AppError::NotFound)?;
    let user = session.require_user()?.clone();
    let grant = grant(&state, &user, person_id(&id)?, Action::Read, "alert").await?;
    let now = state.now();
    let (a, reading_ids, events) = alerts::get(&state.db, &grant, alert, now)
        .await?
        .map_err(|_| AppError::NotFound)?
        .ok_or(AppError::NotFound)?;
    let caused = readings::by_ids(&state.db, &grant, &reading_ids)
        .await?
        .map_err(|_| AppError::NotFound)?;
    let (c, base) = person_chrome(&state, &session, &grant, &id).await?;
    let c = c
        .crumb(&format!("{base}/readings"), "readings-title")
        .crumb(&format!("{base}/alerts/{alert}"), "alert-title");
    let readings = caused
        .iter()
        .map(|r| {
            (
                c.when(r.taken_at.0),
                measure_name(c.tr, r.measure),
                reading_text(c.tr, r),
            )
        })
        .collect();
    let events = events
        .iter()
        .map(|e| EventView {
            when: c.when(e.at.0),
            what: match (&e.level, &e.by) {
                (Some(level), _) => c.t_with(
                    &format!("alert-event-{}", e.what),
                    &[("level", c.t(&format!("alert-level-{}", level.code())).as_str())],
                ),
                (None, Some(by)) => c.t_with(&format!("alert-event-{}-by", e.what), &[("name", by.as_str())]),
                (None, None) => c.t(&format!("alert-event-{}", e.what)),
            },
        })
        .collect();
    Ok(render(&AlertPage {
        alert: alert_view(&c, &a),
        response: a.response,
        c,
        base,
        own: grant.is_owner(),
        staff: user.has_role(Role::Professional),
        readings,
        events,
    })?
    .into_response())
}

/// Acknowledge or snooze an alert; back to the professional's list, or to the person's readings.
pub async fn alert_action(
    State(state): State<AppState>,
    session: Session,
    Path((id, alert, verb)): Path<(String, String, String)>,
    form: Fields,
) -> Result<Response, AppError> {
    let alert = Uuid::parse_str(&alert).map_err(|_| AppError::NotFound)?;
    let user = session.require_user()?.clone();
    let grant = grant(&state, &user, person_id(&id)?, Action::Read, "alert-action").await?;
    let now = state.now();
    let done = match verb.as_str() {
        "acknowledge" => alerts::acknowledge(&state.db, &grant, alert, now).await?,
        "snooze" => {
            let hours = match form.get("for") {
                "1" => 1,
                "4" => 4,
                "24" => 24,
                "72" => 72,
                _ => 24,
            };
            alerts::snooze(&state.db, &grant, alert, now + Duration::hours(hours), now).await?
        }
        _ => return Err(AppError::NotFound),
    };
    let flash = match (&done, verb.as_str()) {
        (Ok(()), "acknowledge") => "flash-done-alert-acknowledged",
        (Ok(()), _) => "flash-done-alert-snoozed",
        (Err(alerts::Refused::NotOpen), _) => "flash-alert-not-open",
        (Err(alerts::Refused::Denied), _) => return Err(AppError::NotFound),
    };
    session.set_flash(flash).await?;
    let back = if user.has_role(Role::Professional) && !grant.is_owner() {
        "/alerts".to_owned()
    } else {
        format!("/records/{id}/readings")
    };
    Ok(Redirect::to(&back).into_response())
}

// ---- a professional's alerts ----

struct WorkRow {
    person: String,
    href: String,
    what: String,
    when: String,
    urgent: bool,
    level: String,
    advice: String,
}

#[derive(Template)]
#[template(path = "alerts.html")]
struct WorkPage<'a> {
    c: Chrome<'a>,
    rows: Vec<WorkRow>,
}

pub async fn work_list(State(state): State<AppState>, session: Session) -> Result<Response, AppError> {
    let user = crate::pages::layout::require_role(&session, &[Role::Professional])?;
    let now = state.now();
    let c = Chrome::new(&session).await?.crumb("/alerts", "alerts-title");
    let mut rows = Vec::new();
    for (alert, person) in alerts::work_list(&state.db, user.id, now).await? {
        let person = PersonId(person);
        // Each person passes the choke point; one who no longer shares their readings drops out of the list.
        let g = match grant(&state, &user, person, Action::Read, "alert-list").await {
            Ok(g) => g,
            Err(AppError::NotFound) => continue,
            Err(e) => return Err(e),
        };
        let Some((a, _, _)) = alerts::get(&state.db, &g, alert, now).await?.ok().flatten() else {
            continue;
        };
        let view = alert_view(&c, &a);
        rows.push(WorkRow {
            person: person_name(&state, &g).await?,
            href: format!("/records/{}/alerts/{}", person.0, a.id),
            what: view.what,
            when: view.when,
            urgent: a.urgent,
            level: view.level,
            advice: view.advice,
        });
    }
    Ok(render(&WorkPage { c, rows })?.into_response())
}

/// Passes alerts nobody acknowledged in time up a level, telling the next people. Run by the housekeeping loop;
/// each alert's person is opened through the choke point as the operator.
pub async fn escalate_alerts(state: &AppState) -> anyhow::Result<usize> {
    let now = state.now();
    let tr = crate::access::job_tr(state);
    let mut passed = 0;
    for (alert, person) in alerts::due(&state.db, now, 100).await? {
        let person = PersonId(person);
        let grant = crate::access::job_grant(state, person, Section::Readings, Action::Write, "alert-escalation");
        let Some(g) = grant.await? else {
            continue;
        };
        let mail = alert_mail(state, tr, person);
        if let Ok(Some(_)) = alerts::escalate(&state.db, &g, alert, &mail, now).await? {
            passed += 1;
        }
    }
    Ok(passed)
}
