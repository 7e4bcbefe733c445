//! Storage errors: the few cases callers act on, and everything else as an opaque cause to log.

#[derive(Debug, thiserror::Error)]
pub enum StoreError {
    /// A uniqueness rule was broken (for example an email address or NHS number already in use).
    #[error("already exists: {0}")]
    Conflict(&'static str),
    #[error("the database URL is not understood: {0}")]
    BadUrl(String),
    #[error(transparent)]
    Database(#[from] sqlx::Error),
    #[error(transparent)]
    Migrate(#[from] sqlx::migrate::MigrateError),
    #[error("stored data is not valid: {0}")]
    Corrupt(String),
}

impl StoreError {
    /// Maps a unique-constraint violation to [`StoreError::Conflict`] naming what clashed.
    pub(crate) fn conflict_on(what: &'static str) -> impl Fn(sqlx::Error) -> StoreError {
        move |e| match &e {
            sqlx::Error::Database(db) if db.is_unique_violation() => StoreError::Conflict(what),
            _ => StoreError::Database(e),
        }
    }
}
