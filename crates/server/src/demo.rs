//! The demo world loaded by `carepact serve --demo` into an empty database: organisations across health, social
//! care and the voluntary sector, their staff, three people living with long-term conditions, and a carer.
//! Every account shares one password, printed at start and listed in the README.

use carepact_domain::NhsNumber;
use carepact_domain::identity::{Email, NewPerson, OrganisationKind, Role};
use carepact_store::organisations;
use carepact_store::people::{self, AccountStart};
use carepact_store::users::{self, NewUser};
use time::macros::date;

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
