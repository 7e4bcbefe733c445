//! The care team and the messages within it as FHIR R4: one CareTeam for the person's team, and one Communication
//! per message, for export and the FHIR API.
//!
//! FHIR forbids empty strings, arrays and objects, so every optional part is left out when there is nothing to say
//! (text that is only whitespace counts as nothing). No extensions are used.

use serde_json::{Value, json};
use time::OffsetDateTime;

/// The identifier system grouping a thread's messages: every Communication in a thread carries the thread's id.
pub const THREAD_SYSTEM: &str = "urn:carepact:message-thread";

/// One member of a care team: a practitioner, their role in the team, and the organisation they act for.
#[derive(Debug, Clone, Copy)]
pub struct TeamMember<'a> {
    pub id: uuid::Uuid,
    pub practitioner_name: &'a str,
    pub practitioner_id: uuid::Uuid,
    pub role_text: &'a str,
    pub organisation_name: Option<&'a str>,
    pub organisation_id: Option<uuid::Uuid>,
    /// The person's named contact in the team.
    pub named_contact: bool,
}

/// One message in a thread between the person and their team.
#[derive(Debug, Clone, Copy)]
pub struct Message<'a> {
    pub id: uuid::Uuid,
    pub thread_id: uuid::Uuid,
    pub subject_text: &'a str,
    pub body: &'a str,
    pub sent: OffsetDateTime,
    /// Who sent it, as a reference such as `Patient/<uuid>` or `Practitioner/<uuid>`.
    pub sender_ref: &'a str,
    pub sender_name: Option<&'a str>,
    /// Who it is for, as a reference such as `Patient/<uuid>` or `Practitioner/<uuid>`.
    pub recipient_ref: &'a str,
    pub recipient_name: Option<&'a str>,
    /// The message this one answers.
    pub in_reply_to: Option<uuid::Uuid>,
}

use crate::care_plan::{instant, words};

/// A Reference with whichever of the reference and the display there is; nothing when there is neither.
fn reference(target: Option<&str>, display: Option<&str>) -> Option<Value> {
    let target = target.and_then(words);
    let display = display.and_then(words);
    if target.is_none() && display.is_none() {
        return None;
    }
    let mut r = json!({});
    if let Some(target) = target {
        r["reference"] = json!(target);
    }
    if let Some(display) = display {
        r["display"] = json!(display);
    }
    Some(r)
}

/// The organisation a member acts for, as a Reference: `Organization/<id>` when its id is known, with its name.
fn organisation(m: &TeamMember) -> Option<Value> {
    let target = m.organisation_id.map(|id| format!("Organization/{id}"));
    reference(target.as_deref(), m.organisation_name)
}

fn participant(m: &TeamMember) -> Value {
    let practitioner = format!("Practitioner/{}", m.practitioner_id);
    let mut p = json!({
        "id": m.id.to_string(),
        "member": reference(Some(&practitioner), Some(m.practitioner_name))
    });
    let roles: Vec<Value> = [words(m.role_text), m.named_contact.then_some("Named contact")]
        .into_iter()
        .flatten()
        .map(|text| json!({"text": text}))
        .collect();
    if !roles.is_empty() {
        p["role"] = json!(roles);
    }
    if let Some(org) = organisation(m) {
        p["onBehalfOf"] = org;
    }
    p
}

/// The person's care team as a FHIR R4 CareTeam: one participant per member (the named contact with a second role,
/// "Named contact"), each practitioner as `Practitioner/<id>` acting for their organisation, and the members'
/// distinct organisations, in order of first appearance, as the managing organisations.
pub fn care_team(team_id: uuid::Uuid, patient_ref: &str, patient_name: Option<&str>, members: &[TeamMember]) -> Value {
    let name = match patient_name.and_then(words) {
        Some(patient) => format!("Care team for {patient}"),
        None => "Care team".to_owned(),
    };
    let mut team = json!({
        "resourceType": "CareTeam",
        "id": team_id.to_string(),
        "status": "active",
        "name": name
    });
    if let Some(subject) = reference(Some(patient_ref), patient_name) {
        team["subject"] = subject;
    }
    let participants: Vec<Value> = members.iter().map(participant).collect();
    if !participants.is_empty() {
        team["participant"] = json!(participants);
    }
    // Distinct by id, or by name for an organisation known only by name; a name missing at first is filled in later.
    let mut organisations: Vec<(Option<uuid::Uuid>, Value)> = Vec::new();
    for m in members {
        let Some(org) = organisation(m) else { continue };
        let seen = organisations.iter_mut().find(|(id, known)| match m.organisation_id {
            Some(_) => *id == m.organisation_id,
            None => id.is_none() && known["display"] == org["display"],
        });
        match seen {
            Some((_, known)) => {
                if known.get("display").is_none()
                    && let Some(display) = org.get("display")
                {
                    known["display"] = display.clone();
                }
            }
            None => organisations.push((m.organisation_id, org)),
        }
    }
    if !organisations.is_empty() {
        team["managingOrganization"] = json!(organisations.into_iter().map(|(_, org)| org).collect::<Vec<_>>());
    }
    team
}

/// A message as a FHIR R4 Communication (id = the message's id, so a reply's `inResponseTo` resolves), sent at an
/// instant in UTC, carrying its thread's id as an identifier in [`THREAD_SYSTEM`] so a thread's messages group.
pub fn communication(patient_ref: &str, m: &Message) -> Value {
    let mut c = json!({
        "resourceType": "Communication",
        "id": m.id.to_string(),
        "identifier": [{"system": THREAD_SYSTEM, "value": m.thread_id.to_string()}],
        "status": "completed"
    });
    if let Some(reply_to) = m.in_reply_to {
        c["inResponseTo"] = json!([{"reference": format!("Communication/{reply_to}")}]);
    }
    if let Some(subject) = reference(Some(patient_ref), None) {
        c["subject"] = subject;
    }
    if let Some(topic) = words(m.subject_text) {
        c["topic"] = json!({"text": topic});
    }
    if let Some(sent) = instant(m.sent) {
        c["sent"] = json!(sent);
    }
    if let Some(recipient) = reference(Some(m.recipient_ref), m.recipient_name) {
        c["recipient"] = json!([recipient]);
    }
    if let Some(sender) = reference(Some(m.sender_ref), m.sender_name) {
        c["sender"] = sender;
    }
    // The body as written: only a body with nothing in it is left out, never trimmed.
    if words(m.body).is_some() {
        c["payload"] = json!([{"contentString": m.body}]);
    }
    c
}

#[cfg(test)]
mod tests {
    use super::*;
    use time::macros::datetime;
    use uuid::Uuid;

    use crate::care_plan::tests::assert_no_empties;

    const TEAM: Uuid = Uuid::from_u128(100);
    const PATEL: Uuid = Uuid::from_u128(1);
    const JONES: Uuid = Uuid::from_u128(2);
    const SURGERY: Uuid = Uuid::from_u128(10);
    const TRUST: Uuid = Uuid::from_u128(11);

    fn patel() -> TeamMember<'static> {
        TeamMember {
            id: Uuid::from_u128(50),
            practitioner_name: "Dr Patel",
            practitioner_id: PATEL,
            role_text: "GP",
            organisation_name: Some("Northfield Surgery"),
            organisation_id: Some(SURGERY),
            named_contact: true,
        }
    }

    fn jones() -> TeamMember<'static> {
        TeamMember {
            id: Uuid::from_u128(51),
            practitioner_name: "Nurse Jones",
            practitioner_id: JONES,
            role_text: "Community nurse",
            organisation_name: Some("Northfield Community Trust"),
            organisation_id: Some(TRUST),
            named_contact: false,
        }
    }

    fn texts(roles: &Value) -> Vec<&str> {
        roles
            .as_array()
            .map(|r| r.iter().filter_map(|r| r["text"].as_str()).collect())
            .unwrap_or_default()
    }

    #[test]
    fn a_team_of_two_as_a_care_team() {
        let f = care_team(TEAM, "Patient/p", Some("Ada Lovelace"), &[patel(), jones()]);
        assert_eq!(f["resourceType"], "CareTeam");
        assert_eq!(f["id"], TEAM.to_string());
        assert_eq!(f["status"], "active");
        assert_eq!(f["name"], "Care team for Ada Lovelace");
        assert_eq!(
            f["subject"],
            json!({"reference": "Patient/p", "display": "Ada Lovelace"})
        );
        let participants = f["participant"].as_array().cloned().unwrap_or_default();
        assert_eq!(participants.len(), 2);
        let (named, other) = (&participants[0], &participants[1]);
        assert_eq!(named["id"], Uuid::from_u128(50).to_string());
        assert_eq!(texts(&named["role"]), ["GP", "Named contact"]);
        assert_eq!(
            named["member"],
            json!({"reference": format!("Practitioner/{PATEL}"), "display": "Dr Patel"})
        );
        assert_eq!(
            named["onBehalfOf"],
            json!({"reference": format!("Organization/{SURGERY}"), "display": "Northfield Surgery"})
        );
        assert_eq!(texts(&other["role"]), ["Community nurse"]);
        assert_eq!(
            other["member"],
            json!({"reference": format!("Practitioner/{JONES}"), "display": "Nurse Jones"})
        );
        assert_eq!(
            other["onBehalfOf"],
            json!({"reference": format!("Organization/{TRUST}"), "display": "Northfield Community Trust"})
        );
        assert_eq!(
            f["managingOrganization"],
            json!([
                {"reference": format!("Organization/{SURGERY}"), "display": "Northfield Surgery"},
                {"reference": format!("Organization/{TRUST}"), "display": "Northfield Community Trust"}
            ])
        );
        assert!(f.get("extension").is_none());
        assert_no_empties(&f);
    }

    #[test]
    fn managing_organisations_are_distinct() {
        let mut second_gp = jones();
        second_gp.organisation_id = Some(SURGERY);
        second_gp.organisation_name = Some("Northfield Surgery");
        let mut unattached = jones();
        unattached.organisation_id = None;
        unattached.organisation_name = None;
        // Named first without a name: the name given later for the same organisation is used.
        let mut nameless = patel();
        nameless.organisation_name = None;
        let f = care_team(TEAM, "Patient/p", None, &[nameless, second_gp, jones(), unattached]);
        assert_eq!(
            f["managingOrganization"],
            json!([
                {"reference": format!("Organization/{SURGERY}"), "display": "Northfield Surgery"},
                {"reference": format!("Organization/{TRUST}"), "display": "Northfield Community Trust"}
            ])
        );
        assert_eq!(
            f["participant"][0]["onBehalfOf"],
            json!({"reference": format!("Organization/{SURGERY}")})
        );
        assert!(f["participant"][3].get("onBehalfOf").is_none());
        assert_no_empties(&f);
    }

    #[test]
    fn an_empty_team_has_nothing_empty() {
        let f = care_team(TEAM, "Patient/p", None, &[]);
        assert_no_empties(&f);
        assert_eq!(f["name"], "Care team");
        assert_eq!(f["subject"], json!({"reference": "Patient/p"}));
        for absent in ["participant", "managingOrganization", "extension"] {
            assert!(f.get(absent).is_none(), "{absent} in {f}");
        }
        // A blank patient name counts as none.
        assert_eq!(care_team(TEAM, "Patient/p", Some("  "), &[])["name"], "Care team");
    }

    #[test]
    fn whitespace_counts_as_nothing_in_a_team() {
        let blank = TeamMember {
            id: Uuid::from_u128(52),
            practitioner_name: " ",
            practitioner_id: PATEL,
            role_text: "\n",
            organisation_name: Some(" "),
            organisation_id: None,
            named_contact: false,
        };
        let f = care_team(
            TEAM,
            "Patient/p",
            Some(" "),
            &[
                blank,
                TeamMember {
                    named_contact: true,
                    ..blank
                },
            ],
        );
        assert_no_empties(&f);
        assert_eq!(f["subject"], json!({"reference": "Patient/p"}));
        let (plain, named) = (&f["participant"][0], &f["participant"][1]);
        assert_eq!(plain["member"], json!({"reference": format!("Practitioner/{PATEL}")}));
        assert!(plain.get("role").is_none() && plain.get("onBehalfOf").is_none());
        assert_eq!(texts(&named["role"]), ["Named contact"]);
        assert!(f.get("managingOrganization").is_none());
    }

    fn message() -> Message<'static> {
        Message {
            id: Uuid::from_u128(200),
            thread_id: Uuid::from_u128(300),
            subject_text: "Inhaler",
            body: "Can I take the new inhaler with my tablets?",
            sent: datetime!(2026-11-23 10:00 UTC),
            sender_ref: "Patient/p",
            sender_name: Some("Ada Lovelace"),
            recipient_ref: "Practitioner/d",
            recipient_name: Some("Dr Patel"),
            in_reply_to: None,
        }
    }

    #[test]
    fn a_message_as_a_communication() {
        let f = communication("Patient/p", &message());
        assert_eq!(f["resourceType"], "Communication");
        assert_eq!(f["id"], Uuid::from_u128(200).to_string());
        assert_eq!(f["status"], "completed");
        assert_eq!(f["subject"], json!({"reference": "Patient/p"}));
        assert_eq!(f["topic"], json!({"text": "Inhaler"}));
        assert_eq!(f["sent"], "2026-11-23T10:00:00Z");
        assert_eq!(
            f["sender"],
            json!({"reference": "Patient/p", "display": "Ada Lovelace"})
        );
        assert_eq!(
            f["recipient"],
            json!([{"reference": "Practitioner/d", "display": "Dr Patel"}])
        );
        assert_eq!(
            f["payload"],
            json!([{"contentString": "Can I take the new inhaler with my tablets?"}])
        );
        assert_eq!(
            f["identifier"],
            json!([{"system": "urn:carepact:message-thread", "value": Uuid::from_u128(300).to_string()}])
        );
        assert!(f.get("inResponseTo").is_none());
        assert!(f.get("extension").is_none());
        assert_no_empties(&f);
    }

    #[test]
    fn a_reply_without_names_or_body() {
        let m = Message {
            id: Uuid::from_u128(201),
            subject_text: " ",
            body: "  \n",
            sender_ref: "Practitioner/d",
            sender_name: None,
            recipient_ref: "Patient/p",
            recipient_name: Some(""),
            in_reply_to: Some(Uuid::from_u128(200)),
            ..message()
        };
        let f = communication("Patient/p", &m);
        assert_no_empties(&f);
        assert_eq!(
            f["inResponseTo"],
            json!([{"reference": format!("Communication/{}", Uuid::from_u128(200))}])
        );
        assert_eq!(f["sender"], json!({"reference": "Practitioner/d"}));
        assert_eq!(f["recipient"], json!([{"reference": "Patient/p"}]));
        for absent in ["payload", "topic"] {
            assert!(f.get(absent).is_none(), "{absent} in {f}");
        }
        // Same thread, same identifier: the reply groups with the message it answers.
        assert_eq!(f["identifier"], communication("Patient/p", &message())["identifier"]);
    }

    #[test]
    fn the_sent_instant_is_in_utc() {
        let m = Message {
            sent: datetime!(2026-06-01 11:30 +01:00),
            ..message()
        };
        assert_eq!(communication("Patient/p", &m)["sent"], "2026-06-01T10:30:00Z");
    }
}
