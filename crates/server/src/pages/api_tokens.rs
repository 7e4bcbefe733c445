//! Personal API tokens on the pages: the signed-in user's own (`/account/tokens`) and, for an organisation admin,
//! their staff's (`/admin/tokens`), each with Revoke. Tokens are made only at the command line
//! (`carepact token create`), so no page ever holds a secret. Revoking is audited by the store and takes effect at
//! once.

use askama::Template;
use axum::extract::{Path, State};
use axum::response::{IntoResponse, Redirect, Response};
use carepact_domain::identity::Role;
use carepact_store::api_tokens::{self, ApiToken, By, Revoked, Status};
use carepact_store::organisations;
use uuid::Uuid;

use crate::errors::AppError;
use crate::pages::layout::{Chrome, render, require_role};
use crate::session::Session;
use crate::state::AppState;

/// One token as a row of the table.
struct TokenRow {
    /// Where its Revoke form posts.
    action: String,
    label: String,
    /// For the admin's list: the user's name and email address.
    whose: Option<(String, String)>,
    created: String,
    expires: String,
    last_used: Option<String>,
    status: &'static str,
    tag: &'static str,
    active: bool,
}

fn row(
    c: &Chrome<'_>,
    base: &str,
    t: &ApiToken,
    whose: Option<(String, String)>,
    now: time::OffsetDateTime,
) -> TokenRow {
    let status = t.status(now);
    let (status_id, tag) = match status {
        Status::Active => ("tokens-status-active", "nhsuk-tag--green"),
        Status::Expired => ("tokens-status-expired", "nhsuk-tag--grey"),
        Status::Revoked => ("tokens-status-revoked", "nhsuk-tag--red"),
        Status::AccountOff => ("tokens-status-account-off", "nhsuk-tag--grey"),
    };
    TokenRow {
        action: format!("{base}/{}/revoke", t.id),
        label: t.label.clone(),
        whose,
        created: c.when(t.created_at.0),
        expires: c.when(t.expires_at.0),
        last_used: t.last_used_at.map(|u| c.when(u.0)),
        status: status_id,
        tag,
        active: matches!(status, Status::Active | Status::AccountOff),
    }
}

#[derive(Template)]
#[template(path = "api_tokens.html")]
struct TokensPage<'a> {
    c: Chrome<'a>,
    csrf: String,
    /// The organisation admin's list (with whose each token is), or the user's own.
    admin: bool,
    rows: Vec<TokenRow>,
}

/// The signed-in user's own tokens.
pub async fn own(State(state): State<AppState>, session: Session) -> Result<Response, AppError> {
    let user = session.require_user()?.clone();
    let tokens = api_tokens::list_for_user(&state.db, user.id).await?;
    let c = Chrome::new(&session)
        .await?
        .crumb("/account", "nav-account")
        .crumb("/account/tokens", "tokens-title");
    let now = state.now();
    let rows = tokens
        .iter()
        .map(|t| row(&c, "/account/tokens", t, None, now))
        .collect();
    let page = TokensPage {
        csrf: session.csrf_token().await?,
        c,
        admin: false,
        rows,
    };
    Ok(render(&page)?.into_response())
}

/// The tokens of the organisation admin's staff.
pub async fn organisation(State(state): State<AppState>, session: Session) -> Result<Response, AppError> {
    let user = require_role(&session, &[Role::OrganisationAdmin])?;
    let org = user
        .organisation_id
        .ok_or(AppError::Forbidden("error-forbidden-body"))?;
    let organisation = organisations::get(&state.db, org).await?.ok_or(AppError::NotFound)?;
    let tokens = api_tokens::list_for_organisation(&state.db, org).await?;
    let c = Chrome::new(&session)
        .await?
        .link(&format!("/organisations/{org}"), organisation.name)
        .crumb("/admin/tokens", "tokens-admin-title");
    let now = state.now();
    let rows = tokens
        .iter()
        .map(|t| {
            let whose = Some((t.user_name.clone(), t.user_email.clone()));
            row(&c, "/admin/tokens", &t.token, whose, now)
        })
        .collect();
    let page = TokensPage {
        csrf: session.csrf_token().await?,
        c,
        admin: true,
        rows,
    };
    Ok(render(&page)?.into_response())
}

async fn revoke(state: &AppState, session: &Session, id: &str, back: &str) -> Result<Response, AppError> {
    let user = session.require_user()?;
    let id = Uuid::parse_str(id).map_err(|_| AppError::NotFound)?;
    match api_tokens::revoke(&state.db, id, By::User(user.id), state.now()).await? {
        Revoked::Done | Revoked::Already => {}
        Revoked::NotFound => return Err(AppError::NotFound),
    }
    session.set_flash("flash-done-token-revoked").await?;
    Ok(Redirect::to(back).into_response())
}

/// The user revokes one of their own tokens.
pub async fn revoke_own(
    State(state): State<AppState>,
    session: Session,
    Path(id): Path<String>,
) -> Result<Response, AppError> {
    revoke(&state, &session, &id, "/account/tokens").await
}

/// An organisation admin revokes a token of one of their staff (the store checks the organisation).
pub async fn revoke_staff(
    State(state): State<AppState>,
    session: Session,
    Path(id): Path<String>,
) -> Result<Response, AppError> {
    require_role(&session, &[Role::OrganisationAdmin])?;
    revoke(&state, &session, &id, "/admin/tokens").await
}
