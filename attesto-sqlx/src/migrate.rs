//! Embedded migrations and their bookkeeping.
//!
//! attesto-sqlx applies its own migrations instead of `sqlx::migrate!`, so the
//! table prefix can be substituted: each migration is a SQL template
//! (`include_str!`) with a `{prefix}` placeholder. One call applies every
//! pending migration in **one transaction** and records each in
//! `{prefix}schema_migrations` (version, description, checksum, applied_at):
//!
//! * PostgreSQL: the transaction first takes a transaction-scoped advisory
//!   lock keyed by the schema and prefix, so concurrent `migrate()` calls of
//!   several nodes run one after the other; the later ones find nothing to do.
//! * SQLite: the transaction starts with `BEGIN IMMEDIATE`, the database's
//!   write lock, with the same effect.
//!
//! The checksum is the SHA-256 of the template (before the prefix is
//! substituted). A recorded migration whose checksum differs, or a recorded
//! version this crate does not know, fails with [`SetupError`] and nothing
//! is applied.

use crate::SetupError;
use crate::rows::MigrationRow;

/// One embedded migration.
#[derive(Debug)]
pub(crate) struct Migration {
    pub(crate) version: i64,
    pub(crate) description: &'static str,
    pub(crate) template: &'static str,
}

impl Migration {
    pub(crate) fn checksum(&self) -> [u8; 32] {
        attesto::secret::sha256(self.template.as_bytes())
    }
}

/// The migrations still to apply, in order, given what the database records.
///
/// # Errors
/// [`SetupError::ChecksumMismatch`] or [`SetupError::UnknownMigration`].
pub(crate) fn pending<'m>(
    applied: &[MigrationRow],
    available: &'m [Migration],
) -> Result<Vec<&'m Migration>, SetupError> {
    for row in applied {
        match available.iter().find(|m| m.version == row.version) {
            None => {
                return Err(SetupError::UnknownMigration {
                    version: row.version,
                });
            }
            Some(m) if m.checksum().as_slice() != row.checksum.as_slice() => {
                return Err(SetupError::ChecksumMismatch {
                    version: row.version,
                });
            }
            Some(_) => {}
        }
    }
    Ok(available
        .iter()
        .filter(|m| !applied.iter().any(|row| row.version == m.version))
        .collect())
}

#[cfg(test)]
mod tests {
    use super::*;

    const AVAILABLE: &[Migration] = &[
        Migration {
            version: 1,
            description: "one",
            template: "CREATE TABLE {prefix}a (x INTEGER);",
        },
        Migration {
            version: 2,
            description: "two",
            template: "CREATE TABLE {prefix}b (x INTEGER);",
        },
    ];

    fn applied(version: i64) -> MigrationRow {
        let m = AVAILABLE.iter().find(|m| m.version == version).unwrap();
        MigrationRow {
            version,
            checksum: m.checksum().to_vec(),
        }
    }

    #[test]
    fn a_fresh_database_gets_every_migration_in_order() {
        let todo = pending(&[], AVAILABLE).unwrap();
        assert_eq!(todo.iter().map(|m| m.version).collect::<Vec<_>>(), [1, 2]);
    }

    #[test]
    fn applied_migrations_are_skipped() {
        let todo = pending(&[applied(1)], AVAILABLE).unwrap();
        assert_eq!(todo.iter().map(|m| m.version).collect::<Vec<_>>(), [2]);
        assert!(
            pending(&[applied(1), applied(2)], AVAILABLE)
                .unwrap()
                .is_empty()
        );
    }

    #[test]
    fn a_modified_migration_is_refused() {
        let mut row = applied(1);
        row.checksum[0] ^= 1;
        assert!(matches!(
            pending(&[row], AVAILABLE),
            Err(SetupError::ChecksumMismatch { version: 1 })
        ));
    }

    #[test]
    fn an_unknown_applied_migration_is_refused() {
        let row = MigrationRow {
            version: 9,
            checksum: vec![0; 32],
        };
        assert!(matches!(
            pending(&[applied(1), row], AVAILABLE),
            Err(SetupError::UnknownMigration { version: 9 })
        ));
    }
}
