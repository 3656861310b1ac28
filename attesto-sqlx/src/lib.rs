//! SQLite and PostgreSQL implementations of every [`attesto`] store
//! trait ([`attesto::store`]).
//!
//! * [`SqliteStores`] (feature `sqlite`): the embedded default for a single
//!   node, zero setup: one file.
//! * [`PgStores`] (feature `postgres`): shared state for N stateless nodes
//!   behind a load balancer.
//!
//! Both implement [`attesto::store::Stores`], the bundle the server runtime
//! takes, and pass attesto's generic conformance suite with two pools over
//! one database standing in for two nodes.
//!
//! ```no_run
//! # #[cfg(all(feature = "sqlite", feature = "postgres"))]
//! # async fn demo() -> Result<(), attesto_sqlx::SetupError> {
//! use attesto_sqlx::{PgStores, SqliteStores};
//!
//! // One node, one file:
//! let stores = SqliteStores::connect("sqlite://attesto.db?mode=rwc").await?.migrate().await?;
//!
//! // A cluster: every node connects to the same database; migrating from
//! // several nodes at once is safe (they serialise on an advisory lock).
//! let stores = PgStores::connect("postgres://attesto@db.internal/attesto").await?.migrate().await?;
//! # Ok(()) }
//! ```
//!
//! A complete round trip, on a temporary SQLite file:
//!
//! ```
//! # #[cfg(feature = "sqlite")]
//! # #[tokio::main(flavor = "current_thread")]
//! # async fn main() -> Result<(), Box<dyn std::error::Error>> {
//! use attesto::store::{
//!     AuthorizationCodeRecord, AuthorizationCodeStore, CodeRedemption, Confirmation, Stores,
//!     TokenHash,
//! };
//! use attesto_sqlx::SqliteStores;
//!
//! let dir = std::env::temp_dir().join(format!("attesto-sqlx-doc-{}", std::process::id()));
//! std::fs::create_dir_all(&dir)?;
//! let url = format!("sqlite://{}?mode=rwc", dir.join("doc.db").display());
//! let stores = SqliteStores::connect(&url).await?.migrate().await?;
//!
//! let codes = stores.authorization_codes();
//! let hash = TokenHash::of("the-raw-code-sent-to-the-client");
//! codes
//!     .insert(AuthorizationCodeRecord {
//!         code_hash: hash,
//!         client_id: "client-a".into(),
//!         redirect_uri: Some("https://client.example/cb".into()),
//!         scope: vec!["openid".into()],
//!         code_challenge: None,
//!         nonce: None,
//!         subject: "user-1".into(),
//!         auth_time: None,
//!         acr: None,
//!         amr: vec![],
//!         sid: None,
//!         resource: vec![],
//!         confirmation: Confirmation::none(),
//!         claims: None,
//!         issued_at: 1_000,
//!         expires_at: 1_060,
//!     })
//!     .await?;
//! assert!(matches!(codes.redeem(hash, 1_010).await?, CodeRedemption::Redeemed(_)));
//! assert!(matches!(codes.redeem(hash, 1_011).await?, CodeRedemption::AlreadyRedeemed { .. }));
//!
//! stores.close().await;
//! std::fs::remove_dir_all(&dir)?;
//! # Ok(()) }
//! # #[cfg(not(feature = "sqlite"))]
//! # fn main() {}
//! ```
//!
//! # Schema
//!
//! [`migrate`](SqliteStores::migrate) creates ten tables (and
//! `{prefix}schema_migrations`), every name starting with the
//! [`TablePrefix`] (default `attesto_`):
//!
//! | table | key | holds |
//! |---|---|---|
//! | `authorization_codes` | `code_hash` | the code record, `redeemed_at`, what the redemption issued |
//! | `refresh_families` | `family_id` | the family's absolute expiry and sticky `revoked_at` |
//! | `refresh_tokens` | `token_hash` | lineage, grant, `rotated_at`, successor hash and sealed successor |
//! | `pushed_authorization_requests` | `request_uri_hash` | client and request parameters |
//! | `dpop_nonces` | `nonce_hash` | issue and expiry time, `used_at` |
//! | `jti_replays` | `(namespace, key_hash)` | expiry of each seen `jti` key |
//! | `device_codes` | `device_code_hash`, unique `user_code_hash` | status, approval, poll interval and time |
//! | `consent_grants` | `token_hash` | `binding_hash`, `consumed_at` |
//! | `logout_sessions` | `(sid, client_id)` | back-channel logout target |
//! | `client_id_metadata` | `client_id` | the cached metadata document |
//!
//! * **Hashes, never secrets**: codes, tokens, request URIs, nonces, consent
//!   tokens, device and user codes are stored only as their SHA-256
//!   ([`TokenHash`](attesto::store::TokenHash)), 32 bytes (`BYTEA` / `BLOB`,
//!   with a length check).
//! * **Time** is whole seconds since the Unix epoch (`BIGINT` / `INTEGER`),
//!   compared with the caller's `now`; nothing reads the database clock.
//!   Every table has an index on its expiry column for the sweeper.
//! * Lists and structured values (scope, `cnf`, claims, parameters) are JSON
//!   (`JSONB` / JSON text). SQLite tables are `STRICT`.
//! * A refresh family is a row of its own: revocation is one flag on it, so
//!   it also covers successors inserted later, and the family row is the lock
//!   that serialises rotation and revocation.
//!
//! # How the atomic contracts are met
//!
//! | operation | SQL |
//! |---|---|
//! | code `redeem` | `UPDATE … SET redeemed_at = $now WHERE code_hash = $1 AND redeemed_at IS NULL AND expires_at > $now RETURNING …` |
//! | code `record_issued` | `UPDATE … WHERE code_hash = $1 AND redeemed_at IS NOT NULL AND NOT issuance_recorded` |
//! | refresh `rotate` | transaction: SQLite `BEGIN IMMEDIATE`; PostgreSQL `SELECT … FROM refresh_families … FOR UPDATE`; then read, mark rotated (`WHERE rotated_at IS NULL`), insert the successor |
//! | refresh `revoke_*` | `UPDATE refresh_families SET revoked_at = COALESCE(revoked_at, $now) …` |
//! | PAR `take` | `DELETE … WHERE request_uri_hash = $1 AND client_id = $2 AND expires_at > $now RETURNING …` |
//! | nonce `accept` | `UPDATE … SET used_at = $now WHERE nonce_hash = $1 AND used_at IS NULL AND expires_at > $now` |
//! | replay `check_and_record` | `INSERT … ON CONFLICT DO NOTHING`, fresh iff one row was inserted |
//! | device `approve` / `deny` / `redeem` | `UPDATE … WHERE … AND status = 'pending' \| 'approved' AND expires_at > $now RETURNING …` |
//! | device `poll` | one `UPDATE … RETURNING` that checks the interval, raises it on `slow_down` and stamps `last_polled_at` |
//! | consent `consume` | `UPDATE … SET consumed_at = $now WHERE token_hash = $1 AND binding_hash = $2 AND consumed_at IS NULL AND expires_at > $now RETURNING …` |
//! | logout `take_*` | `DELETE … WHERE sid = $1 AND expires_at > $now RETURNING …` |
//! | logout `record`, metadata `put` | `INSERT … ON CONFLICT (…) DO UPDATE` |
//! | every `sweep_expired` | `DELETE … WHERE key IN (SELECT key … WHERE expires_at < $now LIMIT $batch)` |
//!
//! A read after a refused update only classifies the refusal. Queries are
//! built at runtime (no `sqlx` macros, so building needs no database) and
//! decoded into private row types with checked conversions: a row that does
//! not decode is [`StoreError::Corrupt`](attesto::store::StoreError::Corrupt),
//! never honoured.
//!
//! # Errors
//!
//! Driver errors map onto [`StoreError`](attesto::store::StoreError): a unique
//! violation is `Duplicate`; another constraint violation or a value the
//! database cannot represent (e.g. a NUL character in PostgreSQL text) is
//! `Invalid`; an undecodable row is `Corrupt`; connection, pool and I/O
//! failures (and everything else) are `Unavailable`, which the server answers
//! with 503.
//!
//! # Migrations
//!
//! See [`SqliteStores::apply_migrations`] / [`PgStores::apply_migrations`]:
//! embedded SQL templates (`migrations/{sqlite,postgres}/*.sql`, compiled in
//! with `include_str!`) with the prefix substituted, applied in one
//! transaction and recorded by version and SHA-256 checksum in
//! `{prefix}schema_migrations`; PostgreSQL serialises concurrent runs with a
//! transaction-scoped advisory lock, SQLite with `BEGIN IMMEDIATE`. Applying
//! twice is a no-op. A recorded migration that differs from the shipped one,
//! or one this version does not know, is refused. (`sqlx::migrate!` is not
//! used: its migrations are fixed text, so they cannot carry a configurable
//! prefix, and it would need sqlx's `macros` feature.)
//!
//! # Counting statements
//!
//! sqlx logs every statement it executes as a `DEBUG` event with target
//! `sqlx::query` (field `summary`: its first words), except transaction
//! control it sends itself: `BEGIN` on both backends and `COMMIT` on SQLite.
//! The stores log exactly those as `DEBUG` events with target
//! [`STATEMENT_LOG_TARGET`] and the same `summary` field, so a subscriber
//! that enables both targets at `DEBUG` sees every statement of a successful
//! store operation exactly once (a rollback after an error is not logged).
//! On PostgreSQL, sqlx's pool additionally pings an idle connection before
//! handing it out (`test_before_acquire`, one extra round trip per pool
//! acquire); pings are not statements and are not logged.
//!
//! # Sweeping
//!
//! [`Sweeper`] deletes expired rows periodically, in bounded batches; it is
//! housekeeping only, since every read re-checks expiry.
//!
//! # Testing
//!
//! `cargo test -p attesto-sqlx` runs every test on SQLite (temporary files).
//! The PostgreSQL tests run when `ATTESTO_TEST_POSTGRES_URL` names a database
//! (e.g. `postgres://postgres@127.0.0.1:5432/test`); each test works in a
//! schema of its own and drops it afterwards. Without the variable they print
//! `*** SKIPPED: …` and pass, unless `ATTESTO_REQUIRE_POSTGRES=1`, which makes
//! a missing URL a failure.

#[cfg(not(any(feature = "sqlite", feature = "postgres")))]
compile_error!("attesto-sqlx needs at least one backend feature: `sqlite` or `postgres`");

mod error;
mod migrate;
mod prefix;
mod rows;
mod sql;
mod stores;
mod sweeper;

#[cfg(feature = "postgres")]
pub mod postgres;
#[cfg(feature = "sqlite")]
pub mod sqlite;

pub use error::SetupError;
pub use prefix::{InvalidTablePrefix, TablePrefix};
pub use sweeper::{
    DEFAULT_BATCH, DEFAULT_INTERVAL, SweepReport, Sweeper, SweeperError, SweeperHandle, SweptTable,
};

#[cfg(feature = "postgres")]
pub use postgres::PgStores;
#[cfg(feature = "sqlite")]
pub use sqlite::SqliteStores;

/// The `tracing` target of the statements the stores send that sqlx does
/// not log itself (transaction control; see [Counting statements](crate#counting-statements)).
pub const STATEMENT_LOG_TARGET: &str = "attesto_sqlx::statement";

/// Log `sql` like sqlx logs a statement (at `DEBUG`, field `summary`).
pub(crate) fn log_unlogged_statement(sql: &'static str) {
    tracing::debug!(target: STATEMENT_LOG_TARGET, summary = sql);
}

/// The `sqlx` version these stores are built on, re-exported so hosts can
/// name pool and option types without a direct dependency.
pub use sqlx;
