//! Principal kinds and namespaced subjects.
//!
//! One issuer can serve several kinds of principal (a machine client, a human
//! user) from one signing key and one verifier. Each kind owns a `sub`
//! prefix (`oc_`, `usr_`), so a token's subject is unambiguous across kinds:
//! `sub` is always *prefix + id*. Minting refuses a subject without its
//! kind's prefix (the seed's `:invalid_sub`), and verification maps the
//! `sub` back to its kind and checks the claims that kind requires.

use std::borrow::Cow;
use std::fmt;

use serde_json::Value;

/// The longest `sub` attesto mints or accepts: 255 ASCII characters
/// ([OpenID Connect Core §2](https://openid.net/specs/openid-connect-core-1_0.html#IDToken)).
pub const MAX_SUBJECT_LEN: usize = 255;

/// The JSON type a [`RequiredClaim`] must have.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
#[non_exhaustive]
pub enum ClaimType {
    /// A JSON string with at least one character.
    NonEmptyString,
    /// A JSON integer ≥ 0.
    NonNegativeInteger,
    /// `true` or `false`.
    Boolean,
    /// Any JSON value other than `null`.
    Present,
}

impl ClaimType {
    pub(crate) fn accepts(self, value: ClaimView<'_>) -> bool {
        match (self, value) {
            (_, ClaimView::Missing) => false,
            (ClaimType::NonEmptyString, ClaimView::Str(s)) => !s.is_empty(),
            (ClaimType::NonEmptyString, ClaimView::Json(Value::String(s))) => !s.is_empty(),
            (ClaimType::NonNegativeInteger, ClaimView::Int(i)) => i >= 0,
            (ClaimType::NonNegativeInteger, ClaimView::Json(v)) => v.as_u64().is_some(),
            (ClaimType::Boolean, ClaimView::Json(v)) => v.is_boolean(),
            (ClaimType::Present, ClaimView::Json(v)) => !v.is_null(),
            (ClaimType::Present, ClaimView::Str(_) | ClaimView::Int(_) | ClaimView::Other) => true,
            _ => false,
        }
    }
}

/// A claim every token of a [`PrincipalKind`] must carry, with its type.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct RequiredClaim {
    name: &'static str,
    ty: ClaimType,
}

impl RequiredClaim {
    /// A required claim (usable in `const` items).
    #[must_use]
    pub const fn new(name: &'static str, ty: ClaimType) -> Self {
        RequiredClaim { name, ty }
    }

    /// The claim name.
    #[must_use]
    pub const fn name(&self) -> &'static str {
        self.name
    }

    /// The type the claim must have.
    #[must_use]
    pub const fn ty(&self) -> ClaimType {
        self.ty
    }
}

#[derive(Debug, Clone, PartialEq, Eq)]
enum Required {
    Static(&'static [RequiredClaim]),
    Owned(Vec<(String, ClaimType)>),
}

/// A kind of principal the issuer serves, with its `sub` prefix and the
/// claims its tokens must carry.
///
/// ```
/// use attesto::token::{ClaimType, PrincipalKind, RequiredClaim};
/// const CLIENT: PrincipalKind = PrincipalKind::new(
///     "client",
///     "oc_",
///     &[RequiredClaim::new("client_id", ClaimType::NonEmptyString)],
/// );
/// let subject = CLIENT.subject("live_4f2a").unwrap();
/// assert_eq!(subject.as_str(), "oc_live_4f2a");
/// assert_eq!(subject.id(), "live_4f2a");
/// assert!(CLIENT.parse("usr_alice").is_err());
/// ```
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct PrincipalKind {
    name: Cow<'static, str>,
    prefix: Cow<'static, str>,
    required: Required,
}

impl PrincipalKind {
    /// A principal kind named `name` whose subjects start with `prefix`.
    /// Usable in `const` items; the prefix is validated when an issuer or
    /// verifier is built.
    #[must_use]
    pub const fn new(
        name: &'static str,
        prefix: &'static str,
        required_claims: &'static [RequiredClaim],
    ) -> Self {
        PrincipalKind {
            name: Cow::Borrowed(name),
            prefix: Cow::Borrowed(prefix),
            required: Required::Static(required_claims),
        }
    }

    /// As [`PrincipalKind::new`], from runtime values.
    #[must_use]
    pub fn owned(
        name: impl Into<String>,
        prefix: impl Into<String>,
        required_claims: Vec<(String, ClaimType)>,
    ) -> Self {
        PrincipalKind {
            name: Cow::Owned(name.into()),
            prefix: Cow::Owned(prefix.into()),
            required: Required::Owned(required_claims),
        }
    }

    /// The kind's name (`"client"`, `"user"`).
    #[must_use]
    pub fn name(&self) -> &str {
        &self.name
    }

    /// The `sub` prefix (`"oc_"`, `"usr_"`).
    #[must_use]
    pub fn prefix(&self) -> &str {
        &self.prefix
    }

    /// The claims every token of this kind carries.
    pub fn required_claims(&self) -> impl Iterator<Item = (&str, ClaimType)> {
        let (st, ow): (&[RequiredClaim], &[(String, ClaimType)]) = match &self.required {
            Required::Static(s) => (s, &[]),
            Required::Owned(o) => (&[], o),
        };
        st.iter()
            .map(|r| (r.name, r.ty))
            .chain(ow.iter().map(|(n, t)| (n.as_str(), *t)))
    }

    /// The subject for the principal `id`: the prefix followed by `id`.
    ///
    /// # Errors
    /// [`SubjectError`] when `id` is empty, or the result is longer than
    /// [`MAX_SUBJECT_LEN`] or holds a character outside printable ASCII.
    pub fn subject(&self, id: &str) -> Result<Subject, SubjectError> {
        let mut sub = String::with_capacity(self.prefix.len() + id.len());
        sub.push_str(&self.prefix);
        sub.push_str(id);
        self.parse_owned(sub)
    }

    /// Read a full `sub` back as a subject of this kind.
    ///
    /// # Errors
    /// [`SubjectError::MissingPrefix`] when `sub` does not start with this
    /// kind's prefix; otherwise as [`PrincipalKind::subject`].
    pub fn parse(&self, sub: &str) -> Result<Subject, SubjectError> {
        self.parse_owned(sub.to_owned())
    }

    pub(crate) fn parse_owned(&self, sub: String) -> Result<Subject, SubjectError> {
        self.check(&sub)?;
        Ok(Subject {
            kind: self.name.clone(),
            id_start: self.prefix.len(),
            sub,
        })
    }

    /// Whether `sub` is a valid subject of this kind.
    pub(crate) fn check(&self, sub: &str) -> Result<(), SubjectError> {
        validate_sub(sub)?;
        if !sub.starts_with(self.prefix()) {
            return Err(SubjectError::MissingPrefix);
        }
        if sub.len() == self.prefix.len() {
            return Err(SubjectError::EmptyId);
        }
        Ok(())
    }

    /// Check the claims this kind requires, reading them through `lookup`.
    pub(crate) fn check_required<'a>(
        &self,
        lookup: impl Fn(&str) -> ClaimView<'a>,
    ) -> Result<(), String> {
        for (name, ty) in self.required_claims() {
            if !ty.accepts(lookup(name)) {
                return Err(name.to_owned());
            }
        }
        Ok(())
    }

    fn validate(&self) -> Result<(), &'static str> {
        if self.name.is_empty() {
            return Err("a principal kind needs a name");
        }
        if self.prefix.is_empty() {
            return Err("a principal kind needs a non-empty sub prefix");
        }
        if !self.prefix.bytes().all(|b| b.is_ascii_graphic()) {
            return Err("a sub prefix must be printable ASCII without spaces");
        }
        if self.prefix.len() >= MAX_SUBJECT_LEN {
            return Err("the sub prefix leaves no room for an id");
        }
        Ok(())
    }
}

/// A claim value as seen by the principal-kind checks.
#[derive(Debug, Clone, Copy)]
pub(crate) enum ClaimView<'a> {
    Missing,
    Str(&'a str),
    Int(i64),
    Json(&'a Value),
    /// Present, but not a string or integer (an array or object).
    Other,
}

impl<'a> ClaimView<'a> {
    pub(crate) fn opt_str(v: Option<&'a str>) -> Self {
        v.map_or(ClaimView::Missing, ClaimView::Str)
    }

    pub(crate) fn opt_int(v: Option<i64>) -> Self {
        v.map_or(ClaimView::Missing, ClaimView::Int)
    }

    pub(crate) fn opt_json(v: Option<&'a Value>) -> Self {
        v.map_or(ClaimView::Missing, ClaimView::Json)
    }
}

pub(crate) fn validate_sub(sub: &str) -> Result<(), SubjectError> {
    if sub.is_empty() {
        return Err(SubjectError::EmptyId);
    }
    if sub.len() > MAX_SUBJECT_LEN {
        return Err(SubjectError::TooLong);
    }
    // VSCHAR (RFC 6749 Appendix A): printable ASCII including space.
    if !sub.bytes().all(|b| (0x20..=0x7e).contains(&b)) {
        return Err(SubjectError::InvalidCharacter);
    }
    Ok(())
}

/// Why a subject was refused.
#[derive(Debug, Clone, Copy, PartialEq, Eq, thiserror::Error)]
#[non_exhaustive]
pub enum SubjectError {
    /// The `sub` does not start with its principal kind's prefix (the seed's `invalid_sub`).
    #[error("the subject does not carry its principal kind's prefix")]
    MissingPrefix,
    /// The id after the prefix is empty.
    #[error("the subject id is empty")]
    EmptyId,
    /// Longer than [`MAX_SUBJECT_LEN`].
    #[error("the subject is longer than 255 characters")]
    TooLong,
    /// A character outside printable ASCII.
    #[error("the subject holds a character outside printable ASCII")]
    InvalidCharacter,
    /// No configured principal kind has this subject's prefix.
    #[error("the subject matches no configured principal kind")]
    UnknownKind,
}

/// A namespaced subject: a [`PrincipalKind`] and an id, written on the wire
/// as prefix + id.
#[derive(Clone, PartialEq, Eq, Hash)]
pub struct Subject {
    kind: Cow<'static, str>,
    sub: String,
    id_start: usize,
}

impl Subject {
    /// The full `sub` value (prefix + id).
    #[must_use]
    pub fn as_str(&self) -> &str {
        &self.sub
    }

    /// The principal kind's name.
    #[must_use]
    pub fn kind(&self) -> &str {
        &self.kind
    }

    /// The id without the prefix.
    #[must_use]
    pub fn id(&self) -> &str {
        self.sub.get(self.id_start..).unwrap_or("")
    }

    /// The full `sub` value.
    #[must_use]
    pub fn into_string(self) -> String {
        self.sub
    }
}

impl fmt::Debug for Subject {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("Subject")
            .field("kind", &self.kind)
            .field("sub", &self.sub)
            .finish()
    }
}

impl fmt::Display for Subject {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(&self.sub)
    }
}

/// The principal kinds an issuer or verifier knows: non-empty, with unique
/// names and prefixes none of which is a prefix of another (so every `sub`
/// belongs to at most one kind).
#[derive(Debug, Clone, Default)]
pub(crate) struct PrincipalKinds(Vec<PrincipalKind>);

impl PrincipalKinds {
    pub(crate) fn new(kinds: Vec<PrincipalKind>) -> Result<Self, &'static str> {
        for (i, k) in kinds.iter().enumerate() {
            k.validate()?;
            for other in kinds.iter().skip(i + 1) {
                if other.name == k.name {
                    return Err("two principal kinds share a name");
                }
                if other.prefix.starts_with(k.prefix()) || k.prefix.starts_with(other.prefix()) {
                    return Err("one principal kind's sub prefix is a prefix of another's");
                }
            }
        }
        Ok(PrincipalKinds(kinds))
    }

    pub(crate) fn is_empty(&self) -> bool {
        self.0.is_empty()
    }

    pub(crate) fn by_name(&self, name: &str) -> Option<&PrincipalKind> {
        self.0.iter().find(|k| k.name() == name)
    }

    pub(crate) fn classify(&self, sub: &str) -> Option<&PrincipalKind> {
        self.0.iter().find(|k| sub.starts_with(k.prefix()))
    }

    pub(crate) fn as_slice(&self) -> &[PrincipalKind] {
        &self.0
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    const USER: PrincipalKind = PrincipalKind::new("user", "usr_", &[]);

    #[test]
    fn subject_is_prefix_plus_id() {
        let s = USER.subject("alice").unwrap();
        assert_eq!(s.as_str(), "usr_alice");
        assert_eq!(s.id(), "alice");
        assert_eq!(s.kind(), "user");
    }

    #[test]
    fn unprefixed_or_empty_subjects_are_refused() {
        assert_eq!(USER.parse("alice"), Err(SubjectError::MissingPrefix));
        assert_eq!(USER.parse("usr_"), Err(SubjectError::EmptyId));
        assert_eq!(USER.subject(""), Err(SubjectError::EmptyId));
        assert_eq!(USER.subject("a\u{0}b"), Err(SubjectError::InvalidCharacter));
        assert_eq!(USER.subject(&"x".repeat(252)), Err(SubjectError::TooLong));
    }

    #[test]
    fn overlapping_prefixes_are_a_configuration_error() {
        let a = PrincipalKind::new("a", "u_", &[]);
        let b = PrincipalKind::new("b", "u_x_", &[]);
        assert!(PrincipalKinds::new(vec![a.clone(), b]).is_err());
        assert!(PrincipalKinds::new(vec![a.clone(), a]).is_err());
        assert!(PrincipalKinds::new(vec![PrincipalKind::new("e", "", &[])]).is_err());
    }
}
