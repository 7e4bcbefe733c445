//! The home page: what each signed-in user needs first, from their own data.

use askama::Template;
use axum::extract::{Query, State};
use axum::response::{IntoResponse, Response};
use carepact_domain::identity::Role;
use carepact_store::organisations::{self, Organisation};
use carepact_store::people::Person;
use carepact_store::{outbox, users::User};

use crate::errors::AppError;
use crate::pages::layout::{Chrome, render};
use crate::session::Session;
use crate::state::AppState;

#[derive(Template)]
#[template(path = "home.html")]
struct HomePage<'a> {
    c: Chrome<'a>,
    user: User,
    person: Option<Person>,
    organisation: Option<Organisation>,
    is_staff: bool,
    can_register_people: bool,
    is_org_admin: bool,
    is_professional: bool,
    is_link_worker: bool,
    is_carer: bool,
    is_commissioner: bool,
    system: Option<SystemSummary>,
    /// People who have shared their record with this professional or carer: one page of them.
    shared: Vec<(carepact_domain::identity::PersonId, String, Option<String>)>,
    page: i64,
    pages: i64,
    total: i64,
}

#[derive(Debug, Default, serde::Deserialize)]
pub struct HomeQuery {
    #[serde(default)]
    page: String,
}

struct SystemSummary {
    organisations: i64,
    emails_waiting: i64,
    dead_letters: usize,
}

pub async fn home(
    State(state): State<AppState>,
    session: Session,
    Query(q): Query<HomeQuery>,
) -> Result<Response, AppError> {
    let user = session.require_user()?.clone();
    let (person, organisation) = crate::pages::profile(&state, &user).await?;
    let system = if user.has_role(Role::SystemAdmin) {
        Some(SystemSummary {
            organisations: organisations::count(&state.db).await?,
            emails_waiting: outbox::pending_count(&state.db).await?,
            dead_letters: outbox::dead_letters(&state.db).await?.len(),
        })
    } else {
        None
    };
    let page = q.page.trim().parse::<i64>().unwrap_or(1).max(1);
    let shared = if user
        .roles
        .iter()
        .any(|r| matches!(r, Role::Professional | Role::LinkWorker | Role::Carer))
    {
        crate::pages::shared_with_me(&state, &user, page).await?
    } else {
        crate::pages::sharing::SharedPage {
            people: Vec::new(),
            page: 1,
            pages: 0,
            total: 0,
        }
    };
    let page = HomePage {
        shared: shared.people,
        page: shared.page,
        pages: shared.pages,
        total: shared.total,
        c: Chrome::new(&session).await?,
        is_staff: user.roles.iter().any(|r| r.is_staff()),
        can_register_people: [Role::Professional, Role::LinkWorker, Role::OrganisationAdmin]
            .iter()
            .any(|r| user.has_role(*r)),
        is_org_admin: user.has_role(Role::OrganisationAdmin),
        is_professional: user.has_role(Role::Professional),
        is_link_worker: user.has_role(Role::LinkWorker),
        is_carer: user.has_role(Role::Carer),
        is_commissioner: user.has_role(Role::Commissioner),
        user,
        person,
        organisation,
        system,
    };
    Ok(render(&page)?.into_response())
}
