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

/// Connections in the pool [`SqliteStores::connect`] opens.
pub const DEFAULT_MAX_CONNECTIONS: u32 = 8;

/// How long a connection waits for the write lock before failing with
/// [`StoreError::Unavailable`].
pub const DEFAULT_BUSY_TIMEOUT: Duration = Duration::from_secs(5);

async fn begin_write(pool: &SqlitePool) -> Result<Transaction<'static, Sqlite>, sqlx::Error> {
    pool.begin_with("BEGIN IMMEDIATE").await
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
        Self::connect_with(
            options,
            SqlitePoolOptions::new().max_connections(DEFAULT_MAX_CONNECTIONS),
        )
        .await
    }

    /// Open a pool from explicit options. WAL mode, `synchronous = NORMAL`
    /// and foreign keys are applied on top of `options`; everything else
    /// (file, create mode, busy timeout — sqlx's default is 5 s — pool size,
    /// acquire timeout) is the caller's.
    ///
    /// # Errors
    /// [`SetupError::Connect`] if the database cannot be opened.
    pub async fn connect_with(
        options: SqliteConnectOptions,
        pool_options: SqlitePoolOptions,
    ) -> Result<Self, SetupError> {
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
    tx.commit().await.map_err(SetupError::Migrate)?;
    Ok(done)
}
