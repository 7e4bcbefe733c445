//! Whose is an item: the person a reading, a record item, a plan, a consent, a message, an audit event or a
//! questionnaire response belongs to, found by its id alone.
//!
//! This is the first step of the choke point for a request that names an item but not the person (the FHIR API's
//! read by id, for a professional's token): the answer goes straight to the consent decision, and what the caller
//! gets back is the same whether the item belongs to someone they may not see or does not exist.

use carepact_domain::identity::PersonId;
use uuid::Uuid;

use crate::{Db, Result, on_db};

/// The kinds of item whose owner can be looked up.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Owned {
    Reading,
    RecordItem,
    CarePlan,
    CareTeamMember,
    Consent,
    Message,
    AuditEvent,
    QuestionnaireResponse,
}

impl Owned {
    fn query(self) -> &'static str {
        match self {
            Owned::Reading => "SELECT person_id FROM readings WHERE id = $1",
            Owned::RecordItem => "SELECT person_id FROM record_items WHERE id = $1",
            Owned::CarePlan => "SELECT person_id FROM care_plans WHERE id = $1",
            Owned::CareTeamMember => "SELECT person_id FROM care_team_members WHERE id = $1",
            Owned::Consent => "SELECT person_id FROM consents WHERE id = $1",
            Owned::Message => {
                "SELECT t.person_id FROM messages m JOIN message_threads t ON t.id = m.thread_id WHERE m.id = $1"
            }
            Owned::AuditEvent => "SELECT person_id FROM audit_events WHERE id = $1 AND person_id IS NOT NULL",
            Owned::QuestionnaireResponse => "SELECT person_id FROM questionnaire_responses WHERE id = $1",
        }
    }
}

/// The person the item of this kind with this id belongs to, if there is one.
pub async fn owner(db: &Db, kind: Owned, id: Uuid) -> Result<Option<PersonId>> {
    let found: Option<(Uuid,)> = on_db!(db, read, |p| sqlx::query_as(kind.query())
        .bind(id)
        .fetch_optional(p)
        .await)?;
    Ok(found.map(|(p,)| PersonId(p)))
}
