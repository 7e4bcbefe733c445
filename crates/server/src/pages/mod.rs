//! The pages people use, grouped by capability. Each handler checks who is asking, reads through the store, and
//! renders a template whose every word comes from the message catalogue.

use axum::Router;
use axum::routing::{get, post};

use crate::state::AppState;

pub mod layout;
pub mod ops;

mod account;
mod admin;
mod auth;
mod home;
pub(crate) mod people;

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
        .route("/people/new", get(people::new_form).post(people::register))
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
