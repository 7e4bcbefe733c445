//! Signing in and out, password reset by emailed link, and accepting an invitation.

use askama::Template;
use axum::extract::{Path, State};
use axum::http::{HeaderValue, StatusCode, header};
use axum::response::{IntoResponse, Redirect, Response};
use carepact_domain::identity::{Email, Password};
use carepact_domain::throttle::{ThrottleKey, WINDOW, is_locked};
use carepact_store::{throttle, tokens, users};
use time::Duration;

use crate::errors::AppError;
use crate::forms::{Errors, Fields};
use crate::mail;
use crate::pages::layout::{Chrome, render};
use crate::session::{Session, idle_minutes};
use crate::state::AppState;
use crate::tokens::{digest_hex, random_token, token_hash, well_formed};

const RESET_LIFETIME: Duration = Duration::hours(1);

#[derive(Template)]
#[template(path = "sign_in.html")]
struct SignInPage<'a> {
    c: Chrome<'a>,
    csrf: String,
    email: String,
    errors: Errors,
    idle_minutes: String,
    /// Where to go once signed in (a path on this site), carried through the form.
    next: String,
}

/// Where to go after signing in: `next` when it is a path on this site (so a request that needed sign-in, such as
/// an app asking to connect, carries on), else the home page. Anything else is ignored, so this cannot send
/// anyone to another site.
fn after_sign_in(next: &str) -> &str {
    let local = next.starts_with('/')
        && !next.starts_with("//")
        && next.len() <= 4096
        && !next.chars().any(|c| c.is_control() || c == '\\');
    if local { next } else { "/" }
}

/// The `next` parameter of the sign-in page.
#[derive(Debug, Default, serde::Deserialize)]
pub struct NextQuery {
    #[serde(default)]
    next: String,
}

async fn sign_in_page(
    session: &Session,
    email: &str,
    next: &str,
    errors: Errors,
    status: StatusCode,
) -> Result<Response, AppError> {
    let csrf = session.csrf_token().await?;
    let c = Chrome::new(session).await?.with_errors(&errors);
    let page = SignInPage {
        c,
        csrf,
        email: email.to_owned(),
        errors,
        idle_minutes: idle_minutes().to_string(),
        next: match after_sign_in(next) {
            "/" => String::new(),
            local => local.to_owned(),
        },
    };
    Ok((status, render(&page)?).into_response())
}

pub async fn sign_in_form(
    session: Session,
    axum::extract::Query(q): axum::extract::Query<NextQuery>,
) -> Result<Response, AppError> {
    if session.user().is_some() {
        return Ok(Redirect::to(after_sign_in(&q.next)).into_response());
    }
    sign_in_page(&session, "", &q.next, Errors::default(), StatusCode::OK).await
}

fn too_many() -> Response {
    let mut response = AppError::TooManyRequests.into_response();
    if let Ok(v) = HeaderValue::from_str(&WINDOW.whole_seconds().to_string()) {
        response.headers_mut().insert(header::RETRY_AFTER, v);
    }
    response
}

/// True when either key has reached the limit within the window.
async fn throttled(state: &AppState, keys: &[String]) -> Result<bool, AppError> {
    let since = state.now() - WINDOW;
    for key in keys {
        if is_locked(throttle::failures_since(&state.db, key, since).await?) {
            return Ok(true);
        }
    }
    Ok(false)
}

pub async fn sign_in(State(state): State<AppState>, session: Session, form: Fields) -> Result<Response, AppError> {
    let tr = session.tr();
    let (email_text, password) = (form.get("email").trim(), form.get("password"));
    let next = form.get("next");
    let mut errors = Errors::default();
    if email_text.is_empty() {
        errors.add(tr, "email", "error-sign-in-email-empty");
    }
    if password.is_empty() {
        errors.add(tr, "password", "error-sign-in-password-empty");
    }
    if !errors.is_empty() {
        return sign_in_page(&session, email_text, next, errors, StatusCode::BAD_REQUEST).await;
    }
    let keys = [
        ThrottleKey::Account(digest_hex(&email_text.to_lowercase())).as_key(),
        ThrottleKey::Address(session.client().to_owned()).as_key(),
    ];
    if throttled(&state, &keys).await? {
        return Ok(too_many());
    }
    let credentials = match Email::parse(email_text) {
        Ok(email) => users::credentials(&state.db, &email).await?,
        Err(_) => None,
    };
    let stored = credentials
        .as_ref()
        .filter(|c| c.active)
        .and_then(|c| c.password_hash.as_deref());
    let ok = state.passwords.verify(password, stored).await?;
    match credentials {
        Some(c) if ok => {
            throttle::clear(&state.db, &keys[0]).await?;
            session.sign_in(c.user_id).await?;
            Ok(Redirect::to(after_sign_in(next)).into_response())
        }
        _ => {
            throttle::record_failure(&state.db, &keys, state.now()).await?;
            errors.add(tr, "email", "error-sign-in-wrong");
            sign_in_page(&session, email_text, next, errors, StatusCode::UNAUTHORIZED).await
        }
    }
}

pub async fn sign_out(session: Session) -> Result<Response, AppError> {
    session.sign_out("flash-signed-out").await?;
    Ok(Redirect::to("/sign-in").into_response())
}

#[derive(Template)]
#[template(path = "password_reset_request.html")]
struct ResetRequestPage<'a> {
    c: Chrome<'a>,
    csrf: String,
    email: String,
    errors: Errors,
}

#[derive(Template)]
#[template(path = "password_reset_sent.html")]
struct ResetSentPage<'a> {
    c: Chrome<'a>,
    email: String,
}

pub async fn reset_request_form(session: Session) -> Result<Response, AppError> {
    let csrf = session.csrf_token().await?;
    let c = Chrome::new(&session).await?.crumb("/sign-in", "nav-sign-in");
    Ok(render(&ResetRequestPage {
        c,
        csrf,
        email: String::new(),
        errors: Errors::default(),
    })?
    .into_response())
}

pub async fn reset_request(
    State(state): State<AppState>,
    session: Session,
    form: Fields,
) -> Result<Response, AppError> {
    let tr = session.tr();
    let email = match Email::parse(form.get("email")) {
        Ok(email) => email,
        Err(id) => {
            let mut errors = Errors::default();
            errors.add(tr, "email", id);
            let csrf = session.csrf_token().await?;
            let c = Chrome::new(&session)
                .await?
                .crumb("/sign-in", "nav-sign-in")
                .with_errors(&errors);
            let page = ResetRequestPage {
                c,
                csrf,
                email: form.get("email").to_owned(),
                errors,
            };
            return Ok((StatusCode::BAD_REQUEST, render(&page)?).into_response());
        }
    };
    // Reset requests are throttled like sign-in failures, so nobody can flood an inbox from here.
    let keys = [
        format!("reset-{}", ThrottleKey::Account(digest_hex(email.as_str())).as_key()),
        format!("reset-{}", ThrottleKey::Address(session.client().to_owned()).as_key()),
    ];
    if throttled(&state, &keys).await? {
        return Ok(too_many());
    }
    throttle::record_failure(&state.db, &keys, state.now()).await?;
    if let Some(user) = users::find_by_email(&state.db, &email).await?.filter(|u| u.active) {
        let token = random_token()?;
        let now = state.now();
        tokens::issue(
            &state.db,
            &token_hash(&token),
            tokens::Purpose::PasswordReset,
            user.id,
            now,
            now + RESET_LIFETIME,
        )
        .await?;
        let link = format!(
            "{}/password-reset/{token}",
            state.config.public_url.trim_end_matches('/')
        );
        mail::queue(&state, tr, email.as_str(), "email-password-reset", &link).await?;
    }
    // The same answer whether or not the address has an account: this page must not reveal who uses CarePact.
    let c = Chrome::new(&session).await?.crumb("/sign-in", "nav-sign-in");
    Ok(render(&ResetSentPage {
        c,
        email: email.to_string(),
    })?
    .into_response())
}

#[derive(Template)]
#[template(path = "set_password.html")]
struct SetPasswordPage<'a> {
    c: Chrome<'a>,
    csrf: String,
    heading: String,
    action: String,
    errors: Errors,
}

#[derive(Template)]
#[template(path = "link_invalid.html")]
struct LinkInvalidPage<'a> {
    c: Chrome<'a>,
}

async fn link_invalid(session: &Session) -> Result<Response, AppError> {
    let c = Chrome::new(session).await?;
    Ok((StatusCode::NOT_FOUND, render(&LinkInvalidPage { c })?).into_response())
}

async fn set_password_page(
    session: &Session,
    purpose: tokens::Purpose,
    token: &str,
    errors: Errors,
) -> Result<Response, AppError> {
    let (heading, action) = match purpose {
        tokens::Purpose::PasswordReset => ("reset-heading", format!("/password-reset/{token}")),
        tokens::Purpose::Invitation => ("invitation-heading", format!("/invitation/{token}")),
    };
    let csrf = session.csrf_token().await?;
    let c = Chrome::new(session).await?.with_errors(&errors);
    let status = errors.status();
    let page = SetPasswordPage {
        heading: c.t(heading),
        c,
        csrf,
        action,
        errors,
    };
    Ok((status, render(&page)?).into_response())
}

async fn token_form(
    state: &AppState,
    session: &Session,
    purpose: tokens::Purpose,
    token: &str,
) -> Result<Response, AppError> {
    let live = well_formed(token)
        && tokens::peek(&state.db, &token_hash(token), purpose, state.now())
            .await?
            .is_some();
    if !live {
        return link_invalid(session).await;
    }
    set_password_page(session, purpose, token, Errors::default()).await
}

async fn set_password_with_token(
    state: &AppState,
    session: &Session,
    purpose: tokens::Purpose,
    token: &str,
    form: &Fields,
) -> Result<Response, AppError> {
    if !well_formed(token) {
        return link_invalid(session).await;
    }
    let tr = session.tr();
    let mut errors = Errors::default();
    let password = Password::parse(form.get("password"))
        .map_err(|id| errors.add(tr, "password", id))
        .ok();
    if password.is_some() && form.get("password") != form.get("confirm_password") {
        errors.add(tr, "confirm_password", "error-password-mismatch");
    }
    let Some(password) = password.filter(|_| errors.is_empty()) else {
        return set_password_page(session, purpose, token, errors).await;
    };
    let hash = state.passwords.hash(password.expose()).await?;
    match tokens::consume_and_set_password(&state.db, &token_hash(token), purpose, &hash, state.now()).await? {
        None => link_invalid(session).await,
        Some(_) => {
            let flash = match purpose {
                tokens::Purpose::PasswordReset => "flash-done-password-changed",
                tokens::Purpose::Invitation => "flash-done-account-ready",
            };
            session.sign_out(flash).await?;
            Ok(Redirect::to("/sign-in").into_response())
        }
    }
}

pub async fn reset_form(
    State(state): State<AppState>,
    session: Session,
    Path(token): Path<String>,
) -> Result<Response, AppError> {
    token_form(&state, &session, tokens::Purpose::PasswordReset, &token).await
}

pub async fn reset(
    State(state): State<AppState>,
    session: Session,
    Path(token): Path<String>,
    form: Fields,
) -> Result<Response, AppError> {
    set_password_with_token(&state, &session, tokens::Purpose::PasswordReset, &token, &form).await
}

pub async fn invitation_form(
    State(state): State<AppState>,
    session: Session,
    Path(token): Path<String>,
) -> Result<Response, AppError> {
    token_form(&state, &session, tokens::Purpose::Invitation, &token).await
}

pub async fn accept_invitation(
    State(state): State<AppState>,
    session: Session,
    Path(token): Path<String>,
    form: Fields,
) -> Result<Response, AppError> {
    set_password_with_token(&state, &session, tokens::Purpose::Invitation, &token, &form).await
}
