//! The demo world loaded by `carepact serve --demo` into an empty database: organisations across health, social
//! care and the voluntary sector, their staff, three people living with long-term conditions, and a carer.
//! Every account shares one password, printed at start and listed in the README.

use carepact_domain::NhsNumber;
use carepact_domain::care_plan::{ActionOwner, ActionStatus, Contingency, Goal, PlanAction, PlanDoc, Side, Supporter};
use carepact_domain::consent::{Action, Consent, Grantee, Labels, Request, Section, Sections, Sensitivity};
use carepact_domain::identity::PersonId;
use carepact_domain::identity::{Email, NewPerson, OrganisationKind, Role};
use carepact_domain::questionnaire::{AnswerValue, Answers, FREQUENCY_ANSWERS, Instrument};
use carepact_domain::readings::{AlertRule, Comparison, Level, Measure, Milli, Target};
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
                what: "long-term conditions nurse, named contact for the demo people",
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
    /// Their care team, agreed plan and messages.
    care: DemoCare,
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
    /// Target ranges agreed: (measure, component, low, high), in thousandths.
    ranges: &'static [(Measure, &'static str, Option<i64>, Option<i64>)],
    rules: &'static [DemoRule],
    /// Months of readings that fit their conditions, inside their targets' reach.
    series: &'static [DemoSeries],
    /// Readings that cross an agreed threshold: (measure, days ago, values in thousandths, what became of the
    /// alert).
    spikes: &'static [(Measure, i64, [i64; 3], AlertEnd)],
    /// Questionnaires answered about once a month, oldest first: the instrument and a level for each answer (a
    /// total for PHQ-9 and GAD-7, a 0–10 wellbeing for ONS4, a 1–10 confidence for SEMCD-6).
    answered: &'static [(Instrument, &'static [i64])],
    /// A questionnaire the named contact has asked for: instrument, every how many days, due in how many days.
    asked: Option<(Instrument, i64, i64)>,
}

/// A measure the person records regularly: every so many days at about the same hour, around a usual value.
struct DemoSeries {
    measure: Measure,
    every_days: i64,
    hour: u8,
    /// Usual value of each component, in thousandths, and how far it wanders either side.
    usual: [i64; 3],
    spread: [i64; 3],
}

/// What became of a demo alert.
#[derive(Clone, Copy, PartialEq, Eq)]
enum AlertEnd {
    Acknowledged,
    Snoozed,
    Open,
}

/// An alert rule agreed in a demo plan.
struct DemoRule {
    measure: Measure,
    component: &'static str,
    comparison: Comparison,
    threshold: Milli,
    times: u32,
    within_days: u32,
    urgent: bool,
    advice: &'static str,
    escalate_after_hours: u32,
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
        care: DemoCare {
            contact: "nina.clarke@carepact.example",
            role: "Long-term conditions nurse",
            about_me: "I run the family shop with my husband, Imran. I look after my grandchildren after school on Wednesdays.",
            what_matters: "Keeping up with my grandchildren, and not needing insulin.",
            goals: &[
                (
                    "Walk to the shop and back instead of taking the car",
                    "Start on the days I am not working",
                ),
                (
                    "Bring my sugar down without more tablets",
                    "Eat less rice in the evening, and go to the DESMOND course",
                ),
            ],
            actions: &[
                (
                    "Check my blood pressure at home twice a week",
                    ActionOwner::Person,
                    "",
                    false,
                ),
                (
                    "Book a place on the DESMOND diabetes course",
                    ActionOwner::Professional,
                    "Nina Clarke",
                    true,
                ),
                (
                    "Repeat the HbA1c blood test in three months",
                    ActionOwner::Professional,
                    "Riverside Medical Practice",
                    false,
                ),
            ],
            network: &[
                ("Imran Khan", "Husband", "07700 900170"),
                ("Northfield Walking Group", "Walks on Saturday mornings", ""),
            ],
            targets: "Home blood pressure below 135/85. HbA1c below 53 mmol/mol.",
            medicines: "Metformin twice a day with food, and ramipril in the morning.",
            contingency: [
                "Blood pressure above 180/110, or very thirsty and passing a lot of water.",
                "Sit quietly for five minutes and check my blood pressure again; ring the practice the same day if it is still high.",
                "Nina Clarke at Riverside Medical Practice, 0121 496 0000.",
                "Call 111, or 999 if I have chest pain, a severe headache or weakness on one side.",
            ],
            thread: (
                "Home blood pressure machine",
                "I have bought a blood pressure machine for home. Which arm should I use?",
                "Good idea, Amina. Use the arm that gave the higher reading at the practice, your right arm, and sit for five minutes first.",
            ),
            ranges: &[
                (Measure::BloodPressure, "systolic", Some(100_000), Some(135_000)),
                (Measure::Hba1c, "value", None, Some(53_000)),
                (Measure::Weight, "value", Some(60_000), Some(72_000)),
            ],
            rules: &[
                DemoRule {
                    measure: Measure::BloodPressure,
                    component: "systolic",
                    comparison: Comparison::Above,
                    threshold: Milli::units(160),
                    times: 2,
                    within_days: 7,
                    urgent: false,
                    advice: "Your blood pressure has been above 160 twice this week. Sit quietly for five minutes and measure it again. Nina has been told and will ring you within two working days. Keep taking your ramipril.",
                    escalate_after_hours: 48,
                },
                DemoRule {
                    measure: Measure::BloodPressure,
                    component: "systolic",
                    comparison: Comparison::Above,
                    threshold: Milli::units(180),
                    times: 1,
                    within_days: 1,
                    urgent: true,
                    advice: "Your blood pressure is above 180. Rest for five minutes and measure it again. If it is still above 180, ring the practice now. Call 999 if you have chest pain, a severe headache, or weakness on one side.",
                    escalate_after_hours: 4,
                },
            ],
            series: &[
                DemoSeries {
                    measure: Measure::BloodPressure,
                    every_days: 3,
                    hour: 8,
                    usual: [138_000, 84_000, 74_000],
                    spread: [9_000, 5_000, 7_000],
                },
                DemoSeries {
                    measure: Measure::Weight,
                    every_days: 7,
                    hour: 7,
                    usual: [71_500, 0, 0],
                    spread: [700, 0, 0],
                },
                DemoSeries {
                    measure: Measure::BloodGlucose,
                    every_days: 10,
                    hour: 7,
                    usual: [7_200, 0, 0],
                    spread: [1_100, 0, 0],
                },
                DemoSeries {
                    measure: Measure::Hba1c,
                    every_days: 90,
                    hour: 11,
                    usual: [56_000, 0, 0],
                    spread: [2_000, 0, 0],
                },
            ],
            spikes: &[
                (
                    Measure::BloodPressure,
                    40,
                    [164_000, 96_000, 80_000],
                    AlertEnd::Acknowledged,
                ),
                (
                    Measure::BloodPressure,
                    37,
                    [168_000, 98_000, 82_000],
                    AlertEnd::Acknowledged,
                ),
            ],
            answered: &[(Instrument::Semcd6, &[5, 6, 6, 7]), (Instrument::Ons4, &[6, 7])],
            asked: Some((Instrument::Ons4, 84, 10)),
        },
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
        care: DemoCare {
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
            ranges: &[
                (Measure::OxygenSaturation, "value", Some(92_000), Some(100_000)),
                (Measure::PeakFlow, "value", Some(250_000), None),
            ],
            rules: &[
                DemoRule {
                    measure: Measure::OxygenSaturation,
                    component: "value",
                    comparison: Comparison::Below,
                    threshold: Milli::units(92),
                    times: 1,
                    within_days: 1,
                    urgent: true,
                    advice: "Your oxygen is below 92%. Follow your plan for when things get worse now: start your rescue pack and ring the practice today. Call 999 if you cannot catch your breath.",
                    escalate_after_hours: 4,
                },
                DemoRule {
                    measure: Measure::PeakFlow,
                    component: "value",
                    comparison: Comparison::Below,
                    threshold: Milli::units(200),
                    times: 2,
                    within_days: 3,
                    urgent: false,
                    advice: "Your peak flow has been low twice in three days. Use your blue inhaler as agreed; Nina has been told and will ring you.",
                    escalate_after_hours: 24,
                },
            ],
            series: &[
                DemoSeries {
                    measure: Measure::OxygenSaturation,
                    every_days: 1,
                    hour: 9,
                    usual: [94_500, 0, 0],
                    spread: [1_500, 0, 0],
                },
                DemoSeries {
                    measure: Measure::PeakFlow,
                    every_days: 2,
                    hour: 9,
                    usual: [285_000, 0, 0],
                    spread: [30_000, 0, 0],
                },
                DemoSeries {
                    measure: Measure::Breathlessness,
                    every_days: 14,
                    hour: 18,
                    usual: [2_000, 0, 0],
                    spread: [0, 0, 0],
                },
                DemoSeries {
                    measure: Measure::Steps,
                    every_days: 1,
                    hour: 21,
                    usual: [3_800_000, 0, 0],
                    spread: [1_500_000, 0, 0],
                },
            ],
            spikes: &[(Measure::OxygenSaturation, 2, [91_000, 0, 0], AlertEnd::Open)],
            answered: &[
                (Instrument::Gad7, &[14, 12, 11, 9]),
                (Instrument::Phq9, &[11, 9, 8]),
                (Instrument::Ons4, &[5, 6]),
            ],
            asked: Some((Instrument::Gad7, 28, 3)),
        },
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
        care: DemoCare {
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
            ranges: &[(Measure::Weight, "value", Some(56_000), Some(60_000))],
            rules: &[DemoRule {
                measure: Measure::Weight,
                component: "value",
                comparison: Comparison::Above,
                threshold: Milli::units(60),
                times: 2,
                within_days: 3,
                urgent: false,
                advice: "Your weight has been above 60 kg twice in three days. Peter should ring the practice today; Nina has been told.",
                escalate_after_hours: 24,
            }],
            series: &[
                DemoSeries {
                    measure: Measure::Weight,
                    every_days: 1,
                    hour: 7,
                    usual: [58_400, 0, 0],
                    spread: [800, 0, 0],
                },
                DemoSeries {
                    measure: Measure::BloodPressure,
                    every_days: 7,
                    hour: 10,
                    usual: [128_000, 74_000, 68_000],
                    spread: [8_000, 5_000, 6_000],
                },
            ],
            spikes: &[
                (Measure::Weight, 9, [60_400, 0, 0], AlertEnd::Acknowledged),
                (Measure::Weight, 8, [60_700, 0, 0], AlertEnd::Acknowledged),
                (Measure::Weight, 1, [60_300, 0, 0], AlertEnd::Snoozed),
                (Measure::Weight, 0, [60_500, 0, 0], AlertEnd::Snoozed),
            ],
            answered: &[(Instrument::Ons4, &[6, 6, 7]), (Instrument::Phq9, &[6, 5])],
            asked: None,
        },
    },
];

/// Loads the demo world if the database has no users. Returns the accounts created, or `None` if it was not empty.
pub async fn load_if_empty(state: &AppState) -> anyhow::Result<Option<Vec<DemoAccount>>> {
    if users::count(&state.db).await? > 0 {
        return Ok(None);
    }
    let now = state.now();
    crate::pages::questionnaires::ensure_builtin(state).await?;
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
        seed_care(state, id, p.email, &p.care, now).await?;
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
    // The demo's history (its messages and alerts) is shown in the app, but nobody is emailed about it.
    carepact_store::outbox::settle_history(&state.db, now).await?;
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
                as_owner: None,
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
        sections: Sections::of(&[
            Section::Record,
            Section::CarePlan,
            Section::Readings,
            Section::Questionnaires,
            Section::Messages,
        ]),
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
        reading_targets: care
            .ranges
            .iter()
            .map(|(measure, component, low, high)| Target {
                id: Uuid::now_v7(),
                measure: *measure,
                component: (*component).into(),
                low: low.map(Milli),
                high: high.map(Milli),
            })
            .collect(),
        alert_rules: care
            .rules
            .iter()
            .map(|r| AlertRule {
                id: Uuid::now_v7(),
                measure: r.measure,
                component: r.component.into(),
                comparison: r.comparison,
                threshold: r.threshold,
                times: r.times,
                within_days: r.within_days,
                tell: Level::NamedContact,
                urgent: r.urgent,
                advice: r.advice.into(),
                escalate_after_hours: r.escalate_after_hours,
            })
            .collect(),
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

    let own_readings = grant(&owner, "person", Section::Readings).await?;
    let their_readings = grant(&contact, "professional", Section::Readings).await?;
    seed_readings(state, &own_readings, &their_readings, care, now).await?;
    let own_answers = grant(&owner, "person", Section::Questionnaires).await?;
    let their_answers = grant(&contact, "professional", Section::Questionnaires).await?;
    seed_questionnaires(state, &own_answers, &their_answers, care, now).await
}

/// Answers that give an instrument about the `level` asked for: a PHQ-9 or GAD-7 total spread over the items
/// (never on PHQ-9's item 9), ONS4's four answers around a wellbeing, SEMCD-6's six around a confidence.
fn demo_answers(instrument: Instrument, level: i64) -> Answers {
    let choice = |score: i64| {
        let code = FREQUENCY_ANSWERS
            .iter()
            .find(|(_, s)| *s == score.clamp(0, 3))
            .map_or("LA6568-5", |(c, _)| *c);
        AnswerValue::Code(code.into())
    };
    let spread = |prefix: &str, items: i64, total: i64| -> Answers {
        (1..=items)
            .map(|i| {
                let share = total / items + i64::from(i <= total % items);
                (format!("{prefix}-{i}"), choice(share))
            })
            .collect()
    };
    match instrument {
        Instrument::Phq9 => {
            let mut a = spread("phq9", 8, level);
            a.insert("phq9-9".into(), choice(0));
            a
        }
        Instrument::Gad7 => spread("gad7", 7, level),
        Instrument::Ons4 => [
            ("ons4-life-satisfaction", level),
            ("ons4-worthwhile", (level + 1).min(10)),
            ("ons4-happiness", level),
            ("ons4-anxiety", (9 - level).clamp(0, 10)),
        ]
        .into_iter()
        .map(|(k, v)| (k.to_owned(), AnswerValue::Integer(v)))
        .collect(),
        Instrument::Semcd6 => (1..=6)
            .map(|i| {
                (
                    format!("semcd6-{i}"),
                    AnswerValue::Integer((level + i % 2).clamp(1, 10)),
                )
            })
            .collect(),
        Instrument::Collaborate => (1..=3)
            .map(|i| (format!("collaborate-{i}"), AnswerValue::Integer(level.clamp(0, 9))))
            .collect(),
    }
}

/// Questionnaires answered about once a month, and one the named contact has asked for.
async fn seed_questionnaires(
    state: &AppState,
    own: &carepact_store::access::Grant,
    contact: &carepact_store::access::Grant,
    care: &DemoCare,
    now: time::OffsetDateTime,
) -> anyhow::Result<()> {
    use carepact_store::questionnaires::{self as store, NewResponse};
    for (instrument, levels) in care.answered {
        let def = store::by_url(&state.db, instrument.url(), None)
            .await?
            .ok_or_else(|| anyhow::anyhow!("built-in questionnaire missing"))?;
        let count = i64::try_from(levels.len()).unwrap_or(0);
        for (i, level) in (0..).zip(levels.iter()) {
            let answers = demo_answers(*instrument, *level);
            let score = instrument.score(&answers);
            let at = now - time::Duration::days(30 * (count - i) - 3) - time::Duration::hours(5);
            let answers_json = serde_json::to_string(&answers)?;
            let score_json = score.as_ref().map(serde_json::to_string).transpose()?;
            let new = NewResponse {
                questionnaire: def.id,
                assignment: None,
                authored_at: at,
                source: "person",
                answers: &answers_json,
                score: score_json.as_deref(),
                headline: score.as_ref().and_then(|s| s.headline.as_ref()).map(|h| h.value_tenths),
                urgent: None,
            };
            store::respond(&state.db, own, &new, at)
                .await?
                .map_err(|_| anyhow::anyhow!("demo answers refused"))?;
        }
    }
    if let Some((instrument, every, due_in)) = care.asked {
        let def = store::by_url(&state.db, instrument.url(), None)
            .await?
            .ok_or_else(|| anyhow::anyhow!("built-in questionnaire missing"))?;
        store::assign(
            &state.db,
            contact,
            def.id,
            Some(every),
            now + time::Duration::days(due_in),
            now - time::Duration::days(20),
        )
        .await?
        .map_err(|_| anyhow::anyhow!("demo assignment refused"))?;
    }
    Ok(())
}

/// Months of readings, most of them in one transaction; then, one at a time as if just taken, the readings that
/// cross an agreed threshold, whose alerts the named contact has acknowledged, snoozed or not yet seen.
async fn seed_readings(
    state: &AppState,
    own: &carepact_store::access::Grant,
    contact: &carepact_store::access::Grant,
    care: &DemoCare,
    now: time::OffsetDateTime,
) -> anyhow::Result<()> {
    use carepact_store::readings::{self, AlertMail, NewReading};
    let mail = AlertMail {
        subject: "A CarePact alert needs attention".into(),
        body_for_person: "There is an alert in CarePact that needs attention.".into(),
        body_for_staff: "There is an alert in CarePact that needs attention.".into(),
    };
    // A fixed sequence, so every demo world is the same.
    let mut seed: u64 = 0x5eed_cafe;
    let mut wander = |spread: i64| {
        seed = seed
            .wrapping_mul(6_364_136_223_846_793_005)
            .wrapping_add(1_442_695_040_888_963_407);
        if spread == 0 {
            return 0;
        }
        i64::try_from((seed >> 33) % u64::try_from(2 * spread + 1).unwrap_or(1)).unwrap_or(0) - spread
    };
    let values_of = |measure: Measure, v: [i64; 3]| -> carepact_domain::readings::Values {
        measure
            .components()
            .iter()
            .zip(v)
            .map(|(c, v)| (c.key, Milli(v)))
            .collect()
    };
    let start = now.date() - time::Duration::days(120);
    let mut history = Vec::new();
    for s in care.series {
        let mut day = 0;
        while day < 120 {
            let at = (start + time::Duration::days(day))
                .with_hms(s.hour, 0, 0)
                .map_err(anyhow::Error::msg)?
                .assume_utc();
            let v = [0, 1, 2].map(|i| s.usual[i] + wander(s.spread[i]));
            let v = [0, 1, 2].map(|i| {
                let step = s
                    .measure
                    .components()
                    .get(i)
                    .map_or(1, |c| 10_i64.pow(3 - u32::from(c.decimals)));
                (v[i] / step) * step
            });
            history.push((s.measure, at, values_of(s.measure, v)));
            day += s.every_days;
        }
    }
    let batch: Vec<NewReading<'_>> = history
        .iter()
        .map(|(measure, at, values)| NewReading {
            measure: *measure,
            taken_at: *at,
            values,
            note: None,
            source: "person",
            device: None,
        })
        .collect();
    readings::add_batch(&state.db, own, &batch, &mail, now)
        .await?
        .map_err(|_| anyhow::anyhow!("demo readings refused"))?;
    for (measure, days_ago, v, end) in care.spikes {
        let at = now - time::Duration::days(*days_ago) - time::Duration::hours(2);
        let values = values_of(*measure, *v);
        let reading = NewReading {
            measure: *measure,
            taken_at: at,
            values: &values,
            note: None,
            source: "person",
            device: None,
        };
        let added = readings::add(&state.db, own, &reading, &mail, at)
            .await?
            .map_err(|_| anyhow::anyhow!("demo reading refused"))?;
        let readings::Added::Added { fired, .. } = added else {
            continue;
        };
        for f in fired.iter().filter(|f| f.raised) {
            let later = at + time::Duration::hours(3);
            match end {
                AlertEnd::Acknowledged => {
                    carepact_store::alerts::acknowledge(&state.db, contact, f.alert, later)
                        .await?
                        .map_err(|_| anyhow::anyhow!("demo acknowledgement refused"))?;
                }
                AlertEnd::Snoozed => {
                    let until = now + time::Duration::hours(20);
                    carepact_store::alerts::snooze(&state.db, contact, f.alert, until, later.min(now))
                        .await?
                        .map_err(|_| anyhow::anyhow!("demo snooze refused"))?;
                }
                AlertEnd::Open => {
                    // Nobody acknowledged it in time, so it has already gone on to the care team: nothing is due
                    // to escalate (or be emailed about) when the demo starts.
                    let due = at + time::Duration::hours(i64::from(f.rule.escalate_after_hours) + 1);
                    carepact_store::alerts::escalate(&state.db, contact, f.alert, &mail, due.min(now))
                        .await?
                        .map_err(|_| anyhow::anyhow!("demo escalation refused"))?;
                }
            }
        }
    }
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
