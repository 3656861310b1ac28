//! The PostgreSQL backend (feature `postgres`): shared state for clusters.
//!
//! Every node of a deployment opens its own pool to the same database; the
//! single-use guarantees hold across all of them because each is decided by
//! one statement, which PostgreSQL serialises per row: of concurrent
//! `UPDATE … WHERE redeemed_at IS NULL` on one row, the first wins and the
//! others re-check the condition against the committed row (READ COMMITTED's
//! re-evaluation) and match nothing.
//!
//! Refresh rotation and family revocation are serialised per family by a row
//! lock on the family's `refresh_families` row: rotation takes it with
//! `SELECT … FOR UPDATE` before it reads the token, and revocation is an
//! `UPDATE` of that row. Revocation lives on the family row, so it also
//! covers tokens inserted later (no phantom successor can stay live).
//!
//! No TLS support is compiled in: connect over a trusted network or a local
//! socket (`sslmode=disable` or the default `prefer`).

use std::str::FromStr;
use std::time::Duration;

use sqlx::postgres::{PgConnectOptions, PgPool, PgPoolOptions};
use sqlx::{AssertSqlSafe, Postgres, Transaction, raw_sql};

use crate::SetupError;
use crate::migrate::{Migration, pending};
use crate::rows::MigrationRow;
use crate::sql::Dialect;
// `TablePrefix`, `Pool`, `Arc` and the store traits come in with `sql_stores!`.

type Db = Postgres;
const DIALECT: Dialect = Dialect::Postgres;

/// The PostgreSQL migrations, in order.
const MIGRATIONS: &[Migration] = &[Migration {
    version: 1,
    description: "store tables",
    template: include_str!("../migrations/postgres/0001_initial.sql"),
}];

/// How long [`PgStores::connect`]'s pool waits for a free (or new)
/// connection before an operation fails with `StoreError::Unavailable` (503):
/// during an outage requests fail fast instead of queueing for sqlx's
/// default 30 s.
pub const DEFAULT_ACQUIRE_TIMEOUT: Duration = Duration::from_secs(5);

/// Connections in the pool [`PgStores::connect`] opens.
pub const DEFAULT_MAX_CONNECTIONS: u32 = 16;

async fn begin_write(pool: &PgPool) -> Result<Transaction<'static, Postgres>, sqlx::Error> {
    // sqlx sends `BEGIN` without logging it (it does log `COMMIT`): log it
    // here, with the fields of sqlx's own statement events (see the crate docs).
    crate::log_unlogged_statement("BEGIN");
    pool.begin().await
}

async fn commit_write(tx: Transaction<'static, Postgres>) -> Result<(), sqlx::Error> {
    // sqlx logs this `COMMIT` itself.
    tx.commit().await
}

crate::stores::sql_stores! {
    backend: "PostgreSQL",
    bundle: PgStores,
    codes: PgAuthorizationCodeStore,
    refresh: PgRefreshTokenStore,
    par: PgParStore,
    nonces: PgDpopNonceStore,
    replay: PgReplayStore,
    device: PgDeviceCodeStore,
    consent: PgConsentGrantStore,
    logout: PgLogoutSessionStore,
    cimd: PgClientMetadataCache,
}

impl PgStores {
    /// Connect to `url` (e.g. `postgres://attesto@db.internal/attesto`) with a
    /// pool of 16 connections, under the default prefix `attesto_`. Tables
    /// are created in the connection's current schema (the first schema of
    /// its `search_path`). Call [`migrate`](Self::migrate) before first use.
    ///
    /// # Errors
    /// [`SetupError::Connect`] for a malformed URL or an unreachable server.
    pub async fn connect(url: &str) -> Result<Self, SetupError> {
        let options = PgConnectOptions::from_str(url).map_err(SetupError::Connect)?;
        Self::connect_with(
            options,
            PgPoolOptions::new()
                .max_connections(DEFAULT_MAX_CONNECTIONS)
                .acquire_timeout(DEFAULT_ACQUIRE_TIMEOUT),
        )
        .await
    }

    /// Connect with explicit connection and pool options (for example a
    /// `search_path` through [`PgConnectOptions::options`]).
    ///
    /// # Errors
    /// [`SetupError::Connect`] if the server cannot be reached.
    pub async fn connect_with(
        options: PgConnectOptions,
        pool_options: PgPoolOptions,
    ) -> Result<Self, SetupError> {
        let pool = pool_options
            .connect_with(options)
            .await
            .map_err(SetupError::Connect)?;
        Ok(Self::new(pool))
    }

    /// Stores over an existing pool, under the default prefix.
    #[must_use]
    pub fn new(pool: PgPool) -> Self {
        Self::assemble(pool, TablePrefix::default())
    }
}

async fn migrate(pool: &PgPool, prefix: &TablePrefix) -> Result<Vec<i64>, SetupError> {
    let mut tx = begin_write(pool).await.map_err(SetupError::Migrate)?;
    // Concurrent migrations of the same tables (same schema and prefix) wait
    // here for each other; the lock is released at commit or rollback.
    sqlx::query(
        "SELECT pg_advisory_xact_lock(hashtextextended(\
           'attesto_sqlx.migrate:' || coalesce(current_schema(), '') || ':' || $1, 0))",
    )
    .bind(prefix.as_str())
    .execute(&mut *tx)
    .await
    .map_err(SetupError::Migrate)?;
    let table = prefix.table("schema_migrations");
    raw_sql(AssertSqlSafe(format!(
        "CREATE TABLE IF NOT EXISTS {table} (\
           version BIGINT PRIMARY KEY, \
           description TEXT NOT NULL, \
           checksum BYTEA NOT NULL, \
           applied_at BIGINT NOT NULL DEFAULT (EXTRACT(EPOCH FROM now())::BIGINT)\
         )"
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
