//! Administration: the system admin adds organisations; organisation admins (and the system admin) invite staff;
//! the system admin sees emails that could not be delivered.

use askama::Template;
use axum::extract::{Path, State};
use axum::response::{IntoResponse, Redirect, Response};
use carepact_domain::identity::{Email, OrganisationId, OrganisationKind, Role, required_text};
use carepact_store::StoreError;
use carepact_store::organisations::{self, Organisation};
use carepact_store::outbox::{self, DeadLetter};
use carepact_store::users::{self, NewUser, User};
use uuid::Uuid;

use crate::errors::AppError;
use crate::forms::{Errors, Fields};
use crate::mail;
use crate::pages::layout::{Chrome, render, require_role};
use crate::session::Session;
use crate::state::AppState;

#[derive(Template)]
#[template(path = "admin_organisations.html")]
struct OrganisationsPage<'a> {
    c: Chrome<'a>,
    organisations: Vec<Organisation>,
}

pub async fn organisations(State(state): State<AppState>, session: Session) -> Result<Response, AppError> {
    require_role(&session, &[Role::SystemAdmin])?;
    let organisations = organisations::list(&state.db).await?;
    let c = Chrome::new(&session)
        .await?
        .crumb("/admin/organisations", "nav-organisations");
    Ok(render(&OrganisationsPage { c, organisations })?.into_response())
}

#[derive(Template)]
#[template(path = "organisation_new.html")]
struct NewOrganisationPage<'a> {
    c: Chrome<'a>,
    csrf: String,
    org_name: String,
    kind: String,
    kinds: Vec<OrganisationKind>,
    errors: Errors,
}

async fn new_organisation_page(
    session: &Session,
    name: &str,
    kind: &str,
    errors: Errors,
) -> Result<Response, AppError> {
    let status = errors.status();
    let page = NewOrganisationPage {
        csrf: session.csrf_token().await?,
        c: Chrome::new(session)
            .await?
            .crumb("/admin/organisations", "nav-organisations")
            .crumb("/admin/organisations/new", "nav-add-organisation")
            .with_errors(&errors),
        org_name: name.to_owned(),
        kind: kind.to_owned(),
        kinds: OrganisationKind::ALL.to_vec(),
        errors,
    };
    Ok((status, render(&page)?).into_response())
}

pub async fn new_organisation_form(session: Session) -> Result<Response, AppError> {
    require_role(&session, &[Role::SystemAdmin])?;
    new_organisation_page(&session, "", "", Errors::default()).await
}

pub async fn create_organisation(
    State(state): State<AppState>,
    session: Session,
    form: Fields,
) -> Result<Response, AppError> {
    require_role(&session, &[Role::SystemAdmin])?;
    let tr = session.tr();
    let mut errors = Errors::default();
    let name = required_text("name", form.get("name"), 200, "error-organisation-name-empty")
        .map_err(|e| errors.add(tr, e.field, e.message_id))
        .ok();
    let kind = OrganisationKind::from_code(form.get("kind"));
    if kind.is_none() {
        errors.add(tr, "kind", "error-organisation-kind");
    }
    let (Some(name), Some(kind)) = (name, kind) else {
        return new_organisation_page(&session, form.get("name"), form.get("kind"), errors).await;
    };
    match organisations::create(&state.db, &name, kind, state.now()).await {
        Ok(id) => {
            session.set_flash("flash-done-organisation-created").await?;
            Ok(Redirect::to(&format!("/organisations/{id}")).into_response())
        }
        Err(StoreError::Conflict(_)) => {
            errors.add(tr, "name", "error-organisation-name-taken");
            new_organisation_page(&session, &name, kind.code(), errors).await
        }
        Err(e) => Err(e.into()),
    }
}

/// The organisation, if the user may manage it: the system admin any, an organisation admin their own.
pub(crate) async fn manageable(
    state: &AppState,
    session: &Session,
    id: &str,
) -> Result<(User, Organisation), AppError> {
    let user = require_role(session, &[Role::SystemAdmin, Role::OrganisationAdmin])?;
    let id = Uuid::parse_str(id)
        .map(OrganisationId)
        .map_err(|_| AppError::NotFound)?;
    let allowed = user.has_role(Role::SystemAdmin)
        || (user.has_role(Role::OrganisationAdmin) && user.organisation_id == Some(id));
    if !allowed {
        return Err(AppError::Forbidden("error-forbidden-body"));
    }
    let org = organisations::get(&state.db, id).await?.ok_or(AppError::NotFound)?;
    Ok((user, org))
}

fn organisation_crumbs<'a>(c: Chrome<'a>, user: &User, org: &Organisation) -> Chrome<'a> {
    let c = if user.has_role(Role::SystemAdmin) {
        c.crumb("/admin/organisations", "nav-organisations")
    } else {
        c
    };
    c.link(&format!("/organisations/{}", org.id), org.name.clone())
}

#[derive(Template)]
#[template(path = "organisation.html")]
struct OrganisationPage<'a> {
    c: Chrome<'a>,
    organisation: Organisation,
    staff: Vec<User>,
    /// The reader is this organisation's admin, so may see and revoke its staff's API tokens.
    manages_tokens: bool,
}

pub async fn organisation(
    State(state): State<AppState>,
    session: Session,
    Path(id): Path<String>,
) -> Result<Response, AppError> {
    let (user, organisation) = manageable(&state, &session, &id).await?;
    let staff = users::list_staff(&state.db, organisation.id).await?;
    let c = organisation_crumbs(Chrome::new(&session).await?, &user, &organisation);
    let manages_tokens = user.has_role(Role::OrganisationAdmin) && user.organisation_id == Some(organisation.id);
    Ok(render(&OrganisationPage {
        c,
        organisation,
        staff,
        manages_tokens,
    })?
    .into_response())
}

#[derive(Template)]
#[template(path = "invite_staff.html")]
struct InvitePage<'a> {
    c: Chrome<'a>,
    csrf: String,
    organisation: Organisation,
    form: Fields,
    roles: Vec<Role>,
    errors: Errors,
}

async fn invite_page(
    session: &Session,
    user: &User,
    organisation: Organisation,
    form: Fields,
    errors: Errors,
) -> Result<Response, AppError> {
    let status = errors.status();
    let c = organisation_crumbs(Chrome::new(session).await?, user, &organisation)
        .crumb(
            &format!("/organisations/{}/invite", organisation.id),
            "nav-invite-staff",
        )
        .with_errors(&errors);
    let page = InvitePage {
        csrf: session.csrf_token().await?,
        c,
        organisation,
        form,
        roles: Role::STAFF.to_vec(),
        errors,
    };
    Ok((status, render(&page)?).into_response())
}

pub async fn invite_form(
    State(state): State<AppState>,
    session: Session,
    Path(id): Path<String>,
) -> Result<Response, AppError> {
    let (user, organisation) = manageable(&state, &session, &id).await?;
    invite_page(&session, &user, organisation, Fields::default(), Errors::default()).await
}

pub async fn invite(
    State(state): State<AppState>,
    session: Session,
    Path(id): Path<String>,
    form: Fields,
) -> Result<Response, AppError> {
    let (user, organisation) = manageable(&state, &session, &id).await?;
    let tr = session.tr();
    let mut errors = Errors::default();
    let name = required_text("name", form.get("name"), 100, "error-staff-name-empty")
        .map_err(|e| errors.add(tr, e.field, e.message_id))
        .ok();
    let email = Email::parse(form.get("email"))
        .map_err(|id| errors.add(tr, "email", id))
        .ok();
    let roles: Vec<Role> = form
        .all("roles")
        .into_iter()
        .filter_map(Role::from_code)
        .filter(|r| r.is_staff())
        .collect();
    if roles.is_empty() {
        errors.add(tr, "roles", "error-staff-roles-empty");
    }
    let (Some(name), Some(email)) = (name, email) else {
        return invite_page(&session, &user, organisation, form, errors).await;
    };
    if !errors.is_empty() {
        return invite_page(&session, &user, organisation, form, errors).await;
    }
    let new = NewUser {
        email: &email,
        display_name: &name,
        roles: &roles,
        organisation_id: Some(organisation.id),
        password_hash: None,
    };
    match mail::invite_user(&state, tr, &new).await {
        Ok(_) => {
            session.set_flash("flash-done-invitation-sent").await?;
            Ok(Redirect::to(&format!("/organisations/{}", organisation.id)).into_response())
        }
        Err(StoreError::Conflict(_)) => {
            errors.add(tr, "email", "error-email-taken");
            invite_page(&session, &user, organisation, form, errors).await
        }
        Err(e) => Err(e.into()),
    }
}

#[derive(Template)]
#[template(path = "admin_emails.html")]
struct DeadLettersPage<'a> {
    c: Chrome<'a>,
    dead: Vec<DeadLetter>,
    waiting: i64,
}

pub async fn dead_letters(State(state): State<AppState>, session: Session) -> Result<Response, AppError> {
    require_role(&session, &[Role::SystemAdmin])?;
    let dead = outbox::dead_letters(&state.db).await?;
    let waiting = outbox::pending_count(&state.db).await?;
    let c = Chrome::new(&session).await?.crumb("/admin/emails", "nav-emails");
    Ok(render(&DeadLettersPage { c, dead, waiting })?.into_response())
}
