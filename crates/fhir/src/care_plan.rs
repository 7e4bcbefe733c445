//! The personalised care and support plan as FHIR R4: one CarePlan for the plan and one Goal per goal, for export
//! and the FHIR API.
//!
//! FHIR forbids empty strings, arrays and objects, so every optional part is left out when there is nothing to say
//! (text that is only whitespace counts as nothing). No extensions are used.

use carepact_domain::care_plan::{ActionStatus, Agreement, Attainment, PlanDoc};
use serde_json::{Value, json};
use time::format_description::well_known::Rfc3339;
use time::{Date, OffsetDateTime, UtcOffset};

const SNOMED: &str = "http://snomed.info/sct";
const GOAL_ACHIEVEMENT: &str = "http://terminology.hl7.org/CodeSystem/goal-achievement";

/// What the CarePlan says about the plan beyond its content: which version, whose, when, and whether it is agreed.
#[derive(Debug, Clone, Copy)]
pub struct PlanMeta<'a> {
    pub plan_id: uuid::Uuid,
    pub version: i64,
    /// The person, as a reference such as `Patient/<uuid>`.
    pub patient_ref: &'a str,
    pub updated: OffsetDateTime,
    pub agreement: Agreement,
    pub author_display: Option<&'a str>,
}

/// The text trimmed, or nothing when there is none.
pub(crate) fn words(text: &str) -> Option<&str> {
    Some(text.trim()).filter(|t| !t.is_empty())
}

/// A FHIR date (YYYY-MM-DD); nothing for a year FHIR cannot write in four digits.
fn date(d: Date) -> Option<String> {
    (1..=9999)
        .contains(&d.year())
        .then(|| format!("{:04}-{:02}-{:02}", d.year(), u8::from(d.month()), d.day()))
}

/// A FHIR instant, in UTC (e.g. `2026-11-23T10:00:00Z`).
pub(crate) fn instant(t: OffsetDateTime) -> Option<String> {
    t.to_offset(UtcOffset::UTC).format(&Rfc3339).ok()
}

fn goal_ref(id: uuid::Uuid) -> Value {
    json!({"reference": format!("Goal/{id}")})
}

fn activity_status(status: ActionStatus) -> &'static str {
    match status {
        ActionStatus::NotStarted => "not-started",
        ActionStatus::InProgress => "in-progress",
        ActionStatus::Done => "completed",
        ActionStatus::Stopped => "stopped",
    }
}

/// The goal-achievement code and display for a goal-attainment rating.
fn achievement(attainment: Attainment) -> (&'static str, &'static str) {
    match attainment.value() {
        i8::MIN..=-2 => ("worsening", "Worsening"),
        -1 => ("no-progress", "No Progress"),
        0 => ("in-progress", "In Progress"),
        1 => ("improving", "Improving"),
        2..=i8::MAX => ("achieved", "Achieved"),
    }
}

/// Labelled lines, leaving out the labels with nothing after them; nothing when every line is empty.
fn labelled(lines: &[(&str, &str)]) -> Option<String> {
    let lines: Vec<String> = lines
        .iter()
        .filter_map(|(label, text)| words(text).map(|t| format!("{label}: {t}")))
        .collect();
    (!lines.is_empty()).then(|| lines.join("\n"))
}

/// The plan's free-text sections as Annotation texts, in reading order, only the ones with something in them.
fn notes(doc: &PlanDoc) -> Vec<Value> {
    let c = &doc.contingency;
    let supporters: Vec<String> = doc
        .support_network
        .iter()
        .filter_map(|s| {
            let name = words(&s.name)?;
            let mut line = format!("- {name}");
            if let Some(relationship) = words(&s.relationship) {
                line.push_str(&format!(" ({relationship})"));
            }
            if let Some(contact) = words(&s.contact) {
                line.push_str(&format!(": {contact}"));
            }
            Some(line)
        })
        .collect();
    [
        labelled(&[("About me", &doc.about_me)]),
        labelled(&[("My health and readings targets", &doc.targets)]),
        labelled(&[("My medicines", &doc.medicines)]),
        labelled(&[
            ("Signs that things are getting worse", &c.signs),
            ("What I do", &c.what_i_do),
            ("Who to call", &c.who_to_call),
            ("Out of hours", &c.out_of_hours),
        ])
        .map(|lines| format!("If things get worse\n{lines}")),
        (!supporters.is_empty()).then(|| format!("My support network\n{}", supporters.join("\n"))),
    ]
    .into_iter()
    .flatten()
    .map(|text| json!({"text": text}))
    .collect()
}

/// The plan as a FHIR R4 CarePlan: agreed plans (including ones changed since) are active, others drafts; goals
/// are referenced as `Goal/<goal id>` (see [`goals`]); each action is an activity.
pub fn care_plan(doc: &PlanDoc, meta: &PlanMeta) -> Value {
    let status = match meta.agreement {
        Agreement::Agreed { .. } | Agreement::ChangedSinceAgreed { .. } => "active",
        Agreement::NotAgreed => "draft",
    };
    let mut resource_meta = json!({"versionId": meta.version.to_string()});
    if let Some(updated) = instant(meta.updated) {
        resource_meta["lastUpdated"] = json!(updated);
    }
    let mut plan = json!({
        "resourceType": "CarePlan",
        "id": meta.plan_id.to_string(),
        "meta": resource_meta,
        "status": status,
        "intent": "plan",
        "category": [{"coding": [{"system": SNOMED, "code": "734163000", "display": "Care plan"}]}],
        "title": "Personalised care and support plan",
        "subject": {"reference": meta.patient_ref}
    });
    if let Some(what_matters) = words(&doc.what_matters) {
        plan["description"] = json!(what_matters);
    }
    if let Some(end) = doc.review_date.and_then(date) {
        plan["period"] = json!({"end": end});
    }
    if let Some(author) = meta.author_display.and_then(words) {
        plan["author"] = json!({"display": author});
    }
    let goal_refs: Vec<Value> = doc.goals.iter().map(|g| goal_ref(g.id)).collect();
    if !goal_refs.is_empty() {
        plan["goal"] = json!(goal_refs);
    }
    let activities: Vec<Value> = doc
        .actions
        .iter()
        .map(|a| {
            let mut detail = json!({"status": activity_status(a.status)});
            if let Some(what) = words(&a.what) {
                detail["description"] = json!(what);
            }
            if let Some(by) = a.by.and_then(date) {
                detail["scheduledString"] = json!(format!("by {by}"));
            }
            if let Some(who) = words(&a.who) {
                detail["performer"] = json!([{"display": who}]);
            }
            // Only goals the plan holds, so the reference always resolves to a Goal exported alongside.
            if let Some(goal) = a.goal.filter(|id| doc.goals.iter().any(|g| g.id == *id)) {
                detail["goal"] = json!([goal_ref(goal)]);
            }
            json!({"detail": detail})
        })
        .collect();
    if !activities.is_empty() {
        plan["activity"] = json!(activities);
    }
    let notes = notes(doc);
    if !notes.is_empty() {
        plan["note"] = json!(notes);
    }
    plan
}

/// Each goal as a FHIR R4 Goal (id = the goal's id, as [`care_plan`] references it), with its latest attainment
/// rating, if any, as the achievement status.
pub fn goals(doc: &PlanDoc, patient_ref: &str, attainment: &dyn Fn(uuid::Uuid) -> Option<Attainment>) -> Vec<Value> {
    doc.goals
        .iter()
        .map(|g| {
            // A Goal must have a description; the plan's checks make sure a goal has words, but never emit "".
            let text = words(&g.text).unwrap_or("Goal");
            let mut goal = json!({
                "resourceType": "Goal",
                "id": g.id.to_string(),
                "lifecycleStatus": "active",
                "description": {"text": text},
                "subject": {"reference": patient_ref}
            });
            if let Some(due) = g.target_date.and_then(date) {
                goal["target"] = json!([{"dueDate": due}]);
            }
            if let Some(steps) = words(&g.steps) {
                goal["note"] = json!([{"text": steps}]);
            }
            if let Some(rating) = attainment(g.id) {
                let (code, display) = achievement(rating);
                goal["achievementStatus"] =
                    json!({"coding": [{"system": GOAL_ACHIEVEMENT, "code": code, "display": display}]});
            }
            goal
        })
        .collect()
}

#[cfg(test)]
pub(crate) mod tests {
    use super::*;
    use carepact_domain::care_plan::{Contingency, Goal, PlanAction, Supporter};
    use time::macros::{date, datetime};
    use uuid::Uuid;

    /// Where `value` holds an empty string (or only whitespace), array or object, or a null: FHIR forbids them all.
    fn empties(value: &Value, path: &str, out: &mut Vec<String>) {
        match value {
            Value::Null => out.push(path.to_owned()),
            Value::String(s) if s.trim().is_empty() => out.push(path.to_owned()),
            Value::Array(items) if items.is_empty() => out.push(path.to_owned()),
            Value::Object(map) if map.is_empty() => out.push(path.to_owned()),
            Value::Array(items) => {
                for (i, item) in items.iter().enumerate() {
                    empties(item, &format!("{path}[{i}]"), out);
                }
            }
            Value::Object(map) => {
                for (key, item) in map {
                    empties(item, &format!("{path}.{key}"), out);
                }
            }
            _ => {}
        }
    }

    pub(crate) fn assert_no_empties(value: &Value) {
        let mut out = Vec::new();
        empties(value, "", &mut out);
        assert!(out.is_empty(), "empty values at {out:?} in {value:#}");
    }

    fn meta(agreement: Agreement) -> PlanMeta<'static> {
        PlanMeta {
            plan_id: Uuid::from_u128(100),
            version: 3,
            patient_ref: "Patient/p",
            updated: datetime!(2026-11-23 10:00 UTC),
            agreement,
            author_display: Some("Dr Patel"),
        }
    }

    const WALK: Uuid = Uuid::from_u128(1);
    const GARDEN: Uuid = Uuid::from_u128(2);

    fn plan() -> PlanDoc {
        PlanDoc {
            about_me: "Retired teacher, lives alone".into(),
            what_matters: "Staying in my own home".into(),
            goals: vec![
                Goal {
                    id: WALK,
                    text: "Walk to the park and back".into(),
                    steps: "Ten minutes a day, then more".into(),
                    target_date: Some(date!(2027 - 03 - 01)),
                },
                Goal {
                    id: GARDEN,
                    text: "Get back to the allotment".into(),
                    ..Default::default()
                },
            ],
            actions: vec![
                PlanAction {
                    id: Uuid::from_u128(10),
                    what: "Join the walking group".into(),
                    who: "Northfield Walking Group".into(),
                    by: Some(date!(2026 - 12 - 15)),
                    status: ActionStatus::InProgress,
                    goal: Some(WALK),
                    ..Default::default()
                },
                PlanAction {
                    id: Uuid::from_u128(11),
                    what: "Book a medication review".into(),
                    status: ActionStatus::Done,
                    ..Default::default()
                },
                PlanAction {
                    id: Uuid::from_u128(12),
                    what: "Try the new inhaler".into(),
                    status: ActionStatus::Stopped,
                    ..Default::default()
                },
            ],
            support_network: vec![Supporter {
                id: Uuid::from_u128(20),
                name: "Sam".into(),
                relationship: "Son".into(),
                contact: "07700 900123".into(),
            }],
            targets: String::new(),
            medicines: "Inhaler twice a day".into(),
            contingency: Contingency {
                signs: "Breathless at rest".into(),
                what_i_do: "Use my rescue pack".into(),
                who_to_call: "The practice".into(),
                out_of_hours: "NHS 111".into(),
            },
            review_date: Some(date!(2027 - 05 - 01)),
            ..PlanDoc::default()
        }
    }

    #[test]
    fn a_full_plan_as_a_care_plan() {
        let f = care_plan(&plan(), &meta(Agreement::Agreed { version: 3 }));
        assert_eq!(f["resourceType"], "CarePlan");
        assert_eq!(f["id"], Uuid::from_u128(100).to_string());
        assert_eq!(f["meta"]["versionId"], "3");
        assert_eq!(f["meta"]["lastUpdated"], "2026-11-23T10:00:00Z");
        assert_eq!(
            (f["status"].as_str(), f["intent"].as_str()),
            (Some("active"), Some("plan"))
        );
        assert_eq!(f["category"][0]["coding"][0]["code"], "734163000");
        assert_eq!(f["category"][0]["coding"][0]["system"], SNOMED);
        assert_eq!(f["subject"]["reference"], "Patient/p");
        assert_eq!(f["description"], "Staying in my own home");
        assert_eq!(f["period"]["end"], "2027-05-01");
        assert_eq!(f["author"]["display"], "Dr Patel");
        assert_eq!(
            f["goal"],
            json!([{"reference": format!("Goal/{WALK}")}, {"reference": format!("Goal/{GARDEN}")}])
        );
        let activities = f["activity"].as_array().cloned().unwrap_or_default();
        let statuses: Vec<&str> = activities
            .iter()
            .filter_map(|a| a["detail"]["status"].as_str())
            .collect();
        assert_eq!(statuses, ["in-progress", "completed", "stopped"]);
        let descriptions: Vec<&str> = activities
            .iter()
            .filter_map(|a| a["detail"]["description"].as_str())
            .collect();
        assert_eq!(
            descriptions,
            [
                "Join the walking group",
                "Book a medication review",
                "Try the new inhaler"
            ]
        );
        let walking = &activities[0]["detail"];
        assert_eq!(walking["scheduledString"], "by 2026-12-15");
        assert_eq!(walking["performer"], json!([{"display": "Northfield Walking Group"}]));
        assert_eq!(walking["goal"], json!([{"reference": format!("Goal/{WALK}")}]));
        for other in &activities[1..] {
            for absent in ["scheduledString", "performer", "goal", "kind"] {
                assert!(other["detail"].get(absent).is_none(), "{absent} in {other}");
            }
        }
        let notes: Vec<&str> = f["note"]
            .as_array()
            .map(|n| n.iter().filter_map(|n| n["text"].as_str()).collect())
            .unwrap_or_default();
        assert_eq!(
            notes,
            [
                "About me: Retired teacher, lives alone",
                "My medicines: Inhaler twice a day",
                "If things get worse\nSigns that things are getting worse: Breathless at rest\n\
                 What I do: Use my rescue pack\nWho to call: The practice\nOut of hours: NHS 111",
                "My support network\n- Sam (Son): 07700 900123",
            ]
        );
        assert!(f.get("extension").is_none());
        assert_no_empties(&f);
    }

    #[test]
    fn not_agreed_is_a_draft_and_changed_since_agreed_is_active() {
        assert_eq!(care_plan(&plan(), &meta(Agreement::NotAgreed))["status"], "draft");
        let changed = Agreement::ChangedSinceAgreed { agreed: 2 };
        assert_eq!(care_plan(&plan(), &meta(changed))["status"], "active");
    }

    #[test]
    fn the_instant_is_in_utc() {
        let mut m = meta(Agreement::NotAgreed);
        m.updated = datetime!(2026-06-01 11:30 +01:00);
        assert_eq!(care_plan(&plan(), &m)["meta"]["lastUpdated"], "2026-06-01T10:30:00Z");
    }

    #[test]
    fn an_empty_plan_has_nothing_empty() {
        let mut m = meta(Agreement::NotAgreed);
        m.author_display = None;
        let f = care_plan(&PlanDoc::default(), &m);
        assert_no_empties(&f);
        for absent in [
            "description",
            "period",
            "goal",
            "activity",
            "note",
            "author",
            "extension",
        ] {
            assert!(f.get(absent).is_none(), "{absent} in {f}");
        }
        assert_eq!(f["status"], "draft");
        assert!(goals(&PlanDoc::default(), "Patient/p", &|_| None).is_empty());
    }

    #[test]
    fn whitespace_counts_as_nothing() {
        let blank = "  \n ".to_owned();
        let doc = PlanDoc {
            about_me: blank.clone(),
            what_matters: blank.clone(),
            goals: vec![Goal {
                id: WALK,
                text: blank.clone(),
                steps: blank.clone(),
                target_date: None,
            }],
            actions: vec![PlanAction {
                what: blank.clone(),
                who: blank.clone(),
                // A goal the plan does not hold is not referenced.
                goal: Some(GARDEN),
                ..Default::default()
            }],
            support_network: vec![Supporter {
                name: blank.clone(),
                relationship: "Son".into(),
                ..Default::default()
            }],
            targets: blank.clone(),
            medicines: blank.clone(),
            contingency: Contingency {
                signs: blank.clone(),
                what_i_do: blank.clone(),
                who_to_call: blank.clone(),
                out_of_hours: blank,
            },
            review_date: None,
            ..PlanDoc::default()
        };
        let mut m = meta(Agreement::NotAgreed);
        m.author_display = Some(" ");
        let f = care_plan(&doc, &m);
        assert_no_empties(&f);
        assert_eq!(f["activity"], json!([{"detail": {"status": "not-started"}}]));
        assert!(f.get("note").is_none() && f.get("author").is_none());
        for g in goals(&doc, "Patient/p", &|_| None) {
            assert_no_empties(&g);
            assert!(g.get("note").is_none());
        }
    }

    #[test]
    fn goals_with_and_without_attainment() {
        let rating = |id: Uuid| if id == WALK { Attainment::new(1) } else { None };
        let out = goals(&plan(), "Patient/p", &rating);
        assert_eq!(out.len(), 2);
        let (walk, garden) = (&out[0], &out[1]);
        assert_eq!(walk["resourceType"], "Goal");
        assert_eq!(walk["id"], WALK.to_string());
        assert_eq!(walk["lifecycleStatus"], "active");
        assert_eq!(walk["description"]["text"], "Walk to the park and back");
        assert_eq!(walk["subject"]["reference"], "Patient/p");
        assert_eq!(walk["target"], json!([{"dueDate": "2027-03-01"}]));
        assert_eq!(walk["note"], json!([{"text": "Ten minutes a day, then more"}]));
        assert_eq!(
            walk["achievementStatus"],
            json!({"coding": [{"system": GOAL_ACHIEVEMENT, "code": "improving", "display": "Improving"}]})
        );
        assert_eq!(garden["id"], GARDEN.to_string());
        for absent in ["target", "note", "achievementStatus"] {
            assert!(garden.get(absent).is_none(), "{absent} in {garden}");
        }
        for g in &out {
            assert_no_empties(g);
        }
    }

    #[test]
    fn every_attainment_has_its_achievement_code() {
        let codes: Vec<&str> = (-2..=2).filter_map(Attainment::new).map(|a| achievement(a).0).collect();
        assert_eq!(
            codes,
            ["worsening", "no-progress", "in-progress", "improving", "achieved"]
        );
    }
}
