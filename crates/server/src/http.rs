//! The router, its layers, and the server loop with graceful shutdown.

use std::net::SocketAddr;
use std::time::Duration;

use axum::Router;
use axum::extract::{DefaultBodyLimit, Request};
use axum::http::{HeaderName, HeaderValue, header};
use axum::middleware;
use axum::routing::get;
use tokio::net::TcpListener;
use tower::ServiceBuilder;
use tower_http::LatencyUnit;
use tower_http::catch_panic::CatchPanicLayer;
use tower_http::request_id::{MakeRequestUuid, PropagateRequestIdLayer, SetRequestIdLayer};
use tower_http::sensitive_headers::SetSensitiveHeadersLayer;
use tower_http::set_header::SetResponseHeaderLayer;
use tower_http::timeout::TimeoutLayer;
use tower_http::trace::{DefaultOnResponse, TraceLayer};
use tracing::Level;

use crate::state::AppState;
use crate::{assets, errors, fhir_api, mail, metrics, pages, session, smart};

const REQUEST_ID: HeaderName = HeaderName::from_static("x-request-id");

/// Pages allow scripts, styles and images from CarePact itself only; nothing inline, nothing framed. (The SMART
/// consent page adds the app's own address to `form-action`: its answer redirects there.)
pub(crate) const CSP: &str = "default-src 'self'; script-src 'self'; style-src 'self'; img-src 'self' data:; \
                   font-src 'self'; connect-src 'self'; form-action 'self'; frame-ancestors 'none'; base-uri 'none'; \
                   object-src 'none'";

/// The whole application: pages (with sessions and CSRF), static assets and operations endpoints.
pub fn router(state: AppState) -> Router {
    // The SMART pages (an app asking to connect, the person's connected apps, registering apps) are pages too.
    let pages = pages::routes().merge(smart::routes());
    let pages = pages.fallback(errors::not_found).layer(
        ServiceBuilder::new()
            .layer(middleware::from_fn_with_state(state.clone(), errors::render_layer))
            .layer(CatchPanicLayer::new())
            .layer(DefaultBodyLimit::max(session::FORM_LIMIT))
            .layer(middleware::from_fn_with_state(state.clone(), session::layer))
            // Pages show personal data: never cache them.
            .layer(SetResponseHeaderLayer::if_not_present(
                header::CACHE_CONTROL,
                HeaderValue::from_static("no-store"),
            )),
    );
    let ops = Router::new()
        .route("/healthz", get(pages::ops::healthz))
        .route("/readyz", get(pages::ops::readyz))
        .route("/metrics", get(pages::ops::metrics))
        .route("/assets/{*path}", get(assets::serve))
        .route("/favicon.ico", get(assets::favicon));

    // The FHIR API: bearer tokens, no cookies, so outside the session and CSRF layers; its errors are
    // OperationOutcomes, not pages.
    let fhir = fhir_api::routes().layer(CatchPanicLayer::new()).layer(cors());
    // SMART on FHIR's token and revocation endpoints (and its configuration) are called by apps, not browsers:
    // like /healthz they skip the session (cookie and CSRF) and error-page layers. Their bodies carry codes and
    // tokens and are never logged; the trace layer below logs route templates only.
    let apps = smart::api_routes().layer(cors());
    pages.merge(ops).merge(fhir).merge(apps).with_state(state.clone()).layer(
        ServiceBuilder::new()
            .layer(SetSensitiveHeadersLayer::new([header::COOKIE, header::SET_COOKIE, header::AUTHORIZATION]))
            .layer(SetRequestIdLayer::new(REQUEST_ID, MakeRequestUuid))
            .layer(TraceLayer::new_for_http().make_span_with(|req: &Request| {
                // Log the route template, never the raw path: paths can carry tokens (password-reset links).
                let route = req.extensions().get::<axum::extract::MatchedPath>().map(|m| m.as_str().to_owned());
                let id = req.headers().get(REQUEST_ID).and_then(|v| v.to_str().ok()).unwrap_or("-").to_owned();
                tracing::info_span!("request", method = %req.method(), route = route.as_deref().unwrap_or("-"), request_id = %id)
            }).on_response(DefaultOnResponse::new().level(Level::INFO).latency_unit(LatencyUnit::Micros)))
            .layer(PropagateRequestIdLayer::new(REQUEST_ID))
            .layer(middleware::from_fn_with_state(state, metrics::layer))
            .layer(TimeoutLayer::with_status_code(axum::http::StatusCode::SERVICE_UNAVAILABLE, Duration::from_secs(30)))
            .layer(SetResponseHeaderLayer::if_not_present(header::CONTENT_SECURITY_POLICY, HeaderValue::from_static(CSP)))
            .layer(SetResponseHeaderLayer::overriding(header::X_CONTENT_TYPE_OPTIONS, HeaderValue::from_static("nosniff")))
            .layer(SetResponseHeaderLayer::overriding(header::X_FRAME_OPTIONS, HeaderValue::from_static("DENY")))
            .layer(SetResponseHeaderLayer::overriding(header::REFERRER_POLICY, HeaderValue::from_static("same-origin")))
            .layer(SetResponseHeaderLayer::overriding(
                HeaderName::from_static("permissions-policy"),
                HeaderValue::from_static("camera=(), microphone=(), geolocation=(), interest-cohort=()"),
            )),
    )
}

/// Browser-based apps on other origins may call the FHIR API and the SMART endpoints: they carry bearer tokens,
/// never cookies, so any origin may ask, and preflight requests are answered.
fn cors() -> tower_http::cors::CorsLayer {
    use axum::http::Method;
    tower_http::cors::CorsLayer::new()
        .allow_origin(tower_http::cors::Any)
        .allow_methods([Method::GET, Method::POST, Method::PUT, Method::DELETE, Method::OPTIONS])
        .allow_headers([
            header::AUTHORIZATION,
            header::CONTENT_TYPE,
            header::ACCEPT,
            header::IF_MATCH,
            header::IF_NONE_MATCH,
            HeaderName::from_static("prefer"),
        ])
        .expose_headers([
            header::LOCATION,
            header::CONTENT_LOCATION,
            header::ETAG,
            header::LAST_MODIFIED,
        ])
        .max_age(Duration::from_secs(3600))
}

/// Serves until Ctrl-C or SIGTERM, then stops taking connections, finishes requests in flight, stops the outbox
/// worker and closes the database.
pub async fn serve(state: AppState, listener: TcpListener) -> anyhow::Result<()> {
    // The built-in questionnaires (PHQ-9, GAD-7, ONS4, CollaboRATE, SEMCD-6) are stored before anyone asks.
    pages::questionnaires::ensure_builtin(&state).await?;
    let (stop_tx, stop_rx) = tokio::sync::watch::channel(false);
    let worker = state
        .config
        .run_worker
        .then(|| tokio::spawn(mail::run_worker(state.clone(), stop_rx.clone())));
    let housekeeping = tokio::spawn(pages::ops::housekeeping(state.clone(), stop_rx));
    let app = router(state.clone()).into_make_service_with_connect_info::<SocketAddr>();
    tracing::info!(addr = %listener.local_addr()?, "CarePact is listening");
    axum::serve(listener, app)
        .with_graceful_shutdown(shutdown_signal())
        .await?;
    tracing::info!("shutting down");
    let _ = stop_tx.send(true);
    if let Some(worker) = worker {
        let _ = worker.await;
    }
    let _ = housekeeping.await;
    state.db.close().await;
    Ok(())
}

async fn shutdown_signal() {
    let ctrl_c = async {
        let _ = tokio::signal::ctrl_c().await;
    };
    #[cfg(unix)]
    let term = async {
        match tokio::signal::unix::signal(tokio::signal::unix::SignalKind::terminate()) {
            Ok(mut s) => {
                s.recv().await;
            }
            Err(_) => std::future::pending::<()>().await,
        }
    };
    #[cfg(not(unix))]
    let term = std::future::pending::<()>();
    tokio::select! {
        () = ctrl_c => {},
        () = term => {},
    }
}
