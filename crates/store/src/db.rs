//! Opening a store from a URL, applying the embedded migrations, and running one query text on either backend.

use std::str::FromStr;
use std::sync::Arc;
use std::time::Duration;

use sqlx::postgres::{PgConnectOptions, PgPool, PgPoolOptions};
use sqlx::sqlite::{SqliteConnectOptions, SqliteJournalMode, SqlitePool, SqlitePoolOptions, SqliteSynchronous};

use crate::cache::Cache;
use crate::{Result, StoreError};

/// Runs the same body on whichever pool is open. `read` uses SQLite's reader pool; `write` its single writer
/// connection, so writers never race each other for SQLite's lock (PostgreSQL has one pool for both).
#[macro_export]
#[doc(hidden)]
macro_rules! on_db {
    ($db:expr, read, |$pool:ident| $body:expr) => {
        match $db {
            $crate::Db::Sqlite { reader: $pool, .. } => $body,
            $crate::Db::Postgres { pool: $pool, .. } => $body,
        }
    };
    ($db:expr, write, |$pool:ident| $body:expr) => {
        match $db {
            $crate::Db::Sqlite { writer: $pool, .. } => $body,
            $crate::Db::Postgres { pool: $pool, .. } => $body,
        }
    };
}

/// An open store. Cloning is cheap (pools are shared).
#[derive(Debug, Clone)]
pub enum Db {
    Sqlite {
        reader: SqlitePool,
        writer: SqlitePool,
        cache: Arc<Cache>,
    },
    Postgres {
        pool: PgPool,
        cache: Arc<Cache>,
    },
}

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Backend {
    Sqlite,
    Postgres,
}

static SQLITE_MIGRATIONS: sqlx::migrate::Migrator = sqlx::migrate!("migrations/sqlite");
static POSTGRES_MIGRATIONS: sqlx::migrate::Migrator = sqlx::migrate!("migrations/postgres");

/// Tuning for opening a store.
#[derive(Debug, Clone)]
pub struct Options {
    /// Most connections in a PostgreSQL pool, or in SQLite's reader pool.
    pub max_connections: u32,
}

impl Default for Options {
    fn default() -> Self {
        Self { max_connections: 16 }
    }
}

impl Db {
    /// Opens `sqlite://PATH` (created if missing) or `postgres://…`. A bare path is taken as a SQLite file.
    pub async fn connect(url: &str) -> Result<Self> {
        Self::connect_with(url, &Options::default()).await
    }

    pub async fn connect_with(url: &str, options: &Options) -> Result<Self> {
        if url.starts_with("postgres://") || url.starts_with("postgresql://") {
            let connect = PgConnectOptions::from_str(url).map_err(|e| StoreError::BadUrl(e.to_string()))?;
            let pool = PgPoolOptions::new()
                .max_connections(options.max_connections)
                .acquire_timeout(Duration::from_secs(10))
                .connect_with(connect)
                .await?;
            return Ok(Self::Postgres {
                pool,
                cache: Cache::new(),
            });
        }
        let path = url
            .strip_prefix("sqlite://")
            .or_else(|| url.strip_prefix("sqlite:"))
            .unwrap_or(url);
        if path.is_empty() || path.contains("://") {
            return Err(StoreError::BadUrl(format!(
                "expected sqlite://PATH or postgres://…, got {url:?}"
            )));
        }
        let connect = SqliteConnectOptions::new()
            .filename(path)
            .create_if_missing(true)
            .journal_mode(SqliteJournalMode::Wal)
            // FULL: a committed transaction survives power loss, not just a process crash.
            .synchronous(SqliteSynchronous::Full)
            .foreign_keys(true)
            .busy_timeout(Duration::from_secs(10));
        let writer = SqlitePoolOptions::new()
            .max_connections(1)
            .acquire_timeout(Duration::from_secs(30))
            .connect_with(connect.clone())
            .await?;
        let reader = SqlitePoolOptions::new()
            .max_connections(options.max_connections.max(1))
            .acquire_timeout(Duration::from_secs(30))
            .connect_with(connect.read_only(true))
            .await?;
        Ok(Self::Sqlite {
            reader,
            writer,
            cache: Cache::new(),
        })
    }

    pub fn backend(&self) -> Backend {
        match self {
            Self::Sqlite { .. } => Backend::Sqlite,
            Self::Postgres { .. } => Backend::Postgres,
        }
    }

    /// What access decisions rest on, kept between requests (see [`crate::cache`]).
    pub(crate) fn cache(&self) -> &Cache {
        match self {
            Self::Sqlite { cache, .. } | Self::Postgres { cache, .. } => cache,
        }
    }

    /// Applies any migrations not yet applied. Safe to run from several nodes at once on PostgreSQL (sqlx takes an
    /// advisory lock).
    pub async fn migrate(&self) -> Result<()> {
        match self {
            Self::Sqlite { writer, .. } => SQLITE_MIGRATIONS.run(writer).await?,
            Self::Postgres { pool, .. } => POSTGRES_MIGRATIONS.run(pool).await?,
        }
        Ok(())
    }

    /// True when the database answers a trivial query (readiness).
    pub async fn ping(&self) -> bool {
        let r: std::result::Result<i32, sqlx::Error> =
            on_db!(self, read, |p| sqlx::query_scalar("SELECT 1").fetch_one(p).await);
        r.is_ok()
    }

    /// Tables and their columns, for checking that both backends' migrations agree.
    pub async fn schema(&self) -> Result<Vec<(String, String)>> {
        let rows: Vec<(String, String)> = match self {
            Self::Sqlite { reader, .. } => {
                sqlx::query_as(
                    "SELECT m.name, p.name FROM sqlite_master m JOIN pragma_table_info(m.name) p \
                     WHERE m.type = 'table' AND m.name NOT LIKE 'sqlite_%' AND m.name NOT LIKE '_sqlx%' \
                     ORDER BY m.name, p.name",
                )
                .fetch_all(reader)
                .await?
            }
            Self::Postgres { pool, .. } => {
                sqlx::query_as(
                    "SELECT table_name::text, column_name::text FROM information_schema.columns \
                     WHERE table_schema = current_schema() AND table_name NOT LIKE '_sqlx%' \
                     ORDER BY table_name, column_name",
                )
                .fetch_all(pool)
                .await?
            }
        };
        Ok(rows)
    }

    /// Closes every connection (graceful shutdown).
    pub async fn close(&self) {
        match self {
            Self::Sqlite { reader, writer, .. } => {
                reader.close().await;
                writer.close().await;
            }
            Self::Postgres { pool, .. } => pool.close().await,
        }
    }
}
