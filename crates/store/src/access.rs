//! The one choke point for a person's data.
//!
//! Every read or write of a person's data — page, API, export, import, job — calls [`authorize`]. It loads the
//! person's consents and emergency accesses, asks the domain's `consent::decide`, and writes the audit event for the
//! decision (permits and refusals alike) before answering. A permit is a [`Grant`], which nothing else can make:
//! every storage function for person data takes one, so skipping this step does not compile. A refusal is
//! [`Denied`], and it is the same whether the person does not exist or consent is missing, so a refusal discloses
//! nothing — not even that the person exists.

use carepact_domain::audit::Event;
use carepact_domain::consent::{
    Action, Actor, Basis, Decision, Labels, Refusal, Request, Section, Sensitivity, decide,
};
use carepact_domain::identity::{PersonId, UserId};
use time::OffsetDateTime;
use uuid::Uuid;

use std::sync::Arc;

use crate::audit::AuditWriter;
use crate::{Db, Result, cache, consents, on_db};

/// Proof that one actor may do one thing to one person's data. Only [`authorize`] makes these; code elsewhere
/// cannot forge one:
///
/// ```compile_fail,E0451
/// use carepact_domain::consent::{Action, Basis, Request, Section, Sensitivity};
/// use carepact_domain::identity::{PersonId, UserId};
/// let request = Request { section: Section::Record, label: Sensitivity::General, action: Action::Read };
/// let forged = carepact_store::access::Grant {
///     person: PersonId::new(), actor: Some(UserId::new()), request, labels: Default::default(), basis: Basis::Owner,
///     may_write: true,
/// };
/// ```
#[derive(Debug, Clone)]
pub struct Grant {
    person: PersonId,
    actor: Option<UserId>,
    request: Request,
    /// The sensitivity labels this grant covers: the asked label, or for [`authorize_labels`] those permitted.
    labels: Labels,
    basis: Basis,
    /// Whether the same basis would also let the actor write to this section, so pages can offer the actions they
    /// may take without asking (and auditing) a second time.
    may_write: bool,
}

impl Grant {
    pub fn person(&self) -> PersonId {
        self.person
    }
    /// The user acting; none for the operator at the command line.
    pub fn actor(&self) -> Option<UserId> {
        self.actor
    }
    pub fn section(&self) -> Section {
        self.request.section
    }
    pub fn action(&self) -> Action {
        self.request.action
    }
    /// The sensitivity labels of items this grant reaches.
    pub fn labels(&self) -> Labels {
        self.labels
    }
    pub fn covers(&self, label: Sensitivity) -> bool {
        self.labels.contains(label)
    }
    pub fn basis(&self) -> Basis {
        self.basis
    }
    /// True when the actor may also write to this section (general items at least). Only a hint for showing
    /// links: every write still asks [`authorize`] for its own grant.
    pub fn may_write(&self) -> bool {
        self.may_write
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
    /// When the actor turns out to be the person themself, record the role "person" and this purpose instead of
    /// `role` and `purpose` (the choke point knows whose data it is without another query). `None` records `role`
    /// and `purpose` whoever the actor is.
    pub as_owner: Option<&'a str>,
}

impl<'a> Ask<'a> {
    /// This ask as recorded, once the facts say whether the actor is the person themself.
    fn as_recorded(&self, facts: &Facts) -> Ask<'a> {
        match self.as_owner {
            Some(purpose) if facts.owner == Some(self.actor.user) => Ask {
                role: "person",
                purpose,
                ..self.clone()
            },
            _ => self.clone(),
        }
    }
}

fn outcome(decision: Decision) -> String {
    match decision {
        Decision::Permit(Basis::Owner) => "permit:owner".into(),
        Decision::Permit(Basis::Consent(id)) => format!("permit:consent:{id}"),
        Decision::Permit(Basis::BreakGlass(id)) => format!("permit:break-glass:{id}"),
        Decision::Permit(Basis::Addressed(id)) => format!("permit:addressed:{id}"),
        Decision::Permit(Basis::Operator) => "permit:operator".into(),
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

/// What a decision about one person rests on.
#[derive(Debug)]
pub(crate) struct Facts {
    owner: Option<UserId>,
    consents: Vec<carepact_domain::consent::Consent>,
    emergency: Vec<carepact_domain::consent::BreakGlass>,
}

impl Facts {
    fn decide(&self, actor: &Actor, request: Request, now: OffsetDateTime) -> Decision {
        decide(actor, self.owner, &self.consents, &self.emergency, request, now)
    }

    fn may_write(&self, actor: &Actor, request: Request, now: OffsetDateTime) -> bool {
        let write = Request {
            action: Action::Write,
            label: Sensitivity::General,
            ..request
        };
        matches!(self.decide(actor, write, now), Decision::Permit(_))
    }
}

/// The consents, emergency accesses and owner of `person`; `None` when there is no such person. Kept in memory
/// between requests while nothing they rest on changes ([`crate::cache`]).
async fn load_facts(db: &Db, person: PersonId) -> Result<Option<Arc<Facts>>> {
    let epoch = cache::epoch(db).await?;
    if let Some(kept) = db.cache().facts.get(&person.0, epoch) {
        return Ok(Some(kept));
    }
    let owner: Option<Option<Uuid>> = on_db!(db, read, |p| sqlx::query_scalar(
        "SELECT user_id FROM people WHERE id = $1"
    )
    .bind(person.0)
    .fetch_optional(p)
    .await)?;
    let Some(owner) = owner else {
        return Ok(None);
    };
    let facts = Arc::new(Facts {
        owner: owner.map(UserId),
        consents: consents::for_person(db, person).await?,
        emergency: consents::break_glass_for_person(db, person).await?,
    });
    db.cache().facts.put(person.0, epoch, Arc::clone(&facts));
    Ok(Some(facts))
}

/// Loads the facts for `ask.person`. For a person who does not exist, records the refusal (on the system chain,
/// exactly as for missing consent) and returns `None`.
async fn facts(db: &Db, audit: &AuditWriter, ask: &Ask<'_>, now: OffsetDateTime) -> Result<Option<Arc<Facts>>> {
    let found = load_facts(db, ask.person).await?;
    if found.is_none() {
        let mut e = event(ask, None, "deny:no-consent".into(), now);
        e.entity = format!("{}; person:{}", ask.entity, ask.person);
        audit.record(e).await?;
    }
    Ok(found)
}

/// Whether `other` would be permitted `request` on the person `grant` is for. Advisory, for offering someone who
/// already holds a grant for the person a choice of colleagues (passing a conversation on): it opens nothing and
/// reads none of the person's data, so it is not audited; the colleague's own access is decided, and audited, when
/// they make it.
pub async fn would_permit(
    db: &Db,
    grant: &Grant,
    other: &Actor,
    request: Request,
    now: OffsetDateTime,
) -> Result<bool> {
    Ok(load_facts(db, grant.person)
        .await?
        .is_some_and(|f| matches!(f.decide(other, request, now), Decision::Permit(_))))
}

/// Decides `ask` and audits the decision. `Ok(Err(Denied))` is a refusal; `Err` is a storage failure.
pub async fn authorize(
    db: &Db,
    audit: &AuditWriter,
    ask: &Ask<'_>,
    now: OffsetDateTime,
) -> Result<std::result::Result<Grant, Denied>> {
    let Some(facts) = facts(db, audit, ask, now).await? else {
        return Ok(Err(Denied));
    };
    let ask = &ask.as_recorded(&facts);
    let decision = facts.decide(ask.actor, ask.request, now);
    audit
        .record(event(ask, Some(ask.person), outcome(decision), now))
        .await?;
    Ok(match decision {
        Decision::Permit(basis) => Ok(Grant {
            person: ask.person,
            actor: Some(ask.actor.user),
            request: ask.request,
            labels: Labels::of(&[ask.request.label]),
            basis,
            may_write: facts.may_write(ask.actor, ask.request, now),
        }),
        Decision::Deny(_) => Err(Denied),
    })
}

/// Decides `ask` for each label in `labels` (the ask's own label is ignored) and audits the result as one event:
/// views that mix items of several sensitivities (the record summary, the timeline, an export, an import) see only
/// the labels the person has shared. Refused when no label is permitted.
pub async fn authorize_labels(
    db: &Db,
    audit: &AuditWriter,
    ask: &Ask<'_>,
    labels: Labels,
    now: OffsetDateTime,
) -> Result<std::result::Result<Grant, Denied>> {
    let Some(facts) = facts(db, audit, ask, now).await? else {
        return Ok(Err(Denied));
    };
    let ask = &ask.as_recorded(&facts);
    let mut permitted = Vec::new();
    let mut first = None;
    let mut refusal = Decision::Deny(Refusal::NoConsent);
    for label in labels.iter() {
        let request = Request { label, ..ask.request };
        match facts.decide(ask.actor, request, now) {
            Decision::Permit(basis) => {
                permitted.push(label);
                first.get_or_insert(basis);
            }
            deny => refusal = deny,
        }
    }
    let permitted = Labels::of(&permitted);
    let decision = first.map(Decision::Permit).unwrap_or(refusal);
    let mut e = event(ask, Some(ask.person), outcome(decision), now);
    if first.is_some() {
        let codes: Vec<&str> = permitted.iter().map(Sensitivity::code).collect();
        e.entity = format!("{}; labels:{}", ask.entity, codes.join(","));
    }
    audit.record(e).await?;
    Ok(match first {
        Some(basis) => Ok(Grant {
            person: ask.person,
            actor: Some(ask.actor.user),
            request: ask.request,
            labels: permitted,
            basis,
            may_write: facts.may_write(ask.actor, ask.request, now),
        }),
        None => Err(Denied),
    })
}

/// A permit for whoever runs CarePact at its command line (for example `carepact import`), audited with no user and
/// the role "operator". Refused, like any refusal, when the person does not exist.
pub async fn authorize_operator(
    db: &Db,
    audit: &AuditWriter,
    person: PersonId,
    request: Request,
    entity: &str,
    now: OffsetDateTime,
) -> Result<std::result::Result<Grant, Denied>> {
    let exists: Option<Uuid> = on_db!(db, read, |p| sqlx::query_scalar("SELECT id FROM people WHERE id = $1")
        .bind(person.0)
        .fetch_optional(p)
        .await)?;
    let mut e = Event {
        id: Uuid::now_v7(),
        occurred_at: now,
        actor: None,
        actor_role: "operator".into(),
        organisation: None,
        on_behalf_of: Some("command-line".into()),
        person: exists.map(|_| person.0),
        action: request.action.code().to_owned(),
        section: Some(request.section.code().to_owned()),
        entity: entity.to_owned(),
        purpose: "operations".into(),
        outcome: outcome(Decision::Permit(Basis::Operator)),
    };
    if exists.is_none() {
        e.outcome = "deny:no-such-person".into();
        audit.record(e).await?;
        return Ok(Err(Denied));
    }
    audit.record(e).await?;
    Ok(Ok(Grant {
        person,
        actor: None,
        request,
        labels: Labels::all(),
        basis: Basis::Operator,
        may_write: request.action == Action::Write,
    }))
}

/// Something a person addressed to an organisation: a correction request or a query about an access.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Addressed {
    Correction(Uuid),
    AccessQuery(Uuid),
}

/// A permit for staff of the organisation a person addressed a correction request or access query to, to read and
/// answer that one thing (and, for a correction, the item it is about). Audited like every decision; refused for
/// anyone outside that organisation, for non-clinical staff other than its admins, and for requests that do not
/// exist.
pub async fn authorize_addressed(
    db: &Db,
    audit: &AuditWriter,
    actor: &Actor,
    role: &str,
    addressed: Addressed,
    action: Action,
    now: OffsetDateTime,
) -> Result<std::result::Result<Grant, Denied>> {
    use carepact_domain::identity::Role;
    let (sql, id, entity) = match addressed {
        Addressed::Correction(id) => (
            "SELECT c.person_id, c.organisation_id, COALESCE(i.label, 'general') FROM correction_requests c \
             LEFT JOIN record_items i ON i.id = c.item_id WHERE c.id = $1",
            id,
            format!("correction-request:{id}"),
        ),
        Addressed::AccessQuery(id) => (
            "SELECT person_id, organisation_id, 'general' FROM access_queries WHERE id = $1",
            id,
            format!("access-query:{id}"),
        ),
    };
    let row: Option<(Uuid, Option<Uuid>, String)> =
        on_db!(db, read, |p| sqlx::query_as(sql).bind(id).fetch_optional(p).await)?;
    let staff = actor.is_clinical() || actor.roles.contains(&Role::OrganisationAdmin);
    let label = row
        .as_ref()
        .and_then(|r| Sensitivity::from_code(&r.2))
        .unwrap_or(Sensitivity::General);
    let request = Request {
        section: Section::Record,
        label,
        action,
    };
    let permitted = row
        .as_ref()
        .filter(|r| staff && r.1.is_some() && r.1 == actor.organisation.map(|o| o.0));
    let ask = Ask {
        actor,
        role,
        on_behalf_of: None,
        person: PersonId(row.as_ref().map(|r| r.0).unwrap_or_default()),
        request,
        entity: &entity,
        purpose: "answer-person",
        as_owner: None,
    };
    let decision = match permitted {
        Some(_) => Decision::Permit(Basis::Addressed(id)),
        None => Decision::Deny(Refusal::NoConsent),
    };
    audit
        .record(event(&ask, row.as_ref().map(|r| PersonId(r.0)), outcome(decision), now))
        .await?;
    Ok(match permitted {
        Some(r) => Ok(Grant {
            person: PersonId(r.0),
            actor: Some(actor.user),
            request,
            labels: Labels::of(&[label]),
            basis: Basis::Addressed(id),
            may_write: action == Action::Write,
        }),
        None => Err(Denied),
    })
}
