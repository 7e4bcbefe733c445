//! CarePact's storage: one set of repository functions over two backends.
//!
//! SQLite (embedded, the default) and PostgreSQL (at scale) are both served by the same code. Each query is written
//! once, in SQL both dialects accept (`$N` placeholders, `RETURNING`), and run on whichever typed pool is open via
//! [`on_db!`]; where the dialects must differ (row locking with `SKIP LOCKED`) the code says so and diverges on
//! purpose. The conformance tests in `tests/` run every repository against both backends.
#![cfg_attr(not(test), deny(clippy::unwrap_used, clippy::expect_used, clippy::panic))]

pub mod cache;
pub mod db;
mod error;
mod time_col;

pub mod access;
pub mod alerts;
pub mod api_tokens;
pub mod audit;
pub mod bulk_export;
pub mod care_plan;
pub mod care_team;
pub mod consents;
pub mod messages;
pub mod notifications;
pub mod organisations;
pub mod outbox;
pub mod owners;
pub mod people;
pub mod queries;
pub mod questionnaires;
pub mod readings;
pub mod record;
pub mod requests;
pub mod seed;
pub mod sessions;
pub mod signing_keys;
pub mod smart;
pub mod throttle;
pub mod tokens;
pub mod users;

pub use db::{Backend, Db};
pub use error::StoreError;
pub use time_col::DbTime;

pub type Result<T, E = StoreError> = std::result::Result<T, E>;
