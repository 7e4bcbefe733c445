//! Asking for access: a professional asks to see a person's record, by NHS number and with a reason; the person
//! answers on their sharing page. The professional only ever sees "granted" or "waiting".

use askama::Template;
use axum::extract::{Path, State};
use axum::response::{IntoResponse, Redirect, Response};
use carepact_domain::NhsNumber;
use carepact_domain::consent::{Action, Section, Sections};
use carepact_domain::identity::{Role, required_text};
use carepact_store::requests;
use uuid::Uuid;

use crate::access::actor;
use crate::errors::AppError;
use crate::forms::{Errors, Fields};
use crate::mail;
use crate::pages::layout::{Chrome, format_date, render, require_role};
use crate::session::Session;
use crate::state::AppState;

const MAY_ASK: [Role; 2] = [Role::Professional, Role::LinkWorker];

struct Row {
    nhs_number: String,
    when: String,
    granted: bool,
}

#[derive(Template)]
#[template(path = "access_requests.html")]
struct RequestsPage<'a> {
    c: Chrome<'a>,
    csrf: String,
    rows: Vec<Row>,
    sections: Vec<Section>,
    form: Fields,
    errors: Errors,
}

async fn page(state: &AppState, session: &Session, form: Fields, errors: Errors) -> Result<Response, AppError> {
    let user = require_role(session, &MAY_ASK)?;
    let c = Chrome::new(session)
        .await?
        .crumb("/access-requests", "nav-access-requests")
        .with_errors(&errors);
    let rows = requests::mine(&state.db, user.id)
        .await?
        .into_iter()
        .map(|r| Row {
            nhs_number: NhsNumber::parse(&r.nhs_number)
                .map(|n| n.to_string())
                .unwrap_or(r.nhs_number),
            when: format_date(c.tr, r.created_at.date()),
            granted: r.granted,
        })
        .collect();
    let status = errors.status();
    let page = RequestsPage {
        csrf: session.csrf_token().await?,
        c,
        rows,
        sections: Section::ALL.to_vec(),
        form,
        errors,
    };
    Ok((status, render(&page)?).into_response())
}

pub async fn show(State(state): State<AppState>, session: Session) -> Result<Response, AppError> {
    page(&state, &session, Fields::default(), Errors::default()).await
}

pub async fn ask(State(state): State<AppState>, session: Session, form: Fields) -> Result<Response, AppError> {
    let user = require_role(&session, &MAY_ASK)?;
    let tr = session.tr();
    let mut errors = Errors::default();
    let nhs = NhsNumber::parse(form.get("nhs_number"))
        .map_err(|e| errors.add(tr, "nhs_number", e.message_id()))
        .ok();
    let sections: Vec<Section> = form
        .all("sections")
        .into_iter()
        .filter_map(Section::from_code)
        .collect();
    if sections.is_empty() {
        errors.add(tr, "sections", "error-share-sections-ask");
    }
    let reason = required_text("reason", form.get("reason"), 1000, "error-request-reason")
        .map_err(|e| errors.add(tr, e.field, e.message_id))
        .ok();
    let (Some(nhs), Some(reason)) = (nhs, reason) else {
        return page(&state, &session, form, errors).await;
    };
    if !errors.is_empty() {
        return page(&state, &session, form, errors).await;
    }
    let link = format!("{}/sharing", state.config.public_url.trim_end_matches('/'));
    let notice = |_: &str| mail::compose(tr, "email-access-request", &link);
    requests::ask(
        &state.db,
        &actor(&user),
        &nhs,
        &reason,
        Sections::of(&sections),
        notice,
        state.now(),
    )
    .await?;
    session.set_flash("flash-done-request-sent").await?;
    Ok(Redirect::to("/access-requests").into_response())
}

/// The person approves or declines a request (from their sharing page).
pub async fn answer(
    State(state): State<AppState>,
    session: Session,
    Path((id, verdict)): Path<(String, String)>,
) -> Result<Response, AppError> {
    require_role(&session, &[Role::Person])?;
    let approve = match verdict.as_str() {
        "approve" => true,
        "decline" => false,
        _ => return Err(AppError::NotFound),
    };
    let grant = crate::pages::sharing::own(&state, &session, Action::Write, "consents").await?;
    let id = Uuid::parse_str(&id).map_err(|_| AppError::NotFound)?;
    if !requests::answer(&state.db, &grant, id, approve, state.now())
        .await?
        .map_err(|_| AppError::NotFound)?
    {
        return Err(AppError::NotFound);
    }
    session
        .set_flash(if approve {
            "flash-done-request-approved"
        } else {
            "flash-done-request-declined"
        })
        .await?;
    Ok(Redirect::to("/sharing").into_response())
}
