//! "I don't recognise this": the person questions one access in their log; it goes to the organisation of whoever
//! made it, into its work list.

use askama::Template;
use axum::extract::{Path, State};
use axum::response::{IntoResponse, Redirect, Response};
use carepact_domain::consent::Action;
use carepact_domain::identity::Role;
use carepact_store::queries;
use uuid::Uuid;

use crate::errors::AppError;
use crate::forms::{Errors, Fields};
use crate::pages::layout::{Chrome, render, require_role};
use crate::session::Session;
use crate::state::AppState;

#[derive(Template)]
#[template(path = "access_query.html")]
struct QueryPage<'a> {
    c: Chrome<'a>,
    event: Uuid,
    errors: Errors,
    body: String,
}

async fn page(session: &Session, event: Uuid, errors: Errors, body: String) -> Result<Response, AppError> {
    let c = Chrome::new(session)
        .await?
        .crumb("/access-log", "nav-access-log")
        .crumb(&format!("/access-log/{event}/query"), "query-title");
    Ok(render(&QueryPage { c, event, errors, body })?.into_response())
}

pub async fn form(session: Session, Path(event): Path<String>) -> Result<Response, AppError> {
    require_role(&session, &[Role::Person])?;
    let event = Uuid::parse_str(&event).map_err(|_| AppError::NotFound)?;
    page(&session, event, Errors::default(), String::new()).await
}

pub async fn raise(
    State(state): State<AppState>,
    session: Session,
    Path(event): Path<String>,
    form: Fields,
) -> Result<Response, AppError> {
    require_role(&session, &[Role::Person])?;
    let event = Uuid::parse_str(&event).map_err(|_| AppError::NotFound)?;
    let body = form.get("body").trim().to_owned();
    let mut errors = Errors::default();
    if body.is_empty() {
        errors.add(session.tr(), "body", "error-query-empty");
    } else if body.chars().count() > 2000 {
        errors.add(session.tr(), "body", "error-query-long");
    }
    if !errors.is_empty() {
        return page(&session, event, errors, body).await;
    }
    let entity = format!("access-query:{event}");
    let grant = crate::pages::sharing::own(&state, &session, Action::Write, &entity).await?;
    queries::raise(&state.db, &grant, event, &body, state.now())
        .await?
        .map_err(|_| AppError::NotFound)?;
    session.set_flash("flash-query-sent").await?;
    Ok(Redirect::to("/access-log").into_response())
}
