//! Starting a deployment without the demo: the first system administrator is invited from the command line.

use carepact_domain::identity::{Email, Role, required_text};
use carepact_store::users::NewUser;

use crate::i18n::Tr;
use crate::mail;
use crate::state::AppState;

/// Creates a system admin with no password and returns the one-time link to set it (also emailed).
pub async fn invite_system_admin(state: &AppState, email: &str, name: &str) -> anyhow::Result<String> {
    let email = Email::parse(email).map_err(|id| anyhow::anyhow!("the email address is not valid ({id})"))?;
    let name =
        required_text("name", name, 100, "error-staff-name-empty").map_err(|_| anyhow::anyhow!("a name is needed"))?;
    let tr = Tr {
        catalogue: &state.catalogue,
        lang: Default::default(),
    };
    let new = NewUser {
        email: &email,
        display_name: &name,
        roles: &[Role::SystemAdmin],
        organisation_id: None,
        password_hash: None,
    };
    let link = mail::invite_user(state, tr, &new).await?;
    Ok(link)
}
