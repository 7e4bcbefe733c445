//! "Your account": who you are in CarePact, your contact details and communication needs, and your language.

use askama::Template;
use axum::extract::State;
use axum::response::{IntoResponse, Redirect, Response};
use carepact_domain::consent::{Action, Request, Section, Sensitivity};
use carepact_domain::identity::{FieldError, optional_text};

use crate::access::authorize;
use carepact_domain::identity::Role;
use carepact_store::care_team;
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
    /// For professionals: their usual reply time, whether they are away, and colleagues who could cover.
    availability: Option<AvailabilityView>,
}

struct AvailabilityView {
    days: Vec<(i32, bool)>,
    away: bool,
    /// (colleague id, name, chosen)
    cover: Vec<(String, String, bool)>,
}

async fn availability_view(state: &AppState, user: &User) -> Result<Option<AvailabilityView>, AppError> {
    let Some(org) = user.organisation_id.filter(|_| user.has_role(Role::Professional)) else {
        return Ok(None);
    };
    let current = care_team::availability(&state.db, user.id).await?;
    let reply = current.as_ref().map(|a| a.reply_within_days).unwrap_or(2);
    let cover = current.as_ref().and_then(|a| a.cover);
    let mut options = vec![(String::new(), String::new(), cover.is_none())];
    options.extend(
        users::list_staff(&state.db, org)
            .await?
            .into_iter()
            .filter(|u| u.id != user.id && u.active && u.has_role(Role::Professional))
            .map(|u| (u.id.0.to_string(), u.display_name.clone(), Some(u.id) == cover)),
    );
    Ok(Some(AvailabilityView {
        days: (1..=10).map(|d| (d, d == reply)).collect(),
        away: current.is_some_and(|a| a.away),
        cover: options,
    }))
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
    let status = errors.status();
    let page = AccountPage {
        csrf: session.csrf_token().await?,
        c: Chrome::new(session)
            .await?
            .crumb("/account", "nav-account")
            .with_errors(&errors),
        browser_language: user.language.is_none(),
        availability: availability_view(state, &user).await?,
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

/// A professional's usual reply time, and whether they are away and who covers (shown to the people they are
/// named contact for).
pub async fn update_availability(
    State(state): State<AppState>,
    session: Session,
    form: Fields,
) -> Result<Response, AppError> {
    let user = session.require_user()?;
    let org = user
        .organisation_id
        .filter(|_| user.has_role(Role::Professional))
        .ok_or(AppError::Forbidden("error-forbidden-body"))?;
    let days = form
        .get("reply_within_days")
        .parse::<i32>()
        .ok()
        .filter(|d| (1..=10).contains(d))
        .ok_or(AppError::BadRequest("error-form-unreadable"))?;
    let cover = match form.get("cover") {
        "" => None,
        id => Some(
            users::list_staff(&state.db, org)
                .await?
                .into_iter()
                .find(|u| u.id.0.to_string() == id && u.id != user.id)
                .map(|u| u.id)
                .ok_or(AppError::BadRequest("error-form-unreadable"))?,
        ),
    };
    let availability = care_team::Availability {
        reply_within_days: days,
        away: form.get("away") == "yes",
        cover,
    };
    care_team::set_availability(&state.db, user.id, &availability, state.now()).await?;
    session.set_flash("flash-done-availability-saved").await?;
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
