//! Scopes ([RFC 6749 §3.3](https://www.rfc-editor.org/rfc/rfc6749#section-3.3)):
//! tokens, sets, catalogs with wildcards, and narrowing.
//!
//! # Grammar
//!
//! `scope = scope-token *( SP scope-token )`, `scope-token = 1*NQCHAR`,
//! `NQCHAR = %x21 / %x23-5B / %x5D-7E`. Parsing is strict: an empty value,
//! a leading or trailing space, two spaces in a row, a tab, or any other
//! character outside `NQCHAR` is an error (the seed is silent, and the RFC
//! grammar has exactly one `SP` between tokens). A repeated token is kept
//! once, at its first position, so order is otherwise preserved.
//!
//! # Wildcards ("grant forms")
//!
//! A token whose last dot-separated segment is exactly `*` and whose prefix
//! is not empty — `documents.*` — is a *wildcard*. As a grant it covers
//! every token made of the same prefix, a dot, and **one** more non-empty
//! segment without a dot:
//!
//! | grant | covers | does not cover |
//! |---|---|---|
//! | `documents.*` | `documents.read`, `documents.write`, `documents.*` itself | `documents`, `documents.`, `documentsX.read`, `documents.a.b` |
//! | `documents.a.*` | `documents.a.b` | `documents.a` |
//! | `*`, `.*`, `a.*.b` | only themselves (not wildcards) | everything else |
//!
//! One level only is deliberate: a grant never reaches a namespace deeper
//! than the one it names, so adding `documents.admin.delete` later does not
//! silently widen every `documents.*` token already issued. A bare `*` is
//! never "everything".
//!
//! Matching never expands the *requested* side: a requested `documents.*`
//! is covered only by a grant of `documents.*` itself, never by
//! `documents.read` plus `documents.write`, so a narrowed request cannot
//! turn into a wider wildcard.
//!
//! ```
//! use attesto::scope::{Scope, ScopeCatalog, ScopeSet};
//! let catalog = ScopeCatalog::new(["documents.read", "documents.write", "reports.read"]).unwrap();
//! let granted = ScopeSet::parse("documents.*").unwrap();
//! assert!(catalog.grants(&granted, &Scope::new("documents.write").unwrap()));
//! assert!(!catalog.grants_all(
//!     &ScopeSet::parse("documents.read").unwrap(),
//!     &ScopeSet::parse("documents.write").unwrap(),
//! ));
//! ```

use std::fmt;
use std::str::FromStr;

use crate::error::{ErrorCode, OAuthError};

/// The longest scope token accepted, in bytes.
pub const MAX_SCOPE_TOKEN_LEN: usize = 256;
/// The most tokens one scope value may hold.
pub const MAX_SCOPE_TOKENS: usize = 128;
/// The longest scope value accepted, in bytes.
pub const MAX_SCOPE_LEN: usize = 8192;

const fn is_nqchar(b: u8) -> bool {
    matches!(b, 0x21 | 0x23..=0x5B | 0x5D..=0x7E)
}

/// Why a scope value or operation was refused. Every variant maps to
/// `invalid_scope` ([`From<ScopeError> for OAuthError`](OAuthError)).
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[non_exhaustive]
pub enum ScopeError {
    /// The value is empty.
    #[error("scope is empty")]
    Empty,
    /// A leading, trailing or doubled space left an empty token.
    #[error("scope has an empty token (leading, trailing or repeated space)")]
    EmptyToken,
    /// A byte outside `NQCHAR` (or a non-space separator) at `position`.
    #[error("scope has an invalid character at byte {position}")]
    InvalidCharacter {
        /// Byte offset in the input.
        position: usize,
    },
    /// A token is longer than [`MAX_SCOPE_TOKEN_LEN`].
    #[error("scope token is too long")]
    TokenTooLong,
    /// The value is longer than [`MAX_SCOPE_LEN`].
    #[error("scope is too long")]
    TooLong,
    /// The value has more than [`MAX_SCOPE_TOKENS`] tokens.
    #[error("scope has too many tokens")]
    TooManyTokens,
    /// A requested scope is not in the catalog.
    #[error("scope `{0}` is not supported")]
    Unsupported(Scope),
    /// A requested scope is not covered by the grant it must narrow.
    #[error("scope `{0}` exceeds the granted scope")]
    NotGranted(Scope),
    /// A default scope is not in the catalog (a configuration error).
    #[error("default scope `{0}` is not in the catalog")]
    DefaultNotSupported(Scope),
}

impl From<ScopeError> for OAuthError {
    /// `invalid_scope` with a fixed description that does not echo the
    /// requested text.
    fn from(e: ScopeError) -> Self {
        let description = match e {
            ScopeError::Unsupported(_) | ScopeError::DefaultNotSupported(_) => {
                "the requested scope is not supported"
            }
            ScopeError::NotGranted(_) => "the requested scope exceeds the granted scope",
            _ => "the scope parameter is malformed",
        };
        OAuthError::new(ErrorCode::InvalidScope).with_description(description)
    }
}

/// One scope token (`1*NQCHAR`), possibly a wildcard (see the
/// [module docs](self)).
///
/// ```
/// use attesto::scope::Scope;
/// let w = Scope::new("documents.*").unwrap();
/// assert!(w.is_wildcard());
/// assert!(w.grants(&Scope::new("documents.read").unwrap()));
/// assert!(!w.grants(&Scope::new("documents.a.b").unwrap()));
/// assert!(Scope::new("a b").is_err());
/// ```
#[derive(Debug, Clone, PartialEq, Eq, Hash, PartialOrd, Ord)]
pub struct Scope(String);

impl Scope {
    /// Validate one token.
    ///
    /// # Errors
    /// [`ScopeError::Empty`], [`ScopeError::TokenTooLong`] or
    /// [`ScopeError::InvalidCharacter`].
    pub fn new(token: &str) -> Result<Self, ScopeError> {
        validate_token(token, 0)?;
        Ok(Self(token.to_owned()))
    }

    /// The token text.
    #[must_use]
    pub fn as_str(&self) -> &str {
        &self.0
    }

    /// The prefix of a wildcard (`documents` for `documents.*`), `None`
    /// for a concrete token.
    #[must_use]
    pub fn wildcard_prefix(&self) -> Option<&str> {
        self.0.strip_suffix(".*").filter(|p| !p.is_empty())
    }

    /// Whether this is a wildcard.
    #[must_use]
    pub fn is_wildcard(&self) -> bool {
        self.wildcard_prefix().is_some()
    }

    /// Whether this token, as a grant, covers `requested`: the same token,
    /// or a wildcard whose prefix plus one segment is `requested`.
    #[must_use]
    pub fn grants(&self, requested: &Scope) -> bool {
        if self.0 == requested.0 {
            return true;
        }
        let Some(prefix) = self.wildcard_prefix() else {
            return false;
        };
        requested
            .0
            .strip_prefix(prefix)
            .and_then(|rest| rest.strip_prefix('.'))
            .is_some_and(|segment| !segment.is_empty() && !segment.contains('.'))
    }
}

fn validate_token(token: &str, offset: usize) -> Result<(), ScopeError> {
    if token.is_empty() {
        return Err(ScopeError::Empty);
    }
    if let Some(i) = token.bytes().position(|b| !is_nqchar(b)) {
        return Err(ScopeError::InvalidCharacter {
            position: offset + i,
        });
    }
    if token.len() > MAX_SCOPE_TOKEN_LEN {
        return Err(ScopeError::TokenTooLong);
    }
    Ok(())
}

impl fmt::Display for Scope {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(&self.0)
    }
}

impl AsRef<str> for Scope {
    fn as_ref(&self) -> &str {
        &self.0
    }
}

impl FromStr for Scope {
    type Err = ScopeError;
    fn from_str(s: &str) -> Result<Self, Self::Err> {
        Self::new(s)
    }
}

impl TryFrom<String> for Scope {
    type Error = ScopeError;
    fn try_from(s: String) -> Result<Self, Self::Error> {
        validate_token(&s, 0)?;
        Ok(Self(s))
    }
}

impl serde::Serialize for Scope {
    fn serialize<S: serde::Serializer>(&self, serializer: S) -> Result<S::Ok, S::Error> {
        serializer.serialize_str(&self.0)
    }
}

impl<'de> serde::Deserialize<'de> for Scope {
    fn deserialize<D: serde::Deserializer<'de>>(deserializer: D) -> Result<Self, D::Error> {
        let s = String::deserialize(deserializer)?;
        Self::try_from(s).map_err(serde::de::Error::custom)
    }
}

/// An ordered set of scope tokens without repeats.
///
/// Its [`Display`](fmt::Display) is the canonical wire form: the tokens in
/// order, joined by one space. Equality is set equality (order does not
/// matter); [`sorted`](Self::sorted) gives a canonical order for binding
/// hashes. Serialises as the space-joined string (the JWT `scope` claim,
/// RFC 9068 §2.2.3) and deserialises through [`parse`](Self::parse).
///
/// ```
/// use attesto::scope::ScopeSet;
/// let s = ScopeSet::parse("b a b").unwrap();
/// assert_eq!(s.to_string(), "b a");
/// assert_eq!(s, ScopeSet::parse("a b").unwrap());
/// assert!(ScopeSet::parse("a  b").is_err());
/// assert!(ScopeSet::from_param(None).unwrap().is_empty());
/// ```
#[derive(Debug, Clone, Default)]
pub struct ScopeSet(Vec<Scope>);

impl ScopeSet {
    /// The empty set.
    #[must_use]
    pub const fn new() -> Self {
        Self(Vec::new())
    }

    /// Parse a space-delimited scope value (strict; see the
    /// [module docs](self)).
    ///
    /// # Errors
    /// [`ScopeError::Empty`] for `""`, [`ScopeError::EmptyToken`] for a
    /// leading, trailing or doubled space, [`ScopeError::InvalidCharacter`],
    /// [`ScopeError::TokenTooLong`], [`ScopeError::TooLong`],
    /// [`ScopeError::TooManyTokens`].
    pub fn parse(value: &str) -> Result<Self, ScopeError> {
        if value.is_empty() {
            return Err(ScopeError::Empty);
        }
        if value.len() > MAX_SCOPE_LEN {
            return Err(ScopeError::TooLong);
        }
        let mut set = Self::new();
        let mut offset = 0;
        for token in value.split(' ') {
            if token.is_empty() {
                return Err(ScopeError::EmptyToken);
            }
            validate_token(token, offset)?;
            offset += token.len() + 1;
            set.insert_validated(token);
            if set.0.len() > MAX_SCOPE_TOKENS {
                return Err(ScopeError::TooManyTokens);
            }
        }
        Ok(set)
    }

    /// Parse an optional request parameter: absent or empty (RFC 6749 §3.1:
    /// "parameters sent without a value MUST be treated as if they were
    /// omitted") is the empty set; anything else goes through
    /// [`parse`](Self::parse).
    ///
    /// # Errors
    /// As [`parse`](Self::parse).
    pub fn from_param(value: Option<&str>) -> Result<Self, ScopeError> {
        match value {
            None | Some("") => Ok(Self::new()),
            Some(v) => Self::parse(v),
        }
    }

    /// A set from separate tokens (e.g. a JSON array), each validated,
    /// repeats dropped.
    ///
    /// # Errors
    /// As [`Scope::new`] for a bad token, [`ScopeError::TooManyTokens`].
    pub fn from_tokens<I, S>(tokens: I) -> Result<Self, ScopeError>
    where
        I: IntoIterator<Item = S>,
        S: AsRef<str>,
    {
        let mut set = Self::new();
        for t in tokens {
            let t = t.as_ref();
            validate_token(t, 0)?;
            set.insert_validated(t);
            if set.0.len() > MAX_SCOPE_TOKENS {
                return Err(ScopeError::TooManyTokens);
            }
        }
        Ok(set)
    }

    fn insert_validated(&mut self, token: &str) {
        if !self.0.iter().any(|s| s.0 == token) {
            self.0.push(Scope(token.to_owned()));
        }
    }

    /// Add `scope` at the end unless present. Returns whether it was added.
    pub fn insert(&mut self, scope: Scope) -> bool {
        if self.contains(&scope) {
            false
        } else {
            self.0.push(scope);
            true
        }
    }

    /// The tokens, in order.
    pub fn iter(&self) -> std::slice::Iter<'_, Scope> {
        self.0.iter()
    }

    /// The tokens as strings, in order.
    pub fn as_strs(&self) -> impl Iterator<Item = &str> {
        self.0.iter().map(Scope::as_str)
    }

    /// The number of tokens.
    #[must_use]
    pub fn len(&self) -> usize {
        self.0.len()
    }

    /// Whether there are no tokens.
    #[must_use]
    pub fn is_empty(&self) -> bool {
        self.0.is_empty()
    }

    /// Whether `scope` is a member (exactly; no wildcard matching).
    #[must_use]
    pub fn contains(&self, scope: &Scope) -> bool {
        self.0.iter().any(|s| s == scope)
    }

    /// Whether the token `scope` is a member (exactly).
    #[must_use]
    pub fn contains_str(&self, scope: &str) -> bool {
        self.0.iter().any(|s| s.0 == scope)
    }

    /// Whether every member of `self` is a member of `other` (exactly).
    #[must_use]
    pub fn is_subset(&self, other: &ScopeSet) -> bool {
        self.0.iter().all(|s| other.contains(s))
    }

    /// The members of `self` that are also in `other` (exactly), in
    /// `self`'s order.
    #[must_use]
    pub fn intersection(&self, other: &ScopeSet) -> ScopeSet {
        Self(
            self.0
                .iter()
                .filter(|s| other.contains(s))
                .cloned()
                .collect(),
        )
    }

    /// The members of `self` followed by those of `other` not in `self`.
    #[must_use]
    pub fn union(&self, other: &ScopeSet) -> ScopeSet {
        let mut out = self.clone();
        for s in &other.0 {
            out.insert(s.clone());
        }
        out
    }

    /// Whether this set, as a grant, covers `requested` (some member
    /// [grants](Scope::grants) it). No catalog is consulted: this is the
    /// resource server's check of a token's `scope` claim.
    #[must_use]
    pub fn grants(&self, requested: &Scope) -> bool {
        self.0.iter().any(|g| g.grants(requested))
    }

    /// Whether this set, as a grant, covers every member of `required`.
    #[must_use]
    pub fn grants_all(&self, required: &ScopeSet) -> bool {
        required.0.iter().all(|r| self.grants(r))
    }

    /// The members of `requested` that this set, as a grant, covers, in
    /// `requested`'s order: silent narrowing for policies that drop what
    /// they will not grant instead of failing.
    #[must_use]
    pub fn granted_subset(&self, requested: &ScopeSet) -> ScopeSet {
        Self(
            requested
                .0
                .iter()
                .filter(|r| self.grants(r))
                .cloned()
                .collect(),
        )
    }

    /// The same set, sorted by byte order: the canonical form for binding
    /// hashes, where order must not matter.
    #[must_use]
    pub fn sorted(&self) -> ScopeSet {
        let mut v = self.0.clone();
        v.sort();
        Self(v)
    }
}

/// Narrow a grant: the scope of a refresh
/// ([RFC 6749 §6](https://www.rfc-editor.org/rfc/rfc6749#section-6)) or token
/// exchange ([RFC 8693 §2.1](https://www.rfc-editor.org/rfc/rfc8693#section-2.1)).
///
/// An empty `requested` means "the same as granted" and returns `granted`.
/// Otherwise every requested token must be covered by `granted` (wildcards
/// in `granted` count, see [`Scope::grants`]) and the result is `requested`;
/// anything beyond the grant fails, so narrowing can never widen.
///
/// # Errors
/// [`ScopeError::NotGranted`] with the first token outside the grant
/// (`invalid_scope`).
///
/// ```
/// use attesto::scope::{narrow, ScopeSet};
/// let granted = ScopeSet::parse("documents.* profile").unwrap();
/// let ok = narrow(&ScopeSet::parse("documents.read").unwrap(), &granted).unwrap();
/// assert_eq!(ok.to_string(), "documents.read");
/// assert!(narrow(&ScopeSet::parse("admin").unwrap(), &granted).is_err());
/// assert_eq!(narrow(&ScopeSet::new(), &granted).unwrap(), granted);
/// ```
pub fn narrow(requested: &ScopeSet, granted: &ScopeSet) -> Result<ScopeSet, ScopeError> {
    if requested.is_empty() {
        return Ok(granted.clone());
    }
    match requested.0.iter().find(|r| !granted.grants(r)) {
        Some(outside) => Err(ScopeError::NotGranted(outside.clone())),
        None => Ok(requested.clone()),
    }
}

impl PartialEq for ScopeSet {
    fn eq(&self, other: &Self) -> bool {
        self.0.len() == other.0.len() && self.is_subset(other)
    }
}

impl Eq for ScopeSet {}

impl fmt::Display for ScopeSet {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        for (i, s) in self.0.iter().enumerate() {
            if i > 0 {
                f.write_str(" ")?;
            }
            f.write_str(&s.0)?;
        }
        Ok(())
    }
}

impl FromStr for ScopeSet {
    type Err = ScopeError;
    fn from_str(s: &str) -> Result<Self, Self::Err> {
        Self::parse(s)
    }
}

impl<'a> IntoIterator for &'a ScopeSet {
    type Item = &'a Scope;
    type IntoIter = std::slice::Iter<'a, Scope>;
    fn into_iter(self) -> Self::IntoIter {
        self.0.iter()
    }
}

impl FromIterator<Scope> for ScopeSet {
    fn from_iter<I: IntoIterator<Item = Scope>>(iter: I) -> Self {
        let mut set = Self::new();
        for s in iter {
            set.insert(s);
        }
        set
    }
}

impl serde::Serialize for ScopeSet {
    fn serialize<S: serde::Serializer>(&self, serializer: S) -> Result<S::Ok, S::Error> {
        serializer.collect_str(self)
    }
}

impl<'de> serde::Deserialize<'de> for ScopeSet {
    fn deserialize<D: serde::Deserializer<'de>>(deserializer: D) -> Result<Self, D::Error> {
        let s = <std::borrow::Cow<'de, str>>::deserialize(deserializer)?;
        Self::from_param(Some(&s)).map_err(serde::de::Error::custom)
    }
}

/// The scopes a server supports (`scopes_supported`, concrete and
/// wildcard), plus the default granted when a request names none.
///
/// A token is *supported* when the catalog lists it or a catalog wildcard
/// covers it. The catalog is what makes wildcard grants finite: a grant of
/// `documents.*` covers only the supported `documents.` scopes
/// ([`grants`](Self::grants)).
///
/// ```
/// use attesto::scope::{ScopeCatalog, ScopeSet};
/// let catalog = ScopeCatalog::new(["openid", "documents.*"]).unwrap()
///     .with_defaults(["openid"]).unwrap();
/// // No scope requested: the defaults.
/// assert_eq!(catalog.authorize(&ScopeSet::new()).unwrap().to_string(), "openid");
/// // Anything supported passes; anything else is invalid_scope.
/// assert!(catalog.authorize(&ScopeSet::parse("documents.read").unwrap()).is_ok());
/// assert!(catalog.authorize(&ScopeSet::parse("admin").unwrap()).is_err());
/// // A default outside the catalog is a configuration error.
/// assert!(ScopeCatalog::new(["openid"]).unwrap().with_defaults(["admin"]).is_err());
/// ```
#[derive(Debug, Clone, PartialEq, Eq, Default)]
pub struct ScopeCatalog {
    supported: ScopeSet,
    defaults: ScopeSet,
}

impl ScopeCatalog {
    /// A catalog of `supported` tokens, without defaults.
    ///
    /// # Errors
    /// As [`ScopeSet::from_tokens`].
    pub fn new<I, S>(supported: I) -> Result<Self, ScopeError>
    where
        I: IntoIterator<Item = S>,
        S: AsRef<str>,
    {
        Ok(Self {
            supported: ScopeSet::from_tokens(supported)?,
            defaults: ScopeSet::new(),
        })
    }

    /// Set the default scope, granted by [`authorize`](Self::authorize) when
    /// the request has none (RFC 6749 §3.3). Without defaults an empty
    /// request stays empty: nothing is granted (fail closed).
    ///
    /// # Errors
    /// A bad token, or [`ScopeError::DefaultNotSupported`] for a default the
    /// catalog does not support.
    pub fn with_defaults<I, S>(mut self, defaults: I) -> Result<Self, ScopeError>
    where
        I: IntoIterator<Item = S>,
        S: AsRef<str>,
    {
        let defaults = ScopeSet::from_tokens(defaults)?;
        if let Some(bad) = defaults.iter().find(|d| !self.supports(d)) {
            return Err(ScopeError::DefaultNotSupported(bad.clone()));
        }
        self.defaults = defaults;
        Ok(self)
    }

    /// The supported tokens, as listed (for `scopes_supported`).
    #[must_use]
    pub const fn supported(&self) -> &ScopeSet {
        &self.supported
    }

    /// The default scope.
    #[must_use]
    pub const fn defaults(&self) -> &ScopeSet {
        &self.defaults
    }

    /// Whether `scope` is supported: listed, or covered by a listed wildcard.
    #[must_use]
    pub fn supports(&self, scope: &Scope) -> bool {
        self.supported.grants(scope)
    }

    /// Whether `granted` covers `requested` and the catalog supports it.
    #[must_use]
    pub fn grants(&self, granted: &ScopeSet, requested: &Scope) -> bool {
        self.supports(requested) && granted.grants(requested)
    }

    /// Whether [`grants`](Self::grants) holds for every member of `required`.
    #[must_use]
    pub fn grants_all(&self, granted: &ScopeSet, required: &ScopeSet) -> bool {
        required.iter().all(|r| self.grants(granted, r))
    }

    /// The default scope policy: an empty request gets the
    /// [defaults](Self::with_defaults); otherwise every requested token must
    /// be supported, and the request is granted as is.
    ///
    /// # Errors
    /// [`ScopeError::Unsupported`] with the first unsupported token.
    pub fn authorize(&self, requested: &ScopeSet) -> Result<ScopeSet, ScopeError> {
        if requested.is_empty() {
            return Ok(self.defaults.clone());
        }
        match requested.iter().find(|r| !self.supports(r)) {
            Some(bad) => Err(ScopeError::Unsupported(bad.clone())),
            None => Ok(requested.clone()),
        }
    }
}
