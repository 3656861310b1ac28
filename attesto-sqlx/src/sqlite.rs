//! The SQLite backend (feature `sqlite`): the embedded, single-node default.
//!
//! SQLite has one writer at a time. Single-use operations are one statement
//! each (`UPDATE … RETURNING`, `DELETE … RETURNING`, `INSERT … ON CONFLICT DO
//! NOTHING`), atomic under that write lock. Multi-statement writes (issuing a
//! refresh family, rotating a token, migrating) start with `BEGIN IMMEDIATE`,
//! which takes the write lock up front: a deferred transaction that reads and
//! then writes could fail with `SQLITE_BUSY` when another connection committed
//! in between, while `BEGIN IMMEDIATE` simply waits (up to the busy timeout).
//!
//! [`SqliteStores::connect`] opens the database in WAL mode (readers never
//! block the writer) with a 5 s busy timeout, `synchronous = NORMAL` (durable
//! across application crashes; the last transactions may roll back on power
//! loss, which for short-lived single-use state only fails closed) and foreign
//! keys on, in a pool of 8 connections.

use std::str::FromStr;
use std::time::Duration;

use sqlx::sqlite::{
    SqliteConnectOptions, SqliteJournalMode, SqlitePool, SqlitePoolOptions, SqliteSynchronous,
};
use sqlx::{AssertSqlSafe, Sqlite, Transaction, raw_sql};

use crate::SetupError;
use crate::migrate::{Migration, pending};
use crate::rows::MigrationRow;
use crate::sql::Dialect;
// `TablePrefix`, `Pool`, `Arc` and the store traits come in with `sql_stores!`.

type Db = Sqlite;
const DIALECT: Dialect = Dialect::Sqlite;

/// The SQLite migrations, in order.
const MIGRATIONS: &[Migration] = &[Migration {
    version: 1,
    description: "store tables",
    template: include_str!("../migrations/sqlite/0001_initial.sql"),
}];

/// How long [`SqliteStores::connect`]'s pool waits for a free (or new)
/// connection before an operation fails with `StoreError::Unavailable` (503):
/// during an outage requests fail fast instead of queueing for sqlx's
/// default 30 s.
pub const DEFAULT_ACQUIRE_TIMEOUT: Duration = Duration::from_secs(5);

/// Connections in the pool [`SqliteStores::connect`] opens.
pub const DEFAULT_MAX_CONNECTIONS: u32 = 8;

/// How long a connection waits for the write lock before failing with
/// [`StoreError::Unavailable`].
pub const DEFAULT_BUSY_TIMEOUT: Duration = Duration::from_secs(5);

async fn begin_write(pool: &SqlitePool) -> Result<Transaction<'static, Sqlite>, sqlx::Error> {
    // sqlx does not log transaction control on SQLite: log it here, with
    // the fields of sqlx's own statement events (see the crate docs).
    crate::log_unlogged_statement("BEGIN IMMEDIATE");
    pool.begin_with("BEGIN IMMEDIATE").await
}

async fn commit_write(tx: Transaction<'static, Sqlite>) -> Result<(), sqlx::Error> {
    crate::log_unlogged_statement("COMMIT");
    tx.commit().await
}

crate::stores::sql_stores! {
    backend: "SQLite",
    bundle: SqliteStores,
    codes: SqliteAuthorizationCodeStore,
    refresh: SqliteRefreshTokenStore,
    par: SqliteParStore,
    nonces: SqliteDpopNonceStore,
    replay: SqliteReplayStore,
    device: SqliteDeviceCodeStore,
    consent: SqliteConsentGrantStore,
    logout: SqliteLogoutSessionStore,
    cimd: SqliteClientMetadataCache,
}

impl SqliteStores {
    /// Open (or, with `?mode=rwc`, create) the database at `url`, e.g.
    /// `sqlite://attesto.db?mode=rwc`, with the settings described in the
    /// [module documentation](self), under the default prefix `attesto_`.
    /// Call [`migrate`](Self::migrate) before first use.
    ///
    /// # Errors
    /// [`SetupError::Connect`] for a malformed URL or an unopenable file.
    pub async fn connect(url: &str) -> Result<Self, SetupError> {
        let options = SqliteConnectOptions::from_str(url)
            .map_err(SetupError::Connect)?
            .busy_timeout(DEFAULT_BUSY_TIMEOUT);
        let pool_options = SqlitePoolOptions::new()
            .max_connections(DEFAULT_MAX_CONNECTIONS)
            .acquire_timeout(DEFAULT_ACQUIRE_TIMEOUT);
        if url_is_in_memory(url) {
            Self::open(options, pool_options, true).await
        } else {
            Self::connect_with(options, pool_options).await
        }
    }

    /// Open a pool from explicit options. WAL mode, `synchronous = NORMAL`
    /// and foreign keys are applied on top of `options`; everything else
    /// (file, create mode, busy timeout — sqlx's default is 5 s — pool size,
    /// acquire timeout) is the caller's.
    ///
    /// An in-memory database (`sqlite::memory:`, for tests and demos) gets a
    /// pool of exactly one connection that is never closed: the database
    /// lives only as long as a connection to it, and SQLite's shared cache
    /// (the only way to share it between connections) fails concurrent
    /// writers instead of queueing them. All state is lost when the pool
    /// closes.
    ///
    /// # Errors
    /// [`SetupError::Connect`] if the database cannot be opened.
    pub async fn connect_with(
        options: SqliteConnectOptions,
        pool_options: SqlitePoolOptions,
    ) -> Result<Self, SetupError> {
        let in_memory = options_are_in_memory(&options);
        Self::open(options, pool_options, in_memory).await
    }

    async fn open(
        options: SqliteConnectOptions,
        pool_options: SqlitePoolOptions,
        in_memory: bool,
    ) -> Result<Self, SetupError> {
        let pool_options = if in_memory {
            // An in-memory database lives as long as a connection to it and
            // is shared between connections only through SQLite's shared
            // cache, whose table locks fail at once (`SQLITE_LOCKED`) instead
            // of waiting. One connection, kept forever, avoids both.
            pool_options
                .max_connections(1)
                .min_connections(1)
                .idle_timeout(None)
                .max_lifetime(None)
        } else {
            pool_options
        };
        let options = options
            .journal_mode(SqliteJournalMode::Wal)
            .synchronous(SqliteSynchronous::Normal)
            .foreign_keys(true);
        let pool = pool_options
            .connect_with(options)
            .await
            .map_err(SetupError::Connect)?;
        Ok(Self::new(pool))
    }

    /// Stores over an existing pool, under the default prefix. The pool
    /// should use WAL mode and a busy timeout (see
    /// [`connect_with`](Self::connect_with)).
    #[must_use]
    pub fn new(pool: SqlitePool) -> Self {
        Self::assemble(pool, TablePrefix::default())
    }
}

/// Whether a connection URL names an in-memory database (`sqlite::memory:`,
/// `:memory:`, or `mode=memory`).
fn url_is_in_memory(url: &str) -> bool {
    let url = url.to_ascii_lowercase();
    url.contains(":memory:") || url.split(['?', '&']).any(|param| param == "mode=memory")
}

/// Whether parsed options name an in-memory database: sqlx names the
/// database of `sqlite::memory:` `file:sqlx-in-memory-N`.
fn options_are_in_memory(options: &SqliteConnectOptions) -> bool {
    options
        .get_filename()
        .to_str()
        .is_some_and(|name| name == ":memory:" || name.starts_with("file:sqlx-in-memory-"))
}

async fn migrate(pool: &SqlitePool, prefix: &TablePrefix) -> Result<Vec<i64>, SetupError> {
    let mut tx = begin_write(pool).await.map_err(SetupError::Migrate)?;
    let table = prefix.table("schema_migrations");
    raw_sql(AssertSqlSafe(format!(
        "CREATE TABLE IF NOT EXISTS {table} (\
           version INTEGER PRIMARY KEY, \
           description TEXT NOT NULL, \
           checksum BLOB NOT NULL, \
           applied_at INTEGER NOT NULL DEFAULT (CAST(strftime('%s', 'now') AS INTEGER))\
         ) STRICT"
    )))
    .execute(&mut *tx)
    .await
    .map_err(SetupError::Migrate)?;
    let applied = sqlx::query_as::<_, MigrationRow>(AssertSqlSafe(format!(
        "SELECT version, checksum FROM {table} ORDER BY version"
    )))
    .fetch_all(&mut *tx)
    .await
    .map_err(SetupError::Migrate)?;
    let mut done = Vec::new();
    for migration in pending(&applied, MIGRATIONS)? {
        raw_sql(AssertSqlSafe(prefix.render(migration.template)))
            .execute(&mut *tx)
            .await
            .map_err(SetupError::Migrate)?;
        sqlx::query(AssertSqlSafe(format!(
            "INSERT INTO {table} (version, description, checksum) VALUES ($1, $2, $3)"
        )))
        .bind(migration.version)
        .bind(migration.description)
        .bind(migration.checksum().as_slice())
        .execute(&mut *tx)
        .await
        .map_err(SetupError::Migrate)?;
        done.push(migration.version);
    }
    commit_write(tx).await.map_err(SetupError::Migrate)?;
    Ok(done)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn in_memory_databases_are_recognised() {
        for url in [
            "sqlite::memory:",
            "sqlite://:memory:",
            "sqlite://x.db?mode=memory&cache=shared",
        ] {
            assert!(url_is_in_memory(url), "{url}");
        }
        for url in [
            "sqlite://attesto.db?mode=rwc",
            "sqlite:///var/lib/memory.db",
        ] {
            assert!(!url_is_in_memory(url), "{url}");
        }
        let parsed = SqliteConnectOptions::from_str("sqlite::memory:").unwrap();
        assert!(options_are_in_memory(&parsed));
        let file = SqliteConnectOptions::from_str("sqlite://attesto.db").unwrap();
        assert!(!options_are_in_memory(&file));
    }
}
