//! The personalised care and support plan pages: the plan with its standing (agreed, changed since agreed, not yet
//! agreed), one form per part (about me, targets, medicines, contingency, review date) and per goal, action and
//! supporter, agreeing a version, goal progress, the person's preparation for their review, the list of versions,
//! a side-by-side comparison of any two, and a printable copy. Every page asks the choke point for the care plan
//! section: reading to see it, writing to change it.

use askama::Template;
use axum::extract::{Path, Query, State};
use axum::response::{IntoResponse, Redirect, Response};
use carepact_domain::care_plan::{
    ActionOwner, ActionStatus, Agreement, Attainment, Compared, Goal, Piece, PlanAction, PlanDoc, Side, Supporter,
    compare, review_overdue, word_diff,
};
use carepact_domain::consent::{Action, Section};
use carepact_domain::identity::{PersonId, Role, parse_date_of_birth};
use carepact_domain::readings::{
    self as domain_readings, AlertRule, Comparison, Level, Measure, Milli, RuleProblem, Target,
};
use carepact_store::access::Grant;
use carepact_store::care_plan::{self, Author, Plan, Refused};
use carepact_store::users::User;
use serde::Deserialize;
use time::Date;
use uuid::Uuid;

use crate::access::acting_role;
use crate::errors::AppError;
use crate::forms::{Errors, Fields};
use crate::pages::layout::{Chrome, render};
use crate::session::Session;
use crate::state::AppState;

use crate::pages::person_id;

async fn plan_grant(
    state: &AppState,
    user: &User,
    person: PersonId,
    action: Action,
    entity: &str,
) -> Result<Grant, AppError> {
    crate::pages::section_grant(state, user, person, Section::CarePlan, action, entity).await
}

/// The side `user` agrees for, if any: the person on their own plan, a professional on someone else's.
fn agree_side(grant: &Grant, user: &User) -> Option<Side> {
    if grant.is_owner() {
        Some(Side::Person)
    } else if user.has_role(Role::Professional) {
        Some(Side::Professional)
    } else {
        None
    }
}

use crate::pages::person_name;

/// A stored date (YYYY-MM-DD) in words.
fn day_words(c: &Chrome<'_>, text: &str) -> String {
    Date::parse(text, time::macros::format_description!("[year]-[month]-[day]"))
        .map(|d| c.date(&d))
        .unwrap_or_else(|_| text.to_owned())
}

// ---- the plan page ----

struct GoalView {
    id: Uuid,
    text: String,
    steps: String,
    target: String,
    /// The latest goal-attainment rating, in words.
    attainment: String,
    progress: Vec<(String, String, String)>,
}

struct ActionView {
    id: Uuid,
    what: String,
    who: String,
    by: String,
    status: String,
    goal: String,
}

#[derive(Template)]
#[template(path = "care_plan.html")]
struct PlanPage<'a> {
    c: Chrome<'a>,
    base: String,
    name: String,
    plan: Option<Plan>,
    doc: PlanDoc,
    version: i64,
    /// Agreed / changed since agreed / not agreed, in words.
    standing: String,
    standing_tag: &'static str,
    agreed_by: Vec<String>,
    goals: Vec<GoalView>,
    actions: Vec<ActionView>,
    review: String,
    overdue: bool,
    can_edit: bool,
    /// The agree button, when this user may agree the latest version and has not yet.
    can_agree: bool,
    own: bool,
    print: bool,
    updated: String,
    /// The contingency plan's fields: (label id, text).
    contingency: Vec<(&'static str, String)>,
    /// Target ranges and alert rules agreed for readings, in words: (id, text).
    ranges: Vec<(Uuid, String)>,
    rules: Vec<(Uuid, String)>,
}

fn attainment_words(c: &Chrome<'_>, a: Option<Attainment>) -> String {
    a.map(|a| c.t(&format!("plan-attainment-{}", a.value() + 2)))
        .unwrap_or_default()
}

struct PlanInput<'g> {
    base: String,
    name: String,
    plan: Option<Plan>,
    grant: &'g Grant,
    user: &'g User,
    today: Date,
}

fn plan_page<'a>(c: Chrome<'a>, input: PlanInput<'_>) -> PlanPage<'a> {
    let PlanInput {
        base,
        name,
        plan,
        grant,
        user,
        today,
    } = input;
    let doc = plan.as_ref().map(|p| p.latest.doc.clone()).unwrap_or_default();
    let version = plan.as_ref().map(|p| p.latest.number).unwrap_or(0);
    let (standing, standing_tag) = match plan.as_ref().map(|p| p.agreement) {
        None => (c.t("plan-standing-none"), "nhsuk-tag--grey"),
        Some(Agreement::NotAgreed) => (c.t("plan-standing-not-agreed"), "nhsuk-tag--yellow"),
        Some(Agreement::Agreed { .. }) => (c.t("plan-standing-agreed"), "nhsuk-tag--green"),
        Some(Agreement::ChangedSinceAgreed { .. }) => (c.t("plan-standing-changed"), "nhsuk-tag--orange"),
    };
    let agreed_version = match plan.as_ref().map(|p| p.agreement) {
        Some(Agreement::Agreed { version }) => Some(version),
        Some(Agreement::ChangedSinceAgreed { agreed }) => Some(agreed),
        _ => None,
    };
    let agreed_by = plan
        .iter()
        .flat_map(|p| p.agreements.iter())
        .filter(|a| Some(a.version) == agreed_version || a.version == version)
        .map(|a| {
            c.t_with(
                "plan-agreed-by",
                &[
                    ("name", a.name.as_deref().unwrap_or("")),
                    ("version", a.version.to_string().as_str()),
                    ("date", c.date(&a.at.0.date()).as_str()),
                ],
            )
        })
        .collect();
    let side = agree_side(grant, user);
    let can_agree = plan.as_ref().is_some_and(|p| {
        grant.may_write() && side.is_some_and(|s| !p.agreements.iter().any(|a| a.version == version && a.side == s))
    });
    let progress = |goal: Uuid| {
        plan.iter()
            .flat_map(|p| p.progress.iter())
            .filter(|p| p.goal == goal)
            .map(|p| {
                (
                    c.date(&p.at.0.date()),
                    p.author_name.clone().unwrap_or_default(),
                    match p.attainment {
                        Some(a) => format!("{} — {}", attainment_words(&c, Some(a)), p.note),
                        None => p.note.clone(),
                    },
                )
            })
            .collect::<Vec<_>>()
    };
    let goals = doc
        .goals
        .iter()
        .map(|g| GoalView {
            id: g.id,
            text: g.text.clone(),
            steps: g.steps.clone(),
            target: g.target_date.map(|d| c.date(&d)).unwrap_or_default(),
            attainment: attainment_words(
                &c,
                plan.iter()
                    .flat_map(|p| p.progress.iter())
                    .find(|p| p.goal == g.id && p.attainment.is_some())
                    .and_then(|p| p.attainment),
            ),
            progress: progress(g.id),
        })
        .collect();
    let actions = doc
        .actions
        .iter()
        .map(|a| ActionView {
            id: a.id,
            what: a.what.clone(),
            who: match a.who.trim() {
                "" => c.t(&format!("plan-owner-{}", a.owner.code())),
                who => format!(
                    "{who} ({})",
                    c.t(&format!("plan-owner-{}", a.owner.code())).to_lowercase()
                ),
            },
            by: a.by.map(|d| c.date(&d)).unwrap_or_default(),
            status: c.t(&format!("plan-status-{}", a.status.code())),
            goal: a
                .goal
                .and_then(|g| doc.goals.iter().find(|x| x.id == g))
                .map(|g| g.text.clone())
                .unwrap_or_default(),
        })
        .collect();
    PlanPage {
        review: doc.review_date.map(|d| c.date(&d)).unwrap_or_default(),
        overdue: review_overdue(doc.review_date, today),
        updated: plan
            .as_ref()
            .map(|p| {
                c.t_with(
                    "plan-updated",
                    &[
                        ("version", p.latest.number.to_string().as_str()),
                        ("date", c.date(&p.latest.created_at.0.date()).as_str()),
                        ("name", p.latest.author_name.as_deref().unwrap_or("")),
                    ],
                )
            })
            .unwrap_or_default(),
        contingency: vec![
            ("plan-field-signs", doc.contingency.signs.clone()),
            ("plan-field-what_i_do", doc.contingency.what_i_do.clone()),
            ("plan-field-who_to_call", doc.contingency.who_to_call.clone()),
            ("plan-field-out_of_hours", doc.contingency.out_of_hours.clone()),
        ],
        ranges: doc
            .reading_targets
            .iter()
            .map(|t| (t.id, crate::pages::readings::target_text(c.tr, t)))
            .collect(),
        rules: doc
            .alert_rules
            .iter()
            .map(|r| (r.id, crate::pages::readings::rule_words(c.tr, r)))
            .collect(),
        can_edit: grant.may_write(),
        own: grant.is_owner(),
        print: false,
        standing,
        standing_tag,
        agreed_by,
        goals,
        actions,
        can_agree,
        version,
        doc,
        plan,
        name,
        base,
        c,
    }
}

pub async fn show(
    State(state): State<AppState>,
    session: Session,
    Path(id): Path<String>,
) -> Result<Response, AppError> {
    view(&state, &session, &id, false).await
}

pub async fn print(
    State(state): State<AppState>,
    session: Session,
    Path(id): Path<String>,
) -> Result<Response, AppError> {
    view(&state, &session, &id, true).await
}

async fn view(state: &AppState, session: &Session, id: &str, print: bool) -> Result<Response, AppError> {
    let user = session.require_user()?.clone();
    let person = person_id(id)?;
    let grant = plan_grant(state, &user, person, Action::Read, "care-plan").await?;
    let plan = care_plan::get(&state.db, &grant)
        .await?
        .map_err(|_| AppError::NotFound)?;
    let name = person_name(state, &grant).await?;
    let base = format!("/records/{id}");
    let c = Chrome::new(session)
        .await?
        .link(&base, name.clone())
        .crumb(&format!("{base}/plan"), "plan-title");
    let input = PlanInput {
        base,
        name,
        plan,
        grant: &grant,
        user: &user,
        today: state.now().date(),
    };
    let mut page = plan_page(c, input);
    page.print = print;
    Ok(render(&page)?.into_response())
}

// ---- editing ----

/// The parts of the plan edited as a whole.
#[derive(Clone, Copy, PartialEq, Eq)]
enum Part {
    About,
    Targets,
    Medicines,
    Contingency,
    Review,
    Goal,
    Action,
    Supporter,
    /// A target range for one measure.
    Range,
    /// An alert rule for one measure.
    Rule,
}

impl Part {
    fn from_code(code: &str) -> Option<Part> {
        Some(match code {
            "about" => Part::About,
            "targets" => Part::Targets,
            "medicines" => Part::Medicines,
            "contingency" => Part::Contingency,
            "review" => Part::Review,
            "goals" => Part::Goal,
            "actions" => Part::Action,
            "network" => Part::Supporter,
            "ranges" => Part::Range,
            "rules" => Part::Rule,
            _ => return None,
        })
    }
    fn code(self) -> &'static str {
        match self {
            Part::About => "about",
            Part::Targets => "targets",
            Part::Medicines => "medicines",
            Part::Contingency => "contingency",
            Part::Review => "review",
            Part::Goal => "goals",
            Part::Action => "actions",
            Part::Supporter => "network",
            Part::Range => "ranges",
            Part::Rule => "rules",
        }
    }
    /// Goals, actions and supporters are lists: one item is edited at a time.
    fn is_list(self) -> bool {
        matches!(
            self,
            Part::Goal | Part::Action | Part::Supporter | Part::Range | Part::Rule
        )
    }
}

/// One field of an edit form.
pub struct FieldView {
    name: &'static str,
    kind: &'static str,
    value: String,
    day: String,
    month: String,
    year: String,
    options: Vec<(String, String, bool)>,
}

impl FieldView {
    /// A date field's three inputs: (part, label id, width, value).
    fn date_parts(&self) -> Vec<(&'static str, &'static str, &'static str, String)> {
        vec![
            ("day", "label-day", "2", self.day.clone()),
            ("month", "label-month", "2", self.month.clone()),
            ("year", "label-year", "4", self.year.clone()),
        ]
    }
}

fn text(name: &'static str, value: &str) -> FieldView {
    field(name, "text", value)
}

fn area(name: &'static str, value: &str) -> FieldView {
    field(name, "textarea", value)
}

fn field(name: &'static str, kind: &'static str, value: &str) -> FieldView {
    FieldView {
        name,
        kind,
        value: value.to_owned(),
        day: String::new(),
        month: String::new(),
        year: String::new(),
        options: Vec::new(),
    }
}

fn date(name: &'static str, value: Option<Date>) -> FieldView {
    let mut f = field(name, "date", "");
    if let Some(d) = value {
        f.day = d.day().to_string();
        f.month = u8::from(d.month()).to_string();
        f.year = d.year().to_string();
    }
    f
}

fn select(name: &'static str, options: Vec<(String, String, bool)>) -> FieldView {
    let mut f = field(name, "select", "");
    f.options = options;
    f
}

#[derive(Template)]
#[template(path = "care_plan_form.html")]
struct FormPage<'a> {
    c: Chrome<'a>,
    base: String,
    action: String,
    /// The heading's message id.
    heading: String,
    version: i64,
    fields: Vec<FieldView>,
    errors: Errors,
    removable: bool,
    remove_label: String,
}

/// The fields of `part` (for list parts, of the item `item`, new when absent) filled from `doc`.
fn fields_for(c: &Chrome<'_>, part: Part, doc: &PlanDoc, item: Option<Uuid>) -> Vec<FieldView> {
    match part {
        Part::About => vec![area("about_me", &doc.about_me), area("what_matters", &doc.what_matters)],
        Part::Targets => vec![area("targets", &doc.targets)],
        Part::Medicines => vec![area("medicines", &doc.medicines)],
        Part::Contingency => {
            let k = &doc.contingency;
            vec![
                area("signs", &k.signs),
                area("what_i_do", &k.what_i_do),
                area("who_to_call", &k.who_to_call),
                area("out_of_hours", &k.out_of_hours),
            ]
        }
        Part::Review => vec![date("review_date", doc.review_date)],
        Part::Goal => {
            let g = item
                .and_then(|id| doc.goals.iter().find(|g| g.id == id))
                .cloned()
                .unwrap_or_default();
            vec![
                area("goal", &g.text),
                area("steps", &g.steps),
                date("target_date", g.target_date),
            ]
        }
        Part::Action => {
            let a = item
                .and_then(|id| doc.actions.iter().find(|a| a.id == id))
                .cloned()
                .unwrap_or_default();
            let mut goals = vec![(String::new(), c.t("plan-action-no-goal"), a.goal.is_none())];
            goals.extend(
                doc.goals
                    .iter()
                    .map(|g| (g.id.to_string(), g.text.clone(), a.goal == Some(g.id))),
            );
            vec![
                area("what", &a.what),
                select(
                    "owner",
                    ActionOwner::ALL
                        .into_iter()
                        .map(|o| {
                            (
                                o.code().to_owned(),
                                c.t(&format!("plan-owner-{}", o.code())),
                                a.owner == o,
                            )
                        })
                        .collect(),
                ),
                text("who", &a.who),
                date("by", a.by),
                select(
                    "status",
                    ActionStatus::ALL
                        .into_iter()
                        .map(|s| {
                            (
                                s.code().to_owned(),
                                c.t(&format!("plan-status-{}", s.code())),
                                a.status == s,
                            )
                        })
                        .collect(),
                ),
                select("goal_id", goals),
            ]
        }
        Part::Supporter => {
            let s = item
                .and_then(|id| doc.support_network.iter().find(|s| s.id == id))
                .cloned()
                .unwrap_or_default();
            vec![
                text("name", &s.name),
                text("relationship", &s.relationship),
                text("contact", &s.contact),
            ]
        }
        Part::Range => {
            let t = item.and_then(|id| doc.reading_targets.iter().find(|t| t.id == id));
            let decimals = |m: Measure, k: &str| m.component(k).map_or(0, |c| c.decimals);
            let shown = |v: Option<Milli>, m: Measure, k: &str| v.map(|v| v.format(decimals(m, k))).unwrap_or_default();
            vec![
                select(
                    "component",
                    component_options(c, t.map(|t| (t.measure, t.component.as_str()))),
                ),
                text(
                    "low",
                    &t.map(|t| shown(t.low, t.measure, &t.component)).unwrap_or_default(),
                ),
                text(
                    "high",
                    &t.map(|t| shown(t.high, t.measure, &t.component)).unwrap_or_default(),
                ),
            ]
        }
        Part::Rule => {
            let r = item.and_then(|id| doc.alert_rules.iter().find(|r| r.id == id));
            let above = r.is_none_or(|r| r.comparison == Comparison::Above);
            let tell = r.map_or(Level::NamedContact, |r| r.tell);
            let urgent = r.is_some_and(|r| r.urgent);
            let decimals = r.and_then(|r| r.watched()).map_or(0, |c| c.decimals);
            vec![
                select(
                    "component",
                    component_options(c, r.map(|r| (r.measure, r.component.as_str()))),
                ),
                select(
                    "comparison",
                    vec![
                        ("above".into(), c.t("plan-rule-above"), above),
                        ("below".into(), c.t("plan-rule-below"), !above),
                    ],
                ),
                text(
                    "threshold",
                    &r.map(|r| r.threshold.format(decimals)).unwrap_or_default(),
                ),
                text("times", &r.map_or("1".to_owned(), |r| r.times.to_string())),
                text("within_days", &r.map_or("7".to_owned(), |r| r.within_days.to_string())),
                select(
                    "tell",
                    Level::ALL
                        .into_iter()
                        .map(|l| {
                            (
                                l.code().to_owned(),
                                c.t(&format!("plan-rule-tell-{}", l.code())),
                                l == tell,
                            )
                        })
                        .collect(),
                ),
                select(
                    "urgent",
                    vec![
                        ("no".into(), c.t("plan-rule-urgent-no"), !urgent),
                        ("yes".into(), c.t("plan-rule-urgent-yes"), urgent),
                    ],
                ),
                area("advice", &r.map(|r| r.advice.clone()).unwrap_or_default()),
                text(
                    "escalate_after_hours",
                    &r.map_or("24".to_owned(), |r| r.escalate_after_hours.to_string()),
                ),
            ]
        }
    }
}

/// Every number a rule or target can watch, as "measure:component" options.
fn component_options(c: &Chrome<'_>, chosen: Option<(Measure, &str)>) -> Vec<(String, String, bool)> {
    Measure::ALL
        .into_iter()
        .flat_map(|m| m.components().iter().map(move |k| (m, k)))
        .map(|(m, k)| {
            let name = crate::pages::readings::measure_name(c.tr, m);
            let label = if m.components().len() > 1 {
                format!("{name}: {}", c.t(&format!("reading-component-{}", k.key)))
            } else {
                name
            };
            (format!("{}:{}", m.code(), k.key), label, chosen == Some((m, k.key)))
        })
        .collect()
}

/// The measure and component chosen on a rule or target form.
fn chosen_component(form: &Fields) -> Option<(Measure, &'static domain_readings::Component)> {
    let (m, k) = form.get("component").split_once(':')?;
    let m = Measure::from_code(m)?;
    Some((m, m.component(k)?))
}

/// A number typed on a rule or target form: none when empty, an error when it is not a number.
fn number_field(form: &Fields, name: &str, errors: &mut Errors, c: &Chrome<'_>) -> Option<Milli> {
    let text = form.get(name).trim();
    if text.is_empty() {
        return None;
    }
    match text.parse::<f64>().ok().and_then(Milli::from_f64) {
        Some(v) => Some(v),
        None => {
            errors.add(c.tr, name, "error-plan-number");
            None
        }
    }
}

/// The form's values put back into its fields (after an error, so nothing typed is lost).
fn refill(fields: &mut [FieldView], form: &Fields) {
    for f in fields {
        match f.kind {
            "date" => {
                f.day = form.get(&format!("{}_day", f.name)).to_owned();
                f.month = form.get(&format!("{}_month", f.name)).to_owned();
                f.year = form.get(&format!("{}_year", f.name)).to_owned();
            }
            "select" => {
                let chosen = form.get(f.name);
                for o in &mut f.options {
                    o.2 = o.0 == chosen;
                }
            }
            _ => f.value = form.get(f.name).to_owned(),
        }
    }
}

/// An optional date from a day/month/year group: none when all three are empty.
fn optional_date(form: &Fields, name: &str) -> Result<Option<Date>, ()> {
    let parts = [
        form.get(&format!("{name}_day")),
        form.get(&format!("{name}_month")),
        form.get(&format!("{name}_year")),
    ];
    if parts.iter().all(|p| p.trim().is_empty()) {
        return Ok(None);
    }
    parse_date_of_birth(parts[0], parts[1], parts[2], Date::MAX)
        .map(Some)
        .map_err(|_| ())
}

/// Applies the form to `doc`. For list parts, `item` is the item edited (a new one when absent). Returns the
/// field errors.
fn apply(part: Part, form: &Fields, doc: &mut PlanDoc, item: Option<Uuid>, errors: &mut Errors, c: &Chrome<'_>) {
    let text = |name: &str| form.get(name).trim().to_owned();
    let mut date_of = |name: &'static str| match optional_date(form, name) {
        Ok(d) => d,
        Err(()) => {
            errors.add(c.tr, &format!("{name}_day"), "error-plan-date");
            None
        }
    };
    match part {
        Part::About => {
            doc.about_me = text("about_me");
            doc.what_matters = text("what_matters");
        }
        Part::Targets => doc.targets = text("targets"),
        Part::Medicines => doc.medicines = text("medicines"),
        Part::Contingency => {
            doc.contingency.signs = text("signs");
            doc.contingency.what_i_do = text("what_i_do");
            doc.contingency.who_to_call = text("who_to_call");
            doc.contingency.out_of_hours = text("out_of_hours");
        }
        Part::Review => doc.review_date = date_of("review_date"),
        Part::Goal => {
            let goal = Goal {
                id: item.unwrap_or_else(Uuid::now_v7),
                text: text("goal"),
                steps: text("steps"),
                target_date: date_of("target_date"),
            };
            upsert(&mut doc.goals, goal, |x| x.id);
        }
        Part::Action => {
            let action = PlanAction {
                id: item.unwrap_or_else(Uuid::now_v7),
                what: text("what"),
                owner: ActionOwner::from_code(form.get("owner")).unwrap_or_default(),
                who: text("who"),
                by: date_of("by"),
                status: ActionStatus::from_code(form.get("status")).unwrap_or_default(),
                goal: Uuid::parse_str(form.get("goal_id"))
                    .ok()
                    .filter(|g| doc.goals.iter().any(|x| x.id == *g)),
            };
            upsert(&mut doc.actions, action, |x| x.id);
        }
        Part::Supporter => {
            let s = Supporter {
                id: item.unwrap_or_else(Uuid::now_v7),
                name: text("name"),
                relationship: text("relationship"),
                contact: text("contact"),
            };
            upsert(&mut doc.support_network, s, |x| x.id);
        }
        Part::Range => {
            let Some((measure, comp)) = chosen_component(form) else {
                errors.add(c.tr, "component", "rule-error-component");
                return;
            };
            let low = number_field(form, "low", errors, c);
            let high = number_field(form, "high", errors, c);
            let outside = |v: Option<Milli>| v.is_some_and(|v| v < comp.min || v > comp.max);
            if low.is_none() && high.is_none() && errors.get("low").is_none() && errors.get("high").is_none() {
                errors.add(c.tr, "low", "error-plan-range-empty");
            } else if outside(low) || outside(high) {
                errors.add(c.tr, "low", "rule-error-threshold");
            } else if let (Some(l), Some(h)) = (low, high)
                && l >= h
            {
                errors.add(c.tr, "high", "error-plan-range-order");
            }
            let t = Target {
                id: item.unwrap_or_else(Uuid::now_v7),
                measure,
                component: comp.key.into(),
                low,
                high,
            };
            upsert(&mut doc.reading_targets, t, |x| x.id);
        }
        Part::Rule => {
            let Some((measure, comp)) = chosen_component(form) else {
                errors.add(c.tr, "component", "rule-error-component");
                return;
            };
            let whole = |name: &str, errors: &mut Errors| -> u32 {
                match form.get(name).trim().parse::<u32>() {
                    Ok(n) => n,
                    Err(_) => {
                        errors.add(c.tr, name, "error-plan-whole-number");
                        0
                    }
                }
            };
            let threshold = number_field(form, "threshold", errors, c);
            if threshold.is_none() && errors.get("threshold").is_none() {
                errors.add(c.tr, "threshold", "error-plan-threshold-empty");
            }
            let times = whole("times", errors);
            let within_days = whole("within_days", errors);
            let escalate_after_hours = whole("escalate_after_hours", errors);
            if escalate_after_hours > 24 * 14 {
                errors.add(c.tr, "escalate_after_hours", "error-plan-escalate");
            }
            let r = AlertRule {
                id: item.unwrap_or_else(Uuid::now_v7),
                measure,
                component: comp.key.into(),
                comparison: if form.get("comparison") == "below" {
                    Comparison::Below
                } else {
                    Comparison::Above
                },
                threshold: threshold.unwrap_or(comp.min),
                times,
                within_days,
                tell: Level::from_code(form.get("tell")).unwrap_or(Level::NamedContact),
                urgent: form.get("urgent") == "yes",
                advice: text("advice"),
                escalate_after_hours,
            };
            for p in domain_readings::check_rule(&r) {
                let field = match p {
                    RuleProblem::Component => "component",
                    RuleProblem::Threshold => "threshold",
                    RuleProblem::Times => "times",
                    RuleProblem::WithinDays => "within_days",
                    RuleProblem::AdviceMissing => "advice",
                };
                if errors.get(field).is_none() {
                    errors.add(c.tr, field, p.message_id());
                }
            }
            upsert(&mut doc.alert_rules, r, |x| x.id);
        }
    }
    for p in doc.check() {
        errors.add(c.tr, p.field, &format!("error-plan-{}", p.problem));
    }
}

/// Puts `item` in place of the one with the same id, or adds it at the end.
fn upsert<T>(list: &mut Vec<T>, item: T, id: impl Fn(&T) -> Uuid) {
    let key = id(&item);
    match list.iter_mut().find(|x| id(x) == key) {
        Some(x) => *x = item,
        None => list.push(item),
    }
}

fn remove(part: Part, doc: &mut PlanDoc, item: Uuid) {
    match part {
        Part::Goal => {
            doc.goals.retain(|g| g.id != item);
            for a in &mut doc.actions {
                if a.goal == Some(item) {
                    a.goal = None;
                }
            }
        }
        Part::Action => doc.actions.retain(|a| a.id != item),
        Part::Supporter => doc.support_network.retain(|s| s.id != item),
        Part::Range => doc.reading_targets.retain(|t| t.id != item),
        Part::Rule => doc.alert_rules.retain(|r| r.id != item),
        _ => {}
    }
}

/// The path segments after `/plan/edit/`: a part, and for list parts an item id or nothing (a new item).
fn parse_target(part: &str, item: Option<&str>) -> Result<(Part, Option<Uuid>), AppError> {
    let part = Part::from_code(part).ok_or(AppError::NotFound)?;
    let item = match item {
        Some(text) if part.is_list() => Some(Uuid::parse_str(text).map_err(|_| AppError::NotFound)?),
        Some(_) => return Err(AppError::NotFound),
        None => None,
    };
    Ok((part, item))
}

#[allow(clippy::too_many_arguments)]
async fn form_page(
    state: &AppState,
    session: &Session,
    id: &str,
    grant: &Grant,
    part: Part,
    item: Option<Uuid>,
    fields: Option<Vec<FieldView>>,
    version: i64,
    doc: &PlanDoc,
    errors: Errors,
) -> Result<Response, AppError> {
    let (c, base) = crate::pages::person_chrome(state, session, grant, id).await?;
    let action = match item {
        Some(i) => format!("{base}/plan/edit/{}/{i}", part.code()),
        None => format!("{base}/plan/edit/{}", part.code()),
    };
    let heading = match (part.is_list(), item) {
        (true, None) => format!("plan-form-{}-new", part.code()),
        _ => format!("plan-form-{}", part.code()),
    };
    let c = c
        .crumb(&format!("{base}/plan"), "plan-title")
        .crumb(&action, &heading)
        .with_errors(&errors);
    let fields = fields.unwrap_or_else(|| fields_for(&c, part, doc, item));
    let status = errors.status();
    let page = FormPage {
        base,
        action,
        heading,
        version,
        fields,
        errors,
        removable: item.is_some(),
        remove_label: c.t(&format!("plan-remove-{}", part.code())),
        c,
    };
    Ok((status, render(&page)?).into_response())
}

async fn write_grant(state: &AppState, session: &Session, id: &str) -> Result<(User, Grant), AppError> {
    let user = session.require_user()?.clone();
    let person = person_id(id)?;
    let grant = plan_grant(state, &user, person, Action::Write, "care-plan").await?;
    Ok((user, grant))
}

async fn current(state: &AppState, grant: &Grant) -> Result<(PlanDoc, i64), AppError> {
    Ok(care_plan::get(&state.db, grant)
        .await?
        .map_err(|_| AppError::NotFound)?
        .map(|p| (p.latest.doc, p.latest.number))
        .unwrap_or_default())
}

pub async fn edit_form(
    State(state): State<AppState>,
    session: Session,
    Path(path): Path<Vec<String>>,
) -> Result<Response, AppError> {
    let (id, part, item) = split_path(&path)?;
    let (part, item) = parse_target(part, item)?;
    let (_, grant) = write_grant(&state, &session, id).await?;
    let (doc, version) = current(&state, &grant).await?;
    if let Some(item) = item
        && !has_item(&doc, part, item)
    {
        return Err(AppError::NotFound);
    }
    form_page(
        &state,
        &session,
        id,
        &grant,
        part,
        item,
        None,
        version,
        &doc,
        Errors::default(),
    )
    .await
}

fn has_item(doc: &PlanDoc, part: Part, item: Uuid) -> bool {
    match part {
        Part::Goal => doc.goals.iter().any(|g| g.id == item),
        Part::Action => doc.actions.iter().any(|a| a.id == item),
        Part::Supporter => doc.support_network.iter().any(|s| s.id == item),
        Part::Range => doc.reading_targets.iter().any(|t| t.id == item),
        Part::Rule => doc.alert_rules.iter().any(|r| r.id == item),
        _ => false,
    }
}

/// `/records/{id}/plan/edit/{part}[/{item}]` as (id, part, item).
fn split_path(path: &[String]) -> Result<(&str, &str, Option<&str>), AppError> {
    match path {
        [id, part] => Ok((id, part, None)),
        [id, part, item] => Ok((id, part, Some(item))),
        _ => Err(AppError::NotFound),
    }
}

pub async fn edit(
    State(state): State<AppState>,
    session: Session,
    Path(path): Path<Vec<String>>,
    form: Fields,
) -> Result<Response, AppError> {
    let (id, part, item) = split_path(&path)?;
    let (part, item) = parse_target(part, item)?;
    let (user, grant) = write_grant(&state, &session, id).await?;
    let (mut doc, latest) = current(&state, &grant).await?;
    if let Some(item) = item
        && !has_item(&doc, part, item)
    {
        return Err(AppError::NotFound);
    }
    let tr = session.tr();
    let chrome = Chrome::bare(tr);
    let mut errors = Errors::default();
    let started_from = form.get("version").parse::<i64>().unwrap_or(-1);
    if started_from != latest {
        errors.add(tr, "version", "error-plan-changed");
    }
    let removing = form.get("intent") == "remove";
    match (removing, item) {
        (true, Some(item)) => remove(part, &mut doc, item),
        _ => apply(part, &form, &mut doc, item, &mut errors, &chrome),
    }
    if !errors.is_empty() {
        let mut fields = fields_for(&chrome, part, &doc, item);
        refill(&mut fields, &form);
        return form_page(
            &state,
            &session,
            id,
            &grant,
            part,
            item,
            Some(fields),
            latest,
            &doc,
            errors,
        )
        .await;
    }
    let author = Author {
        role: if grant.is_owner() { "person" } else { acting_role(&user) },
        organisation: user.organisation_id.filter(|_| !grant.is_owner()).map(|o| o.0),
    };
    match care_plan::save(&state.db, &grant, latest, &doc, &author, state.now()).await? {
        Ok(_) => {
            session.set_flash("flash-done-plan-saved").await?;
            Ok(Redirect::to(&format!("/records/{id}/plan#{}", part.code())).into_response())
        }
        Err(Refused::Denied) => Err(AppError::NotFound),
        Err(Refused::Changed { latest }) => {
            let (doc, _) = current(&state, &grant).await?;
            let mut errors = Errors::default();
            errors.add(tr, "version", "error-plan-changed");
            let mut fields = fields_for(&chrome, part, &doc, item);
            refill(&mut fields, &form);
            form_page(
                &state,
                &session,
                id,
                &grant,
                part,
                item,
                Some(fields),
                latest,
                &doc,
                errors,
            )
            .await
        }
    }
}

// ---- agreeing, progress, preparing ----

pub async fn agree(
    State(state): State<AppState>,
    session: Session,
    Path(id): Path<String>,
    form: Fields,
) -> Result<Response, AppError> {
    let (user, grant) = write_grant(&state, &session, &id).await?;
    let side = agree_side(&grant, &user).ok_or(AppError::NotFound)?;
    let version = form
        .get("version")
        .parse::<i64>()
        .map_err(|_| AppError::BadRequest("error-form-unreadable"))?;
    let flash = match care_plan::agree(&state.db, &grant, version, side, state.now()).await? {
        Ok(Agreement::Agreed { .. }) => "flash-done-plan-agreed-both",
        Ok(_) => "flash-done-plan-agreed",
        Err(Refused::Changed { .. }) => "flash-plan-changed-before-agree",
        Err(Refused::Denied) => return Err(AppError::NotFound),
    };
    session.set_flash(flash).await?;
    Ok(Redirect::to(&format!("/records/{id}/plan")).into_response())
}

#[derive(Template)]
#[template(path = "care_plan_progress.html")]
struct ProgressPage<'a> {
    c: Chrome<'a>,
    base: String,
    action: String,
    goal: String,
    note: String,
    rating: String,
    errors: Errors,
}

#[allow(clippy::too_many_arguments)]
async fn progress_page(
    state: &AppState,
    session: &Session,
    id: &str,
    grant: &Grant,
    goal: &Goal,
    note: String,
    rating: String,
    errors: Errors,
) -> Result<Response, AppError> {
    let (c, base) = crate::pages::person_chrome(state, session, grant, id).await?;
    let c = c
        .crumb(&format!("{base}/plan"), "plan-title")
        .crumb(
            &format!("{base}/plan/goals/{}/progress", goal.id),
            "plan-progress-title",
        )
        .with_errors(&errors);
    let status = errors.status();
    let page = ProgressPage {
        action: format!("{base}/plan/goals/{}/progress", goal.id),
        base,
        goal: goal.text.clone(),
        note,
        rating,
        errors,
        c,
    };
    Ok((status, render(&page)?).into_response())
}

async fn goal_of(state: &AppState, grant: &Grant, goal: &str) -> Result<Goal, AppError> {
    let goal = Uuid::parse_str(goal).map_err(|_| AppError::NotFound)?;
    let (doc, _) = current(state, grant).await?;
    doc.goals.into_iter().find(|g| g.id == goal).ok_or(AppError::NotFound)
}

pub async fn progress_form(
    State(state): State<AppState>,
    session: Session,
    Path((id, goal)): Path<(String, String)>,
) -> Result<Response, AppError> {
    let (_, grant) = write_grant(&state, &session, &id).await?;
    let goal = goal_of(&state, &grant, &goal).await?;
    progress_page(
        &state,
        &session,
        &id,
        &grant,
        &goal,
        String::new(),
        String::new(),
        Errors::default(),
    )
    .await
}

pub async fn add_progress(
    State(state): State<AppState>,
    session: Session,
    Path((id, goal)): Path<(String, String)>,
    form: Fields,
) -> Result<Response, AppError> {
    let (_, grant) = write_grant(&state, &session, &id).await?;
    let goal = goal_of(&state, &grant, &goal).await?;
    let tr = session.tr();
    let mut errors = Errors::default();
    let note = form.get("note").trim().to_owned();
    if note.is_empty() {
        errors.add(tr, "note", "error-plan-progress-empty");
    } else if note.chars().count() > carepact_domain::care_plan::MAX_TEXT {
        errors.add(tr, "note", "error-plan-long");
    }
    let rating = form.get("rating").to_owned();
    let attainment = match rating.as_str() {
        "" => None,
        text => match text.parse::<i8>().ok().and_then(Attainment::new) {
            Some(a) => Some(a),
            None => {
                errors.add(tr, "rating", "error-plan-rating");
                None
            }
        },
    };
    if !errors.is_empty() {
        return progress_page(&state, &session, &id, &grant, &goal, note, rating, errors).await;
    }
    care_plan::add_progress(&state.db, &grant, goal.id, &note, attainment, state.now())
        .await?
        .map_err(|_| AppError::NotFound)?;
    session.set_flash("flash-done-plan-progress").await?;
    Ok(Redirect::to(&format!("/records/{id}/plan#goals")).into_response())
}

#[derive(Template)]
#[template(path = "care_plan_prepare.html")]
struct PreparePage<'a> {
    c: Chrome<'a>,
    base: String,
    body: String,
    review: String,
    errors: Errors,
}

pub async fn prepare_form(
    State(state): State<AppState>,
    session: Session,
    Path(id): Path<String>,
) -> Result<Response, AppError> {
    let (_, grant) = write_grant(&state, &session, &id).await?;
    if !grant.is_owner() {
        return Err(AppError::NotFound);
    }
    let plan = care_plan::get(&state.db, &grant)
        .await?
        .map_err(|_| AppError::NotFound)?;
    let body = plan
        .as_ref()
        .and_then(|p| p.preparation.clone())
        .map(|p| p.0)
        .unwrap_or_default();
    let review = plan.as_ref().and_then(|p| p.latest.doc.review_date);
    prepare_page(&state, &session, &id, &grant, body, review, Errors::default()).await
}

async fn prepare_page(
    state: &AppState,
    session: &Session,
    id: &str,
    grant: &Grant,
    body: String,
    review: Option<Date>,
    errors: Errors,
) -> Result<Response, AppError> {
    let (c, base) = crate::pages::person_chrome(state, session, grant, id).await?;
    let c = c
        .crumb(&format!("{base}/plan"), "plan-title")
        .crumb(&format!("{base}/plan/prepare"), "plan-prepare-title")
        .with_errors(&errors);
    let status = errors.status();
    let page = PreparePage {
        review: review.map(|d| c.date(&d)).unwrap_or_default(),
        base,
        body,
        errors,
        c,
    };
    Ok((status, render(&page)?).into_response())
}

pub async fn prepare(
    State(state): State<AppState>,
    session: Session,
    Path(id): Path<String>,
    form: Fields,
) -> Result<Response, AppError> {
    let (_, grant) = write_grant(&state, &session, &id).await?;
    if !grant.is_owner() {
        return Err(AppError::NotFound);
    }
    let body = form.get("body").trim().to_owned();
    let mut errors = Errors::default();
    if body.chars().count() > carepact_domain::care_plan::MAX_TEXT {
        errors.add(session.tr(), "body", "error-plan-long");
    }
    let (doc, version) = current(&state, &grant).await?;
    if version == 0 {
        errors.add(session.tr(), "body", "error-plan-prepare-no-plan");
    }
    if !errors.is_empty() {
        return prepare_page(&state, &session, &id, &grant, body, doc.review_date, errors).await;
    }
    care_plan::prepare(&state.db, &grant, &body, state.now())
        .await?
        .map_err(|_| AppError::NotFound)?;
    session.set_flash("flash-done-plan-prepared").await?;
    Ok(Redirect::to(&format!("/records/{id}/plan")).into_response())
}

// ---- versions and comparison ----

struct VersionRow {
    number: i64,
    when: String,
    who: String,
    agreed: String,
}

#[derive(Template)]
#[template(path = "care_plan_versions.html")]
struct VersionsPage<'a> {
    c: Chrome<'a>,
    base: String,
    versions: Vec<VersionRow>,
    from: i64,
    to: i64,
}

pub async fn versions(
    State(state): State<AppState>,
    session: Session,
    Path(id): Path<String>,
) -> Result<Response, AppError> {
    let user = session.require_user()?.clone();
    let person = person_id(&id)?;
    let grant = plan_grant(&state, &user, person, Action::Read, "care-plan-versions").await?;
    let plan = care_plan::get(&state.db, &grant)
        .await?
        .map_err(|_| AppError::NotFound)?;
    let list = care_plan::versions(&state.db, &grant)
        .await?
        .map_err(|_| AppError::NotFound)?;
    let (c, base) = crate::pages::person_chrome(&state, &session, &grant, &id).await?;
    let c = c
        .crumb(&format!("{base}/plan"), "plan-title")
        .crumb(&format!("{base}/plan/versions"), "plan-versions-title");
    let agreed_by = |n: i64| {
        plan.iter()
            .flat_map(|p| p.agreements.iter())
            .filter(|a| a.version == n)
            .map(|a| a.name.clone().unwrap_or_default())
            .collect::<Vec<_>>()
            .join(", ")
    };
    let versions: Vec<VersionRow> = list
        .iter()
        .map(|v| VersionRow {
            number: v.number,
            when: c.date(&v.created_at.0.date()),
            who: match &v.organisation_name {
                Some(org) => format!("{} ({org})", v.author_name.clone().unwrap_or_default()),
                None => v.author_name.clone().unwrap_or_default(),
            },
            agreed: agreed_by(v.number),
        })
        .collect();
    let to = versions.first().map(|v| v.number).unwrap_or(0);
    let from = match plan.as_ref().map(|p| p.agreement) {
        Some(Agreement::ChangedSinceAgreed { agreed }) => agreed,
        _ => (to - 1).max(1),
    };
    Ok(render(&VersionsPage {
        c,
        base,
        versions,
        from,
        to,
    })?
    .into_response())
}

#[derive(Debug, Default, Deserialize)]
pub struct CompareQuery {
    #[serde(default)]
    from: String,
    #[serde(default)]
    to: String,
}

struct CompareRow {
    section: String,
    field: String,
    old: Vec<(u8, String)>,
    new: Vec<(u8, String)>,
    changed: bool,
}

#[derive(Template)]
#[template(path = "care_plan_compare.html")]
struct ComparePage<'a> {
    c: Chrome<'a>,
    base: String,
    from: i64,
    to: i64,
    rows: Vec<CompareRow>,
    changes: usize,
}

/// A stored field value in words (codes and dates as people read them).
fn shown(c: &Chrome<'_>, row: &Compared, value: &str) -> String {
    if value.is_empty() {
        return String::new();
    }
    match row.field {
        "owner" => c.t(&format!("plan-owner-{value}")),
        "status" => c.t(&format!("plan-status-{value}")),
        "target_date" | "by" | "review_date" => day_words(c, value),
        _ => value.to_owned(),
    }
}

pub async fn compare_versions(
    State(state): State<AppState>,
    session: Session,
    Path(id): Path<String>,
    Query(q): Query<CompareQuery>,
) -> Result<Response, AppError> {
    let user = session.require_user()?.clone();
    let person = person_id(&id)?;
    let grant = plan_grant(&state, &user, person, Action::Read, "care-plan-versions").await?;
    let (Ok(a), Ok(b)) = (q.from.parse::<i64>(), q.to.parse::<i64>()) else {
        return Err(AppError::NotFound);
    };
    let (from, to) = (a.min(b), a.max(b));
    let load = |n: i64| {
        let (state, grant) = (&state, &grant);
        async move {
            care_plan::version(&state.db, grant, n)
                .await?
                .map_err(|_| AppError::NotFound)?
                .ok_or(AppError::NotFound)
        }
    };
    let (old, new) = (load(from).await?, load(to).await?);
    let (c, base) = crate::pages::person_chrome(&state, &session, &grant, &id).await?;
    let c = c
        .crumb(&format!("{base}/plan"), "plan-title")
        .crumb(&format!("{base}/plan/versions"), "plan-versions-title")
        .crumb(&format!("{base}/plan/compare"), "plan-compare-title");
    let pieces = |kind_old: bool, p: Vec<Piece>| -> Vec<(u8, String)> {
        p.into_iter()
            .filter_map(|piece| match piece {
                Piece::Same(t) => Some((0, t)),
                Piece::Removed(t) if kind_old => Some((1, t)),
                Piece::Added(t) if !kind_old => Some((2, t)),
                _ => None,
            })
            .collect()
    };
    let rows: Vec<CompareRow> = compare(&old.doc, &new.doc)
        .into_iter()
        .map(|r| {
            let (o, n) = (shown(&c, &r, &r.old), shown(&c, &r, &r.new));
            let diff = word_diff(&o, &n);
            CompareRow {
                section: c.t(&format!("plan-section-{}", r.section)),
                field: c.t(&format!("plan-field-{}", r.field)),
                changed: r.changed(),
                old: pieces(true, diff.clone()),
                new: pieces(false, diff),
            }
        })
        .collect();
    let changes = rows.iter().filter(|r| r.changed).count();
    Ok(render(&ComparePage {
        c,
        base,
        from,
        to,
        rows,
        changes,
    })?
    .into_response())
}

/// Tells each person whose plan review is overdue, and their named contact, once per review date (in the app, and
/// by email for those who want it). Run by the housekeeping loop; safe on several nodes at once.
pub async fn flag_overdue_reviews(state: &AppState) -> anyhow::Result<usize> {
    let now = state.now();
    let tr = crate::access::job_tr(state);
    let mut flagged = 0;
    for (plan, person, review_date) in care_plan::overdue_unflagged(&state.db, now.date()).await? {
        let person = PersonId(person);
        // A job too passes the choke point: CarePact itself reads the plan's review date, recorded in the log.
        if crate::access::job_grant(state, person, Section::CarePlan, Action::Read, "plan-review-due")
            .await?
            .is_none()
        {
            continue;
        }
        let link = format!("/records/{}/plan", person.0);
        let url = format!("{}{link}", state.config.public_url.trim_end_matches('/'));
        let (subject, body) = crate::mail::compose(tr, "email-plan-review", &url);
        let mut to = Vec::new();
        if let Some(user) = carepact_store::people::account_of(&state.db, person).await? {
            to.push(user);
        }
        if let Some((contact, cover)) = carepact_store::care_team::named_contact(&state.db, person).await? {
            to.push(cover.unwrap_or(contact));
        }
        let notices: Vec<carepact_store::messages::Notice> = to
            .into_iter()
            .map(|user| carepact_store::messages::Notice {
                user,
                kind: "plan-review",
                link: link.clone(),
                email_subject: subject.clone(),
                email_body: body.clone(),
            })
            .collect();
        if care_plan::flag_overdue(&state.db, plan, &review_date, &notices, now).await? {
            flagged += 1;
        }
    }
    Ok(flagged)
}
