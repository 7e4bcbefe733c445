//! The one choke point for a person's data.
//!
//! Every read or write of a person's data — page, API, export, import, job — calls [`authorize`]. It loads the
//! person's consents and emergency accesses, asks the domain's `consent::decide`, and writes the audit event for the
//! decision (permits and refusals alike) before answering. A permit is a [`Grant`], which nothing else can make:
//! every storage function for person data takes one, so skipping this step does not compile. A refusal is
//! [`Denied`], and it is the same whether the person does not exist or consent is missing, so a refusal discloses
//! nothing — not even that the person exists.

use carepact_domain::audit::Event;
use carepact_domain::consent::{Action, Actor, Basis, Decision, Refusal, Request, Section, decide};
use carepact_domain::identity::{PersonId, UserId};
use time::OffsetDateTime;
use uuid::Uuid;

use crate::audit::AuditWriter;
use crate::{Db, Result, consents, on_db};

/// Proof that one actor may do one thing to one person's data. Only [`authorize`] makes these; code elsewhere
/// cannot forge one:
///
/// ```compile_fail,E0451
/// use carepact_domain::consent::{Action, Basis, Request, Section, Sensitivity};
/// use carepact_domain::identity::{PersonId, UserId};
/// let request = Request { section: Section::Record, label: Sensitivity::General, action: Action::Read };
/// let forged = carepact_store::access::Grant { person: PersonId::new(), actor: UserId::new(), request, basis: Basis::Owner };
/// ```
#[derive(Debug, Clone)]
pub struct Grant {
    person: PersonId,
    actor: UserId,
    request: Request,
    basis: Basis,
}

impl Grant {
    pub fn person(&self) -> PersonId {
        self.person
    }
    pub fn actor(&self) -> UserId {
        self.actor
    }
    pub fn section(&self) -> Section {
        self.request.section
    }
    pub fn action(&self) -> Action {
        self.request.action
    }
    pub fn basis(&self) -> Basis {
        self.basis
    }
    /// True when the person is acting on their own data.
    pub fn is_owner(&self) -> bool {
        self.basis == Basis::Owner
    }
}

/// Access refused. Shown to the asker exactly as "not found".
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Denied;

/// Who asks, for whom, for what and why.
#[derive(Debug, Clone)]
pub struct Ask<'a> {
    pub actor: &'a Actor,
    /// The role they act in, as recorded ("person", "professional", "carer", …).
    pub role: &'a str,
    pub on_behalf_of: Option<&'a str>,
    pub person: PersonId,
    pub request: Request,
    /// What exactly, e.g. "person-summary", "access-log".
    pub entity: &'a str,
    /// Why, e.g. "direct-care", "person-access".
    pub purpose: &'a str,
}

fn outcome(decision: Decision) -> String {
    match decision {
        Decision::Permit(Basis::Owner) => "permit:owner".into(),
        Decision::Permit(Basis::Consent(id)) => format!("permit:consent:{id}"),
        Decision::Permit(Basis::BreakGlass(id)) => format!("permit:break-glass:{id}"),
        Decision::Deny(Refusal::NoConsent) => "deny:no-consent".into(),
        Decision::Deny(Refusal::NotClinical) => "deny:not-clinical".into(),
    }
}

pub(crate) fn event(ask: &Ask<'_>, person: Option<PersonId>, outcome: String, now: OffsetDateTime) -> Event {
    Event {
        id: Uuid::now_v7(),
        occurred_at: now,
        actor: Some(ask.actor.user.0),
        actor_role: ask.role.to_owned(),
        organisation: ask.actor.organisation.map(|o| o.0),
        on_behalf_of: ask.on_behalf_of.map(str::to_owned),
        person: person.map(|p| p.0),
        action: ask.request.action.code().to_owned(),
        section: Some(ask.request.section.code().to_owned()),
        entity: ask.entity.to_owned(),
        purpose: ask.purpose.to_owned(),
        outcome,
    }
}

/// Decides `ask` and audits the decision. `Ok(Err(Denied))` is a refusal; `Err` is a storage failure.
pub async fn authorize(
    db: &Db,
    audit: &AuditWriter,
    ask: &Ask<'_>,
    now: OffsetDateTime,
) -> Result<std::result::Result<Grant, Denied>> {
    let owner: Option<Option<Uuid>> = on_db!(db, read, |p| sqlx::query_scalar(
        "SELECT user_id FROM people WHERE id = $1"
    )
    .bind(ask.person.0)
    .fetch_optional(p)
    .await)?;
    let Some(owner) = owner else {
        // No such person: refuse exactly as for missing consent, and record the attempt on the system chain.
        let mut e = event(ask, None, "deny:no-consent".into(), now);
        e.entity = format!("{}; person:{}", ask.entity, ask.person);
        audit.record(e).await?;
        return Ok(Err(Denied));
    };
    let consents = consents::for_person(db, ask.person).await?;
    let emergency = consents::break_glass_for_person(db, ask.person).await?;
    let decision = decide(ask.actor, owner.map(UserId), &consents, &emergency, ask.request, now);
    audit
        .record(event(ask, Some(ask.person), outcome(decision), now))
        .await?;
    Ok(match decision {
        Decision::Permit(basis) => Ok(Grant {
            person: ask.person,
            actor: ask.actor.user,
            request: ask.request,
            basis,
        }),
        Decision::Deny(_) => Err(Denied),
    })
}
