//! FHIR R4 at CarePact's edge.
//!
//! - [`read`]: streaming readers for a Bundle or NDJSON file, entry by entry, never holding the file whole;
//! - [`resource`]: checks one resource and says what it is in plain words (title, date, value, sensitivity);
//! - [`audit_event`]: an audit event as a FHIR AuditEvent in the IHE Basic Audit Log Patterns shape.
//!
//! Nothing here touches the database: the store takes the checked items, inside the one authorisation choke point.
#![cfg_attr(not(test), deny(clippy::unwrap_used, clippy::expect_used, clippy::panic))]

pub mod audit_event;
pub mod care_plan;
pub mod messaging;
pub mod observation;
pub mod questionnaire;
pub mod read;
pub mod resource;

pub use read::{BundleInfo, Entry, Format};
pub use resource::{Item, Kind, check};

/// Something wrong with a file, and where: the entry (or line), a JSON path, and why, in plain words.
#[derive(Debug, Clone, PartialEq, Eq, serde::Serialize)]
pub struct Problem {
    /// Zero-based entry index (or NDJSON line), when the problem is inside one.
    pub entry: Option<usize>,
    /// A JSON path such as `entry[3].resource.subject`, or `line 4` for NDJSON.
    pub path: String,
    pub message: String,
}

impl Problem {
    pub fn at(entry: Option<usize>, path: impl Into<String>, message: impl Into<String>) -> Problem {
        Problem {
            entry,
            path: path.into(),
            message: message.into(),
        }
    }

    /// A problem with the file as a whole.
    pub fn file(path: impl Into<String>, message: impl Into<String>) -> Problem {
        Problem {
            entry: None,
            path: path.into(),
            message: message.into(),
        }
    }
}
