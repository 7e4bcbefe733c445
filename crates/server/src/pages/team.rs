//! The person's care team: who looks after them, in which role and organisation, and their named contact with
//! their usual reply time and cover. The person adds professionals (sharing what they choose, in the same step),
//! makes one the named contact, removes members (which stops their sharing), and accepts or declines a
//! professional's proposal to join. Anyone the person shares anything with can see the team.

use askama::Template;
use axum::extract::{Path, State};
use axum::response::{IntoResponse, Redirect, Response};
use carepact_domain::consent::{Action, Consent, Grantee, Labels, Section, Sections, Sensitivity};
use carepact_domain::identity::{Email, PersonId, Role};
use carepact_store::access::Grant;
use carepact_store::care_team::{self, Member};
use carepact_store::users::{self, User};
use uuid::Uuid;

use crate::errors::AppError;
use crate::forms::{Errors, Fields};
use crate::pages::layout::{Chrome, render};
use crate::session::Session;
use crate::state::AppState;

use crate::pages::person_id;

/// A grant on the person: the person's own (write, to manage the team), or anyone's read of any section they share.
async fn team_grant(state: &AppState, user: &User, person: PersonId, action: Action) -> Result<Grant, AppError> {
    let mut refused = AppError::NotFound;
    for section in [Section::Record, Section::CarePlan, Section::Messages] {
        match crate::pages::section_grant(state, user, person, section, action, "care-team").await {
            Ok(g) => return Ok(g),
            Err(e) => refused = e,
        }
        if action == Action::Write {
            break;
        }
    }
    Err(refused)
}

struct MemberView {
    id: Uuid,
    name: String,
    role: String,
    organisation: String,
    named: bool,
    note: String,
    proposed: bool,
}

#[derive(Template)]
#[template(path = "team.html")]
struct TeamPage<'a> {
    c: Chrome<'a>,
    base: String,
    name: String,
    own: bool,
    members: Vec<MemberView>,
    /// A professional not yet in the team, who may propose themself.
    can_propose: bool,
    sections: Vec<Section>,
    form: Fields,
    errors: Errors,
}

fn note(c: &Chrome<'_>, m: &Member) -> String {
    let mut parts = Vec::new();
    if let Some(days) = m.reply_within_days {
        parts.push(c.t_with("messages-reply-within", &[("days", days.to_string().as_str())]));
    }
    if m.away == Some(true) {
        parts.push(match &m.cover_name {
            Some(cover) => c.t_with("messages-away-cover", &[("cover", cover.as_str())]),
            None => c.t("messages-away"),
        });
    }
    parts.join(" ")
}

async fn page(
    state: &AppState,
    session: &Session,
    id: &str,
    grant: &Grant,
    user: &User,
    form: Fields,
    errors: Errors,
) -> Result<Response, AppError> {
    let members = care_team::members(&state.db, grant)
        .await?
        .map_err(|_| AppError::NotFound)?;
    let name = carepact_store::people::summary(&state.db, grant)
        .await?
        .map(|p| p.full_name())
        .unwrap_or_default();
    let base = format!("/records/{id}");
    let c = Chrome::new(session)
        .await?
        .link(&base, name.clone())
        .crumb(&format!("{base}/team"), "team-title")
        .with_errors(&errors);
    let can_propose =
        !grant.is_owner() && user.has_role(Role::Professional) && !members.iter().any(|m| m.user_id == user.id.0);
    let members = members
        .iter()
        .map(|m| MemberView {
            id: m.id,
            name: m.name.clone(),
            role: m.role_text.clone(),
            organisation: m.organisation.clone().unwrap_or_default(),
            named: m.is_named_contact,
            note: note(&c, m),
            proposed: m.status == "proposed",
        })
        .collect();
    let status = errors.status();
    let page = TeamPage {
        base,
        name,
        own: grant.is_owner(),
        members,
        can_propose,
        sections: Section::ALL.to_vec(),
        form,
        errors,
        c,
    };
    Ok((status, render(&page)?).into_response())
}

pub async fn show(
    State(state): State<AppState>,
    session: Session,
    Path(id): Path<String>,
) -> Result<Response, AppError> {
    let user = session.require_user()?.clone();
    let grant = team_grant(&state, &user, person_id(&id)?, Action::Read).await?;
    page(
        &state,
        &session,
        &id,
        &grant,
        &user,
        Fields::default(),
        Errors::default(),
    )
    .await
}

/// The consent a membership brings: the sections chosen, general information, read or read and write.
fn consent_from(
    form: &Fields,
    grantee: Grantee,
    errors: &mut Errors,
    session: &Session,
    now: time::OffsetDateTime,
) -> Consent {
    let tr = session.tr();
    let sections: Vec<Section> = form
        .all("sections")
        .into_iter()
        .filter_map(Section::from_code)
        .collect();
    if sections.is_empty() {
        errors.add(tr, "sections", "error-share-sections");
    }
    let write = match form.get("access") {
        "read" => false,
        "write" => true,
        _ => {
            errors.add(tr, "access", "error-share-access");
            false
        }
    };
    Consent {
        id: Uuid::now_v7(),
        grantee,
        sections: Sections::of(&sections),
        labels: Labels::of(&[Sensitivity::General]),
        write,
        starts: now,
        ends: None,
        revoked: None,
    }
}

/// The person's own grant for managing their team.
async fn owner(state: &AppState, session: &Session, id: &str) -> Result<(User, Grant), AppError> {
    let user = session.require_user()?.clone();
    let grant = team_grant(state, &user, person_id(id)?, Action::Write).await?;
    if !grant.is_owner() {
        return Err(AppError::NotFound);
    }
    Ok((user, grant))
}

pub async fn add(
    State(state): State<AppState>,
    session: Session,
    Path(id): Path<String>,
    form: Fields,
) -> Result<Response, AppError> {
    let (user, grant) = owner(&state, &session, &id).await?;
    let tr = session.tr();
    let mut errors = Errors::default();
    let professional = match Email::parse(form.get("email")) {
        Ok(email) => match users::find_by_email(&state.db, &email).await? {
            Some(u) if u.active && (u.has_role(Role::Professional) || u.has_role(Role::LinkWorker)) => Some(u),
            _ => {
                errors.add(tr, "email", "error-share-professional-unknown");
                None
            }
        },
        Err(message) => {
            errors.add(tr, "email", message);
            None
        }
    };
    let role = form.get("role").trim().to_owned();
    if role.is_empty() || role.chars().count() > 100 {
        errors.add(tr, "role", "error-team-role");
    }
    let grantee = Grantee::Professional(professional.as_ref().map(|p| p.id).unwrap_or(user.id));
    let consent = consent_from(&form, grantee, &mut errors, &session, state.now());
    let Some(professional) = professional.filter(|_| errors.is_empty()) else {
        return page(&state, &session, &id, &grant, &user, form, errors).await;
    };
    care_team::add(
        &state.db,
        &grant,
        professional.id,
        professional.organisation_id,
        &role,
        &consent,
        form.get("named") == "yes",
        state.now(),
    )
    .await?
    .map_err(|_| AppError::NotFound)?;
    session.set_flash("flash-done-team-added").await?;
    Ok(Redirect::to(&format!("/records/{id}/team")).into_response())
}

/// Named contact, remove (or decline) and accept, on one member.
pub async fn member(
    State(state): State<AppState>,
    session: Session,
    Path((id, member, verb)): Path<(String, String, String)>,
) -> Result<Response, AppError> {
    let (_, grant) = owner(&state, &session, &id).await?;
    let member = Uuid::parse_str(&member).map_err(|_| AppError::NotFound)?;
    let now = state.now();
    let (done, flash) = match verb.as_str() {
        "named" => (
            care_team::make_named_contact(&state.db, &grant, member, now).await?,
            "flash-done-team-named",
        ),
        "end" => (
            care_team::end(&state.db, &grant, member, now).await?,
            "flash-done-team-ended",
        ),
        "accept" => {
            let proposer = care_team::proposer(&state.db, &grant, member)
                .await?
                .map_err(|_| AppError::NotFound)?
                .ok_or(AppError::NotFound)?;
            // What a team member needs: the record, the plan and messages, general information, to see and add
            // to. The person can narrow it on their sharing page.
            let consent = Consent {
                id: Uuid::now_v7(),
                grantee: Grantee::Professional(proposer),
                sections: Sections::of(&[Section::Record, Section::CarePlan, Section::Messages]),
                labels: Labels::of(&[Sensitivity::General]),
                write: true,
                starts: now,
                ends: None,
                revoked: None,
            };
            (
                care_team::accept(&state.db, &grant, member, &consent, now).await?,
                "flash-done-team-accepted",
            )
        }
        _ => return Err(AppError::NotFound),
    };
    if !done.map_err(|_| AppError::NotFound)? {
        return Err(AppError::NotFound);
    }
    session.set_flash(flash).await?;
    Ok(Redirect::to(&format!("/records/{id}/team")).into_response())
}

pub async fn propose(
    State(state): State<AppState>,
    session: Session,
    Path(id): Path<String>,
    form: Fields,
) -> Result<Response, AppError> {
    let user = session.require_user()?.clone();
    let grant = team_grant(&state, &user, person_id(&id)?, Action::Read).await?;
    if grant.is_owner() || !user.has_role(Role::Professional) {
        return Err(AppError::NotFound);
    }
    let role = form.get("role").trim().to_owned();
    if role.is_empty() || role.chars().count() > 100 {
        let mut errors = Errors::default();
        errors.add(session.tr(), "role", "error-team-role");
        return page(&state, &session, &id, &grant, &user, form, errors).await;
    }
    care_team::propose(&state.db, &grant, user.organisation_id, &role, state.now())
        .await?
        .map_err(|_| AppError::NotFound)?;
    session.set_flash("flash-done-team-proposed").await?;
    Ok(Redirect::to(&format!("/records/{id}/team")).into_response())
}
