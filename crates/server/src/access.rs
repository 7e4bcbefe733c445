//! The web side of the choke point: turns the signed-in user into an actor, asks the store's
//! `access::authorize`, and turns a refusal into the same "not found" a missing person gets.

use carepact_domain::consent::{Actor, Labels, Request};
use carepact_domain::identity::{PersonId, Role};
use carepact_store::access::{self, Ask, Grant};
use carepact_store::users::User;

use crate::errors::AppError;
use crate::state::AppState;

pub fn actor(user: &User) -> Actor {
    Actor {
        user: user.id,
        roles: user.roles.clone(),
        organisation: user.organisation_id,
    }
}

/// The role a user acts in when they reach someone else's data (their own is always "person").
pub fn acting_role(user: &User) -> &'static str {
    [Role::Professional, Role::LinkWorker, Role::Carer, Role::Person]
        .into_iter()
        .find(|r| user.has_role(*r))
        .or_else(|| user.roles.first().copied())
        .map(Role::code)
        .unwrap_or("unknown")
}

/// Authorises `user` to do `request` on `person`'s data, auditing the decision. Refusal is `AppError::NotFound`.
pub async fn authorize(
    state: &AppState,
    user: &User,
    person: PersonId,
    request: Request,
    entity: &str,
    purpose: &str,
) -> Result<Grant, AppError> {
    decide(state, user, person, request, entity, (purpose, purpose), None, None).await
}

/// Like [`authorize`], for views that mix items of every sensitivity: the grant covers the labels the person has
/// shared with `user` (all of them for the person's own record).
pub async fn authorize_labels(
    state: &AppState,
    user: &User,
    person: PersonId,
    request: Request,
    entity: &str,
    purpose: &str,
) -> Result<Grant, AppError> {
    decide(
        state,
        user,
        person,
        request,
        entity,
        (purpose, purpose),
        Some(Labels::all()),
        None,
    )
    .await
}

/// Asks the choke point, over `labels` when given (else the request's one label), recording `via` (the app the user
/// acts through) when there is one. `purposes` are why the user reaches someone else's data, and their own: the
/// choke point records the role they act in, or "person" for their own, as it finds whose data it is.
#[allow(clippy::too_many_arguments)]
async fn decide(
    state: &AppState,
    user: &User,
    person: PersonId,
    request: Request,
    entity: &str,
    (purpose, own_purpose): (&str, &str),
    labels: Option<Labels>,
    via: Option<&str>,
) -> Result<Grant, AppError> {
    let actor = actor(user);
    let ask = Ask {
        actor: &actor,
        role: acting_role(user),
        on_behalf_of: via,
        person,
        request,
        entity,
        purpose,
        as_owner: Some(own_purpose),
    };
    let decision = match labels {
        None => access::authorize(&state.db, &state.audit, &ask, state.now()).await?,
        Some(labels) => access::authorize_labels(&state.db, &state.audit, &ask, labels, state.now()).await?,
    };
    decision.map_err(|_| AppError::NotFound)
}

/// For a background job: CarePact itself, as the operator, asks the choke point for `action` on the general items
/// of one section of `person`'s data, so the job's read or write shows in the person's log. `None` when refused
/// (the person no longer exists).
pub async fn job_grant(
    state: &AppState,
    person: PersonId,
    section: carepact_domain::consent::Section,
    action: carepact_domain::consent::Action,
    entity: &str,
) -> anyhow::Result<Option<Grant>> {
    let request = Request {
        section,
        label: carepact_domain::consent::Sensitivity::General,
        action,
    };
    Ok(
        carepact_store::access::authorize_operator(&state.db, &state.audit, person, request, entity, state.now())
            .await?
            .ok(),
    )
}

/// The words a background job writes in (emails it sends): the service's default language.
pub fn job_tr(state: &AppState) -> crate::i18n::Tr<'_> {
    crate::i18n::Tr {
        catalogue: &state.catalogue,
        lang: state.catalogue.negotiate(None, None),
    }
}

/// Why a user reaches a person's data: caring for someone else ("direct-care"), or their own ("person-access").
const CARE_PURPOSES: (&str, &str) = ("direct-care", "person-access");

/// Like [`authorize`], recording the purpose as direct care, or "person-access" for the user's own data.
pub async fn authorize_care(
    state: &AppState,
    user: &User,
    person: PersonId,
    request: Request,
    entity: &str,
) -> Result<Grant, AppError> {
    decide(state, user, person, request, entity, CARE_PURPOSES, None, None).await
}

/// Like [`authorize_labels`], recording the purpose as direct care, or "person-access" for the user's own data.
pub async fn authorize_care_labels(
    state: &AppState,
    user: &User,
    person: PersonId,
    request: Request,
    entity: &str,
) -> Result<Grant, AppError> {
    decide(
        state,
        user,
        person,
        request,
        entity,
        CARE_PURPOSES,
        Some(Labels::all()),
        None,
    )
    .await
}

/// Authorises `user` acting through `via` (an app they connected, `app:<client id>`, or an API token,
/// `token:<id>`) to do `request` on `person`'s data: the same decision as for the user themself, recorded with
/// `via` so the person's log shows how they were reached. Refusal is `AppError::NotFound`.
pub async fn authorize_via(
    state: &AppState,
    user: &User,
    person: PersonId,
    request: Request,
    entity: &str,
    via: &str,
) -> Result<Grant, AppError> {
    decide(state, user, person, request, entity, CARE_PURPOSES, None, Some(via)).await
}

/// Like [`authorize_via`], for answers that mix items of every sensitivity (the record's resources): the grant
/// covers the labels the person has shared with `user` (all of them for the person's own record), decided once per
/// label and recorded with `via`.
pub async fn authorize_via_labels(
    state: &AppState,
    user: &User,
    person: PersonId,
    request: Request,
    entity: &str,
    via: &str,
) -> Result<Grant, AppError> {
    decide(
        state,
        user,
        person,
        request,
        entity,
        CARE_PURPOSES,
        Some(Labels::all()),
        Some(via),
    )
    .await
}
