//! The pages people use, grouped by capability. Each handler checks who is asking, reads through the store, and
//! renders a template whose every word comes from the message catalogue.

use axum::Router;
use axum::routing::{get, post};

use carepact_domain::consent::{Action, Request, Section, Sensitivity};
use carepact_domain::identity::Role;
use carepact_store::organisations::{self, Organisation};
use carepact_store::people::{self as people_store, Person};
use carepact_store::users::User;

use crate::state::AppState;

pub mod layout;
pub mod ops;

mod account;
mod admin;
mod api_tokens;
mod auth;
pub(crate) mod care_plan;
mod emergency;
pub(crate) mod export;
mod home;
mod import;
mod messages;
mod notifications;
mod people;
mod queries;
pub(crate) mod questionnaires;
pub(crate) mod readings;
mod readings_upload;
mod record;
mod requests;
mod sharing;
mod team;
mod work;

pub(crate) use sharing::shared_with_me;

/// A person's id from the path; anything that is not one is "not found".
pub(crate) fn person_id(id: &str) -> Result<carepact_domain::identity::PersonId, crate::errors::AppError> {
    uuid::Uuid::parse_str(id)
        .map(carepact_domain::identity::PersonId)
        .map_err(|_| crate::errors::AppError::NotFound)
}

/// `user`'s grant on the general items of one section of `person`'s data, with the purpose their relationship gives
/// (the person's own use, or direct care); refusal is "not found".
pub(crate) async fn section_grant(
    state: &AppState,
    user: &User,
    person: carepact_domain::identity::PersonId,
    section: Section,
    action: Action,
    entity: &str,
) -> Result<carepact_store::access::Grant, crate::errors::AppError> {
    let request = Request {
        section,
        label: Sensitivity::General,
        action,
    };
    crate::access::authorize_care(state, user, person, request, entity).await
}

/// The person's name, read with a grant already given (no second decision).
pub(crate) async fn person_name(
    state: &AppState,
    grant: &carepact_store::access::Grant,
) -> Result<String, crate::errors::AppError> {
    Ok(people_store::summary(&state.db, grant)
        .await?
        .map(|p| p.full_name())
        .unwrap_or_default())
}

/// The chrome of a page about the person `grant` is for, with the trail Home › their name; and the base of their
/// pages (`/records/{id}`).
pub(crate) async fn person_chrome<'a>(
    state: &AppState,
    session: &'a crate::session::Session,
    grant: &carepact_store::access::Grant,
    id: &str,
) -> Result<(layout::Chrome<'a>, String), crate::errors::AppError> {
    let base = format!("/records/{id}");
    let name = person_name(state, grant).await?;
    let chrome = layout::Chrome::new(session).await?.link(&base, name);
    Ok((chrome, base))
}

/// The signed-in user's own person record (if they are a person: read through the choke point like anyone's, and
/// so recorded in their access log) and organisation (if they are staff).
pub(crate) async fn profile(
    state: &AppState,
    user: &User,
) -> Result<(Option<Person>, Option<Organisation>), crate::errors::AppError> {
    let person = match people_store::id_for_user(&state.db, user.id).await? {
        Some(id) if user.has_role(Role::Person) => {
            let request = Request {
                section: Section::Record,
                label: Sensitivity::General,
                action: Action::Read,
            };
            let grant = crate::access::authorize(state, user, id, request, "person-details", "person-access").await?;
            people_store::summary(&state.db, &grant).await?
        }
        _ => None,
    };
    let organisation = match user.organisation_id {
        Some(id) => organisations::get(&state.db, id).await?,
        None => None,
    };
    Ok((person, organisation))
}

pub fn routes() -> Router<AppState> {
    Router::new()
        .route("/", get(home::home))
        .route("/sign-in", get(auth::sign_in_form).post(auth::sign_in))
        .route("/sign-out", post(auth::sign_out))
        .route(
            "/password-reset",
            get(auth::reset_request_form).post(auth::reset_request),
        )
        .route("/password-reset/{token}", get(auth::reset_form).post(auth::reset))
        .route(
            "/invitation/{token}",
            get(auth::invitation_form).post(auth::accept_invitation),
        )
        .route("/account", get(account::show))
        .route("/account/details", post(account::update_details))
        .route("/account/language", post(account::update_language))
        .route("/account/availability", post(account::update_availability))
        .route("/account/tokens", get(api_tokens::own))
        .route("/account/tokens/{id}/revoke", post(api_tokens::revoke_own))
        .route("/admin/tokens", get(api_tokens::organisation))
        .route("/admin/tokens/{id}/revoke", post(api_tokens::revoke_staff))
        .route("/people/new", get(people::new_form).post(people::register))
        .route("/sharing", get(sharing::show).post(sharing::share))
        .route("/sharing/{id}/revoke", post(sharing::revoke))
        .route("/access-log", get(sharing::access_log))
        .route("/access-log/{event}/query", get(queries::form).post(queries::raise))
        .route("/work", get(work::show))
        .route("/work/{kind}/{id}", post(work::answer))
        .route("/records/{id}", get(sharing::record))
        .route("/records/{id}/timeline", get(record::timeline))
        .route("/records/{id}/plan", get(care_plan::show))
        .route("/records/{id}/team", get(team::show).post(team::add))
        .route("/records/{id}/team/propose", post(team::propose))
        .route("/records/{id}/team/{member}/{verb}", post(team::member))
        .route("/records/{id}/messages", get(messages::list))
        .route(
            "/records/{id}/messages/new",
            get(messages::new_form).post(messages::send),
        )
        .route("/records/{id}/messages/{thread}", get(messages::show))
        .route("/records/{id}/messages/{thread}/reply", post(messages::reply))
        .route("/records/{id}/messages/{thread}/pass", post(messages::pass))
        .route("/messages", get(messages::inbox))
        .route("/alerts", get(readings::work_list))
        .route("/records/{id}/questionnaires", get(questionnaires::list))
        .route("/records/{id}/questionnaires/assign", post(questionnaires::assign))
        .route(
            "/records/{id}/questionnaires/assignments/{assignment}/end",
            post(questionnaires::end_assignment),
        )
        .route(
            "/records/{id}/questionnaires/responses/{response}",
            get(questionnaires::result),
        )
        .route(
            "/records/{id}/questionnaires/{questionnaire}/answer",
            get(questionnaires::answer_form).post(questionnaires::answer),
        )
        .route(
            "/organisations/{id}/questionnaires",
            get(questionnaires::organisation).post(questionnaires::load),
        )
        .route("/records/{id}/readings", get(readings::overview))
        .route(
            "/records/{id}/readings/new/{measure}",
            get(readings::new_form).post(readings::add),
        )
        .route(
            "/records/{id}/readings/upload",
            get(readings_upload::form)
                .post(readings_upload::upload)
                .layer(axum::extract::DefaultBodyLimit::max(crate::record_import::UPLOAD_LIMIT)),
        )
        .route("/records/{id}/readings/{measure}", get(readings::measure))
        .route("/records/{id}/alerts/{alert}", get(readings::alert))
        .route("/records/{id}/alerts/{alert}/{verb}", post(readings::alert_action))
        .route("/notifications", get(notifications::list).post(notifications::choose))
        .route("/notifications/{id}", get(notifications::open))
        .route("/records/{id}/plan/print", get(care_plan::print))
        .route(
            "/records/{id}/plan/edit/{part}",
            get(care_plan::edit_form).post(care_plan::edit),
        )
        .route(
            "/records/{id}/plan/edit/{part}/{item}",
            get(care_plan::edit_form).post(care_plan::edit),
        )
        .route("/records/{id}/plan/agree", post(care_plan::agree))
        .route(
            "/records/{id}/plan/goals/{goal}/progress",
            get(care_plan::progress_form).post(care_plan::add_progress),
        )
        .route(
            "/records/{id}/plan/prepare",
            get(care_plan::prepare_form).post(care_plan::prepare),
        )
        .route("/records/{id}/plan/versions", get(care_plan::versions))
        .route("/records/{id}/plan/compare", get(care_plan::compare_versions))
        .route(
            "/records/{id}/import",
            get(import::form)
                .post(import::upload)
                .layer(axum::extract::DefaultBodyLimit::max(crate::record_import::UPLOAD_LIMIT)),
        )
        .route("/records/{id}/export", get(export::printable))
        .route("/records/{id}/export.json", get(export::fhir))
        .route("/records/{id}/items/{item}", get(record::item))
        .route(
            "/records/{id}/items/{item}/attachments/{index}",
            get(record::attachment),
        )
        .route("/records/{id}/items/{item}/notes", post(record::add_note))
        .route(
            "/records/{id}/items/{item}/corrections",
            post(record::request_correction),
        )
        .route("/emergency-access", get(emergency::form).post(emergency::open))
        .route("/access-requests", get(requests::show).post(requests::ask))
        .route("/sharing/requests/{id}/{verdict}", post(requests::answer))
        .route("/organisations/{id}/emergency-access", get(emergency::report))
        .route("/admin/organisations", get(admin::organisations))
        .route(
            "/admin/organisations/new",
            get(admin::new_organisation_form).post(admin::create_organisation),
        )
        .route("/admin/emails", get(admin::dead_letters))
        .route("/organisations/{id}", get(admin::organisation))
        .route(
            "/organisations/{id}/invite",
            get(admin::invite_form).post(admin::invite),
        )
}
