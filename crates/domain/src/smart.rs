//! SMART on FHIR (App Launch 2.0): the scopes an app asks for, what they let it do with a person's data, and the
//! small pieces of OAuth that are rules rather than I/O (PKCE S256, how tokens are stored, which redirect
//! addresses an app may register).
//!
//! Scopes are read in both syntaxes: SMART v2 (`patient/Observation.rs`, `patient/*.cruds`) and v1
//! (`patient/Observation.read`, `.write`, `.*`), where v1 `read` is v2 `rs` and v1 `write` is v2 `cud`. FHIR resource
//! types map onto CarePact's consent sections, so an app's access is described to the person in the same words as
//! sharing with people. CarePact tokens are always for one person: only `patient/` resource scopes are granted. The
//! OpenID Connect scopes `openid` and `fhirUser` grant no data: they ask for an identity token naming the user.

use std::fmt;

use sha2::{Digest, Sha256};

use crate::consent::Section;

/// How long a one-time authorization code lasts.
pub const CODE_LIFETIME: time::Duration = time::Duration::seconds(60);
/// How long an access token lasts.
pub const ACCESS_LIFETIME: time::Duration = time::Duration::hours(1);
/// How long a refresh token lasts (each refresh issues a new one, so an app in use stays connected).
pub const REFRESH_LIFETIME: time::Duration = time::Duration::days(90);

/// The longest scope string read; anything longer is not a scope.
const SCOPE_MAX: usize = 256;

/// Whose data a resource scope is about.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum Context {
    /// The one person the app was launched for.
    Patient,
    /// Whatever the signed-in user may reach.
    User,
    /// A backend service, with no user.
    System,
}

impl Context {
    pub fn code(self) -> &'static str {
        match self {
            Self::Patient => "patient",
            Self::User => "user",
            Self::System => "system",
        }
    }

    fn from_code(code: &str) -> Option<Self> {
        [Self::Patient, Self::User, Self::System]
            .into_iter()
            .find(|c| c.code() == code)
    }
}

/// What an app does with a resource, as SMART v2 names it (`c`, `r`, `u`, `d`, `s`).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum Interaction {
    Create,
    Read,
    Update,
    Delete,
    Search,
}

impl Interaction {
    /// In the order SMART v2 writes them.
    pub const ALL: [Self; 5] = [Self::Create, Self::Read, Self::Update, Self::Delete, Self::Search];

    pub fn letter(self) -> char {
        match self {
            Self::Create => 'c',
            Self::Read => 'r',
            Self::Update => 'u',
            Self::Delete => 'd',
            Self::Search => 's',
        }
    }

    /// True for interactions that change data.
    pub fn is_write(self) -> bool {
        matches!(self, Self::Create | Self::Update | Self::Delete)
    }

    fn bit(self) -> u8 {
        1 << (self as u8)
    }
}

/// A set of interactions.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Default)]
pub struct Permissions(u8);

impl Permissions {
    /// v1 `read`, v2 `rs`.
    pub const READ: Self = Self(1 << 1 | 1 << 4);
    /// v1 `write`, v2 `cud`.
    pub const WRITE: Self = Self(1 | 1 << 2 | 1 << 3);
    /// v1 `*`, v2 `cruds`.
    pub const ALL: Self = Self(0b1_1111);

    pub fn of(items: &[Interaction]) -> Self {
        Self(items.iter().fold(0, |acc, i| acc | i.bit()))
    }

    pub fn contains(self, i: Interaction) -> bool {
        self.0 & i.bit() != 0
    }

    pub fn is_empty(self) -> bool {
        self.0 == 0
    }

    pub fn intersect(self, other: Self) -> Self {
        Self(self.0 & other.0)
    }

    pub fn union(self, other: Self) -> Self {
        Self(self.0 | other.0)
    }

    /// True when every interaction in `other` is in this set.
    pub fn covers(self, other: Self) -> bool {
        other.0 & !self.0 == 0
    }

    /// The v2 letters, in order (`rs`, `cruds`).
    pub fn letters(self) -> String {
        Interaction::ALL
            .into_iter()
            .filter(|i| self.contains(*i))
            .map(Interaction::letter)
            .collect()
    }

    /// Reads v2 letters: at least one, each once, in the order `c r u d s`.
    fn from_letters(text: &str) -> Option<Self> {
        let mut next = 0;
        let mut set = Self::default();
        for ch in text.chars() {
            let at = Interaction::ALL[next..].iter().position(|i| i.letter() == ch)?;
            set = set.union(Self::of(&[Interaction::ALL[next + at]]));
            next += at + 1;
        }
        (!set.is_empty()).then_some(set)
    }
}

/// A scope on FHIR resources: `patient/Observation.rs`.
#[derive(Debug, Clone, PartialEq, Eq, Hash)]
pub struct ResourceScope {
    pub context: Context,
    /// One resource type, or `None` for every type (`*`).
    pub resource: Option<String>,
    pub permissions: Permissions,
    /// A v2 granular restriction (`?category=vital-signs`), kept as written. CarePact does not apply these, so a
    /// scope with one is never granted.
    pub query: Option<String>,
    /// Written in the v1 syntax (`.read`); granted scopes are written back the way the app wrote them.
    pub v1: bool,
}

impl ResourceScope {
    /// True when this scope lets an app do `interaction` on `resource_type`, whatever the type maps to.
    fn reaches(&self, resource_type: &str, interaction: Interaction) -> bool {
        self.context == Context::Patient
            && self.query.is_none()
            && self.resource.as_deref().is_none_or(|r| r == resource_type)
            && self.permissions.contains(interaction)
    }
}

/// One scope an app may ask for.
#[derive(Debug, Clone, PartialEq, Eq, Hash)]
pub enum Scope {
    Resource(ResourceScope),
    /// `launch/patient`: the app needs to know whose record it was launched for.
    LaunchPatient,
    /// `openid`: an OpenID Connect identity token naming the user, with the access token. Grants no data.
    OpenId,
    /// `fhirUser`: the user as a FHIR resource (its URL), in the identity token. Grants no data.
    FhirUser,
    /// `offline_access`: a refresh token, so the app stays connected until the person disconnects it.
    OfflineAccess,
}

/// Why a scope could not be read.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum ScopeError {
    Empty,
    TooLong,
    /// Not a scope CarePact knows (`launch`, `online_access`, a custom scope…).
    Unknown,
    /// Not `patient/`, `user/` or `system/`.
    BadContext,
    /// Not a FHIR resource type or `*`.
    BadResource,
    /// Not v2 letters in order, or v1 `read`, `write`, `*`.
    BadPermissions,
}

impl fmt::Display for ScopeError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(match self {
            Self::Empty => "the scope is empty",
            Self::TooLong => "the scope is too long",
            Self::Unknown => "the scope is not one CarePact knows",
            Self::BadContext => "the scope does not start with patient/, user/ or system/",
            Self::BadResource => "the scope does not name a FHIR resource type or *",
            Self::BadPermissions => {
                "the scope's permissions are not v2 letters (cruds, in order) or v1 read, write or *"
            }
        })
    }
}

impl std::error::Error for ScopeError {}

fn is_resource_type(name: &str) -> bool {
    let mut chars = name.chars();
    chars.next().is_some_and(|c| c.is_ascii_uppercase()) && name.len() <= 64 && chars.all(|c| c.is_ascii_alphanumeric())
}

impl Scope {
    /// Reads one scope.
    pub fn parse(text: &str) -> Result<Self, ScopeError> {
        if text.is_empty() {
            return Err(ScopeError::Empty);
        }
        if text.len() > SCOPE_MAX {
            return Err(ScopeError::TooLong);
        }
        match text {
            "launch/patient" => return Ok(Self::LaunchPatient),
            "openid" => return Ok(Self::OpenId),
            "fhirUser" => return Ok(Self::FhirUser),
            "offline_access" => return Ok(Self::OfflineAccess),
            _ => {}
        }
        let Some((context, rest)) = text.split_once('/') else {
            return Err(ScopeError::Unknown);
        };
        let context = Context::from_code(context).ok_or(ScopeError::BadContext)?;
        let (rest, query) = match rest.split_once('?') {
            Some((rest, query)) => (rest, Some(query.to_owned())),
            None => (rest, None),
        };
        let (resource, permissions) = rest.split_once('.').ok_or(ScopeError::BadPermissions)?;
        let resource = match resource {
            "*" => None,
            name if is_resource_type(name) => Some(name.to_owned()),
            _ => return Err(ScopeError::BadResource),
        };
        let (permissions, v1) = match permissions {
            "read" => (Permissions::READ, true),
            "write" => (Permissions::WRITE, true),
            "*" => (Permissions::ALL, true),
            letters => (
                Permissions::from_letters(letters).ok_or(ScopeError::BadPermissions)?,
                false,
            ),
        };
        if v1 && query.is_some() {
            // Granular restrictions are a v2 feature.
            return Err(ScopeError::BadPermissions);
        }
        Ok(Self::Resource(ResourceScope {
            context,
            resource,
            permissions,
            query,
            v1,
        }))
    }

    /// True for scopes that grant access to resources.
    pub fn is_resource(&self) -> bool {
        matches!(self, Self::Resource(_))
    }
}

impl fmt::Display for Scope {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            Self::LaunchPatient => f.write_str("launch/patient"),
            Self::OpenId => f.write_str("openid"),
            Self::FhirUser => f.write_str("fhirUser"),
            Self::OfflineAccess => f.write_str("offline_access"),
            Self::Resource(r) => {
                let resource = r.resource.as_deref().unwrap_or("*");
                let v1 = match r.permissions {
                    _ if !r.v1 => None,
                    Permissions::READ => Some("read"),
                    Permissions::WRITE => Some("write"),
                    Permissions::ALL => Some("*"),
                    _ => None,
                };
                let permissions = v1.map(str::to_owned).unwrap_or_else(|| r.permissions.letters());
                write!(f, "{}/{resource}.{permissions}", r.context.code())?;
                match &r.query {
                    Some(q) => write!(f, "?{q}"),
                    None => Ok(()),
                }
            }
        }
    }
}

/// Reads a space-separated scope list (RFC 6749 §3.3): the scopes understood, without repeats, and the words that
/// are not scopes CarePact knows (ignored, as OAuth allows: the app is told what it was granted).
pub fn parse_scopes(text: &str) -> (Vec<Scope>, Vec<String>) {
    let mut scopes: Vec<Scope> = Vec::new();
    let mut unknown = Vec::new();
    for word in text.split_ascii_whitespace() {
        match Scope::parse(word) {
            Ok(scope) if !scopes.contains(&scope) => scopes.push(scope),
            Ok(_) => {}
            Err(_) => unknown.push(word.to_owned()),
        }
    }
    (scopes, unknown)
}

/// Scopes written as OAuth sends them: separated by single spaces.
pub fn scope_text(scopes: &[Scope]) -> String {
    scopes.iter().map(Scope::to_string).collect::<Vec<_>>().join(" ")
}

/// The FHIR resource types CarePact holds, each with the consent section it belongs to and whether apps may only
/// read it. Types not listed are not reachable through any scope.
pub const RESOURCE_TYPES: [(&str, Section, bool); 17] = [
    ("Patient", Section::Record, false),
    ("Condition", Section::Record, false),
    ("MedicationStatement", Section::Record, false),
    ("AllergyIntolerance", Section::Record, false),
    ("Immunization", Section::Record, false),
    ("Procedure", Section::Record, false),
    ("DiagnosticReport", Section::Record, false),
    ("DocumentReference", Section::Record, false),
    ("Consent", Section::Record, true),
    ("AuditEvent", Section::Record, true),
    ("CarePlan", Section::CarePlan, false),
    ("Goal", Section::CarePlan, false),
    ("CareTeam", Section::CarePlan, false),
    ("Observation", Section::Readings, false),
    ("Questionnaire", Section::Questionnaires, false),
    ("QuestionnaireResponse", Section::Questionnaires, false),
    ("Communication", Section::Messages, false),
];

/// The consent section a FHIR resource type belongs to, and whether apps may only read it; `None` for types
/// CarePact does not hold.
pub fn section_of(resource_type: &str) -> Option<(Section, bool)> {
    RESOURCE_TYPES
        .iter()
        .find(|(name, _, _)| *name == resource_type)
        .map(|(_, section, read_only)| (*section, *read_only))
}

/// Whether `scopes` let an app do `interaction` on resources of `resource_type` for the person its token is for.
/// Only `patient/` scopes count, granular (`?…`) scopes do not, unknown types are never reachable, and read-only
/// types (Consent, AuditEvent) are never written.
pub fn allows(scopes: &[Scope], resource_type: &str, interaction: Interaction) -> bool {
    let Some((_, read_only)) = section_of(resource_type) else {
        return false;
    };
    if read_only && interaction.is_write() {
        return false;
    }
    scopes.iter().any(|s| match s {
        Scope::Resource(r) => r.reaches(resource_type, interaction),
        _ => false,
    })
}

/// What scopes let an app do in one section of the person's data, by resource type (for describing it in words).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct SectionAccess {
    pub section: Section,
    /// Types it may read or search.
    pub see: Vec<&'static str>,
    /// Types it may create, update or delete.
    pub change: Vec<&'static str>,
}

/// What `scopes` let an app see and change, grouped by section in the order of [`Section::ALL`]; sections it
/// cannot reach are left out.
pub fn section_access(scopes: &[Scope]) -> Vec<SectionAccess> {
    Section::ALL
        .into_iter()
        .filter_map(|section| {
            let types = RESOURCE_TYPES
                .iter()
                .filter(|(_, s, _)| *s == section)
                .map(|(t, _, _)| *t);
            let see: Vec<&'static str> = types
                .clone()
                .filter(|t| allows(scopes, t, Interaction::Read) || allows(scopes, t, Interaction::Search))
                .collect();
            let change: Vec<&'static str> = types
                .filter(|t| {
                    [Interaction::Create, Interaction::Update, Interaction::Delete]
                        .into_iter()
                        .any(|i| allows(scopes, t, i))
                })
                .collect();
            (!see.is_empty() || !change.is_empty()).then_some(SectionAccess { section, see, change })
        })
        .collect()
}

/// True for scopes an app may be registered for: `launch/patient`, `offline_access`, `openid`, `fhirUser`, and
/// `patient/` resource scopes without a granular restriction.
pub fn registrable(scope: &Scope) -> bool {
    match scope {
        Scope::LaunchPatient | Scope::OfflineAccess | Scope::OpenId | Scope::FhirUser => true,
        Scope::Resource(r) => {
            r.context == Context::Patient
                && r.query.is_none()
                && r.resource.as_deref().is_none_or(|t| section_of(t).is_some())
        }
    }
}

/// What CarePact grants when an app registered for `allowed` asks for `requested`: the requested scopes it
/// understands, narrowed to what the app is registered for (`patient/*.cruds` asked of an app registered for
/// `patient/Observation.rs` gives `patient/Observation.rs`). `launch/patient`, `offline_access` and the identity
/// scopes (`openid`, `fhirUser`) are granted when asked for and registered.
pub fn grantable(requested: &[Scope], allowed: &[Scope]) -> Vec<Scope> {
    let mut out: Vec<Scope> = Vec::new();
    let mut add = |s: Scope| {
        if !out.contains(&s) {
            out.push(s);
        }
    };
    for scope in requested {
        match scope {
            Scope::LaunchPatient | Scope::OfflineAccess | Scope::OpenId | Scope::FhirUser
                if allowed.contains(scope) =>
            {
                add(scope.clone())
            }
            Scope::Resource(r) if registrable(scope) => {
                for a in allowed.iter().filter(|a| registrable(a)) {
                    let Scope::Resource(a) = a else { continue };
                    let resource = match (&r.resource, &a.resource) {
                        (None, other) | (other, None) => other.clone(),
                        (Some(x), Some(y)) if x == y => Some(x.clone()),
                        _ => continue,
                    };
                    let permissions = r.permissions.intersect(a.permissions);
                    if permissions.is_empty() {
                        continue;
                    }
                    add(Scope::Resource(ResourceScope {
                        context: Context::Patient,
                        resource,
                        permissions,
                        query: None,
                        v1: r.v1,
                    }));
                }
            }
            _ => {}
        }
    }
    out
}

/// The stored form of a code or token: its SHA-256 (tokens are random and long, so a slow hash adds nothing).
pub fn token_hash(token: &str) -> Vec<u8> {
    Sha256::digest(token.as_bytes()).to_vec()
}

/// Base64url without padding (RFC 4648 §5), as PKCE writes a challenge.
pub fn base64url(bytes: &[u8]) -> String {
    const ALPHABET: &[u8; 64] = b"ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789-_";
    let mut out = String::with_capacity(bytes.len().div_ceil(3) * 4);
    for chunk in bytes.chunks(3) {
        let b = [chunk[0], *chunk.get(1).unwrap_or(&0), *chunk.get(2).unwrap_or(&0)];
        let n = u32::from(b[0]) << 16 | u32::from(b[1]) << 8 | u32::from(b[2]);
        for i in 0..=chunk.len() {
            out.push(char::from(ALPHABET[(n >> (18 - 6 * i) & 63) as usize]));
        }
    }
    out
}

/// True when `verifier` is a PKCE code verifier: 43 to 128 unreserved characters (RFC 7636 §4.1).
pub fn pkce_verifier_ok(verifier: &str) -> bool {
    (43..=128).contains(&verifier.len())
        && verifier
            .bytes()
            .all(|b| b.is_ascii_alphanumeric() || matches!(b, b'-' | b'.' | b'_' | b'~'))
}

/// True when `challenge` has the shape of an S256 challenge: the base64url SHA-256 of a verifier, 43 characters.
pub fn pkce_challenge_ok(challenge: &str) -> bool {
    challenge.len() == 43
        && challenge
            .bytes()
            .all(|b| b.is_ascii_alphanumeric() || matches!(b, b'-' | b'_'))
}

/// The S256 challenge for `verifier`.
pub fn pkce_s256(verifier: &str) -> String {
    base64url(&Sha256::digest(verifier.as_bytes()))
}

/// True when `verifier` is well formed and is the one `challenge` was made from (compared in constant time).
pub fn pkce_matches(verifier: &str, challenge: &str) -> bool {
    if !pkce_verifier_ok(verifier) {
        return false;
    }
    let made = pkce_s256(verifier);
    made.len() == challenge.len()
        && made
            .bytes()
            .zip(challenge.bytes())
            .fold(0u8, |acc, (x, y)| acc | (x ^ y))
            == 0
}

/// The longest redirect address accepted.
const REDIRECT_MAX: usize = 2000;

/// The host of an authority (`app.example`, `[::1]`), without its port.
fn host_of(authority: &str) -> &str {
    match authority.find(']') {
        Some(end) if authority.starts_with('[') => &authority[..=end],
        _ => authority.split(':').next().unwrap_or(""),
    }
}

/// True for a host name, IPv4 address or bracketed IPv6 address, with an optional port; no user name.
fn is_authority(authority: &str) -> bool {
    let host = host_of(authority);
    let port = &authority[host.len()..];
    let host_ok = match host.strip_prefix('[').and_then(|h| h.strip_suffix(']')) {
        Some(v6) => !v6.is_empty() && v6.bytes().all(|b| b.is_ascii_hexdigit() || b == b':' || b == b'.'),
        None => {
            !host.is_empty()
                && !host.starts_with(['.', '-'])
                && host
                    .bytes()
                    .all(|b| b.is_ascii_alphanumeric() || b == b'.' || b == b'-')
        }
    };
    let port_ok = port.is_empty()
        || port
            .strip_prefix(':')
            .is_some_and(|p| !p.is_empty() && p.len() <= 5 && p.bytes().all(|b| b.is_ascii_digit()));
    host_ok && port_ok
}

/// The scheme and authority of `uri` (`https://app.example:8443`), or the scheme alone (`com.example.app:`) for a
/// private-use scheme: what a browser must be allowed to go to after the consent form. `None` for an address that
/// [`redirect_uri`] would refuse.
pub fn redirect_origin(uri: &str) -> Option<String> {
    let (scheme, rest) = uri.split_once(':')?;
    if scheme == "https" || scheme == "http" {
        let rest = rest.strip_prefix("//")?;
        let authority = rest.split(['/', '?']).next().unwrap_or("");
        if !is_authority(authority) {
            return None;
        }
        let loopback = matches!(host_of(authority), "localhost" | "127.0.0.1" | "[::1]");
        if scheme == "http" && !loopback {
            return None;
        }
        Some(format!("{scheme}://{authority}"))
    } else {
        // A native app's private-use scheme in reverse-domain form (RFC 8252 §7.1), such as com.example.app.
        let ok = scheme.contains('.')
            && scheme.bytes().next().is_some_and(|b| b.is_ascii_alphabetic())
            && scheme
                .bytes()
                .all(|b| b.is_ascii_alphanumeric() || matches!(b, b'.' | b'-' | b'+'))
            && !rest.is_empty();
        ok.then(|| format!("{}:", scheme.to_ascii_lowercase()))
    }
}

/// Checks an address an app asks to be sent back to: `https://…`, `http://` only on this machine (localhost,
/// 127.0.0.1, [::1]) for development, or a native app's reverse-domain scheme (`com.example.app:/callback`). No
/// fragment, spaces or control characters. The error is a message id.
pub fn redirect_uri(text: &str) -> Result<String, &'static str> {
    let text = text.trim();
    if text.is_empty() {
        return Err("error-app-redirect-empty");
    }
    if text.len() > REDIRECT_MAX
        || text.contains('#')
        || text
            .chars()
            .any(|c| c.is_whitespace() || c.is_control() || !c.is_ascii())
        || redirect_origin(text).is_none()
    {
        return Err("error-app-redirect-invalid");
    }
    Ok(text.to_owned())
}

#[cfg(test)]
mod tests {
    use super::*;
    use proptest::prelude::*;

    fn scopes(text: &str) -> Vec<Scope> {
        let (scopes, unknown) = parse_scopes(text);
        assert!(unknown.is_empty(), "{unknown:?}");
        scopes
    }

    #[test]
    fn reads_v2_and_v1_scopes() {
        let s = Scope::parse("patient/Observation.rs").unwrap();
        assert_eq!(
            s,
            Scope::Resource(ResourceScope {
                context: Context::Patient,
                resource: Some("Observation".into()),
                permissions: Permissions::READ,
                query: None,
                v1: false,
            })
        );
        assert_eq!(s.to_string(), "patient/Observation.rs");
        let all = Scope::parse("patient/*.cruds").unwrap();
        assert_eq!(all.to_string(), "patient/*.cruds");
        let v1 = Scope::parse("patient/Observation.read").unwrap();
        assert_eq!(v1.to_string(), "patient/Observation.read");
        assert_eq!(Scope::parse("user/*.*").unwrap().to_string(), "user/*.*");
        assert_eq!(
            Scope::parse("patient/Goal.write").unwrap().to_string(),
            "patient/Goal.write"
        );
        assert_eq!(Scope::parse("launch/patient"), Ok(Scope::LaunchPatient));
        assert_eq!(Scope::parse("openid"), Ok(Scope::OpenId));
        assert_eq!(Scope::parse("fhirUser"), Ok(Scope::FhirUser));
        assert_eq!(Scope::parse("offline_access"), Ok(Scope::OfflineAccess));
        let granular = Scope::parse("patient/Observation.rs?category=vital-signs").unwrap();
        assert_eq!(granular.to_string(), "patient/Observation.rs?category=vital-signs");
    }

    #[test]
    fn refuses_what_is_not_a_scope() {
        for (text, error) in [
            ("", ScopeError::Empty),
            ("launch", ScopeError::Unknown),
            ("online_access", ScopeError::Unknown),
            ("doctor/Observation.rs", ScopeError::BadContext),
            ("patient/observation.rs", ScopeError::BadResource),
            ("patient/Obs-ervation.rs", ScopeError::BadResource),
            ("patient/.rs", ScopeError::BadResource),
            ("patient/Observation", ScopeError::BadPermissions),
            ("patient/Observation.", ScopeError::BadPermissions),
            ("patient/Observation.sr", ScopeError::BadPermissions),
            ("patient/Observation.rr", ScopeError::BadPermissions),
            ("patient/Observation.x", ScopeError::BadPermissions),
            ("patient/Observation.read?code=1", ScopeError::BadPermissions),
        ] {
            assert_eq!(Scope::parse(text), Err(error), "{text}");
        }
        assert_eq!(
            Scope::parse(&format!("patient/{}.rs", "A".repeat(300))),
            Err(ScopeError::TooLong)
        );
        let (ok, unknown) = parse_scopes("  launch/patient   launch patient/Observation.rs launch/patient\tbad ");
        assert_eq!(ok.len(), 2);
        assert_eq!(unknown, ["launch", "bad"]);
        assert_eq!(scope_text(&ok), "launch/patient patient/Observation.rs");
    }

    #[test]
    fn resource_types_map_to_consent_sections() {
        assert_eq!(section_of("Observation"), Some((Section::Readings, false)));
        assert_eq!(
            section_of("QuestionnaireResponse"),
            Some((Section::Questionnaires, false))
        );
        assert_eq!(section_of("Questionnaire"), Some((Section::Questionnaires, false)));
        assert_eq!(section_of("CarePlan"), Some((Section::CarePlan, false)));
        assert_eq!(section_of("Goal"), Some((Section::CarePlan, false)));
        assert_eq!(section_of("CareTeam"), Some((Section::CarePlan, false)));
        assert_eq!(section_of("Communication"), Some((Section::Messages, false)));
        assert_eq!(section_of("Consent"), Some((Section::Record, true)));
        assert_eq!(section_of("AuditEvent"), Some((Section::Record, true)));
        for t in [
            "Patient",
            "Condition",
            "MedicationStatement",
            "AllergyIntolerance",
            "Immunization",
            "Procedure",
            "DiagnosticReport",
            "DocumentReference",
        ] {
            assert_eq!(section_of(t), Some((Section::Record, false)), "{t}");
        }
        assert_eq!(section_of("Encounter"), None);
        assert_eq!(section_of("*"), None);
    }

    #[test]
    fn allows_follows_the_scopes() {
        let s = scopes("patient/Observation.rs patient/CarePlan.r");
        assert!(allows(&s, "Observation", Interaction::Read));
        assert!(allows(&s, "Observation", Interaction::Search));
        assert!(!allows(&s, "Observation", Interaction::Create));
        assert!(allows(&s, "CarePlan", Interaction::Read));
        assert!(!allows(&s, "CarePlan", Interaction::Search));
        assert!(!allows(&s, "Goal", Interaction::Read));

        let all = scopes("patient/*.cruds");
        for i in Interaction::ALL {
            assert!(allows(&all, "Observation", i));
            assert!(allows(&all, "Condition", i));
        }
        // Read-only types, and types CarePact does not hold.
        assert!(allows(&all, "AuditEvent", Interaction::Read));
        assert!(!allows(&all, "AuditEvent", Interaction::Create));
        assert!(!allows(&all, "Consent", Interaction::Delete));
        assert!(!allows(&all, "Encounter", Interaction::Read));
        // Only patient scopes count; granular ones are not applied, so they allow nothing.
        assert!(!allows(
            &scopes("user/*.cruds system/*.rs"),
            "Observation",
            Interaction::Read
        ));
        assert!(!allows(
            &scopes("patient/Observation.rs?category=vital-signs"),
            "Observation",
            Interaction::Read
        ));
        assert!(!allows(
            &scopes("launch/patient offline_access openid fhirUser"),
            "Patient",
            Interaction::Read
        ));
        // v1 write is create, update and delete.
        let w = scopes("patient/Goal.write");
        assert!(allows(&w, "Goal", Interaction::Update) && !allows(&w, "Goal", Interaction::Read));
    }

    #[test]
    fn section_access_groups_types_by_section() {
        let s = scopes("patient/Observation.cruds patient/Condition.rs patient/AuditEvent.cruds launch/patient");
        let access = section_access(&s);
        assert_eq!(
            access,
            vec![
                SectionAccess {
                    section: Section::Record,
                    see: vec!["Condition", "AuditEvent"],
                    change: vec![],
                },
                SectionAccess {
                    section: Section::Readings,
                    see: vec!["Observation"],
                    change: vec!["Observation"],
                },
            ]
        );
        assert!(section_access(&scopes("launch/patient offline_access")).is_empty());
    }

    #[test]
    fn grants_what_was_asked_narrowed_to_what_the_app_may_have() {
        let allowed = scopes("launch/patient offline_access patient/Observation.rs patient/Condition.read");
        let granted = grantable(
            &scopes("launch/patient openid fhirUser offline_access patient/*.cruds user/Patient.rs"),
            &allowed,
        );
        assert_eq!(
            scope_text(&granted),
            "launch/patient offline_access patient/Observation.rs patient/Condition.rs"
        );
        let granted = grantable(&scopes("patient/Observation.read patient/Goal.rs"), &allowed);
        assert_eq!(scope_text(&granted), "patient/Observation.read");
        // Without offline_access registered, none is granted.
        let granted = grantable(&scopes("offline_access patient/Observation.s"), &scopes("patient/*.rs"));
        assert_eq!(scope_text(&granted), "patient/Observation.s");
        assert!(grantable(&scopes("patient/Encounter.rs"), &scopes("patient/*.cruds")).is_empty());
        assert!(registrable(&Scope::parse("patient/*.cruds").unwrap()));
        assert!(!registrable(&Scope::parse("user/*.cruds").unwrap()));
        assert!(!registrable(&Scope::parse("patient/Encounter.rs").unwrap()));
        assert!(registrable(&Scope::OpenId) && registrable(&Scope::FhirUser));
        // Identity scopes are granted when asked for and registered; they reach no data.
        let with_identity = scopes("openid fhirUser patient/Observation.rs");
        let granted = grantable(&scopes("fhirUser openid patient/Observation.rs"), &with_identity);
        assert_eq!(scope_text(&granted), "fhirUser openid patient/Observation.rs");
        assert!(!allows(&scopes("openid fhirUser"), "Patient", Interaction::Read));
    }

    #[test]
    fn pkce_s256_matches_the_rfc_example() {
        // RFC 7636 appendix B.
        let verifier = "dBjftJeZ4CVP-mB92K27uhbUJU1p1r_wW1gFWFOEjXk";
        assert_eq!(pkce_s256(verifier), "E9Melhoa2OwvFrEMTJguCHaoeK1t8URWbuGJSstw-cM");
        assert!(pkce_matches(verifier, "E9Melhoa2OwvFrEMTJguCHaoeK1t8URWbuGJSstw-cM"));
        assert!(!pkce_matches(verifier, "E9Melhoa2OwvFrEMTJguCHaoeK1t8URWbuGJSstw-cN"));
        assert!(!pkce_matches("short", &pkce_s256("short")));
        assert!(pkce_challenge_ok("E9Melhoa2OwvFrEMTJguCHaoeK1t8URWbuGJSstw-cM"));
        assert!(!pkce_challenge_ok("E9Melhoa2OwvFrEMTJguCHaoeK1t8URWbuGJSstw-c="));
        assert!(!pkce_verifier_ok(&"a".repeat(129)));
        assert!(pkce_verifier_ok(&"a~._-".repeat(9)));
        assert_eq!(base64url(b""), "");
        assert_eq!(base64url(b"f"), "Zg");
        assert_eq!(base64url(b"fo"), "Zm8");
        assert_eq!(base64url(b"foo"), "Zm9v");
        assert_eq!(base64url(&[0xfb, 0xff]), "-_8");
        assert_eq!(token_hash("abc").len(), 32);
    }

    #[test]
    fn redirect_addresses() {
        for ok in [
            "https://app.example/callback",
            "https://app.example:8443/cb?x=1",
            "http://localhost:3000/cb",
            "http://127.0.0.1/cb",
            "http://[::1]:8080/cb",
            "com.example.app:/oauth2redirect",
        ] {
            assert_eq!(redirect_uri(ok), Ok(ok.to_owned()), "{ok}");
        }
        for bad in [
            "http://app.example/cb",
            "https://app.example/cb#x",
            "https:///cb",
            "https://user@app.example/cb",
            "https://app.example/c b",
            "javascript:alert(1)",
            "data:text/html,hi",
            "/relative",
            "https://app.example:99999999/cb",
            "https://app;example/cb",
            "com.example.app:",
        ] {
            assert_eq!(redirect_uri(bad), Err("error-app-redirect-invalid"), "{bad}");
        }
        assert_eq!(redirect_uri("  "), Err("error-app-redirect-empty"));
        assert_eq!(
            redirect_origin("https://app.example:8443/cb").as_deref(),
            Some("https://app.example:8443")
        );
        assert_eq!(
            redirect_origin("http://[::1]:8080/cb").as_deref(),
            Some("http://[::1]:8080")
        );
        assert_eq!(
            redirect_origin("Com.Example.App:/cb").as_deref(),
            Some("com.example.app:")
        );
    }

    proptest! {
        #[test]
        fn parsing_never_panics(text in "\\PC{0,300}") {
            let _ = Scope::parse(&text);
            let (scopes, _) = parse_scopes(&text);
            let _ = section_access(&scopes);
            let _ = redirect_uri(&text);
            let _ = redirect_origin(&text);
            let _ = pkce_matches(&text, &text);
        }

        #[test]
        fn parsing_scope_like_text_never_panics(text in "(patient|user|system|launch)?/?[A-Za-z*]{0,12}\\.?[a-z*]{0,6}(\\?[a-z=-]{0,8})?") {
            if let Ok(scope) = Scope::parse(&text) {
                // What is read is written back the same way, and reads back the same.
                prop_assert_eq!(Scope::parse(&scope.to_string()), Ok(scope));
            }
        }

        #[test]
        fn v1_read_is_v2_rs(resource in "\\*|Observation|Condition|CarePlan|Goal|Communication|AuditEvent|Consent|Encounter|Patient") {
            let v1 = scopes(&format!("patient/{resource}.read"));
            let v2 = scopes(&format!("patient/{resource}.rs"));
            for (t, _, _) in RESOURCE_TYPES.iter().chain([("Encounter", Section::Record, false)].iter()) {
                for i in Interaction::ALL {
                    prop_assert_eq!(allows(&v1, t, i), allows(&v2, t, i));
                }
            }
            prop_assert_eq!(section_access(&v1), section_access(&v2));
            let w1 = scopes(&format!("patient/{resource}.write"));
            let w2 = scopes(&format!("patient/{resource}.cud"));
            let a1 = scopes(&format!("patient/{resource}.*"));
            let a2 = scopes(&format!("patient/{resource}.cruds"));
            for (t, _, _) in RESOURCE_TYPES {
                for i in Interaction::ALL {
                    prop_assert_eq!(allows(&w1, t, i), allows(&w2, t, i));
                    prop_assert_eq!(allows(&a1, t, i), allows(&a2, t, i));
                }
            }
        }

        #[test]
        fn base64url_has_the_right_length(bytes in proptest::collection::vec(any::<u8>(), 0..80)) {
            let text = base64url(&bytes);
            prop_assert_eq!(text.len(), (bytes.len() * 4).div_ceil(3));
        }
    }
}
