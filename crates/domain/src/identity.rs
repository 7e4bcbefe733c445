//! Who is who: organisations and their kinds, users and their roles, people and their details.
//!
//! Identities are designed for federation: a user is CarePact's own record, and an external sign-in (NHS login for
//! people, CIS2 for staff) is linked to it by issuer and subject, so adding OpenID Connect later changes nothing here.

use std::fmt;
use time::Date;
use uuid::Uuid;

use crate::nhs_number::NhsNumber;

/// A field-level problem with input: which field, and the catalogue id of the message that explains it.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct FieldError {
    pub field: &'static str,
    pub message_id: &'static str,
}

impl FieldError {
    pub fn new(field: &'static str, message_id: &'static str) -> Self {
        Self { field, message_id }
    }
}

/// The kinds of organisation that take part in a person's care.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum OrganisationKind {
    GpPractice,
    HospitalTrust,
    CommunityService,
    SocialCare,
    Voluntary,
    Commissioner,
}

impl OrganisationKind {
    pub const ALL: [Self; 6] = [
        Self::GpPractice,
        Self::HospitalTrust,
        Self::CommunityService,
        Self::SocialCare,
        Self::Voluntary,
        Self::Commissioner,
    ];

    pub fn code(self) -> &'static str {
        match self {
            Self::GpPractice => "gp_practice",
            Self::HospitalTrust => "hospital_trust",
            Self::CommunityService => "community_service",
            Self::SocialCare => "social_care",
            Self::Voluntary => "voluntary",
            Self::Commissioner => "commissioner",
        }
    }

    pub fn from_code(code: &str) -> Option<Self> {
        Self::ALL.into_iter().find(|k| k.code() == code)
    }

    /// Message id of the kind's name, e.g. "GP practice".
    pub fn message_id(self) -> &'static str {
        match self {
            Self::GpPractice => "org-kind-gp_practice",
            Self::HospitalTrust => "org-kind-hospital_trust",
            Self::CommunityService => "org-kind-community_service",
            Self::SocialCare => "org-kind-social_care",
            Self::Voluntary => "org-kind-voluntary",
            Self::Commissioner => "org-kind-commissioner",
        }
    }
}

/// What a user may do in CarePact. A user can hold several (an organisation admin is often also a professional).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, PartialOrd, Ord)]
pub enum Role {
    Person,
    Carer,
    Professional,
    LinkWorker,
    Commissioner,
    OrganisationAdmin,
    SystemAdmin,
}

impl Role {
    pub const ALL: [Self; 7] = [
        Self::Person,
        Self::Carer,
        Self::Professional,
        Self::LinkWorker,
        Self::Commissioner,
        Self::OrganisationAdmin,
        Self::SystemAdmin,
    ];

    /// Roles an organisation admin may give to staff they invite.
    pub const STAFF: [Self; 4] = [
        Self::Professional,
        Self::LinkWorker,
        Self::Commissioner,
        Self::OrganisationAdmin,
    ];

    pub fn code(self) -> &'static str {
        match self {
            Self::Person => "person",
            Self::Carer => "carer",
            Self::Professional => "professional",
            Self::LinkWorker => "link_worker",
            Self::Commissioner => "commissioner",
            Self::OrganisationAdmin => "organisation_admin",
            Self::SystemAdmin => "system_admin",
        }
    }

    pub fn from_code(code: &str) -> Option<Self> {
        Self::ALL.into_iter().find(|r| r.code() == code)
    }

    pub fn message_id(self) -> &'static str {
        match self {
            Self::Person => "role-person",
            Self::Carer => "role-carer",
            Self::Professional => "role-professional",
            Self::LinkWorker => "role-link_worker",
            Self::Commissioner => "role-commissioner",
            Self::OrganisationAdmin => "role-organisation_admin",
            Self::SystemAdmin => "role-system_admin",
        }
    }

    /// Staff roles require membership of an organisation.
    pub fn is_staff(self) -> bool {
        Self::STAFF.contains(&self)
    }
}

/// An email address, trimmed and lower-cased so that one address is one account.
#[derive(Debug, Clone, PartialEq, Eq, Hash, PartialOrd, Ord)]
pub struct Email(String);

impl Email {
    pub fn parse(input: &str) -> Result<Self, &'static str> {
        let s = input.trim().to_lowercase();
        if s.is_empty() {
            return Err("error-email-empty");
        }
        if s.len() > 254 || s.chars().any(|c| c.is_whitespace() || c.is_control()) {
            return Err("error-email-format");
        }
        let Some((local, domain)) = s.rsplit_once('@') else {
            return Err("error-email-format");
        };
        let domain_ok = domain.contains('.')
            && !domain.starts_with('.')
            && !domain.ends_with('.')
            && domain.split('.').all(|label| !label.is_empty());
        if local.is_empty() || local.contains('@') || !domain_ok {
            return Err("error-email-format");
        }
        Ok(Self(s))
    }

    pub fn as_str(&self) -> &str {
        &self.0
    }
}

impl fmt::Display for Email {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(&self.0)
    }
}

/// A new password that meets the policy: long enough to resist guessing, short enough to hash cheaply.
/// Length beats composition rules (NCSC guidance), so there are no "must contain a symbol" rules.
#[derive(Clone, PartialEq, Eq)]
pub struct Password(String);

pub const PASSWORD_MIN_CHARS: usize = 12;
pub const PASSWORD_MAX_CHARS: usize = 128;

impl Password {
    pub fn parse(input: &str) -> Result<Self, &'static str> {
        let n = input.chars().count();
        if n == 0 {
            Err("error-password-empty")
        } else if n < PASSWORD_MIN_CHARS {
            Err("error-password-short")
        } else if n > PASSWORD_MAX_CHARS {
            Err("error-password-long")
        } else {
            Ok(Self(input.to_owned()))
        }
    }

    pub fn expose(&self) -> &str {
        &self.0
    }
}

impl fmt::Debug for Password {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str("Password(****)")
    }
}

/// Control characters (other than line breaks and tabs) never belong in text people type.
fn has_control_characters(s: &str) -> bool {
    s.chars().any(|c| c.is_control() && c != '\n' && c != '\r' && c != '\t')
}

/// A short piece of required text, such as a name: trimmed, not empty, not absurdly long, no control characters.
pub fn required_text(
    field: &'static str,
    input: &str,
    max: usize,
    empty_id: &'static str,
) -> Result<String, FieldError> {
    match optional_text(field, input, max)? {
        Some(s) => Ok(s),
        None => Err(FieldError::new(field, empty_id)),
    }
}

/// Optional text: blank becomes `None`; too long or containing control characters is an error.
pub fn optional_text(field: &'static str, input: &str, max: usize) -> Result<Option<String>, FieldError> {
    let s = input.trim();
    if s.is_empty() {
        Ok(None)
    } else if s.chars().count() > max {
        Err(FieldError::new(field, "error-text-too-long"))
    } else if has_control_characters(s) {
        Err(FieldError::new(field, "error-text-invalid"))
    } else {
        Ok(Some(s.to_owned()))
    }
}

/// A date of birth from day, month and year fields (the NHS date input pattern).
pub fn parse_date_of_birth(day: &str, month: &str, year: &str, today: Date) -> Result<Date, FieldError> {
    let (d, m, y) = (day.trim(), month.trim(), year.trim());
    if d.is_empty() && m.is_empty() && y.is_empty() {
        return Err(FieldError::new("date_of_birth", "error-dob-empty"));
    }
    let parsed = (d.parse::<u8>(), m.parse::<u8>(), y.parse::<i32>());
    let (Ok(d), Ok(m), Ok(y)) = parsed else {
        return Err(FieldError::new("date_of_birth", "error-dob-invalid"));
    };
    if y.to_string().len() != 4 {
        return Err(FieldError::new("date_of_birth", "error-dob-year"));
    }
    let month = time::Month::try_from(m).map_err(|_| FieldError::new("date_of_birth", "error-dob-invalid"))?;
    let date =
        Date::from_calendar_date(y, month, d).map_err(|_| FieldError::new("date_of_birth", "error-dob-invalid"))?;
    if date > today {
        return Err(FieldError::new("date_of_birth", "error-dob-future"));
    }
    if y < 1890 {
        return Err(FieldError::new("date_of_birth", "error-dob-invalid"));
    }
    Ok(date)
}

/// Everything needed to register a person, already checked.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct NewPerson {
    pub nhs_number: NhsNumber,
    pub given_name: String,
    pub family_name: String,
    pub preferred_name: Option<String>,
    pub date_of_birth: Date,
    pub email: Email,
    pub phone: Option<String>,
    pub communication_needs: Option<String>,
}

/// The raw fields of a "register a person" form, before parsing.
#[derive(Debug, Clone, Default)]
pub struct PersonForm<'a> {
    pub nhs_number: &'a str,
    pub given_name: &'a str,
    pub family_name: &'a str,
    pub preferred_name: &'a str,
    pub dob_day: &'a str,
    pub dob_month: &'a str,
    pub dob_year: &'a str,
    pub email: &'a str,
    pub phone: &'a str,
    pub communication_needs: &'a str,
}

impl PersonForm<'_> {
    /// Parses every field, collecting every problem so a form can show them all at once.
    pub fn parse(&self, today: Date) -> Result<NewPerson, Vec<FieldError>> {
        let mut errors = Vec::new();
        let nhs_number = NhsNumber::parse(self.nhs_number)
            .map_err(|e| errors.push(FieldError::new("nhs_number", e.message_id())))
            .ok();
        let given_name = required_text("given_name", self.given_name, 100, "error-given-name-empty")
            .map_err(|e| errors.push(e))
            .ok();
        let family_name = required_text("family_name", self.family_name, 100, "error-family-name-empty")
            .map_err(|e| errors.push(e))
            .ok();
        let preferred_name = optional_text("preferred_name", self.preferred_name, 100)
            .map_err(|e| errors.push(e))
            .ok();
        let date_of_birth = parse_date_of_birth(self.dob_day, self.dob_month, self.dob_year, today)
            .map_err(|e| errors.push(e))
            .ok();
        let email = Email::parse(self.email)
            .map_err(|id| errors.push(FieldError::new("email", id)))
            .ok();
        let phone = optional_text("phone", self.phone, 30).map_err(|e| errors.push(e)).ok();
        let communication_needs = optional_text("communication_needs", self.communication_needs, 1000)
            .map_err(|e| errors.push(e))
            .ok();
        match (
            nhs_number,
            given_name,
            family_name,
            preferred_name,
            date_of_birth,
            email,
            phone,
            communication_needs,
        ) {
            (
                Some(nhs_number),
                Some(given_name),
                Some(family_name),
                Some(preferred_name),
                Some(date_of_birth),
                Some(email),
                Some(phone),
                Some(communication_needs),
            ) if errors.is_empty() => Ok(NewPerson {
                nhs_number,
                given_name,
                family_name,
                preferred_name,
                date_of_birth,
                email,
                phone,
                communication_needs,
            }),
            _ => Err(errors),
        }
    }
}

/// Identifiers, kept as distinct types so a user id cannot be passed where an organisation id is wanted.
macro_rules! id_type {
    ($name:ident) => {
        #[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, PartialOrd, Ord, serde::Serialize, serde::Deserialize)]
        pub struct $name(pub Uuid);

        impl $name {
            pub fn new() -> Self {
                Self(Uuid::now_v7())
            }
        }

        impl Default for $name {
            fn default() -> Self {
                Self::new()
            }
        }

        impl fmt::Display for $name {
            fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
                self.0.fmt(f)
            }
        }
    };
}

id_type!(UserId);
id_type!(OrganisationId);
id_type!(PersonId);

#[cfg(test)]
mod tests {
    use super::*;
    use time::macros::date;

    #[test]
    fn email_is_normalised_and_checked() {
        assert_eq!(
            Email::parse("  Amina@CarePact.Example ").unwrap().as_str(),
            "amina@carepact.example"
        );
        for bad in [
            "",
            "amina",
            "amina@",
            "@example.org",
            "a@b",
            "a b@example.org",
            "a@example..org",
        ] {
            assert!(Email::parse(bad).is_err(), "{bad:?} should be refused");
        }
    }

    #[test]
    fn password_policy_is_about_length() {
        assert_eq!(Password::parse("short"), Err("error-password-short"));
        assert!(Password::parse("correct horse battery").is_ok());
        assert_eq!(Password::parse(&"x".repeat(129)), Err("error-password-long"));
        assert_eq!(
            format!("{:?}", Password::parse("correct horse battery").unwrap()),
            "Password(****)"
        );
    }

    #[test]
    fn dates_of_birth() {
        let today = date!(2026 - 11 - 23);
        assert_eq!(parse_date_of_birth("7", "3", "1958", today), Ok(date!(1958 - 03 - 07)));
        assert_eq!(
            parse_date_of_birth("", "", "", today).unwrap_err().message_id,
            "error-dob-empty"
        );
        assert_eq!(
            parse_date_of_birth("31", "2", "1958", today).unwrap_err().message_id,
            "error-dob-invalid"
        );
        assert_eq!(
            parse_date_of_birth("1", "1", "58", today).unwrap_err().message_id,
            "error-dob-year"
        );
        assert_eq!(
            parse_date_of_birth("1", "1", "2030", today).unwrap_err().message_id,
            "error-dob-future"
        );
    }

    #[test]
    fn person_form_reports_every_problem() {
        let form = PersonForm {
            nhs_number: "123",
            email: "nope",
            ..Default::default()
        };
        let errors = form.parse(date!(2026 - 11 - 23)).unwrap_err();
        let fields: Vec<_> = errors.iter().map(|e| e.field).collect();
        assert_eq!(
            fields,
            ["nhs_number", "given_name", "family_name", "date_of_birth", "email"]
        );
    }

    #[test]
    fn text_fields_refuse_control_characters_and_excess() {
        assert_eq!(optional_text("f", "  ", 5), Ok(None));
        assert_eq!(
            optional_text("f", "a\u{0}b", 5).unwrap_err().message_id,
            "error-text-invalid"
        );
        assert_eq!(optional_text("f", "line\nbreak", 20), Ok(Some("line\nbreak".into())));
        assert_eq!(
            optional_text("f", "toolong", 5).unwrap_err().message_id,
            "error-text-too-long"
        );
        assert_eq!(required_text("f", "", 5, "empty").unwrap_err().message_id, "empty");
    }

    #[test]
    fn codes_round_trip() {
        for r in Role::ALL {
            assert_eq!(Role::from_code(r.code()), Some(r));
        }
        for k in OrganisationKind::ALL {
            assert_eq!(OrganisationKind::from_code(k.code()), Some(k));
        }
    }
}
