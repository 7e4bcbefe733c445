//! Session lifetime rules, after NHS login: re-authenticate after 30 minutes idle and after 12 hours in all.

use time::{Duration, OffsetDateTime};

pub const IDLE_TIMEOUT: Duration = Duration::minutes(30);
pub const ABSOLUTE_TIMEOUT: Duration = Duration::hours(12);

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum SessionState {
    Live,
    IdleExpired,
    AbsoluteExpired,
}

/// Whether a session that began at `created` and was last used at `last_seen` may still be used at `now`.
pub fn session_state(created: OffsetDateTime, last_seen: OffsetDateTime, now: OffsetDateTime) -> SessionState {
    if now - created >= ABSOLUTE_TIMEOUT {
        SessionState::AbsoluteExpired
    } else if now - last_seen >= IDLE_TIMEOUT {
        SessionState::IdleExpired
    } else {
        SessionState::Live
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use time::macros::datetime;

    #[test]
    fn idle_and_absolute_limits() {
        let start = datetime!(2026-01-01 09:00 UTC);
        assert_eq!(
            session_state(start, start, start + Duration::minutes(29)),
            SessionState::Live
        );
        assert_eq!(
            session_state(start, start, start + Duration::minutes(30)),
            SessionState::IdleExpired
        );
        let busy = start + Duration::hours(12) - Duration::seconds(1);
        assert_eq!(session_state(start, busy, busy), SessionState::Live);
        let later = start + Duration::hours(12);
        assert_eq!(session_state(start, later, later), SessionState::AbsoluteExpired);
    }
}
