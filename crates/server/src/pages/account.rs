//! "Your account": who you are in CarePact, your contact details and communication needs, and your language.

use askama::Template;
use axum::extract::State;
use axum::http::StatusCode;
use axum::response::{IntoResponse, Redirect, Response};
use carepact_domain::consent::{Action, Request, Section, Sensitivity};
use carepact_domain::identity::{FieldError, optional_text};

use crate::access::authorize;
use carepact_store::organisations::Organisation;
use carepact_store::people::{self, ContactDetails, Person};
use carepact_store::users::{self, User};

use crate::errors::AppError;
use crate::forms::{Errors, Fields};
use crate::pages::layout::{Chrome, render};
use crate::session::Session;
use crate::state::AppState;

#[derive(Template)]
#[template(path = "account.html")]
struct AccountPage<'a> {
    c: Chrome<'a>,
    csrf: String,
    user: User,
    person: Option<Person>,
    organisation: Option<Organisation>,
    details: ContactDetails,
    errors: Errors,
    languages: Vec<(String, String, bool)>,
    browser_language: bool,
}

async fn page(
    state: &AppState,
    session: &Session,
    details: Option<ContactDetails>,
    errors: Errors,
) -> Result<Response, AppError> {
    let user = session.require_user()?.clone();
    let (person, organisation) = crate::pages::profile(state, &user).await?;
    let details = details.unwrap_or_else(|| ContactDetails {
        preferred_name: person.as_ref().and_then(|p| p.preferred_name.clone()),
        phone: person.as_ref().and_then(|p| p.phone.clone()),
        communication_needs: person.as_ref().and_then(|p| p.communication_needs.clone()),
    });
    let languages = state
        .catalogue
        .languages()
        .map(|(tag, name)| (tag.to_owned(), name.to_owned(), user.language.as_deref() == Some(tag)))
        .collect();
    let status = if errors.is_empty() {
        StatusCode::OK
    } else {
        StatusCode::BAD_REQUEST
    };
    let page = AccountPage {
        csrf: session.csrf_token().await?,
        c: Chrome::new(session)
            .await?
            .crumb("/account", "nav-account")
            .with_errors(&errors),
        browser_language: user.language.is_none(),
        user,
        person,
        organisation,
        details,
        errors,
        languages,
    };
    Ok((status, render(&page)?).into_response())
}

pub async fn show(State(state): State<AppState>, session: Session) -> Result<Response, AppError> {
    page(&state, &session, None, Errors::default()).await
}

pub async fn update_details(
    State(state): State<AppState>,
    session: Session,
    form: Fields,
) -> Result<Response, AppError> {
    let user = session.require_user()?;
    let person = people::id_for_user(&state.db, user.id)
        .await?
        .ok_or(AppError::Forbidden("error-forbidden-body"))?;
    let request = Request {
        section: Section::Record,
        label: Sensitivity::General,
        action: Action::Write,
    };
    let grant = authorize(&state, user, person, request, "person-details", "person-access").await?;
    let tr = session.tr();
    let mut errors = Errors::default();
    let mut field = |name: &'static str, max: usize| {
        optional_text(name, form.get(name), max)
            .map_err(|e: FieldError| errors.add(tr, e.field, e.message_id))
            .unwrap_or_default()
    };
    let details = ContactDetails {
        preferred_name: field("preferred_name", 100),
        phone: field("phone", 30),
        communication_needs: field("communication_needs", 1000),
    };
    if !errors.is_empty() {
        return page(&state, &session, Some(details), errors).await;
    }
    people::update_contact_details(&state.db, &grant, &details, state.now())
        .await?
        .map_err(|_| AppError::NotFound)?;
    session.set_flash("flash-done-details-saved").await?;
    Ok(Redirect::to("/account").into_response())
}

pub async fn update_language(
    State(state): State<AppState>,
    session: Session,
    form: Fields,
) -> Result<Response, AppError> {
    let user = session.require_user()?;
    let choice = form.get("language");
    let language = match choice {
        "" | "browser" => None,
        tag => Some(
            state
                .catalogue
                .lang_for_tag(tag)
                .map(|_| tag)
                .ok_or(AppError::BadRequest("error-language-unknown"))?,
        ),
    };
    users::set_language(&state.db, user.id, language, state.now()).await?;
    session.set_flash("flash-done-language-saved").await?;
    Ok(Redirect::to("/account").into_response())
}
