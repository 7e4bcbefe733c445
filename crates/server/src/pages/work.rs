//! An organisation's work list: what people have addressed to it — "this is wrong or missing" about a record it
//! supplied, and "I don't recognise this" about an access by its staff — and the answers. Each item is opened
//! through the choke point (`authorize_addressed`), which grants that one item only.

use askama::Template;
use axum::extract::{Path, State};
use axum::response::{IntoResponse, Redirect, Response};
use carepact_domain::consent::Action;
use carepact_domain::identity::Role;
use carepact_store::access::{Addressed, authorize_addressed};
use carepact_store::queries::{self, AddressedView};
use carepact_store::users::User;
use uuid::Uuid;

use crate::access::{acting_role, actor};
use crate::errors::AppError;
use crate::forms::Fields;
use crate::pages::layout::{Chrome, render, require_role};
use crate::session::Session;
use crate::state::AppState;

struct Row {
    kind: &'static str,
    id: Uuid,
    heading: String,
    person: String,
    about: String,
    body: String,
    raised: String,
}

#[derive(Template)]
#[template(path = "work.html")]
struct WorkPage<'a> {
    c: Chrome<'a>,
    rows: Vec<Row>,
}

const STAFF: [Role; 3] = [Role::Professional, Role::LinkWorker, Role::OrganisationAdmin];

async fn open(
    state: &AppState,
    user: &User,
    what: Addressed,
    action: Action,
) -> Result<Option<AddressedView>, AppError> {
    let grant = authorize_addressed(
        &state.db,
        &state.audit,
        &actor(user),
        acting_role(user),
        what,
        action,
        state.now(),
    )
    .await?;
    let Ok(grant) = grant else { return Ok(None) };
    Ok(queries::view(&state.db, &grant, what).await?.ok())
}

pub async fn show(State(state): State<AppState>, session: Session) -> Result<Response, AppError> {
    let user = require_role(&session, &STAFF)?;
    let organisation = user.organisation_id.ok_or(AppError::NotFound)?;
    let c = Chrome::new(&session).await?.crumb("/work", "work-title");
    let mut rows = Vec::new();
    for (what, _) in queries::addressed_to(&state.db, organisation).await? {
        let Some(v) = open(&state, &user, what, Action::Read).await? else {
            continue;
        };
        let (kind, heading) = match what {
            Addressed::Correction(_) => ("corrections", c.t("work-correction")),
            Addressed::AccessQuery(_) => ("queries", c.t("work-access-query")),
        };
        let nhs = v.nhs_number.clone().unwrap_or_default();
        let about = match (&v.about, &v.about_when) {
            (Some(who), Some(when)) => format!("{who}, {}", c.date(&when.0.date())),
            (Some(title), None) => title.clone(),
            _ => String::new(),
        };
        rows.push(Row {
            kind,
            id: v.id,
            heading,
            person: format!("{} {} {}", v.given_name, v.family_name, nhs).trim().to_owned(),
            about,
            body: v.body,
            raised: c.date(&v.created_at.0.date()),
        });
    }
    Ok(render(&WorkPage { c, rows })?.into_response())
}

pub async fn answer(
    State(state): State<AppState>,
    session: Session,
    Path((kind, id)): Path<(String, String)>,
    form: Fields,
) -> Result<Response, AppError> {
    let user = require_role(&session, &STAFF)?;
    let id = Uuid::parse_str(&id).map_err(|_| AppError::NotFound)?;
    let what = match kind.as_str() {
        "corrections" => Addressed::Correction(id),
        "queries" => Addressed::AccessQuery(id),
        _ => return Err(AppError::NotFound),
    };
    let response = form.get("response").trim();
    if response.is_empty() || response.chars().count() > 2000 {
        session.set_flash("flash-work-answer-empty").await?;
        return Ok(Redirect::to("/work").into_response());
    }
    let grant = authorize_addressed(
        &state.db,
        &state.audit,
        &actor(&user),
        acting_role(&user),
        what,
        Action::Write,
        state.now(),
    )
    .await?
    .map_err(|_| AppError::NotFound)?;
    queries::answer(&state.db, &grant, what, response, state.now())
        .await?
        .map_err(|_| AppError::NotFound)?;
    session.set_flash("flash-work-answered").await?;
    Ok(Redirect::to("/work").into_response())
}
