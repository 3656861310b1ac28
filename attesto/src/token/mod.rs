//! Tokens: [RFC 9068](https://www.rfc-editor.org/rfc/rfc9068) JWT access tokens
//! and [OpenID Connect](https://openid.net/specs/openid-connect-core-1_0.html#IDToken)
//! ID tokens.
//!
//! Configure once, then mint and verify on the hot path:
//!
//! ```
//! use std::sync::Arc;
//! use attesto::clock::FixedClock;
//! use attesto::jose::{Algorithm, StaticKeystore};
//! use attesto::token::{AccessTokenIssuer, AccessTokenRequest, ClaimType, PrincipalKind, RequiredClaim};
//!
//! const CLIENT: PrincipalKind = PrincipalKind::new(
//!     "client",
//!     "oc_",
//!     &[RequiredClaim::new("client_id", ClaimType::NonEmptyString)],
//! );
//! let keystore = Arc::new(StaticKeystore::generate(Algorithm::ES256).unwrap());
//! let clock = Arc::new(FixedClock::new(1_700_000_000));
//! let issuer = AccessTokenIssuer::builder("https://api.example.com/", keystore)
//!     .audience("https://api.example.com/")
//!     .principal_kind(CLIENT)
//!     .clock(clock.clone())
//!     .build()
//!     .unwrap();
//!
//! let subject = CLIENT.subject("live_4f2a").unwrap();
//! let request = AccessTokenRequest::new(&subject, "oc_live_4f2a")
//!     .scope(["documents.read", "documents.write"]);
//! let issued = issuer.mint(request).unwrap();
//! assert_eq!(issued.token_type.as_str(), "Bearer");
//! assert_eq!(issued.expires_in, 900);
//! assert_eq!(issued.claims.scope, "documents.read documents.write");
//!
//! let verifier = issuer.verifier().clock(clock).build().unwrap();
//! let claims = verifier.verify(issued.access_token.expose()).unwrap();
//! assert_eq!(claims.sub, "oc_live_4f2a");
//! assert_eq!(verifier.subject(&claims).unwrap().kind(), "client");
//! ```
//!
//! Verification is strict: the `typ` header must name the token kind (an ID
//! token is never an access token and vice versa), the algorithm must be in
//! the verifier's allow-list and match the key, claims must be present with
//! the right JSON types, duplicate member names are refused, and clock skew
//! is bounded by [`MAX_LEEWAY`].

pub mod access;
pub(crate) mod cache;
pub mod id;
mod subject;

use std::fmt;
use std::sync::{Arc, RwLock};

use serde_json::{Map, Value};

use crate::clock::UnixTime;
use crate::jose::{Algorithm, AlgorithmSet, JoseError, JwkSet, Keystore, SigningKey, VerifyingKey};

pub use access::{
    AccessTokenClaims, AccessTokenError, AccessTokenIssuer, AccessTokenIssuerBuilder,
    AccessTokenRequest, AccessTokenVerifier, AccessTokenVerifierBuilder, IssuedAccessToken,
    SenderProof, TokenType,
};
pub use id::{
    IdTokenClaims, IdTokenError, IdTokenExpectations, IdTokenIssuer, IdTokenIssuerBuilder,
    IdTokenRequest, IdTokenVerifier, IdTokenVerifierBuilder, IssuedIdToken,
};
pub use subject::{
    ClaimType, MAX_SUBJECT_LEN, PrincipalKind, RequiredClaim, Subject, SubjectError,
};

pub(crate) use subject::{ClaimView, PrincipalKinds};

/// Default tolerance for clock skew when checking `exp`, `nbf` and `iat`, in seconds.
pub const DEFAULT_LEEWAY: u32 = 60;

/// The largest clock-skew tolerance a verifier accepts, in seconds.
pub const MAX_LEEWAY: u32 = 300;

/// Default access-token lifetime, in seconds (15 minutes).
pub const DEFAULT_ACCESS_TOKEN_TTL: u32 = 900;

/// Default ID-token lifetime, in seconds (5 minutes).
pub const DEFAULT_ID_TOKEN_TTL: u32 = 300;

/// The longest token lifetime an issuer accepts, in seconds (one day).
pub const MAX_TOKEN_TTL: u32 = 86_400;

/// The `aud` claim: one or more audiences
/// ([RFC 7519 §4.1.3](https://www.rfc-editor.org/rfc/rfc7519#section-4.1.3)).
///
/// Serialized as a single string when there is one audience and as an array
/// otherwise. Never empty.
///
/// ```
/// use attesto::token::Audience;
/// let one = Audience::new("https://rs.example");
/// assert_eq!(serde_json::to_string(&one).unwrap(), r#""https://rs.example""#);
/// let two = Audience::from_values(["https://a.example", "https://b.example"]).unwrap();
/// assert_eq!(serde_json::to_string(&two).unwrap(), r#"["https://a.example","https://b.example"]"#);
/// assert!(two.contains("https://b.example"));
/// ```
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Audience(Vec<String>);

impl Audience {
    /// A single audience.
    #[must_use]
    pub fn new(audience: impl Into<String>) -> Self {
        Audience(vec![audience.into()])
    }

    /// Several audiences, in order, without duplicates. `None` when empty.
    pub fn from_values<I, S>(values: I) -> Option<Self>
    where
        I: IntoIterator<Item = S>,
        S: Into<String>,
    {
        let mut out: Vec<String> = Vec::new();
        for v in values {
            let v = v.into();
            if !out.contains(&v) {
                out.push(v);
            }
        }
        (!out.is_empty()).then_some(Audience(out))
    }

    /// Whether `audience` is one of the audiences (exact comparison).
    #[must_use]
    pub fn contains(&self, audience: &str) -> bool {
        self.0.iter().any(|a| a == audience)
    }

    /// The audiences, in order.
    pub fn iter(&self) -> impl Iterator<Item = &str> {
        self.0.iter().map(String::as_str)
    }

    /// The number of audiences (at least one).
    #[must_use]
    pub fn len(&self) -> usize {
        self.0.len()
    }

    /// Always `false`: an audience is never empty.
    #[must_use]
    pub fn is_empty(&self) -> bool {
        self.0.is_empty()
    }

    /// The audiences as a slice.
    #[must_use]
    pub fn as_slice(&self) -> &[String] {
        &self.0
    }
}

impl serde::Serialize for Audience {
    fn serialize<S: serde::Serializer>(&self, s: S) -> Result<S::Ok, S::Error> {
        match self.0.as_slice() {
            [one] => s.serialize_str(one),
            many => many.serialize(s),
        }
    }
}

/// The `cnf` claim: the key a token is bound to
/// ([RFC 7800 §3.1](https://www.rfc-editor.org/rfc/rfc7800#section-3.1)).
///
/// attesto binds a token to at most one key: a DPoP key by its JWK
/// thumbprint ([RFC 9449 §6.1](https://www.rfc-editor.org/rfc/rfc9449#section-6.1))
/// or a client certificate by its SHA-256 thumbprint
/// ([RFC 8705 §3.1](https://www.rfc-editor.org/rfc/rfc8705#section-3.1)).
#[derive(Debug, Clone, PartialEq, Eq, Default, serde::Serialize)]
#[non_exhaustive]
pub struct Confirmation {
    /// `jkt`: the base64url SHA-256 JWK thumbprint of a DPoP key.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub jkt: Option<String>,
    /// `x5t#S256`: the base64url SHA-256 thumbprint of a client certificate.
    #[serde(rename = "x5t#S256", skip_serializing_if = "Option::is_none")]
    pub x5t_s256: Option<String>,
}

impl Confirmation {
    /// Bound to a DPoP key with this JWK thumbprint.
    #[must_use]
    pub fn dpop(jkt: impl Into<String>) -> Self {
        Confirmation {
            jkt: Some(jkt.into()),
            x5t_s256: None,
        }
    }

    /// Bound to a client certificate with this SHA-256 thumbprint.
    #[must_use]
    pub fn mtls(x5t_s256: impl Into<String>) -> Self {
        Confirmation {
            jkt: None,
            x5t_s256: Some(x5t_s256.into()),
        }
    }

    /// Exactly one well-formed binding (a 43-character base64url SHA-256 value).
    pub(crate) fn is_valid(&self) -> bool {
        match (&self.jkt, &self.x5t_s256) {
            (Some(t), None) | (None, Some(t)) => is_sha256_b64url(t),
            _ => false,
        }
    }
}

fn is_sha256_b64url(s: &str) -> bool {
    s.len() == 43 && crate::jose::b64_decode(s).is_ok_and(|b| b.len() == 32)
}

/// Where a verifier finds the keys it trusts.
///
/// An authorization server verifies with its own [`Keystore`]; a resource
/// server with the authorization server's published JWK Set. Keys are parsed
/// once, here, never per token.
#[derive(Clone)]
pub struct TrustedKeys(KeysRepr);

#[derive(Clone)]
enum KeysRepr {
    Keystore(Arc<dyn Keystore>),
    Set(Arc<[Arc<VerifyingKey>]>),
}

impl TrustedKeys {
    /// Verify with the keys of `keystore` (selected by `kid`).
    #[must_use]
    pub fn keystore(keystore: Arc<dyn Keystore>) -> Self {
        TrustedKeys(KeysRepr::Keystore(keystore))
    }

    /// Verify with the keys of a JWK Set, for each algorithm in `allowed` the
    /// key supports. Keys usable with none of `allowed`, or unusable
    /// (for example RSA under 2048 bits), are skipped.
    ///
    /// # Errors
    /// [`TokenConfigError::NoUsableKeys`] when no key is left.
    pub fn from_jwk_set(set: &JwkSet, allowed: AlgorithmSet) -> Result<Self, TokenConfigError> {
        let keys: Vec<Arc<VerifyingKey>> = set
            .keys
            .iter()
            .filter_map(|jwk| VerifyingKey::from_jwk(jwk.clone(), allowed).ok())
            .map(Arc::new)
            .collect();
        if keys.is_empty() {
            return Err(TokenConfigError::NoUsableKeys);
        }
        Ok(TrustedKeys(KeysRepr::Set(keys.into())))
    }

    /// Verify with exactly these keys.
    ///
    /// # Errors
    /// [`TokenConfigError::NoUsableKeys`] when `keys` is empty.
    pub fn from_verifying_keys(keys: Vec<VerifyingKey>) -> Result<Self, TokenConfigError> {
        if keys.is_empty() {
            return Err(TokenConfigError::NoUsableKeys);
        }
        let keys: Vec<Arc<VerifyingKey>> = keys.into_iter().map(Arc::new).collect();
        Ok(TrustedKeys(KeysRepr::Set(keys.into())))
    }

    /// The key for a JWS with header `kid` and `alg`. With a `kid`, only a key
    /// with that `kid`; without one, only when exactly one key can verify `alg`.
    pub(crate) fn find(&self, kid: Option<&str>, alg: Algorithm) -> Option<Arc<VerifyingKey>> {
        match &self.0 {
            KeysRepr::Keystore(ks) => ks.verifying_key(kid, alg),
            KeysRepr::Set(keys) => {
                let mut candidates = keys.iter().filter(|k| {
                    k.algorithms().contains(alg) && kid.is_none_or(|kid| k.jwk().kid() == Some(kid))
                });
                let first = candidates.next()?;
                if kid.is_none() && candidates.next().is_some() {
                    return None;
                }
                Some(Arc::clone(first))
            }
        }
    }
}

impl fmt::Debug for TrustedKeys {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match &self.0 {
            KeysRepr::Keystore(_) => f.write_str("TrustedKeys::Keystore"),
            KeysRepr::Set(keys) => f.debug_tuple("TrustedKeys::Set").field(keys).finish(),
        }
    }
}

/// Why a token issuer or verifier could not be configured.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[non_exhaustive]
pub enum TokenConfigError {
    /// The issuer is not an absolute `https` URL without query or fragment
    /// ([RFC 8414 §2](https://www.rfc-editor.org/rfc/rfc8414#section-2)).
    #[error(
        "the issuer must be an absolute https URL (http only on loopback) without query or fragment"
    )]
    InvalidIssuer,
    /// No audience was configured.
    #[error("no audience configured")]
    NoAudience,
    /// An audience is empty, or (for an issuer's default audience) not an
    /// absolute `https` URL without fragment.
    #[error("invalid audience")]
    InvalidAudience,
    /// The leeway exceeds [`MAX_LEEWAY`].
    #[error("the clock-skew leeway may be at most {MAX_LEEWAY} seconds")]
    LeewayTooLarge,
    /// A lifetime is zero or exceeds [`MAX_TOKEN_TTL`].
    #[error("token lifetimes must be between 1 and {MAX_TOKEN_TTL} seconds")]
    InvalidTtl,
    /// An issuer needs at least one principal kind.
    #[error("at least one principal kind is required")]
    NoPrincipalKinds,
    /// The principal kinds are inconsistent.
    #[error("invalid principal kinds: {0}")]
    InvalidPrincipalKinds(&'static str),
    /// No key is usable for verification.
    #[error("no usable verification key")]
    NoUsableKeys,
    /// The algorithm allow-list is empty.
    #[error("the algorithm allow-list is empty")]
    NoAlgorithms,
    /// The keystore has no signing key for the configured algorithm.
    #[error("the keystore has no signing key for the configured algorithm")]
    NoSigningKey,
}

/// Why a token could not be minted.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[non_exhaustive]
pub enum MintError {
    /// The keystore has no signing key for the requested algorithm.
    #[error("no signing key for the requested algorithm")]
    NoSigningKey,
    /// The request names a principal kind the issuer does not serve.
    #[error("unknown principal kind")]
    UnknownPrincipalKind,
    /// The subject is not namespaced with its kind's prefix, or is otherwise
    /// invalid (the seed's `invalid_sub`).
    #[error("invalid subject: {0}")]
    InvalidSubject(#[from] SubjectError),
    /// A claim the principal kind requires is missing or has the wrong type.
    #[error("the principal kind requires claim {0:?}")]
    MissingRequiredClaim(String),
    /// A host claim tries to set a claim the library owns.
    #[error("host claims may not set the registered claim {0:?}")]
    ReservedClaim(String),
    /// A host-supplied ID-token claim set carries `sub` (the library sets the
    /// verified subject).
    #[error("host ID-token claims must not carry sub")]
    HostClaimsCarrySub,
    /// A scope token is empty or has characters outside RFC 6749 §3.3 `NQCHAR`.
    #[error("invalid scope token")]
    InvalidScope,
    /// An audience value is empty.
    #[error("invalid audience")]
    InvalidAudience,
    /// The confirmation is not exactly one well-formed SHA-256 thumbprint.
    #[error("invalid cnf confirmation")]
    InvalidConfirmation,
    /// A request field has an invalid value.
    #[error("invalid value for {0}")]
    InvalidField(&'static str),
    /// The lifetime is zero or exceeds [`MAX_TOKEN_TTL`].
    #[error("invalid token lifetime")]
    InvalidTtl,
    /// The random source failed.
    #[error("the random source failed")]
    Random,
    /// Signing failed.
    #[error("signing failed")]
    Signing(#[source] JoseError),
    /// The claims could not be serialized.
    #[error("claims serialization failed")]
    Serialization,
}

/// RFC 8414 §2 issuer identifier check: the one rule in
/// [`crate::config::validate_issuer`] (absolute https, no query, fragment or
/// userinfo; plain http only on loopback, for development).
pub(crate) fn validate_issuer(issuer: &str) -> Result<(), TokenConfigError> {
    crate::config::validate_issuer(issuer).map_err(|_| TokenConfigError::InvalidIssuer)
}

/// A resource-server audience configured on an issuer: an absolute https
/// URL (plain http only on loopback) without fragment.
pub(crate) fn validate_default_audience(aud: &str) -> Result<(), TokenConfigError> {
    match url::Url::parse(aud) {
        Ok(u) if u.fragment().is_none() && u.host().is_some() => match (u.scheme(), u.host()) {
            ("https", _) => Ok(()),
            ("http", Some(h)) if crate::config::is_loopback_host(&h) => Ok(()),
            _ => Err(TokenConfigError::InvalidAudience),
        },
        _ => Err(TokenConfigError::InvalidAudience),
    }
}

pub(crate) fn validate_leeway(leeway: u32) -> Result<i64, TokenConfigError> {
    if leeway > MAX_LEEWAY {
        return Err(TokenConfigError::LeewayTooLarge);
    }
    Ok(i64::from(leeway))
}

pub(crate) fn validate_ttl(ttl: u32) -> bool {
    (1..=MAX_TOKEN_TTL).contains(&ttl)
}

/// The left-most half of the hash of `value`, base64url-encoded, using the
/// hash of `alg` — the `at_hash` / `c_hash` construction of
/// [OpenID Connect Core §3.1.3.6](https://openid.net/specs/openid-connect-core-1_0.html#CodeIDToken)
/// and [§3.3.2.11](https://openid.net/specs/openid-connect-core-1_0.html#HybridIDToken).
/// EdDSA (Ed25519) uses SHA-512.
///
/// ```
/// use attesto::jose::Algorithm;
/// use attesto::token::token_hash;
/// // OpenID Connect Core Appendix A.3 (RS256).
/// assert_eq!(token_hash(Algorithm::RS256, "jHkWEdUXMU1BwAsC4vtUsZwnNvTIxEl0z9K3vx5KF0Y"),
///            "77QmUPtjPfzWtF2AnpK9RQ");
/// ```
#[must_use]
pub fn token_hash(alg: Algorithm, value: &str) -> String {
    let digest = alg.hash_len().digest(value.as_bytes());
    let half = digest.get(..digest.len() / 2).unwrap_or(&[]);
    crate::jose::b64_encode(half)
}

/// `exp`/`nbf`/`iat` checks with `leeway`
/// ([RFC 7519 §4.1.4–4.1.6](https://www.rfc-editor.org/rfc/rfc7519#section-4.1.4)).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) enum TimeError {
    Expired,
    NotYetValid,
    IssuedInFuture,
}

pub(crate) fn check_times(
    now: UnixTime,
    leeway: i64,
    exp: UnixTime,
    iat: UnixTime,
    nbf: Option<UnixTime>,
) -> Result<(), TimeError> {
    // "The current date/time MUST be before the expiration date/time."
    if now.saturating_sub(leeway) >= exp {
        return Err(TimeError::Expired);
    }
    if nbf.is_some_and(|nbf| nbf > now.saturating_add(leeway)) {
        return Err(TimeError::NotYetValid);
    }
    if iat > now.saturating_add(leeway) {
        return Err(TimeError::IssuedInFuture);
    }
    Ok(())
}

/// RFC 6749 §3.3 `scope-token = 1*NQCHAR`.
pub(crate) fn is_scope_token(s: &str) -> bool {
    !s.is_empty()
        && s.bytes()
            .all(|b| b == 0x21 || (0x23..=0x5b).contains(&b) || (0x5d..=0x7e).contains(&b))
}

/// A `scope` claim: scope tokens separated by single spaces.
pub(crate) fn is_scope_string(s: &str) -> bool {
    s.is_empty() || s.split(' ').all(is_scope_token)
}

/// Join scope tokens (deduplicated, in order) into a `scope` string.
pub(crate) fn join_scopes<S: AsRef<str>>(scopes: &[S]) -> Result<String, MintError> {
    let mut out = String::new();
    let mut seen: Vec<&str> = Vec::with_capacity(scopes.len());
    for s in scopes {
        let s = s.as_ref();
        if !is_scope_token(s) {
            return Err(MintError::InvalidScope);
        }
        if seen.contains(&s) {
            continue;
        }
        seen.push(s);
        if !out.is_empty() {
            out.push(' ');
        }
        out.push_str(s);
    }
    Ok(out)
}

/// Why a claim set was refused.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) enum ClaimError {
    Missing(&'static str),
    Invalid(&'static str),
}

/// Takes typed claims out of a strictly parsed claims object; what is left
/// over is the token's extra claims.
///
/// [`ClaimReader::parse`] reads the claims set in one pass: registered claims
/// land in a small vector (no map, no key allocation), everything else in the
/// extra-claims map. Duplicate member names anywhere at the top level are
/// refused ([RFC 7519 §4](https://www.rfc-editor.org/rfc/rfc7519#section-4), strict reading).
pub(crate) struct ClaimReader {
    known: Vec<(&'static str, Value)>,
    rest: Map<String, Value>,
}

impl ClaimReader {
    /// Parse `json` as a claims object, setting aside the `registered` claims.
    pub(crate) fn parse(
        json: &[u8],
        registered: &'static [&'static str],
    ) -> Result<Self, JoseError> {
        use serde::Deserializer as _;
        let mut de = serde_json::Deserializer::from_slice(json);
        let parsed = (&mut de)
            .deserialize_map(ReaderVisitor(registered))
            .and_then(|r| de.end().map(|()| r));
        match parsed {
            Ok(Some(reader)) => Ok(reader),
            Ok(None) => Err(JoseError::DuplicateMember),
            Err(_) => Err(JoseError::Malformed("the claims are not a JSON object")),
        }
    }

    /// The claims not taken by the typed readers.
    pub(crate) fn into_rest(self) -> Map<String, Value> {
        let mut rest = self.rest;
        for (k, v) in self.known {
            rest.insert(k.to_owned(), v);
        }
        rest
    }

    fn take(&mut self, name: &'static str) -> Option<Value> {
        match self.known.iter().position(|(n, _)| *n == name) {
            Some(i) => Some(self.known.swap_remove(i).1),
            None => self.rest.shift_remove(name),
        }
    }

    fn peek(&self, name: &str) -> Option<&Value> {
        self.known
            .iter()
            .find(|(n, _)| *n == name)
            .map(|(_, v)| v)
            .or_else(|| self.rest.get(name))
    }

    /// A NumericDate claim without taking it (it stays an extra claim).
    pub(crate) fn peek_date(
        &self,
        name: &'static str,
        round_up: bool,
    ) -> Result<Option<UnixTime>, ClaimError> {
        match self.peek(name) {
            None => Ok(None),
            Some(Value::Number(n)) => numeric_date(n, round_up)
                .map(Some)
                .ok_or(ClaimError::Invalid(name)),
            Some(_) => Err(ClaimError::Invalid(name)),
        }
    }

    pub(crate) fn string(&mut self, name: &'static str) -> Result<Option<String>, ClaimError> {
        match self.take(name) {
            None => Ok(None),
            Some(Value::String(s)) => Ok(Some(s)),
            Some(_) => Err(ClaimError::Invalid(name)),
        }
    }

    pub(crate) fn non_empty_string(
        &mut self,
        name: &'static str,
    ) -> Result<Option<String>, ClaimError> {
        match self.string(name)? {
            Some(s) if s.is_empty() => Err(ClaimError::Invalid(name)),
            other => Ok(other),
        }
    }

    pub(crate) fn required_string(&mut self, name: &'static str) -> Result<String, ClaimError> {
        self.non_empty_string(name)?
            .ok_or(ClaimError::Missing(name))
    }

    /// A NumericDate ([RFC 7519 §2](https://www.rfc-editor.org/rfc/rfc7519#section-2)):
    /// a JSON number, never a string. Fractional values are rounded towards
    /// the stricter side (`round_up` for `iat`/`nbf`, down for `exp`).
    pub(crate) fn date(
        &mut self,
        name: &'static str,
        round_up: bool,
    ) -> Result<Option<UnixTime>, ClaimError> {
        match self.take(name) {
            None => Ok(None),
            Some(Value::Number(n)) => numeric_date(&n, round_up)
                .map(Some)
                .ok_or(ClaimError::Invalid(name)),
            Some(_) => Err(ClaimError::Invalid(name)),
        }
    }

    pub(crate) fn required_date(
        &mut self,
        name: &'static str,
        round_up: bool,
    ) -> Result<UnixTime, ClaimError> {
        self.date(name, round_up)?.ok_or(ClaimError::Missing(name))
    }

    pub(crate) fn audience(&mut self) -> Result<Audience, ClaimError> {
        const NAME: &str = "aud";
        match self.take(NAME) {
            None => Err(ClaimError::Missing(NAME)),
            Some(Value::String(s)) if !s.is_empty() => Ok(Audience(vec![s])),
            Some(Value::Array(items)) => {
                let mut out = Vec::with_capacity(items.len());
                for item in items {
                    match item {
                        Value::String(s) if !s.is_empty() => out.push(s),
                        _ => return Err(ClaimError::Invalid(NAME)),
                    }
                }
                if out.is_empty() {
                    return Err(ClaimError::Invalid(NAME));
                }
                Ok(Audience(out))
            }
            Some(_) => Err(ClaimError::Invalid(NAME)),
        }
    }

    pub(crate) fn string_array(
        &mut self,
        name: &'static str,
    ) -> Result<Option<Vec<String>>, ClaimError> {
        match self.take(name) {
            None => Ok(None),
            Some(Value::Array(items)) => items
                .into_iter()
                .map(|v| match v {
                    Value::String(s) => Ok(s),
                    _ => Err(ClaimError::Invalid(name)),
                })
                .collect::<Result<Vec<_>, _>>()
                .map(Some),
            Some(_) => Err(ClaimError::Invalid(name)),
        }
    }

    /// `cnf`: exactly one of `jkt` / `x5t#S256`, each a SHA-256 thumbprint.
    /// Any other confirmation method fails closed: a binding attesto cannot
    /// enforce must not be silently dropped.
    pub(crate) fn confirmation(&mut self) -> Result<Option<Confirmation>, ClaimError> {
        const NAME: &str = "cnf";
        let Some(v) = self.take(NAME) else {
            return Ok(None);
        };
        let Value::Object(mut m) = v else {
            return Err(ClaimError::Invalid(NAME));
        };
        let mut member = |k: &str| match m.shift_remove(k) {
            None => Ok(None),
            Some(Value::String(s)) => Ok(Some(s)),
            Some(_) => Err(ClaimError::Invalid(NAME)),
        };
        let jkt = member("jkt")?;
        let x5t_s256 = member("x5t#S256")?;
        let cnf = Confirmation { jkt, x5t_s256 };
        if !m.is_empty() || !cnf.is_valid() {
            return Err(ClaimError::Invalid(NAME));
        }
        Ok(Some(cnf))
    }
}

/// Streams the top-level members of a claims object; `None` means a member
/// name occurred twice (the rest of the input is still checked for syntax).
struct ReaderVisitor(&'static [&'static str]);

impl<'de> serde::de::Visitor<'de> for ReaderVisitor {
    type Value = Option<ClaimReader>;

    fn expecting(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str("a JSON object")
    }

    fn visit_map<A: serde::de::MapAccess<'de>>(
        self,
        mut access: A,
    ) -> Result<Self::Value, A::Error> {
        use serde::de::IgnoredAny;
        let mut known: Vec<(&'static str, Value)> = Vec::with_capacity(self.0.len());
        let mut rest = Map::new();
        let mut duplicate = false;
        while let Some(MemberName(name)) = access.next_key::<MemberName<'de>>()? {
            if duplicate {
                access.next_value::<IgnoredAny>()?;
                continue;
            }
            if let Some(&registered) = self.0.iter().find(|r| **r == name) {
                if known.iter().any(|(n, _)| *n == registered) {
                    duplicate = true;
                    access.next_value::<IgnoredAny>()?;
                } else {
                    known.push((registered, access.next_value::<Value>()?));
                }
            } else if rest.contains_key(name.as_ref()) {
                duplicate = true;
                access.next_value::<IgnoredAny>()?;
            } else {
                let value = access.next_value::<Value>()?;
                rest.insert(name.into_owned(), value);
            }
        }
        Ok((!duplicate).then_some(ClaimReader { known, rest }))
    }
}

/// A member name, borrowed from the input when it has no escapes.
struct MemberName<'de>(std::borrow::Cow<'de, str>);

impl<'de> serde::Deserialize<'de> for MemberName<'de> {
    fn deserialize<D: serde::Deserializer<'de>>(d: D) -> Result<Self, D::Error> {
        struct V;
        impl<'de> serde::de::Visitor<'de> for V {
            type Value = MemberName<'de>;
            fn expecting(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
                f.write_str("a member name")
            }
            fn visit_borrowed_str<E: serde::de::Error>(
                self,
                v: &'de str,
            ) -> Result<Self::Value, E> {
                Ok(MemberName(std::borrow::Cow::Borrowed(v)))
            }
            fn visit_str<E: serde::de::Error>(self, v: &str) -> Result<Self::Value, E> {
                Ok(MemberName(std::borrow::Cow::Owned(v.to_owned())))
            }
            fn visit_string<E: serde::de::Error>(self, v: String) -> Result<Self::Value, E> {
                Ok(MemberName(std::borrow::Cow::Owned(v)))
            }
        }
        d.deserialize_str(V)
    }
}

fn numeric_date(n: &serde_json::Number, round_up: bool) -> Option<UnixTime> {
    if let Some(i) = n.as_i64() {
        return Some(i);
    }
    if n.is_u64() {
        return None; // beyond i64
    }
    let f = n.as_f64()?;
    let r = if round_up { f.ceil() } else { f.floor() };
    // Stay well inside i64 so the cast is exact.
    if r.is_finite() && r.abs() < 9.0e15 {
        #[allow(clippy::cast_possible_truncation)]
        Some(r as i64)
    } else {
        None
    }
}

/// The base64url-encoded protected header per signing key, so a mint is one
/// claims serialization plus one signature.
#[derive(Debug)]
pub(crate) struct HeaderCache {
    typ: &'static str,
    entries: RwLock<Vec<CachedHeader>>,
}

#[derive(Debug)]
struct CachedHeader {
    alg: Algorithm,
    kid: String,
    b64: Arc<str>,
}

/// Enough for a key rotation window across a few algorithms.
const HEADER_CACHE_CAP: usize = 16;

impl HeaderCache {
    pub(crate) fn new(typ: &'static str) -> Self {
        HeaderCache {
            typ,
            entries: RwLock::new(Vec::new()),
        }
    }

    pub(crate) fn header_for(&self, key: &SigningKey) -> Result<Arc<str>, MintError> {
        let alg = key.algorithm();
        if let Ok(entries) = self.entries.read()
            && let Some(e) = entries.iter().find(|e| e.alg == alg && e.kid == key.kid())
        {
            return Ok(Arc::clone(&e.b64));
        }
        #[derive(serde::Serialize)]
        struct Header<'a> {
            alg: &'static str,
            typ: &'a str,
            kid: &'a str,
        }
        let json = serde_json::to_vec(&Header {
            alg: alg.as_str(),
            typ: self.typ,
            kid: key.kid(),
        })
        .map_err(|_| MintError::Serialization)?;
        let b64: Arc<str> = crate::jose::b64_encode(&json).into();
        // A poisoned lock only costs the cache, never the mint.
        if let Ok(mut entries) = self.entries.write() {
            if entries.len() >= HEADER_CACHE_CAP {
                entries.clear();
            }
            entries.push(CachedHeader {
                alg,
                kid: key.kid().to_owned(),
                b64: Arc::clone(&b64),
            });
        }
        Ok(b64)
    }
}

/// Why the signed envelope of a JWT was refused (before any claim is read).
#[derive(Debug, Clone, PartialEq, Eq)]
pub(crate) enum EnvelopeError {
    Jose(JoseError),
    WrongType,
    UnknownKey,
}

/// Parse a compact JWS, check its `typ`, pick the key by `kid`/`alg`,
/// and verify the signature against the allow-list. Returns the signing
/// algorithm and the verified payload (parse it with [`ClaimReader::parse`]).
pub(crate) fn open_jwt(
    token: &str,
    max_len: usize,
    allowed: AlgorithmSet,
    keys: &TrustedKeys,
    typ_ok: impl FnOnce(Option<&str>) -> bool,
) -> Result<(Algorithm, Vec<u8>), EnvelopeError> {
    let jws = crate::jose::UnverifiedJws::parse(token, max_len).map_err(EnvelopeError::Jose)?;
    let header = jws.header();
    if !typ_ok(header.typ.as_deref()) {
        return Err(EnvelopeError::WrongType);
    }
    let alg = header.alg;
    if !allowed.contains(alg) {
        return Err(EnvelopeError::Jose(JoseError::AlgorithmNotAllowed(alg)));
    }
    let key = keys
        .find(header.kid.as_deref(), alg)
        .ok_or(EnvelopeError::UnknownKey)?;
    let verified = jws.verify(&key, allowed).map_err(EnvelopeError::Jose)?;
    Ok((alg, verified.payload))
}

/// The active signer for `alg` (or the default signer).
pub(crate) fn signing_key(
    keystore: &dyn Keystore,
    alg: Option<Algorithm>,
) -> Option<Arc<SigningKey>> {
    match alg {
        Some(a) => keystore.signing_key(a),
        None => keystore.default_signing_key(),
    }
}

/// Random 128-bit `jti`, base64url.
pub(crate) fn random_jti(random: &dyn crate::secret::RandomSource) -> Result<String, MintError> {
    let mut buf = [0u8; 16];
    random.fill(&mut buf).map_err(|_| MintError::Random)?;
    Ok(crate::jose::b64_encode(&buf))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn expiry_is_exclusive_and_leeway_is_symmetric() {
        assert_eq!(check_times(100, 0, 100, 50, None), Err(TimeError::Expired));
        assert_eq!(check_times(99, 0, 100, 50, None), Ok(()));
        assert_eq!(check_times(159, 60, 100, 50, None), Ok(()));
        assert_eq!(check_times(160, 60, 100, 50, None), Err(TimeError::Expired));
        assert_eq!(
            check_times(100, 0, 200, 101, None),
            Err(TimeError::IssuedInFuture)
        );
        assert_eq!(check_times(100, 1, 200, 101, None), Ok(()));
        assert_eq!(
            check_times(100, 0, 200, 100, Some(101)),
            Err(TimeError::NotYetValid)
        );
        assert_eq!(
            check_times(i64::MIN, 300, i64::MAX, i64::MIN, Some(i64::MIN)),
            Ok(())
        );
        assert_eq!(
            check_times(i64::MAX, 300, i64::MIN, 0, None),
            Err(TimeError::Expired)
        );
    }

    #[test]
    fn numeric_dates_round_towards_the_stricter_side() {
        let n = |s: &str| serde_json::from_str::<serde_json::Number>(s).unwrap();
        assert_eq!(numeric_date(&n("10.5"), false), Some(10));
        assert_eq!(numeric_date(&n("10.5"), true), Some(11));
        assert_eq!(numeric_date(&n("1e300"), false), None);
        assert_eq!(numeric_date(&n("18446744073709551615"), false), None);
    }

    const REG: [&str; 2] = ["sub", "exp"];

    #[test]
    fn claim_reader_refuses_duplicates_including_escaped_names() {
        for input in [
            &br#"{"sub":"a","sub":"b"}"#[..],
            br#"{"sub":"a","\u0073ub":"b"}"#,
            br#"{"x":1,"x":2}"#,
            br#"{"x":1,"\u0078":2,"y":}"#,
        ] {
            let r = ClaimReader::parse(input, &REG);
            let expected = if input.ends_with(b":}") {
                JoseError::Malformed("the claims are not a JSON object")
            } else {
                JoseError::DuplicateMember
            };
            assert_eq!(
                r.err(),
                Some(expected),
                "{}",
                String::from_utf8_lossy(input)
            );
        }
    }

    #[test]
    fn claim_reader_separates_registered_and_extra_claims() {
        let mut r =
            ClaimReader::parse(br#"{"sub":"a","\u0065xp":1,"x":{"y":1},"z":[1]}"#, &REG).unwrap();
        assert_eq!(r.take("exp"), Some(serde_json::json!(1)));
        assert_eq!(r.string("sub").unwrap().as_deref(), Some("a"));
        let rest = r.into_rest();
        assert_eq!(rest.keys().collect::<Vec<_>>(), ["x", "z"]);
    }

    #[test]
    fn claim_reader_refuses_non_objects_and_trailing_input() {
        for input in [
            &b"[]"[..],
            b"1",
            b"",
            b"{} {}",
            b"{}x",
            b"\xff",
            b"{\"a\":\"\xff\"}",
        ] {
            assert!(ClaimReader::parse(input, &REG).is_err(), "{input:?}");
        }
    }

    #[test]
    fn scope_strings_are_single_space_separated_nqchar_tokens() {
        assert!(is_scope_string("a b c"));
        assert!(is_scope_string(""));
        assert!(!is_scope_string("a  b"));
        assert!(!is_scope_string(" a"));
        assert!(!is_scope_string("a\"b"));
        assert!(!is_scope_string("a\\b"));
        assert_eq!(join_scopes(&["a", "b", "a"]).unwrap(), "a b");
        assert_eq!(join_scopes(&["a b"]), Err(MintError::InvalidScope));
    }
}
