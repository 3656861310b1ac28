//! Proof Key for Code Exchange ([RFC 7636](https://www.rfc-editor.org/rfc/rfc7636)),
//! `S256` only.
//!
//! `plain` is refused: it gives no protection against an attacker who can
//! read the authorization request (RFC 9700 §2.1.1 and FAPI 2.0 require
//! `S256`). A request that names no method defaults to `plain`
//! (RFC 7636 §4.3) and is therefore refused too.
//!
//! * At the authorization (or PAR) endpoint, [`Pkce::from_authorization_request`]
//!   validates `code_challenge` / `code_challenge_method`; its errors are
//!   `invalid_request`.
//! * At the token endpoint, [`verify_redemption`] checks the `code_verifier`
//!   against what the code was bound to, in constant time; every failure —
//!   missing, malformed, or wrong verifier — is the same `invalid_grant`
//!   (RFC 7636 §4.6).
//!
//! ```
//! use attesto::pkce::{verify_redemption, CodeVerifier, Pkce};
//! use attesto::secret::OsRandom;
//!
//! // Client side.
//! let verifier = CodeVerifier::generate(&OsRandom).unwrap();
//! let challenge = verifier.challenge();
//!
//! // Authorization endpoint.
//! let bound = Pkce::from_authorization_request(Some(challenge.as_str()), Some("S256"))
//!     .unwrap()
//!     .unwrap();
//!
//! // Token endpoint.
//! assert!(verify_redemption(Some(&bound), Some(verifier.expose())).is_ok());
//! assert!(verify_redemption(Some(&bound), None).is_err());
//! ```

use std::fmt;
use std::str::FromStr;

use base64::Engine as _;
use base64::engine::general_purpose::URL_SAFE_NO_PAD;

use crate::error::{ErrorCode, OAuthError};
use crate::secret::{RandomError, RandomSource, Secret, ct_eq, sha256_b64url};

/// The shortest `code_verifier` (RFC 7636 §4.1).
pub const MIN_VERIFIER_LEN: usize = 43;
/// The longest `code_verifier` (RFC 7636 §4.1).
pub const MAX_VERIFIER_LEN: usize = 128;
/// The length of an `S256` `code_challenge`: base64url of 32 bytes.
pub const CHALLENGE_LEN: usize = 43;

/// Why PKCE input was refused.
///
/// The messages never contain the verifier or challenge.
#[derive(Debug, Clone, Copy, PartialEq, Eq, thiserror::Error)]
#[non_exhaustive]
pub enum PkceError {
    /// `code_challenge_method=plain`, or a challenge with no method (which
    /// RFC 7636 §4.3 defaults to `plain`).
    #[error("the plain code challenge method is not supported; use S256")]
    PlainNotSupported,
    /// A `code_challenge_method` other than `S256` and `plain`.
    #[error("unsupported code challenge method; use S256")]
    UnsupportedMethod,
    /// `code_challenge_method` without `code_challenge`.
    #[error("code_challenge_method without code_challenge")]
    MethodWithoutChallenge,
    /// The `code_challenge` is not 43 base64url characters encoding 32 bytes.
    #[error("code_challenge is not a base64url SHA-256 value")]
    InvalidChallenge,
    /// The `code_verifier` is not 43–128 characters of `[A-Za-z0-9-._~]`.
    #[error("code_verifier is malformed")]
    InvalidVerifier,
    /// The code was bound to a challenge but no `code_verifier` was sent.
    #[error("code_verifier is missing")]
    VerifierMissing,
    /// A `code_verifier` was sent for a code bound to no challenge (a
    /// downgrade attempt, RFC 9700 §2.1.1).
    #[error("code_verifier sent for a code without a code challenge")]
    UnexpectedVerifier,
    /// The verifier does not match the challenge.
    #[error("code_verifier does not match the code challenge")]
    Mismatch,
}

impl PkceError {
    /// Whether the error belongs to the authorization request (the challenge
    /// side) rather than the token request (the verifier side).
    #[must_use]
    pub const fn is_authorization_error(self) -> bool {
        matches!(
            self,
            Self::PlainNotSupported
                | Self::UnsupportedMethod
                | Self::MethodWithoutChallenge
                | Self::InvalidChallenge
        )
    }
}

impl From<PkceError> for OAuthError {
    /// Challenge-side errors are `invalid_request` (RFC 7636 §4.4.1) with a
    /// description naming the problem. Verifier-side errors collapse into
    /// one `invalid_grant` (RFC 7636 §4.6) so a client learns nothing about
    /// which check failed.
    fn from(e: PkceError) -> Self {
        if e.is_authorization_error() {
            OAuthError::new(ErrorCode::InvalidRequest).with_description(&e.to_string())
        } else {
            OAuthError::new(ErrorCode::InvalidGrant).with_description("PKCE verification failed")
        }
    }
}

/// A `code_challenge_method`. Only `S256` exists: parsing `plain` fails.
///
/// ```
/// use attesto::pkce::{CodeChallengeMethod, PkceError};
/// assert_eq!("S256".parse::<CodeChallengeMethod>(), Ok(CodeChallengeMethod::S256));
/// assert_eq!("plain".parse::<CodeChallengeMethod>(), Err(PkceError::PlainNotSupported));
/// assert_eq!("s256".parse::<CodeChallengeMethod>(), Err(PkceError::UnsupportedMethod));
/// ```
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Default)]
#[non_exhaustive]
pub enum CodeChallengeMethod {
    /// `S256`: `BASE64URL(SHA256(ASCII(code_verifier)))` (RFC 7636 §4.2).
    #[default]
    S256,
}

impl CodeChallengeMethod {
    /// The wire name.
    #[must_use]
    pub const fn as_str(self) -> &'static str {
        match self {
            Self::S256 => "S256",
        }
    }

    /// Parse a method name (case-sensitive, RFC 7636 §4.3).
    ///
    /// # Errors
    /// [`PkceError::PlainNotSupported`] for `plain`,
    /// [`PkceError::UnsupportedMethod`] for anything else.
    pub fn parse(name: &str) -> Result<Self, PkceError> {
        match name {
            "S256" => Ok(Self::S256),
            "plain" => Err(PkceError::PlainNotSupported),
            _ => Err(PkceError::UnsupportedMethod),
        }
    }
}

impl fmt::Display for CodeChallengeMethod {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.as_str())
    }
}

impl FromStr for CodeChallengeMethod {
    type Err = PkceError;
    fn from_str(s: &str) -> Result<Self, Self::Err> {
        Self::parse(s)
    }
}

impl serde::Serialize for CodeChallengeMethod {
    fn serialize<S: serde::Serializer>(&self, serializer: S) -> Result<S::Ok, S::Error> {
        serializer.serialize_str(self.as_str())
    }
}

impl<'de> serde::Deserialize<'de> for CodeChallengeMethod {
    fn deserialize<D: serde::Deserializer<'de>>(deserializer: D) -> Result<Self, D::Error> {
        let s = <std::borrow::Cow<'de, str>>::deserialize(deserializer)?;
        Self::parse(&s).map_err(serde::de::Error::custom)
    }
}

const fn is_unreserved(b: u8) -> bool {
    b.is_ascii_alphanumeric() || matches!(b, b'-' | b'.' | b'_' | b'~')
}

/// A `code_verifier` (RFC 7636 §4.1): 43–128 characters of
/// `[A-Za-z0-9-._~]`. It is a credential for the code, so its `Debug` is
/// redacted and its text is reachable only through [`expose`](Self::expose).
///
/// ```
/// use attesto::pkce::CodeVerifier;
/// // RFC 7636 Appendix B.
/// let v = CodeVerifier::parse("dBjftJeZ4CVP-mB92K27uhbUJU1p1r_wW1gFWFOEjXk").unwrap();
/// assert_eq!(v.challenge().as_str(), "E9Melhoa2OwvFrEMTJguCHaoeK1t8URWbuGJSstw-cM");
/// assert!(CodeVerifier::parse("too-short").is_err());
/// assert!(!format!("{v:?}").contains("dBjft"));
/// ```
#[derive(Clone, PartialEq, Eq)]
pub struct CodeVerifier(Secret);

impl CodeVerifier {
    /// Validate a verifier.
    ///
    /// # Errors
    /// [`PkceError::InvalidVerifier`] for a wrong length or a character
    /// outside the unreserved set.
    pub fn parse(verifier: &str) -> Result<Self, PkceError> {
        let len = verifier.len();
        if !(MIN_VERIFIER_LEN..=MAX_VERIFIER_LEN).contains(&len)
            || !verifier.bytes().all(is_unreserved)
        {
            return Err(PkceError::InvalidVerifier);
        }
        Ok(Self(Secret::new(verifier)))
    }

    /// A fresh verifier: 32 random bytes, base64url (43 characters), as
    /// RFC 7636 §4.1 recommends.
    ///
    /// # Errors
    /// When the random source fails.
    pub fn generate(random: &dyn RandomSource) -> Result<Self, RandomError> {
        random.token(32).map(|t| Self(Secret::new(t)))
    }

    /// The verifier text, to send in the token request.
    #[must_use]
    pub fn expose(&self) -> &str {
        self.0.expose()
    }

    /// The `S256` challenge of this verifier.
    #[must_use]
    pub fn challenge(&self) -> CodeChallenge {
        CodeChallenge(sha256_b64url(self.0.expose().as_bytes()))
    }
}

impl fmt::Debug for CodeVerifier {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str("CodeVerifier(<redacted>)")
    }
}

/// An `S256` `code_challenge`: exactly 43 base64url characters (no padding)
/// that decode to 32 bytes, with canonical trailing bits.
///
/// ```
/// use attesto::pkce::CodeChallenge;
/// assert!(CodeChallenge::parse("E9Melhoa2OwvFrEMTJguCHaoeK1t8URWbuGJSstw-cM").is_ok());
/// assert!(CodeChallenge::parse("E9Melhoa2OwvFrEMTJguCHaoeK1t8URWbuGJSstw-cM=").is_err());
/// assert!(CodeChallenge::parse("not a challenge").is_err());
/// ```
#[derive(Debug, Clone, PartialEq, Eq, Hash)]
pub struct CodeChallenge(String);

impl CodeChallenge {
    /// Validate a challenge.
    ///
    /// # Errors
    /// [`PkceError::InvalidChallenge`].
    pub fn parse(challenge: &str) -> Result<Self, PkceError> {
        if challenge.len() != CHALLENGE_LEN {
            return Err(PkceError::InvalidChallenge);
        }
        // The engine refuses padding and non-zero trailing bits, so each
        // 32-byte value has exactly one accepted spelling.
        match URL_SAFE_NO_PAD.decode(challenge) {
            Ok(bytes) if bytes.len() == 32 => Ok(Self(challenge.to_owned())),
            _ => Err(PkceError::InvalidChallenge),
        }
    }

    /// The challenge text.
    #[must_use]
    pub fn as_str(&self) -> &str {
        &self.0
    }

    /// Whether `verifier` matches, in constant time.
    #[must_use]
    pub fn matches(&self, verifier: &CodeVerifier) -> bool {
        ct_eq(verifier.challenge().0.as_bytes(), self.0.as_bytes())
    }
}

impl fmt::Display for CodeChallenge {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(&self.0)
    }
}

impl FromStr for CodeChallenge {
    type Err = PkceError;
    fn from_str(s: &str) -> Result<Self, Self::Err> {
        Self::parse(s)
    }
}

impl serde::Serialize for CodeChallenge {
    fn serialize<S: serde::Serializer>(&self, serializer: S) -> Result<S::Ok, S::Error> {
        serializer.serialize_str(&self.0)
    }
}

impl<'de> serde::Deserialize<'de> for CodeChallenge {
    fn deserialize<D: serde::Deserializer<'de>>(deserializer: D) -> Result<Self, D::Error> {
        let s = <std::borrow::Cow<'de, str>>::deserialize(deserializer)?;
        Self::parse(&s).map_err(serde::de::Error::custom)
    }
}

/// Verify `verifier` against `challenge` under `method`, in constant time
/// (RFC 7636 §4.6).
///
/// # Errors
/// [`PkceError::Mismatch`].
pub fn verify(
    challenge: &CodeChallenge,
    method: CodeChallengeMethod,
    verifier: &CodeVerifier,
) -> Result<(), PkceError> {
    match method {
        CodeChallengeMethod::S256 => {
            if challenge.matches(verifier) {
                Ok(())
            } else {
                Err(PkceError::Mismatch)
            }
        }
    }
}

/// The PKCE binding of an authorization request: what a code remembers.
#[derive(Debug, Clone, PartialEq, Eq, Hash, serde::Serialize, serde::Deserialize)]
#[non_exhaustive]
pub struct Pkce {
    /// `code_challenge`.
    pub challenge: CodeChallenge,
    /// `code_challenge_method`.
    pub method: CodeChallengeMethod,
}

impl Pkce {
    /// A binding to `challenge` with `S256`.
    #[must_use]
    pub const fn s256(challenge: CodeChallenge) -> Self {
        Self {
            challenge,
            method: CodeChallengeMethod::S256,
        }
    }

    /// Read `code_challenge` and `code_challenge_method` from an
    /// authorization request. An empty value counts as absent (RFC 6749 §3.1).
    ///
    /// | challenge | method | result |
    /// |---|---|---|
    /// | absent | absent | `Ok(None)`: no PKCE (whether that is allowed is policy) |
    /// | absent | present | [`PkceError::MethodWithoutChallenge`] |
    /// | present | absent | [`PkceError::PlainNotSupported`] (the default is `plain`) |
    /// | present | `plain` | [`PkceError::PlainNotSupported`] |
    /// | present | other | [`PkceError::UnsupportedMethod`] |
    /// | malformed | `S256` | [`PkceError::InvalidChallenge`] |
    /// | valid | `S256` | `Ok(Some(_))` |
    ///
    /// # Errors
    /// As in the table; all are `invalid_request`.
    pub fn from_authorization_request(
        challenge: Option<&str>,
        method: Option<&str>,
    ) -> Result<Option<Self>, PkceError> {
        let challenge = challenge.filter(|c| !c.is_empty());
        let method = method.filter(|m| !m.is_empty());
        match (challenge, method) {
            (None, None) => Ok(None),
            (None, Some(_)) => Err(PkceError::MethodWithoutChallenge),
            (Some(_), None) => Err(PkceError::PlainNotSupported),
            (Some(c), Some(m)) => {
                let method = CodeChallengeMethod::parse(m)?;
                let challenge = CodeChallenge::parse(c)?;
                Ok(Some(Self { challenge, method }))
            }
        }
    }

    /// Verify a presented `code_verifier` against this binding.
    ///
    /// # Errors
    /// [`PkceError::VerifierMissing`], [`PkceError::InvalidVerifier`] or
    /// [`PkceError::Mismatch`]; all are `invalid_grant`.
    pub fn verify(&self, verifier: Option<&str>) -> Result<(), PkceError> {
        let verifier = verifier
            .filter(|v| !v.is_empty())
            .ok_or(PkceError::VerifierMissing)?;
        let verifier = CodeVerifier::parse(verifier)?;
        verify(&self.challenge, self.method, &verifier)
    }
}

/// The token endpoint's PKCE check of an authorization-code redemption.
///
/// | code bound to | `code_verifier` | result |
/// |---|---|---|
/// | nothing | absent | `Ok(())` |
/// | nothing | present | [`PkceError::UnexpectedVerifier`] (RFC 9700 §2.1.1 downgrade) |
/// | a challenge | absent | [`PkceError::VerifierMissing`] |
/// | a challenge | malformed | [`PkceError::InvalidVerifier`] |
/// | a challenge | wrong | [`PkceError::Mismatch`] |
/// | a challenge | right | `Ok(())` |
///
/// Whether a code *may* lack a challenge is decided when it is issued.
///
/// # Errors
/// As in the table; all map to `invalid_grant`.
pub fn verify_redemption(bound: Option<&Pkce>, verifier: Option<&str>) -> Result<(), PkceError> {
    let verifier = verifier.filter(|v| !v.is_empty());
    match bound {
        None if verifier.is_some() => Err(PkceError::UnexpectedVerifier),
        None => Ok(()),
        Some(pkce) => pkce.verify(verifier),
    }
}
