//! What every handler can reach: the store, the clock, configuration, the message catalogue and metrics.

use std::sync::Arc;

use carepact_domain::Clock;
use carepact_store::Db;
use carepact_store::audit::AuditWriter;
use carepact_store::readings::ReadingWriter;

use crate::config::Config;
use crate::i18n::Catalogue;
use crate::metrics::Metrics;
use crate::passwords::PasswordHasher;

#[derive(Clone)]
pub struct AppState {
    pub db: Db,
    pub clock: Arc<dyn Clock>,
    pub config: Arc<Config>,
    pub catalogue: Arc<Catalogue>,
    pub(crate) metrics: Arc<Metrics>,
    pub passwords: PasswordHasher,
    /// Group-committing audit writer: every access to a person's data is recorded through it.
    pub audit: AuditWriter,
    /// Group-committing writer for readings added one at a time (forms, apps, devices).
    pub readings: ReadingWriter,
}

impl AppState {
    pub fn new(db: Db, clock: Arc<dyn Clock>, config: Config) -> anyhow::Result<Self> {
        Ok(Self {
            audit: AuditWriter::start(db.clone()),
            readings: ReadingWriter::start(db.clone()),
            db,
            clock,
            config: Arc::new(config),
            catalogue: Arc::new(Catalogue::load()?),
            metrics: Arc::new(Metrics::default()),
            passwords: PasswordHasher::new(),
        })
    }

    pub fn now(&self) -> time::OffsetDateTime {
        self.clock.now()
    }
}
