//! An audit event as a FHIR R4 AuditEvent, in the shape of IHE Basic Audit Log Patterns (BALP): a RESTful
//! interaction, the user as the requesting agent, their organisation, the person as the patient entity, and the
//! data touched as a second entity.

use carepact_domain::audit::Event;
use serde_json::{Value, json};
use time::format_description::well_known::Rfc3339;

const BALP: &str = "https://profiles.ihe.net/ITI/BALP/StructureDefinition";

fn urn(id: uuid::Uuid) -> Value {
    json!({"system": "urn:ietf:rfc:3986", "value": format!("urn:uuid:{id}")})
}

/// The BALP profile, the RESTful interaction and the AuditEvent action code for a CarePact action.
fn interaction(action: &str) -> (&'static str, &'static str, &'static str) {
    match action {
        "read" | "export" => ("IHE.BasicAudit.Read", "read", "R"),
        "write" | "import" | "note" | "correction" => ("IHE.BasicAudit.Update", "update", "U"),
        "grant" | "request-access" | "break-glass" => ("IHE.BasicAudit.Create", "create", "C"),
        "revoke" => ("IHE.BasicAudit.Delete", "delete", "D"),
        _ => ("IHE.BasicAudit.Read", "read", "E"),
    }
}

/// The purpose of use, as an HL7 v3 ActReason code.
fn purpose(purpose: &str) -> (&'static str, &'static str) {
    match purpose {
        "emergency" => ("ETREAT", "Emergency Treatment"),
        "person-access" | "person-choice" => ("PATRQT", "patient requested"),
        "direct-care" => ("TREAT", "treatment"),
        _ => ("HOPERAT", "healthcare operations"),
    }
}

/// The AuditEvent for `event`. `patient` is the reference to use for the person (e.g. `Patient/…`).
pub fn to_fhir(event: &Event, patient: Option<&str>) -> Value {
    let (profile, subtype, action) = interaction(&event.action);
    let (purpose_code, purpose_display) = purpose(&event.purpose);
    let permitted = event.outcome.starts_with("permit");
    let mut agents = vec![json!({
        "type": {"coding": [{"system": "http://terminology.hl7.org/CodeSystem/v3-ParticipationType", "code": "IRCP", "display": "information recipient"}]},
        "who": event.actor.map(urn).map(|i| json!({"identifier": i})).unwrap_or_else(|| json!({"display": "CarePact"})),
        "role": [{"text": event.actor_role}],
        "requestor": true
    })];
    if let Some(org) = event.organisation {
        agents.push(json!({
            "type": {"coding": [{"system": "http://terminology.hl7.org/CodeSystem/provenance-participant-type", "code": "legal", "display": "Legal Authenticator"}]},
            "who": {"identifier": urn(org)},
            "requestor": false
        }));
    }
    if let Some(behalf) = &event.on_behalf_of {
        agents.push(json!({
            "type": {"coding": [{"system": "http://terminology.hl7.org/CodeSystem/v3-RoleClass", "code": "AGNT", "display": "agent"}]},
            "who": {"display": behalf},
            "requestor": false
        }));
    }
    let mut entities = Vec::new();
    if let Some(person) = event.person {
        let what = match patient {
            Some(reference) => json!({"reference": reference}),
            None => json!({"identifier": urn(person)}),
        };
        entities.push(json!({
            "what": what,
            "type": {"system": "http://terminology.hl7.org/CodeSystem/audit-entity-type", "code": "1", "display": "Person"},
            "role": {"system": "http://terminology.hl7.org/CodeSystem/object-role", "code": "1", "display": "Patient"}
        }));
    }
    let mut data = json!({
        "what": {"display": event.entity},
        "type": {"system": "http://terminology.hl7.org/CodeSystem/audit-entity-type", "code": "2", "display": "System Object"},
        "role": {"system": "http://terminology.hl7.org/CodeSystem/object-role", "code": "4", "display": "Domain Resource"}
    });
    if let Some(section) = &event.section {
        data["detail"] = json!([{"type": "section", "valueString": section}]);
    }
    entities.push(data);
    json!({
        "resourceType": "AuditEvent",
        "id": event.id.to_string(),
        "meta": {"profile": [format!("{BALP}/{profile}")]},
        "type": {"system": "http://terminology.hl7.org/CodeSystem/audit-event-type", "code": "rest", "display": "RESTful Operation"},
        "subtype": [{"system": "http://hl7.org/fhir/restful-interaction", "code": subtype}],
        "action": action,
        "recorded": event.occurred_at.format(&Rfc3339).unwrap_or_default(),
        "outcome": if permitted { "0" } else { "4" },
        "outcomeDesc": event.outcome,
        "purposeOfEvent": [{"coding": [{"system": "http://terminology.hl7.org/CodeSystem/v3-ActReason", "code": purpose_code, "display": purpose_display}], "text": event.purpose}],
        "agent": agents,
        "source": {
            "observer": {"display": "CarePact"},
            "type": [{"system": "http://terminology.hl7.org/CodeSystem/security-source-type", "code": "4", "display": "Application Server"}]
        },
        "entity": entities
    })
}

#[cfg(test)]
mod tests {
    use super::*;
    use time::macros::datetime;
    use uuid::Uuid;

    #[test]
    fn a_consented_read_and_a_refusal() {
        let mut e = Event {
            id: Uuid::nil(),
            occurred_at: datetime!(2026-11-23 10:00 UTC),
            actor: Some(Uuid::from_u128(1)),
            actor_role: "professional".into(),
            organisation: Some(Uuid::from_u128(2)),
            on_behalf_of: None,
            person: Some(Uuid::from_u128(3)),
            action: "read".into(),
            section: Some("record".into()),
            entity: "record-summary".into(),
            purpose: "direct-care".into(),
            outcome: "permit:consent:x".into(),
        };
        let f = to_fhir(&e, Some("Patient/p"));
        assert_eq!(f["meta"]["profile"][0], format!("{BALP}/IHE.BasicAudit.Read"));
        assert_eq!((f["action"].as_str(), f["outcome"].as_str()), (Some("R"), Some("0")));
        assert_eq!(f["recorded"], "2026-11-23T10:00:00Z");
        assert_eq!(f["agent"].as_array().map(Vec::len), Some(2));
        assert_eq!(f["entity"][0]["what"]["reference"], "Patient/p");
        assert_eq!(f["purposeOfEvent"][0]["coding"][0]["code"], "TREAT");
        e.outcome = "deny:no-consent".into();
        e.person = None;
        let f = to_fhir(&e, None);
        assert_eq!(f["outcome"], "4");
        assert_eq!(f["entity"].as_array().map(Vec::len), Some(1));
    }
}
