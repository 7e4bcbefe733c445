//! Consent: who may see or change which parts of a person's data, decided by the person.
//!
//! This module holds the rule and nothing else. [`decide`] takes who is asking, what they ask for, and the
//! person's consents and emergency accesses, and answers permit (with the basis) or deny (with the reason). It is
//! called by exactly one place in the server — the access choke point — which also writes the audit event.

use time::OffsetDateTime;
use uuid::Uuid;

use crate::identity::{OrganisationId, Role, UserId};

/// The parts of a person's data that consent is given for.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, PartialOrd, Ord)]
pub enum Section {
    Record,
    CarePlan,
    Readings,
    Questionnaires,
    Messages,
    Budget,
}

impl Section {
    pub const ALL: [Self; 6] = [
        Self::Record,
        Self::CarePlan,
        Self::Readings,
        Self::Questionnaires,
        Self::Messages,
        Self::Budget,
    ];

    pub fn code(self) -> &'static str {
        match self {
            Self::Record => "record",
            Self::CarePlan => "care_plan",
            Self::Readings => "readings",
            Self::Questionnaires => "questionnaires",
            Self::Messages => "messages",
            Self::Budget => "budget",
        }
    }

    pub fn from_code(code: &str) -> Option<Self> {
        Self::ALL.into_iter().find(|s| s.code() == code)
    }

    fn bit(self) -> u8 {
        1 << (self as u8)
    }
}

/// How sensitive an item is. Consent for general items does not extend to the others.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, PartialOrd, Ord)]
pub enum Sensitivity {
    General,
    MentalHealth,
    SexualHealth,
    SocialCare,
}

impl Sensitivity {
    pub const ALL: [Self; 4] = [Self::General, Self::MentalHealth, Self::SexualHealth, Self::SocialCare];

    pub fn code(self) -> &'static str {
        match self {
            Self::General => "general",
            Self::MentalHealth => "mental_health",
            Self::SexualHealth => "sexual_health",
            Self::SocialCare => "social_care",
        }
    }

    pub fn from_code(code: &str) -> Option<Self> {
        Self::ALL.into_iter().find(|s| s.code() == code)
    }

    fn bit(self) -> u8 {
        1 << (self as u8)
    }
}

/// A set of one of the enums above, stored as bits (as it is in the database).
macro_rules! bit_set {
    ($(#[$doc:meta])* $name:ident of $item:ident) => {
        $(#[$doc])*
        #[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Default)]
        pub struct $name(u8);

        impl $name {
            pub fn of(items: &[$item]) -> Self {
                Self(items.iter().fold(0, |acc, i| acc | i.bit()))
            }
            pub fn all() -> Self {
                Self::of(&$item::ALL)
            }
            pub fn contains(self, i: $item) -> bool {
                self.0 & i.bit() != 0
            }
            pub fn is_empty(self) -> bool {
                self.0 == 0
            }
            pub fn bits(self) -> i32 {
                i32::from(self.0)
            }
            /// Only bits that name a member are kept.
            pub fn from_bits(bits: i32) -> Self {
                Self(u8::try_from(bits & i32::from(Self::all().0)).unwrap_or(0))
            }
            pub fn iter(self) -> impl Iterator<Item = $item> {
                $item::ALL.into_iter().filter(move |i| self.contains(*i))
            }
        }
    };
}

bit_set!(
    /// A set of sections.
    Sections of Section
);
bit_set!(
    /// A set of sensitivity labels.
    Labels of Sensitivity
);

#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, PartialOrd, Ord)]
pub enum Action {
    Read,
    Write,
}

impl Action {
    pub fn code(self) -> &'static str {
        match self {
            Self::Read => "read",
            Self::Write => "write",
        }
    }
}

/// Who a consent is given to.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum Grantee {
    /// A named professional.
    Professional(UserId),
    /// Every clinical member of staff (professionals and link workers) of an organisation.
    Organisation(OrganisationId),
    /// A carer acting for the person (a proxy).
    Carer(UserId),
}

/// One consent, as the person gave it.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Consent {
    pub id: Uuid,
    pub grantee: Grantee,
    pub sections: Sections,
    pub labels: Labels,
    /// Read and write, or read only.
    pub write: bool,
    pub starts: OffsetDateTime,
    pub ends: Option<OffsetDateTime>,
    pub revoked: Option<OffsetDateTime>,
}

impl Consent {
    pub fn is_active(&self, now: OffsetDateTime) -> bool {
        self.starts <= now && self.ends.is_none_or(|end| now < end) && self.revoked.is_none_or(|r| now < r)
    }
}

/// Emergency access opened by a clinician without consent ("break-glass").
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct BreakGlass {
    pub id: Uuid,
    pub user: UserId,
    pub starts: OffsetDateTime,
    pub ends: OffsetDateTime,
}

/// The longest a break-glass access may last.
pub const BREAK_GLASS_LIMIT: time::Duration = time::Duration::hours(24);

/// Who is asking.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Actor {
    pub user: UserId,
    pub roles: Vec<Role>,
    pub organisation: Option<OrganisationId>,
}

impl Actor {
    fn has(&self, role: Role) -> bool {
        self.roles.contains(&role)
    }

    /// Clinical staff act under professional consents and organisation consents.
    pub fn is_clinical(&self) -> bool {
        self.has(Role::Professional) || self.has(Role::LinkWorker)
    }
}

/// What is asked for: one section of one person's data, at one sensitivity, to read or to write.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Request {
    pub section: Section,
    pub label: Sensitivity,
    pub action: Action,
}

/// Why access is allowed.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Basis {
    /// The person's own data.
    Owner,
    Consent(Uuid),
    BreakGlass(Uuid),
    /// The person addressed something to the actor's organisation (a correction request or a query about an
    /// access), which lets its staff read that one thing. Never the result of [`decide`].
    Addressed(Uuid),
    /// Whoever runs CarePact, at its command line (for example importing a record). Never the result of
    /// [`decide`]; there is no user.
    Operator,
}

/// Why access is refused. Never shown to the asker (a refusal looks like "not found"); recorded in the audit.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Refusal {
    NoConsent,
    NotClinical,
}

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Decision {
    Permit(Basis),
    Deny(Refusal),
}

/// Decides whether `actor` may do `request` on the data of the person whose account is `owner` (if they have one),
/// given the person's `consents` and `break_glass` accesses, at `now`.
pub fn decide(
    actor: &Actor,
    owner: Option<UserId>,
    consents: &[Consent],
    break_glass: &[BreakGlass],
    request: Request,
    now: OffsetDateTime,
) -> Decision {
    if owner == Some(actor.user) {
        return Decision::Permit(Basis::Owner);
    }
    let covers = |c: &Consent| {
        c.is_active(now)
            && c.sections.contains(request.section)
            && c.labels.contains(request.label)
            && (request.action == Action::Read || c.write)
    };
    let applies = |c: &Consent| match c.grantee {
        Grantee::Professional(user) => user == actor.user && actor.is_clinical(),
        Grantee::Organisation(org) => actor.organisation == Some(org) && actor.is_clinical(),
        Grantee::Carer(user) => user == actor.user,
    };
    if let Some(c) = consents.iter().find(|c| applies(c) && covers(c)) {
        return Decision::Permit(Basis::Consent(c.id));
    }
    // Break-glass opens the whole record for reading, for the clinician who opened it, for its time.
    if request.action == Action::Read
        && actor.has(Role::Professional)
        && let Some(b) = break_glass
            .iter()
            .find(|b| b.user == actor.user && b.starts <= now && now < b.ends)
    {
        return Decision::Permit(Basis::BreakGlass(b.id));
    }
    if !actor.is_clinical()
        && consents
            .iter()
            .any(|c| matches!(c.grantee, Grantee::Professional(u) if u == actor.user))
    {
        return Decision::Deny(Refusal::NotClinical);
    }
    Decision::Deny(Refusal::NoConsent)
}

#[cfg(test)]
mod tests {
    use super::*;
    use proptest::prelude::*;
    use time::Duration;
    use time::macros::datetime;

    const NOW: OffsetDateTime = datetime!(2026-11-23 10:00 UTC);

    fn gp(org: OrganisationId) -> Actor {
        Actor {
            user: UserId::new(),
            roles: vec![Role::Professional],
            organisation: Some(org),
        }
    }

    fn consent(grantee: Grantee) -> Consent {
        Consent {
            id: Uuid::now_v7(),
            grantee,
            sections: Sections::of(&[Section::Record]),
            labels: Labels::of(&[Sensitivity::General]),
            write: false,
            starts: NOW - Duration::days(1),
            ends: None,
            revoked: None,
        }
    }

    const READ_RECORD: Request = Request {
        section: Section::Record,
        label: Sensitivity::General,
        action: Action::Read,
    };

    #[test]
    fn the_person_always_sees_their_own_data() {
        let me = gp(OrganisationId::new());
        assert_eq!(
            decide(&me, Some(me.user), &[], &[], READ_RECORD, NOW),
            Decision::Permit(Basis::Owner)
        );
    }

    #[test]
    fn consent_is_scoped_by_grantee_section_label_action_and_time() {
        let org = OrganisationId::new();
        let a = gp(org);
        let named = consent(Grantee::Professional(a.user));
        assert_eq!(
            decide(&a, None, std::slice::from_ref(&named), &[], READ_RECORD, NOW),
            Decision::Permit(Basis::Consent(named.id))
        );
        let write = Request {
            action: Action::Write,
            ..READ_RECORD
        };
        assert_eq!(
            decide(&a, None, std::slice::from_ref(&named), &[], write, NOW),
            Decision::Deny(Refusal::NoConsent)
        );
        let mental = Request {
            label: Sensitivity::MentalHealth,
            ..READ_RECORD
        };
        assert_eq!(
            decide(&a, None, std::slice::from_ref(&named), &[], mental, NOW),
            Decision::Deny(Refusal::NoConsent)
        );
        let plan = Request {
            section: Section::CarePlan,
            ..READ_RECORD
        };
        assert_eq!(
            decide(&a, None, std::slice::from_ref(&named), &[], plan, NOW),
            Decision::Deny(Refusal::NoConsent)
        );
        let revoked = Consent {
            revoked: Some(NOW - Duration::seconds(1)),
            ..named.clone()
        };
        assert_eq!(
            decide(&a, None, &[revoked], &[], READ_RECORD, NOW),
            Decision::Deny(Refusal::NoConsent)
        );
        let expired = Consent {
            ends: Some(NOW),
            ..named.clone()
        };
        assert_eq!(
            decide(&a, None, &[expired], &[], READ_RECORD, NOW),
            Decision::Deny(Refusal::NoConsent)
        );
        let future = Consent {
            starts: NOW + Duration::hours(1),
            ..named
        };
        assert_eq!(
            decide(&a, None, &[future], &[], READ_RECORD, NOW),
            Decision::Deny(Refusal::NoConsent)
        );
    }

    #[test]
    fn organisation_consent_covers_its_clinical_staff_only() {
        let org = OrganisationId::new();
        let c = consent(Grantee::Organisation(org));
        let colleague = gp(org);
        assert!(matches!(
            decide(&colleague, None, std::slice::from_ref(&c), &[], READ_RECORD, NOW),
            Decision::Permit(_)
        ));
        let admin = Actor {
            user: UserId::new(),
            roles: vec![Role::OrganisationAdmin],
            organisation: Some(org),
        };
        assert_eq!(
            decide(&admin, None, std::slice::from_ref(&c), &[], READ_RECORD, NOW),
            Decision::Deny(Refusal::NoConsent)
        );
        let elsewhere = gp(OrganisationId::new());
        assert_eq!(
            decide(&elsewhere, None, &[c], &[], READ_RECORD, NOW),
            Decision::Deny(Refusal::NoConsent)
        );
    }

    #[test]
    fn break_glass_reads_for_its_time_and_never_writes() {
        let a = gp(OrganisationId::new());
        let b = BreakGlass {
            id: Uuid::now_v7(),
            user: a.user,
            starts: NOW - Duration::hours(1),
            ends: NOW + Duration::hours(1),
        };
        assert_eq!(
            decide(&a, None, &[], std::slice::from_ref(&b), READ_RECORD, NOW),
            Decision::Permit(Basis::BreakGlass(b.id))
        );
        let mental = Request {
            label: Sensitivity::MentalHealth,
            ..READ_RECORD
        };
        assert!(matches!(
            decide(&a, None, &[], std::slice::from_ref(&b), mental, NOW),
            Decision::Permit(_)
        ));
        let write = Request {
            action: Action::Write,
            ..READ_RECORD
        };
        assert_eq!(
            decide(&a, None, &[], std::slice::from_ref(&b), write, NOW),
            Decision::Deny(Refusal::NoConsent)
        );
        assert_eq!(
            decide(&a, None, &[], &[b], READ_RECORD, NOW + Duration::hours(1)),
            Decision::Deny(Refusal::NoConsent)
        );
    }

    fn section() -> impl Strategy<Value = Section> {
        proptest::sample::select(Section::ALL.to_vec())
    }
    fn label() -> impl Strategy<Value = Sensitivity> {
        proptest::sample::select(Sensitivity::ALL.to_vec())
    }

    proptest! {
        /// Whatever consents exist for other people, a stranger is never permitted.
        #[test]
        fn consents_to_others_never_let_a_stranger_in(
            n in 0usize..5, s in section(), l in label(), write in any::<bool>(), offset in -100i64..100,
        ) {
            let org = OrganisationId::new();
            let stranger = gp(OrganisationId::new());
            let consents: Vec<Consent> = (0..n).map(|i| Consent {
                grantee: match i % 3 { 0 => Grantee::Professional(UserId::new()), 1 => Grantee::Organisation(org), _ => Grantee::Carer(UserId::new()) },
                sections: Sections::all(), labels: Labels::all(), write: true, ..consent(Grantee::Organisation(org))
            }).collect();
            let action = if write { Action::Write } else { Action::Read };
            let at = NOW + Duration::hours(offset);
            let decision = decide(&stranger, Some(UserId::new()), &consents, &[], Request { section: s, label: l, action }, at);
            prop_assert!(matches!(decision, Decision::Deny(_)));
        }

        /// A permit by consent always names a consent that is active and covers the request.
        #[test]
        fn every_permit_has_a_covering_active_consent(
            sections in 0i32..64, labels in 0i32..16, write in any::<bool>(), revoked in any::<bool>(),
            s in section(), l in label(), w in any::<bool>(),
        ) {
            let a = gp(OrganisationId::new());
            let c = Consent {
                sections: Sections::from_bits(sections), labels: Labels::from_bits(labels), write,
                revoked: revoked.then_some(NOW - Duration::minutes(1)), ..consent(Grantee::Professional(a.user))
            };
            let action = if w { Action::Write } else { Action::Read };
            let r = Request { section: s, label: l, action };
            match decide(&a, None, std::slice::from_ref(&c), &[], r, NOW) {
                Decision::Permit(Basis::Consent(id)) => {
                    prop_assert_eq!(id, c.id);
                    prop_assert!(c.is_active(NOW) && c.sections.contains(s) && c.labels.contains(l));
                    prop_assert!(action == Action::Read || c.write);
                }
                Decision::Permit(other) => prop_assert!(false, "unexpected basis {:?}", other),
                Decision::Deny(_) => prop_assert!(!(c.is_active(NOW) && c.sections.contains(s) && c.labels.contains(l) && (action == Action::Read || c.write))),
            }
        }
    }
}
