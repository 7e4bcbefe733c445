//! Errors that know their response. Handlers return [`AppError`]; one layer turns every error response — ours,
//! axum's extractor rejections, tower-http's limits, a caught panic, an unknown route — into an NHS-style error
//! page in the reader's language. Causes are logged with the request id and never shown.

use axum::extract::Request;
use axum::http::{StatusCode, header};
use axum::middleware::Next;
use axum::response::{Html, IntoResponse, Redirect, Response};
use carepact_store::StoreError;

use crate::i18n::{Lang, Tr};
use crate::pages::layout::{Chrome, render};
use crate::state::AppState;

#[derive(Debug, thiserror::Error)]
pub enum AppError {
    #[error("not found")]
    NotFound,
    #[error("sign-in required")]
    SignInRequired,
    #[error("forbidden: {0}")]
    Forbidden(&'static str),
    #[error("bad request: {0}")]
    BadRequest(&'static str),
    #[error("payload too large")]
    PayloadTooLarge,
    #[error("too many requests")]
    TooManyRequests,
    #[error(transparent)]
    Internal(#[from] anyhow::Error),
}

impl From<StoreError> for AppError {
    fn from(e: StoreError) -> Self {
        Self::Internal(e.into())
    }
}

/// Marks an error response with the message that explains it; the error layer renders it.
#[derive(Debug, Clone, Copy)]
pub struct ErrorDetail(pub &'static str);

impl IntoResponse for AppError {
    fn into_response(self) -> Response {
        let (status, detail) = match self {
            Self::SignInRequired => return Redirect::to("/sign-in").into_response(),
            Self::NotFound => (StatusCode::NOT_FOUND, "error-page-not-found-body"),
            Self::Forbidden(id) => (StatusCode::FORBIDDEN, id),
            Self::BadRequest(id) => (StatusCode::BAD_REQUEST, id),
            Self::PayloadTooLarge => (StatusCode::PAYLOAD_TOO_LARGE, "error-too-large-body"),
            Self::TooManyRequests => (StatusCode::TOO_MANY_REQUESTS, "error-too-many-body"),
            Self::Internal(e) => {
                tracing::error!(error = %e, "request failed");
                (StatusCode::INTERNAL_SERVER_ERROR, "error-internal-body")
            }
        };
        let mut response = status.into_response();
        response.extensions_mut().insert(ErrorDetail(detail));
        response
    }
}

#[derive(askama::Template)]
#[template(path = "error.html")]
struct ErrorPage<'a> {
    c: Chrome<'a>,
    heading: String,
    body: String,
}

fn heading_id(status: StatusCode) -> &'static str {
    match status {
        StatusCode::NOT_FOUND | StatusCode::METHOD_NOT_ALLOWED => "error-page-not-found",
        StatusCode::FORBIDDEN => "error-forbidden",
        StatusCode::PAYLOAD_TOO_LARGE => "error-too-large",
        StatusCode::TOO_MANY_REQUESTS => "error-too-many",
        s if s.is_server_error() => "error-internal",
        _ => "error-bad-request",
    }
}

fn default_detail(status: StatusCode) -> &'static str {
    match status {
        StatusCode::NOT_FOUND | StatusCode::METHOD_NOT_ALLOWED => "error-page-not-found-body",
        StatusCode::PAYLOAD_TOO_LARGE => "error-too-large-body",
        StatusCode::TOO_MANY_REQUESTS => "error-too-many-body",
        StatusCode::UNSUPPORTED_MEDIA_TYPE | StatusCode::UNPROCESSABLE_ENTITY => "error-form-unreadable",
        s if s.is_server_error() => "error-internal-body",
        _ => "error-bad-request-body",
    }
}

/// Renders an error page for any error response that is not already a page.
pub async fn render_layer(
    axum::extract::State(state): axum::extract::State<AppState>,
    req: Request,
    next: Next,
) -> Response {
    let accept = req
        .headers()
        .get(header::ACCEPT_LANGUAGE)
        .and_then(|v| v.to_str().ok())
        .map(str::to_owned);
    let response = next.run(req).await;
    let status = response.status();
    let is_html = response
        .headers()
        .get(header::CONTENT_TYPE)
        .and_then(|v| v.to_str().ok())
        .is_some_and(|ct| ct.starts_with("text/html"));
    if !(status.is_client_error() || status.is_server_error()) || is_html {
        return response;
    }
    let lang = response
        .extensions()
        .get::<Lang>()
        .copied()
        .unwrap_or_else(|| state.catalogue.negotiate(None, accept.as_deref()));
    let detail = response
        .extensions()
        .get::<ErrorDetail>()
        .map(|d| d.0)
        .unwrap_or_else(|| default_detail(status));
    let tr = Tr {
        catalogue: &state.catalogue,
        lang,
    };
    let page = ErrorPage {
        c: Chrome::bare(tr),
        heading: tr.t(heading_id(status)),
        body: tr.t(detail),
    };
    let mut out = match render(&page) {
        Ok(html) => (status, html).into_response(),
        Err(_) => (
            status,
            Html("<!DOCTYPE html><title>CarePact</title><h1>Sorry, there is a problem</h1>"),
        )
            .into_response(),
    };
    // Keep headers a client may need (Retry-After on 429, Allow on 405).
    for name in [header::RETRY_AFTER, header::ALLOW, header::SET_COOKIE] {
        for value in response.headers().get_all(&name) {
            out.headers_mut().append(name.clone(), value.clone());
        }
    }
    out
}

/// Unknown routes.
pub async fn not_found() -> AppError {
    AppError::NotFound
}
