//! [`TablePrefix`]: the configurable start of every table name.

use std::borrow::Cow;
use std::fmt;
use std::str::FromStr;

/// The longest accepted prefix. With the longest table name
/// (`pushed_authorization_requests`, 29 characters) every name stays within
/// PostgreSQL's 63-byte identifier limit.
const MAX_LEN: usize = 32;

/// The prefix of every table and index attesto-sqlx creates and queries
/// (default `attesto_`, giving `attesto_authorization_codes`, …).
///
/// One database can hold several independent sets of tables under different
/// prefixes; the migrations, the stores and the sweeper of one bundle all use
/// its prefix, so they always agree.
///
/// A prefix is spliced into SQL text, so it is restricted to what is a safe,
/// unquoted identifier on both backends: at most 32 characters of `a`–`z`,
/// `0`–`9` and `_`, not starting with a digit. The empty prefix is allowed.
///
/// ```
/// use attesto_sqlx::TablePrefix;
/// assert_eq!(TablePrefix::default().as_str(), "attesto_");
/// assert_eq!(TablePrefix::new("oauth_")?.as_str(), "oauth_");
/// assert!(TablePrefix::new("Robert'); DROP TABLE students;--").is_err());
/// assert!(TablePrefix::new("9lives_").is_err());
/// # Ok::<(), attesto_sqlx::InvalidTablePrefix>(())
/// ```
#[derive(Clone, PartialEq, Eq, Hash)]
pub struct TablePrefix(Cow<'static, str>);

impl TablePrefix {
    /// The default prefix, `attesto_`.
    pub const DEFAULT: Self = Self(Cow::Borrowed("attesto_"));

    /// Validate a prefix.
    ///
    /// # Errors
    /// [`InvalidTablePrefix`] unless the prefix is at most 32 characters of
    /// `[a-z0-9_]` and does not start with a digit.
    pub fn new(prefix: impl Into<String>) -> Result<Self, InvalidTablePrefix> {
        let prefix = prefix.into();
        if is_valid(&prefix) {
            Ok(Self(Cow::Owned(prefix)))
        } else {
            Err(InvalidTablePrefix)
        }
    }

    /// The prefix text.
    #[must_use]
    pub fn as_str(&self) -> &str {
        &self.0
    }

    /// The full name of `table` under this prefix.
    ///
    /// ```
    /// use attesto_sqlx::TablePrefix;
    /// assert_eq!(TablePrefix::default().table("dpop_nonces"), "attesto_dpop_nonces");
    /// ```
    #[must_use]
    pub fn table(&self, table: &str) -> String {
        format!("{}{table}", self.0)
    }

    /// Substitute this prefix for every `{prefix}` placeholder of a SQL
    /// template.
    pub(crate) fn render(&self, template: &str) -> String {
        template.replace("{prefix}", &self.0)
    }
}

fn is_valid(prefix: &str) -> bool {
    prefix.len() <= MAX_LEN
        && prefix
            .bytes()
            .all(|b| b.is_ascii_lowercase() || b.is_ascii_digit() || b == b'_')
        && !prefix.bytes().next().is_some_and(|b| b.is_ascii_digit())
}

impl Default for TablePrefix {
    fn default() -> Self {
        Self::DEFAULT
    }
}

impl fmt::Debug for TablePrefix {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_tuple("TablePrefix").field(&self.as_str()).finish()
    }
}

impl fmt::Display for TablePrefix {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.as_str())
    }
}

impl FromStr for TablePrefix {
    type Err = InvalidTablePrefix;

    fn from_str(s: &str) -> Result<Self, Self::Err> {
        Self::new(s)
    }
}

/// A string that cannot be a [`TablePrefix`].
#[derive(Debug, Clone, Copy, PartialEq, Eq, thiserror::Error)]
#[error("a table prefix is at most 32 characters of [a-z0-9_] and does not start with a digit")]
#[non_exhaustive]
pub struct InvalidTablePrefix;

#[cfg(test)]
mod tests {
    use super::*;
    use proptest::prelude::*;

    #[test]
    fn accepts_identifier_prefixes() {
        for ok in [
            "",
            "attesto_",
            "_",
            "a",
            "oauth2_",
            "t_0123456789abcdef0123456789abc",
        ] {
            assert_eq!(TablePrefix::new(ok).unwrap().as_str(), ok);
        }
    }

    #[test]
    fn rejects_anything_that_is_not_a_plain_identifier() {
        for bad in [
            "Attesto_",
            "1_",
            "a-b",
            "a b",
            "a;",
            "\"x\"",
            "a.b",
            "ä",
            "x\0",
            "abcdefghijklmnopqrstuvwxyz0123456",
        ] {
            assert_eq!(TablePrefix::new(bad), Err(InvalidTablePrefix), "{bad:?}");
        }
    }

    #[test]
    fn render_substitutes_every_placeholder() {
        let p = TablePrefix::new("x_").unwrap();
        assert_eq!(p.render("{prefix}a {prefix}b"), "x_a x_b");
    }

    proptest! {
        #[test]
        fn arbitrary_strings_never_yield_unsafe_identifiers(s in any::<String>()) {
            if let Ok(p) = TablePrefix::new(s.clone()) {
                prop_assert!(p.as_str().len() <= MAX_LEN);
                prop_assert!(p.as_str().bytes().all(|b| b.is_ascii_lowercase() || b.is_ascii_digit() || b == b'_'));
                prop_assert_eq!(p.as_str(), s.as_str());
            }
        }

        #[test]
        fn identifier_shaped_strings_are_accepted(s in "[a-z_][a-z0-9_]{0,31}") {
            prop_assert!(TablePrefix::new(s).is_ok());
        }
    }
}
