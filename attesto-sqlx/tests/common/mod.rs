//! Test databases: temporary SQLite files and throw-away PostgreSQL schemas.
//!
//! PostgreSQL tests run when `ATTESTO_TEST_POSTGRES_URL` is set. Without it
//! they print `*** SKIPPED: …` (straight to stderr, past the test harness's
//! output capture, so CI logs show it) and pass, unless
//! `ATTESTO_REQUIRE_POSTGRES=1`, which makes the missing URL a failure.
// Shared by several test binaries: not every binary uses every helper.
#![allow(
    dead_code,
    unreachable_pub,
    clippy::unwrap_used,
    clippy::expect_used,
    clippy::panic
)]

use std::io::Write as _;
use std::path::PathBuf;
use std::str::FromStr as _;
use std::time::Duration;

use attesto::secret::fill_random;
use attesto_sqlx::sqlx::postgres::{PgConnectOptions, PgPoolOptions};
use attesto_sqlx::sqlx::sqlite::{SqliteConnectOptions, SqlitePoolOptions};
use attesto_sqlx::{PgStores, SqliteStores, TablePrefix};

/// The environment variable naming the PostgreSQL test database.
pub const POSTGRES_URL_VAR: &str = "ATTESTO_TEST_POSTGRES_URL";
/// Set to `1` to fail instead of skipping when the URL is missing.
pub const REQUIRE_POSTGRES_VAR: &str = "ATTESTO_REQUIRE_POSTGRES";

/// Pool size for SQLite tests (the brief's "pool of 8").
pub const SQLITE_POOL: u32 = 8;
/// Pool size for PostgreSQL tests (the brief's "pool of 16").
pub const PG_POOL: u32 = 16;

/// A random lowercase hex string (identifier- and file-name-safe).
pub fn random_hex(bytes: usize) -> String {
    let mut buf = vec![0_u8; bytes];
    fill_random(&mut buf).unwrap();
    buf.iter().map(|b| format!("{b:02x}")).collect()
}

/// Print a line the harness does not capture.
pub fn loud(line: &str) {
    let _ = writeln!(std::io::stderr(), "{line}");
}

// ---------------------------------------------------------------------------
// SQLite

/// A fresh database file in a temporary directory, removed on drop.
pub struct SqliteDb {
    dir: PathBuf,
    pub path: PathBuf,
}

impl SqliteDb {
    pub fn new() -> Self {
        let dir = std::env::temp_dir().join(format!("attesto-sqlx-test-{}", random_hex(8)));
        std::fs::create_dir_all(&dir).unwrap();
        let path = dir.join("stores.db");
        Self { dir, path }
    }

    pub fn url(&self) -> String {
        format!("sqlite://{}?mode=rwc", self.path.display())
    }

    /// A new pool (standing in for one node) over the file, unmigrated.
    pub async fn pool(&self, max_connections: u32) -> SqliteStores {
        SqliteStores::connect_with(
            SqliteConnectOptions::from_str(&self.url()).unwrap(),
            SqlitePoolOptions::new()
                .max_connections(max_connections)
                .acquire_timeout(Duration::from_secs(60)),
        )
        .await
        .unwrap()
    }

    /// A new, migrated pool under `prefix`.
    pub async fn node(&self, prefix: &TablePrefix) -> SqliteStores {
        self.pool(SQLITE_POOL)
            .await
            .with_prefix(prefix.clone())
            .migrate()
            .await
            .unwrap()
    }
}

impl Drop for SqliteDb {
    fn drop(&mut self) {
        let _ = std::fs::remove_dir_all(&self.dir);
    }
}

// ---------------------------------------------------------------------------
// PostgreSQL

/// PostgreSQL tests of one binary run one at a time, so their pools (16
/// connections each, two per test) stay well inside the server's limit.
static PG_SERIAL: tokio::sync::Mutex<()> = tokio::sync::Mutex::const_new(());

/// The PostgreSQL URL, or `None` after printing the skip line (or a panic
/// when PostgreSQL is required).
pub fn postgres_url(test: &str) -> Option<String> {
    match std::env::var(POSTGRES_URL_VAR) {
        Ok(url) if !url.is_empty() => Some(url),
        _ => {
            if std::env::var(REQUIRE_POSTGRES_VAR).is_ok_and(|v| v == "1") {
                panic!("{REQUIRE_POSTGRES_VAR}=1 but {POSTGRES_URL_VAR} is not set ({test})");
            }
            loud(&format!(
                "*** SKIPPED: {test}: PostgreSQL test (set {POSTGRES_URL_VAR}, e.g. postgres://postgres@127.0.0.1:5432/test)"
            ));
            None
        }
    }
}

/// A schema of its own, dropped (with everything in it) on drop.
pub struct PgDb {
    url: String,
    pub schema: String,
    _serial: tokio::sync::MutexGuard<'static, ()>,
}

impl PgDb {
    /// Create the schema, or `None` when PostgreSQL tests are skipped.
    pub async fn new(test: &str) -> Option<Self> {
        let url = postgres_url(test)?;
        let serial = PG_SERIAL.lock().await;
        let schema = format!("attesto_test_{}", random_hex(6));
        let admin = PgPoolOptions::new()
            .max_connections(1)
            .connect(&url)
            .await
            .unwrap();
        attesto_sqlx::sqlx::raw_sql(attesto_sqlx::sqlx::AssertSqlSafe(format!(
            "CREATE SCHEMA {schema}"
        )))
        .execute(&admin)
        .await
        .unwrap();
        admin.close().await;
        Some(Self {
            url,
            schema,
            _serial: serial,
        })
    }

    pub fn options(&self) -> PgConnectOptions {
        PgConnectOptions::from_str(&self.url)
            .unwrap()
            .options([("search_path", self.schema.as_str())])
    }

    /// A new pool (standing in for one node) in the schema, unmigrated.
    pub async fn pool(&self, max_connections: u32) -> PgStores {
        PgStores::connect_with(
            self.options(),
            PgPoolOptions::new()
                .max_connections(max_connections)
                .acquire_timeout(Duration::from_secs(60)),
        )
        .await
        .unwrap()
    }

    /// A new, migrated pool under `prefix`.
    pub async fn node(&self, prefix: &TablePrefix) -> PgStores {
        self.pool(PG_POOL)
            .await
            .with_prefix(prefix.clone())
            .migrate()
            .await
            .unwrap()
    }
}

impl Drop for PgDb {
    fn drop(&mut self) {
        // Runs on panics too; a thread of its own, since Drop cannot await
        // and may run inside the test's runtime.
        let url = self.url.clone();
        let schema = self.schema.clone();
        let dropped = std::thread::spawn(move || {
            let rt = tokio::runtime::Builder::new_current_thread()
                .enable_all()
                .build()
                .unwrap();
            rt.block_on(async {
                let admin = PgPoolOptions::new()
                    .max_connections(1)
                    .connect(&url)
                    .await?;
                attesto_sqlx::sqlx::raw_sql(attesto_sqlx::sqlx::AssertSqlSafe(format!(
                    "DROP SCHEMA IF EXISTS {schema} CASCADE"
                )))
                .execute(&admin)
                .await?;
                admin.close().await;
                Ok::<(), attesto_sqlx::sqlx::Error>(())
            })
        })
        .join();
        if !matches!(dropped, Ok(Ok(()))) {
            loud(&format!(
                "warning: could not drop test schema {}",
                self.schema
            ));
        }
    }
}
