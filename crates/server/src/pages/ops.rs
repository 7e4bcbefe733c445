//! Operations endpoints (liveness, readiness, metrics) and periodic housekeeping.

use axum::extract::State;
use axum::http::{StatusCode, header};
use axum::response::IntoResponse;
use carepact_domain::session::{ABSOLUTE_TIMEOUT, IDLE_TIMEOUT};
use carepact_domain::throttle::WINDOW;
use carepact_store::{sessions, throttle};
use tokio::sync::watch;

use crate::state::AppState;

/// The process is up.
pub async fn healthz() -> impl IntoResponse {
    ([(header::CONTENT_TYPE, "text/plain; charset=utf-8")], "ok\n")
}

/// The process can serve requests: its database answers.
pub async fn readyz(State(state): State<AppState>) -> impl IntoResponse {
    let (status, body) = if state.db.ping().await {
        (StatusCode::OK, "ready\n")
    } else {
        (StatusCode::SERVICE_UNAVAILABLE, "database unreachable\n")
    };
    (status, [(header::CONTENT_TYPE, "text/plain; charset=utf-8")], body)
}

pub async fn metrics(State(state): State<AppState>) -> impl IntoResponse {
    (
        [(header::CONTENT_TYPE, "text/plain; version=0.0.4; charset=utf-8")],
        state.metrics.render(),
    )
}

/// Every minute until `stop`: removes expired sessions and old sign-in failures, flags overdue care plan reviews,
/// passes alerts nobody acknowledged in time up to the next level, reminds people of questionnaires due, and deletes
/// bulk exports (and their files) past their 24 hours.
pub async fn housekeeping(state: AppState, mut stop: watch::Receiver<bool>) {
    loop {
        let now = state.now();
        if let Err(e) = sessions::purge(&state.db, now - IDLE_TIMEOUT, now - ABSOLUTE_TIMEOUT).await {
            tracing::warn!(error = %e, "purging sessions failed");
        }
        if let Err(e) = throttle::purge(&state.db, now - WINDOW).await {
            tracing::warn!(error = %e, "purging sign-in failures failed");
        }
        if let Err(e) = crate::pages::care_plan::flag_overdue_reviews(&state).await {
            tracing::warn!(error = %e, "flagging overdue care plan reviews failed");
        }
        if let Err(e) = crate::pages::readings::escalate_alerts(&state).await {
            tracing::warn!(error = %e, "escalating alerts failed");
        }
        if let Err(e) = crate::pages::questionnaires::remind_due(&state).await {
            tracing::warn!(error = %e, "questionnaire reminders failed");
        }
        if let Err(e) = carepact_store::bulk_export::purge_expired(&state.db, now).await {
            tracing::warn!(error = %e, "purging expired bulk exports failed");
        }
        tokio::select! {
            _ = stop.changed() => break,
            () = tokio::time::sleep(std::time::Duration::from_secs(60)) => {}
        }
        if *stop.borrow() {
            break;
        }
    }
}
