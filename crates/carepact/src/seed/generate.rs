//! The synthetic population, generated without any I/O: organisations and their staff, and for each person what
//! someone with their conditions would have in CarePact.
//!
//! Everything comes from the seed. Each person is drawn from their own random streams (seed, person index,
//! purpose), so person 12,345 is the same whether a run makes 20,000 people or 100,000, whatever the chunk size,
//! and `--append` simply carries on from the next index. Ids are UUIDv7-shaped but made from (table, owner,
//! counter) under a fixed timestamp, so they are the same every time and rise in the order rows are written (which
//! keeps every primary-key index append-only while seeding).

use std::collections::VecDeque;

use carepact_domain::audit::Event;
use carepact_domain::care_plan::{ActionOwner, ActionStatus, Contingency, Goal, PlanAction, PlanDoc, Supporter};
use carepact_domain::consent::{Grantee, Labels, Section, Sections, Sensitivity};
use carepact_domain::identity::{OrganisationKind, Role};
use carepact_domain::nhs_number::check_digit;
use carepact_domain::questionnaire::{AnswerValue, Answers, FREQUENCY_ANSWERS, Instrument};
use carepact_domain::readings::{AlertRule, Comparison, Level, Measure, Milli, Target};
use carepact_store::seed::{
    Alert, AlertEvent, Assignment, Availability, Chunk, Consent, Message, MessageRead, Organisation, Person, Plan,
    Reading, RecordImport, RecordItem, RecordLink, Response, TeamMember, Thread, User,
};
use serde_json::json;
use time::{Date, Duration, OffsetDateTime};
use uuid::Uuid;

use super::england::{AGE_BANDS, Calibration, Condition};
use super::rng::Rng;

/// One GP practice for every this many people (England has about 63 million registered patients in about 6,300
/// practices, so a little over 10,000 each; smaller practices give more organisations to a population).
pub const PRACTICE_SIZE: u64 = 9_000;
/// The people of the first practice who can sign in with the seeding password (the first few are the showcase
/// people below).
pub const SIGN_IN_PEOPLE: u64 = 10;
/// Where every seeded email address lives.
pub const EMAIL_DOMAIN: &str = "seed.carepact.example";

/// NHS numbers starting 999 are never issued to real patients (NHS England keeps them for testing); seeded people
/// use 9991000000 to 9999999999, clear of the demo people's 9990000xxx. The first eight digits count up from
/// 99910000 and each block of ten numbers holds at least nine with a valid check digit, so person `i` gets the
/// `i % 9`-th valid number of block `i / 9`: room for 810,000 people.
pub const NHS_LOW: &str = "9991000000";
pub const NHS_HIGH: &str = "9999999999";
const NHS_FIRST_BLOCK: u64 = 9_991_000;
pub const MAX_PEOPLE: u64 = (99_999_999 - NHS_FIRST_BLOCK * 10 + 1) * 9;

/// The NHS number of person `i`.
pub fn nhs_number(i: u64) -> Option<String> {
    let block = NHS_FIRST_BLOCK * 10 + i / 9;
    if block > 99_999_999 {
        return None;
    }
    let mut digits = [0u8; 9];
    let mut rest = block;
    for slot in digits[..8].iter_mut().rev() {
        *slot = (rest % 10) as u8;
        rest /= 10;
    }
    let mut wanted = i % 9;
    for last in 0..10u8 {
        digits[8] = last;
        if let Some(check) = check_digit(&digits) {
            if wanted == 0 {
                return Some(
                    digits
                        .iter()
                        .chain(std::iter::once(&check))
                        .map(|d| char::from(b'0' + d))
                        .collect(),
                );
            }
            wanted -= 1;
        }
    }
    None
}

/// The person index of a seeded NHS number (the inverse of [`nhs_number`]).
pub fn index_of_nhs_number(number: &str) -> Option<u64> {
    if number.len() != 10 || !number.bytes().all(|b| b.is_ascii_digit()) {
        return None;
    }
    let block: u64 = number.get(..8)?.parse().ok()?;
    let last = number.as_bytes().get(8).map(|b| b - b'0')?;
    let first = block.checked_sub(NHS_FIRST_BLOCK * 10)?;
    let mut digits = [0u8; 9];
    for (slot, b) in digits.iter_mut().zip(number.bytes()) {
        *slot = b - b'0';
    }
    let mut rank = 0;
    for d in 0..last {
        digits[8] = d;
        if check_digit(&digits).is_some() {
            rank += 1;
        }
    }
    (rank < 9).then_some(first * 9 + rank)
}

// ---------------------------------------------------------------------------------------------------------------
// Ids

/// 2026-01-01T00:00:00Z in milliseconds: the timestamp part of every seeded id.
const ID_MILLIS: u128 = 1_767_225_600_000;

#[derive(Clone, Copy)]
enum Table {
    Organisation = 1,
    User,
    Person,
    Consent,
    Team,
    Import,
    Item,
    Plan,
    PlanPart,
    Reading,
    Assignment,
    Response,
    Thread,
    Message,
    Alert,
    AlertEvent,
    Audit,
}

/// A UUIDv7-shaped id: the fixed timestamp, then table (6 bits), owner (28 bits) and counter (40 bits).
fn id(table: Table, owner: u64, n: u64) -> Uuid {
    let payload: u128 = (u128::from(table as u8) << 68) | (u128::from(owner & 0x0fff_ffff) << 40) | u128::from(n);
    let rand_a = (payload >> 62) & 0xfff;
    let rand_b = payload & ((1u128 << 62) - 1);
    Uuid::from_u128((ID_MILLIS << 80) | (0x7 << 76) | (rand_a << 64) | (0b10 << 62) | rand_b)
}

// ---------------------------------------------------------------------------------------------------------------
// Names and words

const GIVEN_FEMALE: &[&str] = &[
    "Olivia",
    "Amelia",
    "Isla",
    "Ava",
    "Mia",
    "Grace",
    "Sophia",
    "Lily",
    "Emily",
    "Ella",
    "Margaret",
    "Susan",
    "Patricia",
    "Jean",
    "Linda",
    "Karen",
    "Sarah",
    "Emma",
    "Claire",
    "Helen",
    "Fatima",
    "Aisha",
    "Amina",
    "Priya",
    "Sunita",
    "Zainab",
    "Chloe",
    "Jessica",
    "Hannah",
    "Rebecca",
    "Joan",
    "Barbara",
    "Dorothy",
    "Irene",
    "Maria",
    "Agnieszka",
    "Siobhan",
    "Bethan",
    "Abena",
    "Mei",
];
const GIVEN_MALE: &[&str] = &[
    "Oliver", "George", "Noah", "Arthur", "Leo", "Muhammad", "Harry", "Oscar", "Jack", "Charlie", "David", "John",
    "Michael", "Peter", "Robert", "Paul", "Mark", "Andrew", "James", "Stephen", "Mohammed", "Ali", "Imran", "Rajesh",
    "Sanjay", "Ahmed", "Thomas", "Daniel", "Samuel", "Joseph", "Kenneth", "Brian", "Derek", "Alan", "Tomasz", "Kwame",
    "Sean", "Rhys", "Wei", "Tariq",
];
const FAMILY: &[&str] = &[
    "Smith", "Jones", "Taylor", "Brown", "Williams", "Wilson", "Johnson", "Davies", "Patel", "Robinson", "Wright",
    "Thompson", "Evans", "Walker", "White", "Roberts", "Green", "Hall", "Thomas", "Clarke", "Jackson", "Wood",
    "Harris", "Edwards", "Turner", "Martin", "Cooper", "Hill", "Ward", "Hughes", "Moore", "Clark", "King", "Harrison",
    "Lewis", "Baker", "Lee", "Allen", "Morris", "Khan", "Ahmed", "Ali", "Begum", "Hussain", "Shah", "Singh", "Kaur",
    "Mistry", "Okafor", "Mensah", "Nowak", "Kowalski", "O'Brien", "Murphy", "Kelly", "Campbell", "Stewart", "Chen",
    "Wong", "Adeyemi",
];
const PLACES: &[&str] = &[
    "Ashgrove",
    "Beechwood",
    "Brookside",
    "Castlegate",
    "Cedar House",
    "Churchfield",
    "Elmhurst",
    "Fairfield",
    "Foxhill",
    "Greenway",
    "Hawthorn",
    "Hillcrest",
    "Kingsway",
    "Lakeside",
    "Larchwood",
    "Linden",
    "Maple Tree",
    "Meadowbank",
    "Millbrook",
    "Moorland",
    "Northgate",
    "Oakwood",
    "Orchard",
    "Park View",
    "Priory",
    "Queensway",
    "Redwood",
    "Riverbank",
    "Rosehill",
    "St Mary's",
    "Southfield",
    "Springfield",
    "Stonebridge",
    "Thornbury",
    "Victoria",
    "Westfield",
    "Willow Bank",
    "Woodlands",
    "Yewtree",
    "Abbey",
];
const PRACTICE_KINDS: &[&str] = &[
    "Surgery",
    "Medical Practice",
    "Health Centre",
    "Medical Centre",
    "Family Practice",
];

// ---------------------------------------------------------------------------------------------------------------
// Organisations

/// A practice's staff, by slot: (email part, role in words, roles, named contact for people).
const PRACTICE_STAFF: [(&str, &str, Role, bool); 7] = [
    ("gp1", "GP", Role::Professional, false),
    ("gp2", "GP", Role::Professional, false),
    ("nurse", "Practice nurse", Role::Professional, false),
    ("ltc1", "Long-term conditions nurse", Role::Professional, true),
    ("ltc2", "Long-term conditions nurse", Role::Professional, true),
    ("coordinator", "Care coordinator", Role::Professional, true),
    ("manager", "Practice manager", Role::OrganisationAdmin, false),
];

/// The community, social care, voluntary and commissioning organisations every population shares: (name, kind,
/// email prefix, staff (email part, role in words, role)).
type CommunityOrg = (
    &'static str,
    OrganisationKind,
    &'static str,
    &'static [(&'static str, &'static str, Role)],
);
const COMMUNITY: [CommunityOrg; 4] = [
    (
        "Eastbrook Community Mental Health Team",
        OrganisationKind::CommunityService,
        "cmht",
        &[
            ("nurse1", "Community mental health nurse", Role::Professional),
            ("nurse2", "Community mental health nurse", Role::Professional),
        ],
    ),
    (
        "Eastbrook Adult Social Care",
        OrganisationKind::SocialCare,
        "social-care",
        &[("worker", "Social worker", Role::Professional)],
    ),
    (
        "Eastbrook Community Connections",
        OrganisationKind::Voluntary,
        "connections",
        &[("link-worker", "Social prescribing link worker", Role::LinkWorker)],
    ),
    (
        "NHS Eastbrook Integrated Care Board",
        OrganisationKind::Commissioner,
        "icb",
        &[("commissioner", "Commissioner", Role::Commissioner)],
    ),
];

/// One member of staff.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Staff {
    pub id: Uuid,
    pub email: String,
    pub name: String,
    pub role_text: &'static str,
    pub roles: Vec<Role>,
}

/// An organisation and its staff.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Org {
    pub id: Uuid,
    pub name: String,
    pub kind: OrganisationKind,
    pub staff: Vec<Staff>,
    /// The system its records come from (a GP practice's FHIR `meta.source`).
    pub system: String,
}

impl Org {
    fn staff(&self, slot: usize) -> &Staff {
        &self.staff[slot.min(self.staff.len() - 1)]
    }
}

fn slug(name: &str) -> String {
    let mut out = String::new();
    for c in name.chars() {
        if c.is_ascii_alphanumeric() {
            out.push(c.to_ascii_lowercase());
        } else if !out.ends_with('-') && !out.is_empty() && c == ' ' {
            out.push('-');
        }
    }
    out
}

/// The name of practice `k`, the same whatever the seed (names are unique in CarePact).
pub fn practice_name(k: u64) -> String {
    let places = PLACES.len() as u64;
    let kinds = PRACTICE_KINDS.len() as u64;
    let place = PLACES[(k % places) as usize];
    let kind = PRACTICE_KINDS[((k / places) % kinds) as usize];
    let round = k / (places * kinds);
    if round == 0 {
        format!("{place} {kind}")
    } else {
        format!("{place} {kind} {}", round + 1)
    }
}

// ---------------------------------------------------------------------------------------------------------------
// The generator

/// The built-in questionnaires' ids as stored.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Questionnaires {
    pub phq9: Uuid,
    pub gad7: Uuid,
    pub ons4: Uuid,
}

/// What a run is made from.
#[derive(Debug, Clone)]
pub struct Settings {
    pub seed: u64,
    /// The end of the year of readings; everything happened before it.
    pub now: OffsetDateTime,
    /// Given to the first practice's staff, the shared organisations' staff and the first few people.
    pub password_hash: Option<String>,
    pub questionnaires: Questionnaires,
}

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Sex {
    Female,
    Male,
}

/// Who a person is: drawn before anything they have.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Profile {
    pub index: u64,
    pub nhs_number: String,
    pub sex: Sex,
    pub age: u8,
    pub date_of_birth: Date,
    pub given_name: String,
    pub family_name: String,
    pub conditions: Vec<Condition>,
    pub practice: u64,
}

impl Profile {
    pub fn has(&self, c: Condition) -> bool {
        self.conditions.contains(&c)
    }
}

/// Counts for progress reports.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq)]
pub struct Counts {
    pub people: u64,
    pub readings: u64,
}

pub struct Generator {
    settings: Settings,
    calibration: Calibration,
    /// Cumulative age distribution: (upper bound of the cumulative share, band).
    ages: Vec<(f64, u8, u8)>,
}

/// Random-stream purposes within a person.
mod purpose {
    pub const PROFILE: u64 = 1;
    pub const CARE: u64 = 2;
    pub const READINGS: u64 = 3;
    pub const ANSWERS: u64 = 4;
    pub const MESSAGES: u64 = 5;
    pub const STAFF: u64 = 6;
    pub const MONITORING: u64 = 7;
    pub const RECORD: u64 = 8;
}

/// People at these indices have a fixed set of conditions and every kind of monitoring, so that any population
/// (even a 1,000-person smoke run) holds each pathway, and a benchmark can sign in as them.
const SHOWCASE: [&[Condition]; 5] = [
    &[Condition::Type2Diabetes, Condition::Hypertension],
    &[Condition::Copd, Condition::Anxiety],
    &[Condition::HeartFailure, Condition::Ckd, Condition::Hypertension],
    &[Condition::Type1Diabetes],
    &[Condition::Asthma, Condition::Depression],
];
const SHOWCASE_AGES: [u8; 5] = [64, 71, 83, 29, 38];

impl Generator {
    pub fn new(settings: Settings) -> Generator {
        let total: f64 = AGE_BANDS.iter().map(|b| f64::from(b.2)).sum();
        let mut acc = 0.0;
        let ages = AGE_BANDS
            .iter()
            .map(|(lo, hi, n)| {
                acc += f64::from(*n) / total;
                (acc, *lo, *hi)
            })
            .collect();
        Generator {
            settings,
            calibration: Calibration::new(),
            ages,
        }
    }

    #[cfg(test)]
    pub fn now(&self) -> OffsetDateTime {
        self.settings.now
    }

    /// What the person measures at home (the plan's targets and rules follow it, and so do the readings).
    fn monitoring(&self, p: &Profile) -> Monitoring {
        Monitoring::of(p, &mut self.rng(p.index, purpose::MONITORING))
    }

    fn rng(&self, owner: u64, purpose: u64) -> Rng {
        Rng::stream(self.settings.seed, owner, purpose)
    }

    // -----------------------------------------------------------------------------------------------------------
    // Organisations

    /// Practice `k` and its staff.
    pub fn practice(&self, k: u64) -> Org {
        let mut rng = self.rng(1_000_000_000 + k, purpose::STAFF);
        let name = practice_name(k);
        let staff = PRACTICE_STAFF
            .iter()
            .enumerate()
            .map(|(slot, (email, role_text, role, _))| {
                let female = rng.chance(0.6);
                let given = *rng.pick(if female { GIVEN_FEMALE } else { GIVEN_MALE });
                let family = *rng.pick(FAMILY);
                Staff {
                    id: id(Table::User, 0, k * 16 + slot as u64),
                    email: format!("p{k}.{email}@{EMAIL_DOMAIN}"),
                    name: if role_text == &"GP" {
                        format!("Dr {given} {family}")
                    } else {
                        format!("{given} {family}")
                    },
                    role_text,
                    roles: vec![*role],
                }
            })
            .collect();
        Org {
            id: id(Table::Organisation, k + 1, 0),
            system: format!("https://{}.example/gp-system", slug(&name)),
            name,
            kind: OrganisationKind::GpPractice,
            staff,
        }
    }

    /// The shared organisations: community mental health, social care, voluntary sector, commissioner.
    pub fn community(&self) -> Vec<Org> {
        let mut rng = self.rng(2_000_000_000, purpose::STAFF);
        COMMUNITY
            .iter()
            .enumerate()
            .map(|(o, (name, kind, prefix, staff))| Org {
                id: id(Table::Organisation, 0, o as u64),
                name: (*name).into(),
                kind: *kind,
                system: format!("https://{}.example/system", slug(name)),
                staff: staff
                    .iter()
                    .enumerate()
                    .map(|(slot, (email, role_text, role))| {
                        let female = rng.chance(0.6);
                        let given = *rng.pick(if female { GIVEN_FEMALE } else { GIVEN_MALE });
                        Staff {
                            id: id(Table::User, 0, (1 << 36) + (o as u64) * 16 + slot as u64),
                            email: format!("{prefix}.{email}@{EMAIL_DOMAIN}"),
                            name: format!("{given} {}", rng.pick(FAMILY)),
                            role_text,
                            roles: vec![*role],
                        }
                    })
                    .collect(),
            })
            .collect()
    }

    /// The rows for organisations and their staff. The first practice's staff and the shared organisations' staff
    /// get the seeding password.
    pub fn organisation_rows(&self, orgs: &[Org], chunk: &mut Chunk) {
        let created = self.settings.now - Duration::days(800);
        for org in orgs {
            chunk.organisations.push(Organisation {
                id: org.id,
                name: org.name.clone(),
                kind: org.kind,
                created_at: created,
            });
            let sign_in = org.kind != OrganisationKind::GpPractice || org.id == id(Table::Organisation, 1, 0);
            for s in &org.staff {
                chunk.users.push(User {
                    id: s.id,
                    email: s.email.clone(),
                    display_name: s.name.clone(),
                    roles: s.roles.clone(),
                    organisation: Some(org.id),
                    password_hash: if sign_in {
                        self.settings.password_hash.clone()
                    } else {
                        None
                    },
                    created_at: created,
                });
                if s.roles.contains(&Role::Professional) || s.roles.contains(&Role::LinkWorker) {
                    chunk.availability.push(Availability {
                        user: s.id,
                        reply_within_days: 2,
                        updated_at: created,
                    });
                }
            }
        }
    }

    // -----------------------------------------------------------------------------------------------------------
    // People

    /// Who person `i` is: sex, age, name, NHS number, conditions and practice.
    pub fn profile(&self, i: u64) -> Profile {
        let mut rng = self.rng(i, purpose::PROFILE);
        let sex = if rng.chance(0.506) { Sex::Female } else { Sex::Male };
        let u = rng.f64();
        let (lo, hi) = self
            .ages
            .iter()
            .find(|(upto, _, _)| u < *upto)
            .or(self.ages.last())
            .map_or((40, 40), |(_, lo, hi)| (*lo, *hi));
        let mut age = rng.range(i64::from(lo), i64::from(hi)) as u8;
        let mut conditions = Vec::new();
        for c in Condition::ALL {
            let p = self.calibration.chance(c, age);
            // Every draw is made, so one condition's outcome never shifts another's.
            let drawn = rng.chance(p);
            if drawn && !(c == Condition::Type2Diabetes && conditions.contains(&Condition::Type1Diabetes)) {
                conditions.push(c);
            }
        }
        if let Some(fixed) = SHOWCASE.get(i as usize) {
            conditions = fixed.to_vec();
            conditions.sort();
            age = SHOWCASE_AGES[i as usize];
        }
        let days_into_year = rng.range(0, 364);
        let now = self.settings.now.date();
        let date_of_birth = now - Duration::days(i64::from(age) * 365 + i64::from(age) / 4 + days_into_year);
        let given = *rng.pick(if sex == Sex::Female { GIVEN_FEMALE } else { GIVEN_MALE });
        let family = *rng.pick(FAMILY);
        Profile {
            index: i,
            nhs_number: nhs_number(i).unwrap_or_default(),
            sex,
            age,
            date_of_birth,
            given_name: given.into(),
            family_name: family.into(),
            conditions,
            practice: i / PRACTICE_SIZE,
        }
    }

    /// Everything person `i` has, added to `chunk`. `practice` must be [`Generator::practice`] of their practice
    /// and `community` [`Generator::community`].
    pub fn person(&self, i: u64, practice: &Org, community: &[Org], chunk: &mut Chunk) -> Counts {
        let p = self.profile(i);
        let now = self.settings.now;
        let owner = i + 1;
        let person_id = id(Table::Person, owner, 0);
        let user_id = id(Table::User, owner, 0);
        let mut rng = self.rng(i, purpose::CARE);
        let joined = now - Duration::days(366 + rng.range(0, 730)) - Duration::minutes(rng.range(0, 1_439));
        let has_ltc = !p.conditions.is_empty();
        let mental = p.conditions.iter().any(|c| c.is_mental_health());
        let contact = has_ltc.then(|| practice.staff(3 + rng.below(3) as usize).clone());

        let email = format!("person.{i}@{EMAIL_DOMAIN}");
        let preferred = NICKNAMES
            .iter()
            .find(|(name, _)| *name == p.given_name)
            .filter(|_| rng.chance(0.3))
            .map(|(_, short)| (*short).to_owned());
        let display = format!("{} {}", preferred.as_deref().unwrap_or(&p.given_name), p.family_name);
        chunk.users.push(User {
            id: user_id,
            email: email.clone(),
            display_name: display,
            roles: vec![Role::Person],
            organisation: None,
            password_hash: if i < SIGN_IN_PEOPLE {
                self.settings.password_hash.clone()
            } else {
                None
            },
            created_at: joined,
        });
        chunk.people.push(Person {
            id: person_id,
            user: Some(user_id),
            nhs_number: p.nhs_number.clone(),
            given_name: p.given_name.clone(),
            family_name: p.family_name.clone(),
            preferred_name: preferred,
            date_of_birth: p.date_of_birth,
            email: Some(email),
            phone: Some(format!("07700 900{:03}", i % 1000)),
            communication_needs: rng.chance(0.03).then(|| (*rng.pick(COMMUNICATION_NEEDS)).to_owned()),
            named_contact: contact.as_ref().map(|c| c.id),
            created_at: joined,
        });

        // Sharing: the whole practice (general items), and the named contact and others in the team.
        let mut consent_n = 0;
        let mut consent = |grantee: Grantee, sections: &[Section], labels: &[Sensitivity], at: OffsetDateTime| {
            consent_n += 1;
            let c = Consent {
                id: id(Table::Consent, owner, consent_n),
                person: person_id,
                grantee,
                sections: Sections::of(sections),
                labels: Labels::of(labels),
                write: true,
                starts: at,
                created_at: at,
            };
            let cid = c.id;
            chunk.consents.push(c);
            cid
        };
        const CARE: [Section; 5] = [
            Section::Record,
            Section::CarePlan,
            Section::Readings,
            Section::Questionnaires,
            Section::Messages,
        ];
        consent(
            Grantee::Organisation(carepact_domain::identity::OrganisationId(practice.id)),
            &CARE,
            &[Sensitivity::General],
            joined,
        );
        let mut team: Vec<(&Staff, Uuid, bool)> = Vec::new();
        let team_at = joined + Duration::days(rng.range(1, 30));
        let mut labels = vec![Sensitivity::General];
        if mental {
            labels.push(Sensitivity::MentalHealth);
        }
        if let Some(c) = &contact {
            let cid = consent(
                Grantee::Professional(carepact_domain::identity::UserId(c.id)),
                &CARE,
                &labels,
                team_at,
            );
            team.push((c, cid, true));
        }
        let cmht = &community[0];
        let social = &community[1];
        let connections = &community[2];
        let mut extra: Vec<(&Org, &Staff, Vec<Section>, Vec<Sensitivity>)> = Vec::new();
        if mental && rng.chance(0.15) {
            extra.push((
                cmht,
                cmht.staff(rng.below(2) as usize),
                vec![Section::CarePlan, Section::Questionnaires, Section::Messages],
                vec![Sensitivity::General, Sensitivity::MentalHealth],
            ));
        }
        if p.age >= 75 && p.conditions.len() >= 3 && rng.chance(0.3) {
            extra.push((
                social,
                social.staff(0),
                vec![Section::CarePlan, Section::Messages],
                vec![Sensitivity::General, Sensitivity::SocialCare],
            ));
        }
        if has_ltc && rng.chance(0.05) {
            extra.push((
                connections,
                connections.staff(0),
                vec![Section::CarePlan, Section::Messages],
                vec![Sensitivity::General],
            ));
        }
        for (_, s, sections, labels) in &extra {
            let cid = consent(
                Grantee::Professional(carepact_domain::identity::UserId(s.id)),
                sections.as_slice(),
                labels.as_slice(),
                team_at + Duration::days(3),
            );
            team.push((s, cid, false));
        }
        for (n, (s, cid, named)) in team.iter().enumerate() {
            let org = if *named {
                practice.id
            } else {
                extra
                    .iter()
                    .find(|(_, x, _, _)| x.id == s.id)
                    .map_or(practice.id, |(o, _, _, _)| o.id)
            };
            chunk.team.push(TeamMember {
                id: id(Table::Team, owner, n as u64),
                person: person_id,
                user: s.id,
                organisation: Some(org),
                role_text: s.role_text.into(),
                consent: *cid,
                named_contact: *named,
                created_at: team_at,
            });
        }

        self.record(&p, practice, person_id, owner, joined, chunk);

        let mut counts = Counts { people: 1, readings: 0 };
        if let Some(contact) = &contact {
            let plan = self.plan(&p, practice, contact, &mut rng);
            let plan_at = now - Duration::days(rng.range(20, 200)) - Duration::minutes(rng.range(0, 600));
            let mut agreements = vec![("professional", contact.id, plan_at)];
            if rng.chance(0.9) {
                agreements.push(("person", user_id, plan_at + Duration::hours(rng.range(1, 72))));
            }
            chunk.plans.push(Plan {
                id: id(Table::Plan, owner, 0),
                person: person_id,
                review_date: plan.review_date.map(iso),
                content: serde_json::to_string(&plan).unwrap_or_default(),
                author: contact.id,
                author_role: "professional",
                organisation: Some(practice.id),
                created_at: plan_at,
                agreements,
            });
            let mut readings = Readings {
                chunk: &mut *chunk,
                person: person_id,
                user: user_id,
                contact: contact.id,
                owner,
                now,
                n: 0,
                alerts: 0,
                alert_events: 0,
                rng: self.rng(i, purpose::READINGS),
            };
            readings.all(&p, self.monitoring(&p), self.settings.seed, &plan.alert_rules);
            counts.readings = readings.n;
            self.answers(&p, person_id, user_id, contact, owner, chunk);
            self.messages(&p, person_id, user_id, contact, owner, chunk);
        }

        chunk.audit.push(Event {
            id: id(Table::Audit, owner, 0),
            occurred_at: now,
            actor: None,
            actor_role: "operator".into(),
            organisation: None,
            on_behalf_of: Some("command-line".into()),
            person: Some(person_id),
            action: "write".into(),
            section: Some(Section::Record.code().into()),
            entity: "seed".into(),
            purpose: "operations".into(),
            outcome: "permit:operator".into(),
        });
        counts
    }

    /// The GP record: the Patient and a Condition per long-term condition, as the practice's system sends them,
    /// checked and stored as the importer stores them.
    fn record(&self, p: &Profile, practice: &Org, person: Uuid, owner: u64, joined: OffsetDateTime, chunk: &mut Chunk) {
        let mut rng = self.rng(p.index, purpose::RECORD);
        let import = id(Table::Import, owner, 0);
        let at = joined + Duration::hours(1);
        let base = practice.system.trim_end_matches("/gp-system").to_owned() + "/fhir";
        let patient_id = format!("p{}", p.index);
        let mut resources = vec![(
            format!("{base}/Patient/{patient_id}"),
            json!({
                "resourceType": "Patient",
                "id": patient_id,
                "identifier": [{"system": carepact_fhir::resource::NHS_NUMBER_SYSTEM, "value": p.nhs_number}],
                "active": true,
                "name": [{"use": "official", "family": p.family_name, "given": [p.given_name]}],
                "gender": if p.sex == Sex::Female { "female" } else { "male" },
                "birthDate": iso(p.date_of_birth),
                "generalPractitioner": [{"display": practice.name}],
            }),
        )];
        for c in &p.conditions {
            let (code, display) = c.snomed();
            let years = i64::from(p.age.saturating_sub(match c {
                Condition::Type1Diabetes => 1,
                Condition::Asthma => 6,
                _ => 18,
            }))
            .min(25);
            let onset = self.settings.now.date() - Duration::days(rng.range(30, years.max(1) * 365));
            let mut condition = json!({
                "resourceType": "Condition",
                "id": c.slug(),
                "clinicalStatus": {"coding": [{"system": "http://terminology.hl7.org/CodeSystem/condition-clinical",
                    "code": "active", "display": "Active"}], "text": "Active"},
                "verificationStatus": {"coding": [{"system":
                    "http://terminology.hl7.org/CodeSystem/condition-ver-status", "code": "confirmed",
                    "display": "Confirmed"}], "text": "Confirmed"},
                "category": [{"coding": [{"system": "http://terminology.hl7.org/CodeSystem/condition-category",
                    "code": "problem-list-item", "display": "Problem List Item"}], "text": "Problem List Item"}],
                "code": {"coding": [{"system": "http://snomed.info/sct", "code": code, "display": display}],
                    "text": display},
                "subject": {"reference": format!("Patient/{patient_id}")},
                "onsetDateTime": iso(onset),
                "recordedDate": iso(onset),
            });
            if c.is_mental_health()
                && let Some(obj) = condition.as_object_mut()
            {
                obj.insert(
                    "meta".into(),
                    json!({"security": [{"system": "http://terminology.hl7.org/CodeSystem/v3-ActCode",
                        "code": "PSY", "display": "psychiatry disorder information sensitivity"}]}),
                );
            }
            resources.push((format!("{base}/Condition/{}", c.slug()), condition));
        }
        let mut added = 0;
        let mut patient_item = None;
        for (n, (url, resource)) in resources.into_iter().enumerate() {
            let entry = carepact_fhir::Entry {
                index: n,
                format: carepact_fhir::Format::Bundle,
                full_url: Some(url),
                method: None,
                resource: Some(resource),
                bundle_source: Some(practice.system.clone()),
            };
            let Ok(item) = carepact_fhir::check(entry) else {
                continue;
            };
            let item_id = id(Table::Item, owner, n as u64);
            if item.resource_type == "Patient" {
                patient_item = Some(item_id);
            } else if let Some(to) = patient_item {
                for (path, _) in &item.references {
                    chunk.links.push(RecordLink {
                        from: item_id,
                        path: path.clone(),
                        to,
                    });
                }
            }
            chunk.items.push(RecordItem {
                id: item_id,
                person,
                import,
                supplier: Some(practice.id),
                source: item.source.clone().unwrap_or_else(|| practice.system.clone()),
                item,
                created_at: at,
            });
            added += 1;
        }
        chunk.imports.push(RecordImport {
            id: import,
            person,
            organisation: None,
            source: format!("organisation:{}", practice.name.to_lowercase()),
            format: "bundle",
            added,
            created_at: at,
        });
    }

    /// An agreed plan in the person's words, with the targets and alert rules their conditions call for.
    fn plan(&self, p: &Profile, practice: &Org, contact: &Staff, rng: &mut Rng) -> PlanDoc {
        let owner = p.index + 1;
        let mut part = 0u64;
        let mut next_id = || {
            part += 1;
            id(Table::PlanPart, owner, part)
        };
        let now = self.settings.now.date();
        let mut goals = Vec::new();
        let mut actions = Vec::new();
        let mut targets_text = Vec::new();
        let mut medicines = Vec::new();
        let mut signs = Vec::new();
        let mut reading_targets = Vec::new();
        let mut alert_rules = Vec::new();
        for c in &p.conditions {
            let words = care_words(*c);
            let (goal, steps) = *rng.pick(words.goals);
            let goal_id = next_id();
            goals.push(Goal {
                id: goal_id,
                text: goal.into(),
                steps: steps.into(),
                target_date: Some(now + Duration::days(rng.range(60, 240))),
            });
            let (what, owner_kind) = words.action;
            actions.push(PlanAction {
                id: next_id(),
                what: what.into(),
                owner: owner_kind,
                who: match owner_kind {
                    ActionOwner::Professional => contact.name.clone(),
                    _ => String::new(),
                },
                by: Some(now + Duration::days(rng.range(14, 90))),
                status: *rng.pick(&[ActionStatus::NotStarted, ActionStatus::InProgress, ActionStatus::Done]),
                goal: Some(goal_id),
            });
            targets_text.push(words.targets);
            medicines.push(words.medicines);
            signs.push(words.signs);
        }
        if goals.len() > 3 {
            goals.truncate(3);
        }
        let goal_ids: Vec<Uuid> = goals.iter().map(|g| g.id).collect();
        for a in &mut actions {
            if a.goal.is_some_and(|g| !goal_ids.contains(&g)) {
                a.goal = None;
            }
        }
        let mut rule = |measure: Measure,
                        component: &str,
                        comparison: Comparison,
                        threshold: i64,
                        times: u32,
                        within_days: u32,
                        urgent: bool,
                        hours: u32,
                        advice: &str| {
            AlertRule {
                id: next_id(),
                measure,
                component: component.into(),
                comparison,
                threshold: Milli(threshold),
                times,
                within_days,
                tell: Level::NamedContact,
                urgent,
                advice: advice.replace("{contact}", &contact.name),
                escalate_after_hours: hours,
            }
        };
        let target = |id: Uuid, measure: Measure, component: &str, low: Option<i64>, high: Option<i64>| Target {
            id,
            measure,
            component: component.into(),
            low: low.map(Milli),
            high: high.map(Milli),
        };
        let m = self.monitoring(p);
        let usual = usual_weight(self.settings.seed, p);
        if m.blood_pressure {
            let high = if p.age >= 80 { 145_000 } else { 135_000 };
            let t = target(
                Uuid::nil(),
                Measure::BloodPressure,
                "systolic",
                Some(100_000),
                Some(high),
            );
            reading_targets.push(t);
            alert_rules.push(rule(
                Measure::BloodPressure,
                "systolic",
                Comparison::Above,
                160_000,
                2,
                7,
                false,
                48,
                "Your blood pressure has been above 160 twice this week. Sit quietly for five minutes and measure it \
                 again. {contact} has been told and will ring you within two working days.",
            ));
            alert_rules.push(rule(
                Measure::BloodPressure,
                "systolic",
                Comparison::Above,
                180_000,
                1,
                1,
                true,
                4,
                "Your blood pressure is above 180. Rest for five minutes and measure it again. If it is still above \
                 180, ring the practice now. Call 999 if you have chest pain, a severe headache or weakness on one \
                 side.",
            ));
        }
        if m.glucose != Glucose::None {
            reading_targets.push(target(
                Uuid::nil(),
                Measure::BloodGlucose,
                "value",
                Some(4_000),
                Some(10_000),
            ));
            if p.has(Condition::Type1Diabetes) {
                alert_rules.push(rule(
                    Measure::BloodGlucose,
                    "value",
                    Comparison::Below,
                    3_000,
                    3,
                    1,
                    false,
                    24,
                    "Your sugar has been below 3 several times today. Treat the low with fast-acting sugar now, and \
                     check again in 15 minutes. {contact} has been told and will look at your insulin doses.",
                ));
            } else {
                alert_rules.push(rule(
                    Measure::BloodGlucose,
                    "value",
                    Comparison::Below,
                    4_000,
                    2,
                    7,
                    false,
                    48,
                    "Your sugar has been below 4 twice this week. Have something sugary now. {contact} has been \
                     told and will check your tablets with you.",
                ));
            }
        }
        if p.has(Condition::Type1Diabetes) || p.has(Condition::Type2Diabetes) {
            reading_targets.push(target(Uuid::nil(), Measure::Hba1c, "value", None, Some(53_000)));
        }
        if m.peak_flow {
            let best = personal_best(p);
            reading_targets.push(target(
                Uuid::nil(),
                Measure::PeakFlow,
                "value",
                Some(best * 8 / 10 / 1000 * 1000),
                None,
            ));
            alert_rules.push(rule(
                Measure::PeakFlow,
                "value",
                Comparison::Below,
                best * 6 / 10 / 1000 * 1000,
                2,
                3,
                false,
                24,
                "Your peak flow has been low twice in three days. Use your reliever inhaler as agreed and \
                 follow your action plan; {contact} has been told and will ring you.",
            ));
        }
        if m.oxygen {
            reading_targets.push(target(
                Uuid::nil(),
                Measure::OxygenSaturation,
                "value",
                Some(92_000),
                Some(100_000),
            ));
            alert_rules.push(rule(
                Measure::OxygenSaturation,
                "value",
                Comparison::Below,
                92_000,
                1,
                1,
                true,
                4,
                "Your oxygen is below 92%. Follow your plan for when things get worse now: start your rescue pack \
                 and ring the practice today. Call 999 if you cannot catch your breath.",
            ));
        }
        if m.weight == Frequency::Daily {
            reading_targets.push(target(
                Uuid::nil(),
                Measure::Weight,
                "value",
                Some(usual - 2_000),
                Some(usual + 2_000),
            ));
            alert_rules.push(rule(
                Measure::Weight,
                "value",
                Comparison::Above,
                usual + 2_000,
                2,
                3,
                false,
                24,
                "Your weight has been more than 2 kg above your usual weight twice in three days. Ring the practice \
                 today; {contact} has been told.",
            ));
        }
        for t in &mut reading_targets {
            t.id = next_id();
        }
        let support_network = (0..rng.below(3))
            .map(|_| {
                let (relationship, group) = *rng.pick(SUPPORTERS);
                Supporter {
                    id: next_id(),
                    name: if group {
                        relationship.into()
                    } else {
                        format!("{} {}", rng.pick(GIVEN_FEMALE), p.family_name)
                    },
                    relationship: if group { "Group".into() } else { relationship.into() },
                    contact: if group {
                        String::new()
                    } else {
                        format!("07700 900{:03}", rng.below(1000))
                    },
                }
            })
            .collect();
        PlanDoc {
            about_me: (*rng.pick(ABOUT_ME)).into(),
            what_matters: (*rng.pick(WHAT_MATTERS)).into(),
            goals,
            actions,
            support_network,
            targets: targets_text
                .into_iter()
                .filter(|t| !t.is_empty())
                .collect::<Vec<_>>()
                .join(" "),
            reading_targets,
            alert_rules,
            medicines: medicines.join(" "),
            contingency: Contingency {
                signs: signs.join(" "),
                what_i_do: "Follow my plan for that condition, and ring the practice the same day if it does not \
                            settle."
                    .into(),
                who_to_call: format!("{} at {}.", contact.name, practice.name),
                out_of_hours: "Call 111, or 999 in an emergency.".into(),
            },
            review_date: Some(now + Duration::days(rng.range(30, 330))),
        }
    }

    /// PHQ-9 and GAD-7 answered monthly for some people with depression or anxiety (assigned by the named
    /// contact), and ONS4 every three months for a few others.
    fn answers(&self, p: &Profile, person: Uuid, user: Uuid, contact: &Staff, owner: u64, chunk: &mut Chunk) {
        let mut rng = self.rng(p.index, purpose::ANSWERS);
        let now = self.settings.now;
        let q = self.settings.questionnaires;
        let mut n = 0u64;
        let showcase = p.index < SHOWCASE.len() as u64;
        let mut plans: Vec<(Instrument, Uuid, i64, bool)> = Vec::new();
        if p.has(Condition::Depression) && (showcase || rng.chance(0.4)) {
            plans.push((Instrument::Phq9, q.phq9, 28, true));
        }
        if p.has(Condition::Anxiety) && (showcase || rng.chance(0.4)) {
            plans.push((Instrument::Gad7, q.gad7, 28, true));
        }
        if rng.chance(0.1) {
            plans.push((Instrument::Ons4, q.ons4, 91, false));
        }
        for (instrument, questionnaire, every, assigned) in plans {
            n += 1;
            let assignment = assigned.then(|| id(Table::Assignment, owner, n));
            let start = now - Duration::days(365 - rng.range(0, 60));
            let mut at = start + Duration::hours(rng.range(9, 20));
            // A trajectory: worse at first, better with care, with ups and downs.
            let (from, to) = match instrument {
                Instrument::Phq9 => (rng.range(10, 20), rng.range(3, 10)),
                Instrument::Gad7 => (rng.range(9, 17), rng.range(2, 9)),
                _ => (rng.range(4, 7), rng.range(5, 9)),
            };
            let total = ((now - start).whole_days() / every).max(1);
            let mut k = 0;
            let mut last = at;
            while at < now {
                let level = from + (to - from) * k / total + rng.range(-2, 2);
                let mut answers = spread_answers(instrument, level.max(0));
                let self_harm = instrument == Instrument::Phq9 && rng.chance(0.03);
                if self_harm {
                    answers.insert("phq9-9".into(), frequency(1));
                }
                let score = instrument.score(&answers);
                let response = id(Table::Response, owner, n * 1_000 + k as u64);
                chunk.responses.push(Response {
                    id: response,
                    person,
                    questionnaire,
                    assignment,
                    authored_at: at,
                    entered_by: Some(user),
                    source: "person",
                    answers: serde_json::to_string(&answers).unwrap_or_default(),
                    score: score.as_ref().and_then(|s| serde_json::to_string(s).ok()),
                    headline: score.as_ref().and_then(|s| s.headline.as_ref()).map(|h| h.value_tenths),
                    urgent: self_harm,
                });
                if score.as_ref().is_some_and(|s| s.urgent) {
                    let alert = id(Table::Alert, owner, 1_000_000 + n * 1_000 + k as u64);
                    let acknowledged = at + Duration::hours(rng.range(1, 3));
                    let (status, level, ack) = if acknowledged < now {
                        ("acknowledged", "named-contact", Some(acknowledged))
                    } else {
                        ("open", "named-contact", None)
                    };
                    chunk.alerts.push(Alert {
                        id: alert,
                        person,
                        rule: None,
                        plan_version: None,
                        instrument: Some(instrument.code()),
                        measure: None,
                        urgent: true,
                        level,
                        status,
                        advice: String::new(),
                        raised_at: at,
                        escalate_at: None,
                        escalate_after_hours: 4,
                        acknowledged_by: ack.map(|_| contact.id),
                        acknowledged_at: ack,
                        response: Some(response),
                    });
                    let event = id(Table::AlertEvent, owner, 1_000_000 + n * 1_000 + k as u64 * 2);
                    chunk.alert_events.push(AlertEvent {
                        id: event,
                        alert,
                        at,
                        what: "raised",
                        level: Some("named-contact"),
                        user: Some(user),
                    });
                    if let Some(ack) = ack {
                        chunk.alert_events.push(AlertEvent {
                            id: id(Table::AlertEvent, owner, 1_000_000 + n * 1_000 + k as u64 * 2 + 1),
                            alert,
                            at: ack,
                            what: "acknowledged",
                            level: None,
                            user: Some(contact.id),
                        });
                    }
                }
                last = at;
                k += 1;
                at += Duration::days(every + rng.range(-2, 4)) + Duration::minutes(rng.range(-120, 120));
            }
            if let Some(assignment) = assignment {
                let next_due = last + Duration::days(every);
                chunk.assignments.push(Assignment {
                    id: assignment,
                    person,
                    questionnaire,
                    assigned_by: contact.id,
                    assigned_at: start - Duration::days(1),
                    every_days: Some(every),
                    next_due,
                    reminded_for: (next_due <= now).then_some(next_due),
                });
            }
        }
    }

    /// A few conversations with the named contact over the year.
    fn messages(&self, p: &Profile, person: Uuid, user: Uuid, contact: &Staff, owner: u64, chunk: &mut Chunk) {
        let mut rng = self.rng(p.index, purpose::MESSAGES);
        let now = self.settings.now;
        let threads = if p.index < SHOWCASE.len() as u64 {
            2
        } else if rng.chance(0.3) {
            rng.range(1, 3)
        } else {
            0
        };
        let mut m = 0u64;
        for t in 0..threads {
            let condition = *rng.pick(&p.conditions);
            let words = care_words(condition);
            let (subject, question, answer) = *rng.pick(words.messages);
            let thread = id(Table::Thread, owner, t as u64);
            let started = now - Duration::days(rng.range(1, 360)) - Duration::minutes(rng.range(0, 600));
            let turns = rng.range(2, 4);
            let mut at = started;
            let mut last_by_person = true;
            for turn in 0..turns {
                let by_person = turn % 2 == 0;
                m += 1;
                chunk.messages.push(Message {
                    id: id(Table::Message, owner, m),
                    thread,
                    author: Some(if by_person { user } else { contact.id }),
                    author_role: if by_person { "person" } else { "professional" },
                    body: match (turn, by_person) {
                        (0, _) => question.into(),
                        (_, false) => answer.into(),
                        (_, true) => (*rng.pick(FOLLOW_UPS)).into(),
                    },
                    created_at: at,
                });
                last_by_person = by_person;
                if turn + 1 < turns {
                    at += Duration::minutes(rng.range(30, 2 * 24 * 60));
                }
            }
            let last = at;
            chunk.threads.push(Thread {
                id: thread,
                person,
                subject: subject.into(),
                assigned: contact.id,
                created_by: user,
                created_at: started,
                updated_at: last,
            });
            let read = |who: Uuid, at: OffsetDateTime| MessageRead {
                thread,
                user: who,
                read_at: at.min(now),
            };
            chunk
                .reads
                .push(read(user, last + Duration::hours(if last_by_person { 0 } else { 5 })));
            // A question asked in the last week may still be waiting for the professional.
            if !(last_by_person && now - last < Duration::days(7)) {
                chunk.reads.push(read(
                    contact.id,
                    last + Duration::hours(if last_by_person { 20 } else { 0 }),
                ));
            }
        }
    }
}

fn iso(d: Date) -> String {
    format!("{:04}-{:02}-{:02}", d.year(), u8::from(d.month()), d.day())
}

fn frequency(score: i64) -> AnswerValue {
    let code = FREQUENCY_ANSWERS
        .iter()
        .find(|(_, s)| *s == score.clamp(0, 3))
        .map_or("LA6568-5", |(c, _)| *c);
    AnswerValue::Code(code.into())
}

/// Answers that give an instrument about `level`: a PHQ-9 or GAD-7 total spread over the items (never on PHQ-9's
/// item 9), ONS4's four answers around a wellbeing of `level` out of 10.
fn spread_answers(instrument: Instrument, level: i64) -> Answers {
    let spread = |prefix: &str, items: i64, total: i64| -> Answers {
        let total = total.clamp(0, items * 3);
        (1..=items)
            .map(|i| {
                (
                    format!("{prefix}-{i}"),
                    frequency(total / items + i64::from(i <= total % items)),
                )
            })
            .collect()
    };
    match instrument {
        Instrument::Phq9 => {
            let mut a = spread("phq9", 8, level);
            a.insert("phq9-9".into(), frequency(0));
            a
        }
        Instrument::Gad7 => spread("gad7", 7, level),
        _ => [
            ("ons4-life-satisfaction", level),
            ("ons4-worthwhile", level + 1),
            ("ons4-happiness", level),
            ("ons4-anxiety", 9 - level),
        ]
        .into_iter()
        .map(|(k, v)| (k.to_owned(), AnswerValue::Integer(v.clamp(0, 10))))
        .collect(),
    }
}

// ---------------------------------------------------------------------------------------------------------------
// Readings

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum Frequency {
    None,
    Weekly,
    Daily,
}

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum Glucose {
    None,
    /// Type 2: fasting, a few mornings a week.
    Mornings,
    /// Type 1 with a meter: before meals.
    BeforeMeals,
    /// Type 1 with a continuous monitor: every five minutes.
    Continuous,
}

/// What a person measures at home.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
struct Monitoring {
    blood_pressure: bool,
    weight: Frequency,
    glucose: Glucose,
    peak_flow: bool,
    oxygen: bool,
    steps: bool,
}

impl Monitoring {
    fn of(p: &Profile, rng: &mut Rng) -> Monitoring {
        let showcase = p.index < SHOWCASE.len() as u64;
        let yes = |rng: &mut Rng, chance: f64| showcase || rng.chance(chance);
        let blood_pressure =
            (p.has(Condition::Hypertension) && yes(rng, 0.5)) || (p.has(Condition::Ckd) && yes(rng, 0.3));
        let weight = if p.has(Condition::HeartFailure) {
            Frequency::Daily
        } else if yes(rng, 0.4) {
            Frequency::Weekly
        } else {
            Frequency::None
        };
        let glucose = if p.has(Condition::Type1Diabetes) {
            if yes(rng, 0.1) {
                Glucose::Continuous
            } else if rng.chance(0.6) {
                Glucose::BeforeMeals
            } else {
                Glucose::None
            }
        } else if p.has(Condition::Type2Diabetes) && yes(rng, 0.3) {
            Glucose::Mornings
        } else {
            Glucose::None
        };
        let chest = p.has(Condition::Asthma) || p.has(Condition::Copd);
        Monitoring {
            blood_pressure,
            weight,
            glucose,
            peak_flow: chest && yes(rng, 0.3),
            oxygen: p.has(Condition::Copd) && yes(rng, 0.2),
            steps: rng.chance(0.1),
        }
    }
}

/// A usual weight in grams (thousandths of a kg), from sex and a draw.
fn usual_weight(seed: u64, p: &Profile) -> i64 {
    let mut rng = Rng::stream(seed, p.index, 0x7765_6967_6874);
    let base = if p.sex == Sex::Female { 70_000 } else { 84_000 };
    let kg = base + rng.range(-15_000, 25_000);
    if p.age < 16 {
        (kg * i64::from(p.age.max(4)) / 16) / 100 * 100
    } else {
        kg / 100 * 100
    }
}

/// Peak flow personal best in thousandths of L/min.
fn personal_best(p: &Profile) -> i64 {
    let base: i64 = if p.sex == Sex::Female { 450 } else { 580 };
    let age_loss = i64::from(p.age.saturating_sub(30)) * 3;
    let child = if p.age < 16 { (16 - i64::from(p.age)) * 20 } else { 0 };
    (base - age_loss - child).clamp(150, 700) * 1000
}

/// One rule being watched over a series, as `readings::add` would check it reading by reading.
struct Watch<'r> {
    rule: &'r AlertRule,
    component: usize,
    breaches: VecDeque<(OffsetDateTime, Uuid)>,
    /// The alert still open (its index in the chunk) and when it will be acknowledged (none: never, it is open).
    open: Option<(usize, Option<OffsetDateTime>)>,
}

struct Readings<'a> {
    chunk: &'a mut Chunk,
    person: Uuid,
    user: Uuid,
    contact: Uuid,
    owner: u64,
    now: OffsetDateTime,
    n: u64,
    alerts: u64,
    alert_events: u64,
    rng: Rng,
}

impl Readings<'_> {
    fn all(&mut self, p: &Profile, m: Monitoring, seed: u64, rules: &[AlertRule]) {
        let start = self.now.date() - Duration::days(365);
        if m.blood_pressure {
            let sys = 122_000 + self.rng.range(0, 26) * 1000;
            let adherence = self.rng.uniform(0.6, 0.97);
            let mut series = Vec::new();
            for d in 0..365 {
                if self.rng.chance(adherence) {
                    let s = sys + (self.rng.normal() * 9_000.0) as i64;
                    let dia = s * 58 / 100 + (self.rng.normal() * 5_000.0) as i64;
                    let pulse = 72_000 + (self.rng.normal() * 7_000.0) as i64;
                    series.push((
                        day_at(start, d, 7, &mut self.rng),
                        [round(s, 0), round(dia, 0), round(pulse, 0)],
                    ));
                }
            }
            self.series(Measure::BloodPressure, "person", None, &series, rules);
        }
        if m.weight != Frequency::None {
            let usual = usual_weight(seed, p);
            let (every, adherence) = if m.weight == Frequency::Daily {
                (1, 0.85)
            } else {
                (7, 0.9)
            };
            let mut drift = 0.0;
            let mut series = Vec::new();
            let mut d = self.rng.range(0, every - 1);
            while d < 365 {
                drift = drift * 0.97 + self.rng.normal() * 250.0;
                if self.rng.chance(adherence) {
                    let v = usual + drift as i64 + (self.rng.normal() * 400.0) as i64;
                    series.push((day_at(start, d, 7, &mut self.rng), [round(v, 1), None, None]));
                }
                d += every;
            }
            self.series(Measure::Weight, "person", None, &series, rules);
        }
        match m.glucose {
            Glucose::None => {}
            Glucose::Mornings => {
                let usual = 6_000 + self.rng.range(0, 25) * 100;
                let mut series = Vec::new();
                for d in 0..365 {
                    if self.rng.chance(0.5) {
                        let v = usual + (self.rng.normal() * 1_100.0) as i64;
                        series.push((
                            day_at(start, d, 7, &mut self.rng),
                            [round(v.clamp(2_500, 25_000), 1), None, None],
                        ));
                    }
                }
                self.series(Measure::BloodGlucose, "person", None, &series, rules);
            }
            Glucose::BeforeMeals => {
                let mut series = Vec::new();
                for d in 0..365 {
                    for hour in [7, 12, 18, 22] {
                        if self.rng.chance(0.85) {
                            let v = 7_500 + (self.rng.normal() * 2_500.0) as i64;
                            series.push((
                                day_at(start, d, hour, &mut self.rng),
                                [round(v.clamp(2_200, 25_000), 1), None, None],
                            ));
                        }
                    }
                }
                self.series(Measure::BloodGlucose, "person", None, &series, rules);
            }
            Glucose::Continuous => {
                let series = self.continuous_glucose(start);
                self.series(
                    Measure::BloodGlucose,
                    "device",
                    Some("Continuous glucose monitor"),
                    &series,
                    rules,
                );
            }
        }
        if p.has(Condition::Type1Diabetes) || p.has(Condition::Type2Diabetes) {
            let usual = 50_000 + self.rng.range(0, 20) * 1000;
            let series: Vec<_> = [300, 120]
                .into_iter()
                .map(|ago| {
                    let v = usual + self.rng.range(-4, 4) * 1000;
                    (day_at(start, 365 - ago, 10, &mut self.rng), [Some(v), None, None])
                })
                .collect();
            let contact = self.contact;
            self.series_by(Measure::Hba1c, "professional", None, Some(contact), &series, rules);
        }
        if m.peak_flow {
            let best = personal_best(p);
            let adherence = self.rng.uniform(0.5, 0.9);
            let mut series = Vec::new();
            for d in 0..365 {
                if self.rng.chance(adherence) {
                    let dip = if self.rng.chance(0.03) {
                        self.rng.uniform(0.3, 0.45)
                    } else {
                        0.0
                    };
                    let share = (0.9 + self.rng.normal() * 0.05 - dip).clamp(0.3, 1.05);
                    let v = (best as f64 * share) as i64;
                    series.push((
                        day_at(start, d, 8, &mut self.rng),
                        [round(v.clamp(50_000, 1_000_000), 0), None, None],
                    ));
                }
            }
            self.series(Measure::PeakFlow, "person", None, &series, rules);
        }
        if m.oxygen {
            let usual = 94_000 + self.rng.range(0, 2) * 1000;
            let mut series = Vec::new();
            for d in 0..365 {
                if self.rng.chance(0.6) {
                    let v = usual + (self.rng.normal() * 1_000.0) as i64;
                    series.push((
                        day_at(start, d, 9, &mut self.rng),
                        [round(v.clamp(85_000, 100_000), 0), None, None],
                    ));
                }
            }
            self.series(
                Measure::OxygenSaturation,
                "device",
                Some("Pulse oximeter"),
                &series,
                rules,
            );
        }
        if m.steps {
            let usual = 2_000 + self.rng.range(0, 8_000);
            let series: Vec<_> = (0..365)
                .map(|d| {
                    let v = (usual + (self.rng.normal() * 1_500.0) as i64).max(0) * 1000;
                    (day_at(start, d, 21, &mut self.rng), [Some(v), None, None])
                })
                .collect();
            self.series(Measure::Steps, "device", Some("Phone"), &series, rules);
        }
    }

    /// A year of readings every five minutes: a daily rhythm with meals, a drifting offset, noise and about one
    /// low a week.
    fn continuous_glucose(&mut self, start: Date) -> Vec<(OffsetDateTime, [Option<i64>; 3])> {
        let per_day = 288;
        let offset = self.rng.uniform(-0.5, 1.5);
        let meals = [(8 * 60 + 15, 3.5), (12 * 60 + 45, 2.5), (18 * 60 + 30, 3.5)];
        let mut out = Vec::with_capacity(365 * per_day);
        let midnight = start.midnight().assume_utc();
        let mut drift = 0.0;
        let mut low_left = 0;
        let mut low_depth = 0.0;
        for d in 0..365 {
            let meal_shift: Vec<f64> = meals.iter().map(|_| self.rng.uniform(-40.0, 40.0)).collect();
            let low_at = if self.rng.chance(0.15) {
                Some(self.rng.range(0, per_day as i64 - 1))
            } else {
                None
            };
            for slot in 0..per_day {
                let minute = (slot * 5) as f64;
                let mut v = 6.3 + offset;
                // Dawn rise.
                if (240.0..480.0).contains(&minute) {
                    v += (minute - 240.0) / 240.0;
                } else if (480.0..600.0).contains(&minute) {
                    v += 1.0 - (minute - 480.0) / 120.0;
                }
                for ((at, rise), shift) in meals.iter().zip(&meal_shift) {
                    let since = minute - (f64::from(*at) + shift);
                    if (0.0..60.0).contains(&since) {
                        v += rise * since / 60.0;
                    } else if (60.0..180.0).contains(&since) {
                        v += rise * (1.0 - (since - 60.0) / 120.0);
                    }
                }
                drift = drift * 0.98 + self.rng.normal() * 0.08;
                v += drift + self.rng.normal() * 0.15;
                if low_at == Some(slot as i64) {
                    low_left = self.rng.range(6, 12);
                    low_depth = self.rng.uniform(2.6, 3.6);
                }
                if low_left > 0 {
                    v = low_depth + self.rng.uniform(0.0, 0.3);
                    low_left -= 1;
                }
                let at = midnight + Duration::days(d) + Duration::minutes(slot as i64 * 5);
                let milli = ((v.clamp(2.2, 25.0) * 10.0) as i64) * 100;
                out.push((at, [Some(milli), None, None]));
            }
        }
        out
    }

    fn series(
        &mut self,
        measure: Measure,
        source: &'static str,
        device: Option<&'static str>,
        series: &[(OffsetDateTime, [Option<i64>; 3])],
        rules: &[AlertRule],
    ) {
        let entered = (source != "device").then_some(self.user);
        self.series_by(measure, source, device, entered, series, rules);
    }

    /// Stores a series (in time order) and raises the alerts the agreed rules would have raised as each reading
    /// arrived: acknowledged by the named contact within hours, except a few from the last days, still open with
    /// the care team.
    fn series_by(
        &mut self,
        measure: Measure,
        source: &'static str,
        device: Option<&'static str>,
        entered_by: Option<Uuid>,
        series: &[(OffsetDateTime, [Option<i64>; 3])],
        rules: &[AlertRule],
    ) {
        let mut watches: Vec<Watch<'_>> = rules
            .iter()
            .filter(|r| r.measure == measure)
            .filter_map(|rule| {
                let component = measure.components().iter().position(|c| c.key == rule.component)?;
                Some(Watch {
                    rule,
                    component,
                    breaches: VecDeque::new(),
                    open: None,
                })
            })
            .collect();
        for (at, values) in series {
            if *at >= self.now {
                continue;
            }
            self.n += 1;
            let reading = id(Table::Reading, self.owner, self.n);
            self.chunk.readings.push(Reading {
                id: reading,
                person: self.person,
                measure: measure.code(),
                taken_at: *at,
                values: *values,
                source,
                device,
                entered_by,
                recorded_at: *at + Duration::minutes(2),
            });
            for w in &mut watches {
                let Some(v) = values.get(w.component).copied().flatten() else {
                    continue;
                };
                if !w.rule.breached_by(Milli(v)) {
                    continue;
                }
                let window = w.rule.window();
                w.breaches.push_back((*at, reading));
                while w.breaches.front().is_some_and(|(t, _)| *at - *t > window) {
                    w.breaches.pop_front();
                }
                if w.breaches.len() < w.rule.times.max(1) as usize {
                    continue;
                }
                // An alert not yet acknowledged takes the reading.
                if let Some((index, ack)) = w.open
                    && ack.is_none_or(|ack| ack > *at)
                    && let Some(alert) = self.chunk.alerts.get(index)
                {
                    let alert = alert.id;
                    self.chunk.alert_readings.push((alert, reading));
                    self.alert_events += 1;
                    self.chunk.alert_events.push(AlertEvent {
                        id: id(Table::AlertEvent, self.owner, self.alert_events),
                        alert,
                        at: *at,
                        what: "reading-added",
                        level: None,
                        user: entered_by,
                    });
                    continue;
                }
                self.alerts += 1;
                let alert = id(Table::Alert, self.owner, self.alerts);
                let hours = i64::from(w.rule.escalate_after_hours.max(1));
                let recent = self.now - *at < Duration::days(3);
                let ack_at = *at + Duration::minutes(self.rng.range(30, hours * 60));
                let stays_open = recent && (ack_at >= self.now || self.rng.chance(0.5));
                let linked: Vec<Uuid> = if w.rule.times <= 1 {
                    vec![reading]
                } else {
                    w.breaches.iter().map(|(_, r)| *r).collect()
                };
                for r in &linked {
                    self.chunk.alert_readings.push((alert, *r));
                }
                let mut event = |at: OffsetDateTime, what: &'static str, level: Option<&'static str>, user| {
                    self.alert_events += 1;
                    self.chunk.alert_events.push(AlertEvent {
                        id: id(Table::AlertEvent, self.owner, self.alert_events),
                        alert,
                        at,
                        what,
                        level,
                        user,
                    });
                };
                event(*at, "raised", Some("named-contact"), entered_by);
                let (level, status, ack) = if stays_open {
                    // Nobody acknowledged it in time, so it went on to the team: nothing is left to escalate.
                    event(
                        (*at + Duration::hours(hours)).min(self.now),
                        "escalated",
                        Some("team"),
                        None,
                    );
                    ("team", "open", None)
                } else {
                    let ack = ack_at.min(self.now);
                    event(ack, "acknowledged", None, Some(self.contact));
                    ("named-contact", "acknowledged", Some(ack))
                };
                w.open = Some((self.chunk.alerts.len(), if stays_open { None } else { ack }));
                self.chunk.alerts.push(Alert {
                    id: alert,
                    person: self.person,
                    rule: Some(w.rule.id),
                    plan_version: Some(1),
                    instrument: None,
                    measure: Some(measure.code()),
                    urgent: w.rule.urgent,
                    level,
                    status,
                    advice: w.rule.advice.clone(),
                    raised_at: *at,
                    escalate_at: None,
                    escalate_after_hours: hours,
                    acknowledged_by: ack.map(|_| self.contact),
                    acknowledged_at: ack,
                    response: None,
                });
            }
        }
    }
}

/// A moment on day `d` after `start`, about `hour` o'clock.
fn day_at(start: Date, d: i64, hour: i64, rng: &mut Rng) -> OffsetDateTime {
    start.midnight().assume_utc() + Duration::days(d) + Duration::minutes(hour * 60 + rng.range(-45, 45))
}

/// Rounded to the component's decimals (0 or 1 here).
fn round(v: i64, decimals: u8) -> Option<i64> {
    let step = if decimals == 0 { 1000 } else { 100 };
    Some((v + step / 2).div_euclid(step) * step)
}

// ---------------------------------------------------------------------------------------------------------------
// Words

/// Names people often go by instead.
const NICKNAMES: &[(&str, &str)] = &[
    ("Margaret", "Peggy"),
    ("Robert", "Bob"),
    ("Michael", "Mike"),
    ("Patricia", "Pat"),
    ("Samuel", "Sam"),
    ("Daniel", "Dan"),
    ("Thomas", "Tom"),
    ("Rebecca", "Becky"),
    ("Kenneth", "Ken"),
    ("Joseph", "Joe"),
    ("Susan", "Sue"),
    ("Andrew", "Andy"),
    ("Stephen", "Steve"),
    ("James", "Jim"),
    ("Muhammad", "Mo"),
    ("Agnieszka", "Aga"),
];

const COMMUNICATION_NEEDS: &[&str] = &[
    "Hard of hearing: please write, or text.",
    "Prefers phone calls to letters.",
    "Large print, please.",
    "Needs an interpreter (Urdu).",
    "Needs an interpreter (Polish).",
];

const ABOUT_ME: &[&str] = &[
    "I live on my own and like to manage things myself.",
    "I live with my partner and our two children.",
    "I look after my grandchildren after school.",
    "I work full time and find it hard to get to appointments in the day.",
    "I retired last year and help out at the community garden.",
    "I care for my husband, who has dementia.",
    "I live with my daughter, who helps me with shopping.",
    "I drive a taxi, mostly at night.",
];

const WHAT_MATTERS: &[&str] = &[
    "Staying in my own home.",
    "Keeping up with my grandchildren.",
    "Getting back to work.",
    "Being able to go on holiday with my family.",
    "Not having to go into hospital again.",
    "Walking my dog every day.",
    "Singing in the choir again.",
    "Feeling less tired.",
];

const SUPPORTERS: &[(&str, bool)] = &[
    ("Wife", false),
    ("Husband", false),
    ("Daughter", false),
    ("Son", false),
    ("Neighbour", false),
    ("Eastbrook Walking Group", true),
    ("Breathe Easy support group", true),
    ("Citizens Advice Eastbrook", true),
];

const FOLLOW_UPS: &[&str] = &[
    "Thank you, that helps.",
    "Thanks. I will do that and let you know how it goes.",
    "That makes sense, thank you.",
    "Thank you. Could we talk about it at my review too?",
];

struct CareWords {
    goals: &'static [(&'static str, &'static str)],
    action: (&'static str, ActionOwner),
    targets: &'static str,
    medicines: &'static str,
    signs: &'static str,
    /// (subject, the person's question, the reply).
    messages: &'static [(&'static str, &'static str, &'static str)],
}

fn care_words(c: Condition) -> CareWords {
    match c {
        Condition::Hypertension => CareWords {
            goals: &[
                (
                    "Get my blood pressure down without more tablets",
                    "Less salt, and walk to the shops",
                ),
                ("Walk for 30 minutes most days", "Start with 10 minutes after lunch"),
            ],
            action: (
                "Check my blood pressure at home and send the readings",
                ActionOwner::Person,
            ),
            targets: "Home blood pressure below 135/85.",
            medicines: "Ramipril in the morning.",
            signs: "Blood pressure above 180/110, or a severe headache.",
            messages: &[
                (
                    "Home blood pressure machine",
                    "I have bought a blood pressure machine for home. Which arm should I use?",
                    "Use the arm that gave the higher reading at the practice, and sit for five minutes first.",
                ),
                (
                    "Dizzy in the mornings",
                    "I have felt a bit dizzy when I get up since the new tablets. Is that normal?",
                    "It can be at first. Get up slowly; if it goes on for more than a week, let me know.",
                ),
            ],
        },
        Condition::Type1Diabetes => CareWords {
            goals: &[
                ("Fewer lows at night", "A snack before bed when I have exercised"),
                ("Carb counting with confidence", "Go on the DAFNE course"),
            ],
            action: (
                "Look at my sugar downloads together every month",
                ActionOwner::Professional,
            ),
            targets: "Sugar between 4 and 10 most of the time; HbA1c below 53 mmol/mol.",
            medicines: "Basal insulin at night, quick-acting insulin with meals.",
            signs: "Sugar below 4 that does not come up, or ketones.",
            messages: &[(
                "Lows after football",
                "I keep going low the night after I play football. What should I change?",
                "Try reducing your evening basal a little on those days and have a snack before bed. Let's review in two weeks.",
            )],
        },
        Condition::Type2Diabetes => CareWords {
            goals: &[
                (
                    "Bring my sugar down without more tablets",
                    "Less rice in the evening, and go to the DESMOND course",
                ),
                ("Lose a stone by the summer", "Swap fizzy drinks for water"),
            ],
            action: ("Book a place on the DESMOND diabetes course", ActionOwner::Professional),
            targets: "HbA1c below 53 mmol/mol.",
            medicines: "Metformin twice a day with food.",
            signs: "Very thirsty and passing a lot of water.",
            messages: &[(
                "Blood test results",
                "Have my blood test results come back yet?",
                "Yes: your HbA1c has come down to 54. Well done; keep going with the changes you have made.",
            )],
        },
        Condition::Asthma => CareWords {
            goals: &[
                (
                    "Play football without getting wheezy",
                    "Use my preventer every day, even when I feel well",
                ),
                ("No more nights woken by coughing", "Keep the bedroom free of dust"),
            ],
            action: (
                "Check my inhaler technique at the next review",
                ActionOwner::Professional,
            ),
            targets: "Peak flow above 80% of my best.",
            medicines: "Preventer inhaler twice a day; reliever when I need it.",
            signs: "Needing my reliever more than three times a week.",
            messages: &[(
                "Inhaler running out",
                "My preventer inhaler is nearly empty. Can I get a new one before the weekend?",
                "I have sent the prescription to your pharmacy; it will be ready tomorrow.",
            )],
        },
        Condition::Copd => CareWords {
            goals: &[
                (
                    "Get to the end of the road without stopping",
                    "Go to pulmonary rehab on Tuesdays",
                ),
                (
                    "Stay out of hospital this winter",
                    "Have my flu jab, and start my rescue pack early",
                ),
            ],
            action: ("Refer to pulmonary rehabilitation", ActionOwner::Professional),
            targets: "Oxygen 92% or above.",
            medicines: "Two inhalers every morning; rescue pack in the cupboard.",
            signs: "More breathless than usual, or phlegm changing colour.",
            messages: &[(
                "Rescue pack",
                "My phlegm has changed colour. Should I start my rescue pack?",
                "Yes, start it today and I will ring you tomorrow morning to see how you are.",
            )],
        },
        Condition::HeartFailure => CareWords {
            goals: &[
                (
                    "Get to church on Sunday without getting out of breath",
                    "Rest on the bench halfway",
                ),
                ("Weigh myself every morning", "The scales are by the bed"),
            ],
            action: ("Review water tablets after the blood test", ActionOwner::Professional),
            targets: "Weight within 2 kg of my usual weight.",
            medicines: "Water tablet in the morning, and bisoprolol.",
            signs: "Weight up by 2 kg in 3 days, swollen ankles, or breathless lying down.",
            messages: &[(
                "Weight this week",
                "My weight has gone up by 1 kg since Monday. My ankles look the same. Is that all right?",
                "1 kg is fine; keep weighing each morning and let me know if it goes up by 2 kg.",
            )],
        },
        Condition::Depression => CareWords {
            goals: &[
                (
                    "Get out of the house every day",
                    "A short walk to the park in the morning",
                ),
                ("Sleep better", "Same bedtime every night, no phone in bed"),
            ],
            action: ("Refer to NHS Talking Therapies", ActionOwner::Professional),
            targets: "",
            medicines: "Sertraline in the morning.",
            signs: "Feeling hopeless, or thoughts of harming myself.",
            messages: &[(
                "Talking therapy",
                "I have not heard from the talking therapy service yet. Could you check?",
                "I have chased them; they will ring you this week to book your first session.",
            )],
        },
        Condition::Anxiety => CareWords {
            goals: &[
                ("Take the bus into town on my own", "Start with one stop with my sister"),
                ("Feel calmer at work", "Breathing exercises at lunchtime"),
            ],
            action: ("Try the breathing exercises every day", ActionOwner::Person),
            targets: "",
            medicines: "None at the moment.",
            signs: "Panic attacks most days.",
            messages: &[(
                "Panic attacks",
                "I had two panic attacks this week. Should I come in?",
                "Thank you for telling me. Let's talk on the phone tomorrow; I will ring you at ten.",
            )],
        },
        Condition::Ckd => CareWords {
            goals: &[
                (
                    "Keep my kidneys working as they are",
                    "Keep my blood pressure down and avoid ibuprofen",
                ),
                ("Drink enough water", "A glass with every meal"),
            ],
            action: ("Kidney blood test every six months", ActionOwner::Professional),
            targets: "Blood pressure below 140/90.",
            medicines: "No ibuprofen; paracetamol is fine.",
            signs: "Passing much less water, or swollen legs.",
            messages: &[(
                "Kidney blood test",
                "Is my kidney blood test due?",
                "Yes, it is due this month. Please book it at reception.",
            )],
        },
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::seed::england::{MAX_AGE, PREVALENCE};
    use carepact_domain::NhsNumber;
    use time::macros::datetime;

    fn settings(seed: u64) -> Settings {
        Settings {
            seed,
            now: datetime!(2026-11-01 00:00 UTC),
            password_hash: Some("hash".into()),
            questionnaires: Questionnaires {
                phq9: Uuid::from_u128(1),
                gad7: Uuid::from_u128(2),
                ons4: Uuid::from_u128(3),
            },
        }
    }

    /// A population of `n` people from `seed`, in one chunk (with the organisations).
    fn population(seed: u64, from: u64, n: u64) -> Chunk {
        let g = Generator::new(settings(seed));
        let community = g.community();
        let mut chunk = Chunk::default();
        g.organisation_rows(&community, &mut chunk);
        let practice = g.practice(from / PRACTICE_SIZE);
        g.organisation_rows(std::slice::from_ref(&practice), &mut chunk);
        for i in from..from + n {
            g.person(i, &practice, &community, &mut chunk);
        }
        chunk
    }

    fn digest(c: &Chunk) -> String {
        format!(
            "{:?}{:?}{:?}{:?}{:?}{:?}{:?}{:?}{:?}{:?}{:?}{:?}{:?}",
            c.users,
            c.people,
            c.consents,
            c.team,
            c.items.iter().map(|i| (&i.id, &i.item.json)).collect::<Vec<_>>(),
            c.plans,
            c.readings,
            c.responses,
            c.assignments,
            c.messages,
            c.alerts,
            c.alert_events,
            c.audit
        )
    }

    #[test]
    fn the_same_seed_gives_the_same_population_and_another_seed_a_different_one() {
        let a = population(1, 0, 300);
        let b = population(1, 0, 300);
        assert_eq!(digest(&a), digest(&b));
        let c = population(2, 0, 300);
        assert_ne!(digest(&a), digest(&c));
        // A person is the same whether made alone or among others.
        let alone = population(1, 250, 1);
        assert_eq!(
            a.people.iter().find(|p| p.nhs_number == alone.people[0].nhs_number),
            Some(&alone.people[0])
        );
    }

    #[test]
    fn nhs_numbers_are_valid_unique_in_the_test_range_and_invertible() {
        let mut seen = std::collections::HashSet::new();
        for i in (0..200_000).chain(MAX_PEOPLE - 1_000..MAX_PEOPLE) {
            let n = nhs_number(i).unwrap();
            assert!(NhsNumber::parse(&n).is_ok(), "{n}");
            assert!(n.as_str() >= NHS_LOW && n.as_str() <= NHS_HIGH);
            assert_eq!(index_of_nhs_number(&n), Some(i));
            assert!(seen.insert(n));
        }
        assert_eq!(nhs_number(MAX_PEOPLE), None);
        assert_eq!(index_of_nhs_number("9990000026"), None);
    }

    #[test]
    fn ages_and_dates_of_birth_are_in_range() {
        let g = Generator::new(settings(3));
        let now = g.now().date();
        for i in 0..5_000 {
            let p = g.profile(i);
            assert!(usize::from(p.age) <= MAX_AGE);
            let years = (now - p.date_of_birth).whole_days() / 365;
            assert!((years - i64::from(p.age)).abs() <= 1, "{p:?}");
            assert!(p.date_of_birth < now);
        }
    }

    #[test]
    fn prevalence_matches_englands_registers_and_multimorbidity_rises_with_age() {
        let g = Generator::new(settings(11));
        let n = 20_000;
        let people: Vec<Profile> = (0..n).map(|i| g.profile(i)).collect();
        for p in &PREVALENCE {
            let eligible: Vec<&Profile> = people.iter().filter(|x| x.age >= p.from_age).collect();
            let has = eligible.iter().filter(|x| x.has(p.condition)).count() as f64;
            let share = has / eligible.len() as f64;
            let se = (p.target * (1.0 - p.target) / eligible.len() as f64).sqrt();
            let tolerance = 4.0 * se + 0.03 * p.target;
            assert!(
                (share - p.target).abs() <= tolerance,
                "{:?}: {share:.4} vs {:.4}",
                p.condition,
                p.target
            );
        }
        // Diabetes as QOF counts it (17+), and the type 1 share of it.
        let adults: Vec<&Profile> = people.iter().filter(|x| x.age >= 17).collect();
        let t1 = adults.iter().filter(|x| x.has(Condition::Type1Diabetes)).count() as f64;
        let t2 = adults.iter().filter(|x| x.has(Condition::Type2Diabetes)).count() as f64;
        let diabetes = (t1 + t2) / adults.len() as f64;
        assert!((diabetes - 0.077).abs() < 0.006, "diabetes {diabetes}");
        assert!((t1 / (t1 + t2) - 0.08).abs() < 0.03, "type 1 share {}", t1 / (t1 + t2));
        let mean = |lo: u8, hi: u8| {
            let band: Vec<&Profile> = people.iter().filter(|x| (lo..=hi).contains(&x.age)).collect();
            band.iter().map(|x| x.conditions.len()).sum::<usize>() as f64 / band.len() as f64
        };
        let (young, middle, old) = (mean(18, 39), mean(40, 64), mean(75, 99));
        assert!(young < middle && middle < old, "{young} {middle} {old}");
        let two_or_more_old = people
            .iter()
            .filter(|x| x.age >= 75)
            .filter(|x| x.conditions.len() >= 2)
            .count() as f64
            / people.iter().filter(|x| x.age >= 75).count() as f64;
        assert!(two_or_more_old > 0.3, "{two_or_more_old}");
    }

    #[test]
    fn people_get_what_their_conditions_call_for() {
        let c = population(1, 0, 400);
        assert_eq!(c.people.len(), 400);
        assert_eq!(c.audit.len(), 400);
        assert!(c.audit.iter().all(|e| e.entity == "seed" && e.actor_role == "operator"));
        // Every person shares with their practice; everyone with a condition has a named contact, a plan and a
        // consent for them.
        let with_ltc = c.people.iter().filter(|p| p.named_contact.is_some()).count();
        assert_eq!(c.plans.len(), with_ltc);
        assert!(c.consents.len() >= 400 + with_ltc);
        assert_eq!(c.team.iter().filter(|t| t.named_contact).count(), with_ltc);
        // Plans are valid documents.
        for plan in &c.plans {
            let doc: PlanDoc = serde_json::from_str(&plan.content).unwrap();
            assert!(doc.check().is_empty(), "{:?}", doc.check());
            assert!(!doc.goals.is_empty());
            for r in &doc.alert_rules {
                assert!(carepact_domain::readings::check_rule(r).is_empty());
            }
        }
        // The showcase people: a continuous glucose monitor gives 288 readings a day.
        let t1 = c.people[3].id;
        let cgm = c
            .readings
            .iter()
            .filter(|r| r.person == t1 && r.source == "device")
            .count();
        assert!(cgm >= 365 * 288 - 288, "{cgm}");
        // Readings are plausible for their measure, unique per person, measure and moment, and all before now.
        let now = settings(1).now;
        let mut keys = std::collections::HashSet::new();
        for r in &c.readings {
            let m = Measure::from_code(r.measure).unwrap();
            for (v, comp) in r.values.iter().zip(m.components()) {
                if let Some(v) = v {
                    assert!(Milli(*v) >= comp.min && Milli(*v) <= comp.max, "{} {v}", r.measure);
                }
            }
            assert!(r.taken_at < now);
            assert!(keys.insert((r.person, r.measure, r.taken_at)));
        }
        // Items are as the importer keeps them; conditions are current problems.
        assert!(
            c.items
                .iter()
                .any(|i| i.item.kind == carepact_fhir::Kind::Condition && i.item.current)
        );
        assert!(
            c.items
                .iter()
                .filter(|i| i.item.title == "Depressive disorder")
                .all(|i| i.item.label == Sensitivity::MentalHealth)
        );
        // Alerts link readings of theirs, and none is left due to escalate.
        let reading_ids: std::collections::HashSet<Uuid> = c.readings.iter().map(|r| r.id).collect();
        assert!(c.alert_readings.iter().all(|(_, r)| reading_ids.contains(r)));
        assert!(c.alerts.iter().all(|a| a.escalate_at.is_none()));
        assert!(!c.alerts.is_empty());
        assert!(!c.responses.is_empty());
        assert!(!c.messages.is_empty());
        // Ids are unique per table.
        let unique = |ids: Vec<Uuid>| {
            let n = ids.len();
            ids.into_iter().collect::<std::collections::HashSet<_>>().len() == n
        };
        assert!(unique(c.readings.iter().map(|r| r.id).collect()));
        assert!(unique(c.alerts.iter().map(|r| r.id).collect()));
        assert!(unique(c.alert_events.iter().map(|r| r.id).collect()));
        assert!(unique(c.users.iter().map(|r| r.id).collect()));
        assert!(unique(c.consents.iter().map(|r| r.id).collect()));
        assert!(unique(c.responses.iter().map(|r| r.id).collect()));
        // Only the first practice's staff, the shared organisations' and the first few people can sign in.
        let can = c.users.iter().filter(|u| u.password_hash.is_some()).count();
        assert_eq!(can, PRACTICE_STAFF.len() + 5 + SIGN_IN_PEOPLE as usize);
    }

    #[test]
    fn practice_names_are_unique() {
        let names: std::collections::HashSet<String> = (0..1_000).map(practice_name).collect();
        assert_eq!(names.len(), 1_000);
    }
}
