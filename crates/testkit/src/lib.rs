//! Test support shared by every crate: a fresh database per test on either backend, and a macro that runs one test
//! body against SQLite and against PostgreSQL.
//!
//! PostgreSQL tests need `CAREPACT_TEST_POSTGRES_URL` pointing at a server where the user may create databases; the
//! project's test command (`scripts/test`) starts a throwaway server and sets it. Each test gets its own database,
//! cloned from a template that was migrated once per server and migration set.

use std::hash::{Hash, Hasher};

use anyhow::{Context, Result, bail};
pub use carepact_store::{Backend, Db};
use sqlx::Connection;
use sqlx::postgres::PgConnection;
use tempfile::TempDir;

pub const POSTGRES_ENV: &str = "CAREPACT_TEST_POSTGRES_URL";

/// A database for one test. SQLite files live in a temporary directory removed on drop.
pub struct TestDb {
    pub db: Db,
    pub url: String,
    _dir: Option<TempDir>,
}

impl TestDb {
    pub async fn new(backend: Backend) -> Result<Self> {
        match backend {
            Backend::Sqlite => Self::sqlite().await,
            Backend::Postgres => Self::postgres().await,
        }
    }

    pub async fn sqlite() -> Result<Self> {
        let dir = tempfile::tempdir()?;
        let url = format!("sqlite://{}", dir.path().join("carepact.db").display());
        let db = Db::connect(&url).await?;
        db.migrate().await?;
        Ok(Self {
            db,
            url,
            _dir: Some(dir),
        })
    }

    pub async fn postgres() -> Result<Self> {
        let url = postgres_database().await?;
        let db = Db::connect(&url).await?;
        Ok(Self { db, url, _dir: None })
    }
}

/// The server URL for PostgreSQL tests, or a clear failure saying how to get one.
pub fn postgres_server_url() -> Result<String> {
    std::env::var(POSTGRES_ENV).with_context(|| {
        format!(
            "{POSTGRES_ENV} is not set: PostgreSQL tests need a server. Run the project's test command \
             (scripts/test), or scripts/with-postgres cargo test"
        )
    })
}

fn migrations_fingerprint() -> u64 {
    let dir = std::path::Path::new(env!("CARGO_MANIFEST_DIR")).join("../store/migrations/postgres");
    let mut names: Vec<_> = std::fs::read_dir(&dir)
        .map(|d| d.filter_map(|e| e.ok()).map(|e| e.path()).collect())
        .unwrap_or_default();
    names.sort();
    let mut hasher = std::collections::hash_map::DefaultHasher::new();
    for path in names {
        path.file_name().hash(&mut hasher);
        std::fs::read(&path).unwrap_or_default().hash(&mut hasher);
    }
    hasher.finish()
}

/// Creates a new, migrated database on the test server and returns its URL.
pub async fn postgres_database() -> Result<String> {
    let server = postgres_server_url()?;
    let template = format!("carepact_template_{:016x}", migrations_fingerprint());
    let mut admin = PgConnection::connect(&server)
        .await
        .with_context(|| format!("connecting to {server}"))?;
    // One process at a time builds the template or copies it (copying needs no one connected to the template).
    sqlx::query("SELECT pg_advisory_lock(727274)")
        .execute(&mut admin)
        .await?;
    let result = async {
        let exists: bool = sqlx::query_scalar("SELECT EXISTS (SELECT 1 FROM pg_database WHERE datname = $1)")
            .bind(&template)
            .fetch_one(&mut admin)
            .await?;
        if !exists {
            sqlx::raw_sql(sqlx::AssertSqlSafe(format!("CREATE DATABASE {template}")))
                .execute(&mut admin)
                .await?;
            let db = Db::connect(&with_database(&server, &template)?).await?;
            db.migrate().await?;
            db.close().await;
        }
        let name = format!("carepact_test_{}", uuid::Uuid::now_v7().simple());
        sqlx::raw_sql(sqlx::AssertSqlSafe(format!(
            "CREATE DATABASE {name} TEMPLATE {template}"
        )))
        .execute(&mut admin)
        .await?;
        with_database(&server, &name)
    }
    .await;
    sqlx::query("SELECT pg_advisory_unlock(727274)")
        .execute(&mut admin)
        .await?;
    result
}

/// Replaces the database name in a PostgreSQL URL.
pub fn with_database(server: &str, database: &str) -> Result<String> {
    let (base, query) = match server.split_once('?') {
        Some((b, q)) => (b, Some(q)),
        None => (server, None),
    };
    let Some(scheme_end) = base.find("://") else {
        bail!("not a URL: {server}")
    };
    let after = &base[scheme_end + 3..];
    let host_end = after.find('/').map(|i| scheme_end + 3 + i).unwrap_or(base.len());
    let mut url = format!("{}/{database}", &base[..host_end]);
    if let Some(q) = query {
        url.push('?');
        url.push_str(q);
    }
    Ok(url)
}

/// Runs each test body twice, as `NAME::sqlite` and `NAME::postgres`. The fixture is an async function taking a
/// [`Backend`] and returning `anyhow::Result<T>`; each body takes that `T`.
///
/// ```ignore
/// carepact_testkit::backend_tests! {
///     fixture = fixture;
///     async fn organisations_are_listed(db: TestDb) { ... Ok(()) }
/// }
/// ```
#[macro_export]
macro_rules! backend_tests {
    (fixture = $fixture:path; $( async fn $name:ident($arg:ident : $ty:ty) $body:block )*) => {
        $(
            mod $name {
                #[allow(unused_imports)]
                use super::*;

                async fn body($arg: $ty) -> ::anyhow::Result<()> $body

                #[::tokio::test(flavor = "multi_thread", worker_threads = 2)]
                async fn sqlite() -> ::anyhow::Result<()> {
                    body($fixture($crate::Backend::Sqlite).await?).await
                }

                #[::tokio::test(flavor = "multi_thread", worker_threads = 2)]
                async fn postgres() -> ::anyhow::Result<()> {
                    body($fixture($crate::Backend::Postgres).await?).await
                }
            }
        )*
    };
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn replaces_the_database_in_a_url() {
        assert_eq!(
            with_database("postgres://u@127.0.0.1:5432/postgres", "x").unwrap(),
            "postgres://u@127.0.0.1:5432/x"
        );
        assert_eq!(with_database("postgres://u@h:1", "x").unwrap(), "postgres://u@h:1/x");
        assert_eq!(
            with_database("postgres://u@h:1/db?sslmode=disable", "x").unwrap(),
            "postgres://u@h:1/x?sslmode=disable"
        );
    }
}
