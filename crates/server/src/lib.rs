//! CarePact's web server: the pages people use, sign-in and sessions, operations endpoints, and the email outbox
//! worker. Later the FHIR API joins the same router.
//!
//! A request flows: outer layers (panic catcher, request id, trace, metrics, security headers, body limit) →
//! `session::layer` (loads the session, enforces timeouts, checks CSRF on unsafe methods) → a handler in `pages`,
//! which asks the store for data and renders an askama template with text from the message catalogue.
#![cfg_attr(not(test), deny(clippy::unwrap_used, clippy::expect_used, clippy::panic))]

pub mod bootstrap;
pub mod config;
pub mod demo;
pub mod i18n;
pub mod mail;
pub mod passwords;
pub mod record_import;
pub mod state;

mod access;
mod assets;
mod chart;
mod errors;
mod fhir_api;
mod forms;
mod http;
mod metrics;
mod oidc;
mod pages;
mod session;
mod smart;
mod tokens;

pub use config::Config;
pub use http::{router, serve};
pub use pages::care_plan::flag_overdue_reviews;
pub use pages::questionnaires::{ensure_builtin as ensure_builtin_questionnaires, remind_due as remind_questionnaires};
pub use pages::readings::escalate_alerts;
pub use state::AppState;
