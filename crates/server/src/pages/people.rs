//! Registering a person: a professional (or organisation admin) records who they are and CarePact invites them
//! by email to set up their account. Registering grants the professional no access: that is the person's to give.

use askama::Template;
use axum::extract::State;
use axum::response::{IntoResponse, Redirect, Response};
use carepact_domain::identity::{PersonForm, Role};
use carepact_store::StoreError;
use carepact_store::outbox::NewEmail;
use carepact_store::people::{self, AccountStart};

use crate::errors::AppError;
use crate::forms::{Errors, Fields};
use crate::mail;
use crate::pages::layout::{Chrome, render, require_role};
use crate::session::Session;
use crate::state::AppState;
use crate::tokens::{random_token, token_hash};

const MAY_REGISTER: [Role; 3] = [Role::Professional, Role::LinkWorker, Role::OrganisationAdmin];

#[derive(Template)]
#[template(path = "person_new.html")]
struct NewPersonPage<'a> {
    c: Chrome<'a>,
    csrf: String,
    form: Fields,
    errors: Errors,
}

async fn form_page(session: &Session, form: Fields, errors: Errors) -> Result<Response, AppError> {
    let status = errors.status();
    let page = NewPersonPage {
        csrf: session.csrf_token().await?,
        c: Chrome::new(session)
            .await?
            .crumb("/people/new", "nav-register-person")
            .with_errors(&errors),
        form,
        errors,
    };
    Ok((status, render(&page)?).into_response())
}

pub async fn new_form(session: Session) -> Result<Response, AppError> {
    require_role(&session, &MAY_REGISTER)?;
    form_page(&session, Fields::default(), Errors::default()).await
}

pub async fn register(State(state): State<AppState>, session: Session, form: Fields) -> Result<Response, AppError> {
    require_role(&session, &MAY_REGISTER)?;
    let tr = session.tr();
    let parsed = PersonForm {
        nhs_number: form.get("nhs_number"),
        given_name: form.get("given_name"),
        family_name: form.get("family_name"),
        preferred_name: form.get("preferred_name"),
        dob_day: form.get("dob_day"),
        dob_month: form.get("dob_month"),
        dob_year: form.get("dob_year"),
        email: form.get("email"),
        phone: form.get("phone"),
        communication_needs: form.get("communication_needs"),
    }
    .parse(state.now().date());
    let person = match parsed {
        Ok(p) => p,
        Err(problems) => {
            let mut errors = Errors::default();
            for p in problems {
                // A date's error links to its first box, as the NHS date-input pattern asks.
                let field = if p.field == "date_of_birth" { "dob_day" } else { p.field };
                errors.add(tr, field, p.message_id);
            }
            return form_page(&session, form, errors).await;
        }
    };
    let token = random_token()?;
    let now = state.now();
    let link = format!("{}/invitation/{token}", state.config.public_url.trim_end_matches('/'));
    let (subject, body) = mail::compose(tr, "email-invitation-person", &link);
    let email = NewEmail {
        to: person.email.as_str(),
        subject: &subject,
        body: &body,
        idempotency_key: None,
    };
    let start = AccountStart::Invitation {
        token_hash: &token_hash(&token),
        expires: now + mail::INVITATION_LIFETIME,
        email: &email,
    };
    match people::create_with_account(&state.db, &person, start, now).await {
        Ok(_) => {}
        // Someone with this NHS number or email already uses CarePact. Say nothing that reveals it: without the
        // person's consent a professional may not learn that their record exists.
        Err(StoreError::Conflict(_)) => {}
        Err(e) => return Err(e.into()),
    }
    session.set_flash("flash-done-person-registered").await?;
    Ok(Redirect::to("/").into_response())
}
