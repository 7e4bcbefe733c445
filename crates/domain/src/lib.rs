//! CarePact's domain: the rules and types that the rest of the system is built around.
//!
//! Nothing in this crate touches a database, HTTP or FHIR. Values are parsed into types that cannot hold a bad
//! value (`NhsNumber`, `Email`, `Password`), and every parse error names a message id from the message catalogue so
//! that pages can explain it in the reader's language.
#![cfg_attr(not(test), deny(clippy::unwrap_used, clippy::expect_used, clippy::panic))]

pub mod audit;
pub mod care_plan;
pub mod clock;
pub mod consent;
pub mod identity;
pub mod nhs_number;
pub mod questionnaire;
pub mod readings;
pub mod session;
pub mod smart;
pub mod throttle;

pub use clock::{Clock, FakeClock, SystemClock};
pub use nhs_number::NhsNumber;
