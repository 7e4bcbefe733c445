//! The demo world loaded by `carepact serve --demo` into an empty database: organisations across health, social
//! care and the voluntary sector, their staff, three people living with long-term conditions, and a carer.
//! Every account shares one password, printed at start and listed in the README.

use carepact_domain::NhsNumber;
use carepact_domain::care_plan::{ActionOwner, ActionStatus, Contingency, Goal, PlanAction, PlanDoc, Side, Supporter};
use carepact_domain::consent::{Action, Consent, Grantee, Labels, Request, Section, Sections, Sensitivity};
use carepact_domain::identity::PersonId;
use carepact_domain::identity::{Email, NewPerson, OrganisationKind, Role};
use carepact_store::access::{Ask, authorize};
use carepact_store::people::{self, AccountStart};
use carepact_store::users::{self, NewUser};
use carepact_store::{care_plan, care_team, messages, organisations};
use time::macros::date;
use uuid::Uuid;

use crate::state::AppState;

pub const DEMO_PASSWORD: &str = "demo-carepact-2026";

/// One demo account, as printed at start.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct DemoAccount {
    pub email: String,
    pub name: String,
    pub what: String,
}

struct Staff {
    email: &'static str,
    name: &'static str,
    roles: &'static [Role],
    what: &'static str,
}

struct Org {
    name: &'static str,
    kind: OrganisationKind,
    staff: &'static [Staff],
}

const ORGANISATIONS: &[Org] = &[
    Org {
        name: "Riverside Medical Practice",
        kind: OrganisationKind::GpPractice,
        staff: &[
            Staff {
                email: "sarah.patel@carepact.example",
                name: "Dr Sarah Patel",
                roles: &[Role::Professional],
                what: "GP",
            },
            Staff {
                email: "tom.hughes@carepact.example",
                name: "Tom Hughes",
                roles: &[Role::Professional],
                what: "practice nurse",
            },
            Staff {
                email: "nina.clarke@carepact.example",
                name: "Nina Clarke",
                roles: &[Role::Professional],
                what: "long-term conditions nurse, named contact for David Evans and Margaret Wilson",
            },
            Staff {
                email: "linda.brown@carepact.example",
                name: "Linda Brown",
                roles: &[Role::OrganisationAdmin],
                what: "practice manager (organisation admin)",
            },
        ],
    },
    Org {
        name: "Northfield Community Mental Health Team",
        kind: OrganisationKind::CommunityService,
        staff: &[Staff {
            email: "jo.adeyemi@carepact.example",
            name: "Jo Adeyemi",
            roles: &[Role::Professional],
            what: "community mental health nurse",
        }],
    },
    Org {
        name: "Northfield Adult Social Care",
        kind: OrganisationKind::SocialCare,
        staff: &[Staff {
            email: "chris.murphy@carepact.example",
            name: "Chris Murphy",
            roles: &[Role::Professional],
            what: "social worker",
        }],
    },
    Org {
        name: "Northfield Community Connections",
        kind: OrganisationKind::Voluntary,
        staff: &[Staff {
            email: "sam.taylor@carepact.example",
            name: "Sam Taylor",
            roles: &[Role::LinkWorker],
            what: "social prescribing link worker",
        }],
    },
    Org {
        name: "NHS Northfield Integrated Care Board",
        kind: OrganisationKind::Commissioner,
        staff: &[Staff {
            email: "priya.shah@carepact.example",
            name: "Priya Shah",
            roles: &[Role::Commissioner],
            what: "commissioner",
        }],
    },
];

struct DemoPerson {
    nhs: &'static str,
    given: &'static str,
    family: &'static str,
    preferred: Option<&'static str>,
    dob: time::Date,
    email: &'static str,
    phone: &'static str,
    needs: Option<&'static str>,
    what: &'static str,
    /// Their GP record, as the practice's system would send it (FHIR R4).
    record: &'static [u8],
    /// Their care team, agreed plan and messages. Amina starts with none, so the whole journey can be tried
    /// from the beginning.
    care: Option<DemoCare>,
}

/// A demo person's care: their named contact, their agreed plan and a conversation.
struct DemoCare {
    contact: &'static str,
    role: &'static str,
    about_me: &'static str,
    what_matters: &'static str,
    goals: &'static [(&'static str, &'static str)],
    /// (what, who does it, their name, done)
    actions: &'static [(&'static str, ActionOwner, &'static str, bool)],
    network: &'static [(&'static str, &'static str, &'static str)],
    targets: &'static str,
    medicines: &'static str,
    contingency: [&'static str; 4],
    /// (subject, the person's message, the reply)
    thread: (&'static str, &'static str, &'static str),
}

const PEOPLE: &[DemoPerson] = &[
    DemoPerson {
        nhs: "9434765919",
        given: "Amina",
        family: "Khan",
        preferred: None,
        dob: date!(1961 - 04 - 12),
        email: "amina@carepact.example",
        phone: "07700 900101",
        needs: None,
        what: "person: type 2 diabetes with high blood pressure",
        record: include_bytes!("../demo-records/amina-khan.json"),
        care: None,
    },
    DemoPerson {
        nhs: "9990000026",
        given: "David",
        family: "Evans",
        preferred: Some("Dave"),
        dob: date!(1954 - 09 - 30),
        email: "david@carepact.example",
        phone: "07700 900102",
        needs: Some("Prefers phone calls to letters."),
        what: "person: COPD with anxiety",
        record: include_bytes!("../demo-records/david-evans.json"),
        care: Some(DemoCare {
            contact: "nina.clarke@carepact.example",
            role: "Long-term conditions nurse",
            about_me: "I was a bus driver for 30 years. I live on my own with my dog, Bess.",
            what_matters: "Walking Bess every day, and not ending up in hospital again this winter.",
            goals: &[
                (
                    "Walk Bess to the end of the park and back, every day",
                    "Use the bench halfway at first",
                ),
                (
                    "Feel calmer when I get breathless",
                    "Practise the breathing exercises each morning",
                ),
            ],
            actions: &[
                (
                    "Go to the pulmonary rehabilitation classes on Tuesdays",
                    ActionOwner::Person,
                    "",
                    false,
                ),
                (
                    "Refer to pulmonary rehabilitation",
                    ActionOwner::Professional,
                    "Nina Clarke",
                    true,
                ),
                (
                    "Breathlessness and anxiety sessions",
                    ActionOwner::Professional,
                    "Jo Adeyemi",
                    false,
                ),
            ],
            network: &[
                ("Karen", "Daughter, visits on Sundays", "07700 900150"),
                (
                    "Breathe Easy Northfield",
                    "Support group, first Monday of the month",
                    "",
                ),
            ],
            targets: "Oxygen saturation 92% or above when resting.",
            medicines: "Two inhalers: the brown one morning and night, the blue one when I need it. My rescue pack is in the kitchen drawer.",
            contingency: [
                "More breathless than usual, a change in the colour of my phlegm, or saturation below 92%.",
                "Start my rescue pack and tell the practice the same day.",
                "Nina Clarke at Riverside Medical Practice, 0121 496 0000.",
                "Call 111, or 999 if I cannot catch my breath.",
            ],
            thread: (
                "Rescue pack",
                "I have started my rescue pack because my phlegm has changed colour. Should I come in?",
                "Thank you for telling me, David. Keep taking it, and I will ring you tomorrow morning to see how you are.",
            ),
        }),
    },
    DemoPerson {
        nhs: "9990000034",
        given: "Margaret",
        family: "Wilson",
        preferred: Some("Peggy"),
        dob: date!(1938 - 02 - 17),
        email: "margaret@carepact.example",
        phone: "01632 960103",
        needs: Some("Hard of hearing: write, or phone her son Peter."),
        what: "person: heart failure, lives with her son who cares for her",
        record: include_bytes!("../demo-records/margaret-wilson.json"),
        care: Some(DemoCare {
            contact: "nina.clarke@carepact.example",
            role: "Long-term conditions nurse",
            about_me: "I live with my son Peter, who helps me every day. I am hard of hearing, so please write to me or ring Peter.",
            what_matters: "Staying in my own home, and getting to church on Sundays.",
            goals: &[
                (
                    "Get to church on Sunday without getting out of breath",
                    "Peter drives me; I walk from the car",
                ),
                ("Weigh myself every morning", "The scales are by the bed"),
            ],
            actions: &[
                ("Weigh every morning and write it down", ActionOwner::Person, "", false),
                (
                    "Help with the morning weighing and tell the practice about a big change",
                    ActionOwner::Carer,
                    "Peter Wilson",
                    false,
                ),
                (
                    "Review water tablets after the blood test",
                    ActionOwner::Professional,
                    "Dr Sarah Patel",
                    false,
                ),
            ],
            network: &[("Peter Wilson", "Son and carer", "07700 900160")],
            targets: "Weight within 2 kg of 58 kg. Tell the practice if it goes up by more than 2 kg in 3 days.",
            medicines: "Peter sets out my tablets in the weekly box every Sunday.",
            contingency: [
                "Weight up by 2 kg in 3 days, swollen ankles, or breathless lying down.",
                "Peter rings the practice the same day.",
                "Riverside Medical Practice, 0121 496 0000.",
                "Call 111, or 999 if I am very breathless or have chest pain.",
            ],
            thread: (
                "Weight this week",
                "My weight has gone up by 1 kg since Monday. My ankles look the same. Is that all right?",
                "Thank you, Margaret. 1 kg is fine; keep weighing each morning and let me know if it goes up by 2 kg.",
            ),
        }),
    },
];

/// Loads the demo world if the database has no users. Returns the accounts created, or `None` if it was not empty.
pub async fn load_if_empty(state: &AppState) -> anyhow::Result<Option<Vec<DemoAccount>>> {
    if users::count(&state.db).await? > 0 {
        return Ok(None);
    }
    let now = state.now();
    let hash = state.passwords.hash(DEMO_PASSWORD).await?;
    let mut accounts = Vec::new();
    let admin = Email::parse("admin@carepact.example").map_err(anyhow::Error::msg)?;
    let new = NewUser {
        email: &admin,
        display_name: "CarePact Administrator",
        roles: &[Role::SystemAdmin],
        organisation_id: None,
        password_hash: Some(&hash),
    };
    users::create(&state.db, &new, now).await?;
    accounts.push(DemoAccount {
        email: admin.to_string(),
        name: "CarePact Administrator".into(),
        what: "system admin".into(),
    });

    for org in ORGANISATIONS {
        let id = organisations::create(&state.db, org.name, org.kind, now).await?;
        for s in org.staff {
            let email = Email::parse(s.email).map_err(anyhow::Error::msg)?;
            let new = NewUser {
                email: &email,
                display_name: s.name,
                roles: s.roles,
                organisation_id: Some(id),
                password_hash: Some(&hash),
            };
            users::create(&state.db, &new, now).await?;
            accounts.push(DemoAccount {
                email: email.to_string(),
                name: s.name.into(),
                what: format!("{}, {}", s.what, org.name),
            });
        }
    }

    let practice = organisations::find_by_name(&state.db, "Riverside Medical Practice").await?;
    for p in PEOPLE {
        let person = NewPerson {
            nhs_number: NhsNumber::parse(p.nhs)?,
            given_name: p.given.into(),
            family_name: p.family.into(),
            preferred_name: p.preferred.map(str::to_owned),
            date_of_birth: p.dob,
            email: Email::parse(p.email).map_err(anyhow::Error::msg)?,
            phone: Some(p.phone.into()),
            communication_needs: p.needs.map(str::to_owned),
        };
        let (id, _) = people::create_with_account(&state.db, &person, AccountStart::Password(&hash), now).await?;
        import_record(state, id, p.record, practice, now).await?;
        if let Some(care) = &p.care {
            seed_care(state, id, p.email, care, now).await?;
        }
        accounts.push(DemoAccount {
            email: p.email.into(),
            name: format!("{} {}", p.given, p.family),
            what: p.what.into(),
        });
    }

    let carer = Email::parse("peter@carepact.example").map_err(anyhow::Error::msg)?;
    let new = NewUser {
        email: &carer,
        display_name: "Peter Wilson",
        roles: &[Role::Carer],
        organisation_id: None,
        password_hash: Some(&hash),
    };
    users::create(&state.db, &new, now).await?;
    accounts.push(DemoAccount {
        email: carer.to_string(),
        name: "Peter Wilson".into(),
        what: "carer for his mother, Margaret Wilson".into(),
    });
    Ok(Some(accounts))
}

/// Gives a demo person their care team (the named contact sharing their record, plan and messages), a plan agreed
/// by both sides a month ago, and a conversation with their named contact.
async fn seed_care(
    state: &AppState,
    person: PersonId,
    email: &str,
    care: &DemoCare,
    now: time::OffsetDateTime,
) -> anyhow::Result<()> {
    let then = now - time::Duration::days(30);
    let user_of = |email: &str| {
        let email = Email::parse(email).map_err(anyhow::Error::msg);
        async move {
            users::find_by_email(&state.db, &email?)
                .await?
                .ok_or_else(|| anyhow::anyhow!("demo user missing"))
        }
    };
    let (owner, contact) = (user_of(email).await?, user_of(care.contact).await?);
    let grant = |user: &users::User, role: &'static str, section: Section| {
        let actor = crate::access::actor(user);
        async move {
            let ask = Ask {
                actor: &actor,
                role,
                on_behalf_of: None,
                person,
                request: Request {
                    section,
                    label: Sensitivity::General,
                    action: Action::Write,
                },
                entity: "demo",
                purpose: if role == "person" {
                    "person-access"
                } else {
                    "direct-care"
                },
            };
            authorize(&state.db, &state.audit, &ask, then)
                .await?
                .map_err(|_| anyhow::anyhow!("demo grant refused"))
        }
    };
    let own = grant(&owner, "person", Section::Record).await?;
    let consent = Consent {
        id: Uuid::now_v7(),
        grantee: Grantee::Professional(contact.id),
        sections: Sections::of(&[Section::Record, Section::CarePlan, Section::Messages]),
        labels: Labels::of(&[Sensitivity::General]),
        write: true,
        starts: then,
        ends: None,
        revoked: None,
    };
    care_team::add(
        &state.db,
        &own,
        contact.id,
        contact.organisation_id,
        care.role,
        &consent,
        true,
        then,
    )
    .await?
    .map_err(|_| anyhow::anyhow!("demo team refused"))?;
    let availability = care_team::Availability {
        reply_within_days: 2,
        away: false,
        cover: None,
    };
    care_team::set_availability(&state.db, contact.id, &availability, then).await?;

    let goals: Vec<Goal> = care
        .goals
        .iter()
        .map(|(text, steps)| Goal {
            id: Uuid::now_v7(),
            text: (*text).into(),
            steps: (*steps).into(),
            target_date: Some((now + time::Duration::days(90)).date()),
        })
        .collect();
    let doc = PlanDoc {
        about_me: care.about_me.into(),
        what_matters: care.what_matters.into(),
        actions: care
            .actions
            .iter()
            .enumerate()
            .map(|(i, (what, owner, who, done))| PlanAction {
                id: Uuid::now_v7(),
                what: (*what).into(),
                owner: *owner,
                who: (*who).into(),
                by: Some((now + time::Duration::days(30)).date()),
                status: if *done {
                    ActionStatus::Done
                } else {
                    ActionStatus::InProgress
                },
                goal: goals.get(i.min(goals.len().saturating_sub(1))).map(|g| g.id),
            })
            .collect(),
        goals,
        support_network: care
            .network
            .iter()
            .map(|(name, relationship, contact)| Supporter {
                id: Uuid::now_v7(),
                name: (*name).into(),
                relationship: (*relationship).into(),
                contact: (*contact).into(),
            })
            .collect(),
        targets: care.targets.into(),
        medicines: care.medicines.into(),
        contingency: Contingency {
            signs: care.contingency[0].into(),
            what_i_do: care.contingency[1].into(),
            who_to_call: care.contingency[2].into(),
            out_of_hours: care.contingency[3].into(),
        },
        review_date: Some((now + time::Duration::days(150)).date()),
    };
    let own_plan = grant(&owner, "person", Section::CarePlan).await?;
    let author = care_plan::Author {
        role: "person",
        organisation: None,
    };
    let version = care_plan::save(&state.db, &own_plan, 0, &doc, &author, then)
        .await?
        .map_err(|_| anyhow::anyhow!("demo plan refused"))?;
    care_plan::agree(&state.db, &own_plan, version, Side::Person, then)
        .await?
        .map_err(|_| anyhow::anyhow!("demo agreement refused"))?;
    let their_plan = grant(&contact, "professional", Section::CarePlan).await?;
    care_plan::agree(&state.db, &their_plan, version, Side::Professional, then)
        .await?
        .map_err(|_| anyhow::anyhow!("demo agreement refused"))?;

    let (subject, question, answer) = care.thread;
    let own_messages = grant(&owner, "person", Section::Messages).await?;
    let asked = now - time::Duration::days(2);
    let thread = messages::start(
        &state.db,
        &own_messages,
        contact.id,
        subject,
        question,
        "person",
        &[],
        asked,
    )
    .await?
    .map_err(|_| anyhow::anyhow!("demo message refused"))?;
    let their_messages = grant(&contact, "professional", Section::Messages).await?;
    let answered = now - time::Duration::days(1);
    messages::reply(
        &state.db,
        &their_messages,
        thread,
        answer,
        "professional",
        &[],
        answered,
    )
    .await?
    .map_err(|_| anyhow::anyhow!("demo reply refused"))?;
    Ok(())
}

/// Imports a demo person's GP record, as the operator would with `carepact import`, supplied by their practice.
async fn import_record(
    state: &AppState,
    person: carepact_domain::identity::PersonId,
    record: &'static [u8],
    practice: Option<carepact_domain::identity::OrganisationId>,
    now: time::OffsetDateTime,
) -> anyhow::Result<()> {
    use carepact_domain::consent::{Action, Request, Section, Sensitivity};
    use carepact_store::record::{ImportMeta, ImportOutcome};
    let request = Request {
        section: Section::Record,
        label: Sensitivity::General,
        action: Action::Write,
    };
    let grant =
        carepact_store::access::authorize_operator(&state.db, &state.audit, person, request, "import-record", now)
            .await?
            .map_err(|_| anyhow::anyhow!("demo person missing"))?;
    let meta = ImportMeta {
        source: "organisation:riverside medical practice".into(),
        file_name: None,
        format: "",
        supplier: practice,
        actor_organisation: None,
    };
    match crate::record_import::import_embedded(&state.db, &grant, record, meta, now).await? {
        Ok(ImportOutcome::Imported(_)) => Ok(()),
        Ok(ImportOutcome::Rejected { problems, .. }) => anyhow::bail!("a demo record was refused: {problems:?}"),
        Err(_) => anyhow::bail!("a demo record import was refused"),
    }
}
