//! In-app notifications: what is new for the signed-in user (a message, a thread passed to them, a review due),
//! each a link, and their choice of which kinds also come by email.

use askama::Template;
use axum::extract::{Path, State};
use axum::response::{IntoResponse, Redirect, Response};
use carepact_store::notifications::{self, KINDS};
use uuid::Uuid;

use crate::errors::AppError;
use crate::forms::Fields;
use crate::pages::layout::{Chrome, render};
use crate::session::Session;
use crate::state::AppState;

struct Row {
    id: Uuid,
    what: String,
    when: String,
    unread: bool,
}

#[derive(Template)]
#[template(path = "notifications.html")]
struct Page<'a> {
    c: Chrome<'a>,
    rows: Vec<Row>,
    /// (kind, label, by email)
    kinds: Vec<(&'static str, String, bool)>,
}

pub async fn list(State(state): State<AppState>, session: Session) -> Result<Response, AppError> {
    let user = session.require_user()?.clone();
    let found = notifications::list(&state.db, user.id, 100).await?;
    let email = notifications::email_kinds(&state.db, user.id).await?;
    let c = Chrome::new(&session)
        .await?
        .crumb("/notifications", "notifications-title");
    let rows = found
        .iter()
        .map(|n| Row {
            id: n.id,
            what: c.t(&format!("notification-{}", n.kind)),
            when: c.when(n.created_at.0),
            unread: n.read_at.is_none(),
        })
        .collect();
    let kinds = KINDS
        .into_iter()
        .map(|k| (k, c.t(&format!("notification-kind-{k}")), email.contains(&k)))
        .collect();
    Ok(render(&Page { c, rows, kinds })?.into_response())
}

/// Opens a notification: marks it read and goes where it points.
pub async fn open(
    State(state): State<AppState>,
    session: Session,
    Path(id): Path<String>,
) -> Result<Response, AppError> {
    let user = session.require_user()?.clone();
    let id = Uuid::parse_str(&id).map_err(|_| AppError::NotFound)?;
    let link = notifications::open(&state.db, user.id, id, state.now())
        .await?
        .filter(|l| l.starts_with('/') && !l.starts_with("//"))
        .ok_or(AppError::NotFound)?;
    Ok(Redirect::to(&link).into_response())
}

/// Saves which kinds come by email.
pub async fn choose(State(state): State<AppState>, session: Session, form: Fields) -> Result<Response, AppError> {
    let user = session.require_user()?.clone();
    notifications::set_email_kinds(&state.db, user.id, &form.all("email")).await?;
    session.set_flash("flash-done-notifications-saved").await?;
    Ok(Redirect::to("/notifications").into_response())
}
