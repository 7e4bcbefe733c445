//! Sign-in throttling: after too many failed attempts for one account or from one address, refuse for a while.
//!
//! The counts live in the database (so every server node sees the same numbers); this module holds the rule.

use time::Duration;

/// Failed attempts allowed within [`WINDOW`] before further attempts are refused.
pub const MAX_FAILURES: u32 = 10;
/// How far back failures count; also how long a locked key stays locked after its last failure.
pub const WINDOW: Duration = Duration::minutes(15);

/// What a throttle is keyed on. Both are checked: guessing many passwords for one account, or one password across
/// many accounts from one address. The account is given as a digest of the normalised email address, so the
/// failures table holds no addresses and no raw input.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum ThrottleKey {
    Account(String),
    Address(String),
}

impl ThrottleKey {
    pub fn as_key(&self) -> String {
        match self {
            Self::Account(email) => format!("account:{email}"),
            Self::Address(ip) => format!("address:{ip}"),
        }
    }
}

/// True when `recent_failures` (counted over [`WINDOW`]) means the next attempt must be refused.
pub fn is_locked(recent_failures: u32) -> bool {
    recent_failures >= MAX_FAILURES
}
