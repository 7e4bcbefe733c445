//! Emergency ("break-glass") access: a clinician may open a record without consent in an emergency, after giving a
//! reason. It lasts at most 24 hours and is read-only; the person is emailed at once and sees it, with the reason,
//! at the top of their access log; the clinician's organisation sees it in its privacy report.

use askama::Template;
use axum::extract::{Path, State};
use axum::response::{IntoResponse, Redirect, Response};
use carepact_domain::NhsNumber;
use carepact_domain::identity::{Role, required_text};
use carepact_store::consents::{self, EmergencyAccess};

use crate::access::actor;
use crate::errors::AppError;
use crate::forms::{Errors, Fields};
use crate::mail;
use crate::pages::layout::{Chrome, render, require_role};
use crate::session::Session;
use crate::state::AppState;

#[derive(Template)]
#[template(path = "emergency.html")]
struct EmergencyPage<'a> {
    c: Chrome<'a>,
    csrf: String,
    form: Fields,
    errors: Errors,
}

async fn form_page(session: &Session, form: Fields, errors: Errors) -> Result<Response, AppError> {
    let status = errors.status();
    let page = EmergencyPage {
        csrf: session.csrf_token().await?,
        c: Chrome::new(session)
            .await?
            .crumb("/emergency-access", "nav-emergency")
            .with_errors(&errors),
        form,
        errors,
    };
    Ok((status, render(&page)?).into_response())
}

pub async fn form(session: Session) -> Result<Response, AppError> {
    require_role(&session, &[Role::Professional])?;
    form_page(&session, Fields::default(), Errors::default()).await
}

pub async fn open(State(state): State<AppState>, session: Session, form: Fields) -> Result<Response, AppError> {
    let user = require_role(&session, &[Role::Professional])?;
    let tr = session.tr();
    let mut errors = Errors::default();
    let nhs = NhsNumber::parse(form.get("nhs_number"))
        .map_err(|e| errors.add(tr, "nhs_number", e.message_id()))
        .ok();
    let reason = required_text("reason", form.get("reason"), 1000, "error-emergency-reason")
        .map_err(|e| errors.add(tr, e.field, e.message_id))
        .ok();
    if reason.as_ref().is_some_and(|r| r.chars().count() < 10) {
        errors.add(tr, "reason", "error-emergency-reason-short");
    }
    if form.get("confirm") != "yes" {
        errors.add(tr, "confirm", "error-emergency-confirm");
    }
    let (Some(nhs), Some(reason)) = (nhs, reason) else {
        return form_page(&session, form, errors).await;
    };
    if !errors.is_empty() {
        return form_page(&session, form, errors).await;
    }
    let link = format!("{}/access-log", state.config.public_url.trim_end_matches('/'));
    let notice = |_: &str| Some(mail::compose(tr, "email-break-glass", &link));
    match consents::open_break_glass(&state.db, &actor(&user), &nhs, &reason, notice, state.now()).await? {
        Some((person, _)) => {
            session.set_flash("flash-emergency-open").await?;
            Ok(Redirect::to(&format!("/records/{person}")).into_response())
        }
        None => {
            errors.add(tr, "nhs_number", "error-emergency-not-found");
            form_page(&session, form, errors).await
        }
    }
}

pub struct EmergencyRow {
    pub who: String,
    pub organisation: String,
    pub from: String,
    pub until: String,
    pub reason: String,
}

pub fn rows(c: &Chrome<'_>, list: &[EmergencyAccess]) -> Vec<EmergencyRow> {
    let at = |t: time::OffsetDateTime| c.when(t);
    list.iter()
        .map(|e| EmergencyRow {
            who: e.user_name.clone(),
            organisation: e.organisation_name.clone().unwrap_or_default(),
            from: at(e.starts),
            until: at(e.ends),
            reason: e.reason.clone(),
        })
        .collect()
}

#[derive(Template)]
#[template(path = "emergency_report.html")]
struct ReportPage<'a> {
    c: Chrome<'a>,
    organisation: String,
    rows: Vec<EmergencyRow>,
}

/// The organisation's privacy report: every emergency access its staff opened.
pub async fn report(
    State(state): State<AppState>,
    session: Session,
    Path(id): Path<String>,
) -> Result<Response, AppError> {
    let (_, organisation) = crate::pages::admin::manageable(&state, &session, &id).await?;
    let list = consents::emergency_report(&state.db, organisation.id).await?;
    let c = Chrome::new(&session)
        .await?
        .link(
            &format!("/organisations/{}", organisation.id),
            organisation.name.clone(),
        )
        .crumb(
            &format!("/organisations/{}/emergency-access", organisation.id),
            "nav-emergency-report",
        );
    let rows = rows(&c, &list);
    Ok(render(&ReportPage {
        c,
        organisation: organisation.name,
        rows,
    })?
    .into_response())
}
