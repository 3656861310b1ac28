//! Error mapping: `sqlx::Error` → [`StoreError`], and [`SetupError`] for
//! connecting and migrating.

use attesto::store::StoreError;
use sqlx::error::ErrorKind;

/// Why connecting to the database or applying the migrations failed.
#[derive(Debug, thiserror::Error)]
#[non_exhaustive]
pub enum SetupError {
    /// The database could not be reached, or the connection options were
    /// rejected.
    #[error("could not connect to the store database")]
    Connect(#[source] sqlx::Error),
    /// A statement failed while the migrations were applied; the migration
    /// transaction was rolled back, so nothing of it is visible.
    #[error("applying the store migrations failed")]
    Migrate(#[source] sqlx::Error),
    /// A migration recorded as applied differs from the one this version of
    /// attesto-sqlx ships (its checksum changed). Applied migrations are never
    /// edited; refuse to run against a schema whose history is unknown.
    #[error("store migration {version} was applied with a different checksum")]
    ChecksumMismatch {
        /// The migration's version.
        version: i64,
    },
    /// The database records a migration this version of attesto-sqlx does not
    /// know: it was migrated by a newer version. Refused rather than guessed at.
    #[error("the store database has migration {version}, unknown to this version of attesto-sqlx")]
    UnknownMigration {
        /// The unknown version.
        version: i64,
    },
}

/// A stored row that does not decode into a record.
#[derive(Debug, thiserror::Error)]
#[error("corrupt {0} row")]
pub(crate) struct CorruptRow(pub(crate) &'static str);

/// The database refused a value as not representable (e.g. a NUL character in
/// PostgreSQL text) or violated a constraint other than uniqueness.
const REJECTED: &str = "the database rejected a value of the record";

/// Map a driver error onto the store boundary:
///
/// * a unique / primary-key violation → [`StoreError::Duplicate`];
/// * another constraint violation, or a data exception (SQLSTATE class 22:
///   a value the database cannot represent) → [`StoreError::Invalid`];
/// * an undecodable row → [`StoreError::Corrupt`];
/// * everything else (I/O, pool timeout, closed pool, protocol, lock
///   timeouts, missing tables) → [`StoreError::Unavailable`] (the server
///   answers 503).
pub(crate) fn store_error(error: sqlx::Error) -> StoreError {
    match &error {
        sqlx::Error::Database(db) => {
            if db.is_unique_violation() {
                return StoreError::Duplicate;
            }
            match db.kind() {
                ErrorKind::ForeignKeyViolation
                | ErrorKind::NotNullViolation
                | ErrorKind::CheckViolation => StoreError::Invalid(REJECTED),
                _ if db.code().is_some_and(|code| code.starts_with("22")) => {
                    StoreError::Invalid(REJECTED)
                }
                _ => StoreError::unavailable(error),
            }
        }
        sqlx::Error::ColumnDecode { .. }
        | sqlx::Error::ColumnNotFound(_)
        | sqlx::Error::ColumnIndexOutOfBounds { .. }
        | sqlx::Error::Decode(_)
        | sqlx::Error::TypeNotFound { .. } => StoreError::corrupt(error),
        _ => StoreError::unavailable(error),
    }
}

/// Shorthand: a corrupt row of `what`.
pub(crate) fn corrupt(what: &'static str) -> StoreError {
    StoreError::corrupt(CorruptRow(what))
}
