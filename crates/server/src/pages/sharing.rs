//! Sharing, controlled by the person: who may see or change which parts of their data, revoking at any moment,
//! and "who has looked at my record". Every page here acts on the signed-in person's own data, through the
//! choke point like everything else.

use askama::Template;
use axum::extract::{Path, State};
use axum::response::{IntoResponse, Redirect, Response};
use carepact_domain::consent::{Action, Consent, Grantee, Labels, Request, Section, Sections, Sensitivity};
use carepact_domain::identity::{Email, OrganisationId, PersonId, Role, parse_date_of_birth};
use carepact_store::access::Grant;
use carepact_store::audit::{self, AccessEntry};
use carepact_store::consents::{self, ConsentView};
use carepact_store::organisations::{self, Organisation};
use carepact_store::{people, users};
use time::{OffsetDateTime, Time};
use uuid::Uuid;

use crate::access::authorize;
use crate::errors::AppError;
use crate::forms::{Errors, Fields};
use crate::pages::layout::{Chrome, format_date, render, require_role};
use crate::session::Session;
use crate::state::AppState;

/// The signed-in person's grant over their own data, for `entity`.
pub(crate) async fn own(state: &AppState, session: &Session, action: Action, entity: &str) -> Result<Grant, AppError> {
    own_with(state, session, action, entity, false).await
}

/// [`own`], covering every sensitivity label when `all_labels` (views that name items of any label).
async fn own_with(
    state: &AppState,
    session: &Session,
    action: Action,
    entity: &str,
    all_labels: bool,
) -> Result<Grant, AppError> {
    let user = require_role(session, &[Role::Person])?;
    let person = people::id_for_user(&state.db, user.id)
        .await?
        .ok_or(AppError::NotFound)?;
    let request = Request {
        section: Section::Record,
        label: Sensitivity::General,
        action,
    };
    if all_labels {
        crate::access::authorize_labels(state, &user, person, request, entity, "person-access").await
    } else {
        authorize(state, &user, person, request, entity, "person-access").await
    }
}

struct RequestRow {
    id: Uuid,
    who: String,
    organisation: String,
    reason: String,
    sections: Vec<String>,
}

struct ConsentRow {
    id: Uuid,
    who: String,
    kind: String,
    sections: Vec<String>,
    labels: Vec<String>,
    write: bool,
    status: String,
    active: bool,
    ends: Option<String>,
}

#[derive(Template)]
#[template(path = "sharing.html")]
struct SharingPage<'a> {
    c: Chrome<'a>,
    requests: Vec<RequestRow>,
    csrf: String,
    rows: Vec<ConsentRow>,
    organisations: Vec<Organisation>,
    sections: Vec<Section>,
    labels: Vec<Sensitivity>,
    form: Fields,
    errors: Errors,
}

fn rows(c: &Chrome<'_>, list: Vec<ConsentView>, now: OffsetDateTime) -> Vec<ConsentRow> {
    list.into_iter()
        .map(|v| {
            let k = &v.consent;
            let (kind, status) = (
                match k.grantee {
                    Grantee::Professional(_) => "grantee-professional",
                    Grantee::Organisation(_) => "grantee-organisation",
                    Grantee::Carer(_) => "grantee-carer",
                },
                if k.revoked.is_some() {
                    "consent-revoked"
                } else if k.is_active(now) {
                    "consent-active"
                } else {
                    "consent-ended"
                },
            );
            ConsentRow {
                id: k.id,
                who: v.grantee_name,
                kind: c.t(kind),
                sections: k
                    .sections
                    .iter()
                    .map(|s| c.t(&format!("section-{}", s.code())))
                    .collect(),
                labels: k
                    .labels
                    .iter()
                    .map(|l| c.t(&format!("label-sensitivity-{}", l.code())))
                    .collect(),
                write: k.write,
                status: c.t(status),
                active: k.is_active(now),
                ends: k.ends.map(|e| format_date(c.tr, e.date())),
            }
        })
        .collect()
}

async fn page(state: &AppState, session: &Session, form: Fields, errors: Errors) -> Result<Response, AppError> {
    let grant = own(state, session, Action::Read, "consents").await?;
    let list = consents::list(&state.db, &grant)
        .await?
        .map_err(|_| AppError::NotFound)?;
    let pending = carepact_store::requests::pending(&state.db, &grant)
        .await?
        .map_err(|_| AppError::NotFound)?;
    let c = Chrome::new(session)
        .await?
        .crumb("/sharing", "nav-sharing")
        .with_errors(&errors);
    let status = errors.status();
    let requests = pending
        .into_iter()
        .map(|r| RequestRow {
            id: r.id,
            who: r.requester_name,
            organisation: r.organisation_name.unwrap_or_default(),
            reason: r.reason,
            sections: Sections::from_bits(r.sections)
                .iter()
                .map(|s| c.t(&format!("section-{}", s.code())))
                .collect(),
        })
        .collect();
    let page = SharingPage {
        requests,
        csrf: session.csrf_token().await?,
        rows: rows(&c, list, state.now()),
        c,
        organisations: organisations::list(&state.db).await?,
        sections: Section::ALL.to_vec(),
        labels: Sensitivity::ALL.to_vec(),
        form,
        errors,
    };
    Ok((status, render(&page)?).into_response())
}

pub async fn show(State(state): State<AppState>, session: Session) -> Result<Response, AppError> {
    page(&state, &session, Fields::default(), Errors::default()).await
}

pub async fn share(State(state): State<AppState>, session: Session, form: Fields) -> Result<Response, AppError> {
    let grant = own(&state, &session, Action::Write, "consents").await?;
    let tr = session.tr();
    let mut errors = Errors::default();
    let grantee = match form.get("grantee") {
        "professional" => match Email::parse(form.get("professional_email")) {
            Ok(email) => match users::find_by_email(&state.db, &email).await? {
                Some(u) if u.has_role(Role::Professional) || u.has_role(Role::LinkWorker) => {
                    Some(Grantee::Professional(u.id))
                }
                _ => {
                    errors.add(tr, "professional_email", "error-share-professional-unknown");
                    None
                }
            },
            Err(id) => {
                errors.add(tr, "professional_email", id);
                None
            }
        },
        "organisation" => {
            let id = Uuid::parse_str(form.get("organisation")).ok().map(OrganisationId);
            match id {
                Some(id) if organisations::get(&state.db, id).await?.is_some() => Some(Grantee::Organisation(id)),
                _ => {
                    errors.add(tr, "organisation", "error-share-organisation");
                    None
                }
            }
        }
        "carer" => match Email::parse(form.get("carer_email")) {
            Ok(email) => match users::find_by_email(&state.db, &email).await? {
                Some(u) if u.has_role(Role::Carer) => Some(Grantee::Carer(u.id)),
                _ => {
                    errors.add(tr, "carer_email", "error-share-carer-unknown");
                    None
                }
            },
            Err(id) => {
                errors.add(tr, "carer_email", id);
                None
            }
        },
        _ => {
            errors.add(tr, "grantee", "error-share-grantee");
            None
        }
    };
    let sections: Vec<Section> = form
        .all("sections")
        .into_iter()
        .filter_map(Section::from_code)
        .collect();
    if sections.is_empty() {
        errors.add(tr, "sections", "error-share-sections");
    }
    let labels: Vec<Sensitivity> = form
        .all("labels")
        .into_iter()
        .filter_map(Sensitivity::from_code)
        .collect();
    if labels.is_empty() {
        errors.add(tr, "labels", "error-share-labels");
    }
    let write = match form.get("access") {
        "read" => Some(false),
        "write" => Some(true),
        _ => {
            errors.add(tr, "access", "error-share-access");
            None
        }
    };
    let now = state.now();
    let ends = if [form.get("end_day"), form.get("end_month"), form.get("end_year")]
        .iter()
        .all(|s| s.trim().is_empty())
    {
        None
    } else {
        // Any real date from today on; the end date is the first day without access.
        match parse_date_of_birth(
            form.get("end_day"),
            form.get("end_month"),
            form.get("end_year"),
            time::Date::MAX,
        ) {
            Ok(date) if date > now.date() => Some(date.with_time(Time::MIDNIGHT).assume_utc()),
            _ => {
                errors.add(tr, "end_day", "error-share-end-date");
                None
            }
        }
    };
    let (Some(grantee), Some(write)) = (grantee, write) else {
        return page(&state, &session, form, errors).await;
    };
    if !errors.is_empty() {
        return page(&state, &session, form, errors).await;
    }
    let consent = Consent {
        id: Uuid::now_v7(),
        grantee,
        sections: Sections::of(&sections),
        labels: Labels::of(&labels),
        write,
        starts: now,
        ends,
        revoked: None,
    };
    consents::give(&state.db, &grant, &consent, now)
        .await?
        .map_err(|_| AppError::NotFound)?;
    session.set_flash("flash-done-shared").await?;
    Ok(Redirect::to("/sharing").into_response())
}

pub async fn revoke(
    State(state): State<AppState>,
    session: Session,
    Path(id): Path<String>,
) -> Result<Response, AppError> {
    let grant = own(&state, &session, Action::Write, "consents").await?;
    let id = Uuid::parse_str(&id).map_err(|_| AppError::NotFound)?;
    if !consents::revoke(&state.db, &grant, id, state.now())
        .await?
        .map_err(|_| AppError::NotFound)?
    {
        return Err(AppError::NotFound);
    }
    session.set_flash("flash-done-revoked").await?;
    Ok(Redirect::to("/sharing").into_response())
}

struct LogRow {
    when: String,
    who: String,
    organisation: String,
    what: String,
    why: String,
    refused: bool,
    /// The event, when the person can question it (an access by someone in an organisation).
    query: Option<Uuid>,
}

#[derive(Template)]
#[template(path = "access_log.html")]
struct AccessLogPage<'a> {
    c: Chrome<'a>,
    rows: Vec<LogRow>,
    emergencies: Vec<crate::pages::emergency::EmergencyRow>,
    who: Vec<FilterOption>,
    kinds: Vec<FilterOption>,
    from: String,
    to: String,
    errors: Errors,
    /// Whether any filter is set (the empty message differs).
    filtered: bool,
    total: i64,
    page: i64,
    pages: i64,
    /// The query string for another page, without `page`.
    query: String,
}

fn describe(c: &Chrome<'_>, e: &AccessEntry, titles: &std::collections::HashMap<Uuid, String>) -> LogRow {
    let when = c.when(e.occurred_at.0);
    let own = e.outcome == "permit:owner";
    // Views over several labels name them after a ';': the entity itself comes first, then what it is about.
    let entity = e.entity.split(';').next().unwrap_or("");
    let (entity, target) = entity.split_once(':').unwrap_or((entity, ""));
    let title = Uuid::parse_str(target).ok().and_then(|id| titles.get(&id));
    let about = |id: &str| match title {
        Some(title) => c.t_with(id, &[("title", title.as_str())]),
        None => c.t(&format!("{id}-unnamed")),
    };
    let what = match (e.action.as_str(), e.section.as_deref()) {
        (action @ ("grant" | "revoke"), _) if entity == "smart-app" => {
            crate::smart::log_what(c, own, action == "grant", title)
        }
        ("grant", _) => c.t("log-what-grant"),
        ("revoke", _) => c.t("log-what-revoke"),
        ("break-glass", _) => c.t("log-what-break-glass"),
        (action @ ("approve-request" | "decline-request" | "request-access"), _) => c.t(&format!("log-what-{action}")),
        // The person's own visits to their sharing page and this log.
        ("read", _) if own && matches!(entity, "consents" | "audit-log" | "person-details") => {
            c.t(&format!("log-what-own-{entity}"))
        }
        ("write", _) if own && entity == "person-details" => c.t("log-what-own-person-details-changed"),
        ("write", _) if entity == "import-record" => c.t("log-what-import-record"),
        ("write", _) if own && entity == "record-note" => about("log-what-own-note"),
        ("write", _) if own && entity == "record-correction" => about("log-what-own-correction"),
        ("write", _) if own && entity == "access-query" => c.t("log-what-own-access-query"),
        (action @ ("read" | "write"), _) if matches!(entity, "correction-request" | "access-query") => {
            c.t(&format!("log-what-{action}-{entity}"))
        }
        ("read", _) if entity == "smart-app-connect" => c.t("log-what-read-smart-app-connect"),
        ("read", _) if entity == "record-item" => about("log-what-read-item"),
        ("read", _) if entity == "record-attachment" => about("log-what-read-attachment"),
        ("read", _)
            if matches!(
                entity,
                "summary-of-record" | "timeline-of-record" | "export" | "import-form"
            ) =>
        {
            c.t(&format!("log-what-read-{entity}"))
        }
        (action, Some(section)) => c.t_with(
            &format!("log-what-{action}"),
            &[("section", c.t(&format!("section-{section}")).to_lowercase().as_str())],
        ),
        (action, None) => action.to_owned(),
    };
    LogRow {
        when,
        who: match (&e.actor_name, e.actor_role.as_str(), &e.app_name) {
            (Some(name), _, Some(app)) => c.t_with("log-who-through-app", &[("name", name), ("app", app)]),
            (Some(name), _, None) if e.via.as_deref().is_some_and(|v| v.starts_with("token:")) => {
                c.t_with("log-who-through-token", &[("name", name)])
            }
            (Some(name), _, None) => name.clone(),
            (None, "operator", _) => c.t("log-who-operator"),
            (None, _, _) => c.t("log-who-unknown"),
        },
        organisation: e.organisation_name.clone().unwrap_or_default(),
        what,
        why: c.t(&format!("purpose-{}", e.purpose)),
        refused: e.outcome.starts_with("deny"),
        query: e.organisation_id.filter(|_| !own).map(|_| e.id),
    }
}

#[derive(Debug, Default, serde::Deserialize)]
pub struct LogQuery {
    #[serde(default)]
    who: String,
    #[serde(default)]
    kind: String,
    #[serde(default)]
    from: String,
    #[serde(default)]
    to: String,
    #[serde(default)]
    page: String,
}

/// How many entries one page of the access log shows.
const LOG_PAGE: i64 = 50;

/// A choice in one of the log's filter lists.
struct FilterOption {
    value: String,
    name: String,
    selected: bool,
}

pub async fn access_log(
    State(state): State<AppState>,
    session: Session,
    axum::extract::Query(q): axum::extract::Query<LogQuery>,
) -> Result<Response, AppError> {
    // Over every label, so the log can name items of any sensitivity: it is the person's own.
    let grant = own_with(&state, &session, Action::Read, "audit-log", true).await?;
    let tr = session.tr();
    let mut errors = Errors::default();
    let (from, to) = crate::forms::date_range(&q.from, &q.to, &mut errors, tr);
    let start_of = |d: time::Date| d.with_time(Time::MIDNIGHT).assume_utc();
    let kind = audit::LogKind::from_code(&q.kind);
    let organisation = Uuid::parse_str(&q.who).ok();
    let page = q.page.parse::<i64>().unwrap_or(1).max(1);
    let filter = audit::LogFilter {
        others_only: q.who == "others",
        organisation,
        kind,
        from: from.map(start_of),
        until: to.and_then(|d| d.next_day()).map(start_of),
        offset: (page - 1) * LOG_PAGE,
        limit: LOG_PAGE,
    };
    let found = audit::access_log(&state.db, &grant, &filter)
        .await?
        .map_err(|_| AppError::NotFound)?;
    let organisations = audit::log_organisations(&state.db, &grant)
        .await?
        .map_err(|_| AppError::NotFound)?;
    let emergencies = consents::emergency_accesses(&state.db, &grant)
        .await?
        .map_err(|_| AppError::NotFound)?;
    let c = Chrome::new(&session).await?.crumb("/access-log", "nav-access-log");
    let items: Vec<Uuid> = found
        .entries
        .iter()
        .filter_map(|e| e.entity.split(';').next()?.split_once(':'))
        .filter(|(kind, _)| kind.starts_with("record-"))
        .filter_map(|(_, id)| Uuid::parse_str(id).ok())
        .collect();
    let mut titles = carepact_store::record::titles(&state.db, &grant, &items)
        .await?
        .map_err(|_| AppError::NotFound)?;
    titles.extend(crate::smart::app_names(&state, &found.entries).await?);
    let rows = found.entries.iter().map(|e| describe(&c, e, &titles)).collect();
    let emergencies = crate::pages::emergency::rows(&c, &emergencies);
    let option = |value: String, name: String, selected: bool| FilterOption { value, name, selected };
    let mut who = vec![
        option(String::new(), c.t("log-filter-who-all"), q.who.is_empty()),
        option("others".into(), c.t("log-filter-who-others"), q.who == "others"),
    ];
    who.extend(
        organisations
            .into_iter()
            .map(|(id, name)| option(id.to_string(), name, organisation == Some(id))),
    );
    let mut kinds = vec![option(String::new(), c.t("log-filter-kind-all"), kind.is_none())];
    kinds.extend(audit::LogKind::ALL.into_iter().map(|k| {
        option(
            k.code().to_owned(),
            c.t(&format!("log-filter-kind-{}", k.code())),
            kind == Some(k),
        )
    }));
    let query = form_urlencoded::Serializer::new(String::new())
        .append_pair("who", &q.who)
        .append_pair("kind", &q.kind)
        .append_pair("from", &q.from)
        .append_pair("to", &q.to)
        .finish();
    let filtered = !(q.who.is_empty() && q.kind.is_empty() && q.from.is_empty() && q.to.is_empty());
    Ok(render(&AccessLogPage {
        c,
        rows,
        emergencies,
        who,
        kinds,
        from: q.from.clone(),
        to: q.to.clone(),
        errors,
        filtered,
        total: found.total,
        page,
        pages: ((found.total + LOG_PAGE - 1) / LOG_PAGE).max(1),
        query,
    })?
    .into_response())
}

/// The people whose records a professional or carer may open, each passing the choke point (and audited).
pub async fn shared_with_me(state: &AppState, user: &users::User, page: i64) -> Result<SharedPage, AppError> {
    let now = state.now();
    let page = page.max(1);
    let (candidates, total) = consents::candidates_shared_with_page(
        &state.db,
        user.id,
        user.organisation_id,
        now,
        SHARED_PAGE,
        (page - 1).saturating_mul(SHARED_PAGE),
    )
    .await?;
    let mut out = Vec::new();
    for person in candidates {
        let request = Request {
            section: Section::Record,
            label: Sensitivity::General,
            action: Action::Read,
        };
        let Ok(grant) = authorize(state, user, person, request, "person-list", "direct-care").await else {
            continue;
        };
        if let Some(p) = people::summary(&state.db, &grant).await? {
            out.push((p.id, p.full_name(), p.nhs_number.map(|n| n.to_string())));
        }
    }
    Ok(SharedPage {
        people: out,
        page,
        pages: (total + SHARED_PAGE - 1) / SHARED_PAGE,
        total,
    })
}

/// People listed on a page of [`shared_with_me`].
const SHARED_PAGE: i64 = 25;

/// One page of the people who share their record with a user, in order of family name, each opened through the
/// choke point (and so in their access log), with the page number, how many pages and people there are in all.
pub struct SharedPage {
    pub people: Vec<(PersonId, String, Option<String>)>,
    pub page: i64,
    pub pages: i64,
    pub total: i64,
}

#[derive(Template)]
#[template(path = "record_summary.html")]
struct RecordSummaryPage<'a> {
    c: Chrome<'a>,
    person: people::Person,
    /// Opened under emergency access rather than consent.
    emergency: bool,
    summary: crate::pages::record::SummaryView,
    base: String,
    /// The person's own record.
    own: bool,
    /// Whether the viewer may add to the record (the person, or someone they let write to it).
    may_add: bool,
}

/// A person's record as a professional or carer with consent sees it.
pub async fn record(
    State(state): State<AppState>,
    session: Session,
    Path(id): Path<String>,
) -> Result<Response, AppError> {
    let user = session.require_user()?.clone();
    let person = Uuid::parse_str(&id).map(PersonId).map_err(|_| AppError::NotFound)?;
    let request = Request {
        section: Section::Record,
        label: Sensitivity::General,
        action: Action::Read,
    };
    let grant = crate::access::authorize_care(&state, &user, person, request, "person-summary").await?;
    let own = grant.is_owner();
    let person_id = person;
    let person = people::summary(&state.db, &grant).await?.ok_or(AppError::NotFound)?;
    let c = Chrome::new(&session)
        .await?
        .link(&format!("/records/{id}"), person.full_name());
    let emergency = matches!(grant.basis(), carepact_domain::consent::Basis::BreakGlass(_));
    let summary = crate::pages::record::summary(
        &state,
        &c,
        &user,
        person_id,
        if own { "person-access" } else { "direct-care" },
    )
    .await?;
    let base = format!("/records/{id}");
    Ok(render(&RecordSummaryPage {
        c,
        person,
        emergency,
        summary,
        base,
        own,
        may_add: grant.may_write(),
    })?
    .into_response())
}
